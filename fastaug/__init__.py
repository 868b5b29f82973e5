"""fastaug: high-performance batched image augmentation.

Numba kernels warp whole uint8 batches in one fused pass; ZCA whitening is fitted
with bounded memory and applied as one GEMM per batch; ``fastaug.keras`` is a
drop-in replacement for Keras's ``ImageDataGenerator``.
"""

from __future__ import annotations

from fastaug.warp import warp_affine

__version__ = "0.1.0"

__all__ = [
    "warp_affine",
    "__version__",
]
