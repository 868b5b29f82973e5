"""Measure ZCA fit time and peak memory, each case in a fresh subprocess.

Usage::

    python bench/zca_fit_memory.py                 # both cases
    python bench/zca_fit_memory.py --case cifar    # 50000 x 32 x 32 x 3 uint8, in RAM
    python bench/zca_fit_memory.py --case large    # 2000 x 224 x 224 x 3 uint8, np.memmap

The input is random uint8 written to a file under --tmpdir by this (parent)
process, so generating it costs the measured process nothing; the child loads
it (``np.fromfile`` for the in-RAM case, ``np.memmap`` for the large one), then
fits :class:`fastaug.whitening.ZCA`. "Above input" is the child's peak RSS
(``ru_maxrss``, which also counts the memmap's resident file pages) minus its
RSS after importing numpy and fastaug, minus the input's size. Timings on a
shared machine are noisy: compare numbers from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CASES = {
    # name: (shape, storage)
    "cifar": ((50000, 32, 32, 3), "ram"),
    "large": ((2000, 224, 224, 3), "memmap"),
}


def _rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(path: str, shape: tuple[int, ...], storage: str) -> None:
    sys.path.insert(0, REPO)
    from fastaug.whitening import ZCA

    base = _rss_bytes()
    if storage == "ram":
        x = np.fromfile(path, dtype=np.uint8).reshape(shape)
    else:
        x = np.memmap(path, dtype=np.uint8, mode="r", shape=shape)
    t0 = time.perf_counter()
    zca = ZCA().fit(x)
    fit_s = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(json.dumps({
        "shape": list(shape), "storage": storage, "fit_s": fit_s,
        "peak_rss": peak, "rss_after_imports": base, "input_bytes": int(x.nbytes),
        "above_input": peak - base - int(x.nbytes),
        "method": zca.fit_method_, "n_components": zca.n_components_,
        "components_dtype": str(zca.components_.dtype),
    }))


def _write_input(path: str, shape: tuple[int, ...], seed: int = 0) -> None:
    n = shape[0]
    per = int(np.prod(shape[1:]))
    if os.path.exists(path) and os.path.getsize(path) == n * per:
        return
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        for i in range(0, n, 1000):
            m = min(1000, n - i)
            rng.integers(0, 256, size=m * per, dtype=np.uint8).tofile(f)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=[*CASES, "all"], default="all")
    ap.add_argument("--tmpdir", default="/tmp")
    ap.add_argument("--keep", action="store_true", help="keep the input files")
    ap.add_argument("--child", nargs=3, metavar=("PATH", "SHAPE", "STORAGE"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        path, shape, storage = args.child
        _child(path, tuple(int(s) for s in shape.split("x")), storage)
        return
    names = list(CASES) if args.case == "all" else [args.case]
    for name in names:
        shape, storage = CASES[name]
        path = os.path.join(args.tmpdir, f"fastaug_zca_{name}.u8")
        _write_input(path, shape)
        try:
            proc = subprocess.run(
                [sys.executable, __file__, "--child", path,
                 "x".join(map(str, shape)), storage],
                capture_output=True, text=True, check=True,
            )
        finally:
            if not args.keep:
                os.remove(path)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        gib = 2.0**30
        print(
            f"{name:6s} {'x'.join(map(str, shape))} uint8 ({storage}): fit {r['fit_s']:.1f} s, "
            f"peak RSS {r['peak_rss'] / gib:.2f} GiB, input {r['input_bytes'] / gib:.2f} GiB, "
            f"above input {r['above_input'] / gib:.2f} GiB "
            f"[{r['method']}, r={r['n_components']}, components {r['components_dtype']}]"
        )
        print("  " + json.dumps(r))


if __name__ == "__main__":
    main()
