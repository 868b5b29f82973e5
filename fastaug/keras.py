"""Drop-in replacement for Keras's legacy image module, many times faster.

Change ``from keras.preprocessing.image import ImageDataGenerator`` (or
``tf.keras.preprocessing.image``, ``keras.src.legacy.preprocessing.image``) to
``from fastaug.keras import ImageDataGenerator``; everything after it keeps
working, with Keras's arguments, defaults, errors, warnings and (seeded) results.
Batches are produced by fastaug's fused kernel instead of per-image scipy calls.
The few deliberate differences (brightness, RNG) are listed in
``docs/keras-compatibility.md``.

This module only translates and delegates: parameters come from
``fastaug._keras_random``, pixels from ``fastaug._keras_engine`` (the fused warp),
iteration from ``fastaug.iterators``. Keras is never imported by it.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from fastaug import _keras_engine as _engine
from fastaug import _pool
from fastaug._directory import DataFrameIterator, DirectoryIterator
from fastaug._keras_io import (
    array_to_img,
    default_data_format,
    default_floatx,
    img_to_array,
    load_img,
    save_img,
)
from fastaug._keras_random import BatchParams, draw_batch, draw_one
from fastaug.iterators import Iterator, NumpyArrayIterator
from fastaug.warp import FILL_MODES
from fastaug.whitening import ZCA

__all__ = [
    "ImageDataGenerator",
    "Iterator",
    "NumpyArrayIterator",
    "DirectoryIterator",
    "DataFrameIterator",
    "apply_affine_transform",
    "apply_channel_shift",
    "apply_brightness_shift",
    "random_rotation",
    "random_shift",
    "random_shear",
    "random_zoom",
    "random_channel_shift",
    "random_brightness",
    "flip_axis",
    "transform_matrix_offset_center",
    "array_to_img",
    "img_to_array",
    "load_img",
    "save_img",
]

_RandomLike = "None | int | numpy.random.RandomState | numpy.random.Generator"


def _rng(rng: Any) -> Any:
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
    raise TypeError(f"rng must be {_RandomLike}, got {rng!r}")


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


def _warp_single(x: np.ndarray, params: BatchParams, row_axis: int, col_axis: int,
                 channel_axis: int, fill_mode: str, cval: float, order: int,
                 num_threads: int = 1) -> np.ndarray:
    """One image through the batch engine, in any axis order; returns x's dtype."""

    class _Cfg:  # the engine reads its options from a generator-like object
        pass

    cfg = _Cfg()
    cfg.data_format = "channels_last"
    cfg.interpolation_order = order
    cfg.fill_mode = fill_mode
    cfg.cval = cval
    cfg._num_threads = num_threads
    # Keras swaps its matrix to scipy's frame only when col_axis > row_axis;
    # moving the image to (row, col, channel) makes that the only case.
    img = np.transpose(x, (row_axis, col_axis, channel_axis))
    out_dtype = np.uint8 if x.dtype == np.uint8 else np.float32
    res = _engine.transform_batch(cfg, img[None], params, out_dtype=out_dtype)[0]
    inv = np.argsort((row_axis, col_axis, channel_axis))
    res = np.transpose(res, inv)
    if res.dtype != x.dtype and x.dtype.kind == "f":
        res = res.astype(x.dtype)
    return np.ascontiguousarray(res)


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
    params = BatchParams.from_dicts([{"theta": theta, "tx": tx, "ty": ty, "shear": shear,
                                      "zx": zx, "zy": zy}])
    return _warp_single(np.asarray(x), params, row_axis, col_axis, channel_axis,
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
    theta = _rng(rng).uniform(-rg, rg)
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
    r = _rng(rng)
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
    shear = _rng(rng).uniform(-intensity, intensity)
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
        zx, zy = _rng(rng).uniform(zoom_range[0], zoom_range[1], 2)
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
    intensity = _rng(rng).uniform(-intensity_range, intensity_range)
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
    u = _rng(rng).uniform(brightness_range[0], brightness_range[1])
    return apply_brightness_shift(x, u, scale)


class ImageDataGenerator:
    """Generate batches of augmented images: Keras's ``ImageDataGenerator``, fast.

    Same arguments, defaults, validation, warnings and results as Keras 3's
    (``keras.src.legacy.preprocessing.image.ImageDataGenerator``, which is
    ``tf.keras.preprocessing.image.ImageDataGenerator`` on TF >= 2.16); see
    Keras's documentation for each argument. Every batch is gathered from the
    dataset in its own dtype, its parameters drawn in one vectorised step from
    the iterator's own RNG (seeded like Keras's), warped by one fused kernel call
    and standardized as a batch (ZCA as one GEMM).

    Parameters
    ----------
    featurewise_center, samplewise_center, featurewise_std_normalization,
    samplewise_std_normalization, zca_whitening, zca_epsilon, rotation_range,
    width_shift_range, height_shift_range, brightness_range, shear_range,
    zoom_range, channel_shift_range, fill_mode, cval, horizontal_flip,
    vertical_flip, rescale, preprocessing_function, data_format,
    validation_split, interpolation_order, dtype
        As in Keras. ``data_format`` and ``dtype`` default to Keras's config when
        the program has imported Keras, else "channels_last" and "float32".
        ``interpolation_order`` 0 and 1 and the fill modes "constant", "nearest",
        "reflect", "wrap", "mirror" run in the fused kernel; other orders and
        scipy's "grid-*" modes fall back to Keras's scipy path.
    num_threads : int, optional
        fastaug addition: threads each batch is split over (default: all usable
        cores).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.keras import ImageDataGenerator
    >>> x = np.random.default_rng(0).integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)
    >>> y = np.arange(64) % 10
    >>> datagen = ImageDataGenerator(rotation_range=20, zoom_range=0.2,
    ...                              width_shift_range=0.1, height_shift_range=0.1,
    ...                              horizontal_flip=True, rescale=1 / 255)
    >>> bx, by = next(datagen.flow(x, y, batch_size=16, seed=1))
    >>> bx.shape, bx.dtype, bool(0 <= bx.min() and bx.max() <= 1)
    ((16, 32, 32, 3), dtype('float32'), True)
    """

    def __init__(
        self,
        featurewise_center: bool = False,
        samplewise_center: bool = False,
        featurewise_std_normalization: bool = False,
        samplewise_std_normalization: bool = False,
        zca_whitening: bool = False,
        zca_epsilon: float = 1e-6,
        rotation_range: float = 0,
        width_shift_range: Any = 0.0,
        height_shift_range: Any = 0.0,
        brightness_range: Any = None,
        shear_range: float = 0.0,
        zoom_range: Any = 0.0,
        channel_shift_range: float = 0.0,
        fill_mode: str = "nearest",
        cval: float = 0.0,
        horizontal_flip: bool = False,
        vertical_flip: bool = False,
        rescale: float | None = None,
        preprocessing_function: Any = None,
        data_format: str | None = None,
        validation_split: float = 0.0,
        interpolation_order: int = 1,
        dtype: Any = None,
        *,
        num_threads: int | None = None,
    ) -> None:
        if data_format is None:
            data_format = default_data_format()
        if dtype is None:
            dtype = default_floatx()

        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening = zca_whitening
        self.zca_epsilon = zca_epsilon
        self.rotation_range = rotation_range
        self.width_shift_range = width_shift_range
        self.height_shift_range = height_shift_range
        self.shear_range = shear_range
        self.zoom_range = zoom_range
        self.channel_shift_range = channel_shift_range
        self.fill_mode = fill_mode
        self.cval = cval
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rescale = rescale
        self.preprocessing_function = preprocessing_function
        self.dtype = dtype
        self.interpolation_order = interpolation_order
        self._num_threads = _pool.resolve_threads(num_threads)

        if data_format not in {"channels_last", "channels_first"}:
            raise ValueError(
                '`data_format` should be `"channels_last"` '
                "(channel after row and column) or "
                '`"channels_first"` (channel before row and column). '
                f"Received: {data_format}")
        self.data_format = data_format
        if data_format == "channels_first":
            self.channel_axis = 1
            self.row_axis = 2
            self.col_axis = 3
        if data_format == "channels_last":
            self.channel_axis = 3
            self.row_axis = 1
            self.col_axis = 2
        if validation_split and not 0 < validation_split < 1:
            raise ValueError(
                "`validation_split` must be strictly between 0 and 1. "
                f" Received: {validation_split}")
        self._validation_split = validation_split

        self.mean = None
        self.std = None
        self.zca_whitening_matrix = None

        if isinstance(zoom_range, (float, int)):
            self.zoom_range = [1 - zoom_range, 1 + zoom_range]
        elif len(zoom_range) == 2 and all(isinstance(val, (float, int)) for val in zoom_range):
            self.zoom_range = [zoom_range[0], zoom_range[1]]
        else:
            raise ValueError(
                "`zoom_range` should be a float or a tuple or list of two floats. "
                f"Received: {zoom_range}")
        if zca_whitening:
            if not featurewise_center:
                self.featurewise_center = True
                warnings.warn(
                    "This ImageDataGenerator specifies `zca_whitening`, which "
                    "overrides setting of `featurewise_center`.", stacklevel=2)
            if featurewise_std_normalization:
                self.featurewise_std_normalization = False
                # Keras's message lacks the space before the backtick; kept.
                warnings.warn(
                    "This ImageDataGenerator specifies `zca_whitening` which "
                    "overrides setting of`featurewise_std_normalization`.", stacklevel=2)
        if featurewise_std_normalization:
            if not featurewise_center:
                self.featurewise_center = True
                warnings.warn(
                    "This ImageDataGenerator specifies `featurewise_std_normalization`, "
                    "which overrides setting of `featurewise_center`.", stacklevel=2)
        if samplewise_std_normalization:
            if not samplewise_center:
                self.samplewise_center = True
                warnings.warn(
                    "This ImageDataGenerator specifies `samplewise_std_normalization`, "
                    "which overrides setting of `samplewise_center`.", stacklevel=2)
        if brightness_range is not None:
            if not isinstance(brightness_range, (tuple, list)) or len(brightness_range) != 2:
                raise ValueError(
                    "`brightness_range should be tuple or list of two floats. "
                    f"Received: {brightness_range}")
        self.brightness_range = brightness_range
        if not isinstance(fill_mode, str) or fill_mode not in (
                FILL_MODES + _engine.SCIPY_ONLY_FILL_MODES):
            # Keras accepts anything here and fails later inside scipy with
            # RuntimeError('boundary mode not supported'); fail early instead.
            raise ValueError(f"fill_mode must be one of "
                             f"{list(FILL_MODES + _engine.SCIPY_ONLY_FILL_MODES)}, "
                             f"got {fill_mode!r}")
        self._rng = np.random.RandomState()

    # -- iterators ---------------------------------------------------------------
    def flow(self, x: Any, y: Any = None, batch_size: int = 32, shuffle: bool = True,
             sample_weight: Any = None, seed: int | None = None,
             save_to_dir: str | None = None, save_prefix: str = "",
             save_format: str = "png", ignore_class_split: bool = False,
             subset: str | None = None) -> NumpyArrayIterator:
        """Iterate over augmented batches of ``x`` (and ``y``) (Keras's ``flow``).

        With ``seed`` the batches are Keras's: same order, same parameters, pixels
        within interpolation tolerance.

        Examples
        --------
        >>> import numpy as np
        >>> from fastaug.keras import ImageDataGenerator
        >>> it = ImageDataGenerator(horizontal_flip=True).flow(
        ...     np.zeros((5, 4, 4, 1), np.uint8), batch_size=2, shuffle=False)
        >>> [b.shape[0] for b in (it[0], it[1], it[2])]
        [2, 2, 1]
        """
        return NumpyArrayIterator(
            x, y, self, batch_size=batch_size, shuffle=shuffle,
            sample_weight=sample_weight, seed=seed, data_format=self.data_format,
            save_to_dir=save_to_dir, save_prefix=save_prefix, save_format=save_format,
            ignore_class_split=ignore_class_split, subset=subset, dtype=self.dtype)

    def flow_from_directory(
        self,
        directory: Any,
        target_size: tuple[int, int] = (256, 256),
        color_mode: str = "rgb",
        classes: list[str] | None = None,
        class_mode: str | None = "categorical",
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        follow_links: bool = False,
        subset: str | None = None,
        interpolation: str = "nearest",
        keep_aspect_ratio: bool = False,
        *,
        draft: bool | None = None,
        on_bad_file: str = "raise",
        num_threads: int | None = None,
    ) -> DirectoryIterator:
        """Iterate over augmented batches of image files in class folders (Keras's).

        Same files, order, classes, ``class_indices``, subsets and labels as
        Keras; with ``seed`` the same parameters. Files are decoded in parallel;
        JPEGs at least twice the target size are decoded at reduced size
        (``draft=False`` or ``fastaug.io.DRAFT = False`` for Keras's pixels).
        ``on_bad_file="skip"`` leaves out undecodable files when listing (with a
        warning); by default a batch containing one raises a ValueError naming
        it. See ``fastaug.keras.DirectoryIterator``.

        Examples
        --------
        >>> import os, tempfile
        >>> from PIL import Image
        >>> from fastaug.keras import ImageDataGenerator
        >>> with tempfile.TemporaryDirectory() as d:
        ...     for c in ("a", "b"):
        ...         os.mkdir(os.path.join(d, c))
        ...         Image.new("RGB", (10, 10)).save(os.path.join(d, c, "0.jpg"))
        ...     it = ImageDataGenerator(horizontal_flip=True).flow_from_directory(
        ...         d, target_size=(4, 4), class_mode="sparse", shuffle=False)
        ...     x, y = next(it)
        Found 2 images belonging to 2 classes.
        >>> it.filenames, y.tolist()
        (['a/0.jpg', 'b/0.jpg'], [0.0, 1.0])
        """
        return DirectoryIterator(
            directory, self, target_size=target_size, color_mode=color_mode,
            keep_aspect_ratio=keep_aspect_ratio, classes=classes, class_mode=class_mode,
            data_format=self.data_format, batch_size=batch_size, shuffle=shuffle,
            seed=seed, save_to_dir=save_to_dir, save_prefix=save_prefix,
            save_format=save_format, follow_links=follow_links, subset=subset,
            interpolation=interpolation, dtype=self.dtype, draft=draft,
            on_bad_file=on_bad_file,
            num_threads=self._num_threads if num_threads is None else num_threads)

    def flow_from_dataframe(
        self,
        dataframe: Any,
        directory: str | None = None,
        x_col: str = "filename",
        y_col: Any = "class",
        weight_col: str | None = None,
        target_size: tuple[int, int] = (256, 256),
        color_mode: str = "rgb",
        classes: list[str] | None = None,
        class_mode: str | None = "categorical",
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        subset: str | None = None,
        interpolation: str = "nearest",
        validate_filenames: bool = True,
        *,
        keep_aspect_ratio: bool = False,
        draft: bool | None = None,
        on_bad_file: str = "raise",
        num_threads: int | None = None,
        **kwargs: Any,
    ) -> DataFrameIterator:
        """Iterate over augmented batches of the image files a DataFrame lists (Keras's).

        Same filtering, classes, subsets and labels as Keras (``class_mode``
        "raw" and "multi_output" included). pandas is only needed by the caller.
        Differences: ``keep_aspect_ratio`` is honoured (Keras's
        ``flow_from_dataframe`` silently ignores it), and unknown keyword
        arguments raise TypeError (Keras ignores them); Keras's deprecated
        ``has_ext``, ``sort``, ``drop_duplicates`` still only warn.

        Examples
        --------
        >>> import os, tempfile
        >>> import pandas as pd  # doctest: +SKIP
        >>> from PIL import Image
        >>> from fastaug.keras import ImageDataGenerator
        >>> with tempfile.TemporaryDirectory() as d:  # doctest: +SKIP
        ...     Image.new("RGB", (10, 10)).save(os.path.join(d, "0.png"))
        ...     df = pd.DataFrame({"filename": ["0.png"], "y": [0.5]})
        ...     it = ImageDataGenerator().flow_from_dataframe(
        ...         df, d, y_col="y", class_mode="raw", target_size=(4, 4))
        ...     x, y = it[0]
        Found 1 validated image filenames.
        """
        if "has_ext" in kwargs:
            warnings.warn("has_ext is deprecated, filenames in the dataframe have "
                          "to match the exact filenames in disk.", DeprecationWarning,
                          stacklevel=2)
        if "sort" in kwargs:
            warnings.warn("sort is deprecated, batches will be created in the"
                          "same order than the filenames provided if `shuffle`"
                          "is set to `False`.", DeprecationWarning, stacklevel=2)
        if class_mode == "other":
            warnings.warn('`class_mode="other"` is deprecated, please use '
                          '`class_mode="raw"`.', DeprecationWarning, stacklevel=2)
            class_mode = "raw"
        if "drop_duplicates" in kwargs:
            warnings.warn("drop_duplicates is deprecated, you can drop duplicates "
                          "by using the pandas.DataFrame.drop_duplicates method.",
                          DeprecationWarning, stacklevel=2)
        unknown = sorted(set(kwargs) - {"has_ext", "sort", "drop_duplicates"})
        if unknown:
            raise TypeError(f"flow_from_dataframe() got unexpected keyword arguments: "
                            f"{unknown}")
        return DataFrameIterator(
            dataframe, directory, self, x_col=x_col, y_col=y_col, weight_col=weight_col,
            target_size=target_size, color_mode=color_mode, classes=classes,
            class_mode=class_mode, data_format=self.data_format, batch_size=batch_size,
            shuffle=shuffle, seed=seed, save_to_dir=save_to_dir, save_prefix=save_prefix,
            save_format=save_format, subset=subset, interpolation=interpolation,
            keep_aspect_ratio=keep_aspect_ratio, validate_filenames=validate_filenames,
            dtype=self.dtype, draft=draft, on_bad_file=on_bad_file,
            num_threads=self._num_threads if num_threads is None else num_threads)

    # -- batch engine hooks (used by the iterators) ------------------------------
    def _draw_params(self, n: int, img_shape: tuple[int, ...],
                     rs: np.random.RandomState) -> BatchParams:
        return draw_batch(self, n, tuple(img_shape), rs)

    def _augment_batch(self, batch: np.ndarray, params: BatchParams, dtype: Any,
                       index: np.ndarray | None = None) -> np.ndarray:
        """Transform and standardize a batch, as Keras's flow does per image.

        With ``index``, ``batch`` is the whole dataset and the batch is
        ``batch[index]`` (gathered by the kernel itself where it can).
        """
        out_dtype = np.dtype(dtype)
        float_out = out_dtype.kind == "f"
        # rescale is fused into the kernel unless the user's function must see the
        # unscaled image first.
        fuse = bool(self.rescale) and float_out and not self.preprocessing_function
        kernel_dtype = np.uint8 if out_dtype == np.uint8 else np.float32
        x = _engine.transform_batch(self, batch, params, out_dtype=kernel_dtype,
                                    scale=self.rescale if fuse else None, index=index)
        if x.dtype != out_dtype:
            x = x.astype(out_dtype)
        x = _engine.standardize_batch(self, x, rescaled=fuse)
        if x.dtype != out_dtype:
            x = x.astype(out_dtype)
        return x

    # -- single images -----------------------------------------------------------
    def standardize(self, x: np.ndarray) -> np.ndarray:
        """Apply the normalization configuration in place (Keras's ``standardize``).

        Like Keras's, it works on one image or on a batch; on a batch the
        samplewise statistics are those of the whole array (Keras's behaviour).

        Examples
        --------
        >>> import numpy as np
        >>> from fastaug.keras import ImageDataGenerator
        >>> ImageDataGenerator(rescale=0.5).standardize(np.full((2, 2, 1), 4.0))[0, 0, 0]
        np.float64(2.0)
        """
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, keepdims=True) + 1e-6
        if self.featurewise_center:
            if self.mean is not None:
                x -= self.mean
            else:
                _engine._warn_not_fit("featurewise_center")
        if self.featurewise_std_normalization:
            if self.std is not None:
                x /= self.std + 1e-6
            else:
                _engine._warn_not_fit("featurewise_std_normalization")
        if self.zca_whitening:
            if _engine.zca_is_fit(self):
                x = _engine.zca_apply(x, self)
            else:
                _engine._warn_not_fit("zca_whitening")
        return x

    def get_random_transform(self, img_shape: tuple[int, ...],
                             seed: int | None = None) -> dict[str, Any]:
        """Draw random transform parameters for one image (Keras's, same stream).

        With ``seed`` the draws equal Keras's after ``np.random.seed(seed)``; the
        generator's own RNG then continues from there, as Keras's global one does.

        Examples
        --------
        >>> from fastaug.keras import ImageDataGenerator
        >>> p = ImageDataGenerator(rotation_range=30).get_random_transform((8, 8, 3), seed=0)
        >>> round(p["theta"], 4), p["tx"], p["zx"]
        (2.9288, 0, 1)
        """
        if seed is not None:
            self._rng = np.random.RandomState(seed)
        return draw_one(self, tuple(img_shape), self._rng)

    def apply_transform(self, x: np.ndarray, transform_parameters: dict[str, Any]) -> np.ndarray:
        """Apply given parameters to one image (Keras's ``apply_transform``).

        Order as in Keras: affine, channel shift, flips, brightness (fastaug's
        fixed brightness, see ``apply_brightness_shift``). Returns ``x`` itself
        when nothing applies.

        Examples
        --------
        >>> import numpy as np
        >>> from fastaug.keras import ImageDataGenerator
        >>> x = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
        >>> y = ImageDataGenerator().apply_transform(x, {"flip_horizontal": True})
        >>> bool((y == x[:, ::-1]).all())
        True
        """
        p = transform_parameters
        x = np.asarray(x)
        if (p.get("theta", 0) == 0 and p.get("tx", 0) == 0 and p.get("ty", 0) == 0
                and p.get("shear", 0) == 0 and p.get("zx", 1) == 1 and p.get("zy", 1) == 1
                and p.get("channel_shift_intensity") is None
                and not p.get("flip_horizontal", False) and not p.get("flip_vertical", False)
                and p.get("brightness") is None):
            return x
        if x.ndim != 3:
            raise ValueError("Input arrays must be multi-channel 2D images.")
        params = BatchParams.from_dicts([p])
        r, c, ch = self.row_axis - 1, self.col_axis - 1, self.channel_axis - 1
        return _warp_single(x, params, r, c, ch, self.fill_mode, self.cval,
                            self.interpolation_order, self._num_threads)

    def random_transform(self, x: np.ndarray, seed: int | None = None) -> np.ndarray:
        """Apply a random transformation to one image (Keras's ``random_transform``).

        Examples
        --------
        >>> import numpy as np
        >>> from fastaug.keras import ImageDataGenerator
        >>> ImageDataGenerator(rotation_range=30).random_transform(
        ...     np.ones((8, 8, 3), np.float32), seed=0).shape
        (8, 8, 3)
        """
        params = self.get_random_transform(x.shape, seed)
        return self.apply_transform(x, params)

    def fit(self, x: Any, augment: bool = False, rounds: int = 1,
            seed: int | None = None) -> None:
        """Compute featurewise statistics / ZCA from sample data (Keras's ``fit``).

        Keras's formulas: per-channel mean and std over (samples, rows, cols) after
        ``rescale``; ZCA from the SVD of the centred data. With ``augment`` the
        data go ``rounds`` times through the batch engine with the parameter stream
        Keras's ``fit(seed=...)`` would draw.

        Examples
        --------
        >>> import numpy as np
        >>> from fastaug.keras import ImageDataGenerator
        >>> g = ImageDataGenerator(featurewise_center=True)
        >>> g.fit(np.full((4, 2, 2, 3), 7, np.uint8))
        >>> g.mean.ravel().tolist()
        [7.0, 7.0, 7.0]
        """
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError("Input to `.fit()` should have rank 4. Got array with shape: "
                             + str(x.shape))
        if x.shape[self.channel_axis] not in {1, 3, 4}:
            warnings.warn(
                "Expected input to be images (as Numpy array) "
                f'following the data format convention "{self.data_format}'
                f'" (channels on axis {self.channel_axis})'
                ", i.e. expected either 1, 3 or 4 channels on axis "
                f"{self.channel_axis}. However, it was passed an array with"
                f" shape {x.shape} ({x.shape[self.channel_axis]} channels).", stacklevel=2)
        if seed is not None:
            self._rng = np.random.RandomState(seed)
        if not (self.featurewise_center or self.featurewise_std_normalization
                or self.zca_whitening):
            if augment:  # Keras draws (and discards) the augmentation anyway
                for _ in self._augmented_chunks(x, rounds):
                    pass
            return
        if augment:
            # Keras rescales a float copy, then augments it: the engine does the
            # same, chunk by chunk, so rounds * n images are never held at once.
            data: Any = self._augmented_chunks(x, rounds)
            rescale = None
        else:
            data = x  # streamed in its own dtype; rescale applied by the fit
            rescale = self.rescale or None
        zca = ZCA(center=bool(self.featurewise_center),
                  std_normalization=bool(self.featurewise_std_normalization),
                  whiten=bool(self.zca_whitening), epsilon=float(self.zca_epsilon),
                  rescale=rescale, data_format=self.data_format).fit(data)
        if self.featurewise_center:
            self.mean = zca.mean_
        if self.featurewise_std_normalization:
            self.std = zca.std_
        if self.zca_whitening:
            # Centring and std are applied from self.mean / self.std (which users
            # may reassign, as in Keras); the estimator keeps only the whitening.
            zca.center = False
            zca.std_normalization = False
            self.zca_whitening_matrix = None
            self._zca = zca

    def _augmented_chunks(self, x: np.ndarray, rounds: int, chunk: int = 1024) -> Any:
        dtype = np.dtype(self.dtype)
        kernel_dtype = np.uint8 if dtype == np.uint8 else np.float32
        n = x.shape[0]
        for r in range(rounds):
            for a in range(0, n, chunk):
                xf = np.array(x[a:a + chunk], dtype=dtype)
                if self.rescale:
                    xf *= self.rescale
                # Draws continue one stream across chunks and rounds, in Keras's
                # (round, image) order.
                params = draw_batch(self, xf.shape[0], xf.shape[1:], self._rng)
                out = _engine.transform_batch(self, xf, params, out_dtype=kernel_dtype)
                yield out if out.dtype == dtype else out.astype(dtype)

    @property
    def zca_whitening_matrix(self) -> np.ndarray | None:
        """The d x d ZCA matrix ``W`` (float64, as Keras stores it), or None.

        After ``fit`` it is materialised on first access (the batches use the
        fitted factors directly); assigning a matrix makes ``standardize`` use it.
        """
        if self._zca_matrix is None and self._zca is not None:
            self._zca_matrix = self._zca.whitening_matrix_
        return self._zca_matrix

    @zca_whitening_matrix.setter
    def zca_whitening_matrix(self, value: Any) -> None:
        self._zca_matrix = value
        self._zca = None

