"""Drop-in replacement for Keras's legacy image module, many times faster.

Change ``from keras.preprocessing.image import ImageDataGenerator`` (or
``tf.keras.preprocessing.image``, ``keras.src.legacy.preprocessing.image``) to
``from fastaug.keras import ImageDataGenerator``; everything after it keeps
working, with Keras's arguments, defaults, errors, warnings and (seeded) results.
Batches are produced by fastaug's fused kernel instead of per-image scipy calls.
The few deliberate differences (brightness, RNG) are listed in
``docs/keras-compatibility.md``.

This subpackage only translates Keras's arguments and semantics into the native
core's explicit inputs and delegates:

- ``_generator``: ``ImageDataGenerator`` (Keras's configuration, as attributes);
- ``_spec``: a frozen snapshot of that configuration for one batch;
- ``_random``: Keras's parameter stream -> ``fastaug.params.AffineParams``;
- ``_engine``: a batch through ``fastaug.warp.warp_params`` and Keras's
  ``standardize`` (ZCA through ``fastaug.whitening``);
- ``_iterators``, ``_files``: Keras's iterators (arrays, folders, DataFrames);
- ``_functions``, ``_image_io``: the module-level helpers.

Keras is never imported by it.
"""

from __future__ import annotations

from fastaug.keras._files import BatchFromFilesMixin, DataFrameIterator, DirectoryIterator
from fastaug.keras._functions import (
    apply_affine_transform,
    apply_brightness_shift,
    apply_channel_shift,
    flip_axis,
    random_brightness,
    random_channel_shift,
    random_rotation,
    random_shear,
    random_shift,
    random_zoom,
    transform_matrix_offset_center,
)
from fastaug.keras._generator import ImageDataGenerator
from fastaug.keras._image_io import (
    array_to_img,
    img_to_array,
    load_img,
    save_img,
    validate_filename,
)
from fastaug.keras._iterators import Iterator, NumpyArrayIterator

__all__ = [
    "ImageDataGenerator",
    "Iterator",
    "NumpyArrayIterator",
    "DirectoryIterator",
    "DataFrameIterator",
    "BatchFromFilesMixin",
    "apply_affine_transform",
    "apply_channel_shift",
    "apply_brightness_shift",
    "random_rotation",
    "random_shift",
    "random_shear",
    "random_zoom",
    "random_channel_shift",
    "random_brightness",
    "flip_axis",
    "transform_matrix_offset_center",
    "array_to_img",
    "img_to_array",
    "load_img",
    "save_img",
    "validate_filename",
]
