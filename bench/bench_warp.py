"""pytest-benchmark suite for ``fastaug.warp_affine`` against cv2 and scipy.

Every (workload, config) cell is one benchmark group holding fastaug on 1 and 2
threads, the per-image ``cv2.warpAffine`` loop (one cv2 thread; ``cv2.flip`` for
flips-only) and Keras's per-channel scipy loop, all on the same batch and the
same matrices, so the rows of a group compare directly: every row is the time
of one whole batch (uint8 in and out; scipy float32 as Keras runs it)::

    pytest bench/bench_warp.py --benchmark-only --benchmark-group-by=group
    pytest bench/bench_warp.py --benchmark-only --benchmark-group-by=group \\
        -k "cifar and bilinear-reflect" --benchmark-columns=median,iqr,ops,rounds

``ops`` is batches/s; multiply by the batch size (in ``extra_info`` of
``--benchmark-json``, with images/s) for images/s. pytest-benchmark runs the
rows one after another, so on a shared machine the ratios drift with the load:
``compare_warp.py`` interleaves them and is the one to quote ratios from.

cv2 and scipy rows skip cleanly when those are not installed. The bench
directory is outside the default ``testpaths``, so ``pytest`` alone never runs it.
"""

from __future__ import annotations

import sys
import time
from functools import cache
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytest_benchmark")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _workloads import (
    CONFIGS,
    WORKLOADS,
    cv2_runner,
    fastaug_runner,
    interior_mask,
    make_images,
    matrices_for,
    scipy_runner,
)

from fastaug._pool import cpu_count

# A call slower than this (scipy at 224x224: ~0.3 s a batch) gets a fixed few
# rounds instead of pytest-benchmark's calibration, to keep a full run ~2 min.
SLOW_CALL_S = 0.1
SLOW_ROUNDS = 3

workloads = pytest.mark.parametrize("workload", list(WORKLOADS))
configs = pytest.mark.parametrize("config", list(CONFIGS))


@cache
def case(workload: str, config: str) -> tuple[np.ndarray, np.ndarray]:
    """The batch and matrices of one cell, shared by all its rows (read-only)."""
    wl, cfg = WORKLOADS[workload], CONFIGS[config]
    images = make_images(wl.shape)
    mats = matrices_for(wl, cfg)
    images.flags.writeable = False
    mats.flags.writeable = False
    return images, mats


def group_name(workload: str, config: str) -> str:
    return f"{WORKLOADS[workload].label} {config}"


def run_benchmark(benchmark, run, workload: str, config: str, images: int) -> None:
    """Time ``run`` into the cell's group and record images/s in extra_info."""
    benchmark.group = group_name(workload, config)
    benchmark.extra_info["images_per_call"] = images
    run()  # warm-up outside the timing: Numba compile or cache load, page faults
    t0 = time.perf_counter()
    run()
    if time.perf_counter() - t0 > SLOW_CALL_S:
        benchmark.pedantic(run, rounds=SLOW_ROUNDS, iterations=1)
    else:
        benchmark(run)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["images_per_s"] = images / stats.stats.median


@pytest.mark.parametrize("threads", [1, 2], ids=lambda t: f"{t}t")
@configs
@workloads
def test_fastaug(benchmark, workload: str, config: str, threads: int) -> None:
    """One ``warp_affine`` call on the whole batch."""
    if threads > cpu_count():
        pytest.skip(f"{threads} threads but only {cpu_count()} usable cores")
    images, mats = case(workload, config)
    run, _ = fastaug_runner(images, mats, CONFIGS[config], threads)
    run_benchmark(benchmark, run, workload, config, len(images))


@configs
@workloads
def test_cv2(benchmark, workload: str, config: str) -> None:
    """Per-image cv2 loop, one cv2 thread, same matrices and border."""
    cv2 = pytest.importorskip("cv2")
    # cv2 parallelises warpAffine internally; the comparison is one thread each.
    cv2.setNumThreads(1)
    images, mats = case(workload, config)
    cfg = CONFIGS[config]
    run, out = cv2_runner(images, mats, cfg)
    run_benchmark(benchmark, run, workload, config, len(images))
    # A wrong matrix conversion would still time fine: check the cv2 rows warp
    # the same thing as fastaug (interior pixels; see compare_warp.py).
    ref, _ = fastaug_runner(images, mats, cfg, 1)
    diff = np.abs(ref().astype(np.int16) - out.astype(np.int16))
    if cfg.flips_only:
        assert not diff.any(), "cv2.flip and fastaug disagree on flips"
    else:
        wl = WORKLOADS[workload]
        assert diff[interior_mask(mats, wl.h, wl.w)].mean() < 2.0


@configs
@workloads
def test_scipy(benchmark, workload: str, config: str) -> None:
    """Keras's loop: float32 ``affine_transform`` per image per channel, whole batch."""
    pytest.importorskip("scipy")
    images, mats = case(workload, config)
    run, _, k = scipy_runner(images, mats, CONFIGS[config])
    run_benchmark(benchmark, run, workload, config, k)
