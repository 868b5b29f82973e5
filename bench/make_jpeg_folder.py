"""Generate a deterministic folder of photo-like JPEGs for the decode benchmarks.

Layout ``ROOT/class_XX/img_XXXX.jpg``, like a small ImageNet-style class tree.
Sizes follow ImageNet's common shapes: about 45% landscape 500x375, 45% portrait
375x500 and 10% 1024x768. "Photo-like" means the JPEG does realistic work: smooth
low-frequency gradients (sky, walls), a few filled shapes with sharp edges
(objects), and mild Gaussian noise (sensor grain), saved at quality 90 with
4:2:0 chroma subsampling (Pillow's default): about 66 KB at 500x375 and 255 KB
at 1024x768 (seed 0), the range of ImageNet's files (~110 KB on average).

The same ``--seed`` always gives byte-identical files (numpy's PCG64 and
Pillow's encoder are deterministic). A ``.complete`` stamp records the
arguments; a second run with the same ones returns at once.

    python bench/make_jpeg_folder.py [--root /tmp/fastaug-jpeg] [--n 300] [--classes 3]
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

SIZES = ((500, 375), (375, 500), (1024, 768))  # (width, height)
SIZE_P = (0.45, 0.45, 0.10)


def photo_like(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """One (h, w, 3) uint8 photo-like image drawn from ``rng``.

    Examples
    --------
    >>> import numpy as np
    >>> a = photo_like(np.random.default_rng(0), 40, 30)
    >>> a.shape, a.dtype
    ((30, 40, 3), dtype('uint8'))
    """
    from PIL import Image, ImageDraw

    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy /= h
    xx /= w
    # Low-frequency background: a tilted colour ramp plus one slow wave per channel.
    c0, c1 = rng.uniform(30, 225, (2, 3))
    tilt = rng.uniform(-1, 1, 2)
    ramp = (xx * tilt[0] + yy * tilt[1] - min(0, tilt[0]) - min(0, tilt[1])) / (
        abs(tilt[0]) + abs(tilt[1]) + 1e-6)
    img = c0 + (c1 - c0) * ramp[..., None]
    freq = rng.uniform(1, 4, (3, 2))
    phase = rng.uniform(0, 2 * np.pi, 3)
    for ch in range(3):
        img[..., ch] += 25 * np.sin(2 * np.pi * (freq[ch, 0] * xx + freq[ch, 1] * yy)
                                    + phase[ch])
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    # Objects: sharp-edged shapes, the part of a photo that costs JPEG bits.
    draw = ImageDraw.Draw(pil)
    for _ in range(int(rng.integers(4, 10))):
        x0, x1 = np.sort(rng.uniform(-0.1, 1.1, 2) * w)
        y0, y1 = np.sort(rng.uniform(-0.1, 1.1, 2) * h)
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        kind = rng.integers(3)
        if kind == 0:
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        elif kind == 1:
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        else:
            pts = [(float(px), float(py)) for px, py in
                   zip(rng.uniform(0, w, 3), rng.uniform(0, h, 3))]
            draw.polygon(pts, fill=fill)
    out = np.asarray(pil, dtype=np.float32)
    # Sensor grain: most of the entropy-coded bits, as in real photos.
    out = out + rng.normal(0, 10, out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def make_folder(root: str, n: int = 300, classes: int = 3, seed: int = 0,
                quality: int = 90) -> list[str]:
    """Write ``n`` JPEGs into ``classes`` folders under ``root`` (once); return the paths.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     paths = make_folder(d, n=4, classes=2)
    ...     print(len(paths), sorted({os.path.basename(os.path.dirname(p)) for p in paths}))
    4 ['class_00', 'class_01']
    """
    from PIL import Image

    args = {"n": n, "classes": classes, "seed": seed, "quality": quality}
    stamp = os.path.join(root, ".complete")
    paths = [os.path.join(root, f"class_{i % classes:02d}", f"img_{i:04d}.jpg")
             for i in range(n)]
    if os.path.exists(stamp):
        with open(stamp) as f:
            if json.load(f) == args:
                return paths
    rng = np.random.default_rng(seed)
    kinds = rng.choice(len(SIZES), size=n, p=SIZE_P)
    for c in range(classes):
        os.makedirs(os.path.join(root, f"class_{c:02d}"), exist_ok=True)
    for p, k in zip(paths, kinds):
        w, h = SIZES[k]
        Image.fromarray(photo_like(rng, w, h)).save(p, quality=quality)
    with open(stamp, "w") as f:
        json.dump(args, f)
    return paths


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="/tmp/fastaug-jpeg")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--classes", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quality", type=int, default=90)
    a = ap.parse_args(argv)
    paths = make_folder(a.root, a.n, a.classes, a.seed, a.quality)
    sizes = [os.path.getsize(p) for p in paths]
    print(f"{len(paths)} JPEGs under {a.root}: {sum(sizes) / 1e6:.1f} MB, "
          f"median {int(np.median(sizes)) // 1000} KB")


if __name__ == "__main__":
    main()
