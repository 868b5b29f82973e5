"""``fit`` statistics and ``standardize`` of fastaug.keras against real Keras 3.

Tolerances: Keras accumulates the per-channel mean/std in float32 and runs its
ZCA SVD on float32 data; fastaug (fastaug.whitening) accumulates in float64.
Means and stds agree to float32 rounding (rtol 1e-5); whitened outputs are
compared relative to their range (1e-4: observed ~1e-7).
"""

import warnings

import numpy as np
import pytest

kimage = pytest.importorskip("keras.src.legacy.preprocessing.image")

from fastaug import keras as fk


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("cfg", [
    dict(featurewise_center=True),
    dict(featurewise_center=True, featurewise_std_normalization=True, rescale=1 / 255),
    dict(zca_whitening=True, zca_epsilon=1e-2),
])
def test_fit_statistics_match_keras(cfg, data_format):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 6, 5, 3), dtype=np.uint8)
    if data_format == "channels_first":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    kg = _quiet(kimage.ImageDataGenerator, data_format=data_format, **cfg)
    fg = _quiet(fk.ImageDataGenerator, data_format=data_format, **cfg)
    _quiet(kg.fit, x)
    fg.fit(x)
    assert fg.mean.shape == kg.mean.shape and fg.mean.dtype == kg.mean.dtype
    np.testing.assert_allclose(fg.mean, kg.mean, rtol=1e-5)
    if kg.std is not None:
        np.testing.assert_allclose(fg.std, kg.std, rtol=1e-5)
    if cfg.get("zca_whitening"):
        kw, fw = kg.zca_whitening_matrix, fg.zca_whitening_matrix
        assert fw.shape == kw.shape and fw.dtype == kw.dtype
        np.testing.assert_allclose(fw, kw, atol=1e-4 * np.abs(kw).max())
    # standardize on single images, Keras's way (in place, float32)
    for i in range(3):
        a = x[i].astype(np.float32)
        e = _quiet(kg.standardize, a.copy())
        g = fg.standardize(a.copy())
        np.testing.assert_allclose(g, e, atol=1e-4 * (np.ptp(e) or 1))


def test_fit_with_augment_uses_keras_stream():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (16, 8, 8, 3), dtype=np.uint8)
    cfg = dict(featurewise_center=True, featurewise_std_normalization=True,
               rotation_range=40, horizontal_flip=True, channel_shift_range=20.0)
    kg = _quiet(kimage.ImageDataGenerator, **cfg)
    fg = _quiet(fk.ImageDataGenerator, **cfg)
    _quiet(kg.fit, x, augment=True, rounds=3, seed=7)
    fg.fit(x, augment=True, rounds=3, seed=7)
    np.testing.assert_allclose(fg.mean, kg.mean, rtol=1e-5)
    np.testing.assert_allclose(fg.std, kg.std, rtol=1e-5)


def test_standardize_batch_and_warnings_like_keras():
    x = np.random.default_rng(2).random((4, 5, 5, 3)).astype(np.float32) * 255
    cfg = dict(samplewise_center=True, samplewise_std_normalization=True, rescale=0.5)
    kg = _quiet(kimage.ImageDataGenerator, **cfg)
    fg = _quiet(fk.ImageDataGenerator, **cfg)
    # On a batch Keras takes the samplewise statistics over the whole array.
    np.testing.assert_allclose(fg.standardize(x.copy()), kg.standardize(x.copy()),
                               rtol=1e-5, atol=1e-5)
    for flag in ("featurewise_center", "featurewise_std_normalization", "zca_whitening"):
        g = _quiet(fk.ImageDataGenerator, **{flag: True})
        with pytest.warns(UserWarning, match=f"specifies `{flag}`, but it hasn't been fit"):
            g.standardize(x[0].copy())


def test_fit_errors_and_warnings_match_keras():
    for lib in (kimage, fk):
        g = lib.ImageDataGenerator(featurewise_center=True)
        with pytest.raises(ValueError, match=r"Input to `.fit\(\)` should have rank 4"):
            g.fit(np.zeros((4, 4, 3)))
        with pytest.warns(UserWarning, match="expected either 1, 3 or 4 channels"):
            g.fit(np.zeros((4, 4, 4, 5)))
