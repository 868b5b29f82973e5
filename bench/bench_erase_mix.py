"""RandomErasing: fastaug's batch transform against torchvision v2 per image, one thread.

``RandomErasing(p=1.0)`` (defaults otherwise: ``value=0``) on float32 batches
(128x32x32x3 and 32x224x224x3). fastaug runs the whole (N, H, W, C) batch with
one kernel thread (draw, copy and erase: the caller's batch is not modified);
torchvision runs ``v2.RandomErasing`` on every CHW float32 tensor of the same
batch (prepared beforehand, not timed; it clones each image) with
``torch.set_num_threads(1)``. With ``--in-compose`` fastaug's step follows a
``ToDtype`` pass from uint8 (the recipe's own array is erased in place) and
torchvision runs ``ToDtype`` + ``RandomErasing`` per image. The two are timed
in alternation (median of the rounds) so that a shared machine's load drifts
into both::

    PYTHONPATH=$PWD python bench/bench_erase_mix.py [--rounds 7] [--value random]

Prints one line per size: the batch time of each and the ratio.
"""

from __future__ import annotations

import argparse

import numpy as np
from _vs_torchvision import compare

from fastaug.transforms._compose import Compose
from fastaug.transforms._erase_mix import RandomErasing
from fastaug.transforms._transforms import ToDtype

SIZES = [(128, 32, 32), (32, 224, 224)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--value", default="0", help="a number or 'random'")
    ap.add_argument("--in-compose", action="store_true",
                    help="after ToDtype(float32, scale=True) of uint8 images")
    args = ap.parse_args()
    value = args.value if args.value == "random" else float(args.value)

    import torch
    from torchvision.transforms import v2

    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    if args.in_compose:
        fa = Compose([ToDtype(np.float32, scale=True), RandomErasing(p=1.0, value=value)],
                     num_threads=1, seed=0)
        tv = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.RandomErasing(p=1.0,
                                                                               value=value)])
    else:
        fa = Compose([RandomErasing(p=1.0, value=value)], num_threads=1, seed=0)
        tv = v2.RandomErasing(p=1.0, value=value)
    for n, h, w in SIZES:
        if args.in_compose:
            x = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
        else:
            x = rng.random((n, h, w, 3), dtype=np.float32)
        compare("", fa, tv, x, args.rounds)


if __name__ == "__main__":
    main()
