"""fastaug: high-performance batched image augmentation.

Numba kernels warp whole uint8 batches in one fused pass; ZCA whitening is fitted
with bounded memory and applied as one GEMM per batch; ``fastaug.keras`` is a
drop-in replacement for Keras's ``ImageDataGenerator``; ``fastaug.transforms`` has
torchvision.transforms.v2-style batch recipes.

``import fastaug`` loads the native core only. The Keras drop-in is imported on
first use: ``from fastaug.keras import ImageDataGenerator``, or
``fastaug.ImageDataGenerator`` (resolved lazily, PEP 562).
"""

from __future__ import annotations

import importlib
from typing import Any

from fastaug.augment import RandomAffine
from fastaug.params import AffineParams, affine_matrices
from fastaug.stream import Stream, batches, make_batch
from fastaug.warp import warp_affine
from fastaug.whitening import ZCA

__version__ = "0.1.0"

__all__ = [
    "AffineParams",
    "ImageDataGenerator",
    "PackedImages",
    "RandomAffine",
    "Stream",
    "ZCA",
    "affine_matrices",
    "batches",
    "make_batch",
    "resized_crop",
    "transforms",
    "warp_affine",
    "__version__",
]

# Names served on first access, with the module that defines them.
_LAZY = {"ImageDataGenerator": "fastaug.keras", "keras": "fastaug.keras",
         "transforms": "fastaug.transforms", "resized_crop": "fastaug.resample",
         "PackedImages": "fastaug.resample"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fastaug' has no attribute {name!r}")
    mod = importlib.import_module(module)
    value = mod if name in ("keras", "transforms") else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
