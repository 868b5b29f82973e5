"""Colour transforms with torchvision.transforms.v2's names, arguments and semantics.

Each image of a batch gets its own draw: ``ColorJitter`` its own factors *and*
its own order of the four operations (torchvision draws one permutation per
call, which for a batch of independently transformed images is one per image),
the ``Random*`` transforms their own coin. The pixels are computed by the
kernels of :mod:`fastaug._kernels.color` with torchvision's float32 operations
in torchvision's order (uint8 images are clamped and truncated after every
operation, as torchvision's ``adjust_*`` functions do), so that results match
``torchvision.transforms.v2.functional`` given the same parameters.

Every transform makes one ``"color"`` :class:`~fastaug.transforms.Step` whose
``options["op"]`` names the operation; :func:`apply_color` runs it on a batch
of one size (channels last).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from fastaug import _pool
from fastaug._kernels import color as _k
from fastaug._validate import check_int, check_real
from fastaug.transforms._params import Step
from fastaug.transforms._transforms import Transform, _probability

__all__ = ["ColorJitter", "Grayscale", "RandomAdjustSharpness", "RandomAutocontrast",
           "RandomEqualize", "RandomGrayscale", "RandomInvert", "RandomPosterize",
           "RandomSolarize", "apply_color"]

_F32 = np.float32
_JITTER = ("brightness", "contrast", "saturation", "hue")


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _jitter_range(name: str, value: Any, center: float = 1.0,
                  bound: tuple[float, float] = (0.0, float("inf")),
                  clip_first_on_zero: bool = True) -> tuple[float, float] | None:
    """torchvision ``ColorJitter._check_input``: None, a number or a ``(min, max)`` pair."""
    if value is None:
        return None
    if _is_real(value):
        d = check_real(name, value, low=0.0)
        lo, hi = center - d, center + d
        if clip_first_on_zero:
            lo = max(lo, 0.0)
    elif isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, str) and (
            len(value) == 2):
        lo = check_real(f"{name}[0]", value[0])
        hi = check_real(f"{name}[1]", value[1])
    else:
        raise TypeError(f"{name} must be None, a non-negative number or a pair (min, max), "
                        f"got {value!r}")
    if not bound[0] <= lo <= hi <= bound[1]:
        raise ValueError(f"{name} must give a range (min, max) with {bound[0]:g} <= min <= "
                         f"max <= {bound[1]:g}, got {value!r} (the range {(lo, hi)})")
    return None if lo == hi == center else (lo, hi)


class ColorJitter(Transform):
    """Randomly change brightness, contrast, saturation and hue (torchvision ``ColorJitter``).

    Every image draws its own factors, uniform in the ranges, and its own random
    order of the four operations. The operations are torchvision's
    ``adjust_brightness``, ``adjust_contrast`` (blend with the mean of the
    grayscale image), ``adjust_saturation`` (blend with the grayscale image) and
    ``adjust_hue`` (a shift in HSV space); on uint8 images every operation is
    clamped and truncated to uint8, as torchvision's are. Saturation and hue
    leave one-channel images as they are; images need 1 or 3 channels.

    Parameters
    ----------
    brightness, contrast, saturation : float or (float, float), optional
        A number ``d >= 0`` means factors in ``[max(0, 1 - d), 1 + d]``; a pair
        ``(min, max)`` of non-negative numbers is the range itself. None (or a
        range that is only 1) leaves the operation out.
    hue : float or (float, float), optional
        ``d`` in ``[0, 0.5]`` means shifts in ``[-d, d]``; a pair with
        ``-0.5 <= min <= max <= 0.5`` is the range.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import ColorJitter
    >>> x = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    >>> y = ColorJitter(0.4, 0.4, 0.4, 0.1)(x, rng=0)
    >>> y.shape, y.dtype
    ((4, 8, 8, 3), dtype('uint8'))
    >>> bool((ColorJitter(brightness=(0, 0))(x) == 0).all())
    True
    """

    def __init__(self, brightness: Any = None, contrast: Any = None, saturation: Any = None,
                 hue: Any = None) -> None:
        self.brightness = _jitter_range("brightness", brightness)
        self.contrast = _jitter_range("contrast", contrast)
        self.saturation = _jitter_range("saturation", saturation)
        self.hue = _jitter_range("hue", hue, center=0.0, bound=(-0.5, 0.5),
                                 clip_first_on_zero=False)

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        n = len(sizes)
        # A uniform random permutation per image (torchvision: torch.randperm(4) per call).
        order = np.argsort(g.random((n, 4)), axis=1).astype(np.int64)
        values: dict[str, np.ndarray] = {"order": order}
        for name in _JITTER:
            rng = getattr(self, name)
            if rng is not None:
                values[name] = g.uniform(rng[0], rng[1], n)
        return [Step("ColorJitter", "color", values, {"op": "jitter"})]


class Grayscale(Transform):
    """Convert to grayscale (torchvision ``Grayscale``).

    ``0.2989 R + 0.587 G + 0.114 B`` (truncated for uint8), repeated to
    ``num_output_channels``; a one-channel image is copied (or repeated).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import Grayscale
    >>> x = np.full((2, 4, 4, 3), (255, 0, 0), np.uint8)
    >>> y = Grayscale()(x)
    >>> y.shape, int(y[0, 0, 0, 0])
    ((2, 4, 4, 1), 76)
    """

    def __init__(self, num_output_channels: int = 1) -> None:
        k = check_int("num_output_channels", num_output_channels)
        if k not in (1, 3):
            raise ValueError(f"num_output_channels must be 1 or 3, got {num_output_channels!r}")
        self.num_output_channels = k

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        return [Step("Grayscale", "color", {"apply": np.ones(len(sizes), bool)},
                     {"op": "grayscale", "num_output_channels": self.num_output_channels})]


class _RandomApply(Transform):
    """Apply an operation to each image with probability ``p`` (its own coin per image)."""

    _op = ""

    def __init__(self, p: float = 0.5) -> None:
        self.p = _probability(p)

    def _options(self) -> dict[str, Any]:
        return {}

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        # torchvision applies when torch.rand(1) < p.
        apply = g.random(len(sizes)) < self.p
        return [Step(type(self).__name__, "color", {"apply": apply},
                     {"op": self._op, **self._options()})]


class RandomGrayscale(_RandomApply):
    """Convert to grayscale with probability ``p``, keeping the channel count (torchvision).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import RandomGrayscale
    >>> x = np.full((2, 4, 4, 3), (255, 0, 0), np.uint8)
    >>> RandomGrayscale(p=1.0)(x)[0, 0, 0].tolist()
    [76, 76, 76]
    """

    _op = "grayscale"

    def __init__(self, p: float = 0.1) -> None:
        super().__init__(p)

    def _options(self) -> dict[str, Any]:
        return {"num_output_channels": None}  # as many as the input has


class RandomInvert(_RandomApply):
    """Invert the colours with probability ``p`` (``255 - x`` or ``1 - x``; torchvision).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import RandomInvert
    >>> RandomInvert(p=1.0)(np.full((1, 2, 2, 3), 10, np.uint8))[0, 0, 0].tolist()
    [245, 245, 245]
    """

    _op = "invert"


class RandomPosterize(_RandomApply):
    """Keep the ``bits`` high bits of every channel with probability ``p`` (torchvision).

    uint8: ``x & mask``; float32 (as torchvision's functional):
    ``floor(x * 2**bits)`` clamped to ``[0, 2**bits - 1]``, divided by ``2**bits``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import RandomPosterize
    >>> RandomPosterize(bits=2, p=1.0)(np.full((1, 1, 1, 1), 200, np.uint8)).item()
    192
    """

    _op = "posterize"

    def __init__(self, bits: int, p: float = 0.5) -> None:
        super().__init__(p)
        self.bits = check_int("bits", bits, low=0, high=8)

    def _options(self) -> dict[str, Any]:
        return {"bits": self.bits}


class RandomSolarize(_RandomApply):
    """Invert the values ``>= threshold`` with probability ``p`` (torchvision).

    ``threshold`` is in the images' scale (0-255 for uint8, 0-1 for float32);
    one above the dtype's maximum is a ValueError when applied.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import RandomSolarize
    >>> x = np.array([10, 200], np.uint8).reshape(1, 1, 2, 1)
    >>> RandomSolarize(128, p=1.0)(x).ravel().tolist()
    [10, 55]
    """

    _op = "solarize"

    def __init__(self, threshold: float, p: float = 0.5) -> None:
        super().__init__(p)
        self.threshold = check_real("threshold", threshold)

    def _options(self) -> dict[str, Any]:
        return {"threshold": self.threshold}


class RandomAutocontrast(_RandomApply):
    """Stretch every channel to the full range with probability ``p`` (torchvision).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import RandomAutocontrast
    >>> x = np.array([50, 100, 150], np.uint8).reshape(1, 1, 3, 1)
    >>> RandomAutocontrast(p=1.0)(x).ravel().tolist()  # float32 (x - 50) / (100 / 255)
    [0, 127, 254]
    """

    _op = "autocontrast"


class RandomEqualize(_RandomApply):
    """Equalise the histogram of every channel with probability ``p`` (torchvision).

    torchvision's (and Pillow's) lookup table on uint8 values; float32 images
    are converted to uint8 and back (``x * 255.999`` truncated, then ``/ 255``),
    as torchvision's are.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import RandomEqualize
    >>> x = np.repeat(np.arange(64, dtype=np.uint8), 16).reshape(1, 32, 32, 1)
    >>> RandomEqualize(p=1.0)(x)[0, ::4, 0, 0].tolist()  # values 0, 8, 16, ...
    [0, 43, 85, 128, 171, 213, 255, 255]
    """

    _op = "equalize"


class RandomAdjustSharpness(_RandomApply):
    """Sharpen (factor > 1) or blur (< 1) with probability ``p`` (torchvision).

    Blends the interior pixels with torchvision's 3x3 smoothing filter
    (``[[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13``); the border rows and columns
    are kept, and images of 2 or fewer rows or columns are returned as they are.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import RandomAdjustSharpness
    >>> x = np.zeros((1, 3, 3, 1), np.uint8); x[0, 1, 1] = 130
    >>> RandomAdjustSharpness(0.0, p=1.0)(x)[0, :, :, 0].tolist()
    [[0, 0, 0], [0, 50, 0], [0, 0, 0]]
    """

    _op = "sharpness"

    def __init__(self, sharpness_factor: float, p: float = 0.5) -> None:
        super().__init__(p)
        self.sharpness_factor = check_real("sharpness_factor", sharpness_factor, low=0.0)

    def _options(self) -> dict[str, Any]:
        return {"sharpness_factor": self.sharpness_factor}


# --------------------------------------------------------------------------- pixels


def _check_channels(c: int, what: str) -> None:
    if c not in (1, 3):
        raise TypeError(f"{what} needs images with 1 or 3 channels, got {c}")


def _chunks(fn: Callable[[int, int], None], n: int, num_threads: int | None) -> None:
    _pool.run_chunks(fn, n, _pool.resolve_threads(num_threads))


def _jitter(step: Step, src: np.ndarray, u8: bool, num_threads: int | None,
            epilogue: tuple[np.ndarray, np.ndarray, bool] | None = None) -> np.ndarray:
    n, npix, c = src.shape
    _check_channels(c, "ColorJitter")
    v = step.values
    order = np.array(v["order"], np.int64, copy=True).reshape(n, 4)
    factors = np.zeros((n, 8), np.float32)
    for k, name in enumerate(_JITTER):
        if name not in v or (c == 1 and name in ("saturation", "hue")):
            order[order == k] = -1  # not drawn, or the identity (one channel)
            continue
        f = np.asarray(v[name], np.float64).reshape(n)
        # torchvision casts the Python float factor (and 1 - factor) to float32.
        factors[:, k] = f.astype(_F32)
        factors[:, 4 + k] = (1.0 - f).astype(_F32)
    if epilogue is None:
        dst = np.empty_like(src)
        mul = add = np.zeros(c, _F32)
        planar = False
    else:
        mul = np.ascontiguousarray(np.broadcast_to(epilogue[0], (c,)), _F32)
        add = np.ascontiguousarray(np.broadcast_to(epilogue[1], (c,)), _F32)
        planar = bool(epilogue[2])
        dst = np.empty((n, c, npix) if planar else (n, npix, c), _F32)
    kern = _k.jitter
    affine = epilogue is not None

    def chunk(a: int, b: int) -> None:
        kern(src, dst, a, b, order, factors, u8, affine, mul, add, planar)

    _chunks(chunk, n, num_threads)
    return dst


def _grayscale(step: Step, src: np.ndarray, u8: bool, num_threads: int | None) -> np.ndarray:
    n, npix, c = src.shape
    _check_channels(c, step.name)
    apply = np.ascontiguousarray(step.values["apply"], bool).reshape(n)
    co = step.options["num_output_channels"] or c
    if c == 1:
        return np.repeat(src, co, axis=2) if co != 1 else src.copy()
    dst = np.empty((n, npix, co), src.dtype)

    def chunk(a: int, b: int) -> None:
        _k.grayscale(src, dst, a, b, apply, u8)

    _chunks(chunk, n, num_threads)
    return dst


def _apply_luts(src: np.ndarray, luts: np.ndarray, apply: np.ndarray,
                num_threads: int | None) -> np.ndarray:
    """``luts[i, k]`` applied to channel ``k`` of the uint8 images ``i`` where ``apply``."""
    n, npix, c = src.shape
    dst = src.copy()
    idx = np.flatnonzero(apply)
    if len(idx) == 0 or npix == 0:
        return dst
    tables = np.ascontiguousarray(np.broadcast_to(luts, (n, c, 256))[idx], np.uint8)
    tables = tables.reshape(len(idx), c * 256)
    flat = dst.reshape(n, npix * c)

    def chunk(a: int, b: int) -> None:
        _k.lut_idx(flat, idx, a, b, tables, c)

    _chunks(chunk, len(idx), num_threads)
    return dst


def _float_op(src: np.ndarray, op: int, prm: np.ndarray, apply: np.ndarray,
              num_threads: int | None) -> np.ndarray:
    dst = np.empty_like(src)
    prm = np.ascontiguousarray(prm, _F32)

    def chunk(a: int, b: int) -> None:
        _k.float_ops(src, dst, a, b, op, prm, apply)

    _chunks(chunk, len(src), num_threads)
    return dst


def _minmax(src: np.ndarray, apply: np.ndarray, num_threads: int | None) -> np.ndarray:
    """Per image and channel (minimum, maximum) as float32, (N, C, 2); zeros where not apply."""
    if src.dtype == np.uint8:
        n, npix, c = src.shape
        idx = np.flatnonzero(apply)
        mm = np.zeros((len(idx), c, 2), np.uint8)
        flat = src.reshape(n, npix * c)

        def chunk_u8(a: int, b: int) -> None:
            _k.minmax_idx(flat, idx, a, b, c, mm)

        _chunks(chunk_u8, len(idx), num_threads)
        res = np.zeros((n, c, 2), _F32)
        res[idx] = mm
        return res
    out = np.zeros((src.shape[0], src.shape[2], 2), _F32)

    def chunk(a: int, b: int) -> None:
        _k.minmax(src, out, a, b, apply)

    _chunks(chunk, len(src), num_threads)
    return out


def _equalize_luts(src: np.ndarray, apply: np.ndarray, num_threads: int | None) -> np.ndarray:
    """torchvision ``equalize_image``'s lookup tables, (N, C, 256) uint8."""
    n, npix, c = src.shape
    idx = np.flatnonzero(apply)
    sub = np.zeros((len(idx), c * 256), np.int64)
    flat = src.reshape(n, npix * c)

    def chunk(a: int, b: int) -> None:
        _k.hist_idx(flat, idx, a, b, c, sub)

    _chunks(chunk, len(idx), num_threads)
    hist = np.zeros((n, c, 256), np.int64)
    hist[idx] = sub.reshape(len(idx), c, 256)
    return _equalize_from_hist(hist, npix)


def _equalize_from_hist(hist: np.ndarray, npix: int) -> np.ndarray:
    """torchvision ``equalize_image``'s (N, C, 256) uint8 tables from (N, C, 256) histograms."""
    cum = hist.cumsum(axis=-1)
    # The last non-empty bin is the first where the cumulative count peaks.
    last = cum.argmax(axis=-1)[..., None]
    step = (npix - np.take_along_axis(hist, last, axis=-1)) // 255
    lut = np.empty(hist.shape, np.int64)
    lut[..., 0] = 0
    lut[..., 1:] = np.clip((cum[..., :-1] + step // 2) // np.maximum(step, 1), 0, 255)
    # step == 0 (almost one value): the image is returned as it is.
    return np.where(step != 0, lut, np.arange(256)).astype(np.uint8)


def _autocontrast_params(mm: np.ndarray, bound: float) -> tuple[np.ndarray, np.ndarray]:
    lo = mm[..., 0].copy()
    inv = (mm[..., 1] - mm[..., 0]) * _F32(1.0 / bound)
    eq = mm[..., 1] == mm[..., 0]
    lo[eq] = 0.0
    inv[eq] = 1.0
    return lo, inv


def _sharpness(step: Step, src: np.ndarray, shape: tuple[int, ...], u8: bool,
               apply: np.ndarray, num_threads: int | None) -> np.ndarray:
    n, h, w, c = shape
    _check_channels(c, "RandomAdjustSharpness")
    if h <= 2 or w <= 2:
        return src.copy()
    factor = float(step.options["sharpness_factor"])
    if u8:
        dst = src.copy()
        idx = np.flatnonzero(apply)
        rests = np.full(len(idx), 1.0 - factor, _F32)
        flat = dst.reshape(n, h * w * c)

        def chunk_u8(a: int, b: int) -> None:
            _k.sharpness_idx(flat, idx, a, b, h, w, c, rests)

        _chunks(chunk_u8, len(idx), num_threads)
        return dst
    dst = np.empty_like(src)

    def chunk(a: int, b: int) -> None:
        _k.sharpness(src, dst, a, b, h, w, _F32(1.0 - factor), apply, u8)

    _chunks(chunk, n, num_threads)
    return dst


def fuses_epilogue(step: Step) -> bool:
    """Whether :func:`apply_color` can write ``step``'s result through an epilogue."""
    return step.options["op"] == "jitter"


def apply_color(step: Step, images: np.ndarray, num_threads: int | None,
                epilogue: tuple[np.ndarray, np.ndarray, str] | None = None) -> np.ndarray:
    """Run one ``"color"`` step on an (N, H, W, C) uint8 or float32 batch; a new array.

    Parameters
    ----------
    step : Step
        A step of the transforms of this module (``options["op"]`` names it).
    images : ndarray, shape (N, H, W, C)
        uint8 or float32, channels last; not modified.
    num_threads : int, optional
        Threads over the images (default: all usable cores).
    epilogue : (mul, add, data_format), optional
        Only for steps where :func:`fuses_epilogue` is true: write
        ``value * mul + add`` (per channel) as float32 in ``data_format``
        (``"channels_last"`` or ``"channels_first"``) instead of the step's own
        result: a recipe's ``ToDtype``/``Normalize`` in the same store.

    Returns
    -------
    ndarray
        The result, of the input's dtype and size (``Grayscale`` may change the
        channel count); float32, (N, C, H, W) for channels first, with an epilogue.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms._color import RandomInvert, apply_color
    >>> x = np.zeros((3, 2, 2, 1), np.uint8)
    >>> step = RandomInvert(p=1.0).make_steps(np.array([[2, 2]] * 3), np.random.default_rng(0))[0]
    >>> apply_color(step, x, 1).max()
    np.uint8(255)
    """
    x = np.ascontiguousarray(images)
    if x.dtype not in (np.uint8, np.float32):
        raise TypeError(f"images must be uint8 or float32, got {x.dtype}")
    n, h, w, c = x.shape
    u8 = x.dtype == np.uint8
    src = x.reshape(n, h * w, c)
    op = step.options["op"]
    if epilogue is not None:
        if not fuses_epilogue(step):
            raise ValueError(f"the {op!r} colour step has no fused epilogue")
        mul, add, data_format = epilogue
        out = _jitter(step, src, u8, num_threads, (mul, add, data_format == "channels_first"))
        if data_format == "channels_first":
            return out.reshape(n, c, h, w)
        return out.reshape(n, h, w, c)
    if op == "jitter":
        out = _jitter(step, src, u8, num_threads)
    elif op == "grayscale":
        out = _grayscale(step, src, u8, num_threads)
    else:
        apply = np.ascontiguousarray(step.values["apply"], bool).reshape(n)
        if n == 0 or not apply.any() or h * w == 0:
            return x.copy()
        out = _pointwise(step, op, src, (n, h, w, c), u8, apply, num_threads)
    return out.reshape(n, h, w, out.shape[2])


def _pointwise(step: Step, op: str, src: np.ndarray, shape: tuple[int, ...], u8: bool,
               apply: np.ndarray, num_threads: int | None) -> np.ndarray:
    n, _, c = src.shape
    bound = 255.0 if u8 else 1.0
    if op == "invert":
        if u8:
            return _apply_luts(src, np.broadcast_to(255 - np.arange(256), (n, c, 256)), apply,
                               num_threads)
        return _float_op(src, _k.INVERT, np.zeros((n, c, 2)), apply, num_threads)
    if op == "solarize":
        t = float(step.options["threshold"])
        if t > bound:
            raise ValueError(f"threshold must be <= {bound:g} (the maximum of {src.dtype} "
                             f"images), got {t!r}")
        if u8:
            v = np.arange(256)
            lut = np.where(v.astype(_F32) >= _F32(t), 255 - v, v)
            return _apply_luts(src, np.broadcast_to(lut, (n, c, 256)), apply, num_threads)
        prm = np.zeros((n, c, 2))
        prm[..., 0] = _F32(t)
        return _float_op(src, _k.SOLARIZE, prm, apply, num_threads)
    if op == "posterize":
        bits = int(step.options["bits"])
        if u8:
            mask = ((1 << bits) - 1) << (8 - bits)
            lut = np.arange(256) & mask
            return _apply_luts(src, np.broadcast_to(lut, (n, c, 256)), apply, num_threads)
        prm = np.zeros((n, c, 2))
        prm[..., 0] = 1 << bits
        prm[..., 1] = 1.0 / (1 << bits)
        return _float_op(src, _k.POSTERIZE, prm, apply, num_threads)
    if op == "autocontrast":
        _check_channels(c, "RandomAutocontrast")
        lo, inv = _autocontrast_params(_minmax(src, apply, num_threads), bound)
        if u8:
            v = np.arange(256, dtype=_F32)
            y = (v - lo[..., None]) / inv[..., None]
            lut = np.clip(y, 0, 255).astype(np.uint8)
            return _apply_luts(src, lut, apply, num_threads)
        return _float_op(src, _k.AUTOCONTRAST, np.stack([lo, inv], -1), apply, num_threads)
    if op == "equalize":
        if u8:
            return _apply_luts(src, _equalize_luts(src, apply, num_threads), apply, num_threads)
        # torchvision equalizes float images as uint8 (x * 255.999, truncated) and
        # converts back, also where the lookup table is the identity.
        q = (np.clip(src, 0.0, 1.0) * _F32(255.999)).astype(np.uint8)
        eq = _apply_luts(q, _equalize_luts(q, apply, num_threads), apply, num_threads)
        return np.where(apply[:, None, None], eq.astype(_F32) * _F32(1.0 / 255.0), src)
    if op == "sharpness":
        return _sharpness(step, src, shape, u8, apply, num_threads)
    raise ValueError(f"unknown colour operation {op!r}")
