"""``flow_from_directory`` throughput: fastaug vs Keras on the same folder of JPEGs.

The issue's workload: 2000 JPEGs of 500x375 in 10 class folders (generated once
and cached under ``/tmp/fastaug-bench-dir``), batches of 32 at 224x224, the seed
notes' generator (rotation 30, shifts 0.1, zoom 0.2, shear 0.2, both flips,
fill_mode nearest), float32 output, Keras's default nearest resize. The two
iterators run interleaved, batch by batch, on the same tree and seed; the first
batch of each (Numba compile, page cache) is not timed.

Note that 224x224 is not at most half of 500x375 in both dimensions, so no
reduced-size (draft) decoding happens here: fastaug decodes exactly what Keras
decodes; the speed comes from parallel decoding and the fused warp. Pass
``--draft-size 112`` to also time a target where draft decoding applies.

    python bench/bench_directory.py [--batches 10] [--root /tmp/fastaug-bench-dir]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np

SEED_CONFIG = dict(rotation_range=30, width_shift_range=0.1, height_shift_range=0.1,
                   zoom_range=0.2, shear_range=0.2, horizontal_flip=True,
                   vertical_flip=True, fill_mode="nearest")


def make_tree(root: str, n_classes: int = 10, per_class: int = 200,
              size: tuple[int, int] = (500, 375)) -> str:
    """Generate (once) ``n_classes`` folders of ``per_class`` JPEGs of ``size`` (w, h)."""
    from PIL import Image

    stamp = os.path.join(root, ".complete")
    if os.path.exists(stamp):
        return root
    rng = np.random.default_rng(0)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    for c in range(n_classes):
        d = os.path.join(root, f"class_{c:02d}")
        os.makedirs(d, exist_ok=True)
        for i in range(per_class):
            # Photo-like content: gradients, a few shapes, mild noise (JPEG ~40 KB).
            fx, fy = rng.uniform(0.005, 0.03, 2)
            base = np.stack([127 + 120 * np.sin(xx * fx + c),
                             127 + 120 * np.cos(yy * fy + i),
                             (xx + yy) * 255.0 / (w + h)], -1)
            base += rng.normal(0, 6, base.shape)
            Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(
                os.path.join(d, f"img_{i:04d}.jpg"), quality=90)
    open(stamp, "w").close()
    return root


def bench(root: str, batches: int, target: tuple[int, int]) -> tuple[float, float]:
    from keras.src.legacy.preprocessing import image as kimage

    from fastaug import keras as fk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ki = kimage.ImageDataGenerator(**SEED_CONFIG).flow_from_directory(
            root, target_size=target, batch_size=32, seed=0)
    fi = fk.ImageDataGenerator(**SEED_CONFIG).flow_from_directory(
        root, target_size=target, batch_size=32, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        next(ki)
        next(fi)  # compile + warm-up
        tk = tf = 0.0
        for _ in range(batches):
            t = time.perf_counter()
            next(ki)
            tk += time.perf_counter() - t
            t = time.perf_counter()
            next(fi)
            tf += time.perf_counter() - t
    return 32 * batches / tk, 32 * batches / tf


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default="/tmp/fastaug-bench-dir")
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--draft-size", type=int, default=0,
                    help="also time target_size=(S, S) (e.g. 112: draft decoding applies)")
    args = ap.parse_args()
    from fastaug import _pool

    t = time.perf_counter()
    make_tree(args.root)
    print(f"tree: {args.root} (2000 JPEGs 500x375, 10 classes; ready in "
          f"{time.perf_counter() - t:.1f} s); {_pool.cpu_count()} usable cores, "
          f"load average {os.getloadavg()[0]:.2f}")
    sizes = [(224, 224)] + ([(args.draft_size,) * 2] if args.draft_size else [])
    for size in sizes:
        k, f = bench(args.root, args.batches, size)
        print(f"target {size[0]}x{size[1]}, batch 32, {args.batches} batches each, "
              f"interleaved: keras {k:7.1f} images/s   fastaug {f:7.1f} images/s   "
              f"ratio {f / k:.2f}x")


if __name__ == "__main__":
    main()
