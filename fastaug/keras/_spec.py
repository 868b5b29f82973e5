"""What one batch needs from an ``ImageDataGenerator``, as an explicit, frozen record.

Keras's generator is configured through plain attributes that users may change
at any time (``datagen.mean = ...`` after ``fit``, ``datagen.rescale = ...``),
and Keras reads them live, image by image. The iterators therefore take a
:class:`KerasSpec` snapshot of the generator's public attributes for each batch
(a few microseconds) and hand it to the glue (``_random.draw_batch``,
``_engine.augment_batch``), which translates it into the native core's inputs.
Nothing below the iterators sees the generator itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["KerasSpec", "spec_of"]


@dataclass(frozen=True)
class KerasSpec:
    """The generator's configuration, as Keras reads it for one batch.

    Ranges keep Keras's raw values (ints, floats, lists): how Keras draws from
    them depends on their type. ``whitener`` is the fitted factored whitening
    (``fastaug.whitening.ZCA``) and ``zca_matrix`` a d x d matrix the user
    assigned to ``zca_whitening_matrix``; at most one of them is set.
    """

    data_format: str
    row_axis: int
    col_axis: int
    channel_axis: int
    rotation_range: Any
    height_shift_range: Any
    width_shift_range: Any
    shear_range: Any
    zoom_range: Any
    horizontal_flip: Any
    vertical_flip: Any
    channel_shift_range: Any
    brightness_range: Any
    interpolation_order: Any
    fill_mode: str
    cval: float
    num_threads: int | None
    preprocessing_function: Callable[[np.ndarray], np.ndarray] | None
    rescale: Any
    samplewise_center: Any
    samplewise_std_normalization: Any
    featurewise_center: Any
    featurewise_std_normalization: Any
    mean: Any
    std: Any
    zca_whitening: Any
    whitener: Any
    zca_matrix: Any


def spec_of(gen: Any) -> KerasSpec:
    """Snapshot the public configuration of a ``fastaug.keras.ImageDataGenerator``."""
    whitener = gen.whitener
    return KerasSpec(
        data_format=gen.data_format,
        row_axis=gen.row_axis,
        col_axis=gen.col_axis,
        channel_axis=gen.channel_axis,
        rotation_range=gen.rotation_range,
        height_shift_range=gen.height_shift_range,
        width_shift_range=gen.width_shift_range,
        shear_range=gen.shear_range,
        zoom_range=gen.zoom_range,
        horizontal_flip=gen.horizontal_flip,
        vertical_flip=gen.vertical_flip,
        channel_shift_range=gen.channel_shift_range,
        brightness_range=gen.brightness_range,
        interpolation_order=gen.interpolation_order,
        fill_mode=gen.fill_mode,
        cval=gen.cval,
        num_threads=gen.num_threads,
        preprocessing_function=gen.preprocessing_function,
        rescale=gen.rescale,
        samplewise_center=gen.samplewise_center,
        samplewise_std_normalization=gen.samplewise_std_normalization,
        featurewise_center=gen.featurewise_center,
        featurewise_std_normalization=gen.featurewise_std_normalization,
        mean=gen.mean,
        std=gen.std,
        zca_whitening=gen.zca_whitening,
        whitener=whitener,
        # Only when nothing was fitted: reading the property after a fit would
        # materialise the d x d matrix from the factors.
        zca_matrix=None if whitener is not None else gen.zca_whitening_matrix,
    )
