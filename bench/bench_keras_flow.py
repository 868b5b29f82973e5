"""End-to-end ``flow()`` throughput: fastaug.keras vs Keras vs the raw kernel.

Configuration (the issue's): rotation 30, shifts 0.1, zoom 0.2, shear 0.2, both
flips, on 32x32x3 uint8 CIFAR-shaped data, batch 128, float32 output, same seed.

* ``fastaug``: ``fastaug.keras.ImageDataGenerator(...).flow(x, y, batch_size=128)``
* ``keras``: Keras 3's legacy ``ImageDataGenerator`` on the same data and seed
* ``raw``: ``fastaug.warp_affine`` on the very same gathered batches and matrices
  (the kernel alone: what the flow would cost with zero overhead)
* layouts: ``flow()`` on keras.datasets' CIFAR layout (built (N, 3, 32, 32) uint8,
  then ``.transpose(0, 2, 3, 1)``; and float32 after ``x.astype('float32');
  x /= 255``, which keeps that layout) against the same data made C-contiguous,
  same seed; the batches are checked to be identical before timing

Run as a script for one interleaved run that prints images/s and the two ratios
(``fastaug / keras`` and ``fastaug / raw``), or under pytest-benchmark::

    python bench/bench_keras_flow.py [--images 4096] [--repeats 7] [--no-layouts]
    pytest bench/bench_keras_flow.py --benchmark-only

The script measures the fastaug of the tree it lives in (it prints which);
with PYTHONPATH set, that decides instead, e.g. to run a checkout of another
commit against this script: ``PYTHONPATH=/path/to/other/tree python bench/...``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

os.environ.setdefault("KERAS_BACKEND", "jax")
# Measure the tree this script lives in, not whichever fastaug is installed;
# a PYTHONPATH, when set, decides instead (to compare two trees).
if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np

import fastaug
from fastaug import keras as fk
from fastaug.params import AffineParams

CONFIG = dict(rotation_range=30, width_shift_range=0.1, height_shift_range=0.1,
              zoom_range=0.2, shear_range=0.2, horizontal_flip=True, vertical_flip=True)
BATCH = 128
SEED = 0


def make_data(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n)


def make_layouts(n: int) -> dict[str, np.ndarray]:
    """keras.datasets' CIFAR layout (uint8 and float32 / 255) and contiguous copies."""
    rng = np.random.default_rng(1)
    xt = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8).transpose(0, 2, 3, 1)
    ft = xt.astype("float32")  # keeps the transposed layout
    ft /= 255
    return {"u8_contig": np.ascontiguousarray(xt), "u8_keras": xt,
            "f32_contig": np.ascontiguousarray(ft), "f32_keras": ft}


def layout_iterators(n: int, y: np.ndarray) -> dict[str, object]:
    its = {k: fk.ImageDataGenerator(**CONFIG).flow(v, y, batch_size=BATCH, seed=SEED)
           for k, v in make_layouts(n).items()}
    for a, b in (("u8_keras", "u8_contig"), ("f32_keras", "f32_contig")):
        for i in range(len(its[a])):  # same batches, bit for bit
            (xa, ya), (xb, yb) = its[a][i], its[b][i]
            assert np.array_equal(xa, xb) and np.array_equal(ya, yb), (a, b, i)
    return its


def fastaug_epoch(it) -> int:
    count = 0
    for i in range(len(it)):
        count += it[i][0].shape[0]
    return count


def capture_batches(x: np.ndarray, y: np.ndarray):
    """The gathered uint8 batches and matrices one seeded fastaug epoch uses."""
    it = fk.ImageDataGenerator(**CONFIG).flow(x, y, batch_size=BATCH, seed=SEED)
    mats: list[np.ndarray] = []
    orig = AffineParams.matrices

    def spy(self, h, w):
        m = orig(self, h, w)
        mats.append(m)
        return m

    AffineParams.matrices = spy
    try:
        fastaug_epoch(it)
    finally:
        AffineParams.matrices = orig
    batches = [np.ascontiguousarray(x[it.index_array[i * BATCH:(i + 1) * BATCH]])
               for i in range(len(it))]
    return batches, mats


def raw_epoch(batches, mats) -> int:
    count = 0
    for b, m in zip(batches, mats):
        count += fastaug.warp_affine(b, m, out_dtype=np.float32).shape[0]
    return count


def keras_batches(kit, nbatches: int) -> int:
    count = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(nbatches):
            count += kit[i][0].shape[0]
    return count


def _keras_iterator(x, y):
    from keras.src.legacy.preprocessing import image as kimage

    return kimage.ImageDataGenerator(**CONFIG).flow(x, y, batch_size=BATCH, seed=SEED)


# ----------------------------------------------------------------- pytest-benchmark
def test_fastaug_flow(benchmark):
    x, y = make_data(2048)
    it = fk.ImageDataGenerator(**CONFIG).flow(x, y, batch_size=BATCH, seed=SEED)
    fastaug_epoch(it)  # compile / warm
    benchmark.extra_info["images"] = len(x)
    benchmark.pedantic(fastaug_epoch, args=(it,), rounds=7, iterations=1)


def test_raw_warp_affine_same_batches(benchmark):
    x, y = make_data(2048)
    batches, mats = capture_batches(x, y)
    raw_epoch(batches, mats)
    benchmark.extra_info["images"] = len(x)
    benchmark.pedantic(raw_epoch, args=(batches, mats), rounds=7, iterations=1)


def test_fastaug_flow_keras_datasets_layout(benchmark):
    _, y = make_data(2048)
    it = layout_iterators(2048, y)["u8_keras"]
    fastaug_epoch(it)
    benchmark.extra_info["images"] = len(y)
    benchmark.pedantic(fastaug_epoch, args=(it,), rounds=7, iterations=1)


def test_keras_flow(benchmark):
    import pytest

    pytest.importorskip("keras")
    x, y = make_data(512)
    kit = _keras_iterator(x, y)
    benchmark.extra_info["images"] = len(x)
    benchmark.pedantic(keras_batches, args=(kit, len(kit)), rounds=2, iterations=1)


# --------------------------------------------------------------------- script mode
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=4096)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--keras-batches", type=int, default=4)
    ap.add_argument("--no-layouts", action="store_true",
                    help="skip the keras.datasets-layout rows")
    args = ap.parse_args()
    x, y = make_data(args.images)
    it = fk.ImageDataGenerator(**CONFIG).flow(x, y, batch_size=BATCH, seed=SEED)
    batches, mats = capture_batches(x, y)
    fastaug_epoch(it)
    raw_epoch(batches, mats)
    try:
        kit = _keras_iterator(x, y)
        keras_batches(kit, 1)
    except ImportError:
        kit = None
    lits = {} if args.no_layouts else layout_iterators(args.images, y)
    for lit in lits.values():
        fastaug_epoch(lit)
    rates: dict[str, list[float]] = {"fastaug": [], "raw": [], "keras": []}
    rates.update({k: [] for k in lits})
    # Interleaved, so that load from other processes hits all of them alike.
    for _ in range(args.repeats):
        t = time.perf_counter()
        n = fastaug_epoch(it)
        rates["fastaug"].append(n / (time.perf_counter() - t))
        t = time.perf_counter()
        n = raw_epoch(batches, mats)
        rates["raw"].append(n / (time.perf_counter() - t))
        if kit is not None:
            t = time.perf_counter()
            n = keras_batches(kit, args.keras_batches)
            rates["keras"].append(n / (time.perf_counter() - t))
        for k, lit in lits.items():
            t = time.perf_counter()
            n = fastaug_epoch(lit)
            rates[k].append(n / (time.perf_counter() - t))
    med = {k: statistics.median(v) for k, v in rates.items() if v}
    print(f"fastaug: {os.path.dirname(fastaug.__file__)}")
    print(f"threads: {fk.ImageDataGenerator().num_threads}, images/epoch: {args.images}, "
          f"batch: {BATCH}, repeats: {args.repeats}")
    for k, v in med.items():
        print(f"{k:>10}: {v:12,.0f} images/s (median; min {min(rates[k]):,.0f}, "
              f"max {max(rates[k]):,.0f})")
    if "keras" in med:
        print(f"fastaug / keras = {med['fastaug'] / med['keras']:.1f}x")
    print(f"fastaug / raw warp_affine = {med['fastaug'] / med['raw']:.1%}")
    paired = [f / r for f, r in zip(rates["fastaug"], rates["raw"])]
    print(f"fastaug / raw, per repeat (median of pairs) = {statistics.median(paired):.1%}")
    for a, b in (("u8_keras", "u8_contig"), ("f32_keras", "f32_contig")):
        if a in med:
            paired = [p / q for p, q in zip(rates[a], rates[b])]
            print(f"{a} / {b} = {med[a] / med[b]:.1%} (median of pairs "
                  f"{statistics.median(paired):.1%}; same batches)")


if __name__ == "__main__":
    main()
