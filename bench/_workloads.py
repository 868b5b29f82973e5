"""Shared workloads for the warp benchmarks: batches, matrices and the contenders.

Used by ``bench_warp.py`` (pytest-benchmark) and ``compare_warp.py`` (one
interleaved run), so both time exactly the same work. Only the public API is
used (``fastaug.warp_affine`` and ``fastaug.params.affine_matrices``): the kernel
is still being optimised and the harness must not care how.

Contenders, all uint8 in and out except scipy (see ``scipy_runner``):

* ``fastaug``: one ``warp_affine`` call on the whole batch, 1 or 2 threads.
* ``cv2``: a per-image ``cv2.warpAffine`` loop (``WARP_INVERSE_MAP``, the
  equivalent border mode) into a preallocated batch; for the flips-only config a
  per-image ``cv2.flip`` loop instead, which is what one would write with cv2.
* ``scipy``: ``scipy.ndimage.affine_transform`` per image per channel on float32,
  which is what Keras's ``ImageDataGenerator`` runs (for flips only, Keras skips
  scipy and copies a reversed float32 slice; that is what is timed there).

cv2 and scipy are imported lazily so the fastaug rows run without them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import fastaug

# The helpers live in the package, shared with the installed ``fastaug bench``.
from fastaug._bench import (
    CV2_BORDERS,
    SEED,
    cv2_loop,
    draw_matrices,
    flip_matrices,
    keras_matrices,
    make_images,
    scipy_loop,
    to_cv2_matrix,
)

__all__ = [
    "CONFIGS",
    "SEED",
    "WORKLOADS",
    "Config",
    "Workload",
    "cv2_runner",
    "fastaug_runner",
    "flip_matrices",
    "interior_mask",
    "keras_matrices",
    "make_images",
    "matrices_for",
    "scipy_runner",
    "to_cv2_matrix",
]

@dataclass(frozen=True)
class Workload:
    """A batch shape, NHWC."""

    name: str
    n: int
    h: int
    w: int
    c: int
    # Images the scipy loop warps per call in compare_warp.py: at 224x224 it takes
    # ~10 ms per image, and a whole batch every round would dominate the run.
    scipy_images: int

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.n, self.h, self.w, self.c)

    @property
    def label(self) -> str:
        return f"{self.n}x{self.h}x{self.w}x{self.c}"


@dataclass(frozen=True)
class Config:
    """Interpolation, fill mode and which matrices to draw."""

    name: str
    order: int
    fill_mode: str
    flips_only: bool = False

    @property
    def cv2_border_name(self) -> str:
        # scipy "reflect" (d c b a | a b c d) is cv2's BORDER_REFLECT, "nearest" is
        # BORDER_REPLICATE; "constant" is BORDER_CONSTANT up to scipy not blending
        # cval into edge pixels (same work, so fine for timing). "wrap" has no cv2
        # equivalent (scipy's legacy period n-1), so it is not benchmarked.
        return CV2_BORDERS[self.fill_mode]


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("cifar", 128, 32, 32, 3, scipy_images=128),
        Workload("mnist", 128, 28, 28, 1, scipy_images=128),
        Workload("imagenet", 32, 224, 224, 3, scipy_images=4),
    )
}

CONFIGS: dict[str, Config] = {
    c.name: c
    for c in (
        Config("bilinear-reflect", 1, "reflect"),
        Config("bilinear-nearest", 1, "nearest"),
        Config("bilinear-constant", 1, "constant"),
        Config("nearest-reflect", 0, "reflect"),
        # order=1 on purpose: fastaug sees integer matrices and copies exactly.
        Config("flips-only", 1, "reflect", flips_only=True),
    )
}


def matrices_for(workload: Workload, config: Config, seed: int = SEED) -> np.ndarray:
    """The matrices a (workload, config) cell uses, identical for every contender."""
    return draw_matrices(workload.n, workload.h, workload.w, config.flips_only, seed)


def fastaug_runner(images: np.ndarray, mats: np.ndarray, config: Config,
                   threads: int) -> tuple[Callable[[], Any], np.ndarray]:
    """A zero-argument call warping the whole batch, and the buffer it writes."""
    out = np.empty_like(images)
    order, mode = config.order, config.fill_mode

    def run() -> np.ndarray:
        return fastaug.warp_affine(images, mats, order=order, fill_mode=mode, out=out,
                                   num_threads=threads)

    return run, out


def cv2_runner(images: np.ndarray, mats: np.ndarray,
               config: Config) -> tuple[Callable[[], Any], np.ndarray]:
    """A zero-argument per-image cv2 loop over the batch, and the buffer it writes.

    ``fastaug._bench.cv2_loop``, shared with ``fastaug bench``: ``cv2.warpAffine``
    per image, or ``cv2.flip`` for the flips-only config. The caller sets
    ``cv2.setNumThreads``.
    """
    return cv2_loop(images, mats, config.order, config.fill_mode, config.flips_only)


def scipy_runner(images: np.ndarray, mats: np.ndarray, config: Config,
                 count: int | None = None) -> tuple[Callable[[], Any], np.ndarray, int]:
    """Keras's per-channel scipy loop over the first ``count`` images (default all).

    ``fastaug._bench.scipy_loop``, shared with ``fastaug bench``: returns the call,
    its float32 output buffer and the number of images one call warps.
    """
    return scipy_loop(images, mats, config.order, config.fill_mode, config.flips_only, count)


def interior_mask(mats: np.ndarray, h: int, w: int, margin: float = 1.0) -> np.ndarray:
    """(N, H, W) bool: output pixels whose source point lies ``margin`` inside the image.

    Used to compare fastaug with cv2 away from the borders, where the two differ
    by design (scipy's constant mode does not blend cval into edge pixels, and a
    sample a hair outside the image may fall on either side in each library).
    """
    r = np.arange(h, dtype=np.float64)[:, None]
    c = np.arange(w, dtype=np.float64)[None, :]
    m = mats[:, :, :, None, None]
    y = m[:, 0, 0] * r + m[:, 0, 1] * c + m[:, 0, 2]
    x = m[:, 1, 0] * r + m[:, 1, 1] * c + m[:, 1, 2]
    return ((y >= margin) & (y <= h - 1 - margin) & (x >= margin) & (x <= w - 1 - margin))
