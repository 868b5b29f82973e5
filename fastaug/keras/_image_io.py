"""Keras's image I/O helpers (``keras.utils.array_to_img`` and friends) on Pillow.

Same behaviour as ``keras.src.utils.image_utils`` without importing Keras: the
defaults that Keras reads from its config (``image_data_format``, ``floatx``) are
read from Keras only when the program has already imported it.
"""

from __future__ import annotations

import io
import os
import pathlib
import sys
import warnings
from typing import Any

import numpy as np

__all__ = ["array_to_img", "img_to_array", "save_img", "load_img",
           "default_data_format", "default_floatx", "standardize_data_format",
           "pil_format", "validate_filename"]


def default_data_format() -> str:
    """Keras's ``image_data_format()`` if Keras is loaded, else "channels_last"."""
    keras = sys.modules.get("keras")
    if keras is not None:
        try:
            return str(keras.config.image_data_format())
        except Exception:
            pass
    return "channels_last"


def default_floatx() -> str:
    """Keras's ``floatx()`` if Keras is loaded, else "float32"."""
    keras = sys.modules.get("keras")
    if keras is not None:
        try:
            return str(keras.config.floatx())
        except Exception:
            pass
    return "float32"


def standardize_data_format(data_format: Any) -> str:
    """Keras's ``backend.standardize_data_format`` (same error)."""
    if data_format is None:
        return default_data_format()
    data_format = str(data_format).lower()
    if data_format not in {"channels_first", "channels_last"}:
        raise ValueError(
            "The `data_format` argument must be one of "
            "{'channels_first', 'channels_last'}. "
            f"Received: data_format={data_format}")
    return data_format


def pil_format(ext: str) -> str:
    """Pillow's format name for a file extension such as "png" or "jpg"."""
    from PIL import Image

    Image.init()
    fmt = Image.registered_extensions().get("." + str(ext).lower())
    if fmt is None:
        raise ValueError(f"save_format must be an image file extension Pillow can "
                         f"write, such as 'png' or 'jpeg'; got {ext!r}")
    return fmt


def array_to_img(x: Any, data_format: str | None = None, scale: bool = True,
                 dtype: Any = None) -> Any:
    """Convert a 3-D array to a PIL Image (Keras's ``array_to_img``).

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.keras import array_to_img
    >>> array_to_img(np.random.default_rng(0).random((4, 5, 3))).size
    (5, 4)
    """
    from PIL import Image as pil_image

    data_format = standardize_data_format(data_format)
    if dtype is None:
        dtype = default_floatx()
    x = np.asarray(x, dtype=dtype)
    if x.ndim != 3:
        raise ValueError("Expected image array to have rank 3 (single image). "
                         f"Got array with shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        x_max = np.max(x)
        if x_max != 0:
            x /= x_max
        x *= 255
    if x.shape[2] == 4:
        return pil_image.fromarray(x.astype("uint8"), "RGBA")
    if x.shape[2] == 3:
        return pil_image.fromarray(x.astype("uint8"), "RGB")
    if x.shape[2] == 1:
        if np.max(x) > 255:
            return pil_image.fromarray(x[:, :, 0].astype("int32"), "I")
        return pil_image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"Unsupported channel number: {x.shape[2]}")


def img_to_array(img: Any, data_format: str | None = None, dtype: Any = None) -> np.ndarray:
    """Convert a PIL Image to a 3-D array (Keras's ``img_to_array``).

    Examples
    --------
    >>> from PIL import Image
    >>> from fastaug.keras import img_to_array
    >>> img_to_array(Image.new("L", (5, 4))).shape
    (4, 5, 1)
    """
    data_format = standardize_data_format(data_format)
    if dtype is None:
        dtype = default_floatx()
    x = np.asarray(img, dtype=dtype)
    if len(x.shape) == 3:
        if data_format == "channels_first":
            x = x.transpose(2, 0, 1)
    elif len(x.shape) == 2:
        if data_format == "channels_first":
            x = x.reshape((1, x.shape[0], x.shape[1]))
        else:
            x = x.reshape((x.shape[0], x.shape[1], 1))
    else:
        raise ValueError(f"Unsupported image shape: {x.shape}")
    return x


def save_img(path: Any, x: Any, data_format: str | None = None,
             file_format: str | None = None, scale: bool = True, **kwargs: Any) -> None:
    """Save an array as an image file (Keras's ``save_img``).

    Examples
    --------
    >>> import io, numpy as np
    >>> from fastaug.keras import save_img
    >>> buf = io.BytesIO()
    >>> save_img(buf, np.zeros((4, 4, 3)), file_format="png")
    >>> buf.getvalue()[:4]
    b'\\x89PNG'
    """
    data_format = standardize_data_format(data_format)
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower()
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("The JPEG format does not support RGBA images, converting to RGB.",
                      stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def load_img(path: Any, color_mode: str = "rgb", target_size: tuple[int, int] | None = None,
             interpolation: str = "nearest", keep_aspect_ratio: bool = False) -> Any:
    """Load an image file as a PIL Image (Keras's ``load_img``).

    Examples
    --------
    >>> import io, numpy as np
    >>> from fastaug.keras import load_img, save_img
    >>> buf = io.BytesIO()
    >>> save_img(buf, np.zeros((4, 6, 3)), file_format="png")
    >>> load_img(buf, target_size=(2, 3)).size
    (3, 2)
    """
    from PIL import Image as pil_image

    if isinstance(path, io.BytesIO):
        img = pil_image.open(path)
    elif isinstance(path, (pathlib.Path, bytes, str)):
        if isinstance(path, pathlib.Path):
            path = str(path.resolve())
        with open(path, "rb") as f:
            img = pil_image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"path should be path-like or io.BytesIO, not {type(path)}")
    from fastaug.io import convert_color_mode

    converted = convert_color_mode(img, color_mode)
    if converted is None:
        raise ValueError('color_mode must be "grayscale", "rgb", or "rgba"')
    img = converted
    if target_size is not None:
        width_height_tuple = (target_size[1], target_size[0])
        if img.size != width_height_tuple:
            if interpolation not in _INTERPOLATIONS:
                raise ValueError(
                    "Invalid interpolation method {} specified. Supported "
                    "methods are {}".format(interpolation, ", ".join(_INTERPOLATIONS)))
            resample = getattr(pil_image.Resampling, interpolation.upper())
            if keep_aspect_ratio:
                width, height = img.size
                target_width, target_height = width_height_tuple
                crop_height = (width * target_height) // target_width
                crop_width = (height * target_width) // target_height
                crop_height = min(height, crop_height)
                crop_width = min(width, crop_width)
                crop_box_hstart = (height - crop_height) // 2
                crop_box_wstart = (width - crop_width) // 2
                crop_box = [crop_box_wstart, crop_box_hstart,
                            crop_box_wstart + crop_width, crop_box_hstart + crop_height]
                img = img.resize(width_height_tuple, resample, box=crop_box)
            else:
                img = img.resize(width_height_tuple, resample)
    return img


def validate_filename(filename: str, white_list_formats: Any) -> bool:
    """Whether ``filename`` ends with an allowed extension and is a file (Keras's).

    Matched with ``str.endswith`` on the lower-cased name, as Keras does, so the
    formats are given without the dot and "xpng" matches "png".

    Examples
    --------
    >>> from fastaug.keras import validate_filename
    >>> validate_filename(__file__, ("py",)), validate_filename("missing.png", ("png",))
    (True, False)
    """
    return filename.lower().endswith(white_list_formats) and os.path.isfile(filename)
