"""ColorJitter: fastaug's batch transform against torchvision v2, albumentations and kornia.

``ColorJitter(0.4, 0.4, 0.4, 0.1)`` on uint8 batches (128x32x32x3 and
32x224x224x3), one thread each (``num_threads=1``, ``torch.set_num_threads(1)``,
``cv2.setNumThreads(1)``). fastaug runs the whole (N, H, W, C) batch; torchvision
runs ``v2.ColorJitter(0.4, 0.4, 0.4, 0.1)`` on every CHW uint8 tensor of the same
batch (prepared beforehand, not timed); albumentations runs
``A.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p=1)`` on
every HWC uint8 image; kornia runs ``K.ColorJitter(0.4, 0.4, 0.4, 0.1, p=1)`` on
the NCHW batch converted to float in [0, 1] (the conversion is timed).

Semantics differ a little: torchvision, albumentations and fastaug draw the
order of the four adjustments per image; kornia draws one order per call for
the whole batch and works on floats (no rounding to uint8 between steps).
albumentations applies hue through OpenCV's HSV conversion. The contenders are
timed in alternation (median of the rounds); a library that is not installed is
left out with a note::

    PYTHONPATH=$PWD python bench/bench_color.py [--rounds 7]

Prints Markdown table rows: each library's batch time and fastaug's speed-up.
"""

from __future__ import annotations

import argparse

import numpy as np
from _vs_torchvision import HEADER, compare, one_thread, optional

from fastaug.transforms._color import ColorJitter
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
    A = optional("albumentations")
    K = optional("kornia.augmentation")
    rng = np.random.default_rng(0)
    fa = Compose([ColorJitter(0.4, 0.4, 0.4, 0.1)], num_threads=1, seed=0)
    tv = v2.ColorJitter(0.4, 0.4, 0.4, 0.1)
    albu = None if A is None else A.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4,
                                                hue=0.1, p=1.0)
    kor = None if K is None else K.ColorJitter(0.4, 0.4, 0.4, 0.1, p=1.0)
    print(HEADER)
    for n, h, w in SIZES:
        x = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
        compare("ColorJitter", fa, tv, x, args.rounds, albu=albu, kornia=kor)


if __name__ == "__main__":
    main()
