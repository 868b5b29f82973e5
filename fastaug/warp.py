"""``warp_affine`` (public) and ``warp_params`` (the batch engine) over the fused kernel.

:func:`warp_affine` takes matrices; :func:`warp_params` takes an
:class:`~fastaug.params.AffineParams` record and a :class:`WarpSpec`, and is what
the native :class:`fastaug.RandomAffine` and the Keras drop-in both call: params
-> matrices -> one kernel call per batch, channel shift, brightness and the
cast/rescale fused into its epilogue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from fastaug import _pool
from fastaug._kernels import warp as _k
from fastaug._validate import check_choice, check_dtype, check_int, check_out, check_real
from fastaug.params import AffineParams

FILL_MODES: tuple[str, ...] = ("constant", "nearest", "reflect", "wrap", "mirror")
DATA_FORMATS: tuple[str, ...] = ("channels_last", "channels_first")
IMAGE_DTYPES = (np.dtype(np.uint8), np.dtype(np.float32))

__all__ = ["warp_affine", "warp_params", "WarpSpec", "FILL_MODES", "DATA_FORMATS"]

# The kernel keeps offsets within one image in 32 bits (vector lanes).
_MAX_IMAGE_ELEMENTS = 2**31


_CHANNEL_TUPLES = {1: (0,), 3: (0, 0, 0), 4: (0, 0, 0, 0)}
# The kernel's team counter when no helper team takes part (one thread, or the
# executor's threads): written with +0 and never waited on.
_NO_TEAM = np.zeros(2, np.int64)
# Chunks per thread of a multi-threaded warp: small enough that the thread that
# finishes last waits little (a CIFAR batch of 128 is 32 chunks of 4 on two threads).
_SHARED_CHUNKS_PER_THREAD = 16


def check_order(order: Any) -> int:
    """Validate an interpolation order (0 nearest, 1 bilinear)."""
    return check_int("order", order, low=0, high=1)


_F32_MAX = float(np.finfo(np.float32).max)


def check_scale(scale: Any) -> float:
    """A rescale factor representable in float32.

    The kernel multiplies in float32, where a larger factor would be inf and
    turn zero-valued pixels into NaN (0 * inf).
    """
    return check_real("scale", scale, low=-_F32_MAX, high=_F32_MAX)


def check_images(images: Any, data_format: str) -> np.ndarray:
    """Validate a batch and return it as a C-contiguous (N, H, W, C) view or copy."""
    if not isinstance(images, np.ndarray):
        raise TypeError(f"images must be a numpy array, got {type(images).__name__}")
    if images.dtype not in IMAGE_DTYPES:
        raise TypeError(f"images must have dtype uint8 or float32, got {images.dtype}")
    if images.ndim != 4:
        layout = "(N, H, W, C)" if data_format == "channels_last" else "(N, C, H, W)"
        raise ValueError(
            f"images must be 4-D {layout} for data_format={data_format!r}, "
            f"got shape {images.shape}"
        )
    nhwc = images if data_format == "channels_last" else images.transpose(0, 2, 3, 1)
    if min(nhwc.shape[1:]) < 1:
        raise ValueError(f"images must have H, W, C >= 1, got shape {images.shape}")
    if nhwc.shape[1] * nhwc.shape[2] * nhwc.shape[3] >= _MAX_IMAGE_ELEMENTS:
        raise ValueError(f"images must have H * W * C < 2**31 elements per image, "
                         f"got shape {images.shape}")
    return np.ascontiguousarray(nhwc)


def check_matrices(matrices: Any, n: int) -> np.ndarray:
    """Validate (2, 3) or (N, 2, 3) matrices; return them as a (N, 6) float64 array."""
    if (type(matrices) is np.ndarray and matrices.dtype == np.float64
            and matrices.shape == (n, 2, 3) and matrices.flags.c_contiguous):
        # The usual call: one reshape, then the finiteness test.
        m = matrices.reshape(n, 6)
        if not np.isfinite(m).all():
            raise ValueError("matrices must be finite; got NaN or inf")
        return m
    m = np.asarray(matrices)
    if m.dtype == object or m.dtype.kind not in "iuf":
        raise TypeError(f"matrices must be a real float array, got dtype {m.dtype}")
    if m.shape == (2, 3):
        m = np.broadcast_to(m, (n, 2, 3))
    elif m.shape != (n, 2, 3):
        raise ValueError(f"matrices must have shape (2, 3) or (N, 2, 3) = ({n}, 2, 3), "
                         f"got {m.shape}")
    m = np.ascontiguousarray(m, dtype=np.float64).reshape(n, 6)
    if not np.isfinite(m).all():
        raise ValueError("matrices must be finite; got NaN or inf")
    return m


@dataclass(frozen=True)
class WarpSpec:
    """The sampling options every image of a batch shares.

    ``order`` 0 (nearest) or 1 (bilinear); ``fill_mode`` one of
    :data:`FILL_MODES`; ``cval`` the fill value for "constant"; ``num_threads``
    the threads a batch is split over.
    """

    order: int = 1
    fill_mode: str = "nearest"
    cval: float = 0.0
    num_threads: int = 1


def warp_nhwc(
    src: np.ndarray,
    dst: np.ndarray,
    mats: np.ndarray,
    *,
    order: int,
    mode: int,
    cval: float,
    scale: float = 1.0,
    index: np.ndarray | None = None,
    shifts: np.ndarray | None = None,
    brights: np.ndarray | None = None,
    bright_range: tuple[float, float] = (0.0, 255.0),
    num_threads: int = 1,
) -> None:
    """Run the fused kernel on validated, C-contiguous NHWC arrays (no checks here).

    ``mats`` is (N, 6) float64; ``shifts`` and ``brights`` are per-image float64
    channel shifts and brightness factors, or None when off. With ``index``, output
    image ``i`` is warped from ``src[index[i]]`` (a gather fused into the kernel:
    ``src`` may be a whole C-contiguous dataset, even a memmap).
    """
    h, w, c = src.shape[1:]
    n, oh, ow, _ = dst.shape
    if index is None:
        index = _cached_vector(n, None)
    else:
        index = np.ascontiguousarray(index, dtype=np.int64)
    # Writable, C-contiguous float64 (copied only if not already): a read-only or
    # broadcast array would be a new Numba signature, another compile of seconds.
    mats = np.require(mats, np.float64, ["C", "W"])
    first_whole = _first_whole(mats)
    if (first_whole and shifts is None and brights is None and scale == 1.0
            and dst.dtype == src.dtype
            and _copy_rows(src, dst, mats, index, mode, cval, num_threads)):
        # Flips, whole-pixel shifts and crops with nothing to do to the values:
        # copied as rows (the same samples as the kernel below, see ``copy_pixels``,
        # which also checks that every matrix is one of those).
        return
    if (first_whole and shifts is None and brights is None and src.dtype == np.uint8
            and dst.dtype == np.float32 and dst.size <= _CONVERT_COPY_ELEMENTS
            and (mode != _k.CONSTANT or (float(cval).is_integer() and 0 <= cval <= 255))):
        # The same row copies into a uint8 batch, then one cast and rescale: for
        # small images the general kernel's per-row work cost 3-5x more (128
        # MNIST flips to float32: 111 us, against 22 + 10 us). The uint8 batch
        # holds the same values (a whole-number cval survives the round trip);
        # past about a megabyte it is an extra trip through memory instead.
        tmp = np.empty(dst.shape, np.uint8)
        if _copy_rows(src, tmp, mats, index, mode, cval, num_threads):
            _k.cast_scale(tmp.reshape(-1), dst.reshape(-1), np.float32(scale))
            return
    if order == 1 and first_whole and _all_whole(mats):
        # Integer matrices (flips, 90-degree turns, whole-pixel shifts) sample pixel
        # centres: bilinear weights would be exactly 0 and 1, and nearest gives the
        # same values faster and copies exactly (even -0.0; and NaN does not leak
        # into neighbours through a zero weight, as it does in scipy).
        order = 0
    shift_on = shifts is not None
    bright_on = brights is not None
    if shifts is None:
        shifts = _cached_vector(n, 0.0)
    if brights is None:
        brights = _cached_vector(n, 1.0)
    to_uint8 = dst.dtype == np.uint8
    src1 = src.reshape(-1)
    # Bytes whatever the output dtype: one kernel signature for uint8 and float32
    # output (the kernel stores float32 values through an intrinsic).
    dst1 = dst.reshape(-1).view(np.uint8)
    lo, hi = float(bright_range[0]), float(bright_range[1])

    kernel = _k.warp_shared
    # 1, 3 and 4 channels compile their own kernel (the count as the length of a
    # tuple, a compile-time constant), any other count shares one.
    ctup = _CHANNEL_TUPLES.get(c, ())
    otup = (0,) * (order + 1)
    if not n:
        return
    threads = max(1, min(num_threads, n))
    # Threads take chunks from a counter inside the kernel (see _pool.run_shared);
    # a single thread takes the batch as one chunk.
    chunk = n if threads == 1 else max(1, -(-n // (threads * _SHARED_CHUNKS_PER_THREAD)))
    ctrl = np.zeros(2, np.int64)

    def run(team: np.ndarray = _NO_TEAM, publish: int = 0, gen: int = 0,
            linger: int = 0) -> None:
        kernel(ctrl, chunk, src1, index, dst1, n, h, w, c, oh, ow, mats, shifts, shift_on,
               brights, bright_on, lo, hi, otup, mode, float(cval), float(scale), to_uint8,
               ctup, team, publish, gen, linger)

    _pool.run_shared(run, ctrl, -(-n // chunk), threads, lingers=True)


_vectors: dict[tuple[int, float | None], np.ndarray] = {}


def _cached_vector(n: int, value: float | None) -> np.ndarray:
    """``np.full(n, value)``, or ``np.arange(n)`` as int64 for ``value=None``, cached.

    The kernel's unused shift and brightness inputs and its identity gather
    index: built once per batch size, not per call. The kernel only reads them;
    they stay writable, as a read-only array would be another Numba signature
    (another compile).
    """
    a = _vectors.get((n, value))
    if a is None:
        if len(_vectors) > 32:
            _vectors.clear()
        a = np.arange(n, dtype=np.int64) if value is None else np.full(n, value)
        _vectors[(n, value)] = a
    return a


def _first_whole(mats: np.ndarray) -> bool:
    """Whether the first entry of ``mats`` is a whole number (or an infinity, as
    for ``np.round``): false for most random matrices, which then skip every
    whole-number test without a pass over the array."""
    first = float(mats.flat[0]) if mats.size else 0.0
    return first.is_integer() or math.isinf(first)


def _all_whole(mats: np.ndarray) -> bool:
    """Whether every entry of ``mats`` is a whole number (infinities count, NaN not)."""
    return bool(np.array_equal(mats, np.round(mats)))


_THREADED_COPY_BYTES = 1 << 20
# uint8 -> float32 row copies go through a uint8 batch up to this many elements.
_CONVERT_COPY_ELEMENTS = 1 << 20

_fills: dict[tuple[float, str, int], np.ndarray] = {}


def _fill_pixel(cval: float, dtype: np.dtype, c: int) -> np.ndarray:
    """``cval`` as the general kernel writes it, ``c`` times (cached, read-only).

    float32(cval) times a scale of 1 in float32, then for uint8 rounded half up
    and clipped to [0, 255].
    """
    key = (cval, dtype.str, c)
    fill = _fills.get(key)
    if fill is None:
        with np.errstate(over="ignore"):
            v = np.float32(cval) * np.float32(1.0)
        if dtype == np.uint8:
            v = min(max(np.floor(v + np.float32(0.5)), np.float32(0.0)), np.float32(255.0))
        fill = np.full(c, v, dtype)
        fill.flags.writeable = False
        if len(_fills) > 64:
            _fills.clear()
        _fills[key] = fill
    return fill


def _copy_rows(src: np.ndarray, dst: np.ndarray, mats: np.ndarray, index: np.ndarray,
               mode: int, cval: float, num_threads: int) -> bool:
    """Warp by row-moving integer matrices as row copies, values copied bit for bit.

    Returns False, having written nothing, when some matrix is not a flip,
    whole-pixel shift or crop (the kernel checks them all). Pixels travel as
    integers: float32 and four-byte pixels as uint32, so one kernel per element
    width serves them (a cast to float32 and back would be the same values,
    except that it quietens signalling NaNs).
    """
    h, w, c = src.shape[1:]
    n, oh, ow, _ = dst.shape
    fill = _fill_pixel(cval, dst.dtype, c)
    src1 = src.reshape(-1)
    dst1 = dst.reshape(-1)
    ce = c
    if ((src.dtype == np.float32 or c == 4) and src1.ctypes.data % 4 == 0
            and dst1.ctypes.data % 4 == 0):
        src1, dst1, fill = src1.view(np.uint32), dst1.view(np.uint32), fill.view(np.uint32)
        ce = c if src.dtype == np.float32 else 1
    kernel = _k.copy_pixels
    # A copy runs at memory speed: below about a megabyte the pool's hand-off
    # (tens of microseconds) costs more than a second thread saves (a CIFAR batch
    # of flips took three times as long on two threads as on one).
    if num_threads == 1 or n == 1 or dst.nbytes < _THREADED_COPY_BYTES:
        return bool(kernel(src1, index, dst1, 0, n, h, w, ce, oh, ow, mats, mode, fill))
    if not kernel(src1, index, dst1, 0, 0, h, w, ce, oh, ow, mats, mode, fill):
        return False  # (an empty range: only the check)

    def chunk(a: int, b: int) -> None:
        kernel(src1, index, dst1, a, b, h, w, ce, oh, ow, mats, mode, fill)

    _pool.run_chunks(chunk, n, num_threads)
    return True


def warp_params(
    src: np.ndarray,
    params: AffineParams,
    spec: WarpSpec,
    *,
    dst: np.ndarray,
    scale: float = 1.0,
    index: np.ndarray | None = None,
    value_range: tuple[float, float] = (0.0, 255.0),
) -> np.ndarray:
    """Warp a validated batch by per-image parameters into ``dst``, in one kernel call.

    ``src`` is C-contiguous (N, H, W, C) uint8/float32 (with ``index``, the whole
    dataset: output ``i`` is warped from ``src[index[i]]``); ``dst`` is a
    C-contiguous (N, H, W, C) uint8/float32 buffer. ``scale`` multiplies before
    the cast; brightness is clipped to ``value_range``. Returns ``dst``.
    """
    h, w = src.shape[1:3]
    n = dst.shape[0]
    if params.n != n:
        raise ValueError(f"params must be for {n} images, got params for {params.n}")
    mats = np.ascontiguousarray(params.matrices(h, w).reshape(n, 6))
    shifts = params.channel_shift
    if shifts is not None:
        shifts = np.ascontiguousarray(shifts, np.float64)
    brights = params.brightness
    if brights is not None:
        brights = np.ascontiguousarray(brights, np.float64)
    warp_nhwc(src, dst, mats, order=spec.order, mode=FILL_MODES.index(spec.fill_mode),
              cval=spec.cval, scale=scale, index=index, shifts=shifts, brights=brights,
              bright_range=value_range, num_threads=spec.num_threads)
    return dst


def warp_affine(
    images: np.ndarray,
    matrices: Any,
    *,
    order: int = 1,
    fill_mode: str = "nearest",
    cval: float = 0.0,
    out_dtype: Any = None,
    scale: float | None = None,
    data_format: str = "channels_last",
    out: np.ndarray | None = None,
    num_threads: int | None = None,
) -> np.ndarray:
    """Warp every image of a batch by its own affine matrix, in one fused pass.

    The convention is ``scipy.ndimage.affine_transform``'s, in (row, col): the output
    pixel at ``(r, c)`` samples the input at ``M[:, :2] @ (r, c) + M[:, 2]``, with
    pixel centres at integer coordinates. Results match scipy applied per channel:
    sample positions are computed with scipy's operations in scipy's order, so
    they are the same doubles wherever every sample coordinate is below 2**52 in
    magnitude (nearest-neighbour output is then identical; bilinear blends in
    float32, see the tests for the tolerances). Beyond that, where the doubles
    have no fractional digits left, each value still comes from the image or is
    ``cval``: the kernel never reads outside the image it warps, for any finite
    matrix.

    Parameters
    ----------
    images : ndarray of uint8 or float32
        Shape (N, H, W, C) for ``channels_last`` or (N, C, H, W) for
        ``channels_first``; any C >= 1 and H, W >= 1; need not be contiguous.
        Never modified.
    matrices : array_like, shape (N, 2, 3) or (2, 3)
        Inverse maps (output pixel -> input coordinate); one (2, 3) is used for
        every image. Must be finite.
    order : {0, 1}
        0 nearest neighbour (ties round up, as in scipy), 1 bilinear.
    fill_mode : {"constant", "nearest", "reflect", "wrap", "mirror"}
        scipy.ndimage's boundary modes: "reflect" is half-sample symmetric
        (``d c b a | a b c d``), "mirror" whole-sample (``d c b | a b c d``), "wrap"
        is scipy's legacy wrap with period ``n - 1``, and "constant" gives ``cval``
        for any sample outside ``[0, n - 1]`` without blending.
    cval : float
        Fill value for "constant".
    out_dtype : {None, numpy.uint8, numpy.float32}
        Output dtype; defaults to the input's. uint8 output is rounded half up
        and clipped to [0, 255].
    scale : float, optional
        Multiplier applied inside the kernel before the cast (e.g. ``1/255``).
    data_format : {"channels_last", "channels_first"}
        Layout of ``images`` and of the result.
    out : ndarray, optional
        Buffer for the result, of the output's shape and dtype; returned.
    num_threads : int, optional
        Threads to split the batch over; default all usable cores (on a
        prefetching stream's worker thread, its share: see :mod:`fastaug.stream`).

    Returns
    -------
    ndarray
        The warped batch, in ``data_format`` layout.

    Examples
    --------
    >>> import numpy as np
    >>> import fastaug
    >>> x = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    >>> flip = [[1, 0, 0], [0, -1, 3]]          # col -> 3 - col: a horizontal flip
    >>> y = fastaug.warp_affine(x, flip)
    >>> bool((y == x[:, :, ::-1]).all())
    True
    >>> fastaug.warp_affine(x, flip, out_dtype=np.float32, scale=1 / 255).dtype
    dtype('float32')
    """
    check_choice("data_format", data_format, DATA_FORMATS)
    src = check_images(images, data_format)
    n, h, w, c = src.shape
    mats = check_matrices(matrices, n)
    order = check_order(order)
    check_choice("fill_mode", fill_mode, FILL_MODES)
    cval = check_real("cval", cval)
    scale = 1.0 if scale is None else check_scale(scale)
    odt = check_dtype("out_dtype", out_dtype, IMAGE_DTYPES) or src.dtype
    nthreads = _pool.resolve_threads(num_threads)
    shape = (n, h, w, c) if data_format == "channels_last" else (n, c, h, w)
    if out is not None:
        check_out(out, shape, odt)
    # Write straight into the caller's buffer when its layout allows and it does
    # not overlap the input; otherwise warp into a fresh array and copy.
    direct = (
        out is not None
        and data_format == "channels_last"
        and out.flags.c_contiguous
        and not np.may_share_memory(out, images)
    )
    dst = out if direct else np.empty((n, h, w, c), odt)
    warp_nhwc(src, dst, mats, order=order, mode=FILL_MODES.index(fill_mode), cval=cval,
              scale=scale, num_threads=nthreads)
    result = dst if data_format == "channels_last" else dst.transpose(0, 3, 1, 2)
    if out is None:
        return np.ascontiguousarray(result)
    if not direct:
        np.copyto(out, result)
    return out
