"""Parameter draws of fastaug.keras against real Keras 3 (bit-exact).

Keras draws every image's parameters from numpy's global legacy RNG; fastaug
replays the same stream on a local RandomState. Same seed -> identical doubles,
so these comparisons are exact (no tolerance).
"""

import numpy as np
import pytest

kimage = pytest.importorskip("keras.src.legacy.preprocessing.image")

from fastaug.keras import ImageDataGenerator
from fastaug.keras import _random as _keras_random
from fastaug.keras._spec import spec_of

CONFIGS = [
    dict(rotation_range=20, zoom_range=0.2, width_shift_range=0.1, height_shift_range=0.1,
         horizontal_flip=True, vertical_flip=True),
    dict(rotation_range=30, width_shift_range=0.1, height_shift_range=0.1, zoom_range=0.2,
         shear_range=0.2, horizontal_flip=True, vertical_flip=True),
    dict(),  # only the two flip coins are drawn
    dict(zoom_range=[0.5, 1.0], channel_shift_range=30.0, brightness_range=(0.5, 1.5)),
    dict(width_shift_range=3, height_shift_range=2),            # integer pixel shifts
    dict(width_shift_range=[-2, 0, 5], height_shift_range=[0.1, 0.2], rotation_range=5),
    dict(width_shift_range=4.0, height_shift_range=0.25),       # float >= 1: pixels
    dict(zoom_range=(1, 1), shear_range=45, horizontal_flip=True),
]


def _keras_stream(kg, n, shape, seed):
    np.random.seed(seed)
    return [kg.get_random_transform(shape) for _ in range(n)]


@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("data_format, shape", [("channels_last", (28, 30, 3)),
                                                ("channels_first", (1, 28, 30))])
def test_batch_draws_equal_keras_stream(cfg, data_format, shape):
    kg = kimage.ImageDataGenerator(data_format=data_format, **cfg)
    fg = ImageDataGenerator(data_format=data_format, **cfg)
    expected = _keras_stream(kg, 50, shape, seed=123)
    got = _keras_random.params_to_dicts(
        _keras_random.draw_batch(spec_of(fg), 50, shape, np.random.RandomState(123)))
    for e, g in zip(expected, got):
        for key, ev in e.items():
            gv = g[key]
            if ev is None:
                assert gv is None, key
            else:
                assert float(gv) == float(ev), (key, gv, ev)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_get_random_transform_seeded_equals_keras(cfg):
    kg = kimage.ImageDataGenerator(**cfg)
    fg = ImageDataGenerator(**cfg)
    for seed in (0, 7, 2**31):
        e = kg.get_random_transform((32, 32, 3), seed=seed)
        g = fg.get_random_transform((32, 32, 3), seed=seed)
        assert set(e) == set(g)
        for key in e:
            assert (e[key] is None) == (g[key] is None)
            if e[key] is not None:
                assert float(e[key]) == float(g[key]), key
        # Keras's global stream continues after a seeded call; so does fastaug's.
        e2 = kg.get_random_transform((32, 32, 3))
        g2 = fg.get_random_transform((32, 32, 3))
        assert float(e2["zx"]) == float(g2["zx"])


def test_draws_never_touch_global_rng():
    np.random.seed(99)
    before = np.random.get_state()[1].copy()
    fg = ImageDataGenerator(rotation_range=10, width_shift_range=[1, 2])
    fg.get_random_transform((8, 8, 3))
    fg.get_random_transform((8, 8, 3), seed=5)
    _keras_random.draw_batch(spec_of(fg), 10, (8, 8, 3), np.random.RandomState(0))
    fg.random_transform(np.zeros((8, 8, 3), np.float32))
    it = fg.flow(np.zeros((10, 8, 8, 3), np.uint8), batch_size=4, seed=1)
    it[0]
    next(it)
    it.on_epoch_end()
    assert np.array_equal(np.random.get_state()[1], before)


def test_is_float_range_matches_numpy_choice():
    # Keras decides float vs choice-based draws by whether choice() raises.
    for r in (0.1, np.float64(0.3), 5.0, 2, True, [1, 2], np.array([0.5]), -2):
        try:
            np.random.RandomState(0).choice(r)
            raises = False
        except ValueError:
            raises = True
        if r == -2:  # choice raises, but the generic path reproduces that literally
            assert not _keras_random.is_float_range(r)
            continue
        assert _keras_random.is_float_range(r) == raises, r
