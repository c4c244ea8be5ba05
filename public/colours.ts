// A colour per class for boxes and class maps, and the text colour that reads on it. Pure.

type Rgb = [number, number, number];

// Saturated, distinct at a glance and against photographs; the classes past them get hues a golden angle apart.
const PALETTE: readonly Rgb[] = [
  [230, 25, 75],
  [60, 180, 75],
  [0, 130, 200],
  [245, 130, 48],
  [145, 30, 180],
  [0, 190, 190],
  [240, 50, 230],
  [150, 200, 0],
  [255, 200, 0],
  [0, 128, 128],
  [170, 110, 40],
  [128, 0, 0],
  [128, 128, 0],
  [0, 0, 160],
  [255, 90, 160],
  [100, 60, 220],
  [0, 160, 100],
  [200, 80, 0],
  [90, 90, 90],
  [0, 90, 200],
];

/** HSL (hue in turns, saturation and lightness 0 to 1) to 8-bit RGB. */
function hsl(h: number, s: number, l: number): Rgb {
  const f = (n: number) => {
    const k = (n + h * 12) % 12;
    return Math.round(255 * (l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/** Class `index`'s colour: the palette, then hues a golden angle apart, so that neighbours differ. */
export function classColour(index: number): Rgb {
  const i = Math.max(0, Math.floor(index));
  return PALETTE[i] ?? hsl((i * 0.381966) % 1, 0.75, i % 2 ? 0.45 : 0.6);
}

/** Black or white, whichever contrasts more with `rgb` (WCAG relative luminance). */
export function textColourOn([r, g, b]: Rgb): '#000000' | '#ffffff' {
  const linear = (c: number) => {
    const v = c / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  return (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) ? '#000000' : '#ffffff';
}

export const css = ([r, g, b]: Rgb, alpha = 1): string => (alpha === 1 ? `rgb(${r} ${g} ${b})` : `rgb(${r} ${g} ${b} / ${alpha})`);

/** A segmentation model's background class (VOC's "__background__", "background"): left unpainted. */
export const isBackground = (label: string | undefined): boolean => label !== undefined && /^_*background_*$/i.test(label.trim());
