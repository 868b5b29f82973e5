"""Decoding a region of a JPEG: libjpeg-turbo 3's TurboJPEG API through ctypes.

Why a binding of our own
------------------------
A random-resized crop keeps on average about half of a photo. libjpeg-turbo 3
decodes only a region (``tj3SetCroppingRegion``: rows below it are never read,
rows above it are entropy-decoded but not transformed, columns outside it are
not transformed or colour-converted), which is what TensorFlow's
``decode_and_crop_jpeg`` and DALI's ``image_random_crop`` do. None of the
maintained Python bindings exposes it: simplejpeg and OpenCV decode whole images
(with DCT scaling at most), PyTurboJPEG 2.6 wraps ``tj3Decompress8`` without a
region, and Pillow cannot. The TurboJPEG 3 API is a small, stable C API (opaque
handle, integer parameters, a plain error string, no ``setjmp``), so calling the
six functions below through ctypes is safe; the libjpeg API (``jpeg_crop_scanline``)
is not (its error handler must ``longjmp``, and its structs change between
versions).

Measured here (``bench/bench_decode.py --region``, 500x375 photo-like JPEGs,
random-resized-crop boxes): a region decode takes about 0.75x the time of the
whole image's.

Which library
-------------
The first that loads and exports ``tj3Init`` (TurboJPEG 3.0 or later) of:
``$FASTAUG_LIBTURBOJPEG`` (a path; when set, nothing else is tried and a
library that is not TurboJPEG 3 is an error), ``ctypes.util.find_library
("turbojpeg")``, the official packages' ``/opt/libjpeg-turbo/lib{64,}``,
Homebrew's and the active environment's (conda) ``lib``. Without one, files are
decoded whole (``fastaug.io``), with the same pixels.

Exactness
---------
libjpeg-turbo's "fancy" chroma upsampling reads a neighbouring chroma column; at
the edge of a cropped region it replicates the edge instead. The region asked of
the library is therefore widened by two pixels on each side (then aligned to the
iMCU grid, as the API requires) and the caller's box lies inside it: its pixels
are bit for bit those of the whole image's decode (``tests/test_turbojpeg.py``:
every subsampling, random boxes, odd sizes). The IDCT (accurate integer) and the
upsampling are the defaults of simplejpeg and Pillow, so the whole-image pixels
are theirs too.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from typing import Any

import numpy as np

__all__ = ["available", "library", "header", "decode_region"]

ENV = "FASTAUG_LIBTURBOJPEG"

# TurboJPEG 3 constants (turbojpeg.h).
_TJINIT_DECOMPRESS = 1
_TJPARAM_STOPONWARNING = 0
_TJPARAM_SUBSAMP = 4
_TJPARAM_JPEGWIDTH = 5
_TJPARAM_JPEGHEIGHT = 6
_TJPARAM_PRECISION = 7
_TJPARAM_COLORSPACE = 8
_TJPARAM_LOSSLESS = 15
_TJPF_RGB = 0
_TJCS_YCbCr = 1
_TJCS_GRAY = 2
# iMCU width per subsampling: 444, 422, 420, gray, 440, 411, 441.
_MCU_WIDTH = (8, 16, 16, 8, 8, 32, 8)
# Luma columns of context the fancy (triangle) chroma upsampling of 2:1
# subsampled files reads past a box's edge: one chroma sample. Other
# subsamplings replicate samples and need none.
_MARGIN = 2


class _Region(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("w", ctypes.c_int),
                ("h", ctypes.c_int)]


class _Scale(ctypes.Structure):
    _fields_ = [("num", ctypes.c_int), ("denom", ctypes.c_int)]


def _candidates() -> list[str]:
    names = [ctypes.util.find_library("turbojpeg")]
    ext = ".dylib" if sys.platform == "darwin" else ".so"
    for d in ("/opt/libjpeg-turbo/lib64", "/opt/libjpeg-turbo/lib",
              "/opt/homebrew/opt/jpeg-turbo/lib", "/usr/local/opt/jpeg-turbo/lib",
              os.path.join(sys.prefix, "lib")):
        names.append(os.path.join(d, "libturbojpeg" + ext))
    return [n for n in names if n]


def _bind(lib: Any) -> Any:
    lib.tj3Init.restype = ctypes.c_void_p
    lib.tj3Init.argtypes = [ctypes.c_int]
    lib.tj3Destroy.restype = None
    lib.tj3Destroy.argtypes = [ctypes.c_void_p]
    lib.tj3Set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    lib.tj3Get.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.tj3DecompressHeader.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    lib.tj3SetCroppingRegion.argtypes = [ctypes.c_void_p, _Region]
    lib.tj3SetScalingFactor.argtypes = [ctypes.c_void_p, _Scale]
    lib.tj3Decompress8.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                   ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    return lib


def _load() -> tuple[Any, str] | None:
    env = os.environ.get(ENV)
    for name in [env] if env else _candidates():
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            lib = None
        if lib is not None and all(hasattr(lib, f) for f in (
                "tj3Init", "tj3SetCroppingRegion", "tj3SetScalingFactor")):
            return _bind(lib), name
        if env:
            raise ValueError(f"{ENV}={env!r} must name a libturbojpeg of version 3.0 or later "
                             f"(a shared library exporting tj3Init): "
                             f"{'it does not load' if lib is None else 'it has no tj3Init'}")
    return None


_lock = threading.Lock()
_UNSET: Any = object()
_found: Any = _UNSET  # (lib, path), None, or _UNSET until first use
_tls = threading.local()


def _lib() -> Any:
    global _found
    if _found is _UNSET:
        with _lock:
            if _found is _UNSET:
                _found = _load()
    return None if _found is None else _found[0]


def available() -> bool:
    """Whether a TurboJPEG 3 library is there for region decoding.

    Examples
    --------
    >>> from fastaug import _turbojpeg
    >>> _turbojpeg.available() == (_turbojpeg.library() is not None)
    True
    """
    return _lib() is not None


def library() -> str | None:
    """The name or path of the TurboJPEG 3 library in use, or None."""
    return None if _lib() is None else _found[1]


class _Handle:
    """A decompressor per thread (TurboJPEG handles are not thread-safe)."""

    def __init__(self, lib: Any) -> None:
        self.lib = lib
        self.h = lib.tj3Init(_TJINIT_DECOMPRESS)
        if not self.h:
            raise MemoryError("tj3Init failed")
        # Warnings (corrupt or truncated data) fail the decode: the caller then
        # hands the file to Pillow, which gives its usual result or error.
        lib.tj3Set(self.h, _TJPARAM_STOPONWARNING, 1)

    def __del__(self) -> None:
        if getattr(self, "h", None):
            self.lib.tj3Destroy(self.h)
            self.h = None


def _handle() -> _Handle:
    h = getattr(_tls, "handle", None)
    if h is None:
        h = _tls.handle = _Handle(_lib())
    return h


def header(data: bytes, max_pixels: int | None = None) -> tuple[int, int, int] | None:
    """``(height, width, subsampling)`` of a JPEG this module can decode, else None.

    None for data that is not an 8-bit lossy YCbCr or grayscale JPEG whose
    subsampling allows cropping, for more than ``max_pixels`` pixels, and when
    no TurboJPEG 3 library is there.
    """
    lib = _lib()
    if lib is None:
        return None
    h = _handle()
    if lib.tj3DecompressHeader(h.h, data, len(data)) != 0:
        return None
    w, ht = lib.tj3Get(h.h, _TJPARAM_JPEGWIDTH), lib.tj3Get(h.h, _TJPARAM_JPEGHEIGHT)
    ss = lib.tj3Get(h.h, _TJPARAM_SUBSAMP)
    if (lib.tj3Get(h.h, _TJPARAM_PRECISION) != 8 or lib.tj3Get(h.h, _TJPARAM_LOSSLESS)
            or lib.tj3Get(h.h, _TJPARAM_COLORSPACE) not in (_TJCS_YCbCr, _TJCS_GRAY)
            or not 0 <= ss < len(_MCU_WIDTH) or w < 1 or ht < 1
            or (max_pixels is not None and w * ht > max_pixels)):
        return None
    return ht, w, ss


def decode_region(data: bytes, size: tuple[int, int, int], top: int, left: int,
                  height: int, width: int, scale: int = 1
                  ) -> tuple[np.ndarray, int, int] | None:
    """Decode the part of a JPEG that holds a box, as RGB, at full size or 1/``scale``.

    Parameters
    ----------
    data : bytes
        The file's bytes.
    size : (height, width, subsampling)
        What :func:`header` returned for ``data``.
    top, left, height, width : int
        The box, inside the image, in the coordinates of the image decoded at
        1/``scale`` (``ceil(H / scale)`` by ``ceil(W / scale)``).
    scale : {1, 2, 4, 8}
        libjpeg's DCT scaling.

    Returns
    -------
    (region, y0, x0) or None
        ``region``, a C-contiguous (h, w, 3) uint8 array, holds rows ``y0 ...``
        and columns ``x0 ...`` of the image decoded at 1/``scale`` (the box and up
        to an iMCU more on each side), with the pixels of that whole image's
        decode. None when the library reports an error or a warning.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from PIL import Image
    >>> from fastaug import _turbojpeg
    >>> buf = io.BytesIO()
    >>> Image.new("RGB", (64, 48), (200, 100, 50)).save(buf, "JPEG")
    >>> data = buf.getvalue()
    >>> if _turbojpeg.available():
    ...     region, y0, x0 = _turbojpeg.decode_region(data, _turbojpeg.header(data),
    ...                                               10, 20, 8, 8)
    ...     whole = np.asarray(Image.open(io.BytesIO(data)))
    ...     ok = bool((region[10 - y0:18 - y0, 20 - x0:28 - x0] == whole[10:18, 20:28]).all())
    ... else:
    ...     ok = True
    >>> ok
    True
    """
    if scale not in (1, 2, 4, 8):
        raise ValueError(f"scale must be 1, 2, 4 or 8, got {scale!r}")
    fh, fw, ss = size
    ih, iw = -(-fh // scale), -(-fw // scale)
    if not (top >= 0 and left >= 0 and height >= 1 and width >= 1
            and top + height <= ih and left + width <= iw):
        raise ValueError(f"box (top={top}, left={left}, height={height}, width={width}) must "
                         f"lie inside the {ih}x{iw} image")
    mcu = -(-_MCU_WIDTH[ss] // scale)  # the iMCU width at this scale (TJSCALED)
    x0 = max(0, left - _MARGIN) // mcu * mcu
    x1 = min(iw, left + width + _MARGIN)
    y0, y1 = top, top + height
    out = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
    lib = _lib()
    h = _handle()
    if lib.tj3DecompressHeader(h.h, data, len(data)) != 0:
        return None
    # The handle keeps its last scale and region: set both for every file.
    if lib.tj3SetScalingFactor(h.h, _Scale(1, scale)) != 0:
        return None
    if lib.tj3SetCroppingRegion(h.h, _Region(x0, y0, x1 - x0, y1 - y0)) != 0:
        return None
    if lib.tj3Decompress8(h.h, data, len(data), out.ctypes.data, out.strides[0],
                          _TJPF_RGB) != 0:
        return None
    return out, y0, x0
