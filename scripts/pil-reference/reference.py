"""TorchServe's image classifier preprocessing, up to the uint8 pixels, with PIL alone.

torchvision's Resize(256) + CenterCrop(224) on a PIL image, step for step (ToTensor and
Normalize only scale these pixels, and the comparison does that itself):

- Resize(256): the shorter side becomes 256, the longer int(256 * long / short) (truncated),
  resampled by img.resize((w, h), Image.BILINEAR), which widens the filter on reduction
  (antialias).
- CenterCrop(224): offsets int(round((side - 224) / 2.0)), Python's round (half to even).

The image is converted to RGB first (TorchServe's handler does not convert; for the RGB images
it accepts this changes nothing) and its EXIF orientation is not applied, as in TorchServe.

Usage: python3 reference.py --out DIR [--resize 256] [--crop 224] IMAGE...
Writes DIR/<image name>.png: the crop's crop x crop RGB pixels, lossless.
Needs Debian's python3-pil and python3-numpy (apt-get install python3-pil python3-numpy).
"""

import argparse
import os
import sys

import numpy as np
from PIL import Image


def resized_size(width, height, size):
    """torchvision's _compute_resized_output_size for an int size, as (width, height)."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    return (new_short, new_long) if width <= height else (new_long, new_short)


def center_crop_box(width, height, crop):
    """torchvision's center_crop offsets, as a PIL box (left, top, right, bottom)."""
    top = int(round((height - crop) / 2.0))
    left = int(round((width - crop) / 2.0))
    return (left, top, left + crop, top + crop)


def reference_pixels(path, resize, crop):
    with Image.open(path) as img:
        rgb = img.convert("RGB")
    if min(rgb.size) < crop or resize < crop:
        raise ValueError(f"{path}: CenterCrop would pad; not reproduced here")
    resized = rgb.resize(resized_size(rgb.width, rgb.height, resize), Image.BILINEAR)
    out = np.asarray(resized.crop(center_crop_box(resized.width, resized.height, crop)), dtype=np.uint8)
    assert out.shape == (crop, crop, 3), out.shape
    return out, resized.size


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--resize", type=int, default=256)
    parser.add_argument("--crop", type=int, default=224)
    parser.add_argument("images", nargs="+")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for path in args.images:
        pixels, (w, h) = reference_pixels(path, args.resize, args.crop)
        name = os.path.basename(path) + ".png"
        Image.fromarray(pixels, "RGB").save(os.path.join(args.out, name), optimize=True)
        print(f"{os.path.basename(path)}\tresized {w}x{h}\t{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
