"""Fast JPEG decoding: libjpeg-turbo through simplejpeg, with Pillow as the fallback.

Why simplejpeg
--------------
Measured side by side in one process (``bench/bench_decode.py``, 500x375
photo-like JPEGs, one core, images/s): simplejpeg 1,272, PyTurboJPEG 1,261,
OpenCV 1,220 (``imdecode`` + BGR-to-RGB), Pillow 686-940 (``Image.open`` +
``np.asarray``); at 1/2 scale 1,495, 1,463, 1,457 and Pillow's draft 1,146.
The three bindings run the same libjpeg-turbo and are within 5%; simplejpeg
is the only one that (a) ships libjpeg-turbo inside its wheel (PyTurboJPEG
loads a system ``libturbojpeg``, version 3 for PyTurboJPEG 2), (b) decodes into a
caller's buffer (``buffer=``; PyTurboJPEG has ``dst=``, ``cv2.imdecode`` has none
in Python) and (c) does not apply EXIF orientation or return BGR (``cv2``).
It is an optional extra: ``pip install fastaug[jpeg]``.

What it gains
-------------
Pillow's wheels already decode with libjpeg-turbo, so the IDCT and colour
conversion cost the same on both paths; the fast path saves Pillow's per-file
overhead (``Image.open``'s marker parsing, its line-by-line decode into its
4-byte RGB layout, and ``np.asarray``'s export through ``tobytes``). When a
NEAREST resize follows (Keras's default), it is done without Pillow too: a
Numba kernel (``fastaug/_kernels/pil_nearest.py``) that picks exactly Pillow's
pixels reads the decoded array and writes the batch's slot, where Pillow's
round trip (``Image.fromarray``'s copy into its 4-byte layout, the resize,
``np.asarray``'s ``tobytes``, then a copy into the batch) cost ~130-150 us per
500x375 file and held the GIL; the kernel takes ~30 us (RGB, 224x224) and
releases it. Other filters, and "grayscale" from a colour file, resize with Pillow.
Measured with ``python bench/bench_decode.py --rows load_array`` and in separate
processes, per core on 500x375 JPEGs (one thread, on a busy 2-core machine: runs
vary by +-10%, so ranges over runs): ``load_array`` at the file's size 1.3-1.7x
(1,233-1,265 vs 700-900 images/s; ``load_batch`` decodes such files straight
into the batch: 1,176 vs 881); at 224x224 (no DCT scaling, a nearest resize
follows) 1.2-1.3x (1,108-1,149 vs 869-908; with Pillow's resize, the version
before the kernel, two runs back to back: 1.1-1.17x, 898-925); at 112x112,
decoded at 1/2, 1.2x (1,321-1,362 vs 1,103-1,126; with Pillow's resize 1.12x).
``load_batch`` at 224x224, one thread: 903-921 us per file against 1,098-1,173
with Pillow's resize.

Same pixels as Pillow
---------------------
Pillow's wheels decode with libjpeg-turbo too, with the same settings
simplejpeg uses by default (accurate integer IDCT, "fancy" chroma upsampling),
so the two give identical arrays: a maximum (and mean) difference of 0
levels over 9,000 decodes of the benchmark folder (300 files, 3 colour modes,
5 targets, with and without the aspect-ratio crop), and in the tests at full
size and at 1/2, 1/4 and 1/8 scale, for 4:4:4, 4:2:2,
4:2:0, progressive and grayscale files, in "rgb", "rgba" and "grayscale" modes
(``tests/test_decode.py`` checks it). The NEAREST resize kernel repeats
Pillow's arithmetic (float32 box, running double sums, truncation), so it picks
the same pixels: the 9,000 decodes above resize with it (``python
bench/bench_decode.py --check --sizes all``: 0 levels, this version), and
``tests/test_pil_nearest.py`` compares it with Pillow's resize over random
sizes, boxes and channel counts. The fast path is used only where that
holds; every other case is declined (:func:`load_jpeg` returns None) and the
caller decodes with Pillow exactly as before:

* Pillow not built on libjpeg-turbo (``PIL.features``), or simplejpeg missing;
* not a JPEG by its first bytes (Pillow's own test), or an MPO (multi-picture)
  file, which Pillow opens as format "MPO" and never draft-decodes;
* colour spaces other than YCbCr and grayscale (CMYK, YCCK, Adobe RGB): Pillow
  converts CMYK to RGB with its own formula;
* more pixels than ``PIL.Image.MAX_IMAGE_PIXELS``, so Pillow warns or refuses
  as it does today;
* any error from simplejpeg (truncated or corrupt data, 12-bit JPEGs):
  simplejpeg is strict, so Pillow then gives today's result or today's error;
* a colour mode other than "rgb", "rgba", "grayscale" (Pillow raises Keras's error).

Grayscale from a colour file is decoded to RGB and converted by Pillow
(``convert("L")``), because libjpeg's own luma (the file's Y channel) differs
from Pillow's RGB-to-L formula by up to 17 levels on the benchmark folder.

DCT-scaled decoding (the quality rule)
--------------------------------------
Exactly Pillow's ``draft`` rule as ``fastaug.io`` applies it: only with
``draft=True``, only when the region to be resized (the whole image, or the
``keep_aspect_ratio`` crop) is at least twice the target in both dimensions,
and then at scale 1/s with s the largest of 2, 4, 8 for which the decoded
region still covers the target. The resize that follows is therefore always a
reduction (never an enlargement of a reduced decode), and the pixels are the
ones Pillow's draft decode gives today. libjpeg-turbo's other scales (3/8, 5/8,
...) are not used: they would change the pixels (and run without SIMD).

Preallocated buffers
--------------------
simplejpeg writes into a caller's buffer. When no resize follows (the file is
already the target size, "rgb"/"rgba" from any file or "grayscale" from a
grayscale file), the image is decoded straight into the batch's slot; when a
resize follows, into a per-thread scratch buffer that is reused across files,
and a NEAREST resize then writes straight into the batch's slot (other filters
return Pillow's new array, which the caller copies in).
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

__all__ = ["available", "decoder", "draft_scale", "load_jpeg"]

# Pillow's JPEG test (JpegImagePlugin._accept): SOI then the first marker's 0xFF.
_SOI = b"\xff\xd8\xff"
# The MP format identifier of an MPO file's APP2 segment (CIPA DC-007).
_MPF = b"MPF\x00"
# Largest scratch buffer kept per thread; a bigger image gets a one-off array.
_SCRATCH_MAX = 16 << 20

_tls = threading.local()


def _probe() -> Any:
    """simplejpeg when it is importable and Pillow decodes with libjpeg-turbo, else None."""
    try:
        import simplejpeg
        from PIL import features
    except ImportError:
        return None
    # Identical pixels need the same decoder on both paths.
    if not features.check_feature("libjpeg_turbo"):
        return None
    return simplejpeg


_UNSET: Any = object()
# simplejpeg, None (Pillow only) or _UNSET: probed at first use, not at import
# (PIL.features alone costs ~6 ms of fastaug's import time).
_sj: Any = _UNSET


def _decoder() -> Any:
    global _sj
    if _sj is _UNSET:
        _sj = _probe()
    return _sj


def available() -> bool:
    """Whether JPEGs can be decoded by the fast path (simplejpeg installed).

    Examples
    --------
    >>> from fastaug import _decode
    >>> _decode.available() == (_decode.decoder() == "simplejpeg")
    True
    """
    return _decoder() is not None


def decoder() -> str | None:
    """Name of the fast JPEG decoder in use ("simplejpeg"), or None: Pillow only."""
    return None if _decoder() is None else "simplejpeg"


def draft_scale(w: int, h: int, req_w: int, req_h: int) -> int:
    """The 1/s scale Pillow's ``JpegImageFile.draft`` picks for a requested size.

    The largest s of 8, 4, 2, 1 with ``s <= min(w // req_w, h // req_h)``; the
    decoded image is then ``ceil(w / s)`` by ``ceil(h / s)``.

    Examples
    --------
    >>> draft_scale(500, 375, 112, 112), draft_scale(500, 375, 63, 47)
    (2, 4)
    """
    r = min(w // req_w, h // req_h)
    for s in (8, 4, 2):
        if r >= s:
            return s
    return 1


def _scratch(nbytes: int) -> np.ndarray:
    """A per-thread uint8 buffer of at least ``nbytes``, reused between calls."""
    if nbytes > _SCRATCH_MAX:
        return np.empty(nbytes, np.uint8)
    buf = getattr(_tls, "buf", None)
    if buf is None or buf.size < nbytes:
        buf = _tls.buf = np.empty(nbytes, np.uint8)
    return buf


def _read_jpeg(path: str) -> bytes | None:
    """The file's bytes when it starts like a JPEG and is not an MPO, else None."""
    try:
        # Unbuffered whole-file read: ~8 us for 66 KB, against ~25 us for a
        # buffered peek at the first bytes, a seek and a read.
        with open(path, "rb", buffering=0) as f:
            data = f.readall()
    except OSError:
        return None  # Pillow reports it, with today's message
    if not data.startswith(_SOI) or _has_mpf(data):
        return None
    return data


def _has_mpf(data: bytes) -> bool:
    """Whether an APP2 segment before the scan holds an MP (multi-picture) header.

    Walks the marker segments from SOI to SOS; a few steps for a usual file,
    where searching the bytes took tens of microseconds. Malformed headers give
    False: simplejpeg then fails and Pillow takes the file.
    """
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return False
        m = data[i + 1]
        if m == 0xFF:  # fill byte
            i += 1
            continue
        if m == 0x01 or 0xD0 <= m <= 0xD8:  # markers without a length
            i += 2
            continue
        if m in (0xDA, 0xD9):  # start of scan, end of image
            return False
        if m == 0xE2 and data[i + 4:i + 8] == _MPF:
            return True
        i += 2 + ((data[i + 2] << 8) | data[i + 3])
    return False


def load_jpeg(path: str, color_mode: str, size: tuple[int, int] | None,
              interpolation: str, keep_aspect_ratio: bool, draft: bool,
              out: np.ndarray | None = None) -> np.ndarray | None:
    """Decode a JPEG as ``fastaug.io.load_array`` does, or None to let Pillow do it.

    Parameters
    ----------
    path : str
    color_mode : {"rgb", "rgba", "grayscale"}
    size : (width, height), optional
        Pillow's order, as in ``fastaug.io._decode``; None keeps the file's size.
    interpolation, keep_aspect_ratio, draft
        As ``fastaug.io.load_array``.
    out : ndarray, optional
        C-contiguous, writeable uint8 array of shape ``(height, width, channels)``;
        when the image can be decoded (no resize) or NEAREST-resized straight into
        it, it is, and ``out`` is returned.

    Returns
    -------
    ndarray or None
        (H, W, C) uint8, or (H, W) for "grayscale", as Pillow's path gives; None
        when the file is not a case this path takes (see the module notes).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from fastaug import _decode
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "a.jpg")
    ...     Image.new("RGB", (64, 48), (200, 100, 50)).save(p)
    ...     a = _decode.load_jpeg(p, "rgb", (32, 24), "nearest", False, True)
    ...     ref = np.asarray(Image.open(p).resize((32, 24), Image.Resampling.NEAREST))
    >>> a is None or (a.shape == (24, 32, 3) and bool((a == ref).all()))
    True
    """
    sj = _decoder()
    if sj is None or color_mode not in ("rgb", "rgba", "grayscale"):
        return None
    data = _read_jpeg(path)
    if data is None:
        return None
    from PIL import Image

    try:
        h, w, colorspace, _ = sj.decode_jpeg_header(data)
    except Exception:  # ValueError for bad data; whatever it is, Pillow decides
        return None
    limit = Image.MAX_IMAGE_PIXELS
    if colorspace not in ("YCbCr", "Gray") or (limit is not None and w * h > limit):
        return None

    # The crop and draft decisions of fastaug.io._decode, on the header's size.
    box: tuple[float, float, float, float] | None = None
    if size is not None and (w, h) != size and keep_aspect_ratio:
        from fastaug.io import _crop_box
        box = _crop_box(w, h, size[0], size[1])
    s = 1
    if draft and size is not None and (w, h) != size:
        bw, bh = (box[2] - box[0], box[3] - box[1]) if box else (w, h)
        if 2 * size[0] <= bw and 2 * size[1] <= bh:
            req = (math.ceil(w * size[0] / bw), math.ceil(h * size[1] / bh))
            s = draft_scale(w, h, req[0], req[1])
    if s > 1 and not _is_exact_scale(w, h, s):
        return None
    dw, dh = -(-w // s), -(-h // s)
    if box is not None and s > 1:
        sx, sy = dw / w, dh / h
        box = (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)
    resize = size is not None and (dw, dh) != size

    # libjpeg converts grayscale files to RGB/RGBA by replication, as Pillow's
    # convert does; RGB to L is Pillow's formula, so that stays with Pillow.
    to_l = color_mode == "grayscale" and colorspace != "Gray"
    space = "rgb" if to_l else {"rgb": "rgb", "rgba": "rgba", "grayscale": "gray"}[color_mode]
    c = {"rgb": 3, "rgba": 4, "gray": 1}[space]
    direct = (out is not None and not resize and not to_l
              and out.shape == (dh, dw, c) and out.dtype == np.uint8
              and out.flags.c_contiguous and out.flags.writeable)
    buf = out if direct else _scratch(dh * dw * c) if (resize or to_l) else None
    # min_height/min_width pick the smallest libjpeg scale N/8 that covers
    # them; for 1/s that is N = 8/s unless the image is a few pixels wide.
    kw = {} if s == 1 else {"min_height": dh, "min_width": dw}
    try:
        a = sj.decode_jpeg(data, colorspace=space, buffer=buf, **kw)
    except Exception:  # strict: libjpeg's warnings too (corrupt data, truncation)
        return None
    if a.shape[:2] != (dh, dw):
        return None
    if direct:
        return out
    if not (resize or to_l):
        return a[:, :, 0] if c == 1 else a
    if resize and not to_l:
        from fastaug.io import check_interpolation
        if check_interpolation(interpolation) == "nearest":
            r = _resize_nearest(a, size, box, out)
            if r is not None:
                return r
    img = Image.fromarray(a[:, :, 0] if c == 1 else a)
    if to_l:
        img = img.convert("L")
    if resize:
        from fastaug.io import check_interpolation
        resample = getattr(Image.Resampling, check_interpolation(interpolation).upper())
        img = img.resize(size, resample, box=box)
    # A fresh image (resize or convert made it), so the scratch can be reused.
    return np.asarray(img)


def _resize_nearest(a: np.ndarray, size: tuple[int, int],
                    box: tuple[float, float, float, float] | None,
                    out: np.ndarray | None) -> np.ndarray | None:
    """Pillow's ``resize(size, NEAREST, box=box)`` of the decoded ``a``, without Pillow.

    Written into ``out`` (and ``out`` returned) when it is the result's shape,
    uint8, C-contiguous and writeable, else into a new array; (H, W) for one
    channel, as Pillow's "L" image gives. None where Pillow refuses the box:
    the caller's Pillow resize then raises today's error.
    """
    from fastaug._kernels.pil_nearest import resize_nearest

    dh, dw, c = a.shape
    tw, th = size
    if box is None:
        box = (0, 0, dw, dh)
    fits = (out is not None and out.shape == (th, tw, c) and out.dtype == np.uint8
            and out.flags.c_contiguous and out.flags.writeable)
    dst = out if fits else np.empty((th, tw, c), np.uint8)
    # Flat views and Python floats: one compiled signature for every case.
    if not resize_nearest(a.reshape(-1), dw, c, float(box[0]), float(box[1]),
                          float(box[2]), float(box[3]), dst.reshape(-1), tw):
        return None
    if fits:
        return out
    return dst[:, :, 0] if c == 1 else dst


def _is_exact_scale(w: int, h: int, s: int) -> bool:
    """Whether simplejpeg's smallest covering N/8 scale is 1/s (N = 8/s) for w x h.

    For tiny images a smaller N can give the same rounded-up size (4x4 at 3/8
    is 2x2, as at 1/2), and that scale would not be Pillow's.
    """
    n = 8 // s - 1
    return n < 1 or -(-w * n // 8) < -(-w // s) or -(-h * n // 8) < -(-h // s)
