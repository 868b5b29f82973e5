"""RandomErasing, GaussianBlur, MixUp, CutMix, RandomApply and RandomChoice (torchvision v2).

``RandomErasing`` and ``GaussianBlur`` are recipe transforms: each image of a
batch gets its own draw, recorded in one ``"erase"``
:class:`~fastaug.transforms.Step` (``options["op"]``: ``"erase"`` or
``"blur"``) that :func:`apply_erase` runs on a batch of one size after the
geometric passes. Inside a :class:`~fastaug.transforms.Compose` the batch the
recipe made is erased in place (no extra copy).

``MixUp`` and ``CutMix`` mix a whole batch with its labels, as torchvision's
do after the DataLoader has collated it: they are called as
``images, labels = mix(images, labels)`` and are not recipe steps.

``RandomApply`` and ``RandomChoice`` choose per image: the chosen
transform's steps go to the chosen images, the others get the step's identity
(no flip, the whole image as the crop box, their own size as the resize, the
colour operation off, ...). Steps without a per-image identity (``ToDtype``,
``Normalize``, ``Grayscale`` changing the channel count) make the choice once
for the whole batch, as torchvision draws once per call.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from fastaug import _pool
from fastaug._kernels import erase as _k
from fastaug._validate import check_bool, check_choice, check_int, check_real
from fastaug.augment import make_rng
from fastaug.transforms._params import Step
from fastaug.transforms._transforms import Transform, _probability

__all__ = ["CutMix", "GaussianBlur", "MixUp", "RandomApply", "RandomChoice", "RandomErasing",
           "apply_erase", "gaussian_kernel1d"]

_F32 = np.float32


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _real_pair(name: str, value: Any, *, low: float, low_open: bool,
               high: float | None = None) -> tuple[float, float]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a pair (min, max) of real numbers, got {value!r}")
    if len(value) != 2:
        raise ValueError(f"{name} must be a pair (min, max), got {value!r}")
    lo = check_real(f"{name}[0]", value[0], low=low, high=high, low_open=low_open)
    hi = check_real(f"{name}[1]", value[1], low=low, high=high, low_open=low_open)
    if lo > hi:
        raise ValueError(f"{name} must be a pair (min, max) with min <= max, got {value!r}")
    return lo, hi


# --------------------------------------------------------------------------- RandomErasing


def erase_boxes(sizes: np.ndarray, scale: tuple[float, float], ratio: tuple[float, float],
                g: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """torchvision's ten-attempt rule per image: ``(boxes, found)``.

    ``boxes`` (N, 4) int64 ``(top, left, height, width)``; ``found`` is False
    where no attempt fitted (the image is left as it is).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms._erase_mix import erase_boxes
    >>> boxes, found = erase_boxes(np.array([[32, 32]] * 3), (0.02, 0.33), (0.3, 3.3),
    ...                            np.random.default_rng(0))
    >>> bool(found.all()), bool((boxes[:, 0] + boxes[:, 2] <= 32).all())
    (True, True)
    """
    sizes = np.asarray(sizes, np.int64).reshape(-1, 2)
    n = len(sizes)
    hh = sizes[:, 0:1].astype(np.float64)
    ww = sizes[:, 1:2].astype(np.float64)
    # torch draws in float32 (torch.empty(1).uniform_); the rounding does not matter.
    area = hh * ww * g.uniform(scale[0], scale[1], (n, 10))
    log_r = np.log(np.array(ratio, np.float32)).astype(np.float64)
    aspect = np.exp(g.uniform(log_r[0], log_r[1], (n, 10)))
    # int(round(.)): Python rounds half to even, as np.rint.
    h = np.rint(np.sqrt(area * aspect)).astype(np.int64)
    w = np.rint(np.sqrt(area / aspect)).astype(np.int64)
    ok = (h < hh) & (w < ww)
    found = ok.any(axis=1)
    first = np.argmax(ok, axis=1)
    bh = np.take_along_axis(h, first[:, None], 1)[:, 0]
    bw = np.take_along_axis(w, first[:, None], 1)[:, 0]
    u = g.random((n, 2))
    # randint(0, H - h + 1): uniform over the H - h + 1 top rows.
    top = np.floor(u[:, 0] * (sizes[:, 0] - bh + 1)).astype(np.int64)
    left = np.floor(u[:, 1] * (sizes[:, 1] - bw + 1)).astype(np.int64)
    boxes = np.stack([top, left, bh, bw], axis=1)
    boxes[~found] = 0
    return boxes, found


class RandomErasing(Transform):
    """Erase a random rectangle of each image with probability ``p`` (torchvision).

    Each image draws its own box: up to ten attempts of an area (a fraction
    ``U(scale)`` of the image's) and an aspect ratio (log-uniform in ``ratio``,
    height over width); the first box smaller than the image in both
    dimensions is placed uniformly; after ten misses the image is left as it is.

    Parameters
    ----------
    p : float
        Probability of erasing an image.
    scale : (float, float)
        Range of the erased area as a fraction of the image's, in [0, 1].
    ratio : (float, float)
        Range of the aspect ratio (positive).
    value : float, sequence of float or "random"
        The erased pixels: one value, one per channel (1 or C values), or
        ``"random"``: standard normal noise per pixel and channel. On uint8
        images the values are cast as torch casts them (truncated toward zero,
        then taken modulo 256), so ``"random"`` and fractional values are meant
        for float images, as in torchvision.
    inplace : bool
        Accepted for compatibility; results are new arrays (inside a
        ``Compose`` the recipe's own output is erased in place).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import Compose, ToDtype
    >>> from fastaug.transforms._erase_mix import RandomErasing
    >>> x = np.ones((4, 32, 32, 3), np.uint8)
    >>> y = RandomErasing(p=1.0)(x, rng=0)
    >>> y.shape, bool((y == 0).any()), int(x.min())
    ((4, 32, 32, 3), True, 1)
    >>> recipe = Compose([ToDtype(np.float32, scale=True), RandomErasing(value="random")])
    >>> recipe(x, rng=0).dtype
    dtype('float32')
    """

    def __init__(self, p: float = 0.5, scale: Any = (0.02, 0.33), ratio: Any = (0.3, 3.3),
                 value: Any = 0.0, inplace: bool = False) -> None:
        self.p = _probability(p)
        self.scale = _real_pair("scale", scale, low=0.0, high=1.0, low_open=False)
        self.ratio = _real_pair("ratio", ratio, low=0.0, low_open=True)
        if isinstance(value, str):
            if value != "random":
                raise ValueError(f"value must be a number, a sequence of numbers or 'random', "
                                 f"got {value!r}")
            self.value: tuple[float, ...] | None = None
        elif _is_real(value):
            self.value = (check_real("value", value),)
        elif isinstance(value, (Sequence, np.ndarray)) and len(value) >= 1:
            self.value = tuple(check_real(f"value[{i}]", v) for i, v in enumerate(value))
        else:
            raise TypeError(f"value must be a number, a sequence of numbers or 'random', got "
                            f"{value!r}")
        self.inplace = check_bool("inplace", inplace)

    def __repr__(self) -> str:
        value = "random" if self.value is None else self.value
        return (f"RandomErasing(p={self.p!r}, scale={self.scale!r}, ratio={self.ratio!r}, "
                f"value={value!r})")

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        n = len(sizes)
        # torchvision skips the image when torch.rand(1) >= p, before drawing the box.
        coin = g.random(n) < self.p
        boxes, found = erase_boxes(sizes, self.scale, self.ratio, g)
        values = {"boxes": boxes, "apply": coin & found}
        if self.value is None:
            values["noise_seed"] = g.integers(0, 2**63 - 1, n, dtype=np.int64)
        return [Step("RandomErasing", "erase", values, {"op": "erase", "value": self.value})]


# --------------------------------------------------------------------------- GaussianBlur


def gaussian_kernel1d(kernel_size: int, sigma: float) -> np.ndarray:
    """torchvision's 1-D Gaussian weights in float32 (``_get_gaussian_kernel1d``).

    ``softmax(-(x / sigma)**2)`` over ``x = linspace(-lim, lim, k)``,
    ``lim = (k - 1) / (2 sqrt 2)``: ``exp(-j**2 / (2 sigma**2))`` normalised.

    Examples
    --------
    >>> from fastaug.transforms._erase_mix import gaussian_kernel1d
    >>> w = gaussian_kernel1d(3, 1.0)
    >>> [round(float(v), 4) for v in w]
    [0.2741, 0.4519, 0.2741]
    """
    k = int(kernel_size)
    lim = (k - 1) / (2.0 * math.sqrt(2.0))
    start, end = _F32(-lim), _F32(lim)
    if k == 1:
        x = np.array([start], _F32)
    else:
        # torch's linspace: the first half from start, the second from end.
        step = _F32((end - start) / _F32(k - 1))
        i = np.arange(k)
        x = np.where(i < k // 2, start + step * i.astype(_F32),
                     end - step * (k - 1 - i).astype(_F32)).astype(_F32)
    v = -((x / _F32(sigma)) ** 2)
    e = np.exp(v - v.max())
    return (e / e.sum(dtype=_F32)).astype(_F32)


class GaussianBlur(Transform):
    """Blur each image with a Gaussian of its own random sigma (torchvision ``GaussianBlur``).

    Parameters
    ----------
    kernel_size : int or (int, int)
        Odd and positive; a pair is ``(kx, ky)`` (width first, as torchvision).
    sigma : float or (float, float)
        A fixed sigma, or the range ``(min, max)`` (``0 < min <= max``) of a
        uniform draw per image, used along both axes.

    The convolution is separable, with reflect padding (``k // 2`` must be
    smaller than the image's side); uint8 images are blurred in float32 and
    rounded half to even, as torchvision's are.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms._erase_mix import GaussianBlur
    >>> x = np.zeros((2, 5, 5, 1), np.float32); x[:, 2, 2] = 1.0
    >>> y = GaussianBlur(3, sigma=1.0)(x)
    >>> round(float(y[0, 2, 2, 0]), 4), round(float(y.sum()) / 2, 4)
    (0.2042, 1.0)
    """

    def __init__(self, kernel_size: Any, sigma: Any = (0.1, 2.0)) -> None:
        if _is_real(kernel_size) and isinstance(kernel_size, numbers.Integral):
            ks = (check_int("kernel_size", kernel_size, low=1),) * 2
        elif isinstance(kernel_size, (Sequence, np.ndarray)) and not isinstance(
                kernel_size, str) and len(kernel_size) in (1, 2):
            vals = [check_int(f"kernel_size[{i}]", v, low=1) for i, v in enumerate(kernel_size)]
            ks = (vals[0], vals[-1])
        else:
            raise TypeError(f"kernel_size must be an odd positive int or a pair of them, got "
                            f"{kernel_size!r}")
        if any(k % 2 == 0 for k in ks):
            raise ValueError(f"kernel_size must be odd and positive, got {kernel_size!r}")
        self.kernel_size = ks
        if _is_real(sigma):
            s = check_real("sigma", sigma, low=0.0, low_open=True)
            self.sigma = (s, s)
        elif isinstance(sigma, (Sequence, np.ndarray)) and not isinstance(sigma, str) and len(
                sigma) == 1:
            s = check_real("sigma[0]", sigma[0], low=0.0, low_open=True)
            self.sigma = (s, s)
        else:
            self.sigma = _real_pair("sigma", sigma, low=0.0, low_open=True)

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        n = len(sizes)
        sigma = g.uniform(self.sigma[0], self.sigma[1], n)
        return [Step("GaussianBlur", "erase", {"sigma": sigma, "apply": np.ones(n, bool)},
                     {"op": "blur", "kernel_size": self.kernel_size})]


# --------------------------------------------------------------------------- pixels


def _torch_cast_u8(v: np.ndarray) -> np.ndarray:
    """float32 -> uint8 as torch casts: truncate toward zero, then modulo 256."""
    return np.trunc(np.asarray(v, _F32)).astype(np.int64).astype(np.uint8)


def _erase(step: Step, x: np.ndarray, num_threads: int | None, inplace: bool) -> np.ndarray:
    n, hgt, wid, c = x.shape
    v = step.values
    boxes = np.ascontiguousarray(v["boxes"], np.int64).reshape(n, 4)
    apply = np.ascontiguousarray(v["apply"], bool).reshape(n)
    value = step.options["value"]
    if apply.any():
        b = boxes[apply]
        if ((b < 0).any() or (b[:, 0] + b[:, 2] > hgt).any()
                or (b[:, 1] + b[:, 3] > wid).any()):
            raise ValueError(f"boxes must lie inside the ({hgt}, {wid}) images")
    u8 = x.dtype == np.uint8
    if value is None:
        fill = np.zeros((n, c), x.dtype)
    else:
        if len(value) not in (1, c):
            raise ValueError(f"value has {len(value)} values for images with {c} channels: "
                             "give one per channel (or one for all)")
        f = np.broadcast_to(np.asarray(value, _F32), (c,))  # torch.tensor(list of float)
        fill = np.tile(_torch_cast_u8(f) if u8 else f, (n, 1))
    out = x if inplace else np.empty_like(x)
    fill_apply = apply if value is not None else np.zeros(n, bool)

    def chunk(a: int, bb: int) -> None:
        if not inplace:
            out[a:bb] = x[a:bb]  # numpy's memcpy, without the GIL
        _k.erase_fill(out, a, bb, boxes, fill_apply, fill)

    _pool.run_chunks(chunk, n, _pool.resolve_threads(num_threads))
    if value is None:
        noise = v.get("noise")
        for i in np.flatnonzero(apply):
            t, le, h, w = (int(q) for q in boxes[i])
            if noise is not None:  # given explicitly (tests: torchvision's own draw)
                z = np.asarray(noise[i], _F32).reshape(h, w, c)
            else:
                z = np.random.default_rng(int(v["noise_seed"][i])).standard_normal(
                    (h, w, c), dtype=_F32)
            out[i, t:t + h, le:le + w] = _torch_cast_u8(z) if u8 else z
    return out


def _blur(step: Step, x: np.ndarray, num_threads: int | None, inplace: bool) -> np.ndarray:
    n, hgt, wid, c = x.shape
    kx, ky = step.options["kernel_size"]
    if kx // 2 >= wid or ky // 2 >= hgt:
        raise ValueError(f"kernel_size {(kx, ky)} needs images larger than {ky // 2} rows and "
                         f"{kx // 2} columns (reflect padding), got ({hgt}, {wid})")
    sigma = np.asarray(step.values["sigma"], np.float64).reshape(n)
    apply = np.ascontiguousarray(step.values["apply"], bool).reshape(n)
    wx = np.ones((n, kx), _F32)
    wy = np.ones((n, ky), _F32)
    for i in np.flatnonzero(apply):
        wx[i] = gaussian_kernel1d(kx, sigma[i])
        wy[i] = gaussian_kernel1d(ky, sigma[i])
    out = np.empty_like(x)

    def chunk(a: int, b: int) -> None:
        _k.blur(x, out, a, b, wx, wy, apply, x.dtype == np.uint8)

    _pool.run_chunks(chunk, n, _pool.resolve_threads(num_threads))
    return out


def apply_erase(step: Step, images: np.ndarray, num_threads: int | None,
                inplace: bool = False) -> np.ndarray:
    """Run one ``"erase"`` step on an (N, H, W, C) uint8 or float32 batch.

    Parameters
    ----------
    step : Step
        A ``RandomErasing`` step (values ``boxes``, ``apply`` and, for
        ``value="random"``, ``noise_seed`` or an explicit per-image ``noise``)
        or a ``GaussianBlur`` step (values ``sigma``, ``apply``).
    images : ndarray, shape (N, H, W, C)
        uint8 or float32, channels last.
    num_threads : int, optional
        Threads over the images (default: all usable cores).
    inplace : bool
        Erase ``images`` itself (the caller owns it); otherwise it is not
        modified and the result is a new array.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import Step
    >>> from fastaug.transforms._erase_mix import apply_erase
    >>> step = Step("RandomErasing", "erase",
    ...             {"boxes": np.array([[1, 1, 2, 2]]), "apply": np.array([True])},
    ...             {"op": "erase", "value": (7.0,)})
    >>> apply_erase(step, np.zeros((1, 4, 4, 1), np.uint8), 1)[0, :, :, 0].tolist()
    [[0, 0, 0, 0], [0, 7, 7, 0], [0, 7, 7, 0], [0, 0, 0, 0]]
    """
    x = np.asarray(images)
    if x.dtype not in (np.uint8, np.float32):
        raise TypeError(f"images must be uint8 or float32, got {x.dtype}")
    if x.ndim != 4:
        raise ValueError(f"images must be an (N, H, W, C) array, got shape {x.shape}")
    if not x.flags.c_contiguous:
        x = np.ascontiguousarray(x)
        inplace = True  # already a copy
    op = step.options["op"]
    if op == "erase":
        return _erase(step, x, num_threads, inplace)
    if op == "blur":
        return _blur(step, x, num_threads, inplace)
    raise ValueError(f"unknown erase operation {op!r}")


# --------------------------------------------------------------------------- MixUp / CutMix


class _MixBase:
    """Shared argument checks and label mixing of MixUp and CutMix."""

    def __init__(self, *, alpha: float = 1.0, num_classes: int | None = None,
                 labels_getter: Any = "default", data_format: str = "channels_last",
                 seed: Any = None) -> None:
        # torch.distributions.Beta needs alpha > 0.
        self.alpha = check_real("alpha", alpha, low=0.0, low_open=True)
        self.num_classes = None if num_classes is None else check_int("num_classes",
                                                                       num_classes, low=1)
        if labels_getter != "default":
            raise ValueError(f"labels_getter must be 'default' (labels are the second "
                             f"argument), got {labels_getter!r}")
        self.data_format = check_choice("data_format", data_format,
                                        ("channels_last", "channels_first"))
        self.rng = make_rng(seed)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(alpha={self.alpha!r}, num_classes={self.num_classes!r}, "
                f"data_format={self.data_format!r})")

    def _hw(self, images: np.ndarray) -> tuple[int, int]:
        if self.data_format == "channels_last":
            return int(images.shape[1]), int(images.shape[2])
        return int(images.shape[2]), int(images.shape[3])

    def _check(self, images: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(images, np.ndarray) or images.ndim != 4:
            raise ValueError(f"images must be a batched (N, H, W, C) array (4 dimensions), got "
                             f"{getattr(images, 'shape', type(images).__name__)}")
        if images.dtype not in (np.uint8, np.float32, np.float64):
            raise TypeError(f"images must be uint8, float32 or float64, got {images.dtype}")
        lab = np.asarray(labels)
        if lab.ndim not in (1, 2):
            raise ValueError(f"labels must be class indices of shape (batch_size,) or "
                             f"probabilities of shape (batch_size, num_classes), got shape "
                             f"{lab.shape}")
        if lab.ndim == 2 and self.num_classes is not None and lab.shape[1] != self.num_classes:
            raise ValueError(f"labels has {lab.shape[1]} columns, num_classes is "
                             f"{self.num_classes}")
        if lab.ndim == 1:
            if self.num_classes is None:
                raise ValueError("num_classes must be given when labels are class indices (1-D)")
            if lab.dtype.kind not in "iu":
                raise TypeError(f"labels of shape (batch_size,) must be integer class indices, "
                                f"got dtype {lab.dtype}")
            if len(lab) and (lab.min() < 0 or lab.max() >= self.num_classes):
                raise ValueError(f"labels must be in [0, {self.num_classes - 1}] "
                                 f"(num_classes={self.num_classes}), got values in "
                                 f"[{lab.min()}, {lab.max()}]")
        if lab.shape[0] != images.shape[0]:
            raise ValueError(f"images and labels have different batch sizes: "
                             f"{images.shape[0]} != {lab.shape[0]}")
        return images, lab

    def _mix_labels(self, lab: np.ndarray, lam: float) -> np.ndarray:
        if lab.ndim == 1:
            oh = np.zeros((len(lab), self.num_classes), _F32)
            oh[np.arange(len(lab)), lab] = 1.0
            lab = oh
        elif lab.dtype.kind != "f":
            lab = lab.astype(_F32)
        dt = lab.dtype.type
        # torchvision: label.roll(1, 0).mul_(1 - lam).add_(label.mul(lam)), in the label dtype.
        return np.roll(lab, 1, axis=0) * dt(1.0 - lam) + lab * dt(lam)

    def __call__(self, images: Any, labels: Any, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Mix ``images`` and ``labels``; returns new ``(images, labels)``.

        ``rng`` (a seed, a tuple or a Generator) replaces the object's own
        generator for this call.
        """
        images, lab = self._check(images, labels)
        params = self.draw(images, rng)
        return self.apply(images, lab, params)

    def draw(self, images: Any, rng: Any = None) -> dict[str, Any]:
        raise NotImplementedError

    def apply(self, images: Any, labels: Any, params: dict[str, Any]) -> tuple[np.ndarray,
                                                                                 np.ndarray]:
        raise NotImplementedError

    def _beta(self, rng: Any) -> float:
        g = self.rng if rng is None else make_rng(rng, "rng")
        return float(g.beta(self.alpha, self.alpha))


class MixUp(_MixBase):
    """MixUp of a batch with its labels (torchvision v2 ``MixUp``).

    One ``lam ~ Beta(alpha, alpha)`` per call; image ``i`` is mixed with image
    ``i - 1`` (the batch rolled by one, image 0 with the last):
    ``lam * x + (1 - lam) * roll(x)``, and the labels (one-hot if given as
    indices) likewise. Float images only, as torchvision (uint8 raises).

    Parameters
    ----------
    alpha : float
        Parameter of the Beta distribution (> 0).
    num_classes : int, optional
        Needed when labels are class indices (shape (N,)).
    labels_getter : "default"
        Accepted for compatibility: labels are the second argument.
    data_format : {"channels_last", "channels_first"}
        Layout of the images (MixUp is the same in both).
    seed : int, sequence of ints, Generator or None
        The object's own generator.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms._erase_mix import MixUp
    >>> x = np.stack([np.zeros((2, 2, 3)), np.ones((2, 2, 3))]).astype(np.float32)
    >>> imgs, labels = MixUp(num_classes=3).apply(x, np.array([0, 2]), {"lam": 0.75})
    >>> float(imgs[0, 0, 0, 0]), labels.tolist()
    (0.25, [[0.75, 0.0, 0.25], [0.25, 0.0, 0.75]])
    """

    def draw(self, images: Any, rng: Any = None) -> dict[str, Any]:
        """``{"lam": float}``, drawn from Beta(alpha, alpha)."""
        return {"lam": self._beta(rng)}

    def apply(self, images: Any, labels: Any, params: dict[str, Any]) -> tuple[np.ndarray,
                                                                                 np.ndarray]:
        """Mix with a given ``lam`` (deterministic)."""
        images, lab = self._check(images, labels)
        if images.dtype == np.uint8:
            raise TypeError("images must be float for MixUp (torchvision cannot mix uint8 in "
                            "place): convert with ToDtype(numpy.float32, scale=True) first")
        lam = check_real("lam", params["lam"], low=0.0, high=1.0)
        dt = images.dtype.type
        # torchvision: x.roll(1, 0).mul_(1 - lam).add_(x.mul(lam)), in the images' dtype.
        out = np.roll(images, 1, axis=0) * dt(1.0 - lam)
        out += images * dt(lam)
        return out, self._mix_labels(lab, lam)


class CutMix(_MixBase):
    """CutMix of a batch with its labels (torchvision v2 ``CutMix``).

    One ``lam ~ Beta(alpha, alpha)`` per call gives one box for the batch:
    centre ``(randint(W), randint(H))``, half sides ``int(0.5 sqrt(1 - lam) W)``
    and ``... H``, clipped to the image. Image ``i`` gets the box of image
    ``i - 1``; the labels are mixed with ``1 - box area / image area``. Any dtype.
    Parameters as :class:`MixUp`.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms._erase_mix import CutMix
    >>> x = np.stack([np.zeros((4, 4, 1)), np.ones((4, 4, 1))]).astype(np.uint8)
    >>> imgs, labels = CutMix(num_classes=2).apply(x, np.array([0, 1]), {"box": (0, 0, 2, 4)})
    >>> imgs[0, :, :, 0].tolist(), labels[0].tolist()
    ([[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0]], [0.5, 0.5])
    """

    def draw(self, images: Any, rng: Any = None) -> dict[str, Any]:
        """``{"lam": float, "box": (x1, y1, x2, y2)}`` as torchvision draws them."""
        g = self.rng if rng is None else make_rng(rng, "rng")
        lam = float(g.beta(self.alpha, self.alpha))
        hgt, wid = self._hw(np.asarray(images))
        r_x = int(g.integers(0, wid))
        r_y = int(g.integers(0, hgt))
        r = 0.5 * math.sqrt(1.0 - lam)
        rw, rh = int(r * wid), int(r * hgt)
        box = (max(r_x - rw, 0), max(r_y - rh, 0), min(r_x + rw, wid), min(r_y + rh, hgt))
        return {"lam": lam, "box": box}

    def apply(self, images: Any, labels: Any, params: dict[str, Any]) -> tuple[np.ndarray,
                                                                                 np.ndarray]:
        """Paste the given ``box`` ``(x1, y1, x2, y2)`` (deterministic)."""
        images, lab = self._check(images, labels)
        box = params["box"]
        if not (isinstance(box, Sequence) and len(box) == 4):
            raise TypeError(f"params['box'] must be (x1, y1, x2, y2), got {box!r}")
        x1, y1, x2, y2 = (check_int(f"box[{i}]", v, low=0) for i, v in enumerate(box))
        hgt, wid = self._hw(images)
        if not (x1 <= x2 <= wid and y1 <= y2 <= hgt):
            raise ValueError(f"box {box!r} must satisfy x1 <= x2 <= {wid}, y1 <= y2 <= {hgt}")
        out = images.copy()
        if len(images):
            rolled = np.roll(np.arange(len(images)), 1)
            if self.data_format == "channels_last":
                out[:, y1:y2, x1:x2] = images[rolled, y1:y2, x1:x2]
            else:
                out[:, :, y1:y2, x1:x2] = images[rolled, :, y1:y2, x1:x2]
        lam_adjusted = float(1.0 - (x2 - x1) * (y2 - y1) / (wid * hgt))
        return out, self._mix_labels(lab, lam_adjusted)


# --------------------------------------------------------------------------- choice


def _mask_step(step: Step, mask: np.ndarray, cur: np.ndarray, channels: int | None
               ) -> Step | None:
    """``step`` for the images of ``mask``, the identity for the others; None if impossible.

    ``cur`` (N, 2) are the images' sizes before the step.
    """
    v = dict(step.values)
    if step.kind == "flip":
        v["flip"] = np.asarray(v["flip"], bool) & mask
    elif step.kind == "crop":
        ident = np.concatenate([np.zeros_like(cur), cur], axis=1)
        v["boxes"] = np.where(mask[:, None], v["boxes"], ident)
    elif step.kind == "resize":
        v["sizes"] = np.where(mask[:, None], v["sizes"], cur)
    elif step.kind in ("color", "erase") and "apply" in v:
        if step.options.get("op") == "grayscale" and step.options.get(
                "num_output_channels") not in (None, channels):
            return None  # unchosen images would keep another channel count
        v["apply"] = np.asarray(v["apply"], bool) & mask
    elif step.kind == "color" and "order" in v:  # ColorJitter: skip every operation
        v["order"] = np.where(mask[:, None], v["order"], -1)
    else:
        return None  # elementwise (dtype of the batch), affine
    return Step(step.name, step.kind, v, step.options)


def _masked(steps: list[Step], mask: np.ndarray, sizes: np.ndarray
            ) -> tuple[list[Step], np.ndarray] | None:
    """Mask every step; None if one has no identity. Also returns the sizes after."""
    out = []
    cur = np.asarray(sizes, np.int64)
    for s in steps:
        m = _mask_step(s, mask, cur, None)
        if m is None:
            return None
        out.append(m)
        if m.kind == "crop":
            cur = np.asarray(m.values["boxes"][:, 2:4], np.int64)
        elif m.kind == "resize":
            cur = np.asarray(m.values["sizes"], np.int64)
    return out, cur


def _transforms_arg(transforms: Any) -> list[Transform]:
    if isinstance(transforms, Transform) or not isinstance(transforms, Sequence) or isinstance(
            transforms, str):
        raise TypeError(f"transforms must be a sequence of fastaug.transforms transforms, got "
                        f"{transforms!r}")
    if not transforms:
        raise ValueError("transforms must not be empty (pass at least one transform)")
    for i, t in enumerate(transforms):
        if not isinstance(t, Transform):
            raise TypeError(f"transforms[{i}] must be a fastaug.transforms transform, got {t!r}")
    return list(transforms)


def _steps_of(transforms: list[Transform], sizes: np.ndarray,
              g: np.random.Generator) -> list[Step]:
    from fastaug.transforms._compose import Compose

    return Compose(transforms).make_steps(sizes, g)


class RandomApply(Transform):
    """Apply a list of transforms to each image with probability ``p`` (torchvision).

    Each image has its own coin; the transforms' steps go to the images whose
    coin came up, the others get each step's identity. Steps without a
    per-image identity (``ToDtype``, ``Normalize``, ``RandomAffine``,
    ``RandomRotation``, ``Grayscale`` changing the channel count) make one
    choice for the whole batch, as torchvision draws once per call.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import RandomHorizontalFlip
    >>> from fastaug.transforms._erase_mix import RandomApply
    >>> x = np.arange(3, dtype=np.uint8).reshape(1, 1, 3, 1).repeat(1000, 0)
    >>> y = RandomApply([RandomHorizontalFlip(p=1.0)], p=0.3)(x, rng=0)
    >>> 0.25 < float((y[:, 0, 0, 0] == 2).mean()) < 0.35
    True
    """

    def __init__(self, transforms: Sequence[Transform], p: float = 0.5) -> None:
        self.transforms = _transforms_arg(transforms)
        self.p = _probability(p)

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        n = len(sizes)
        # torchvision skips when torch.rand(1) >= p.
        mask = g.random(n) < self.p
        steps = _steps_of(self.transforms, sizes, g)
        masked = _masked(steps, mask, sizes)
        if masked is not None:
            return masked[0]
        return steps if g.random() < self.p else []


class RandomChoice(Transform):
    """Apply one transform per image, picked with probabilities ``p`` (torchvision).

    ``p`` (default: equal) is normalised to sum to 1. Each image draws its own
    pick; when one of the transforms has a step without a per-image identity
    (see :class:`RandomApply`) one pick is drawn for the whole batch.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import RandomHorizontalFlip, RandomVerticalFlip
    >>> from fastaug.transforms._erase_mix import RandomChoice
    >>> x = np.arange(4, dtype=np.uint8).reshape(1, 2, 2, 1).repeat(6, 0)
    >>> y = RandomChoice([RandomHorizontalFlip(1.0), RandomVerticalFlip(1.0)])(x, rng=0)
    >>> sorted({int(v) for v in y[:, 0, 0, 0]})   # 1: flipped left-right, 2: top-bottom
    [1, 2]
    """

    def __init__(self, transforms: Sequence[Transform], p: Sequence[float] | None = None
                 ) -> None:
        self.transforms = _transforms_arg(transforms)
        if p is None:
            probs = [1.0] * len(self.transforms)
        else:
            if isinstance(p, str) or not isinstance(p, (Sequence, np.ndarray)):
                raise TypeError(f"p must be None or a sequence of non-negative numbers, got {p!r}")
            if len(p) != len(self.transforms):
                raise ValueError(f"p has {len(p)} values for {len(self.transforms)} transforms")
            probs = [check_real(f"p[{i}]", v, low=0.0) for i, v in enumerate(p)]
        total = sum(probs)
        if total <= 0:
            raise ValueError(f"p must have a positive sum, got {p!r}")
        self.p = [q / total for q in probs]

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        n = len(sizes)
        cdf = np.cumsum(self.p)
        pick = np.minimum(np.searchsorted(cdf, g.random(n) * cdf[-1], side="right"),
                          len(self.p) - 1)
        out: list[Step] = []
        cur = np.asarray(sizes, np.int64)
        for k, t in enumerate(self.transforms):
            mask = pick == k
            if not mask.any():
                continue
            masked = _masked(t.make_steps(cur, g), mask, cur)
            if masked is None:
                # One pick for the batch (torchvision's torch.multinomial per call).
                k1 = min(int(np.searchsorted(cdf, g.random() * cdf[-1], side="right")),
                         len(self.p) - 1)
                return self.transforms[k1].make_steps(sizes, g)
            out.extend(masked[0])
            cur = masked[1]
        return out
