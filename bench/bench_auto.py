"""TrivialAugmentWide and RandAugment: fastaug's batch transform against torchvision v2 per image.

Default arguments (``TrivialAugmentWide()``, ``RandAugment()``: nearest,
``fill=None``) on uint8 batches (128x32x32x3 and 32x224x224x3). fastaug runs
the whole (N, H, W, C) batch with one kernel thread (every image its own op and
magnitude); torchvision runs the v2 transform on every CHW uint8 tensor of the
same batch (prepared beforehand, not timed) with ``torch.set_num_threads(1)``.
The two are timed in alternation (median of the rounds) so that a shared
machine's load drifts into both::

    PYTHONPATH=$PWD python bench/bench_auto.py [--rounds 7]

Prints one line per transform and size: the batch time of each and the ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fastaug.transforms._auto import RandAugment, TrivialAugmentWide
from fastaug.transforms._compose import Compose

SIZES = [(128, 32, 32), (32, 224, 224)]


def _time(fn, repeat: int) -> float:
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t) / repeat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()

    import torch
    from torchvision.transforms import v2

    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    pairs = [("TrivialAugmentWide", TrivialAugmentWide(), v2.TrivialAugmentWide()),
             ("RandAugment", RandAugment(), v2.RandAugment())]
    for name, ours, theirs in pairs:
        fa = Compose([ours], num_threads=1, seed=0)
        for n, h, w in SIZES:
            x = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
            tensors = [torch.from_numpy(im.transpose(2, 0, 1).copy()) for im in x]
            for _ in range(3):
                fa(x)  # compile / load the cached kernels of every op
            for t in tensors[:8]:
                theirs(t)
            rep_fa = max(1, int(0.3 / max(_time(lambda x=x, fa=fa: fa(x), 1), 1e-6)))
            rep_tv = max(1, int(0.3 / max(_time(
                lambda ts=tensors, tv=theirs: [tv(t) for t in ts], 1), 1e-6)))
            t_fa, t_tv = [], []
            for _ in range(args.rounds):
                t_fa.append(_time(lambda x=x, fa=fa: fa(x), rep_fa))
                t_tv.append(_time(lambda ts=tensors, tv=theirs: [tv(t) for t in ts], rep_tv))
            a, b = float(np.median(t_fa)), float(np.median(t_tv))
            print(f"{name:18s} {n}x{h}x{w}x3 uint8: fastaug {a * 1e3:8.2f} ms/batch "
                  f"({n / a:9.0f} img/s), torchvision v2 per image {b * 1e3:8.2f} ms/batch "
                  f"({n / b:7.0f} img/s), speed-up {b / a:5.1f}x", flush=True)


if __name__ == "__main__":
    main()
