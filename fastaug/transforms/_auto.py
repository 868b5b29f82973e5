"""Auto-augment policies with torchvision.transforms.v2's op tables, drawn per image.

``TrivialAugmentWide``, ``RandAugment`` and ``AutoAugment`` use torchvision's
operation tables (the dict order of ``_AUGMENTATION_SPACE``), magnitude bins,
signed magnitudes and AutoAugment's sub-policies, and apply every operation as
torchvision's ``_apply_image_or_video_transform`` does. The one difference is
the draw: torchvision draws one operation (and magnitude) per call, which it
applies to the one image it is given; here every image of a batch draws its
own, so one batch call equals torchvision called on each image.

Every transform makes one ``"auto"`` :class:`~fastaug.transforms.Step`:
``values["ops"]`` (N, R) int64 codes into :data:`OPS` (R rounds, applied in
order; ``Identity`` where nothing happens) and ``values["magnitudes"]`` (N, R)
float64 signed magnitudes, ``options`` ``interpolation`` and ``fill``.
:func:`apply_auto` runs it on a batch of one size: per round, the images are
grouped by operation; the geometric ones (ShearX/Y, TranslateX/Y, Rotate) go
through one warp of the fused affine kernel with a matrix per image (the
whole-pixel translations as shifted copies), each colour operation through the
colour kernels of :mod:`fastaug._kernels.color` on its images only. uint8
colour operations run in place on the images of the batch that drew them (a
per-image 256-entry table for all but Color and Sharpness, computed with the
kernels' float32 arithmetic); float32 ones on a gathered subset, written back.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from fastaug import _pool
from fastaug._kernels import color as _k
from fastaug._validate import check_choice, check_int
from fastaug.transforms._affine import _scipy_matrices, inverse_affine_theta, tv_affine
from fastaug.transforms._color import (
    _autocontrast_params,
    _check_channels,
    _chunks,
    _equalize_from_hist,
    _float_op,
    apply_color,
)
from fastaug.transforms._params import Step
from fastaug.transforms._transforms import Transform, _affine_interpolation, _fill
from fastaug.warp import warp_affine

__all__ = ["OPS", "AutoAugment", "RandAugment", "TrivialAugmentWide", "apply_auto",
           "auto_step", "magnitude_table"]

_F32 = np.float32

#: Operation codes of ``"auto"`` steps (``values["ops"]`` indexes this tuple).
OPS = ("Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness",
       "Color", "Contrast", "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize",
       "Invert")
_CODE = {name: i for i, name in enumerate(OPS)}
_GEOMETRIC = np.array([_CODE[n] for n in ("ShearX", "ShearY", "TranslateX", "TranslateY",
                                          "Rotate")])
_WARPED = np.array([_CODE[n] for n in ("ShearX", "ShearY", "Rotate")])
_TRANSLATIONS = np.array([_CODE["TranslateX"], _CODE["TranslateY"]])
# Images of at least this many bytes are copied one by one (no gathered
# temporary); smaller ones with fancy indexing (less Python per image), and the
# first round then starts from a copy of the whole batch, as later rounds.
_BIG_BYTES = 32768
# Padded images per thread that one nearest warp call works through (cache sized).
_CHUNK_BYTES = 1 << 19


def _is_big(x: np.ndarray) -> bool:
    return x[0].nbytes >= _BIG_BYTES if len(x) else False


# Per-code flags: a table lookup per round instead of np.isin (a sort) per group.
_IS_WARPED = np.isin(np.arange(len(OPS)), _WARPED)
_IS_TRANSLATION = np.isin(np.arange(len(OPS)), _TRANSLATIONS)
_IS_GEOMETRIC = np.isin(np.arange(len(OPS)), _GEOMETRIC)
_JITTER_ID = {"Brightness": _k.BRIGHTNESS, "Contrast": _k.CONTRAST, "Color": _k.SATURATION}
_JITTER_NAME = {"Brightness": "brightness", "Contrast": "contrast", "Color": "saturation"}

# Magnitude tables: (kind, argument, signed). "lin": torch.linspace(0, argument, bins);
# "lin_w"/"lin_h": linspace(0, 150 / 331 * width (height), bins); "post": torchvision's
# posterize bins with its span; "sol": linspace(1, 0, bins); None: no magnitude (0.0).
_Space = dict[str, tuple[str | None, float, bool]]
_RAND: _Space = {
    "Identity": (None, 0.0, False),
    "ShearX": ("lin", 0.3, True),
    "ShearY": ("lin", 0.3, True),
    "TranslateX": ("lin_w", 150.0 / 331.0, True),
    "TranslateY": ("lin_h", 150.0 / 331.0, True),
    "Rotate": ("lin", 30.0, True),
    "Brightness": ("lin", 0.9, True),
    "Color": ("lin", 0.9, True),
    "Contrast": ("lin", 0.9, True),
    "Sharpness": ("lin", 0.9, True),
    "Posterize": ("post", 4.0, False),
    "Solarize": ("sol", 0.0, False),
    "AutoContrast": (None, 0.0, False),
    "Equalize": (None, 0.0, False),
}
_WIDE: _Space = {
    "Identity": (None, 0.0, False),
    "ShearX": ("lin", 0.99, True),
    "ShearY": ("lin", 0.99, True),
    "TranslateX": ("lin", 32.0, True),
    "TranslateY": ("lin", 32.0, True),
    "Rotate": ("lin", 135.0, True),
    "Brightness": ("lin", 0.99, True),
    "Color": ("lin", 0.99, True),
    "Contrast": ("lin", 0.99, True),
    "Sharpness": ("lin", 0.99, True),
    "Posterize": ("post", 6.0, False),
    "Solarize": ("sol", 0.0, False),
    "AutoContrast": (None, 0.0, False),
    "Equalize": (None, 0.0, False),
}
# AutoAugment: RandAugment's ranges without Identity, with Invert.
_AUTO: _Space = {k: v for k, v in _RAND.items() if k != "Identity"}
_AUTO["Invert"] = (None, 0.0, False)
SPACES: dict[str, _Space] = {"RandAugment": _RAND, "TrivialAugmentWide": _WIDE,
                             "AutoAugment": _AUTO}

# torchvision's AutoAugment sub-policies: ((op, probability, magnitude bin), (...)).
_P = tuple[tuple[str, float, int | None], tuple[str, float, int | None]]
POLICIES: dict[str, tuple[_P, ...]] = {
    "imagenet": (
        (("Posterize", 0.4, 8), ("Rotate", 0.6, 9)),
        (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
        (("Posterize", 0.6, 7), ("Posterize", 0.6, 6)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
        (("Equalize", 0.4, None), ("Rotate", 0.8, 8)),
        (("Solarize", 0.6, 3), ("Equalize", 0.6, None)),
        (("Posterize", 0.8, 5), ("Equalize", 1.0, None)),
        (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)),
        (("Equalize", 0.6, None), ("Posterize", 0.4, 6)),
        (("Rotate", 0.8, 8), ("Color", 0.4, 0)),
        (("Rotate", 0.4, 9), ("Equalize", 0.6, None)),
        (("Equalize", 0.0, None), ("Equalize", 0.8, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
        (("Color", 0.8, 8), ("Solarize", 0.8, 7)),
        (("Sharpness", 0.4, 7), ("Invert", 0.6, None)),
        (("ShearX", 0.6, 5), ("Equalize", 1.0, None)),
        (("Color", 0.4, 0), ("Equalize", 0.6, None)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
        (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
    ),
    "cifar10": (
        (("Invert", 0.1, None), ("Contrast", 0.2, 6)),
        (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9)),
        (("Sharpness", 0.8, 1), ("Sharpness", 0.9, 3)),
        (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.5, None), ("Equalize", 0.9, None)),
        (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
        (("Color", 0.4, 3), ("Brightness", 0.6, 7)),
        (("Sharpness", 0.3, 9), ("Brightness", 0.7, 9)),
        (("Equalize", 0.6, None), ("Equalize", 0.5, None)),
        (("Contrast", 0.6, 7), ("Sharpness", 0.6, 5)),
        (("Color", 0.7, 7), ("TranslateX", 0.5, 8)),
        (("Equalize", 0.3, None), ("AutoContrast", 0.4, None)),
        (("TranslateY", 0.4, 3), ("Sharpness", 0.2, 6)),
        (("Brightness", 0.9, 6), ("Color", 0.2, 8)),
        (("Solarize", 0.5, 2), ("Invert", 0.0, None)),
        (("Equalize", 0.2, None), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.2, None), ("Equalize", 0.6, None)),
        (("Color", 0.9, 9), ("Equalize", 0.6, None)),
        (("AutoContrast", 0.8, None), ("Solarize", 0.2, 8)),
        (("Brightness", 0.1, 3), ("Color", 0.7, 0)),
        (("Solarize", 0.4, 5), ("AutoContrast", 0.9, None)),
        (("TranslateY", 0.9, 9), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.9, None), ("Solarize", 0.8, 3)),
        (("Equalize", 0.8, None), ("Invert", 0.1, None)),
        (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, None)),
    ),
    "svhn": (
        (("ShearX", 0.9, 4), ("Invert", 0.2, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.6, None), ("Solarize", 0.6, 6)),
        (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("AutoContrast", 0.8, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.4, None)),
        (("ShearY", 0.9, 5), ("Solarize", 0.2, 6)),
        (("Invert", 0.9, None), ("AutoContrast", 0.8, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("Solarize", 0.3, 3)),
        (("ShearY", 0.8, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.9, None), ("TranslateY", 0.6, 6)),
        (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Contrast", 0.3, 3), ("Rotate", 0.8, 4)),
        (("Invert", 0.8, None), ("TranslateY", 0.0, 2)),
        (("ShearY", 0.7, 6), ("Solarize", 0.4, 8)),
        (("Invert", 0.6, None), ("Rotate", 0.8, 4)),
        (("ShearY", 0.3, 7), ("TranslateX", 0.9, 3)),
        (("ShearX", 0.1, 6), ("Invert", 0.6, None)),
        (("Solarize", 0.7, 2), ("TranslateY", 0.6, 7)),
        (("ShearY", 0.8, 4), ("Invert", 0.8, None)),
        (("ShearX", 0.7, 9), ("TranslateY", 0.8, 3)),
        (("ShearY", 0.8, 5), ("AutoContrast", 0.7, None)),
        (("ShearX", 0.7, 2), ("Invert", 0.1, None)),
    ),
}


def _linspace32(start: float, end: float, steps: int) -> np.ndarray:
    """``torch.linspace(start, end, steps)`` in float32, value for value.

    PyTorch's CPU kernel computes ``step = (end - start) / (steps - 1)`` in
    float32, then ``start + step * i`` for the first half and
    ``end - step * (steps - 1 - i)`` for the rest, each a fused multiply-add
    (one rounding). The float32 product is exact in float64, so the float64
    sum rounded to float32 is the fused result (checked against torch for
    2..299 steps and every range of the tables).
    """
    s, e = _F32(start), _F32(end)
    if steps == 1:
        return np.array([s], _F32)
    step = np.float64((e - s) / _F32(steps - 1))
    i = np.arange(steps)
    lo = np.float64(s) + step * i
    hi = np.float64(e) - step * (steps - 1 - i)
    return np.where(i < steps // 2, lo, hi).astype(_F32)


def magnitude_table(space: str, op: str, num_bins: int, height: int,
                    width: int) -> np.ndarray | None:
    """torchvision's magnitudes of ``op`` (float64 of the float32 values), or None.

    Parameters
    ----------
    space : {"RandAugment", "TrivialAugmentWide", "AutoAugment"}
        Whose ``_AUGMENTATION_SPACE``.
    op : str
        An operation of that space.
    num_bins : int
        Number of magnitude bins (AutoAugment uses 10).
    height, width : int
        Image size (RandAugment's and AutoAugment's translations scale with it).

    Examples
    --------
    >>> from fastaug.transforms._auto import magnitude_table
    >>> magnitude_table("RandAugment", "Posterize", 31, 32, 32)[[0, 9, 30]].tolist()
    [8.0, 7.0, 4.0]
    >>> magnitude_table("TrivialAugmentWide", "Equalize", 31, 32, 32) is None
    True
    """
    kind, arg, _ = SPACES[space][op]
    if kind is None:
        return None
    if kind == "lin":
        t = _linspace32(0.0, arg, num_bins)
    elif kind == "lin_w":
        t = _linspace32(0.0, arg * width, num_bins)
    elif kind == "lin_h":
        t = _linspace32(0.0, arg * height, num_bins)
    elif kind == "sol":
        t = _linspace32(1.0, 0.0, num_bins)
    else:  # (8 - arange(bins) / ((bins - 1) / span)).round().int(), in float32
        x = np.arange(num_bins).astype(_F32) / _F32((num_bins - 1) / arg)
        t = np.rint(_F32(8.0) - x)
    return t.astype(np.float64)


@functools.lru_cache(maxsize=256)
def _size_tables(space: str, num_bins: int, h: int, w: int) -> np.ndarray:
    """(ops, bins) magnitudes of one image size (0 where none); read-only, cached."""
    names = list(SPACES[space])
    per = np.zeros((len(names), num_bins))
    for j, name in enumerate(names):
        t = magnitude_table(space, name, num_bins, h, w)
        if t is not None:
            per[j] = t
    per.flags.writeable = False
    return per


def _tables(space: str, num_bins: int, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per image (N, ops, bins) magnitudes (0 where none) and the (ops,) signed flags."""
    names = list(SPACES[space])
    signed = np.array([SPACES[space][k][2] for k in names])
    s = np.asarray(sizes, np.int64).reshape(-1, 2)
    # The tables are cached per size, and a batch of one size (the usual case)
    # skips np.unique's row sort: drawing is then a few table lookups a batch.
    if len(s) and (s == s[0]).all():
        uniq, inv = s[:1], np.zeros(len(s), np.intp)
    else:
        uniq, inv = np.unique(s, axis=0, return_inverse=True)
    per = np.stack([_size_tables(space, num_bins, int(h), int(w)) for h, w in uniq]) if len(
        uniq) else np.zeros((0, len(names), num_bins))
    return per[inv.reshape(-1)], signed


def _check_fill(fill: Any) -> tuple[float, ...] | None:
    return None if fill is None else _fill(fill)


def _bins(num_magnitude_bins: Any) -> int:
    # torchvision's Posterize table divides by (bins - 1): one bin is not defined.
    return check_int("num_magnitude_bins", num_magnitude_bins, low=2)


def auto_step(name: str, ops: Any, magnitudes: Any, interpolation: str = "nearest",
              fill: tuple[float, ...] | None = None) -> Step:
    """An ``"auto"`` step from operation names (or codes) and signed magnitudes.

    ``ops`` and ``magnitudes`` are (N,) (one round) or (N, R) (R rounds).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms._auto import apply_auto, auto_step
    >>> x = np.full((2, 4, 4, 1), 200, np.uint8)
    >>> step = auto_step("demo", ["Invert", "Posterize"], [0.0, 2.0])
    >>> apply_auto(step, x, 1)[:, 0, 0, 0].tolist()
    [55, 192]
    """
    codes = np.array([_CODE[o] if isinstance(o, str) else int(o)
                      for o in np.asarray(ops, object).ravel()], np.int64)
    codes = codes.reshape(np.shape(ops))
    if codes.ndim == 1:
        codes = codes[:, None]
    mags = np.asarray(magnitudes, np.float64).reshape(codes.shape)
    return Step(name, "auto", {"ops": codes, "magnitudes": mags},
                {"interpolation": interpolation, "fill": fill})


class _AutoBase(Transform):
    interpolation: str
    fill: tuple[float, ...] | None

    def _step(self, codes: np.ndarray, mags: np.ndarray) -> Step:
        return Step(type(self).__name__, "auto", {"ops": codes, "magnitudes": mags},
                    {"interpolation": self.interpolation, "fill": self.fill})


def _sign(g: np.random.Generator, mags: np.ndarray, signed: np.ndarray) -> np.ndarray:
    # torchvision: if signed and torch.rand(()) <= 0.5: magnitude *= -1
    neg = (g.random(mags.shape) <= 0.5) & signed
    return np.where(neg, -mags, mags)


class TrivialAugmentWide(_AutoBase):
    """TrivialAugment Wide: one random operation at a random magnitude (torchvision).

    torchvision's 14 operations (Identity, ShearX/Y, TranslateX/Y, Rotate,
    Brightness, Color, Contrast, Sharpness, Posterize, Solarize, AutoContrast,
    Equalize) with its "wide" magnitude ranges and random signs. Unlike
    torchvision, which draws one operation and magnitude per call, every image
    of a batch draws its own. Expects uint8 images (float32 in [0, 1] works too),
    1 or 3 channels.

    Parameters
    ----------
    num_magnitude_bins : int
        Number of magnitude bins (>= 2).
    interpolation : {"nearest", "bilinear"}
        Of the geometric operations (also torchvision's ``InterpolationMode``).
    fill : float, sequence of float or None
        Value outside the image after a geometric operation; None is torchvision's
        default (zero padding, no mask blend).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms._auto import TrivialAugmentWide
    >>> x = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    >>> y = TrivialAugmentWide()(x, rng=0)
    >>> y.shape, y.dtype
    ((8, 32, 32, 3), dtype('uint8'))
    """

    _space = "TrivialAugmentWide"

    def __init__(self, num_magnitude_bins: int = 31, interpolation: Any = "nearest",
                 fill: Any = None) -> None:
        self.num_magnitude_bins = _bins(num_magnitude_bins)
        self.interpolation = _affine_interpolation(interpolation)
        self.fill = _check_fill(fill)

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        n = len(sizes)
        table, signed = _tables(self._space, self.num_magnitude_bins, sizes)
        codes_of = np.array([_CODE[k] for k in SPACES[self._space]])
        op = g.integers(0, len(codes_of), n)
        b = g.integers(0, self.num_magnitude_bins, n)
        mags = _sign(g, table[np.arange(n), op, b], signed[op])
        return [self._step(codes_of[op][:, None], mags[:, None])]


class RandAugment(_AutoBase):
    """RandAugment: ``num_ops`` random operations at one magnitude (torchvision).

    torchvision's 14 operations and ranges (translations up to ``150/331`` of
    the image size); every operation uses bin ``magnitude`` of
    ``num_magnitude_bins``, with a random sign where the operation has one.
    Unlike torchvision, which draws the operations once per call, every image
    of a batch draws its own (and its own signs). Expects uint8 images (float32
    in [0, 1] works too), 1 or 3 channels.

    Parameters
    ----------
    num_ops : int
        Operations per image (>= 0), applied one after the other.
    magnitude : int
        Magnitude bin, in ``[0, num_magnitude_bins - 1]``.
    num_magnitude_bins : int
        Number of bins (>= 2).
    interpolation : {"nearest", "bilinear"}
    fill : float, sequence of float or None
        As for :class:`TrivialAugmentWide`.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms._auto import RandAugment
    >>> x = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    >>> RandAugment(num_ops=2, magnitude=9)(x, rng=0).shape
    (8, 32, 32, 3)
    """

    _space = "RandAugment"

    def __init__(self, num_ops: int = 2, magnitude: int = 9, num_magnitude_bins: int = 31,
                 interpolation: Any = "nearest", fill: Any = None) -> None:
        self.num_ops = check_int("num_ops", num_ops, low=0)
        self.num_magnitude_bins = _bins(num_magnitude_bins)
        self.magnitude = check_int("magnitude", magnitude, low=0,
                                   high=self.num_magnitude_bins - 1)
        self.interpolation = _affine_interpolation(interpolation)
        self.fill = _check_fill(fill)

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        n, r = len(sizes), self.num_ops
        table, signed = _tables(self._space, self.num_magnitude_bins, sizes)
        codes_of = np.array([_CODE[k] for k in SPACES[self._space]])
        op = g.integers(0, len(codes_of), (n, r))
        mags = _sign(g, table[np.arange(n)[:, None], op, self.magnitude], signed[op])
        return [self._step(codes_of[op].reshape(n, r), mags.reshape(n, r))]


def _policy(value: Any) -> str:
    # torchvision's AutoAugmentPolicy enum has the names as its values.
    value = getattr(value, "value", value)
    if isinstance(value, str):
        value = value.lower()
    return check_choice("policy", value, tuple(POLICIES))


class AutoAugment(_AutoBase):
    """AutoAugment: a random sub-policy of two operations (torchvision's policies).

    One of the 25 sub-policies of ``policy``; each of its two operations is
    applied with its probability, at its magnitude bin of 10 (RandAugment's
    ranges, plus Invert), with a random sign where the operation has one.
    Unlike torchvision, which draws once per call, every image of a batch
    draws its own sub-policy, coins and signs. Expects uint8 images (float32 in
    [0, 1] works too), 1 or 3 channels.

    Parameters
    ----------
    policy : {"imagenet", "cifar10", "svhn"}
        Also torchvision's ``AutoAugmentPolicy`` members.
    interpolation : {"nearest", "bilinear"}
    fill : float, sequence of float or None
        As for :class:`TrivialAugmentWide`.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms._auto import AutoAugment
    >>> x = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    >>> AutoAugment("cifar10")(x, rng=0).shape
    (8, 32, 32, 3)
    """

    _space = "AutoAugment"

    def __init__(self, policy: Any = "imagenet", interpolation: Any = "nearest",
                 fill: Any = None) -> None:
        self.policy = _policy(policy)
        self.interpolation = _affine_interpolation(interpolation)
        self.fill = _check_fill(fill)
        names = list(SPACES[self._space])
        pol = POLICIES[self.policy]
        self._ops = np.array([[_CODE[o] for o, _, _ in sub] for sub in pol], np.int64)
        self._index = np.array([[names.index(o) for o, _, _ in sub] for sub in pol], np.int64)
        self._p = np.array([[p for _, p, _ in sub] for sub in pol])
        self._bin = np.array([[-1 if b is None else b for _, _, b in sub] for sub in pol],
                             np.int64)

    def __repr__(self) -> str:
        return (f"AutoAugment(policy={self.policy!r}, interpolation={self.interpolation!r}, "
                f"fill={self.fill!r})")

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        n = len(sizes)
        table, signed = _tables(self._space, 10, sizes)
        sub = g.integers(0, len(self._ops), n)
        codes = np.zeros((n, 2), np.int64)
        mags = np.zeros((n, 2))
        for j in range(2):
            # torchvision: if not torch.rand(()) <= p: skip.
            applied = g.random(n) <= self._p[sub, j]
            idx = self._index[sub, j]
            m = table[np.arange(n), idx, np.maximum(self._bin[sub, j], 0)]
            m = np.where(self._bin[sub, j] >= 0, m, 0.0)
            m = _sign(g, m, signed[idx])
            codes[:, j] = np.where(applied, self._ops[sub, j], _CODE["Identity"])
            mags[:, j] = np.where(applied, m, 0.0)
        return [self._step(codes, mags)]


# --------------------------------------------------------------------------- pixels


def _thetas(codes: np.ndarray, m: np.ndarray, h: int, w: int) -> np.ndarray:
    """torchvision's inverse matrices of the geometric operations, per image."""
    n = len(codes)
    z = np.zeros(n)
    one = np.ones(n)
    shear = np.degrees(np.arctan(m))
    is_sx = codes == _CODE["ShearX"]
    is_sy = codes == _CODE["ShearY"]
    is_shear = is_sx | is_sy
    # Translations: translate=[int(m), 0] (int truncates towards zero).
    tx = np.where(codes == _CODE["TranslateX"], np.trunc(m), 0.0)
    ty = np.where(codes == _CODE["TranslateY"], np.trunc(m), 0.0)
    # Rotate: F.rotate(angle=m), i.e. affine with -m (counter-clockwise positive).
    angle = np.where(codes == _CODE["Rotate"], -m, 0.0)
    # Shears pass center=[0, 0]: the top-left corner, relative to the image centre.
    cx = np.where(is_shear, -w * 0.5, 0.0)
    cy = np.where(is_shear, -h * 0.5, 0.0)
    return inverse_affine_theta(angle, tx, ty, one, np.where(is_sx, shear, z),
                                np.where(is_sy, shear, z), cx, cy)


def _warp(x: np.ndarray, theta: np.ndarray, interpolation: str,
          fill: tuple[float, ...] | None, num_threads: int | None) -> np.ndarray:
    if fill is not None:
        return tv_affine(x, theta, interpolation, fill, num_threads)
    # fill=None: torchvision's grid_sample with zero padding and no mask blend.
    n, h, w, c = x.shape
    mats = _scipy_matrices(theta, h, w, 1)
    if interpolation == "nearest":
        padded = np.zeros((n, h + 2, w + 2, c), x.dtype)
        padded[:, 1:-1, 1:-1] = x
        out = warp_affine(padded, mats, order=0, fill_mode="constant", cval=0.0,
                          num_threads=num_threads)
        return np.ascontiguousarray(out[:, :h, :w])
    padded = np.zeros((n, h + 2, w + 2, c), np.float32)
    padded[:, 1:-1, 1:-1] = x
    out = warp_affine(padded, mats, order=1, fill_mode="constant", cval=0.0,
                      num_threads=num_threads)[:, :h, :w]
    if x.dtype == np.uint8:
        # torchvision: round_() (half to even), then the cast.
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(out)


def _warp_nearest_into(src: np.ndarray, out: np.ndarray, idx: np.ndarray, theta: np.ndarray,
                       num_threads: int | None) -> None:
    """:func:`_warp` (nearest, ``fill=None``) of ``src[idx]``, written into ``out[idx]``.

    A chunk of images at a time (about 512 KiB of padded images per thread, at
    least four): each is copied from ``src`` (``out`` itself after the first
    round) into the interior of a zero-padded buffer, warped into a second
    buffer and its crop copied into ``out``. The two buffers are reused chunk
    after chunk, so they stay in cache and are never page-faulted afresh: about
    20% faster (224x224) than padding the whole subset, warping it into a new
    array and scattering the crop back. Small images go in one chunk, copied
    with fancy indexing (a Python loop per image would cost more).
    """
    _, h, w, c = out.shape
    k = len(idx)
    mats = _scipy_matrices(theta, h, w, 1)
    per = (h + 2) * (w + 2) * c * out.itemsize
    chunk = min(k, max(4, _CHUNK_BYTES // max(per, 1)) * _pool.resolve_threads(num_threads))
    pad = np.zeros((chunk, h + 2, w + 2, c), out.dtype)
    res = np.empty_like(pad)
    big = _is_big(out)
    rows = idx.tolist()
    for s in range(0, k, chunk):
        e = min(k, s + chunk)
        if big:
            for j in range(s, e):
                pad[j - s, 1:-1, 1:-1] = src[rows[j]]
        else:
            pad[:e - s, 1:-1, 1:-1] = src[idx[s:e]]
        warp_affine(pad[:e - s], mats[s:e], order=0, fill_mode="constant", cval=0.0,
                    out=res[:e - s], num_threads=num_threads)
        if big:
            for j in range(s, e):
                out[rows[j]] = res[j - s, :h, :w]
        else:
            out[idx[s:e]] = res[:e - s, :h, :w]


def _shift_into(src: np.ndarray, out: np.ndarray, idx: np.ndarray, tx: np.ndarray,
                ty: np.ndarray, fill: tuple[float, ...] | None) -> None:
    """Whole-pixel translations of ``src[idx]`` into ``out[idx]``: ``y[r, c] = x[r-ty, c-tx]``.

    torchvision's translations are integers (``int(m)``) with no rotation, so
    both nearest and bilinear sampling read whole pixels (bilinear up to the
    float32 rounding of PyTorch's grid) and the fill mask is 0 or 1; ``fill``
    (zero for None) outside. One image at a time through a copy that stays in
    cache, instead of gathering the subset and scattering it back; straight
    from ``src`` when it is not ``out`` (the first round).
    """
    _, h, w, c = out.shape
    same = src is out
    fv = np.zeros(c) if fill is None else np.broadcast_to(np.asarray(fill, np.float64), (c,))
    if out.dtype == np.uint8:
        fv = np.clip(np.rint(fv), 0, 255)
    fv = fv.astype(out.dtype)
    # A scalar fill assigns as a memset; a per-channel one broadcasts (slower).
    fval: Any = fv[0] if (fv == fv[0]).all() else fv
    for j, i in enumerate(idx):
        dx, dy = int(tx[j]), int(ty[j])
        y0, y1 = max(0, dy), min(h, h + dy)
        x0, x1 = max(0, dx), min(w, w + dx)
        im = out[i]
        if y0 >= y1 or x0 >= x1:
            im[...] = fval
            continue
        part = src[i, y0 - dy:y1 - dy, x0 - dx:x1 - dx]
        # In place the source overlaps the destination: read it out first.
        im[y0:y1, x0:x1] = part.copy() if same else part
        # The strips the shift uncovered.
        im[:y0] = fval
        im[y1:] = fval
        im[y0:y1, :x0] = fval
        im[y0:y1, x1:] = fval


def _sharpness(x: np.ndarray, factor: np.ndarray, u8: bool,
               num_threads: int | None) -> np.ndarray:
    n, h, w, c = x.shape
    _check_channels(c, "Sharpness")
    if h <= 2 or w <= 2:
        return x.copy()
    # torchvision's alpha is 1 - factor in float64, cast to float32.
    rest = (1.0 - factor).astype(_F32)
    src = x.reshape(n, h * w, c)
    dst = np.empty_like(src)
    apply = np.ones(n, bool)

    def chunk(a: int, b: int) -> None:
        for i in range(a, b):
            _k.sharpness(src, dst, i, i + 1, h, w, rest[i], apply, u8)

    _chunks(chunk, n, num_threads)
    return dst.reshape(x.shape)


_V8 = np.arange(256)
_V32 = _V8.astype(_F32)


def _run(fn: Any, k: int, num_threads: int | None) -> None:
    _pool.run_chunks(fn, k, _pool.resolve_threads(num_threads))


def _color_u8(name: str, out: np.ndarray, idx: np.ndarray, m: np.ndarray,
              num_threads: int | None) -> None:
    """One colour operation on the uint8 images ``out[idx]``, in place.

    Every operation but Color (saturation) and Sharpness is a per-image,
    per-channel function of the value: a 256-entry table computed with the
    colour kernels' float32 arithmetic (value for value the same results), after
    the image statistic it needs (grayscale mean, minimum and maximum,
    histogram). The kernels work on the images of ``idx`` where they lie, so the
    subset is never gathered into a new array and scattered back.
    """
    n, h, w, c = out.shape
    k = len(idx)
    if k == 0 or h * w == 0:
        return
    if name in ("Brightness", "Color", "Contrast", "Sharpness", "AutoContrast"):
        _check_channels(c, name)
    flat = out.reshape(n, h * w * c)
    idx = np.ascontiguousarray(idx, np.int64)
    f = 1.0 + m  # the factor of Brightness, Color, Contrast and Sharpness
    if name == "Color":
        if c == 1:
            return  # adjust_saturation of one channel is the identity
        fs = f.astype(_F32)
        rs = (1.0 - f).astype(_F32)  # torchvision's alpha: 1 - factor in float64
        _run(lambda a, b: _k.saturation_idx(flat, idx, a, b, fs, rs), k, num_threads)
        return
    if name == "Sharpness":
        if h <= 2 or w <= 2:
            return
        rs = (1.0 - f).astype(_F32)
        _run(lambda a, b: _k.sharpness_idx(flat, idx, a, b, h, w, c, rs), k, num_threads)
        return
    luts: np.ndarray
    if name == "Brightness":
        # _op_scale: min(max(v * f, 0), 255) in float32, truncated.
        y = _V32 * f.astype(_F32)[:, None]
        luts = np.floor(np.clip(y, 0, 255))[:, None, :]
    elif name == "Contrast":
        sums = np.zeros(k, np.int64)
        _run(lambda a, b: _k.gray_sum_idx(flat, idx, a, b, c, sums), k, num_threads)
        # torch.mean: the float32 sum divided by the count in float32.
        mean = sums.astype(np.float64).astype(_F32) / _F32(h * w)
        cf = f.astype(_F32)
        cr = (1.0 - f).astype(_F32)
        # _op_blend_const: fma(mean, 1 - f, v * f), clamped and truncated.
        y = (mean.astype(np.float64) * cr.astype(np.float64))[:, None] + (
            _V32 * cf[:, None]).astype(np.float64)
        luts = np.floor(np.clip(y.astype(_F32), 0, 255))[:, None, :]
    elif name == "Posterize":
        bits = m.astype(np.int64)  # posterize(bits=int(m))
        masks = ((1 << bits) - 1) << (8 - bits)
        luts = (_V8 & masks[:, None])[:, None, :]
    elif name == "Solarize":
        # threshold = 255 * m in float64; the comparison casts it to float32.
        t = (255.0 * m).astype(_F32)
        if (t > 255.0).any():  # torchvision's solarize raises too
            raise ValueError(f"Solarize magnitudes must be <= 1 (threshold <= 255), "
                             f"got {m.max()!r}")
        luts = np.where(t[:, None] <= _V32, 255 - _V8, _V8)[:, None, :]
    elif name == "Invert":
        luts = (255 - _V8)[None, None, :]
    elif name == "AutoContrast":
        mm = np.empty((k, c, 2), np.uint8)
        _run(lambda a, b: _k.minmax_idx(flat, idx, a, b, c, mm), k, num_threads)
        lo, inv = _autocontrast_params(mm.astype(_F32), 255.0)
        luts = np.clip((_V32 - lo[..., None]) / inv[..., None], 0, 255)
    elif name == "Equalize":
        hist = np.zeros((k, c * 256), np.int64)
        _run(lambda a, b: _k.hist_idx(flat, idx, a, b, c, hist), k, num_threads)
        luts = _equalize_from_hist(hist.reshape(k, c, 256), h * w)
    else:
        raise ValueError(f"unknown operation {name!r}")
    tables = np.ascontiguousarray(np.broadcast_to(luts, (k, c, 256)), np.uint8).reshape(k, -1)
    _run(lambda a, b: _k.lut_idx(flat, idx, a, b, tables, c), k, num_threads)


def _color(name: str, x: np.ndarray, m: np.ndarray, num_threads: int | None) -> np.ndarray:
    """One colour operation on images ``x`` (N, H, W, C) with per-image magnitudes ``m``."""
    n, h, w, c = x.shape
    u8 = x.dtype == np.uint8
    bound = 255.0 if u8 else 1.0
    ones = np.ones(n, bool)
    if name in _JITTER_ID:
        order = np.full((n, 4), -1, np.int64)
        order[:, 0] = _JITTER_ID[name]
        step = Step(name, "color", {"order": order, _JITTER_NAME[name]: 1.0 + m},
                    {"op": "jitter"})
        return apply_color(step, x, num_threads)
    if name == "Sharpness":
        return _sharpness(x, 1.0 + m, u8, num_threads)
    if name in ("AutoContrast", "Equalize", "Invert"):
        step = Step(name, "color", {"apply": ones}, {"op": name.lower()})
        return apply_color(step, x, num_threads)
    src = x.reshape(n, h * w, c)
    if name == "Posterize":
        bits = m.astype(np.int64)  # posterize(bits=int(m))
        prm = np.zeros((n, c, 2))
        prm[..., 0] = (1 << bits)[:, None]
        prm[..., 1] = 1.0 / (1 << bits)[:, None]
        out = _float_op(src, _k.POSTERIZE, prm, ones, num_threads)
        return out.reshape(x.shape)
    if name == "Solarize":
        # threshold = bound * m in float64; the comparison casts it to float32.
        t = (bound * m).astype(_F32)
        if (t > bound).any():  # torchvision's solarize raises too
            raise ValueError(f"Solarize magnitudes must be <= 1 (threshold <= {bound:g}), "
                             f"got {m.max()!r}")
        prm = np.zeros((n, c, 2))
        prm[..., 0] = t[:, None]
        out = _float_op(src, _k.SOLARIZE, prm, ones, num_threads)
        return out.reshape(x.shape)
    raise ValueError(f"unknown operation {name!r}")


def _copy_images(src: np.ndarray, out: np.ndarray, idx: np.ndarray) -> None:
    """``out[idx] = src[idx]`` image by image, without the gathered temporary."""
    # The groups of a mixed batch are a few images each: a plain loop costs
    # less than finding runs of neighbouring indices.
    for i in idx.tolist():
        out[i] = src[i]


def apply_auto(step: Step, images: np.ndarray, num_threads: int | None) -> np.ndarray:
    """Run one ``"auto"`` step on an (N, H, W, C) uint8 or float32 batch; a new array.

    Parameters
    ----------
    step : Step
        ``values["ops"]`` (N, R) codes into :data:`OPS`, ``values["magnitudes"]``
        (N, R) signed magnitudes; ``options`` ``interpolation`` and ``fill``.
    images : ndarray, shape (N, H, W, C)
        uint8 or float32, channels last; not modified.
    num_threads : int, optional
        Threads over the images (default: all usable cores).

    Returns
    -------
    ndarray
        The result, of the input's shape and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms._auto import apply_auto, auto_step
    >>> x = np.arange(16, dtype=np.uint8).reshape(1, 4, 4, 1)
    >>> step = auto_step("demo", ["TranslateX"], [1.0])
    >>> apply_auto(step, x, 1)[0, 0, :, 0].tolist()
    [0, 0, 1, 2]
    """
    x = np.ascontiguousarray(images)
    if x.dtype not in (np.uint8, np.float32):
        raise TypeError(f"images must be uint8 or float32, got {x.dtype}")
    if x.ndim != 4:
        raise ValueError(f"images must be an (N, H, W, C) array, got shape {x.shape}")
    n, h, w, _ = x.shape
    codes_all = np.asarray(step.values["ops"], np.int64).reshape(n, -1)
    mags_all = np.asarray(step.values["magnitudes"], np.float64).reshape(n, -1)
    if ((codes_all < 0) | (codes_all >= len(OPS))).any():
        raise ValueError(f"ops must be codes in [0, {len(OPS) - 1}] (fastaug.transforms."
                         f"_auto.OPS), got {np.unique(codes_all).tolist()}")
    interpolation = step.options.get("interpolation", "nearest")
    fill = step.options.get("fill")
    if fill is not None and len(fill) not in (1, x.shape[3]):
        raise ValueError(f"fill has {len(fill)} values for images with {x.shape[3]} channels: "
                         f"give one per channel (or one for all), got {tuple(fill)!r}")
    # The first round reads the caller's batch and writes a fresh one: every
    # image is written once (the ones whose operation works in place are
    # copied right before it), instead of the whole batch copied first and
    # then rewritten. Later rounds work on ``out`` in place, and so does the
    # first for small images (one bulk copy beats a Python loop over them).
    direct = _is_big(x)
    out = np.empty_like(x) if direct else x.copy()
    for r in range(codes_all.shape[1]):
        src = x if r == 0 and direct else out
        codes, mags = codes_all[:, r], mags_all[:, r]
        geo = np.flatnonzero(_IS_WARPED[codes])
        if len(geo):
            theta = _thetas(codes[geo], mags[geo], h, w)
            if interpolation == "nearest" and fill is None:
                _warp_nearest_into(src, out, geo, theta, num_threads)
            else:
                out[geo] = _warp(src[geo], theta, interpolation, fill, num_threads)
        tr = np.flatnonzero(_IS_TRANSLATION[codes])
        if len(tr):
            # translate=[int(m), 0]: int truncates towards zero.
            m = np.trunc(mags[tr])
            _shift_into(src, out, tr, np.where(codes[tr] == _CODE["TranslateX"], m, 0.0),
                        np.where(codes[tr] == _CODE["TranslateY"], m, 0.0), fill)
        # The images of every code at once: a stable sort keeps each group ascending.
        order = np.argsort(codes, kind="stable")
        ends = np.cumsum(np.bincount(codes, minlength=len(OPS))).tolist()
        for code, (a, b) in enumerate(zip([0, *ends[:-1]], ends)):
            if a == b or _IS_GEOMETRIC[code]:
                continue
            name = OPS[code]
            idx = order[a:b]
            if name == "Identity":
                if src is not out:
                    _copy_images(x, out, idx)
            elif out.dtype == np.uint8:
                if src is not out:
                    # The uint8 kernels work in place: copied just before, still in cache.
                    _copy_images(x, out, idx)
                _color_u8(name, out, idx, mags[idx], num_threads)
            elif len(idx) == n:
                res = _color(name, src, mags, num_threads)
                # Never hand on (and later rewrite) the caller's array.
                out = res.copy() if np.may_share_memory(res, x) else res
            else:
                out[idx] = _color(name, src[idx], mags[idx], num_threads)
    return out
