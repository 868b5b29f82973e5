"""Keras's single-image helpers (``apply_affine_transform``, ``random_rotation``, ...).

Each translates Keras's arguments into the core's explicit inputs (an
:class:`~fastaug.params.AffineParams` record and a
:class:`~fastaug.keras._spec.KerasSpec` for one image) and delegates to the
batch engine, so a single image takes the same path as a batch.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from fastaug.keras import _engine
from fastaug.keras._random import params_from_dicts
from fastaug.keras._spec import KerasSpec
from fastaug.params import AffineParams

__all__ = [
    "apply_affine_transform",
    "apply_brightness_shift",
    "apply_channel_shift",
    "flip_axis",
    "random_brightness",
    "random_channel_shift",
    "random_rotation",
    "random_shear",
    "random_shift",
    "random_zoom",
    "transform_matrix_offset_center",
    "warp_single",
]

def rng_of(rng: Any) -> Any:
    """The RNG behind the module-level ``random_*`` functions.

    Keras draws from numpy's global RNG; fastaug never touches it. ``rng`` may be
    None (fresh entropy), an int seed, a ``RandomState`` or a ``Generator``.
    """
    if rng is None:
        return np.random.RandomState()
    if isinstance(rng, (np.random.RandomState, np.random.Generator)):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.RandomState(int(rng))
    raise TypeError("rng must be None, an int seed, a numpy.random.RandomState or a "
                    f"numpy.random.Generator, got {rng!r}")


def flip_axis(x: Any, axis: int) -> np.ndarray:
    """Reverse ``x`` along ``axis`` (Keras's ``flip_axis``; returns a view).

    Examples
    --------
    >>> from fastaug.keras import flip_axis
    >>> flip_axis([[1, 2], [3, 4]], 1).tolist()
    [[2, 1], [4, 3]]
    """
    x = np.asarray(x).swapaxes(axis, 0)
    x = x[::-1, ...]
    return x.swapaxes(0, axis)


def transform_matrix_offset_center(matrix: Any, x: float, y: float) -> np.ndarray:
    """Re-centre a 3x3 homogeneous matrix on ``(x/2 - 0.5, y/2 - 0.5)`` (Keras's).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.keras import transform_matrix_offset_center
    >>> transform_matrix_offset_center(np.diag([2.0, 2.0, 1.0]), 4, 4)[:2, 2].tolist()
    [-1.5, -1.5]
    """
    o_x = float(x) / 2 - 0.5
    o_y = float(y) / 2 - 0.5
    offset_matrix = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
    reset_matrix = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    return np.dot(np.dot(offset_matrix, matrix), reset_matrix)


def warp_single(x: np.ndarray, params: AffineParams, row_axis: int, col_axis: int,
                channel_axis: int, fill_mode: str, cval: float, order: int,
                num_threads: int | None = 1) -> np.ndarray:
    """One image through the batch engine, in any axis order; returns x's dtype."""
    spec = _single_image_spec(fill_mode, cval, order, num_threads)
    # Keras swaps its matrix to scipy's frame only when col_axis > row_axis;
    # moving the image to (row, col, channel) makes that the only case.
    img = np.transpose(x, (row_axis, col_axis, channel_axis))
    out_dtype = np.uint8 if x.dtype == np.uint8 else np.float32
    res = _engine.transform_batch(spec, img[None], params, out_dtype=out_dtype)[0]
    inv = np.argsort((row_axis, col_axis, channel_axis))
    res = np.transpose(res, inv)
    if res.dtype != x.dtype and x.dtype.kind == "f":
        res = res.astype(x.dtype)
    return np.ascontiguousarray(res)


def _single_image_spec(fill_mode: str, cval: float, order: int,
                       num_threads: int | None) -> KerasSpec:
    """The spec of a warp alone: channels last, no randomness, no standardization."""
    return KerasSpec(
        data_format="channels_last", row_axis=1, col_axis=2, channel_axis=3,
        rotation_range=0, height_shift_range=0, width_shift_range=0, shear_range=0,
        zoom_range=(1, 1), horizontal_flip=False, vertical_flip=False,
        channel_shift_range=0, brightness_range=None, interpolation_order=order,
        fill_mode=fill_mode, cval=cval, num_threads=num_threads,
        preprocessing_function=None, rescale=None, samplewise_center=False,
        samplewise_std_normalization=False, featurewise_center=False,
        featurewise_std_normalization=False, mean=None, std=None, zca_whitening=False,
        whitener=None, zca_matrix=None)


def _check_axes(x: Any, row_axis: int, col_axis: int, channel_axis: int) -> None:
    # Keras's checks, in Keras's order, with Keras's messages.
    if np.unique([row_axis, col_axis, channel_axis]).size != 3:
        raise ValueError("'row_axis', 'col_axis', and 'channel_axis' must be distinct")
    valid_indices = {0, 1, 2}
    actual_indices = {row_axis, col_axis, channel_axis}
    if actual_indices != valid_indices:
        raise ValueError(f"Invalid axis' indices: {actual_indices - valid_indices}")
    if x.ndim != 3:
        raise ValueError("Input arrays must be multi-channel 2D images.")
    if channel_axis not in [0, 2]:
        raise ValueError("Channels are allowed and the first and last dimensions.")


def apply_affine_transform(
    x: np.ndarray,
    theta: float = 0,
    tx: float = 0,
    ty: float = 0,
    shear: float = 0,
    zx: float = 1,
    zy: float = 1,
    row_axis: int = 1,
    col_axis: int = 2,
    channel_axis: int = 0,
    fill_mode: str = "nearest",
    cval: float = 0.0,
    order: int = 1,
) -> np.ndarray:
    """Apply an affine transform to one image, as Keras's ``apply_affine_transform``.

    Keras's conventions: ``tx`` moves the image along columns and ``ty`` along
    rows (Keras's ``get_random_transform`` draws ``tx`` from the height range),
    angles are in degrees, the centre is ``(h/2 - 0.5, w/2 - 0.5)``. Note Keras's
    default axes: channels first. Returns ``x`` itself when every part is the
    identity.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.keras import apply_affine_transform
    >>> x = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
    >>> y = apply_affine_transform(x, theta=90, row_axis=0, col_axis=1, channel_axis=2)
    >>> y[..., 0].astype(int).tolist()[0]
    [3, 7, 11, 15]
    """
    _check_axes(x, row_axis, col_axis, channel_axis)
    if theta == 0 and tx == 0 and ty == 0 and shear == 0 and zx == 1 and zy == 1:
        return x
    params = params_from_dicts([{"theta": theta, "tx": tx, "ty": ty, "shear": shear,
                                 "zx": zx, "zy": zy}])
    return warp_single(np.asarray(x), params, row_axis, col_axis, channel_axis,
                       fill_mode, cval, order)


def random_rotation(x: np.ndarray, rg: float, row_axis: int = 1, col_axis: int = 2,
                    channel_axis: int = 0, fill_mode: str = "nearest", cval: float = 0.0,
                    interpolation_order: int = 1, *, rng: Any = None) -> np.ndarray:
    """Rotate one image by a random angle in ``[-rg, rg]`` degrees (Keras's).

    ``rng`` (fastaug addition): None, an int seed, a RandomState or Generator;
    Keras uses numpy's global RNG, which fastaug never touches.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.keras import random_rotation
    >>> random_rotation(np.ones((3, 8, 8), np.float32), 30, rng=0).shape
    (3, 8, 8)
    """
    theta = rng_of(rng).uniform(-rg, rg)
    return apply_affine_transform(x, theta=theta, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode,
                                  cval=cval, order=interpolation_order)


def random_shift(x: np.ndarray, wrg: float, hrg: float, row_axis: int = 1,
                 col_axis: int = 2, channel_axis: int = 0, fill_mode: str = "nearest",
                 cval: float = 0.0, interpolation_order: int = 1, *,
                 rng: Any = None) -> np.ndarray:
    """Shift one image by random fractions of its size (Keras's ``random_shift``).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.keras import random_shift
    >>> random_shift(np.ones((3, 8, 8), np.float32), 0.1, 0.1, rng=0).shape
    (3, 8, 8)
    """
    h, w = x.shape[row_axis], x.shape[col_axis]
    r = rng_of(rng)
    tx = r.uniform(-hrg, hrg) * h
    ty = r.uniform(-wrg, wrg) * w
    return apply_affine_transform(x, tx=tx, ty=ty, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode,
                                  cval=cval, order=interpolation_order)


def random_shear(x: np.ndarray, intensity: float, row_axis: int = 1, col_axis: int = 2,
                 channel_axis: int = 0, fill_mode: str = "nearest", cval: float = 0.0,
                 interpolation_order: int = 1, *, rng: Any = None) -> np.ndarray:
    """Shear one image by a random angle in ``[-intensity, intensity]`` degrees.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.keras import random_shear
    >>> random_shear(np.ones((3, 8, 8), np.float32), 20, rng=0).shape
    (3, 8, 8)
    """
    shear = rng_of(rng).uniform(-intensity, intensity)
    return apply_affine_transform(x, shear=shear, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode,
                                  cval=cval, order=interpolation_order)


def random_zoom(x: np.ndarray, zoom_range: Any, row_axis: int = 1, col_axis: int = 2,
                channel_axis: int = 0, fill_mode: str = "nearest", cval: float = 0.0,
                interpolation_order: int = 1, *, rng: Any = None) -> np.ndarray:
    """Zoom one image by random factors drawn from ``zoom_range`` (Keras's).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.keras import random_zoom
    >>> random_zoom(np.ones((3, 8, 8), np.float32), (0.9, 1.1), rng=0).shape
    (3, 8, 8)
    """
    if len(zoom_range) != 2:
        raise ValueError("`zoom_range` should be a tuple or list of two floats. "
                         f"Received: {zoom_range}")
    if zoom_range[0] == 1 and zoom_range[1] == 1:
        zx, zy = 1, 1
    else:
        zx, zy = rng_of(rng).uniform(zoom_range[0], zoom_range[1], 2)
    return apply_affine_transform(x, zx=zx, zy=zy, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode,
                                  cval=cval, order=interpolation_order)


def apply_channel_shift(x: np.ndarray, intensity: float, channel_axis: int = 0) -> np.ndarray:
    """Add ``intensity`` to every channel, clipped to the image's own range (Keras's).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.keras import apply_channel_shift
    >>> apply_channel_shift(np.array([[[0.0, 5.0]]]), 3.0, channel_axis=2).tolist()
    [[[3.0, 5.0]]]
    """
    x = np.asarray(x)
    min_x, max_x = np.min(x), np.max(x)
    # Keras clips channel by channel to the same whole-image bounds: one clip.
    return np.clip(x + intensity, min_x, max_x)


def random_channel_shift(x: np.ndarray, intensity_range: float, channel_axis: int = 0, *,
                         rng: Any = None) -> np.ndarray:
    """Channel shift by a random intensity in ``[-range, range]`` (Keras's).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.keras import random_channel_shift
    >>> random_channel_shift(np.zeros((1, 2, 2)), 10.0, rng=0).tolist()
    [[[0.0, 0.0], [0.0, 0.0]]]
    """
    intensity = rng_of(rng).uniform(-intensity_range, intensity_range)
    return apply_channel_shift(x, intensity, channel_axis=channel_axis)


def apply_brightness_shift(x: np.ndarray, brightness: float, scale: bool = True) -> np.ndarray:
    """Scale an image's brightness by ``brightness`` (Keras's, fixed; see below).

    Keras converts to an 8-bit PIL image, which truncates values, collapses data in
    [0, 1] to 0 and fails on channels-first arrays. fastaug multiplies instead:
    with ``scale=True`` (Keras's meaning: min-max scale the image to [0, 255]
    first) the result is in [0, 255]; with ``scale=False`` it is clipped to the
    image's valid range, [0, 1] or [0, 255] (min-anchored for data outside both).
    Returns float32. Works on channels-first and channels-last images.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.keras import apply_brightness_shift
    >>> apply_brightness_shift(np.full((2, 2, 3), 0.5), 1.5, scale=False).max()
    np.float32(0.75)
    """
    x = np.array(x, dtype=np.float32)
    if scale:
        x -= np.min(x)
        x_max = np.max(x)
        if x_max != 0:
            x /= x_max
        x *= 255
    return _engine.brightness_numpy(x[None], np.array([brightness]))[0]


def random_brightness(x: np.ndarray, brightness_range: Any, scale: bool = True, *,
                      rng: Any = None) -> np.ndarray:
    """Brightness by a random factor from ``brightness_range`` (Keras's, fixed).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.keras import random_brightness
    >>> random_brightness(np.full((2, 2, 3), 100.0), (1.0, 1.0), scale=False).max()
    np.float32(100.0)
    """
    if len(brightness_range) != 2:
        raise ValueError("`brightness_range should be tuple or list of two floats. "
                         f"Received: {brightness_range}")
    u = rng_of(rng).uniform(brightness_range[0], brightness_range[1])
    return apply_brightness_shift(x, u, scale)
