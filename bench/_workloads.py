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

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import fastaug
from fastaug.params import affine_matrices

__all__ = [
    "Workload", "Config", "WORKLOADS", "CONFIGS", "SEED",
    "make_images", "keras_matrices", "flip_matrices", "matrices_for", "to_cv2_matrix",
    "fastaug_runner", "cv2_runner", "scipy_runner", "usable_cores", "interior_mask",
]

SEED = 20240611


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
        return {"reflect": "BORDER_REFLECT", "nearest": "BORDER_REPLICATE",
                "constant": "BORDER_CONSTANT", "mirror": "BORDER_REFLECT_101"}[self.fill_mode]


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


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def make_images(shape: tuple[int, int, int, int], seed: int = SEED) -> np.ndarray:
    """A deterministic uint8 NHWC batch that looks roughly like photos.

    Smooth gradients plus mild texture rather than white noise: the timing does
    not depend on pixel values, but the fastaug-vs-cv2 agreement check does
    (OpenCV 4.x snaps bilinear coordinates to 1/32 pixel, which on white noise
    shows up as a few grey levels; smooth content keeps the check meaningful).
    """
    n, h, w, c = shape
    rng = np.random.default_rng(seed)
    r = np.arange(h, dtype=np.float32)[None, :, None, None] / h
    col = np.arange(w, dtype=np.float32)[None, None, :, None] / w
    acc = np.full(shape, 128.0, np.float32)
    for _ in range(3):
        fy = rng.uniform(0.5, 3.0, (n, 1, 1, c)).astype(np.float32)
        fx = rng.uniform(0.5, 3.0, (n, 1, 1, c)).astype(np.float32)
        ph = rng.uniform(0, 2 * np.pi, (n, 1, 1, c)).astype(np.float32)
        acc += 35.0 * np.sin(2 * np.pi * (fy * r + fx * col) + ph)
    acc += rng.normal(0.0, 6.0, shape).astype(np.float32)
    return np.clip(acc, 0, 255).astype(np.uint8)


def keras_matrices(n: int, h: int, w: int, seed: int = SEED) -> np.ndarray:
    """Random (N, 2, 3) matrices as Keras's ImageDataGenerator would draw them.

    ImageDataGenerator(rotation_range=30, width_shift_range=0.1,
    height_shift_range=0.1, zoom_range=0.2, shear_range=0.2, horizontal_flip=True,
    vertical_flip=True): Keras draws ``tx`` from height_shift_range scaled by the
    row count and ``ty`` from width_shift_range scaled by the column count, and
    shear in degrees (so 0.2 is a tiny shear, faithfully).
    """
    rng = np.random.default_rng(seed)
    return affine_matrices(
        h, w,
        theta=rng.uniform(-30.0, 30.0, n),
        tx=rng.uniform(-0.1, 0.1, n) * h,
        ty=rng.uniform(-0.1, 0.1, n) * w,
        shear=rng.uniform(-0.2, 0.2, n),
        zx=rng.uniform(0.8, 1.2, n),
        zy=rng.uniform(0.8, 1.2, n),
        flip_horizontal=rng.random(n) < 0.5,
        flip_vertical=rng.random(n) < 0.5,
    )


def flip_matrices(n: int, h: int, w: int, seed: int = SEED) -> np.ndarray:
    """Random flip-only matrices (each flip a fair coin), as integer float64 arrays."""
    rng = np.random.default_rng(seed)
    m = affine_matrices(h, w, flip_horizontal=rng.random(n) < 0.5,
                        flip_vertical=rng.random(n) < 0.5)
    # The point of this row is fastaug's exact path for integer matrices: make
    # sure the builder really produced integers (a -0.0 is fine, 1e-16 is not).
    if not np.array_equal(m, np.round(m)):
        raise AssertionError("flip matrices are not integer-valued")
    return m


def matrices_for(workload: Workload, config: Config, seed: int = SEED) -> np.ndarray:
    """The matrices a (workload, config) cell uses, identical for every contender."""
    if config.flips_only:
        return flip_matrices(workload.n, workload.h, workload.w, seed)
    return keras_matrices(workload.n, workload.h, workload.w, seed)


def to_cv2_matrix(m: np.ndarray) -> np.ndarray:
    """scipy (row, col) inverse map -> cv2 (x=col, y=row) map for WARP_INVERSE_MAP."""
    return np.array([[m[1, 1], m[1, 0], m[1, 2]],
                     [m[0, 1], m[0, 0], m[0, 2]]], dtype=np.float64)


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

    Matrices are converted and the per-image destination views built up front:
    that is what a fair cv2 pipeline would do, and it keeps Python overhead that is
    not cv2's out of the timing. The caller sets ``cv2.setNumThreads``.
    """
    import cv2

    n, h, w, c = images.shape
    out = np.empty_like(images)
    # cv2 maps a 1-channel image to (H, W): read and write 2-D views.
    srcs = [images[i] if c > 1 else images[i, :, :, 0] for i in range(n)]
    dsts = [out[i] if c > 1 else out[i, :, :, 0] for i in range(n)]
    if config.flips_only:
        # cv2.flip codes: 1 left-right, 0 top-bottom, -1 both; None is a copy.
        codes: list[int | None] = []
        for m in mats:
            fh, fv = m[1, 1] < 0, m[0, 0] < 0
            codes.append(-1 if fh and fv else 1 if fh else 0 if fv else None)

        def run_flip() -> np.ndarray:
            for s, d, code in zip(srcs, dsts, codes):
                if code is None:
                    np.copyto(d, s)
                else:
                    cv2.flip(s, code, dst=d)
            return out

        return run_flip, out

    cmats = [to_cv2_matrix(m) for m in mats]
    interp = cv2.INTER_LINEAR if config.order == 1 else cv2.INTER_NEAREST
    flags = interp | cv2.WARP_INVERSE_MAP
    border = getattr(cv2, config.cv2_border_name)
    size = (w, h)

    def run() -> np.ndarray:
        for s, d, cm in zip(srcs, dsts, cmats):
            cv2.warpAffine(s, cm, size, dst=d, flags=flags, borderMode=border,
                           borderValue=0)
        return out

    # cv2 silently allocates a new array when dst does not fit; then `out` would
    # never be written and the timing would include allocations. Check once.
    res = cv2.warpAffine(srcs[0], cmats[0], size, dst=dsts[0], flags=flags,
                         borderMode=border)
    if not np.shares_memory(res, out):
        raise AssertionError("cv2.warpAffine did not write into the preallocated output")
    return run, out


def scipy_runner(images: np.ndarray, mats: np.ndarray, config: Config,
                 count: int | None = None) -> tuple[Callable[[], Any], np.ndarray, int]:
    """Keras's per-channel scipy loop over the first ``count`` images (default all).

    Returns the call, its float32 output buffer and the number of images one call
    warps (for images/s). Keras converts the batch to float32 and calls
    ``scipy.ndimage.affine_transform`` once per channel, stacking the results;
    the conversion and the stack are part of what it costs, so they are timed.
    """
    from scipy import ndimage

    n, h, w, c = images.shape
    k = n if count is None else min(count, n)
    out = np.empty((k, h, w, c), np.float32)
    order, mode = config.order, config.fill_mode
    if config.flips_only:
        # With only flips Keras builds no matrix and skips scipy altogether: it
        # flips the float32 image with a reversed-slice copy. Time that, not a
        # scipy call Keras would never make.
        flips = [(m[0, 0] < 0, m[1, 1] < 0) for m in mats[:k]]

        def run_flip() -> np.ndarray:
            for i in range(k):
                x = images[i].astype(np.float32)
                fv, fh = flips[i]
                out[i] = x[::-1 if fv else 1, ::-1 if fh else 1]
            return out

        return run_flip, out, k

    parts = [(mats[i, :, :2].copy(), mats[i, :, 2].copy()) for i in range(k)]

    def run() -> np.ndarray:
        for i in range(k):
            x = images[i].astype(np.float32)
            a, b = parts[i]
            out[i] = np.stack([ndimage.affine_transform(x[..., ch], a, b, order=order,
                                                        mode=mode, cval=0.0)
                               for ch in range(c)], axis=-1)
        return out

    return run, out, k


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
