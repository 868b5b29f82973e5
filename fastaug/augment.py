"""The native batch API: random affine augmentation of whole batches in one pass."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from fastaug import _pool
from fastaug.params import affine_matrices
from fastaug.warp import (
    DATA_FORMATS,
    FILL_MODES,
    check_choice,
    check_images,
    check_real,
    warp_nhwc,
)

__all__ = ["RandomAffine", "AffineParams"]

_INTERPOLATIONS = {"nearest": 0, "bilinear": 1}
SeedLike = "None | int | sequence of ints | numpy.random.Generator"


@dataclass(frozen=True)
class AffineParams:
    """Per-image parameters of one batch (arrays of length N).

    Angles are in degrees and shifts in pixels, in the convention of
    :func:`fastaug.params.affine_matrices`; ``channel_shift`` and ``brightness`` are
    None when that augmentation is off.
    """

    theta: np.ndarray
    tx: np.ndarray
    ty: np.ndarray
    shear: np.ndarray
    zx: np.ndarray
    zy: np.ndarray
    flip_horizontal: np.ndarray
    flip_vertical: np.ndarray
    channel_shift: np.ndarray | None
    brightness: np.ndarray | None


def _nonneg(name: str, value: Any) -> float:
    v = check_real(name, value)
    if v < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return v


def _pair(name: str, value: Any, *, positive: bool) -> tuple[float, float]:
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}") from None
    lo, hi = check_real(f"{name}[0]", lo), check_real(f"{name}[1]", hi)
    if lo > hi or (positive and lo <= 0):
        need = "0 < low <= high" if positive else "low <= high"
        raise ValueError(f"{name} must satisfy {need}, got {value!r}")
    return lo, hi


def make_rng(seed: Any) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a seed, seed sequence or Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.default_rng(seed)
    if isinstance(seed, (tuple, list)) and all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 0 for s in seed
    ):
        return np.random.default_rng(list(seed))
    raise TypeError(f"seed must be {SeedLike}, got {seed!r}")


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
        Threads per batch; default all usable cores.

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
            self.zoom_range = _pair("zoom_range", zoom_range, positive=True)
        for name, flag in (("horizontal_flip", horizontal_flip), ("vertical_flip", vertical_flip)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {flag!r}")
        self.horizontal_flip = bool(horizontal_flip)
        self.vertical_flip = bool(vertical_flip)
        check_choice("fill_mode", fill_mode, FILL_MODES)
        self.fill_mode = fill_mode
        self.cval = check_real("cval", cval)
        check_choice("interpolation", interpolation, tuple(_INTERPOLATIONS))
        self.interpolation = interpolation
        self.channel_shift_range = _nonneg("channel_shift_range", channel_shift_range)
        self.brightness_range = (
            None if brightness_range is None
            else _pair("brightness_range", brightness_range, positive=False)
        )
        if self.brightness_range is not None and self.brightness_range[0] < 0:
            raise ValueError(f"brightness_range must be non-negative, got {brightness_range!r}")
        self.value_range = (
            None if value_range is None else _pair("value_range", value_range, positive=False)
        )
        if out_dtype is not None and np.dtype(out_dtype) not in (np.uint8, np.float32):
            raise TypeError(f"out_dtype must be None, numpy.uint8 or numpy.float32, "
                            f"got {out_dtype!r}")
        self.out_dtype = None if out_dtype is None else np.dtype(out_dtype)
        self.scale = None if scale is None else check_real("scale", scale)
        check_choice("data_format", data_format, DATA_FORMATS)
        self.data_format = data_format
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
        g = self.rng if rng is None else make_rng(rng)

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
        return affine_matrices(height, width, params.theta, params.tx, params.ty, params.shear,
                               params.zx, params.zy, params.flip_horizontal,
                               params.flip_vertical)

    def apply(self, images: np.ndarray, params: AffineParams, *,
              out: np.ndarray | None = None) -> np.ndarray:
        """Warp ``images`` with given ``params`` (deterministic; draws nothing)."""
        src = check_images(images, self.data_format)
        n, h, w, c = src.shape
        if params.theta.shape != (n,):
            raise ValueError(f"params are for {params.theta.shape[0]} images, "
                             f"images has {n}")
        odt = self.out_dtype or src.dtype
        shape = src.shape if self.data_format == "channels_last" else (n, c, h, w)
        if out is not None and (not isinstance(out, np.ndarray) or out.shape != shape
                                or out.dtype != odt or not out.flags.writeable):
            raise ValueError(f"out must be a writeable array of shape {shape} and dtype "
                             f"{odt}, got {getattr(out, 'shape', out)!r}")
        direct = (out is not None and self.data_format == "channels_last"
                  and out.flags.c_contiguous and not np.may_share_memory(out, images))
        dst = out if direct else np.empty((n, h, w, c), odt)
        brights = params.brightness
        lo, hi = self.value_range or (
            (0.0, 255.0) if src.dtype == np.uint8 or (brights is not None and n and src.max() > 1)
            else (0.0, 1.0))
        mats = self.matrices(params, h, w).reshape(n, 6)
        warp_nhwc(src, dst, mats, order=_INTERPOLATIONS[self.interpolation],
                  mode=FILL_MODES.index(self.fill_mode), cval=self.cval,
                  scale=1.0 if self.scale is None else self.scale,
                  shifts=params.channel_shift, brights=brights, bright_range=(lo, hi),
                  num_threads=self.num_threads or _pool.cpu_count())
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
