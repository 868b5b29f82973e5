"""TrivialAugmentWide and RandAugment: fastaug's batch transform against torchvision v2 and kornia.

Default arguments (``TrivialAugmentWide()``, ``RandAugment()``: nearest,
``fill=None``) on uint8 batches (128x32x32x3 and 32x224x224x3), one thread each
(``num_threads=1``, ``torch.set_num_threads(1)``). fastaug runs the whole
(N, H, W, C) batch (every image its own op and magnitude); torchvision runs the
v2 transform on every CHW uint8 tensor of the same batch (prepared beforehand,
not timed).

kornia (when installed) runs ``kornia.augmentation.auto.TrivialAugment()`` and
``RandAugment(n=2, m=9)`` (torchvision's ``num_ops=2, magnitude=9`` of 31 bins)
on the NCHW batch converted to float in [0, 1] (the conversion is timed). These
are not the same policies: kornia draws the op(s) once per call for the whole
batch (only the magnitudes per image), and its op lists and ranges are its own
(TrivialAugment: 12 ops without identity and colour, translate up to half the
image; not the "Wide" ranges). albumentations has no TrivialAugment or
RandAugment, so it has no row here. The contenders are timed in alternation
(median of the rounds)::

    PYTHONPATH=$PWD python bench/bench_auto.py [--rounds 7]

Prints Markdown table rows: each library's batch time and fastaug's speed-up.
"""

from __future__ import annotations

import argparse

import numpy as np
from _vs_torchvision import HEADER, compare, one_thread, optional

from fastaug.transforms._auto import RandAugment, TrivialAugmentWide
from fastaug.transforms._compose import Compose

SIZES = [(128, 32, 32), (32, 224, 224)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()

    import torch
    from torchvision.transforms import v2

    one_thread()
    torch.manual_seed(0)
    KA = optional("kornia.augmentation.auto")
    print("(albumentations has no TrivialAugment / RandAugment: no albumentations rows)")
    rng = np.random.default_rng(0)
    pairs = [("TrivialAugmentWide", TrivialAugmentWide(), v2.TrivialAugmentWide(),
              None if KA is None else KA.TrivialAugment()),
             ("RandAugment", RandAugment(), v2.RandAugment(),
              None if KA is None else KA.RandAugment(n=2, m=9))]
    print(HEADER)
    for name, ours, theirs, kor in pairs:
        fa = Compose([ours], num_threads=1, seed=0)
        for n, h, w in SIZES:
            x = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
            compare(name, fa, theirs, x, args.rounds, budget=0.3, warm=3, kornia=kor)


if __name__ == "__main__":
    main()
