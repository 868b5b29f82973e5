"""The native batch API, RandomAffine: determinism, semantics and bad input."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import fastaug
from fastaug import RandomAffine, warp_affine

GEOMETRY = dict(rotation_range=25, width_shift_range=0.1, height_shift_range=0.15,
                shear_range=8, zoom_range=0.2, horizontal_flip=True, vertical_flip=True,
                fill_mode="reflect")


@pytest.fixture(scope="module")
def batch() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (6, 19, 23, 3), dtype=np.uint8)


def test_same_seed_same_batches_and_calls_advance(batch):
    a, b = RandomAffine(**GEOMETRY, seed=3), RandomAffine(**GEOMETRY, seed=3)
    first = a(batch)
    np.testing.assert_array_equal(first, b(batch))
    # The object's generator advances: the next call is a different batch, and
    # still the same for both objects.
    second = a(batch)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(second, b(batch))
    assert not np.array_equal(RandomAffine(**GEOMETRY, seed=4)(batch), first)


def test_explicit_rng_keys_a_batch(batch):
    aug = RandomAffine(**GEOMETRY, seed=0)
    k1 = aug(batch, rng=(11, 2, 5))  # e.g. (seed, epoch, batch index)
    aug(batch)  # advancing the object's own generator does not matter
    np.testing.assert_array_equal(aug(batch, rng=(11, 2, 5)), k1)
    assert not np.array_equal(aug(batch, rng=(11, 2, 6)), k1)


def test_pickle_round_trip_continues_the_stream(batch):
    aug = RandomAffine(**GEOMETRY, channel_shift_range=20, brightness_range=(0.8, 1.2), seed=9)
    aug(batch)
    clone = pickle.loads(pickle.dumps(aug))
    np.testing.assert_array_equal(clone(batch), aug(batch))
    assert "rotation_range=25.0" in repr(clone)


def test_every_image_gets_its_own_parameters(batch):
    same = np.repeat(batch[:1], 8, axis=0)
    out = RandomAffine(**GEOMETRY, seed=1)(same)
    distinct = {out[i].tobytes() for i in range(len(out))}
    assert len(distinct) == len(out)


def test_apply_is_warp_affine_of_its_matrices(batch):
    aug = RandomAffine(**GEOMETRY, seed=5)
    n, h, w, _ = batch.shape
    params = aug.draw(n, h, w)
    mats = aug.matrices(params, h, w)
    # Same kernel, same matrices: identical, not just close.
    np.testing.assert_array_equal(aug.apply(batch, params),
                                  warp_affine(batch, mats, fill_mode="reflect"))


def test_flips_only_give_exact_flips(batch):
    out = RandomAffine(horizontal_flip=True, vertical_flip=True, seed=2)(batch)
    seen = set()
    for x, y in zip(batch, out):
        for k, cand in enumerate((x, x[:, ::-1], x[::-1], x[::-1, ::-1])):
            if np.array_equal(y, cand):
                seen.add(k)
                break
        else:
            pytest.fail("an output is not an exact flip of its input")
    assert len(seen) >= 2  # 6 images, 4 outcomes: both coins are used


def test_parameter_ranges_and_shift_units():
    aug = RandomAffine(rotation_range=30, width_shift_range=0.25, height_shift_range=3,
                       shear_range=5, zoom_range=(0.5, 2.0), horizontal_flip=True, seed=0)
    p = aug.draw(20000, 40, 80)
    assert np.abs(p.theta).max() <= 30 and np.abs(p.theta).max() > 29
    # width shift < 1 is a fraction of the width (80 px); >= 1 is pixels.
    assert np.abs(p.tx).max() <= 20 and np.abs(p.tx).max() > 19
    assert np.abs(p.ty).max() <= 3 and np.abs(p.ty).max() > 2.9
    assert p.zx.min() >= 0.5 and p.zx.max() <= 2.0
    assert not np.array_equal(p.zx, p.zy)  # independent per axis, like Keras
    # 20000 fair coins: the mean is within 0.5 +- 0.02 with overwhelming probability.
    assert abs(p.flip_horizontal.mean() - 0.5) < 0.02
    assert not p.flip_vertical.any()
    assert p.channel_shift is None and p.brightness is None


def test_channel_shift_and_brightness_match_numpy_reference(batch):
    aug = RandomAffine(rotation_range=20, zoom_range=0.1, channel_shift_range=40,
                       brightness_range=(0.5, 1.5), out_dtype=np.float32, seed=4)
    n, h, w, _ = batch.shape
    params = aug.draw(n, h, w)
    got = aug.apply(batch, params)
    warped = warp_affine(batch, aug.matrices(params, h, w), out_dtype=np.float32)
    lo = warped.min(axis=(1, 2, 3), keepdims=True)
    hi = warped.max(axis=(1, 2, 3), keepdims=True)
    s = params.channel_shift[:, None, None, None]
    b = params.brightness[:, None, None, None]
    # Keras's order: shift clipped to the warped image's own range, then brightness
    # clipped to the data's range ([0, 255] for uint8 input).
    expected = np.clip(np.clip(warped + s, lo, hi) * b, 0, 255)
    # float32 arithmetic on values <= 383 (255 * 1.5): a few ulps of 3e-5 each.
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-3)


def test_float_input_brightness_clips_to_unit_range():
    x = np.random.default_rng(0).random((4, 8, 8, 1), dtype=np.float32)
    out = RandomAffine(brightness_range=(1.5, 2.0), seed=0)(x)
    assert out.max() <= 1.0 and out.min() >= 0.0
    assert out.max() == 1.0  # bright factors >= 1.5 push many values to the top


def test_scale_and_output_dtype(batch):
    aug = RandomAffine(**GEOMETRY, out_dtype=np.float32, scale=1 / 255, seed=8)
    ref = RandomAffine(**GEOMETRY, out_dtype=np.float32, seed=8)(batch)
    got = aug(batch)
    assert got.dtype == np.float32
    # scale is one float32 multiply in the kernel: within an ulp of ref / 255.
    np.testing.assert_allclose(got, ref / 255, rtol=1e-6, atol=1e-7)


def test_channels_first_matches_channels_last(batch):
    last = RandomAffine(**GEOMETRY, seed=6)(batch)
    first = RandomAffine(**GEOMETRY, seed=6, data_format="channels_first")(
        np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))
    np.testing.assert_array_equal(first, last.transpose(0, 3, 1, 2))


def test_out_buffer_and_inputs_untouched(batch):
    before = batch.copy()
    aug = RandomAffine(**GEOMETRY, seed=1)
    out = np.empty_like(batch)
    res = aug(batch, rng=1, out=out)
    assert res is out
    np.testing.assert_array_equal(out, aug(batch, rng=1))
    np.testing.assert_array_equal(batch, before)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(rotation_range=-1), ValueError, "rotation_range"),
    (dict(rotation_range="big"), TypeError, "rotation_range"),
    (dict(zoom_range=1.5), ValueError, "zoom_range"),
    (dict(zoom_range=(0.0, 1.0)), ValueError, "zoom_range"),
    (dict(zoom_range=(1.2, 0.8)), ValueError, "zoom_range"),
    (dict(fill_mode="edge"), ValueError, "fill_mode"),
    (dict(interpolation="cubic"), ValueError, "interpolation"),
    (dict(brightness_range=(1.5, 0.5)), ValueError, "brightness_range"),
    (dict(horizontal_flip="yes"), TypeError, "horizontal_flip"),
    (dict(seed="abc"), TypeError, "seed"),
    (dict(out_dtype=np.int16), TypeError, "out_dtype"),
    (dict(num_threads=0), ValueError, "num_threads"),
    (dict(data_format="nhwc"), ValueError, "data_format"),
])
def test_bad_arguments_name_themselves(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        RandomAffine(**kwargs)


def test_bad_batches(batch):
    aug = RandomAffine(seed=0)
    with pytest.raises(ValueError, match="images"):
        aug(batch[0])
    with pytest.raises(TypeError, match="uint8 or float32"):
        aug(batch.astype(np.int16))
    params = aug.draw(2, 19, 23)
    with pytest.raises(ValueError, match="params"):
        aug.apply(batch, params)


def test_public_names():
    for name in fastaug.__all__:
        assert hasattr(fastaug, name)
    assert fastaug.ImageDataGenerator is fastaug.keras.ImageDataGenerator
