"""NaN and infinite augmentation ranges: an error, as in Keras, never garbage pixels.

Keras draws with ``np.random.uniform``, which raises ``OverflowError: Range
exceeds valid bounds`` on the first batch; the drop-in's vectorised draw used to
turn such ranges into NaN pixels (channel shift, brightness) or silent fill.
"""

from __future__ import annotations

import numpy as np
import pytest

from fastaug.keras import ImageDataGenerator

keras_image = pytest.importorskip("keras.src.legacy.preprocessing.image")

CASES = [
    ("rotation_range", np.nan), ("rotation_range", np.inf),
    ("width_shift_range", np.inf), ("height_shift_range", np.nan),
    ("shear_range", np.inf), ("zoom_range", np.inf), ("zoom_range", [np.nan, 1.0]),
    ("channel_shift_range", np.nan), ("channel_shift_range", np.inf),
    ("brightness_range", [0.5, np.inf]), ("brightness_range", [np.nan, 1.0]),
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("arg,value", CASES)
def test_non_finite_range_raises_like_keras(arg, value):
    x = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3)).astype(np.float32)
    with pytest.raises(OverflowError):  # the reference
        next(keras_image.ImageDataGenerator(**{arg: value}).flow(x, batch_size=4, seed=1))
    with pytest.raises(OverflowError, match=arg) as info:
        next(ImageDataGenerator(**{arg: value}).flow(x, batch_size=4, seed=1))
    assert isinstance(info.value, ValueError)  # the package's rule for bad values
