"""The ImageNet training recipe on decoded arrays: fastaug against DALI's CPU pipeline.

The recipe of ``bench/bench_recipes.py`` (its images and mean/std, imported):
``RandomResizedCrop(224)``, horizontal flip, ``ToDtype(float32, scale=True)``,
``Normalize`` on 32 decoded 500x375 / 375x500 uint8 images (a ragged batch) ->
(32, 3, 224, 224) float32, with two threads each:

* ``fastaug``: one ``T.Compose(..., data_format="channels_first",
  num_threads=2)`` call per batch.
* ``DALI CPU, synchronous``: ``fn.external_source`` (the same 32 arrays, read in
  place) -> ``fn.random_resized_crop`` (linear, antialiased) ->
  ``fn.crop_mirror_normalize`` (coin-flip mirror, CHW, float32), ``num_threads=2``,
  ``device_id=None`` (no GPU), ``exec_pipelined=False, exec_async=False``: one
  ``run()`` computes one batch, as one fastaug call.
* ``DALI CPU, pipelined``: the same with DALI's default executor, which computes
  up to two batches ahead in the background: each timed run starts with those
  ready (``--batches`` makes that share small).

Rounds are interleaved, with a pause after each contender so that work a
pipeline does ahead does not land in the next contender's time; medians of
images/s and the ratio fastaug / contender (> 1: fastaug is ahead) are printed,
with the cores each kept busy (process CPU time over wall time).

    PYTHONPATH=. python bench/bench_recipes_dali.py [--batches 30] [--rounds 7]
        [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _dali_tf import dali_rrc_arrays  # noqa: E402
from bench_recipes import MEAN, STD, _images  # noqa: E402

from fastaug import transforms as T  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batches", type=int, default=30, help="batches per contender and round")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--pause", type=float, default=0.3, help="seconds between contenders")
    args = p.parse_args()

    images = _images(32)
    fa = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(),
                    T.ToDtype(np.float32, scale=True), T.Normalize(MEAN, STD)],
                   data_format="channels_first", seed=0, num_threads=args.threads)

    def fastaug_run(nb: int) -> int:
        for _ in range(nb):
            out = fa(images)
        assert out.shape == (32, 3, 224, 224) and out.dtype == np.float32
        return 32 * nb

    runs = {"fastaug": fastaug_run}
    try:
        runs["DALI CPU, synchronous"] = dali_rrc_arrays(images, threads=args.threads)
        runs["DALI CPU, pipelined"] = dali_rrc_arrays(images, threads=args.threads,
                                                      pipelined=True)
    except ImportError as exc:
        print(f"skipped DALI: {exc}")
    for run in runs.values():  # warm up: compile, thread pools, first buffers
        run(3)
    time.sleep(args.pause)

    load = os.getloadavg()[0]
    rates: dict[str, list[float]] = {k: [] for k in runs}
    cores: dict[str, list[float]] = {k: [] for k in runs}  # process CPU time / wall time
    for _ in range(args.rounds):
        for name, run in runs.items():
            c, t = time.process_time(), time.perf_counter()
            n = run(args.batches)
            wall = time.perf_counter() - t
            rates[name].append(n / wall)
            cores[name].append((time.process_time() - c) / wall)
            time.sleep(args.pause)
    print(f"\nimagenet recipe on decoded arrays: 32 images per batch, {args.batches} batches "
          f"per run, {args.threads} thread(s), {os.cpu_count()} cores, median of "
          f"{args.rounds} rounds; load average before: {load:.2f}, after: "
          f"{os.getloadavg()[0]:.2f}")
    ref = statistics.median(rates["fastaug"])
    for name, r in rates.items():
        m = statistics.median(r)
        print(f"  {name:24s} {m:8,.0f} images/s   (fastaug / this: {ref / m:.2f}x)"
              f"   [min {min(r):,.0f}, max {max(r):,.0f}; "
              f"{statistics.median(cores[name]):.2f} cores busy]")


if __name__ == "__main__":
    main()
