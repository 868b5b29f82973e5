"""The inputs every contender gets: deterministic image batches and random matrices.

Shared by ``fastaug bench`` and the scripts in ``bench/``, so all of them warp
the same pixels with the same matrices.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SEED", "draw_matrices", "flip_matrices", "keras_matrices", "make_images"]

SEED = 20240611


def make_images(shape: tuple[int, int, int, int], seed: int = SEED) -> np.ndarray:
    """A deterministic uint8 NHWC batch that looks roughly like photos.

    Smooth gradients plus mild texture rather than white noise: the timing does
    not depend on pixel values, but agreement checks do (OpenCV 4.x snaps
    bilinear coordinates to 1/32 pixel, which on white noise shows up as a few
    grey levels; smooth content keeps such checks meaningful).

    Examples
    --------
    >>> from fastaug._bench import make_images
    >>> x = make_images((2, 8, 8, 3))
    >>> x.shape, x.dtype.name, bool((x == make_images((2, 8, 8, 3))).all())
    ((2, 8, 8, 3), 'uint8', True)
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
    from fastaug.params import affine_matrices

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
    from fastaug.params import affine_matrices

    rng = np.random.default_rng(seed)
    m = affine_matrices(h, w, flip_horizontal=rng.random(n) < 0.5,
                        flip_vertical=rng.random(n) < 0.5)
    # fastaug's exact path needs integer matrices: make sure the builder really
    # produced integers (a -0.0 is fine, 1e-16 is not).
    if not np.array_equal(m, np.round(m)):
        raise AssertionError("flip matrices are not integer-valued")
    return m


def draw_matrices(n: int, h: int, w: int, flips_only: bool, seed: int = SEED) -> np.ndarray:
    """:func:`flip_matrices` when ``flips_only``, else :func:`keras_matrices`.

    Examples
    --------
    >>> from fastaug._bench import draw_matrices
    >>> draw_matrices(3, 8, 8, flips_only=True).shape
    (3, 2, 3)
    """
    if flips_only:
        return flip_matrices(n, h, w, seed)
    return keras_matrices(n, h, w, seed)
