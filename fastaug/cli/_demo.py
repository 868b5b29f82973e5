"""``fastaug demo``: augment a built-in test card, write a grid, compare with scipy."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from fastaug import _pool
from fastaug._validate import check_int

__all__ = ["add_parser", "demo", "run", "test_card"]

_MIN_DRAWN = 32  # the smallest card drawn directly (smaller ones are shrunk from it)


def test_card(size: int = 224) -> np.ndarray:
    """A built-in RGB test card (uint8, ``size`` x ``size`` x 3), drawn, not loaded.

    Colour bars, a grey ramp, a checkerboard, a circle and a label: enough edges,
    colours and asymmetry to see rotation, flips and fill modes at a glance.

    Examples
    --------
    >>> from fastaug.cli import test_card
    >>> test_card(64).shape
    (64, 64, 3)
    >>> test_card(1).shape
    (1, 1, 3)
    """
    from PIL import Image, ImageDraw

    size = check_int("size", size, low=1)
    if size < _MIN_DRAWN:
        # Seven bars and a label need some pixels: draw larger, then shrink.
        small = Image.fromarray(test_card(_MIN_DRAWN)).resize((size, size), Image.BOX)
        return np.asarray(small, dtype=np.uint8)
    s = size
    img = Image.new("RGB", (s, s), (32, 32, 40))
    d = ImageDraw.Draw(img)
    bars = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0),
            (255, 0, 255), (255, 0, 0), (0, 0, 255)]
    bw = s / len(bars)
    for i, col in enumerate(bars):
        d.rectangle([int(i * bw), 0, int((i + 1) * bw) - 1, s // 3], fill=col)
    ramp = np.linspace(0, 255, s).astype(np.uint8)
    arr = np.asarray(img).copy()
    arr[s // 3: s // 3 + s // 10] = ramp[None, :, None]
    cell = max(2, s // 16)
    yy, xx = np.mgrid[0:s, 0:s]
    checker = ((yy // cell + xx // cell) % 2).astype(bool)
    lower = yy >= s // 3 + s // 10
    arr[lower & checker] = (200, 200, 200)
    arr[lower & ~checker] = (60, 60, 60)
    img = Image.fromarray(arr)
    d = ImageDraw.Draw(img)
    r = s // 5
    cx, cy = int(s * 0.68), int(s * 0.72)
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(230, 80, 20), outline=(0, 0, 0), width=2)
    d.polygon([(s // 12, s - s // 12), (s // 3, s - s // 12), (s // 12, int(s * 0.55))],
              fill=(20, 120, 230))
    d.text((s // 12, s // 3 + s // 40), "fastaug", fill=(255, 0, 0))
    return np.asarray(img, dtype=np.uint8)


test_card.__test__ = False  # a picture, not a pytest test


def _grid(images: np.ndarray, cols: int, pad: int = 4) -> np.ndarray:
    n, h, w, c = images.shape
    rows = -(-n // cols)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 255, np.uint8)
    for i, im in enumerate(images):
        r, q = divmod(i, cols)
        out[pad + r * (h + pad): pad + r * (h + pad) + h,
            pad + q * (w + pad): pad + q * (w + pad) + w] = im
    return out


def _throughput(fn, n_images: int, min_time: float) -> float:
    """Images/s of ``fn`` (best of the repeats that fit in ``min_time``)."""
    best = np.inf
    spent = 0.0
    while spent < min_time or best == np.inf:
        t = time.perf_counter()
        fn()
        dt = time.perf_counter() - t
        best = min(best, dt)
        spent += dt
    return n_images / best


def _scipy_per_image(batch: np.ndarray, mats: np.ndarray, mode: str) -> None:
    """What Keras runs: scipy.ndimage per image and channel, on float32."""
    from scipy import ndimage

    x = batch.astype(np.float32)
    for i in range(x.shape[0]):
        for ch in range(x.shape[-1]):
            ndimage.affine_transform(x[i, :, :, ch], mats[i, :, :2], mats[i, :, 2], order=1,
                                     mode=mode)


def demo(out: Path, size: int, count: int, seed: int, batch: int) -> int:
    """Write a grid of augmented test cards and print the throughput comparison."""
    from PIL import Image

    import fastaug

    card = test_card(size)
    aug = fastaug.RandomAffine(rotation_range=30, width_shift_range=0.1, height_shift_range=0.1,
                               shear_range=10, zoom_range=0.2, horizontal_flip=True,
                               vertical_flip=True, channel_shift_range=30,
                               brightness_range=(0.7, 1.3), fill_mode="reflect", seed=seed)
    t0 = time.perf_counter()
    shown = aug(np.repeat(card[None], count, axis=0))
    first = time.perf_counter() - t0
    grid = _grid(np.concatenate([card[None], shown[: count - 1]]), cols=4)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(out)
    print(f"wrote {out} ({count} augmented {size}x{size} test cards; the first is the original)")
    print(f"first batch (includes Numba compile when the cache is cold): {first:.2f} s")

    x = np.repeat(card[None], batch, axis=0)
    params = aug.draw(batch, size, size)
    mats = aug.matrices(params, size, size)
    fa = _throughput(lambda: fastaug.warp_affine(x, mats, fill_mode="reflect"), batch, 1.0)
    fa_full = _throughput(lambda: aug(x), batch, 1.0)
    print(f"\nthroughput on {batch} images of {size}x{size}x3 uint8, "
          f"{_pool.cpu_count()} threads:")
    print(f"  fastaug warp_affine (bilinear, reflect):              {fa:10,.0f} images/s")
    print(f"  fastaug RandomAffine (+ draws, channel shift, bright): {fa_full:10,.0f} images/s")
    try:
        import scipy  # noqa: F401
    except ImportError:
        print("  per-image scipy baseline: skipped (scipy is not installed; "
              "pip install scipy to compare)")
        return 0
    k = max(1, min(batch, 8 if size > 64 else 64))
    sp = _throughput(lambda: _scipy_per_image(x[:k], mats[:k], "reflect"), k, 1.0)
    print(f"  scipy.ndimage per image and channel (what Keras runs): {sp:10,.0f} images/s")
    print(f"  speed-up of warp_affine over the scipy loop: {fa / sp:.0f}x")
    return 0


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``demo`` subcommand to an argparse subparsers object."""
    p = sub.add_parser("demo", help="augment a built-in test card, write a PNG grid, "
                                    "and compare throughput with scipy's per-image loop")
    p.add_argument("--out", type=Path, default=Path("fastaug-demo.png"),
                   help="PNG file to write (default: %(default)s)")
    p.add_argument("--size", type=int, default=224, help="test card size in pixels")
    p.add_argument("--count", type=int, default=16, help="images in the grid")
    p.add_argument("--batch", type=int, default=32, help="batch size for the timing")
    p.add_argument("--seed", type=int, default=0)
    return p


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Execute a parsed ``demo`` command."""
    for name in ("size", "count", "batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.seed < 0:
        parser.error(f"--seed must be >= 0, got {args.seed}")
    return demo(args.out, args.size, args.count, args.seed, args.batch)
