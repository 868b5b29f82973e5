"""Recipes on image files: sizes from the headers, then decode only what the recipe needs.

A :class:`~fastaug.transforms.Compose` given file paths reads every file and its
header, draws the recipe on the header sizes, then decodes, as RGB (the
``ImageFolder`` convention, ``Image.open(f).convert("RGB")``):

* Region: when the recipe starts with a crop inside the image
  (``RandomResizedCrop``, ``CenterCrop``, ``RandomCrop`` not padding past the
  edge) and a TurboJPEG 3 library is there (:mod:`fastaug._turbojpeg`), a JPEG
  is decoded only over its crop box (plus the few columns of the iMCU grid
  around it) and the box moves into the decoded region: the same pixels as a
  whole-image decode, bit for bit.
* Scale: when the recipe's first resize (right after that crop, or first of
  all) is antialiased bilinear or bicubic and shrinks the region at least
  fourfold on both sides, libjpeg decodes at 1/2, 1/4 or 1/8 scale (its DCT
  scaling: the largest that keeps the region at least twice the resize's size,
  Pillow's ``thumbnail`` rule, ``reducing_gap=2``), and the resize starts from
  there. The box is then rounded to the scaled image's pixel grid
  (each end to the nearest multiple of the scale: less than one scaled pixel),
  and pixels differ from a full-size decode by the difference between libjpeg's
  scaled IDCT and the antialiasing filter (``tests/test_turbojpeg.py`` states
  the tolerance). ``fastaug.io.DRAFT = False`` turns it off, as for the
  directory iterators. With TurboJPEG 3 the scaled decode is a region too;
  without it, simplejpeg decodes the whole image at that scale.

Every other file (PNG, CMYK JPEG, neither decoder, a box that pads) is decoded
whole by :func:`fastaug.io.load_array`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fastaug.transforms._params import BatchParams, Step

__all__ = ["FileBatch", "is_paths", "read", "decode", "draft_scale"]

# Resizes that DCT scaling may start: antialiased, so the result is a filtered
# shrink either way (nearest samples pixels; no antialias is aliasing on purpose).
_DRAFT_INTERPOLATIONS = ("bilinear", "bicubic")
# The resize after a DCT-scaled decode still shrinks at least this much: Pillow's
# ``thumbnail`` default (``reducing_gap=2.0``), "closer to fair resampling" the
# larger it is. Measured on the benchmark's photo-like JPEGs (RandomResizedCrop
# to 64): mean |difference| from the full-size path 0.65 levels at 2, 1.47 at 1.
REDUCING_GAP = 2


@dataclass(eq=False)
class FileBatch:
    """Files of a batch, read: JPEG bytes and headers for deferred decoding, or images."""

    paths: list[str]
    datas: list[bytes | None]
    headers: list[tuple[int, int, int] | None]  # (height, width, subsampling or -1)
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


def _simplejpeg() -> Any:
    from fastaug import _decode

    return _decode._decoder()


def _header(data: bytes, limit: int | None, tj3: bool) -> tuple[int, int, int] | None:
    """(height, width, subsampling) of a JPEG the deferred decoders take, else None."""
    from fastaug import _turbojpeg

    if tj3:
        return _turbojpeg.header(data, limit)
    sj = _simplejpeg()
    try:
        h, w, colorspace, _ = sj.decode_jpeg_header(data)
    except Exception:  # bad data: fastaug.io decides (Pillow's result or error)
        return None
    if colorspace not in ("YCbCr", "Gray") or h < 1 or w < 1 or (
            limit is not None and w * h > limit):
        return None
    return h, w, -1


def read(paths: Sequence[Any], num_threads: int | None) -> FileBatch:
    """Read every file: the bytes and header of JPEGs whose decoding can wait, else decode."""
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
    tj3 = fio.FAST_JPEG and _turbojpeg.available()
    # Without TurboJPEG 3 a deferred decode only pays off when it may be scaled.
    deferred = tj3 or (fio.FAST_JPEG and fio.DRAFT and _simplejpeg() is not None)
    if deferred:
        from PIL import Image

        from fastaug._decode import _read_jpeg
        limit = Image.MAX_IMAGE_PIXELS

    def one(i: int) -> None:
        if deferred:
            data = _read_jpeg(names[i])
            hdr = None if data is None else _header(data, limit, tj3)
            if hdr is not None:
                datas[i], headers[i] = data, hdr
                sizes[i] = hdr[:2]
                return
        a = fio.load_array(names[i], "rgb")
        images[i] = a
        sizes[i] = a.shape[:2]

    _pool.run_each(one, n, _threads(num_threads), pool="io")
    return FileBatch(names, datas, headers, images, sizes)


def draft_scale(box_h: int, box_w: int, out_h: int, out_w: int) -> int:
    """The DCT scale 1/s for a region resized to ``out``: the largest s of 8, 4, 2
    with the region still at least ``REDUCING_GAP`` times ``out`` at 1/s on both
    sides, else 1.

    Examples
    --------
    >>> from fastaug.transforms._files import draft_scale
    >>> draft_scale(3000, 4000, 224, 224), draft_scale(375, 500, 224, 224)
    (4, 1)
    """
    r = min(box_h // max(REDUCING_GAP * out_h, 1),
            box_w // max(REDUCING_GAP * out_w, 1))
    for s in (8, 4, 2):
        if r >= s:
            return s
    return 1


def _plan(params: BatchParams) -> tuple[np.ndarray | None, np.ndarray | None, bool]:
    """The first crop's boxes, the sizes of the resize that may start from a DCT-scaled
    decode (None: no scaling), and whether that resize is the first step."""
    from fastaug import io as fio

    steps = params.steps
    boxes = None
    k = 0
    if steps and steps[0].kind == "crop":
        boxes = np.asarray(steps[0].values["boxes"], np.int64)
        k = 1
    resize = None
    if (fio.DRAFT and len(steps) > k and steps[k].kind == "resize"
            and steps[k].options.get("antialias")
            and steps[k].options.get("interpolation") in _DRAFT_INTERPOLATIONS):
        resize = np.asarray(steps[k].values["sizes"], np.int64)
    return boxes, resize, k == 0


def decode(files: FileBatch, params: BatchParams,
           num_threads: int | None) -> tuple[list[np.ndarray], BatchParams]:
    """Decode the batch for ``params`` (drawn on ``files.sizes``).

    Returns the images and the parameters to run on them: the first crop's
    boxes moved (and scaled) into the decoded regions, input sizes those of
    the regions; a recipe that starts with a scaled resize gets a crop step
    of the whole scaled image in front of it.
    """
    from fastaug import _pool, _turbojpeg
    from fastaug import io as fio

    n = len(files)
    boxes, resize, resize_first = _plan(params)
    new_boxes = np.zeros((n, 4), np.int64)
    images: list[np.ndarray] = [None] * n  # type: ignore[list-item]

    def one(i: int) -> None:
        ih, iw = int(files.sizes[i, 0]), int(files.sizes[i, 1])
        box = (0, 0, ih, iw) if boxes is None else tuple(int(v) for v in boxes[i])
        a = files.images[i]
        if a is not None:  # decoded whole by read()
            images[i], new_boxes[i] = a, box
            return
        data, hdr = files.datas[i], files.headers[i]
        top, left, bh, bw = box
        inside = top >= 0 and left >= 0 and top + bh <= ih and left + bw <= iw
        s = 1
        if resize is not None and inside:
            s = draft_scale(bh, bw, int(resize[i, 0]), int(resize[i, 1]))
        if s > 1:
            # The box on the 1/s image's grid: each end to the nearest multiple.
            t, b = round(top / s), round((top + bh) / s)
            lf, r = round(left / s), round((left + bw) / s)
            sbox = (t, lf, max(1, b - t), max(1, r - lf))
            got = _decode_scaled(data, hdr, sbox, s, ih, iw)  # type: ignore[arg-type]
            if got is not None:
                images[i], new_boxes[i] = got
                return
        if hdr[2] >= 0:  # type: ignore[index]
            # TurboJPEG 3: the box's region (the whole image when the box pads).
            rt, rl, rh, rw = box if inside else (0, 0, ih, iw)
            got = _turbojpeg.decode_region(data, hdr, rt, rl, rh, rw)  # type: ignore[arg-type]
            if got is not None:
                a, y0, x0 = got
                images[i], new_boxes[i] = a, (top - y0, left - x0, bh, bw)
                return
        # The whole file through fastaug.io: Pillow's result or a clear error.
        a = fio.load_array(files.paths[i], "rgb")
        if a.shape[:2] != (ih, iw):
            raise ValueError(f"{files.paths[i]}: the header says {ih}x{iw}, the decoded "
                             f"image is {a.shape[0]}x{a.shape[1]}")
        images[i], new_boxes[i] = a, box

    _pool.run_each(one, n, _threads(num_threads), pool="io")
    sizes = np.array([a.shape[:2] for a in images], np.int64).reshape(n, 2)
    steps = params.steps
    if boxes is not None:
        first = steps[0]
        steps = (Step(first.name, first.kind, {**first.values, "boxes": new_boxes},
                      first.options),) + steps[1:]
    elif resize is not None and resize_first:
        # A resize first: the decoded (perhaps scaled) image is the whole region.
        steps = (Step("decode", "crop", {"boxes": new_boxes},
                      {"padding_mode": "constant", "fill": (0.0,)}),) + steps
    return images, BatchParams(sizes, steps, params.channels)


def _decode_scaled(data: bytes, hdr: tuple[int, int, int], sbox: tuple[int, int, int, int],
                   s: int, ih: int, iw: int
                   ) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """Decode at 1/s: the image (or with TurboJPEG 3 the region) holding ``sbox``,
    and ``sbox`` in its coordinates; None when the decoder refuses."""
    from fastaug import _turbojpeg

    t, lf, bh, bw = sbox
    if hdr[2] >= 0:
        got = _turbojpeg.decode_region(data, hdr, t, lf, bh, bw, scale=s)
        if got is None:
            return None
        a, y0, x0 = got
        return a, (t - y0, lf - x0, bh, bw)
    sh, sw = -(-ih // s), -(-iw // s)
    from fastaug._decode import _is_exact_scale

    if not _is_exact_scale(iw, ih, s):
        return None
    try:
        a = _simplejpeg().decode_jpeg(data, colorspace="rgb", min_height=sh, min_width=sw)
    except Exception:  # strict: warnings too; the full-size path decides
        return None
    if a.shape[:2] != (sh, sw):
        return None
    return a, sbox
