"""A recipe on file paths: what region and DCT-scaled decoding save, one thread.

The ImageNet training recipe (``RandomResizedCrop(224)``, flip, ``ToDtype``,
``Normalize``, channels first) on batches of 16 file paths, three ways, in
alternating rounds (the best round per row is reported: one thread, so the
minimum is the least disturbed by other work on a shared machine):

* ``paths``: ``recipe(paths)`` with ``fastaug.io.DRAFT`` on (the default): crops
  decoded as regions when libjpeg-turbo 3 is found (``FASTAUG_LIBTURBOJPEG``),
  and at 1/2, 1/4 or 1/8 scale where the resize still shrinks twofold after it;
* ``paths, no DCT scaling``: the same with ``fastaug.io.DRAFT = False``;
* ``decode whole, then recipe``: ``fastaug.io.load_array`` per file, then the
  recipe on the arrays (the full-size pixels; what a loader without either does).

The folder: ``--root`` (JPEGs in class sub-folders), by default a generated one
of 48 photo-like 12-megapixel JPEGs (4000x3000 and 3000x4000, quality 90: smooth
gradients, flat shapes, sensor-like noise), the size of phone and camera photos.
``bench/make_jpeg_folder.py``'s ImageNet-sized folder shows the other end: at
500x375 a 224 crop is never scaled.

    PYTHONPATH=. python bench/bench_recipe_files.py [--root DIR] [--rounds 3]
"""

from __future__ import annotations

import argparse
import glob
import os
import time

import numpy as np

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
HIRES = "/tmp/fastaug-jpeg-12mp"


def make_hires(root: str, n: int = 48) -> None:
    """Deterministic 12-megapixel photo-like JPEGs under ``root/c0`` (made once)."""
    from PIL import Image

    stamp = os.path.join(root, ".complete")
    if os.path.exists(stamp):
        return
    os.makedirs(os.path.join(root, "c0"), exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        h, w = (3000, 4000) if i % 2 == 0 else (4000, 3000)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        img = np.stack([150 * xx / w + 40, 120 * yy / h + 60,
                        90 * (xx + yy) / (h + w) + 80], 2)
        for _ in range(6):
            t, lf = rng.integers(0, h * 3 // 4), rng.integers(0, w * 3 // 4)
            img[t:t + h // 5, lf:lf + w // 5] = rng.integers(0, 256, 3)
        img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(os.path.join(root, "c0", f"img_{i:03d}.jpg"), quality=90)
    open(stamp, "w").close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", default=None, help=f"a folder of JPEGs (default: {HIRES})")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--files", type=int, default=48)
    args = p.parse_args()
    root = args.root or HIRES
    if args.root is None:
        make_hires(root)

    from fastaug import _turbojpeg
    from fastaug import io as fio
    from fastaug import transforms as T

    paths = sorted(glob.glob(os.path.join(root, "*", "*.jpg")))[:args.files]
    recipe = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(),
                        T.ToDtype(np.float32, scale=True), T.Normalize(MEAN, STD)],
                       data_format="channels_first", num_threads=1)

    def on_paths(ps: list[str], key: tuple[int, int, int]) -> np.ndarray:
        return recipe(ps, rng=key)

    def whole(ps: list[str], key: tuple[int, int, int]) -> np.ndarray:
        return recipe([fio.load_array(q, "rgb") for q in ps], rng=key)

    rows = {"paths": (on_paths, True), "paths, no DCT scaling": (on_paths, False),
            "decode whole, then recipe": (whole, False)}
    best = {name: float("inf") for name in rows}
    for r in range(args.rounds):
        for name, (fn, draft) in rows.items():
            fio.DRAFT = draft
            t0 = time.perf_counter()
            for b in range(0, len(paths), 16):
                fn(paths[b:b + 16], (0, r, b))
            best[name] = min(best[name], (time.perf_counter() - t0) / len(paths))
    fio.DRAFT = True
    print(f"{len(paths)} JPEGs under {root}; libjpeg-turbo 3 region decoding: "
          f"{_turbojpeg.library() or 'not found'}; best of {args.rounds} rounds, one thread")
    base = best["decode whole, then recipe"]
    for name, t in best.items():
        print(f"  {name:28s} {t * 1e3:8.2f} ms a file   {1 / t:7.1f} files/s   "
              f"{base / t:5.2f}x")


if __name__ == "__main__":
    main()
