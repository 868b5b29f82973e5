"""Batch transforms with torchvision.transforms.v2's names, arguments and semantics.

Every image of a batch gets its own random parameters, and a
:class:`Compose` recipe runs as one native pass over the output wherever the
maths allows (crop boxes, resizes, flips, ``ToDtype`` and ``Normalize`` fold
into one resampling pass). Batches may be ragged: a sequence of (H, W, C)
images of different sizes, as decoded from files.

Examples
--------
>>> import numpy as np
>>> from fastaug import transforms as T
>>> train = T.Compose([T.RandomCrop(32, padding=4, padding_mode="reflect"),
...                    T.RandomHorizontalFlip(), T.ToDtype(np.float32, scale=True),
...                    T.Normalize([0.49, 0.48, 0.45], [0.25, 0.24, 0.26])],
...                   data_format="channels_first", seed=0)
>>> train(np.zeros((128, 32, 32, 3), np.uint8)).shape
(128, 3, 32, 32)
"""

from __future__ import annotations

from fastaug.transforms._auto import AutoAugment, RandAugment, TrivialAugmentWide
from fastaug.transforms._color import (
    ColorJitter,
    Grayscale,
    RandomAdjustSharpness,
    RandomAutocontrast,
    RandomEqualize,
    RandomGrayscale,
    RandomInvert,
    RandomPosterize,
    RandomSolarize,
)
from fastaug.transforms._compose import Compose
from fastaug.transforms._erase_mix import (
    CutMix,
    GaussianBlur,
    MixUp,
    RandomApply,
    RandomChoice,
    RandomErasing,
)
from fastaug.transforms._params import BatchParams, Step
from fastaug.transforms._transforms import (
    CenterCrop,
    Normalize,
    RandomAffine,
    RandomCrop,
    RandomHorizontalFlip,
    RandomResizedCrop,
    RandomRotation,
    RandomVerticalFlip,
    Resize,
    ToDtype,
    Transform,
)

__all__ = [
    "AutoAugment",
    "BatchParams",
    "CenterCrop",
    "ColorJitter",
    "Compose",
    "CutMix",
    "GaussianBlur",
    "Grayscale",
    "MixUp",
    "Normalize",
    "RandomAdjustSharpness",
    "RandomAffine",
    "RandomApply",
    "RandomAutocontrast",
    "RandomChoice",
    "RandomCrop",
    "RandomEqualize",
    "RandomErasing",
    "RandomGrayscale",
    "RandomHorizontalFlip",
    "RandomInvert",
    "RandomPosterize",
    "RandomResizedCrop",
    "RandomRotation",
    "RandomSolarize",
    "RandAugment",
    "RandomVerticalFlip",
    "Resize",
    "Step",
    "ToDtype",
    "Transform",
    "TrivialAugmentWide",
]
