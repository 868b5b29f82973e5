"""The transforms: torchvision.transforms.v2's names, arguments and parameter rules.

Each transform turns the current image sizes of a batch into the
:class:`~fastaug.transforms.Step` records of its own draw (``make_steps``);
:class:`~fastaug.transforms.Compose` collects them and runs the whole recipe
as few native passes as the maths allows. Every transform is also callable on
its own, as a one-step ``Compose``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from fastaug._validate import check_bool, check_choice, check_int, check_pair, check_real
from fastaug.transforms import _draw
from fastaug.transforms._params import Step

__all__ = ["CenterCrop", "Normalize", "RandomCrop", "RandomHorizontalFlip",
           "RandomResizedCrop", "RandomVerticalFlip", "Resize", "ToDtype", "Transform"]

INTERPOLATIONS = ("nearest", "bilinear", "bicubic")
PADDING_MODES = ("constant", "edge", "reflect", "symmetric")


def _interpolation(value: Any) -> str:
    # torchvision's InterpolationMode enum has the names as its values.
    value = getattr(value, "value", value)
    if isinstance(value, str):
        value = value.lower()
    return check_choice("interpolation", value, INTERPOLATIONS)


def _size_pair(name: str, size: Any) -> tuple[int, int]:
    """An int or a sequence of one or two ints -> (height, width), as torchvision reads it."""
    if isinstance(size, numbers.Integral) and not isinstance(size, (bool, np.bool_)):
        s = check_int(name, size, low=1)
        return s, s
    if isinstance(size, Sequence) and not isinstance(size, str) and len(size) in (1, 2):
        vals = [check_int(f"{name}[{i}]", v, low=1) for i, v in enumerate(size)]
        return (vals[0], vals[0]) if len(vals) == 1 else (vals[0], vals[1])
    raise TypeError(f"{name} must be a positive int or a sequence of one or two positive "
                    f"ints, got {size!r}")


def _fill(fill: Any) -> tuple[float, ...]:
    if isinstance(fill, numbers.Real) and not isinstance(fill, (bool, np.bool_)):
        return (check_real("fill", fill),)
    if isinstance(fill, Sequence) and not isinstance(fill, str) and len(fill) >= 1:
        return tuple(check_real(f"fill[{i}]", v) for i, v in enumerate(fill))
    raise TypeError(f"fill must be a real number or a sequence of them, got {fill!r}")


def _probability(p: Any) -> float:
    return check_real("p", p, low=0.0, high=1.0)


class Transform:
    """Base of the batch transforms: callable, with ``draw``/``apply`` through Compose."""

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        """This transform's steps for images of ``sizes`` (N, 2), drawing from ``g``."""
        raise NotImplementedError

    def __call__(self, images: Any, rng: Any = None, **kwargs: Any) -> np.ndarray:
        """Apply this transform alone (a one-step :class:`Compose`)."""
        from fastaug.transforms._compose import Compose

        return Compose([self], **kwargs)(images, rng=rng)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Resize(Transform):
    """Resize every image (torchvision ``Resize``).

    Parameters
    ----------
    size : int, sequence of one or two ints, or None
        ``(h, w)``, or one int for the shorter edge (aspect ratio kept, the
        longer edge truncated), or None with ``max_size``.
    interpolation : {"bilinear", "nearest", "bicubic"}
        Also torchvision's ``InterpolationMode`` members.
    max_size : int, optional
        Cap on the longer edge after an int ``size``.
    antialias : bool
        Low-pass filter when downscaling (bilinear, bicubic), as torchvision and
        Pillow do.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import Resize
    >>> x = np.zeros((2, 375, 500, 3), np.uint8)
    >>> Resize(256)(x).shape
    (2, 256, 341, 3)
    """

    def __init__(self, size: Any, interpolation: Any = "bilinear", max_size: int | None = None,
                 antialias: bool = True) -> None:
        if size is None:
            if max_size is None:
                raise ValueError("size can be None only when max_size is given")
            self.size: tuple[int, ...] | None = None
        elif isinstance(size, numbers.Integral) and not isinstance(size, (bool, np.bool_)):
            self.size = (check_int("size", size, low=1),)
        elif isinstance(size, Sequence) and not isinstance(size, str) and len(size) == 1:
            self.size = (check_int("size[0]", size[0], low=1),)
        else:
            self.size = _size_pair("size", size)
        self.interpolation = _interpolation(interpolation)
        if max_size is not None:
            max_size = check_int("max_size", max_size, low=1)
            if self.size is not None and len(self.size) == 2:
                raise ValueError("max_size is only allowed with an int size (shorter edge), "
                                 f"got size={size!r}")
            if self.size is not None and max_size <= self.size[0]:
                raise ValueError(f"max_size must be > size, got max_size={max_size}, "
                                 f"size={size!r}")
        self.max_size = max_size
        self.antialias = check_bool("antialias", antialias)

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        new = _draw.resized_sizes(sizes, self.size, self.max_size)
        return [Step("Resize", "resize", {"sizes": new},
                     {"interpolation": self.interpolation, "antialias": self.antialias})]


class CenterCrop(Transform):
    """Crop the centre of every image, padding with zeros if it is smaller (torchvision).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import CenterCrop
    >>> CenterCrop(4)(np.zeros((1, 6, 9, 3), np.uint8)).shape
    (1, 4, 4, 3)
    """

    def __init__(self, size: Any) -> None:
        self.size = _size_pair("size", size)

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        return [Step("CenterCrop", "crop", {"boxes": _draw.center_crop_boxes(sizes, self.size)},
                     {"padding_mode": "constant", "fill": (0.0,)})]


class RandomCrop(Transform):
    """Crop a random box, optionally padding first (torchvision ``RandomCrop``).

    Parameters
    ----------
    size : int or (int, int)
    padding : int or sequence of 1, 2 or 4 ints, optional
        Padding on (all), (left/right, top/bottom) or (left, top, right, bottom).
    pad_if_needed : bool
        Pad a dimension smaller than the crop by the difference on both sides.
    fill : float or sequence of float
        Value of "constant" padding (per channel).
    padding_mode : {"constant", "edge", "reflect", "symmetric"}

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import RandomCrop
    >>> x = np.zeros((8, 32, 32, 3), np.uint8)
    >>> RandomCrop(32, padding=4, padding_mode="reflect")(x, rng=0).shape
    (8, 32, 32, 3)
    """

    def __init__(self, size: Any, padding: Any = None, pad_if_needed: bool = False,
                 fill: Any = 0, padding_mode: str = "constant") -> None:
        self.size = _size_pair("size", size)
        if padding is None:
            pad = (0, 0, 0, 0)
        elif isinstance(padding, numbers.Integral) and not isinstance(padding, (bool, np.bool_)):
            p = check_int("padding", padding, low=0)
            pad = (p, p, p, p)
        elif isinstance(padding, Sequence) and not isinstance(padding, str) and len(
                padding) in (1, 2, 4):
            v = [check_int(f"padding[{i}]", x, low=0) for i, x in enumerate(padding)]
            if len(v) == 1:
                pad = (v[0],) * 4
            elif len(v) == 2:
                pad = (v[0], v[0], v[1], v[1])
            else:  # (left, top, right, bottom)
                pad = (v[0], v[2], v[1], v[3])
        else:
            raise TypeError(f"padding must be None, an int or a sequence of 1, 2 or 4 ints, "
                            f"got {padding!r}")
        self.padding = padding
        self._pad_lrtb = pad
        self.pad_if_needed = check_bool("pad_if_needed", pad_if_needed)
        self.fill = _fill(fill)
        self.padding_mode = check_choice("padding_mode", padding_mode, PADDING_MODES)

    def __repr__(self) -> str:
        return (f"RandomCrop(size={self.size!r}, padding={self.padding!r}, "
                f"pad_if_needed={self.pad_if_needed!r}, fill={self.fill!r}, "
                f"padding_mode={self.padding_mode!r})")

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        boxes = _draw.random_crop_boxes(sizes, self.size, self._pad_lrtb, self.pad_if_needed, g)
        return [Step("RandomCrop", "crop", {"boxes": boxes},
                     {"padding_mode": self.padding_mode, "fill": self.fill})]


class RandomResizedCrop(Transform):
    """Crop a random area and aspect ratio, then resize (torchvision ``RandomResizedCrop``).

    Parameters
    ----------
    size : int or (int, int)
    scale : (float, float)
        Range of the crop's area as a fraction of the image's.
    ratio : (float, float)
        Range of the crop's aspect ratio (width / height), drawn log-uniformly.
    interpolation : {"bilinear", "nearest", "bicubic"}
    antialias : bool

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import RandomResizedCrop
    >>> imgs = [np.zeros((375, 500, 3), np.uint8), np.zeros((500, 333, 3), np.uint8)]
    >>> RandomResizedCrop(224)(imgs, rng=0).shape
    (2, 224, 224, 3)
    """

    def __init__(self, size: Any, scale: Any = (0.08, 1.0), ratio: Any = (3 / 4, 4 / 3),
                 interpolation: Any = "bilinear", antialias: bool = True) -> None:
        self.size = _size_pair("size", size)
        self.scale = check_pair("scale", scale, low=0.0, low_open=True)
        self.ratio = check_pair("ratio", ratio, low=0.0, low_open=True)
        self.interpolation = _interpolation(interpolation)
        self.antialias = check_bool("antialias", antialias)

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        boxes = _draw.random_resized_crop_boxes(sizes, self.scale, self.ratio, g)
        n = len(sizes)
        return [Step("RandomResizedCrop", "crop", {"boxes": boxes},
                     {"padding_mode": "constant", "fill": (0.0,)}),
                Step("RandomResizedCrop", "resize",
                     {"sizes": np.tile(np.array(self.size, np.int64), (n, 1))},
                     {"interpolation": self.interpolation, "antialias": self.antialias})]


class _RandomFlip(Transform):
    _axis = "horizontal"

    def __init__(self, p: float = 0.5) -> None:
        self.p = _probability(p)

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        flip = g.random(len(sizes)) < self.p
        return [Step(type(self).__name__, "flip", {"flip": flip}, {"axis": self._axis})]


class RandomHorizontalFlip(_RandomFlip):
    """Flip each image left-right with probability ``p`` (torchvision).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import RandomHorizontalFlip
    >>> x = np.arange(6, dtype=np.uint8).reshape(1, 1, 6, 1)
    >>> RandomHorizontalFlip(p=1.0)(x)[0, 0, :, 0].tolist()
    [5, 4, 3, 2, 1, 0]
    """

    _axis = "horizontal"


class RandomVerticalFlip(_RandomFlip):
    """Flip each image top-bottom with probability ``p`` (torchvision).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import RandomVerticalFlip
    >>> x = np.arange(3, dtype=np.uint8).reshape(1, 3, 1, 1)
    >>> RandomVerticalFlip(p=1.0)(x)[0, :, 0, 0].tolist()
    [2, 1, 0]
    """

    _axis = "vertical"


class ToDtype(Transform):
    """Convert to ``dtype``, scaling values when ``scale`` (torchvision ``ToDtype``).

    uint8 -> float32 with ``scale=True`` divides by 255. float32 -> uint8 with
    ``scale=True`` multiplies by 255 and truncates, as torchvision does
    (``x * (255 + 1 - 1e-3)``), without it casts (values are rounded half to
    even and clamped to [0, 255]).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import ToDtype
    >>> ToDtype(np.float32, scale=True)(np.full((1, 2, 2, 1), 255, np.uint8)).max()
    np.float32(1.0)
    """

    def __init__(self, dtype: Any, scale: bool = False) -> None:
        try:
            dt = np.dtype(dtype)
        except TypeError as exc:
            raise TypeError(f"dtype must be numpy.float32 or numpy.uint8, got {dtype!r}") from exc
        if dt not in (np.dtype(np.float32), np.dtype(np.uint8)):
            raise TypeError(f"dtype must be numpy.float32 or numpy.uint8, got {dtype!r}")
        self.dtype = dt
        self.scale = check_bool("scale", scale)

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        return [Step("ToDtype", "elementwise", {},
                     {"dtype": self.dtype, "scale": self.scale})]


class Normalize(Transform):
    """``(x - mean) / std`` per channel on float images (torchvision ``Normalize``).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import Normalize
    >>> x = np.full((1, 1, 1, 3), 0.5, np.float32)
    >>> Normalize([0.5, 0.25, 0.0], [0.5, 0.5, 1.0])(x).ravel().tolist()
    [0.0, 0.5, 0.5]
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        self.mean = self._seq("mean", mean)
        self.std = self._seq("std", std)
        if len(self.mean) != len(self.std) and 1 not in (len(self.mean), len(self.std)):
            raise ValueError(f"mean and std must have the same length, got {len(self.mean)} "
                             f"and {len(self.std)}")
        if any(s == 0 for s in self.std):
            raise ValueError(f"std must not contain 0 (division by zero), got {std!r}")
        self.inplace = check_bool("inplace", inplace)  # accepted; results are new arrays

    @staticmethod
    def _seq(name: str, v: Any) -> tuple[float, ...]:
        if isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)):
            return (check_real(name, v),)
        if isinstance(v, (Sequence, np.ndarray)) and not isinstance(v, str) and len(v) >= 1:
            return tuple(check_real(f"{name}[{i}]", x) for i, x in enumerate(v))
        raise TypeError(f"{name} must be a sequence of real numbers, got {v!r}")

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        return [Step("Normalize", "elementwise", {},
                     {"mean": self.mean, "std": self.std})]


def _is_finite_seq(v: Sequence[float]) -> bool:
    return all(math.isfinite(x) for x in v)
