"""ZCA whitening: fit and standardize, fastaug vs Keras vs a bare np.matmul.

* ``fit``: ``fastaug.whitening.ZCA().fit`` on CIFAR-shaped uint8 data
  (50000x32x32x3, random; set FASTAUG_BENCH_FIT_N to change n). Keras's own fit
  on that takes ~300 s and ~6 GB here, so it is not run; see
  ``bench/zca_fit_memory.py`` for fit time and peak memory in a fresh process.
* ``standardize`` on one 128x32x32x3 batch, ZCA fitted on 4000 images (n >= d,
  so the full 3072x3072 matrix, one GEMM):

  - ``fastaug``: ``ZCA.transform(uint8 batch)`` -> float32 (centring fused)
  - ``fastaug_out``: the same into a preallocated ``out=``
  - ``matmul``: one bare ``np.matmul`` of the same shapes in float32, the floor
  - ``keras_per_image``: Keras 3's legacy ``ImageDataGenerator.standardize``
    called per image on a float32 copy, as its ``NumpyArrayIterator`` does
  - ``keras_batch``: Keras's ``standardize`` on the whole float32 batch (one
    float64 GEMM, since Keras's matrix is float64)

  Keras's generator gets fastaug's fitted mean and float64 matrix (Keras's fit
  would produce the same, tested in tests/test_whitening.py), so only the
  standardize step is timed.

Run as a script for one interleaved run that prints images/s and the ratios
(ours vs Keras's per-image path, ours vs the bare matmul), or under
pytest-benchmark::

    python bench/bench_whitening.py [--repeats 15]
    pytest bench/bench_whitening.py --benchmark-only
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

os.environ.setdefault("KERAS_BACKEND", "numpy")

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fastaug.whitening import ZCA

BATCH = 128
SHAPE = (32, 32, 3)
FIT_N = int(os.environ.get("FASTAUG_BENCH_FIT_N", "50000"))


def make_uint8(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, *SHAPE), dtype=np.uint8)


def fitted_zca() -> ZCA:
    return ZCA().fit(make_uint8(4000, seed=1))


def keras_generator(zca: ZCA):
    """Keras's legacy generator holding ``zca``'s statistics, or None."""
    try:
        from keras.src.legacy.preprocessing.image import ImageDataGenerator
    except ImportError:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gen = ImageDataGenerator(featurewise_center=True, zca_whitening=True)
    gen.mean = zca.mean_
    gen.zca_whitening_matrix = zca.whitening_matrix_  # float64, like Keras's fit
    return gen


def keras_per_image(gen, batch: np.ndarray) -> np.ndarray:
    out = np.empty(batch.shape, np.float32)
    for i in range(batch.shape[0]):
        # NumpyArrayIterator: x.astype(dtype) in apply_transform, then standardize.
        out[i] = gen.standardize(batch[i].astype(np.float32))
    return out


def cases(zca: ZCA, batch: np.ndarray) -> dict:
    d = batch[0].size
    w32 = zca._W32  # the float32 matrix transform() multiplies by
    a = np.random.default_rng(2).random((BATCH, d), dtype=np.float32)
    out_mm = np.empty((BATCH, d), np.float32)
    out = np.empty(batch.shape, np.float32)
    gen = keras_generator(zca)
    fns = {
        "fastaug": lambda: zca.transform(batch),
        "fastaug_out": lambda: zca.transform(batch, out=out),
        "matmul": lambda: np.matmul(a, w32, out=out_mm),
    }
    if gen is not None:
        fns["keras_per_image"] = lambda: keras_per_image(gen, batch)
        fns["keras_batch"] = lambda: gen.standardize(batch.astype(np.float32))
    return fns


# ------------------------------------------------------------ pytest-benchmark
try:
    import pytest
except ImportError:  # script use needs no pytest
    pytest = None

if pytest is not None:

    @pytest.fixture(scope="module")
    def standardize_cases():
        return cases(fitted_zca(), make_uint8(BATCH, seed=3))

    @pytest.mark.parametrize("name", ["fastaug", "fastaug_out", "matmul",
                                      "keras_per_image", "keras_batch"])
    def test_standardize(benchmark, standardize_cases, name):
        if name not in standardize_cases:
            pytest.skip("Keras 3 (with an importable backend) is not installed")
        benchmark.group = "standardize 128x32x32x3, ZCA"
        benchmark.extra_info["images"] = BATCH
        benchmark(standardize_cases[name])

    def test_fit_cifar(benchmark):
        x = make_uint8(FIT_N)
        benchmark.group = f"fit {FIT_N}x32x32x3 uint8"
        zca = benchmark.pedantic(lambda: ZCA().fit(x), rounds=1, iterations=1)
        assert zca.n_components_ == min(FIT_N, x[0].size)


# ---------------------------------------------------------------------- script
def main() -> None:
    ap = argparse.ArgumentParser(description="ZCA standardize throughput, interleaved")
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    fns = cases(fitted_zca(), make_uint8(BATCH, seed=3))
    for fn in fns.values():
        fn()  # warm up
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(args.repeats):
        for name, fn in fns.items():  # interleaved: load changes hit all alike
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        print(f"{k:16s} median {v * 1e3:9.2f} ms  {BATCH / v:12.0f} images/s  "
              f"(min {min(times[k]) * 1e3:.2f} ms)")
    print(f"fastaug / matmul time: {med['fastaug'] / med['matmul']:.3f} "
          f"(out=: {med['fastaug_out'] / med['matmul']:.3f})")
    if "keras_per_image" in med:
        per_image = med["keras_per_image"] / med["fastaug"]
        whole = med["keras_batch"] / med["fastaug"]
        print(f"fastaug vs Keras images/s: {per_image:.1f}x Keras per-image (its iterator's "
              f"path), {whole:.1f}x Keras whole-batch standardize")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
