"""RandomErasing: fastaug's batch transform against torchvision v2, albumentations and kornia.

``RandomErasing(p=1.0)`` (defaults otherwise: ``scale=(0.02, 0.33)``,
``ratio=(0.3, 3.3)``, ``value=0``) on float32 batches in [0, 1] (128x32x32x3 and
32x224x224x3), one thread each (``num_threads=1``, ``torch.set_num_threads(1)``,
``cv2.setNumThreads(1)``). fastaug runs the whole (N, H, W, C) batch (draw, copy
and erase: the caller's batch is not modified); torchvision runs
``v2.RandomErasing`` on every CHW float32 tensor of the same batch (prepared
beforehand, not timed; it clones each image); albumentations runs
``A.Erasing(p=1, fill=0)`` (its port of torchvision's RandomErasing) on every HWC
float32 image; kornia runs ``K.RandomErasing(p=1, value=0)`` on the NCHW float32
batch. With ``--value random`` torchvision and fastaug fill with normal noise,
albumentations with ``fill="random"`` (uniform noise) and kornia is left out (it
fills with a constant only). With ``--in-compose`` the input is uint8:
fastaug's step follows a ``ToDtype`` pass (the recipe's own array is erased in
place), torchvision runs ``ToDtype`` + ``RandomErasing`` per image,
albumentations ``ToFloat`` + ``Erasing`` and kornia erases the batch converted
to float (the conversion is timed). The contenders are timed in alternation
(median of the rounds); a library that is not installed is left out with a note::

    PYTHONPATH=$PWD python bench/bench_erase_mix.py [--rounds 7] [--value random] [--in-compose]

Prints Markdown table rows: each library's batch time and fastaug's speed-up.
"""

from __future__ import annotations

import argparse

import numpy as np
from _vs_torchvision import HEADER, compare, one_thread, optional

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

    one_thread()
    torch.manual_seed(0)
    A = optional("albumentations")
    K = optional("kornia.augmentation")
    rng = np.random.default_rng(0)
    albu = kor = None
    if A is not None:
        albu = A.Erasing(fill="random" if value == "random" else value, p=1.0)
    if K is not None and value != "random":
        kor = K.RandomErasing(value=value, p=1.0)
    elif K is not None:
        print("(kornia's RandomErasing fills with a constant only: no kornia row for 'random')")
    if args.in_compose:
        fa = Compose([ToDtype(np.float32, scale=True), RandomErasing(p=1.0, value=value)],
                     num_threads=1, seed=0)
        tv = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.RandomErasing(p=1.0,
                                                                               value=value)])
        if albu is not None:
            albu = A.Compose([A.ToFloat(max_value=255), albu])
    else:
        fa = Compose([RandomErasing(p=1.0, value=value)], num_threads=1, seed=0)
        tv = v2.RandomErasing(p=1.0, value=value)
    print(HEADER)
    for n, h, w in SIZES:
        if args.in_compose:
            x = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
        else:
            x = rng.random((n, h, w, 3), dtype=np.float32)
        compare("RandomErasing", fa, tv, x, args.rounds, albu=albu, kornia=kor)


if __name__ == "__main__":
    main()
