"""``resized_crop``: crop, pad, resize, flip and normalise a batch in one native pass.

The batch may be ragged (images of different sizes, e.g. straight from a JPEG
decoder): :class:`PackedImages` holds them as one flat buffer with per-image
offsets and sizes, and every output image has the same size. Semantics are
torchvision.transforms.v2's on tensors (see ``fastaug/_kernels/resample.py``):
``resized_crop(img, top, left, height, width, size, interpolation, antialias)``
with the box padded as ``RandomCrop``'s ``padding_mode`` pads, then
``horizontal_flip``/``vertical_flip``, then ``ToDtype(float32, scale=True)`` +
``Normalize`` folded into one per-channel ``v * mul + add``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fastaug import _pool
from fastaug._kernels import resample as _k
from fastaug._validate import check_bool, check_choice, check_dtype, check_int, check_out

__all__ = ["resized_crop", "PackedImages", "INTERPOLATIONS", "PADDING_MODES"]

INTERPOLATIONS: tuple[str, ...] = ("nearest", "bilinear", "bicubic")
PADDING_MODES: tuple[str, ...] = ("constant", "edge", "reflect", "symmetric")
DATA_FORMATS: tuple[str, ...] = ("channels_last", "channels_first")
IMAGE_DTYPES = (np.dtype(np.uint8), np.dtype(np.float32))

# Box sides beyond this would mean weight tables and row buffers of gigabytes.
_MAX_SIDE = 2**24

# Largest crop region (bytes) the uint8 horizontal pass stores column-major at once; a
# larger one is filtered in strips of rows. Tests lower it to reach that path.
_COLUMNS_MAX = 1 << 24


@dataclass(frozen=True, eq=False)
class PackedImages:
    """A ragged batch: channels-last images of any sizes in one flat buffer.

    Image ``i`` is ``data[offsets[i] : offsets[i] + heights[i] * widths[i] *
    channels].reshape(heights[i], widths[i], channels)``. Build one with
    :meth:`pack`, or fill ``data`` yourself (a decoder writing into it) and
    pass the arrays; the constructor checks that every image lies inside
    ``data``, so the kernel never reads outside it.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.resample import PackedImages
    >>> p = PackedImages.pack([np.zeros((2, 3, 3), np.uint8), np.ones((4, 1, 3), np.uint8)])
    >>> len(p), p.offsets.tolist(), p.heights.tolist(), p.widths.tolist()
    (2, [0, 18], [2, 4], [3, 1])
    >>> p.image(1).shape
    (4, 1, 3)
    """

    data: np.ndarray
    offsets: np.ndarray
    heights: np.ndarray
    widths: np.ndarray
    channels: int

    def __post_init__(self) -> None:
        data = self.data
        if not isinstance(data, np.ndarray):
            raise TypeError(f"data must be a numpy array, got {type(data).__name__}")
        if data.dtype not in IMAGE_DTYPES:
            raise TypeError(f"data must have dtype uint8 or float32, got {data.dtype}")
        if data.ndim != 1 or not data.flags.c_contiguous:
            raise ValueError(f"data must be a 1-D C-contiguous array, got shape {data.shape}")
        c = check_int("channels", self.channels, low=1)
        arrays = {}
        for name in ("offsets", "heights", "widths"):
            v = np.asarray(getattr(self, name))
            if v.ndim != 1 or (v.size and v.dtype.kind not in "iu"):
                raise TypeError(f"{name} must be a 1-D integer array, got {v.dtype} "
                                f"with shape {v.shape}")
            arrays[name] = np.ascontiguousarray(v, dtype=np.int64)
        n = arrays["offsets"].size
        if arrays["heights"].size != n or arrays["widths"].size != n:
            raise ValueError(f"offsets, heights and widths must have one entry per image, "
                             f"got {n}, {arrays['heights'].size}, {arrays['widths'].size}")
        hs, ws, offs = arrays["heights"], arrays["widths"], arrays["offsets"]
        if n and (hs.min() < 1 or ws.min() < 1 or offs.min() < 0):
            raise ValueError("heights and widths must be >= 1 and offsets >= 0")
        if n and (hs.max() > _MAX_SIDE or ws.max() > _MAX_SIDE):
            raise ValueError(f"heights and widths must be <= {_MAX_SIDE}")
        if n and (offs + hs * ws * c).max() > data.size:
            raise ValueError(f"images must lie inside data ({data.size} elements): "
                             f"offsets + heights * widths * channels exceeds it")
        object.__setattr__(self, "channels", c)
        for name, v in arrays.items():
            object.__setattr__(self, name, v)

    def __len__(self) -> int:
        return int(self.offsets.size)

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def image(self, i: int) -> np.ndarray:
        """Image ``i`` as an (H, W, C) view of ``data``."""
        h, w, c = int(self.heights[i]), int(self.widths[i]), self.channels
        o = int(self.offsets[i])
        return self.data[o:o + h * w * c].reshape(h, w, c)

    @classmethod
    def pack(cls, images: Sequence[np.ndarray]) -> PackedImages:
        """Pack (H, W, C) arrays of one dtype and channel count (one copy, no Python loop
        beyond collecting the sizes)."""
        shapes = _image_shapes(images)
        sizes = shapes.prod(axis=1)
        offsets = np.zeros(len(images), np.int64)
        np.cumsum(sizes[:-1], out=offsets[1:])
        data = np.concatenate([im.reshape(-1) for im in images])
        return cls(data, offsets, shapes[:, 0], shapes[:, 1], int(shapes[0, 2]))


def _image_shapes(images: Sequence[np.ndarray]) -> np.ndarray:
    """(N, 3) int64 shapes of a sequence of (H, W, C) arrays of one dtype and channel count."""
    if isinstance(images, np.ndarray) or not isinstance(images, Sequence):
        raise TypeError(f"images must be a sequence of (H, W, C) arrays, "
                        f"got {type(images).__name__}")
    if not images:
        raise ValueError("images must not be empty")
    for i, im in enumerate(images):
        if not isinstance(im, np.ndarray):
            raise TypeError(f"images[{i}] must be a numpy array, got {type(im).__name__}")
        if im.ndim != 3:
            raise ValueError(f"images[{i}] must be (H, W, C), got shape {im.shape}")
        if im.dtype != images[0].dtype or im.shape[2] != images[0].shape[2]:
            raise ValueError(f"images must share dtype and channels: images[0] is "
                             f"{images[0].dtype} with shape {images[0].shape}, images[{i}] "
                             f"is {im.dtype} with shape {im.shape}")
    return np.array([im.shape for im in images], dtype=np.int64)


# A sequence of images at least this large on average (bytes) is read in place, one
# kernel call per image, instead of packed: packing 32 decoded ImageNet photos copied
# 18 MB per batch (1.4 ms, about a tenth of the recipe), while a kernel call costs
# about 10 us, more than packing a small image does.
_IN_PLACE_MIN_BYTES = 1 << 16


@dataclass(frozen=True, eq=False)
class _Loose:
    """A sequence of images read in place: ``PackedImages``' fields, one buffer per image."""

    datas: list[np.ndarray]
    heights: np.ndarray
    widths: np.ndarray
    channels: int
    dtype: np.dtype

    def __len__(self) -> int:
        return len(self.datas)

    def image(self, i: int) -> np.ndarray:
        """Image ``i`` as an (H, W, C) view (of the caller's array when read in place)."""
        return self.datas[i].reshape(int(self.heights[i]), int(self.widths[i]), self.channels)


def _loose(images: Sequence[np.ndarray]) -> _Loose | None:
    """``images`` as a :class:`_Loose` when they are large enough to skip packing."""
    shapes = _image_shapes(images)
    dt = images[0].dtype
    if shapes.prod(axis=1).mean() * dt.itemsize < _IN_PLACE_MIN_BYTES:
        return None
    if dt not in IMAGE_DTYPES:
        raise TypeError(f"images must have dtype uint8 or float32, got {dt}")
    if shapes.min() < 1 or shapes[:, :2].max() > _MAX_SIDE:
        raise ValueError(f"images must have H, W, C >= 1 and H, W <= {_MAX_SIDE}")
    # Flat, C-contiguous, writeable views (a read-only array is another Numba signature).
    datas = [im.reshape(-1) if im.flags.c_contiguous and im.flags.writeable
             else np.ascontiguousarray(im).reshape(-1).copy() for im in images]
    return _Loose(datas, shapes[:, 0].copy(), shapes[:, 1].copy(), int(shapes[0, 2]), dt)


def _packed_unchecked(data: np.ndarray, offsets: np.ndarray, heights: np.ndarray,
                      widths: np.ndarray, c: int) -> PackedImages:
    """A :class:`PackedImages` valid by construction, without ``__post_init__``'s checks
    (about 8 us, a few percent of a CIFAR batch)."""
    p = object.__new__(PackedImages)
    for name, v in (("data", data), ("offsets", offsets), ("heights", heights),
                    ("widths", widths), ("channels", c)):
        object.__setattr__(p, name, v)
    return p


def _as_packed(images: Any) -> PackedImages | _Loose:
    if isinstance(images, PackedImages):
        return images
    if isinstance(images, np.ndarray):
        if images.ndim != 4:
            raise ValueError(f"images must be a 4-D (N, H, W, C) array, a PackedImages or a "
                             f"sequence of (H, W, C) arrays, got shape {images.shape}")
        if images.dtype not in IMAGE_DTYPES:
            raise TypeError(f"images must have dtype uint8 or float32, got {images.dtype}")
        n, h, w, c = images.shape
        if min(h, w, c) < 1:
            raise ValueError(f"images must have H, W, C >= 1, got shape {images.shape}")
        if max(h, w) > _MAX_SIDE:
            raise ValueError(f"heights and widths must be <= {_MAX_SIDE}")
        return _packed_unchecked(np.ascontiguousarray(images).reshape(-1),
                                 np.arange(n, dtype=np.int64) * (h * w * c),
                                 np.full(n, h, np.int64), np.full(n, w, np.int64), c)
    loose = _loose(images)
    return PackedImages.pack(images) if loose is None else loose


def _per_channel(name: str, value: Any, c: int, default: float) -> np.ndarray:
    if value is None:
        return np.full(c, default)
    if (type(value) is np.ndarray and value.shape == (c,) and value.dtype.kind in "iuf"
            and np.isfinite(value).all()):
        return value.astype(np.float64)  # the common case, without broadcasting
    v = np.asarray(value)
    if v.dtype == object or v.dtype.kind not in "iuf" or v.ndim > 1:
        raise TypeError(f"{name} must be a real number or a sequence of {c} real numbers, "
                        f"got {value!r}")
    if v.ndim == 1 and v.size != c:
        raise ValueError(f"{name} must have one value per channel ({c}), got {value!r}")
    v = np.broadcast_to(v.astype(np.float64), (c,)).copy()
    if not np.isfinite(v).all():
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def _flags(name: str, value: Any, n: int) -> np.ndarray:
    if value is None:
        return np.zeros(n, np.uint8)
    if isinstance(value, (bool, np.bool_)):
        return np.full(n, bool(value), np.uint8)
    v = np.asarray(value)
    if v.dtype != np.bool_:
        raise TypeError(f"{name} must be None, a bool or a bool array of shape ({n},), "
                        f"got {value!r}")
    if v.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got shape {v.shape}")
    return v.astype(np.uint8)


def _flip_table(hflip: np.ndarray, vflip: np.ndarray) -> np.ndarray:
    """The kernels' flips: N*2 uint8, (horizontal, vertical) per image."""
    flips = np.empty((len(hflip), 2), np.uint8)
    flips[:, 0] = hflip
    flips[:, 1] = vflip
    return flips.reshape(-1)


def _boxes(boxes: Any, n: int) -> np.ndarray:
    b = np.asarray(boxes)
    if b.dtype == object or (b.size and b.dtype.kind not in "iu"):
        raise TypeError(f"boxes must be integers (top, left, height, width), got dtype {b.dtype}")
    if b.shape == (4,):
        b = np.broadcast_to(b, (n, 4))
    if b.shape != (n, 4):
        raise ValueError(f"boxes must have shape (4,) or (N, 4) = ({n}, 4), got {b.shape}")
    b = np.ascontiguousarray(b, dtype=np.int64)
    if n and (b[:, 2:].min() < 1 or b[:, 2:].max() > _MAX_SIDE):
        raise ValueError(f"boxes must have height and width in [1, {_MAX_SIDE}]")
    if n and np.abs(b[:, :2]).max() > 2**40:
        raise ValueError("boxes must have |top|, |left| <= 2**40")
    return b.reshape(-1)


def _pairs(name: str, value: Any, n: int) -> np.ndarray:
    v = np.asarray(value)
    if v.dtype == object or (v.size and v.dtype.kind not in "iu"):
        raise TypeError(f"{name} must be integers, got dtype {v.dtype}")
    if v.shape == (2,):
        v = np.broadcast_to(v, (n, 2))
    if v.shape != (n, 2):
        raise ValueError(f"{name} must have shape (2,) or (N, 2) = ({n}, 2), got {v.shape}")
    return np.ascontiguousarray(v, dtype=np.int64)


def _frames(resize_to: Any, window: Any, n: int, oh: int, ow: int) -> np.ndarray:
    """(N, 4) int64: the size each box is resized to and the output window's corner in it."""
    if resize_to is None:
        if window is not None:
            raise ValueError("window needs resize_to (without it the output is the whole "
                             "resized box)")
        f = np.zeros((n, 4), np.int64)
        f[:, 0] = oh
        f[:, 1] = ow
        return f.reshape(-1)
    rs = _pairs("resize_to", resize_to, n)
    if n and (rs.min() < 1 or rs.max() > _MAX_SIDE):
        raise ValueError(f"resize_to must be in [1, {_MAX_SIDE}], got {resize_to!r}")
    if n and ((rs[:, 0] < oh).any() or (rs[:, 1] < ow).any()):
        raise ValueError(f"resize_to must be at least size ({oh}, {ow}) in each dimension, "
                         f"got {resize_to!r}")
    if window is None:
        # torchvision's center_crop corner: int(round((outer - inner) / 2)), half to even.
        win = np.stack([np.round((rs[:, 0] - oh) / 2.0), np.round((rs[:, 1] - ow) / 2.0)], 1)
        win = win.astype(np.int64)
    else:
        win = _pairs("window", window, n)
        if n and (win.min() < 0 or (win[:, 0] + oh > rs[:, 0]).any()
                  or (win[:, 1] + ow > rs[:, 1]).any()):
            raise ValueError(f"window must place the ({oh}, {ow}) output inside resize_to, "
                             f"got {window!r}")
    return np.ascontiguousarray(np.concatenate([rs, win], axis=1).reshape(-1))


def resized_crop(
    images: Any,
    boxes: Any,
    size: Any,
    *,
    resize_to: Any = None,
    window: Any = None,
    interpolation: str = "bilinear",
    antialias: bool = True,
    hflip: Any = None,
    vflip: Any = None,
    padding_mode: str = "constant",
    fill: Any = 0,
    mul: Any = None,
    add: Any = None,
    out_dtype: Any = None,
    data_format: str = "channels_last",
    out: np.ndarray | None = None,
    num_threads: int | None = None,
) -> np.ndarray:
    """Crop a box out of every image, resize it to ``size``, flip and normalise: one pass.

    Per image ``n`` the result is torchvision v2's
    ``resized_crop(img, top, left, height, width, size, interpolation, antialias)``
    on the image (as a tensor), the box padded where it leaves the image, then
    ``horizontal_flip``/``vertical_flip`` where asked, then ``v * mul[c] + add[c]``.
    uint8 images follow PyTorch's uint8 path exactly (integer weights, uint8
    rounding between the passes); float32 images agree with PyTorch's float
    path to float32 rounding. A box of exactly ``size`` is copied, not resampled.

    Parameters
    ----------
    images : ndarray, PackedImages or sequence of ndarray
        uint8 or float32, channels last: an (N, H, W, C) array, a
        :class:`PackedImages`, or a sequence of (H, W, C) arrays of any sizes
        (small ones packed into one buffer first, large ones read in place).
        Never modified.
    boxes : array_like of int, shape (N, 4) or (4,)
        ``(top, left, height, width)`` in source pixels; may reach outside the
        image (then padded). Height and width >= 1.
    size : int or (int, int)
        Output (height, width); an int means square.
    resize_to : array_like of int, shape (N, 2) or (2,), optional
        Resize each box to this (height, width) and keep the ``size`` window of it
        at ``window``: ``Resize`` then ``CenterCrop`` in one pass (exactly: the
        weights are those of the whole resize). Default: ``size``.
    window : array_like of int, shape (N, 2) or (2,), optional
        (top, left) of the output in the ``resize_to`` image; default centred as
        torchvision's ``center_crop`` (``int(round((outer - inner) / 2))``).
    interpolation : {"nearest", "bilinear", "bicubic"}
        PyTorch's modes; "nearest" is its legacy ``nearest`` (``floor(i * in / out)``).
    antialias : bool
        Low-pass when downscaling (bilinear and bicubic; PIL's filter). Ignored
        for "nearest", as torchvision does.
    hflip, vflip : None, bool or bool array of shape (N,)
        Flip the output horizontally / vertically, per image.
    padding_mode : {"constant", "edge", "reflect", "symmetric"}
        How the box is extended outside the image (torchvision's ``RandomCrop``
        modes). Resampling never reads outside the (padded) box.
    fill : float or sequence of float
        Per-channel value for "constant"; for uint8 images in [0, 255] (rounded).
    mul, add : float or sequence of float, optional
        Per-channel epilogue ``v * mul + add`` (defaults 1 and 0), in float32:
        ``mul = 1 / (255 * std)``, ``add = -mean / std`` fuses
        ``ToDtype(float32, scale=True)`` and ``Normalize(mean, std)``.
    out_dtype : {None, numpy.uint8, numpy.float32}
        Defaults to the images' dtype; uint8 output is rounded half to even and
        clamped to [0, 255].
    data_format : {"channels_last", "channels_first"}
        Layout of the result: (N, oh, ow, C) or (N, C, oh, ow). Inputs are
        always channels last.
    out : ndarray, optional
        C-contiguous buffer of the result's shape and dtype, written and returned.
    num_threads : int, optional
        Threads the images are split over; default all usable cores.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.resample import resized_crop
    >>> imgs = [np.full((5, 7, 3), 100, np.uint8), np.full((9, 4, 3), 200, np.uint8)]
    >>> y = resized_crop(imgs, [[0, 0, 5, 7], [1, 0, 8, 4]], (4, 4))
    >>> y.shape, y[:, 0, 0, 0].tolist()
    ((2, 4, 4, 3), [100, 200])
    >>> z = resized_crop(imgs, [0, 0, 4, 4], 2, mul=1 / 255, out_dtype=np.float32,
    ...                  data_format="channels_first")
    >>> z.shape, round(float(z[1, 0, 0, 0]), 4)
    ((2, 3, 2, 2), 0.7843)

    Resize(6) then CenterCrop(4) of whole images, in one call:

    >>> full = [[0, 0, 5, 7], [0, 0, 9, 4]]
    >>> resized_crop(imgs, full, 4, resize_to=[[6, 8], [13, 6]]).shape
    (2, 4, 4, 3)
    """
    packed = _as_packed(images)
    n, c = len(packed), packed.channels
    if isinstance(size, (bool, np.bool_)):
        raise TypeError(f"size must be an int or a pair of ints, got {size!r}")
    if isinstance(size, (int, np.integer)):
        oh = ow = check_int("size", size, low=1, high=_MAX_SIDE)
    else:
        if not isinstance(size, (Sequence, np.ndarray)) or isinstance(size, str) or len(
                size) != 2:
            raise TypeError(f"size must be an int or a pair of ints, got {size!r}")
        oh = check_int("size[0]", size[0], low=1, high=_MAX_SIDE)
        ow = check_int("size[1]", size[1], low=1, high=_MAX_SIDE)
    b = _boxes(boxes, n)
    frames = _frames(resize_to, window, n, oh, ow)
    interp = INTERPOLATIONS.index(check_choice("interpolation", interpolation, INTERPOLATIONS))
    aa = check_bool("antialias", antialias) and interp != _k.NEAREST
    pad = PADDING_MODES.index(check_choice("padding_mode", padding_mode, PADDING_MODES))
    check_choice("data_format", data_format, DATA_FORMATS)
    flips = _flip_table(_flags("hflip", hflip, n), _flags("vflip", vflip, n))
    fillv = _per_channel("fill", fill, c, 0.0)
    if packed.dtype == np.uint8:
        if fillv.min() < 0 or fillv.max() > 255:
            raise ValueError(f"fill must be in [0, 255] for uint8 images, got {fill!r}")
        fillv = np.rint(fillv)
    mulv = _per_channel("mul", mul, c, 1.0).astype(np.float32)
    addv = _per_channel("add", add, c, 0.0).astype(np.float32)
    if not (np.isfinite(mulv).all() and np.isfinite(addv).all()):
        raise ValueError(f"mul and add must be representable in float32, got {mul!r}, {add!r}")
    if out_dtype is None:
        odt = packed.dtype
    elif isinstance(out_dtype, np.dtype) and out_dtype in IMAGE_DTYPES:
        odt = out_dtype
    else:
        odt = check_dtype("out_dtype", out_dtype, IMAGE_DTYPES)
    chw = data_format == "channels_first"
    if out is not None:
        check_out(out, (n, c, oh, ow) if chw else (n, oh, ow, c), odt)
    return _resample(packed, b, frames, flips, oh, ow, interp, aa, pad,
                     fillv.astype(packed.dtype), mulv, addv, odt, chw, out,
                     _pool.resolve_threads(num_threads))


def _resized_crop_planned(images: Any, boxes: np.ndarray, oh: int, ow: int, *,
                          interpolation: str, antialias: bool, hflip: np.ndarray,
                          vflip: np.ndarray, padding_mode: str, fill: np.ndarray,
                          mul: np.ndarray, add: np.ndarray, out_dtype: np.dtype,
                          data_format: str, num_threads: int | None, resize_to: Any = None,
                          window: Any = None) -> np.ndarray:
    """:func:`resized_crop` for ``fastaug.transforms``' passes.

    The transforms validated their options when they were made, and the pass
    computed ``boxes`` ((N, 4) int64), the flips (bool (N,)), ``fill`` (one value
    per channel, whole numbers in [0, 255] for uint8 images) and ``mul``/``add``
    (float64 (C,)): only the images and what memory safety rests on (box sizes
    and offsets, finite scales) are checked again. On a CIFAR batch the public
    function's argument parsing was a quarter of the call.
    """
    packed = _as_packed(images)
    n = len(packed)
    b = np.ascontiguousarray(boxes, dtype=np.int64)
    if n and (b[:, 2:].min() < 1 or b[:, 2:].max() > _MAX_SIDE
              or b[:, :2].min() < -2**40 or b[:, :2].max() > 2**40):
        raise ValueError(f"the recipe made boxes outside [1, {_MAX_SIDE}] or beyond 2**40")
    frames = _frames(resize_to, window, n, oh, ow)
    flips = _flip_table(hflip, vflip)
    mulv = np.asarray(mul, np.float32)
    addv = np.asarray(add, np.float32)
    if not (np.isfinite(mulv).all() and np.isfinite(addv).all()):
        raise ValueError(f"the recipe's scale and offset are not finite in float32: {mul!r}, "
                         f"{add!r}")
    interp = INTERPOLATIONS.index(interpolation)
    return _resample(packed, b.reshape(-1), frames, flips, oh, ow, interp,
                     antialias and interp != _k.NEAREST, PADDING_MODES.index(padding_mode),
                     np.asarray(fill).astype(packed.dtype), mulv, addv, out_dtype,
                     data_format == "channels_first", None,
                     _pool.resolve_threads(num_threads))


def _resample(packed: PackedImages | _Loose, b: np.ndarray, frames: np.ndarray,
              flips: np.ndarray, oh: int, ow: int, interp: int, aa: bool, pad: int,
              fill_in: np.ndarray, mulv: np.ndarray, addv: np.ndarray, odt: np.dtype,
              chw: bool, out: np.ndarray | None, nthreads: int) -> np.ndarray:
    """The kernels over checked, flat arguments (boxes, frames: N*4 int64; flips: N*2
    uint8; fill in the input's dtype; mul/add float32; out already checked)."""
    n, c = len(packed), packed.channels
    shape = (n, c, oh, ow) if chw else (n, oh, ow, c)
    loose = isinstance(packed, _Loose)
    datas = packed.datas if loose else [packed.data]
    direct = out is not None and out.flags.c_contiguous and not any(
        np.may_share_memory(out, d) for d in datas)
    dst = out if direct else np.empty(shape, odt)
    dst1 = dst.reshape(-1)
    u8_in = packed.dtype == np.uint8
    to_u8 = odt == np.uint8
    # Boxes that are not resampled (the frame is the box's size, or nearest) go to a
    # kernel of their own: each kernel compiles on first use, so a recipe that only
    # crops (CIFAR's) never compiles the resampling one, and the other way round.
    if interp == _k.NEAREST:
        copied = np.ones(n, bool)
    else:
        copied = (b[2::4] == frames[0::4]) & (b[3::4] == frames[1::4])
    ncopied = int(np.count_nonzero(copied))
    if ncopied in (0, n):
        # One kernel for the whole batch, the usual case: no index search per chunk.
        every = np.arange(n, dtype=np.int64)
        resized, kept = (every, every[:0]) if ncopied == 0 else (every[:0], every)
    else:
        resized = np.flatnonzero(~copied).astype(np.int64, copy=False)
        kept = np.flatnonzero(copied).astype(np.int64, copy=False)

    def bounds(idx: np.ndarray, a: int, z: int) -> tuple[int, int]:
        # The positions in idx (sorted image indices) of the images in [a, z).
        if idx.size in (0, n):
            return (a, z) if idx.size else (0, 0)
        lo, hi = np.searchsorted(idx, (a, z))
        return int(lo), int(hi)

    # The uint8 horizontal pass's column-major scratch: at most a box's pixels.
    need = 0
    if u8_in and resized.size:
        need = min(int((b[4 * resized + 2] * b[4 * resized + 3]).max()) * c, _COLUMNS_MAX)

    def resize(s: np.ndarray, offsets: np.ndarray, r0: int, r1: int,
               scratch: np.ndarray) -> None:
        # Images resized[r0:r1] of the source s (a packed batch, or one loose image).
        if u8_in:
            _k.resize_u8(s, offsets, packed.heights, packed.widths, c, b, frames, flips, oh,
                         ow, interp, aa, pad, fill_in, mulv, addv, dst1, chw, to_u8, resized,
                         r0, r1, scratch)
        else:
            _k.resize_f32(s, offsets, packed.heights, packed.widths, c, b, frames, flips, oh,
                          ow, interp, aa, pad, fill_in, mulv, addv, dst1, chw, to_u8, resized,
                          r0, r1)

    def keep(s: np.ndarray, offsets: np.ndarray, k0: int, k1: int) -> None:
        _k.copy_images(s, offsets, packed.heights, packed.widths, c, b, frames, flips, oh, ow,
                       pad, fill_in, mulv, addv, dst1, chw, to_u8, kept, k0, k1)

    if loose:
        zeros = np.zeros(n, np.int64)
        # Image i's place in resized or kept.
        place = np.empty(n, np.int64)
        place[resized] = np.arange(resized.size)
        place[kept] = np.arange(kept.size)
        is_kept = copied.tolist()
        where = place.tolist()

        def chunk(a: int, z: int) -> None:
            scratch = np.empty(need, np.uint8)
            for i in range(a, z):
                q = where[i]
                if is_kept[i]:
                    keep(datas[i], zeros, q, q + 1)
                else:
                    resize(datas[i], zeros, q, q + 1, scratch)
    else:
        # Writable arrays only: a read-only one is another Numba signature (another compile).
        src = packed.data if packed.data.flags.writeable else packed.data.copy()

        def chunk(a: int, z: int) -> None:
            r0, r1 = bounds(resized, a, z)
            if r1 > r0:
                resize(src, packed.offsets, r0, r1, np.empty(need, np.uint8))
            k0, k1 = bounds(kept, a, z)
            if k1 > k0:
                keep(src, packed.offsets, k0, k1)

    _pool.run_chunks(chunk, n, nthreads)
    if out is not None and not direct:
        np.copyto(out, dst)
        return out
    return dst
