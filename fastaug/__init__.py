"""fastaug: high-performance batched image augmentation.

Numba kernels warp whole uint8 batches in one fused pass; ZCA whitening is fitted
with bounded memory and applied as one GEMM per batch; ``fastaug.keras`` is a
drop-in replacement for Keras's ``ImageDataGenerator``.
"""

from __future__ import annotations

from fastaug.augment import AffineParams, RandomAffine
from fastaug.keras import ImageDataGenerator
from fastaug.params import affine_matrices
from fastaug.stream import Stream, batches, make_batch
from fastaug.warp import warp_affine
from fastaug.whitening import ZCA

__version__ = "0.1.0"

__all__ = [
    "AffineParams",
    "ImageDataGenerator",
    "RandomAffine",
    "Stream",
    "ZCA",
    "affine_matrices",
    "batches",
    "make_batch",
    "warp_affine",
    "__version__",
]
