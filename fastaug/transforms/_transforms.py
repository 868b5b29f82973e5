"""The transforms: torchvision.transforms.v2's names, arguments and parameter rules.

Each transform turns the current image sizes of a batch into the
:class:`~fastaug.transforms.Step` records of its own draw (``make_steps``);
:class:`~fastaug.transforms.Compose` collects them and runs the whole recipe
as few native passes as the maths allows. Every transform is also callable on
its own, as a one-step ``Compose``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from fastaug._validate import check_bool, check_choice, check_int, check_pair, check_real
from fastaug.transforms import _draw
from fastaug.transforms._affine import inverse_affine_theta
from fastaug.transforms._params import Step

__all__ = ["CenterCrop", "Normalize", "RandomAffine", "RandomCrop", "RandomHorizontalFlip",
           "RandomResizedCrop", "RandomRotation", "RandomVerticalFlip", "Resize", "ToDtype",
           "Transform"]

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


def _range(name: str, value: Any, *, symmetric: bool) -> tuple[float, float]:
    """A number ``d`` (meaning ``(-d, d)``, ``d >= 0``) or a pair ``(lo, hi)``."""
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        d = check_real(name, value, low=0.0)
        return (-d, d) if symmetric else (d, d)
    return check_pair(name, value)


def _center(center: Any) -> tuple[float, float] | None:
    if center is None:
        return None
    if isinstance(center, Sequence) and not isinstance(center, str) and len(center) == 2:
        return check_real("center[0]", center[0]), check_real("center[1]", center[1])
    raise TypeError(f"center must be None or a pair (x, y), got {center!r}")


def _affine_interpolation(value: Any) -> str:
    interp = _interpolation(value)
    if interp == "bicubic":
        raise ValueError("interpolation must be 'nearest' or 'bilinear' for affine transforms "
                         "(torchvision's affine supports no other on tensors), got 'bicubic'")
    return interp


class RandomAffine(Transform):
    """Random rotation, translation, scale and shear, in torchvision's conventions.

    Not :class:`fastaug.RandomAffine` (Keras's ranges and scipy's fill modes):
    this one is torchvision v2's ``RandomAffine``: ``degrees`` clockwise-positive
    about the centre, ``translate`` as fractions of the size (rounded to whole
    pixels), ``scale`` and ``shear`` (degrees: a number for x, a pair for x, four
    values for x and y), ``fill`` outside, ``nearest`` by default. The output
    has the input's size; the warp is one pass of the fused kernel (the crops
    and resizes around it take their own passes).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import RandomAffine
    >>> x = np.zeros((4, 16, 16, 3), np.uint8)
    >>> RandomAffine(degrees=30, translate=(0.1, 0.1), scale=(0.9, 1.1))(x, rng=0).shape
    (4, 16, 16, 3)
    """

    def __init__(self, degrees: Any, translate: Any = None, scale: Any = None, shear: Any = None,
                 interpolation: Any = "nearest", fill: Any = 0, center: Any = None) -> None:
        self.degrees = _range("degrees", degrees, symmetric=True)
        if translate is not None:
            tr = check_pair("translate", translate, ordered=False)
            if not (0 <= tr[0] <= 1 and 0 <= tr[1] <= 1):
                raise ValueError(f"translate values must be in [0, 1], got {translate!r}")
            translate = tr
        self.translate = translate
        if scale is not None:
            scale = check_pair("scale", scale, low=0.0, low_open=True)
        self.scale = scale
        if shear is None:
            self.shear: tuple[float, ...] | None = None
        elif isinstance(shear, numbers.Real) and not isinstance(shear, (bool, np.bool_)):
            self.shear = _range("shear", shear, symmetric=True)
        elif isinstance(shear, Sequence) and not isinstance(shear, str) and len(shear) in (2, 4):
            vals = tuple(check_real(f"shear[{i}]", v) for i, v in enumerate(shear))
            self.shear = vals
        else:
            raise TypeError(f"shear must be a number or a sequence of 2 or 4 numbers, got "
                            f"{shear!r}")
        self.interpolation = _affine_interpolation(interpolation)
        self.fill = _fill(fill)
        self.center = _center(center)

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        n = len(sizes)
        h = sizes[:, 0].astype(np.float64)
        w = sizes[:, 1].astype(np.float64)
        angle = g.uniform(self.degrees[0], self.degrees[1], n)
        if self.translate is not None:
            max_dx, max_dy = self.translate[0] * w, self.translate[1] * h
            # torchvision: int(round(U(-max, max))), Python's round (half to even).
            tx = np.rint(g.uniform(-1.0, 1.0, n) * max_dx)
            ty = np.rint(g.uniform(-1.0, 1.0, n) * max_dy)
        else:
            tx = ty = np.zeros(n)
        sc = g.uniform(self.scale[0], self.scale[1], n) if self.scale else np.ones(n)
        shx = shy = np.zeros(n)
        if self.shear is not None:
            shx = g.uniform(self.shear[0], self.shear[1], n)
            if len(self.shear) == 4:
                shy = g.uniform(self.shear[2], self.shear[3], n)
        return [_affine_step("RandomAffine", sizes, angle, tx, ty, sc, shx, shy, self.center,
                             self.interpolation, self.fill)]


def _affine_step(name: str, sizes: np.ndarray, angle: np.ndarray, tx: np.ndarray,
                 ty: np.ndarray, sc: np.ndarray, shx: np.ndarray, shy: np.ndarray,
                 center: tuple[float, float] | None, interpolation: str,
                 fill: tuple[float, ...]) -> Step:
    if center is None:
        cx = cy = np.zeros(len(sizes))
    else:  # torchvision: the centre relative to the image centre
        cx = center[0] - sizes[:, 1] * 0.5
        cy = center[1] - sizes[:, 0] * 0.5
    theta = inverse_affine_theta(angle, tx, ty, sc, shx, shy, cx, cy)
    return Step(name, "affine",
                {"theta": theta, "angle": angle, "translate": np.stack([tx, ty], 1),
                 "scale": sc, "shear": np.stack([shx, shy], 1)},
                {"interpolation": interpolation, "fill": fill})


class RandomRotation(Transform):
    """Rotate by a random angle, counter-clockwise positive (torchvision ``RandomRotation``).

    ``expand=True`` (an output size per angle) is not batchable into one array
    and raises; follow a rotation with a crop or resize to change sizes.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import RandomRotation
    >>> RandomRotation(15)(np.zeros((2, 9, 7, 1), np.float32), rng=0).shape
    (2, 9, 7, 1)
    """

    def __init__(self, degrees: Any, interpolation: Any = "nearest", expand: bool = False,
                 center: Any = None, fill: Any = 0) -> None:
        self.degrees = _range("degrees", degrees, symmetric=True)
        self.interpolation = _affine_interpolation(interpolation)
        if check_bool("expand", expand):
            raise ValueError("expand=True gives every image its own output size, which one "
                             "batch array cannot hold; use expand=False (then crop or resize)")
        self.expand = False
        self.center = _center(center)
        self.fill = _fill(fill)

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        n = len(sizes)
        angle = g.uniform(self.degrees[0], self.degrees[1], n)
        z = np.zeros(n)
        # torchvision's rotate is affine with -angle, no translation, scale 1, no shear.
        return [_affine_step("RandomRotation", sizes, -angle, z, z, np.ones(n), z, z,
                             self.center, self.interpolation, self.fill)]
