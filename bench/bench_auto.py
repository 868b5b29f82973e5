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

import numpy as np
from _vs_torchvision import compare

from fastaug.transforms._auto import RandAugment, TrivialAugmentWide
from fastaug.transforms._compose import Compose

SIZES = [(128, 32, 32), (32, 224, 224)]


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
            compare(f"{name:18s} ", fa, theirs, x, args.rounds, budget=0.3, warm=3)


if __name__ == "__main__":
    main()
