"""Recipes on image files: sizes from the headers, then decode only what the first crop keeps.

A :class:`~fastaug.transforms.Compose` given file paths reads every file and its
header, draws the recipe on the header sizes, and decodes. When the recipe
starts with a crop (``RandomResizedCrop``, ``RandomCrop`` without padding past
the image, ``CenterCrop``) and a TurboJPEG 3 library is there
(:mod:`fastaug._turbojpeg`), a JPEG is decoded only over its crop box (plus the
few columns of the iMCU grid around it); the crop box is then moved into the
decoded region, so the recipe sees the same pixels as after a whole-image
decode, bit for bit. Every other file (PNG, CMYK JPEG, no TurboJPEG 3, a box
that pads) is decoded whole by :func:`fastaug.io.load_array`, as RGB: the
``ImageFolder`` convention (``Image.open(f).convert("RGB")``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fastaug.transforms._params import BatchParams, Step

__all__ = ["FileBatch", "is_paths", "read", "decode"]


@dataclass(eq=False)
class FileBatch:
    """Files of a batch, read: JPEG bytes for region decoding, or decoded images."""

    paths: list[str]
    datas: list[bytes | None]
    headers: list[tuple[int, int, int] | None]
    images: list[np.ndarray | None]
    sizes: np.ndarray

    def __len__(self) -> int:
        return len(self.paths)


def is_paths(images: Any) -> bool:
    """Whether ``images`` is a non-empty sequence of file paths (str or os.PathLike)."""
    return (isinstance(images, Sequence) and not isinstance(images, (str, bytes))
            and len(images) > 0 and isinstance(images[0], (str, os.PathLike)))


def _threads(num_threads: int | None) -> int:
    from fastaug._pool import resolve_threads

    return resolve_threads(num_threads)


def read(paths: Sequence[Any], num_threads: int | None) -> FileBatch:
    """Read every file: the bytes and header of JPEGs the region decoder takes, else decode."""
    from fastaug import _pool, _turbojpeg
    from fastaug import io as fio

    n = len(paths)
    names: list[str] = []
    for i, p in enumerate(paths):
        if not isinstance(p, (str, os.PathLike)):
            raise TypeError(f"images[{i}] must be a file path like images[0], got {p!r}")
        names.append(os.fspath(p))
    datas: list[bytes | None] = [None] * n
    headers: list[tuple[int, int, int] | None] = [None] * n
    images: list[np.ndarray | None] = [None] * n
    sizes = np.zeros((n, 2), np.int64)
    region = fio.FAST_JPEG and _turbojpeg.available()
    if region:
        from PIL import Image

        from fastaug._decode import _read_jpeg
        limit = Image.MAX_IMAGE_PIXELS

    def one(i: int) -> None:
        if region:
            data = _read_jpeg(names[i])
            hdr = None if data is None else _turbojpeg.header(data, limit)
            if hdr is not None:
                datas[i], headers[i] = data, hdr
                sizes[i] = hdr[:2]
                return
        a = fio.load_array(names[i], "rgb")
        images[i] = a
        sizes[i] = a.shape[:2]

    _pool.run_each(one, n, _threads(num_threads), pool="io")
    return FileBatch(names, datas, headers, images, sizes)


def _crop_boxes(params: BatchParams) -> np.ndarray | None:
    """The first step's crop boxes (N, 4) ``(top, left, height, width)``, if it is a crop."""
    if params.steps and params.steps[0].kind == "crop":
        return np.asarray(params.steps[0].values["boxes"], np.int64)
    return None


def decode(files: FileBatch, params: BatchParams,
           num_threads: int | None) -> tuple[list[np.ndarray], BatchParams]:
    """Decode the batch for ``params`` (drawn on ``files.sizes``).

    Returns the images and the parameters to run on them: the first crop's
    boxes moved into the decoded regions, input sizes those of the regions.
    """
    from fastaug import _pool, _turbojpeg
    from fastaug import io as fio

    n = len(files)
    boxes = _crop_boxes(params)
    new_boxes = None if boxes is None else boxes.copy()
    images: list[np.ndarray] = [None] * n  # type: ignore[list-item]

    def one(i: int) -> None:
        a = files.images[i]
        if a is None:
            data, hdr = files.datas[i], files.headers[i]
            ih, iw = int(files.sizes[i, 0]), int(files.sizes[i, 1])
            top, left, bh, bw = (0, 0, ih, iw) if boxes is None else map(int, boxes[i])
            if not (top >= 0 and left >= 0 and top + bh <= ih and left + bw <= iw):
                top, left, bh, bw = 0, 0, ih, iw  # padding: the whole image
            got = _turbojpeg.decode_region(data, hdr, top, left, bh, bw)  # type: ignore[arg-type]
            if got is not None:
                a, y0, x0 = got
                if new_boxes is not None:
                    new_boxes[i, 0] -= y0
                    new_boxes[i, 1] -= x0
            else:
                # The library refused (corrupt data...): the whole file through
                # fastaug.io, which gives Pillow's result or a clear error.
                a = fio.load_array(files.paths[i], "rgb")
                if a.shape[:2] != (ih, iw):
                    raise ValueError(f"{files.paths[i]}: the header says {ih}x{iw}, the "
                                     f"decoded image is {a.shape[0]}x{a.shape[1]}")
        images[i] = a

    _pool.run_each(one, n, _threads(num_threads), pool="io")
    sizes = np.array([a.shape[:2] for a in images], np.int64).reshape(n, 2)
    steps = params.steps
    if new_boxes is not None:
        first = steps[0]
        steps = (Step(first.name, first.kind, {**first.values, "boxes": new_boxes},
                      first.options),) + steps[1:]
    return images, BatchParams(sizes, steps, params.channels)
