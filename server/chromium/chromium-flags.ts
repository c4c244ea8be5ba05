// Chromium's command line, one reason per switch. The sandbox is not here: browser-launch.ts
// decides it (chromium-sandbox.ts says why).

export function chromiumFlags(): string[] {
  return [
    // The machine may have no network: every background fetch would fail and retry.
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
    '--no-first-run',
    '--disable-default-apps',
    '--mute-audio',
    // Pages of a server must not be slowed down for being "in the background".
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
    // WebGPU on Linux is behind this switch.
    '--enable-unsafe-webgpu',
    // A hardware adapter through Vulkan where there is a GPU (the setup public reports use on NVIDIA)...
    '--enable-features=Vulkan',
    '--use-angle=vulkan',
    '--disable-vulkan-surface',
    // ...and SwiftShader as the fallback adapter where there is none (asked for explicitly by the page).
    '--enable-unsafe-swiftshader',
  ];
}

/**
 * The switches for tools that start Chromium through puppeteer's own launch (benchmarks, the GPU
 * check, the demo page's browser in tests): they run it as the invoking user, and as root Chromium
 * refuses its sandbox. They load only the project's own pages.
 */
export function toolChromiumFlags(): string[] {
  return [...chromiumFlags(), ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])];
}
