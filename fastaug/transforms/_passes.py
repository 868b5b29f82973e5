"""Fold a recipe's steps into native passes and run them.

A *pass* is one call of :func:`fastaug.resample.resized_crop`: per image a box
of its source (padded where it leaves the image), resized to a virtual size of
which a window is kept, flipped, then ``v * mul + add`` per channel and the
cast to the output dtype and layout. Consecutive steps fold into one pass:

- crops before any resize move the box (a flip mirrors later crops);
- a resize sets the virtual size; crops after it move the window;
- flips toggle the pass's output flips;
- ``ToDtype``/``Normalize`` compose into ``mul``/``add``.

A new pass starts (the previous one's output is its source) only where
folding would change the result:

- a second resize (two resamplings are not one);
- a crop after a resize that leaves the resized image (padding of the resized
  image is not padding of the source);
- a crop that leaves an image that was already cropped (padding would read
  the source's pixels instead of repeating the crop's);
- a resize of data already converted to float from uint8, a constant-padded
  crop after a non-identity ``Normalize``/``ToDtype`` of uint8 data, and a
  ``nearest`` resize of a flipped image (PyTorch's nearest is not symmetric);
- ``ToDtype(uint8)`` of float data (torchvision truncates; it runs as a numpy
  step after the pass);
- ``RandomAffine``/``RandomRotation``: a pass of the fused affine kernel of its
  own, on images of one size (torchvision's fill rule needs a mask channel,
  see ``_affine.py``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fastaug import resample as _rs
from fastaug.transforms._affine import tv_affine
from fastaug.transforms._params import BatchParams, Step

__all__ = ["run"]


@dataclass
class _Pass:
    """The pass being built: everything in the coordinates of its source."""

    src_sizes: np.ndarray  # (N, 2) source sizes
    src_dtype: np.dtype
    channels: int
    boxes: np.ndarray = field(init=False)  # (N, 4) top, left, h, w
    cur: np.ndarray = field(init=False)  # (N, 2) size of the image as it stands
    cropped: bool = False
    padding_mode: str = "constant"
    fill: tuple[float, ...] = (0.0,)
    padded: bool = False
    virtual: np.ndarray | None = None  # (N, 2) resize target
    window: np.ndarray | None = None  # (N, 2) window offsets in the resized image
    interpolation: str = "bilinear"
    antialias: bool = True
    hflip: np.ndarray = field(init=False)
    vflip: np.ndarray = field(init=False)
    mul: np.ndarray = field(init=False)
    add: np.ndarray = field(init=False)
    dtype: np.dtype = field(init=False)  # dtype of the values after the epilogue

    def __post_init__(self) -> None:
        n = len(self.src_sizes)
        self.boxes = np.zeros((n, 4), np.int64)
        self.boxes[:, 2:] = self.src_sizes
        self.cur = np.array(self.src_sizes, np.int64)
        self.hflip = np.zeros(n, bool)
        self.vflip = np.zeros(n, bool)
        self.mul = np.ones(self.channels)
        self.add = np.zeros(self.channels)
        self.dtype = self.src_dtype

    @property
    def converted(self) -> bool:
        return self.dtype != self.src_dtype or bool((self.mul != 1).any() or (self.add != 0).any())

    def empty(self) -> bool:
        return (not self.cropped and self.virtual is None and not self.hflip.any()
                and not self.vflip.any() and not self.converted)


def _mirror(boxes: np.ndarray, cur: np.ndarray, hflip: np.ndarray,
            vflip: np.ndarray) -> np.ndarray:
    """A crop of a flipped image is the flipped crop of the mirrored box (``boxes``
    itself when nothing is flipped: callers only read the result)."""
    if not (hflip.any() or vflip.any()):
        return boxes
    b = boxes.copy()
    b[:, 1] = np.where(hflip, cur[:, 1] - b[:, 1] - b[:, 3], b[:, 1])
    b[:, 0] = np.where(vflip, cur[:, 0] - b[:, 0] - b[:, 2], b[:, 0])
    return b


def _crop_fits(p: _Pass, step: Step) -> bool:
    boxes = step.values["boxes"]
    outside = bool(((boxes[:, 0] < 0) | (boxes[:, 1] < 0)
                    | (boxes[:, 0] + boxes[:, 2] > p.cur[:, 0])
                    | (boxes[:, 1] + boxes[:, 3] > p.cur[:, 1])).any())
    if p.virtual is not None:
        return not outside
    if not outside:
        return True
    if p.cropped:
        return False
    # Padding a converted uint8 pass would need a fill that is not a uint8 value.
    return not (step.options["padding_mode"] == "constant" and p.converted
                and p.src_dtype == np.uint8)


def _fold(p: _Pass, step: Step) -> bool:
    """Fold ``step`` into ``p``; False when it needs a pass of its own."""
    if step.kind in ("affine", "color", "erase", "auto"):
        return False  # a pass of its own (the fused affine kernel, colour kernels, ...)
    if step.kind == "crop":
        if not _crop_fits(p, step):
            return False
        b = _mirror(step.values["boxes"], p.cur, p.hflip, p.vflip)
        if p.virtual is not None:
            p.window = p.window + b[:, :2]
        else:
            if (b[:, 0] < 0).any() or (b[:, 1] < 0).any() or (
                    b[:, 0] + b[:, 2] > p.cur[:, 0]).any() or (
                    b[:, 1] + b[:, 3] > p.cur[:, 1]).any():
                p.padded = True
                p.padding_mode = step.options["padding_mode"]
                fill = np.asarray(step.options["fill"], np.float64)
                if p.padding_mode != "constant":
                    fill = np.zeros(1)  # only constant padding has a fill value
                elif p.converted:
                    # The pass pads before its epilogue: pad with the value that
                    # the epilogue maps to the requested fill.
                    fill = (np.broadcast_to(fill, (p.channels,)) - p.add) / p.mul
                p.fill = tuple(float(v) for v in np.atleast_1d(fill))
            moved = np.array(b, np.int64)
            moved[:, :2] += p.boxes[:, :2]
            p.boxes = moved
            p.cropped = True
        p.cur = np.array(b[:, 2:], np.int64)
        return True
    if step.kind == "resize":
        if p.virtual is not None:
            return False
        if p.converted and p.src_dtype == np.uint8:
            return False
        interp = step.options["interpolation"]
        if interp == "nearest" and (p.hflip.any() or p.vflip.any()):
            return False
        p.virtual = np.array(step.values["sizes"], np.int64)
        p.window = np.zeros_like(p.virtual)
        p.interpolation = interp
        p.antialias = step.options["antialias"]
        p.cur = p.virtual.copy()
        return True
    if step.kind == "flip":
        if step.options["axis"] == "horizontal":
            p.hflip = p.hflip ^ step.values["flip"]
        else:
            p.vflip = p.vflip ^ step.values["flip"]
        return True
    # elementwise
    opts = step.options
    if "mean" in opts:
        if p.dtype != np.float32:
            raise TypeError("Normalize needs float images: put ToDtype(numpy.float32, "
                            "scale=True) before it")
        for name in ("mean", "std"):
            _check_channels(len(opts[name]), p.channels, name)
        mean = _per_channel(opts["mean"], p.channels)
        std = _per_channel(opts["std"], p.channels)
        p.mul = p.mul / std
        p.add = (p.add - mean) / std
        return True
    dtype = opts["dtype"]
    if dtype == np.float32:
        if p.dtype == np.uint8 and opts["scale"]:
            p.mul = p.mul / 255.0
            p.add = p.add / 255.0
        p.dtype = np.dtype(np.float32)
        return True
    # uint8 -> uint8 is nothing to do; float -> uint8 is torchvision's truncating
    # conversion, done after the pass.
    return p.dtype == np.uint8


def _per_channel(values: Any, c: int) -> np.ndarray:
    """One float64 per channel from 1 or ``c`` values (checked by the caller);
    ``np.broadcast_to`` cost more than the rest of a crop step."""
    v = np.asarray(values, np.float64).reshape(-1)
    return v if v.size == c else np.full(c, v[0])


def _check_channels(k: int, c: int, name: str) -> None:
    if k not in (1, c):
        raise ValueError(f"{name} has {k} values for images with {c} channels: give one per "
                         "channel (or one for all)")


def _execute(p: _Pass, source: Any, data_format: str, num_threads: int | None) -> np.ndarray:
    sizes = p.cur
    if len(sizes) and not (sizes == sizes[0]).all():
        k = int(np.argmax((sizes != sizes[0]).any(axis=1)))
        raise ValueError(f"the recipe gives images of different sizes ({tuple(sizes[0])} and "
                         f"{tuple(sizes[k])} for image {k}): end it with a transform of a "
                         "fixed size (Resize((h, w)), CenterCrop, RandomCrop, "
                         "RandomResizedCrop)")
    oh, ow = (int(sizes[0, 0]), int(sizes[0, 1])) if len(sizes) else (1, 1)
    fill = np.asarray(p.fill, np.float64)
    _check_channels(fill.size, p.channels, "fill")
    fill = _per_channel(fill, p.channels)
    if p.src_dtype == np.uint8 and p.padded and p.padding_mode == "constant":
        fill = np.clip(np.rint(fill), 0, 255)
    kwargs: dict[str, Any] = {}
    if p.virtual is not None and ((p.window != 0).any() or (p.virtual != p.cur).any()):
        # Resize to the virtual size and keep a window of it (Resize + CenterCrop).
        kwargs.update(resize_to=p.virtual, window=p.window)
    return _rs._resized_crop_planned(
        source, p.boxes, oh, ow, interpolation=p.interpolation, antialias=p.antialias,
        hflip=p.hflip, vflip=p.vflip, padding_mode=p.padding_mode, fill=fill,
        mul=p.mul, add=p.add, out_dtype=p.dtype, data_format=data_format,
        num_threads=num_threads, **kwargs)


def _to_uint8_truncating(x: np.ndarray, scale: bool) -> np.ndarray:
    # torchvision: float -> uint8 with scale is x * (255 + 1 - 1e-3) truncated.
    y = x * np.float32(255.0 + 1.0 - 1e-3) if scale else x
    return np.clip(y, 0, 255).astype(np.uint8)


def _uniform(current: Any) -> np.ndarray:
    """The source as one (N, H, W, C) array (the affine warp needs one size)."""
    if isinstance(current, np.ndarray):
        return current
    packed = _rs._as_packed(current)
    if len(packed) and not ((packed.heights == packed.heights[0]).all()
                            and (packed.widths == packed.widths[0]).all()):
        raise ValueError("affine, colour, erasing and blur steps need images of one size: put a "
                         "Resize((h, w)), CenterCrop or RandomResizedCrop before them")
    return np.stack([packed.image(i) for i in range(len(packed))])


def _sub_pass(p: _Pass, idx: np.ndarray) -> _Pass:
    """The pass restricted to images ``idx`` (every per-image array sliced)."""
    q = copy.copy(p)
    for name in ("src_sizes", "boxes", "cur", "hflip", "vflip", "virtual", "window"):
        v = getattr(p, name)
        if v is not None:
            setattr(q, name, v[idx])
    return q


def _execute_boundary(p: _Pass, current: Any, num_threads: int | None) -> Any:
    """Run a pass at a boundary: one array, or a list when the images still differ in size.

    A pass holding only flips and element-wise steps keeps a ragged batch ragged;
    it runs once per group of equal sizes.
    """
    sizes = p.cur
    if len(sizes) == 0 or (sizes == sizes[0]).all():
        return _execute(p, current, "channels_last", num_threads)
    packed = _rs._as_packed(current)
    out: list[Any] = [None] * len(sizes)
    keys = sizes[:, 0] * (1 << 32) + sizes[:, 1]
    for key in np.unique(keys):
        idx = np.flatnonzero(keys == key)
        res = _execute(_sub_pass(p, idx), [packed.image(int(i)) for i in idx],
                       "channels_last", num_threads)
        for j, i in enumerate(idx.tolist()):
            out[i] = res[j]
    return out


def _pass_after(current: Any, c: int) -> _Pass:
    """A new pass whose source is ``current`` (an array or a list of images)."""
    if isinstance(current, np.ndarray):
        return _Pass(np.array(current.shape[1:3])[None].repeat(len(current), 0),
                     current.dtype, c)
    return _Pass(np.array([im.shape[:2] for im in current], np.int64), current[0].dtype, c)


def _epilogue_tail(steps: list[Step], arr: np.ndarray, c: int) -> _Pass | None:
    """The pass that ``steps`` fold into after ``arr`` when it is only a float epilogue.

    None when a step moves pixels (a crop, resize or flip), needs a pass of its
    own, or the result is not float32 (uint8 output needs torchvision's rounding).
    """
    p = _pass_after(arr, c)
    for step in steps:
        if step.kind != "elementwise" or not _fold(p, step):
            return None
    return p if p.dtype == np.float32 and not p.empty() else None


def run(params: BatchParams, source: Any, src_dtype: np.dtype, data_format: str,
        num_threads: int | None) -> np.ndarray:
    """Execute ``params`` on ``source`` (an array, PackedImages or sequence)."""
    c = params.channels
    p = _Pass(np.asarray(params.input_sizes, np.int64), np.dtype(src_dtype), c)
    current = source
    fresh = False  # True once ``current`` is an array this run made (not the caller's)
    for k, step in enumerate(params.steps):
        if _fold(p, step):
            continue
        # A pass boundary: run what is folded so far, then retry the step.
        if not p.empty():
            current = _execute_boundary(p, current, num_threads)
            fresh = True
            p = _pass_after(current, c)
        if step.kind in ("affine", "color", "erase", "auto"):
            arr = _uniform(current)
            if step.kind == "erase":
                from fastaug.transforms._erase_mix import apply_erase

                # An array this run made may be overwritten (no copy of the batch).
                current = apply_erase(step, arr, num_threads, inplace=fresh)
            elif step.kind == "affine":
                current = tv_affine(arr, step.values["theta"], step.options["interpolation"],
                                    step.options["fill"], num_threads)
            elif step.kind == "auto":
                from fastaug.transforms._auto import apply_auto

                current = apply_auto(step, arr, num_threads)
            else:
                from fastaug.transforms._color import apply_color, fuses_epilogue

                tail = _epilogue_tail(params.steps[k + 1:], arr, c) if fuses_epilogue(
                    step) else None
                if tail is not None:
                    # The recipe ends with ToDtype/Normalize: one store writes the output.
                    return apply_color(step, arr, num_threads,
                                       epilogue=(tail.mul, tail.add, data_format))
                current = apply_color(step, arr, num_threads)
                c = current.shape[3]  # Grayscale(1) changes the channel count
            fresh = True
            p = _pass_after(current, c)
            continue
        if _fold(p, step):
            continue
        if step.kind == "elementwise":  # float -> uint8
            out = _execute_boundary(p, current, num_threads) if not p.empty() else current
            scale = step.options["scale"]
            if isinstance(out, np.ndarray):
                current = _to_uint8_truncating(out, scale)
            else:
                # A sequence (sizes may differ): each image converted, as torchvision
                # converts each; one array again when they share a size.
                packed = _rs._as_packed(out)
                conv = [_to_uint8_truncating(packed.image(i), scale) for i in range(len(packed))]
                same = all(im.shape == conv[0].shape for im in conv)
                current = np.stack(conv) if same else conv
            fresh = True
            p = _pass_after(current, c)
            continue
        raise AssertionError(f"step {step} does not fold into an empty pass")
    if p.empty() and isinstance(current, np.ndarray) and current.ndim == 4 and (
            data_format == "channels_last"):
        return current if fresh else np.array(current, copy=True)
    return _execute(p, current, data_format, num_threads)
