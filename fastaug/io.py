"""Images on disk: Pillow decoding on a thread pool, directory listing, file checks.

Keras's ``flow_from_directory`` decodes one file at a time in the consumer's
thread. Here a batch's files are decoded in parallel (Pillow releases the GIL
while it decodes), JPEGs much larger than the target are decoded at reduced
size by libjpeg itself (``Image.draft``), and directories are listed with
``os.scandir``, whose entries carry the file type so no file is stat'ed.

Module settings
---------------
DRAFT : bool
    Default for reduced-size JPEG decoding (True). When the target is at most
    half the file's size in both dimensions, libjpeg decodes at 1/2, 1/4 or 1/8
    scale (never below the target) and Pillow then resizes to exactly the
    target. Pixels then differ slightly from Keras's full-size decode; set
    ``fastaug.io.DRAFT = False`` (or pass ``draft=False`` to the iterators) for
    Keras's exact pixels.
FAST_JPEG : bool
    Decode JPEGs with libjpeg-turbo through simplejpeg when it is installed
    (``pip install fastaug[jpeg]``; True). Same pixels as Pillow's decode, same
    draft rule; files it does not take (CMYK, MPO, corrupt, ...) go to Pillow
    as before. See ``fastaug._decode``. False: Pillow only.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from fastaug import _decode as _jpeg
from fastaug import _pool

__all__ = [
    "DRAFT",
    "FAST_JPEG",
    "WHITE_LIST_FORMATS",
    "ImageFileError",
    "check_color_mode",
    "check_interpolation",
    "existing_files",
    "find_bad_files",
    "list_class_directory",
    "list_classes",
    "load_array",
    "load_batch",
]

DRAFT = True
FAST_JPEG = True

# Keras's list: matched with ``str.endswith`` on the lower-cased name, without a
# dot (so "xpng" matches, as in Keras).
WHITE_LIST_FORMATS = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")

INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")
COLOR_MODES = ("grayscale", "rgb", "rgba")


class ImageFileError(ValueError):
    """An image file that cannot be read or decoded; ``path`` names it.

    Examples
    --------
    >>> from fastaug.io import ImageFileError
    >>> str(ImageFileError("a.jpg", "truncated"))
    "cannot read image file 'a.jpg': truncated"
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot read image file {path!r}: {reason}")
        self.path = path
        self.reason = reason


def convert_color_mode(img: Any, color_mode: str) -> Any:
    """``img`` in Keras's ``color_mode`` (as its ``load_img`` converts), or None.

    16- and 32-bit grayscale stay as they are, like Keras's; None means an
    unknown ``color_mode``, which each caller reports with Keras's own message.
    """
    if color_mode == "grayscale":
        return img if img.mode in ("L", "I;16", "I") else img.convert("L")
    if color_mode in ("rgba", "rgb"):
        mode = color_mode.upper()
        return img if img.mode == mode else img.convert(mode)
    return None


def save_atomic(img: Any, path: str, fmt: str | None) -> None:
    """Write the PIL image ``img`` to ``path`` without ever leaving half a file.

    It is written to a temporary file in the same folder, then renamed over
    ``path`` (atomic on POSIX and Windows); on any error the temporary is removed.
    """
    fd, tmp = tempfile.mkstemp(prefix=".fastaug-", suffix=".tmp",
                               dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as f:
            img.save(f, format=fmt)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def check_color_mode(color_mode: Any) -> str:
    """Validate ``color_mode`` with Keras's message."""
    if color_mode not in COLOR_MODES:
        raise ValueError(f"Invalid color mode: {color_mode}"
                         '; expected "rgb", "rgba", or "grayscale".')
    return color_mode


def check_interpolation(interpolation: Any) -> str:
    """Validate ``interpolation`` (Keras's message; Keras checks at the first batch)."""
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            "Invalid interpolation method {} specified. Supported "
            "methods are {}".format(interpolation, ", ".join(INTERPOLATIONS)))
    return interpolation


# -- decoding ---------------------------------------------------------------------

def _crop_box(width: int, height: int, tw: int, th: int) -> tuple[int, int, int, int]:
    # Keras's keep_aspect_ratio centre crop, in integer arithmetic, on the file's size.
    crop_height = min(height, (width * th) // tw)
    crop_width = min(width, (height * tw) // th)
    h0 = (height - crop_height) // 2
    w0 = (width - crop_width) // 2
    return (w0, h0, w0 + crop_width, h0 + crop_height)


def load_array(path: str, color_mode: str = "rgb",
               target_size: tuple[int, int] | None = None,
               interpolation: str = "nearest", keep_aspect_ratio: bool = False,
               draft: bool | None = None) -> np.ndarray:
    """Decode one image file to an array, as Keras's ``load_img`` + ``img_to_array``.

    Same colour conversions, resize filter and aspect-ratio crop as Keras, but
    the array keeps Pillow's own dtype (uint8 for "L", "RGB", "RGBA"; "I;16"
    and "I" grayscale stay 16/32-bit) and is (H, W) for grayscale.

    Parameters
    ----------
    path : str
        The file.
    color_mode : {"rgb", "rgba", "grayscale"}
    target_size : (height, width), optional
        Resize to this size with ``interpolation``; None keeps the file's size.
    interpolation : str
        Pillow filter name: nearest (Keras's default), bilinear, bicubic,
        hamming, box, lanczos.
    keep_aspect_ratio : bool
        Centre-crop to the target's aspect ratio before resizing (Keras's).
    draft : bool, optional
        Reduced-size JPEG decoding when the target is at most half the file's
        size in both dimensions; None uses ``fastaug.io.DRAFT``.

    Raises
    ------
    ImageFileError
        (a ValueError) naming the file when it is missing, unreadable, not an
        image or truncated.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from fastaug.io import load_array
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "a.png")
    ...     Image.new("RGB", (6, 4), (10, 20, 30)).save(p)
    ...     a = load_array(p, target_size=(2, 3))
    >>> a.shape, a.dtype, a[0, 0].tolist()
    ((2, 3, 3), dtype('uint8'), [10, 20, 30])
    """
    return _load(path, color_mode, target_size, interpolation, keep_aspect_ratio, draft)


def _load(path: str, color_mode: str, target_size: tuple[int, int] | None,
          interpolation: str, keep_aspect_ratio: bool, draft: bool | None,
          out: np.ndarray | None = None) -> np.ndarray:
    """``load_array``; JPEGs may be decoded straight into ``out`` (then returned)."""
    from PIL import Image

    if draft is None:
        draft = DRAFT
    if FAST_JPEG:
        size = None if target_size is None else (int(target_size[1]), int(target_size[0]))
        try:
            a = _jpeg.load_jpeg(path, color_mode, size, interpolation, keep_aspect_ratio,
                                draft, out)
        except Exception as exc:
            raise ImageFileError(os.fspath(path), f"{type(exc).__name__}: {exc}") from exc
        if a is not None:
            return a
    try:
        with Image.open(path) as img:
            return _decode(img, color_mode, target_size, interpolation, keep_aspect_ratio,
                           draft)
    except ImageFileError:
        raise
    except Exception as exc:
        raise ImageFileError(os.fspath(path), f"{type(exc).__name__}: {exc}") from exc


def _decode(img: Any, color_mode: str, target_size: tuple[int, int] | None,
            interpolation: str, keep_aspect_ratio: bool, draft: bool) -> np.ndarray:
    from PIL import Image

    size = None if target_size is None else (int(target_size[1]), int(target_size[0]))
    box: tuple[float, float, float, float] | None = None
    if size is not None and img.size != size and keep_aspect_ratio:
        box = _crop_box(img.size[0], img.size[1], size[0], size[1])
    if (draft and size is not None and img.size != size and img.format == "JPEG"):
        w, h = img.size
        # The region that will be resized: the crop, or the whole image.
        bw, bh = (box[2] - box[0], box[3] - box[1]) if box else (w, h)
        if 2 * size[0] <= bw and 2 * size[1] <= bh:
            # Ask for the size at which the region still covers the target, so
            # libjpeg never scales below it; keep the file's mode (a mode
            # change inside libjpeg would not be Keras's colour conversion).
            req = (math.ceil(w * size[0] / bw), math.ceil(h * size[1] / bh))
            if img.draft(img.mode, req) is not None and box is not None:
                sx, sy = img.size[0] / w, img.size[1] / h
                box = (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)
    converted = convert_color_mode(img, color_mode)
    if converted is None:
        check_color_mode(color_mode)
    img = converted
    if size is not None and img.size != size:
        resample = getattr(Image.Resampling, check_interpolation(interpolation).upper())
        img = img.resize(size, resample, box=box)
    else:
        img.load()
    return np.asarray(img)


def _run_all(fn: Callable[[int], None], n: int, num_threads: int | None) -> None:
    """Run ``fn(i)`` for i in range(n) on the decode pool; first error (by index) raised.

    Every task has finished when this returns or raises, so nothing keeps
    writing into the caller's buffers afterwards.
    """
    _pool.run_each(fn, n, _pool.resolve_threads(num_threads), pool="io")


def load_batch(paths: Sequence[str], target_size: tuple[int, int], color_mode: str = "rgb",
               interpolation: str = "nearest", keep_aspect_ratio: bool = False,
               draft: bool | None = None, num_threads: int | None = None) -> np.ndarray:
    """Decode files in parallel into one (N, H, W, C) channels-last batch.

    uint8 when every image decodes to 8 bits (the usual case), else float32
    (16/32-bit grayscale files, kept as Keras keeps them).

    Examples
    --------
    >>> import os, tempfile
    >>> from PIL import Image
    >>> from fastaug.io import load_batch
    >>> with tempfile.TemporaryDirectory() as d:
    ...     paths = [os.path.join(d, f"{i}.png") for i in range(3)]
    ...     for p in paths:
    ...         Image.new("L", (8, 8), 7).save(p)
    ...     b = load_batch(paths, (4, 4), color_mode="grayscale")
    >>> b.shape, b.dtype, int(b.max())
    ((3, 4, 4, 1), dtype('uint8'), 7)
    """
    th, tw = int(target_size[0]), int(target_size[1])
    c = {"grayscale": 1, "rgb": 3, "rgba": 4}[check_color_mode(color_mode)]
    n = len(paths)
    out = np.empty((n, th, tw, c), np.uint8)
    odd: dict[int, np.ndarray] = {}

    def one(i: int) -> None:
        slot = out[i]
        a = _load(paths[i], color_mode, (th, tw), interpolation, keep_aspect_ratio, draft,
                  slot)
        if a is slot:
            return  # decoded in place
        if a.ndim == 2:
            a = a[:, :, None]
        if a.dtype == np.uint8:
            out[i] = a
        else:
            odd[i] = a

    _run_all(one, n, num_threads)
    if not odd:
        return out
    res = out.astype(np.float32)
    for i, a in odd.items():
        res[i] = a
    return res


# -- listing ------------------------------------------------------------------------

def _walk(top: str, follow_links: bool) -> list[tuple[str, list[str]]]:
    """``sorted(os.walk(top, followlinks=follow_links))`` by root, as (root, files).

    Like ``os.walk``, the entries' types come from the directory read (no stat
    per file; only symlinks need one) and unreadable directories are skipped.
    Unlike it, a symlink cycle is entered once, not forever.
    """
    out: list[tuple[str, list[str]]] = []
    seen: set[tuple[int, int]] = set()
    stack = [top]
    while stack:
        root = stack.pop()
        if follow_links:
            try:
                st = os.stat(root)
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
        try:
            it = os.scandir(root)
        except OSError:
            continue
        files: list[str] = []
        with it:
            for entry in it:
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if not is_dir:
                    files.append(entry.name)
                    continue
                try:
                    walk_into = follow_links or not entry.is_symlink()
                except OSError:
                    walk_into = False
                if walk_into:
                    stack.append(os.path.join(root, entry.name))
        out.append((root, files))
    out.sort(key=lambda t: t[0])
    return out


def list_classes(directory: str) -> list[str]:
    """Sub-directories of ``directory``, sorted: Keras's class discovery.

    Examples
    --------
    >>> import os, tempfile
    >>> from fastaug.io import list_classes
    >>> with tempfile.TemporaryDirectory() as d:
    ...     for c in ("dogs", "cats"):
    ...         os.mkdir(os.path.join(d, c))
    ...     open(os.path.join(d, "notes.txt"), "w").close()
    ...     print(list_classes(d))
    ['cats', 'dogs']
    """
    with os.scandir(directory) as it:
        names = []
        for entry in it:
            try:
                if entry.is_dir():
                    names.append(entry.name)
            except OSError:
                pass
    return sorted(names)


def list_class_directory(directory: str, split: tuple[float, float] | None = None,
                         follow_links: bool = False,
                         white_list_formats: tuple[str, ...] = WHITE_LIST_FORMATS
                         ) -> list[str]:
    """Image files under one class folder, as Keras lists them.

    Returns paths relative to the folder's parent (``"cats/sub/a.jpg"``), in
    Keras's order: sub-directories sorted by path string, files sorted by name
    within each. ``split=(a, b)`` keeps files ``int(a*n):int(b*n)`` of the n.

    Examples
    --------
    >>> import os, tempfile
    >>> from fastaug.io import list_class_directory
    >>> with tempfile.TemporaryDirectory() as d:
    ...     os.makedirs(os.path.join(d, "cats", "sub"))
    ...     for f in ("b.jpg", "a.png", "readme.txt", "sub/c.jpeg"):
    ...         open(os.path.join(d, "cats", f), "w").close()
    ...     print(list_class_directory(os.path.join(d, "cats")))
    ['cats/a.png', 'cats/b.jpg', 'cats/sub/c.jpeg']
    """
    dirname = os.path.basename(directory)
    found: list[tuple[str, str]] = []
    for root, files in _walk(directory, follow_links):
        for fname in sorted(files):
            low = fname.lower()
            if low.endswith(".tiff"):
                warnings.warn('Using ".tiff" files with multiple bands '
                              "will cause distortion. Please verify your output.",
                              stacklevel=2)
            if low.endswith(white_list_formats):
                found.append((root, fname))
    if split is not None:
        n = len(found)
        found = found[int(split[0] * n):int(split[1] * n)]
    return [os.path.join(dirname, os.path.relpath(os.path.join(root, fname), directory))
            for root, fname in found]


def existing_files(paths: Sequence[str]) -> np.ndarray:
    """``[os.path.isfile(p) for p in paths]`` with one directory read per folder.

    Names not found in their folder's listing (case-insensitive file systems,
    unusual paths) fall back to ``os.path.isfile``, so the answer is the same.

    Examples
    --------
    >>> import os, tempfile
    >>> from fastaug.io import existing_files
    >>> with tempfile.TemporaryDirectory() as d:
    ...     open(os.path.join(d, "a.jpg"), "w").close()
    ...     os.mkdir(os.path.join(d, "b.jpg"))
    ...     existing_files([os.path.join(d, n) for n in ("a.jpg", "b.jpg", "c.jpg")]).tolist()
    [True, False, False]
    """
    listing: dict[str, set[str]] = {}
    out = np.zeros(len(paths), bool)
    for i, p in enumerate(paths):
        head, tail = os.path.split(p)
        names = listing.get(head)
        if names is None:
            names = set()
            try:
                with os.scandir(head or ".") as it:
                    for entry in it:
                        try:
                            if entry.is_file():
                                names.add(entry.name)
                        except OSError:
                            pass
            except OSError:
                pass
            listing[head] = names
        out[i] = tail in names or (bool(tail) and os.path.isfile(p))
    return out


def _check_file(path: str) -> str | None:
    """None when ``path`` decodes completely, else the reason."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            if img.format == "JPEG":
                # 1/8-scale decode: libjpeg still reads every coefficient, so a
                # truncated or corrupt stream fails, at a fraction of the cost.
                img.draft(img.mode, (1, 1))
            img.load()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def find_bad_files(paths: Sequence[str], num_threads: int | None = None) -> dict[int, str]:
    """Indices of the files that do not decode, with the reason (decoded in parallel).

    Examples
    --------
    >>> import os, tempfile
    >>> from PIL import Image
    >>> from fastaug.io import find_bad_files
    >>> with tempfile.TemporaryDirectory() as d:
    ...     good, bad = os.path.join(d, "good.png"), os.path.join(d, "bad.png")
    ...     Image.new("RGB", (4, 4)).save(good)
    ...     _ = open(bad, "w").write("not an image")
    ...     print(list(find_bad_files([good, bad])))
    [1]
    """
    reasons: list[str | None] = [None] * len(paths)

    def one(i: int) -> None:
        reasons[i] = _check_file(paths[i])

    _run_all(one, len(paths), num_threads)
    return {i: r for i, r in enumerate(reasons) if r is not None}
