"""The native batch API: random affine augmentation of whole batches in one pass."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from fastaug import _pool
from fastaug._validate import (
    check_bool,
    check_choice,
    check_dtype,
    check_out,
    check_pair,
    check_real,
)
from fastaug.params import AffineParams
from fastaug.warp import (
    DATA_FORMATS,
    FILL_MODES,
    IMAGE_DTYPES,
    WarpSpec,
    check_images,
    check_scale,
    warp_params,
)

__all__ = ["RandomAffine", "AffineParams", "make_rng"]

_INTERPOLATIONS = {"nearest": 0, "bilinear": 1}
SeedLike = "None, a non-negative int, a sequence of non-negative ints or a numpy.random.Generator"


def _nonneg(name: str, value: Any) -> float:
    return check_real(name, value, low=0.0)


def make_rng(seed: Any, name: str = "seed") -> np.random.Generator:
    """A ``numpy.random.Generator`` from a seed, seed sequence or Generator.

    Examples
    --------
    >>> from fastaug.augment import make_rng
    >>> float(make_rng((1, 2, 3)).random()) == float(make_rng([1, 2, 3]).random())
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_)):
        parts = [seed]
    elif isinstance(seed, (tuple, list)) and all(
            isinstance(s, numbers.Integral) and not isinstance(s, (bool, np.bool_))
            for s in seed):
        parts = list(seed)
    else:
        raise TypeError(f"{name} must be {SeedLike}, got {seed!r}")
    if any(s < 0 for s in parts):
        raise ValueError(f"{name} must be {SeedLike}, got {seed!r}")
    return np.random.default_rng(parts[0] if isinstance(seed, numbers.Integral) else parts)


class RandomAffine:
    """Random rotation, shift, shear, zoom, flips, channel shift and brightness.

    Every image of a batch gets its own parameters, drawn on the host with a
    ``numpy.random.Generator``; the whole batch is then warped by one fused kernel
    pass (flips are folded into the matrix, channel shift and brightness happen in
    the same pass). Ranges follow Keras's ``ImageDataGenerator`` where it is
    sensible, with horizontal meaning horizontal: ``width_shift_range`` moves
    columns by a fraction of the width.

    Parameters
    ----------
    rotation_range : float
        Degrees; each image turns by ``U(-r, r)`` (counter-clockwise positive).
    width_shift_range, height_shift_range : float
        Shift by ``U(-r, r)`` times the width / height when ``r < 1``, or by
        ``U(-r, r)`` pixels when ``r >= 1``.
    shear_range : float
        Shear angle in degrees, ``U(-r, r)``.
    zoom_range : float or (float, float)
        ``z`` means factors in ``[1 - z, 1 + z]``; a pair is used as given. Rows and
        columns draw independent factors (Keras's behaviour); factors above 1 zoom
        out.
    horizontal_flip, vertical_flip : bool
        Flip each image with probability 1/2.
    fill_mode : {"nearest", "constant", "reflect", "wrap", "mirror"}
        scipy.ndimage's boundary modes (see :func:`fastaug.warp_affine`).
    cval : float
        Fill value for ``"constant"``.
    interpolation : {"bilinear", "nearest"}
        Sampling.
    channel_shift_range : float
        Adds ``U(-r, r)`` to every channel, clipped to the warped image's own range.
    brightness_range : (float, float), optional
        Multiplies by ``U(low, high)``, clipped to ``value_range``.
    value_range : (float, float), optional
        The data's valid range for brightness; default ``(0, 255)`` for uint8 and
        for float batches whose maximum exceeds 1, else ``(0, 1)``.
    out_dtype : {None, numpy.uint8, numpy.float32}
        Output dtype; default the input's.
    scale : float, optional
        Multiplier fused into the kernel (e.g. ``1/255`` with float32 output).
    data_format : {"channels_last", "channels_first"}
    seed : int, sequence of ints, Generator or None
        Seeds the object's own generator: the same seed gives the same batches.
    num_threads : int, optional
        Threads per batch; default all usable cores (on a prefetching stream's
        worker thread, its share: see :mod:`fastaug.stream`).

    Examples
    --------
    >>> import numpy as np
    >>> import fastaug
    >>> aug = fastaug.RandomAffine(rotation_range=20, zoom_range=0.1,
    ...                            horizontal_flip=True, seed=0)
    >>> x = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    >>> y = aug(x)
    >>> y.shape, y.dtype
    ((8, 32, 32, 3), dtype('uint8'))
    >>> again = fastaug.RandomAffine(rotation_range=20, zoom_range=0.1,
    ...                              horizontal_flip=True, seed=0)
    >>> bool((again(x) == y).all())
    True
    """

    def __init__(
        self,
        rotation_range: float = 0.0,
        width_shift_range: float = 0.0,
        height_shift_range: float = 0.0,
        shear_range: float = 0.0,
        zoom_range: float | tuple[float, float] = 0.0,
        horizontal_flip: bool = False,
        vertical_flip: bool = False,
        fill_mode: str = "nearest",
        cval: float = 0.0,
        interpolation: str = "bilinear",
        channel_shift_range: float = 0.0,
        brightness_range: tuple[float, float] | None = None,
        value_range: tuple[float, float] | None = None,
        out_dtype: Any = None,
        scale: float | None = None,
        data_format: str = "channels_last",
        seed: Any = None,
        num_threads: int | None = None,
    ) -> None:
        self.rotation_range = _nonneg("rotation_range", rotation_range)
        self.width_shift_range = _nonneg("width_shift_range", width_shift_range)
        self.height_shift_range = _nonneg("height_shift_range", height_shift_range)
        self.shear_range = _nonneg("shear_range", shear_range)
        if isinstance(zoom_range, numbers.Real) and not isinstance(zoom_range, bool):
            z = _nonneg("zoom_range", zoom_range)
            if z >= 1:
                raise ValueError(f"zoom_range as a float must be in [0, 1), got {zoom_range!r}")
            self.zoom_range = (1.0 - z, 1.0 + z)
        else:
            self.zoom_range = check_pair("zoom_range", zoom_range, low=0.0, low_open=True)
        self.horizontal_flip = check_bool("horizontal_flip", horizontal_flip)
        self.vertical_flip = check_bool("vertical_flip", vertical_flip)
        self.fill_mode = check_choice("fill_mode", fill_mode, FILL_MODES)
        self.cval = check_real("cval", cval)
        self.interpolation = check_choice("interpolation", interpolation,
                                          tuple(_INTERPOLATIONS))
        self.channel_shift_range = _nonneg("channel_shift_range", channel_shift_range)
        self.brightness_range = (
            None if brightness_range is None
            else check_pair("brightness_range", brightness_range, low=0.0))
        self.value_range = (
            None if value_range is None else check_pair("value_range", value_range))
        self.out_dtype = check_dtype("out_dtype", out_dtype, IMAGE_DTYPES)
        self.scale = None if scale is None else check_scale(scale)
        self.data_format = check_choice("data_format", data_format, DATA_FORMATS)
        self.num_threads = None if num_threads is None else _pool.resolve_threads(num_threads)
        self.rng = make_rng(seed)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "rng")
        return f"RandomAffine({fields})"

    def draw(self, n: int, height: int, width: int, rng: Any = None) -> AffineParams:
        """Draw parameters for ``n`` images of ``height`` x ``width``, vectorised.

        ``rng`` (a seed or Generator) overrides the object's own generator, so a
        batch can be keyed by, for example, ``(seed, epoch, batch_index)``.
        """
        g = self.rng if rng is None else make_rng(rng, "rng")

        def sym(r: float) -> np.ndarray:
            return g.uniform(-r, r, n) if r else np.zeros(n)

        def shift(r: float, size: int) -> np.ndarray:
            return sym(r) * (size if r < 1 else 1.0)

        zlo, zhi = self.zoom_range
        zoom = (g.uniform(zlo, zhi, (2, n)) if (zlo, zhi) != (1.0, 1.0) else np.ones((2, n)))
        return AffineParams(
            theta=sym(self.rotation_range),
            tx=shift(self.width_shift_range, width),
            ty=shift(self.height_shift_range, height),
            shear=sym(self.shear_range),
            zx=zoom[0],
            zy=zoom[1],
            flip_horizontal=(g.random(n) < 0.5) if self.horizontal_flip else np.zeros(n, bool),
            flip_vertical=(g.random(n) < 0.5) if self.vertical_flip else np.zeros(n, bool),
            channel_shift=sym(self.channel_shift_range) if self.channel_shift_range else None,
            brightness=(g.uniform(*self.brightness_range, n)
                        if self.brightness_range is not None else None),
        )

    def matrices(self, params: AffineParams, height: int, width: int) -> np.ndarray:
        """The (N, 2, 3) inverse matrices of ``params`` for ``fastaug.warp_affine``."""
        # The native API says what it means: tx moves columns and ty rows. In
        # affine_matrices (Keras's convention) that is tx -> columns as well.
        return params.matrices(height, width)

    def apply(self, images: np.ndarray, params: AffineParams, *,
              out: np.ndarray | None = None) -> np.ndarray:
        """Warp ``images`` with given ``params`` (deterministic; draws nothing)."""
        src = check_images(images, self.data_format)
        n, h, w, c = src.shape
        if params.n != n:
            raise ValueError(f"params are for {params.n} images, images has {n}")
        odt = self.out_dtype or src.dtype
        shape = src.shape if self.data_format == "channels_last" else (n, c, h, w)
        if out is not None:
            check_out(out, shape, odt)
        direct = (out is not None and self.data_format == "channels_last"
                  and out.flags.c_contiguous and not np.may_share_memory(out, images))
        dst = out if direct else np.empty((n, h, w, c), odt)
        lo, hi = self.value_range or (
            (0.0, 255.0) if src.dtype == np.uint8
            or (params.brightness is not None and n and src.max() > 1)
            else (0.0, 1.0))
        spec = WarpSpec(order=_INTERPOLATIONS[self.interpolation], fill_mode=self.fill_mode,
                        cval=self.cval, num_threads=_pool.resolve_threads(self.num_threads))
        warp_params(src, params, spec, dst=dst,
                    scale=1.0 if self.scale is None else self.scale, value_range=(lo, hi))
        result = dst if self.data_format == "channels_last" else dst.transpose(0, 3, 1, 2)
        if out is None:
            return np.ascontiguousarray(result)
        if not direct:
            np.copyto(out, result)
        return out

    def __call__(self, images: np.ndarray, rng: Any = None, *,
                 out: np.ndarray | None = None) -> np.ndarray:
        """Augment a batch: fresh parameters for every image, one kernel pass.

        Parameters
        ----------
        images : ndarray of uint8 or float32
            (N, H, W, C) or (N, C, H, W) per ``data_format``; never modified.
        rng : seed or Generator, optional
            Use this instead of the object's own generator (which advances).
        out : ndarray, optional
            Buffer for the result.
        """
        src_shape = np.shape(images)
        if len(src_shape) != 4:
            check_images(images, self.data_format)  # raises the shape error
        n = src_shape[0]
        h, w = src_shape[1:3] if self.data_format == "channels_last" else src_shape[2:4]
        return self.apply(images, self.draw(n, h, w, rng), out=out)
