"""``Compose``: a recipe of batch transforms, drawn per image and run in few passes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fastaug import resample as _rs
from fastaug._validate import check_choice
from fastaug.augment import make_rng
from fastaug.transforms import _files, _passes
from fastaug.transforms._params import BatchParams, Step
from fastaug.transforms._transforms import Transform

__all__ = ["Compose"]

DATA_FORMATS = ("channels_last", "channels_first")


def _sizes_of(images: Any) -> tuple[np.ndarray, int, np.dtype]:
    """(N, 2) sizes, channels and dtype of a batch in any accepted form."""
    if isinstance(images, _files.FileBatch):
        return images.sizes, 3, np.dtype(np.uint8)
    if isinstance(images, _rs.PackedImages):
        return (np.stack([images.heights, images.widths], axis=1), images.channels,
                images.dtype)
    if isinstance(images, np.ndarray):
        if images.ndim != 4:
            raise ValueError(f"images must be an (N, H, W, C) array or a sequence of (H, W, C) "
                             f"arrays, got an array of shape {images.shape}")
        n, h, w, c = images.shape
        return np.tile(np.array([h, w], np.int64), (n, 1)), c, images.dtype
    if isinstance(images, Sequence) and not isinstance(images, str):
        if not images:
            raise ValueError("images must not be empty")
        shapes = []
        for i, im in enumerate(images):
            if not isinstance(im, np.ndarray) or im.ndim != 3:
                raise ValueError(f"images[{i}] must be an (H, W, C) numpy array, got "
                                 f"{getattr(im, 'shape', type(im).__name__)}")
            shapes.append(im.shape)
        cs = {s[2] for s in shapes}
        if len(cs) != 1:
            raise ValueError(f"images must all have the same number of channels, got "
                             f"{sorted(cs)}")
        dts = {im.dtype for im in images}
        if len(dts) != 1:
            raise ValueError(f"images must all have the same dtype, got {sorted(map(str, dts))}")
        sizes = np.array([s[:2] for s in shapes], np.int64)
        return sizes, shapes[0][2], images[0].dtype
    raise TypeError(f"images must be an (N, H, W, C) array, a sequence of (H, W, C) arrays, "
                    f"a sequence of file paths or a fastaug.resample.PackedImages, got "
                    f"{type(images).__name__}")


class Compose(Transform):
    """A recipe: transforms applied in order, each image with its own random draw.

    The whole recipe runs as one native pass over the output wherever the
    maths allows: crops, resizes and flips fold into one crop box, resize and
    window per image, ``ToDtype``/``Normalize`` into the pass's per-channel
    epilogue (see :mod:`fastaug.transforms._passes` for the few cases that take a
    second pass). Drawing is separate from pixels: :meth:`draw` returns a
    :class:`~fastaug.transforms.BatchParams`, :meth:`apply` replays one.

    Images may also be given as file paths (a batch of ``fastaug.batches`` over
    a list of paths): they are decoded as RGB uint8. When the recipe starts with
    a crop and libjpeg-turbo 3 is there, JPEGs are decoded only over their crop
    boxes, with the same pixels as a whole decode then a crop; when its first
    resize shrinks fourfold or more, large JPEGs are decoded at 1/2, 1/4 or 1/8
    scale (``fastaug.io.DRAFT``; see :mod:`fastaug.transforms._files` and
    :mod:`fastaug._turbojpeg`).

    Parameters
    ----------
    transforms : sequence of Transform
    data_format : {"channels_last", "channels_first"}
        Layout of the output: (N, H, W, C) or (N, C, H, W) (PyTorch's).
        Inputs are channels last, as decoded.
    seed : int, sequence of ints, Generator or None
        The object's own generator (used when a call passes no ``rng``).
    num_threads : int, optional
        Threads per batch; default all usable cores (a prefetching stream's
        share on its worker threads).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms import (Compose, Normalize, RandomHorizontalFlip,
    ...                                 RandomResizedCrop, ToDtype)
    >>> recipe = Compose([RandomResizedCrop(224), RandomHorizontalFlip(),
    ...                   ToDtype(np.float32, scale=True),
    ...                   Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])],
    ...                  data_format="channels_first", seed=0)
    >>> imgs = [np.zeros((375, 500, 3), np.uint8), np.zeros((500, 375, 3), np.uint8)]
    >>> out = recipe(imgs)
    >>> out.shape, out.dtype
    ((2, 3, 224, 224), dtype('float32'))
    >>> params = recipe.draw(imgs, rng=(0, 1, 2))     # keyed: (seed, epoch, batch)
    >>> bool((recipe.apply(imgs, params) == recipe(imgs, rng=(0, 1, 2))).all())
    True
    """

    def __init__(self, transforms: Sequence[Transform], *, data_format: str = "channels_last",
                 seed: Any = None, num_threads: int | None = None) -> None:
        if isinstance(transforms, Transform) or not isinstance(transforms, Sequence):
            raise TypeError(f"transforms must be a sequence of transforms, got {transforms!r}")
        flat: list[Transform] = []
        for i, t in enumerate(transforms):
            if isinstance(t, Compose):
                flat.extend(t.transforms)
            elif isinstance(t, Transform):
                flat.append(t)
            else:
                raise TypeError(f"transforms[{i}] must be a fastaug.transforms transform, "
                                f"got {t!r}")
        self.transforms = flat
        self.data_format = check_choice("data_format", data_format, DATA_FORMATS)
        self.rng = make_rng(seed)
        if num_threads is not None:
            from fastaug._pool import resolve_threads

            num_threads = resolve_threads(num_threads)
        self.num_threads = num_threads

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}], data_format={self.data_format!r})"

    def make_steps(self, sizes: np.ndarray, g: np.random.Generator) -> list[Step]:
        steps: list[Step] = []
        cur = np.asarray(sizes, np.int64)
        for t in self.transforms:
            new = t.make_steps(cur, g)
            for s in new:
                if s.kind == "crop":
                    cur = s.values["boxes"][:, 2:4]
                elif s.kind == "resize":
                    cur = s.values["sizes"]
            steps.extend(new)
        return steps

    def draw(self, images: Any, rng: Any = None) -> BatchParams:
        """Draw every step's parameters for ``images`` (only their sizes are read).

        ``rng`` (a seed, a tuple such as ``(seed, epoch, batch)``, or a Generator)
        replaces the object's own generator for this draw.
        """
        if _files.is_paths(images):
            images = _files.read(images, self.num_threads)
        sizes, c, _ = _sizes_of(images)
        g = self.rng if rng is None else make_rng(rng, "rng")
        return BatchParams(sizes, tuple(self.make_steps(sizes, g)), c)

    def apply(self, images: Any, params: BatchParams) -> np.ndarray:
        """Run the recipe with given parameters (deterministic; draws nothing)."""
        if _files.is_paths(images):
            images = _files.read(images, self.num_threads)
        sizes, c, dtype = _sizes_of(images)
        if dtype not in (np.uint8, np.float32):
            raise TypeError(f"images must be uint8 or float32, got {dtype}")
        if not isinstance(params, BatchParams):
            raise TypeError(f"params must be a BatchParams (from draw()), got "
                            f"{type(params).__name__}")
        if params.n != len(sizes) or not np.array_equal(params.input_sizes, sizes):
            raise ValueError("params were drawn for images of other sizes (or another count): "
                             "draw them for these images")
        if params.channels != c:
            raise ValueError(f"params were drawn for {params.channels}-channel images, these "
                             f"have {c}")
        if isinstance(images, _files.FileBatch):
            images, params = _files.decode(images, params, self.num_threads)
        return _passes.run(params, images, dtype, self.data_format, self.num_threads)

    def __call__(self, images: Any, rng: Any = None, **kwargs: Any) -> np.ndarray:
        """Draw and apply: a new random draw per image (keyed by ``rng`` when given)."""
        if kwargs:
            raise TypeError(f"unexpected keyword arguments {sorted(kwargs)}")
        if _files.is_paths(images):
            images = _files.read(images, self.num_threads)  # once for draw and apply
        return self.apply(images, self.draw(images, rng))
