"""Tests for ``fastaug.whitening.ZCA``: featurewise statistics and ZCA whitening.

Three kinds of evidence:

* real Keras 3 (``keras.src.legacy.preprocessing.image.ImageDataGenerator``)
  on small data, skipped when Keras or its backend is not installed;
* a float64 numpy reference that spells out Keras's ``fit`` formula with an
  SVD (no chunking, no Gram trick), for tight tolerances;
* properties: the whitened fit data has identity second moment on its
  non-degenerate subspace, results do not depend on chunking or input kind.

Tolerance vocabulary used below. ``rel_err(a, b) = max|a - b| / max|b|``.

* float64 vs float64 reference: the data here are random, so the centred
  data matrix is well conditioned (smallest/largest singular value well above
  1e-3); eigh-of-X^T-X vs SVD then agree to ~1e-13 in W. We allow 1e-9.
* vs Keras: Keras computes mean/std and its SVD in float32, so W and the
  outputs carry float32 rounding (~1e-7) times the (small) condition number:
  we allow 1e-5 relative.
* our float32 ``transform``: one float32 GEMM over d terms, error
  ~sqrt(d) * 6e-8 relative to the output scale: 1e-5.
"""

from __future__ import annotations

import doctest
import os
import pickle
import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fastaug import whitening
from fastaug.whitening import STD_EPSILON, ZCA


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def make_data(shape, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) == np.uint8:
        return rng.integers(0, 256, size=shape, dtype=np.uint8)
    return rng.random(shape).astype(dtype)


# --------------------------------------------------------------- reference
def reference_fit(x, *, center=True, std=False, eps=1e-6, rescale=None,
                  data_format="channels_last"):
    """Keras's ImageDataGenerator.fit, in float64, with a plain SVD."""
    x = np.array(x, dtype=np.float64)
    if rescale:
        x *= rescale
    axes = (0, 1, 2) if data_format == "channels_last" else (0, 2, 3)
    mean = x.mean(axis=axes, keepdims=True)[0]
    sd = x.std(axis=axes, keepdims=True)[0]
    if center:
        x -= mean
    if std:
        x /= sd + STD_EPSILON
    n = len(x)
    flat = x.reshape(n, -1)
    u, s, _ = np.linalg.svd(flat.T, full_matrices=False)
    W = (u * (np.sqrt(n) / (s + eps))) @ u.T
    return mean, sd, W, s


def reference_standardize(x, mean, sd, W, *, center=True, std=False, rescale=None):
    x = np.array(x, dtype=np.float64)
    if rescale:
        x *= rescale
    if center:
        x -= mean
    if std:
        x /= sd + STD_EPSILON
    return (x.reshape(len(x), -1) @ W).reshape(x.shape)


# ------------------------------------------------------------------- Keras
@pytest.fixture(scope="module")
def keras_image():
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    return pytest.importorskip(
        "keras.src.legacy.preprocessing.image",
        reason="needs Keras 3 with an importable backend (numpy/jax)",
    )


def keras_gen(keras_image, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the flag-override warnings
        return keras_image.ImageDataGenerator(**kwargs)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("rescale", [None, 1 / 255])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_stats_match_keras(keras_image, data_format, rescale, dtype):
    shape = (60, 6, 5, 3) if data_format == "channels_last" else (60, 3, 6, 5)
    x = make_data(shape, dtype, seed=1)
    if dtype == np.float32:
        x = x * 100 + 20  # an offset, so centring matters
    gen = keras_gen(keras_image, featurewise_center=True,
                    featurewise_std_normalization=True, rescale=rescale,
                    data_format=data_format)
    gen.fit(x)
    zca = ZCA(std_normalization=True, whiten=False, rescale=rescale,
              data_format=data_format).fit(x)
    assert zca.mean_.shape == gen.mean.shape and zca.mean_.dtype == gen.mean.dtype
    assert zca.std_.shape == gen.std.shape and zca.std_.dtype == gen.std.dtype
    # Keras reduces 1800 float32 values per channel: ~1e-7 relative error.
    np.testing.assert_allclose(zca.mean_, gen.mean, rtol=1e-5)
    np.testing.assert_allclose(zca.std_, gen.std, rtol=1e-5)
    batch = x[:7]
    want = gen.standardize(batch.astype(np.float32))  # Keras works in place
    got = zca.transform(batch)
    # Same float32 operations in the same order; only mean/std may differ
    # in their last bits.
    assert rel_err(got, want) < 1e-5


@pytest.mark.parametrize(
    "shape,data_format",
    [
        ((200, 4, 4, 3), "channels_last"),   # n >= d: d x d covariance path
        ((40, 8, 8, 3), "channels_last"),    # n < d: n x n Gram path
        ((150, 3, 6, 5), "channels_first"),  # n >= d, other layout
        ((30, 1, 6, 5), "channels_first"),   # n < d, grayscale
    ],
)
def test_zca_matches_keras(keras_image, shape, data_format):
    x = make_data(shape, np.uint8, seed=2)
    gen = keras_gen(keras_image, featurewise_center=True, zca_whitening=True,
                    data_format=data_format)
    gen.fit(x)
    zca = ZCA(data_format=data_format).fit(x)
    n, d = shape[0], int(np.prod(shape[1:]))
    assert zca.fit_method_ == ("covariance" if n >= d else "gram")
    assert zca.n_components_ == min(n, d)
    W = gen.zca_whitening_matrix
    assert W.dtype == np.float64 and zca.whitening_matrix_.dtype == np.float64
    # Keras's SVD runs in float32 (on float32 data): ~1e-7 relative error,
    # times the small condition number of random data.
    assert rel_err(zca.whitening_matrix_, W) < 1e-5
    np.testing.assert_allclose(zca.mean_, gen.mean, rtol=1e-5)
    batch = make_data((9,) + shape[1:], np.uint8, seed=3)
    want = gen.standardize(batch.astype(np.float32))
    got = zca.transform(batch)
    assert got.dtype == np.float32 and got.shape == batch.shape
    assert rel_err(got, want) < 1e-5
    got64 = zca.transform(batch, dtype=np.float64)
    assert rel_err(got64, want) < 1e-5  # Keras's own float32 SVD error


def test_zca_after_std_normalization_matches_keras(keras_image):
    # Keras's constructor turns std normalisation off under ZCA, but its fit()
    # honours the attribute: ZCA is then fitted on normalised data.
    x = make_data((120, 4, 4, 3), np.float32, seed=4) * [[[1.0, 5.0, 20.0]]]
    gen = keras_gen(keras_image, featurewise_center=True, zca_whitening=True)
    gen.featurewise_std_normalization = True
    gen.fit(x)
    zca = ZCA(std_normalization=True).fit(x)
    assert rel_err(zca.whitening_matrix_, gen.zca_whitening_matrix) < 1e-5
    batch = x[:5]
    assert rel_err(zca.transform(batch), gen.standardize(batch.copy())) < 1e-5


def test_unfit_warnings_match_keras(keras_image):
    x = make_data((4, 5, 5, 3), np.float32, seed=5)
    for kwargs, ours in [
        (dict(featurewise_center=True, featurewise_std_normalization=True),
         dict(center=True, std_normalization=True, whiten=False)),
        (dict(featurewise_center=True, zca_whitening=True),
         dict(center=True, whiten=True)),
    ]:
        gen = keras_gen(keras_image, rescale=0.5, **kwargs)
        with warnings.catch_warnings(record=True) as kw:
            warnings.simplefilter("always")
            want = gen.standardize(x.copy())
        with warnings.catch_warnings(record=True) as fw:
            warnings.simplefilter("always")
            got = ZCA(rescale=0.5, **ours).transform(x, if_unfitted="warn")
        assert [str(w.message) for w in fw] == [str(w.message) for w in kw]
        assert all(w.category is UserWarning for w in fw)
        np.testing.assert_array_equal(got, want)  # only the rescale ran


def test_fit_channel_warning_and_rank_error_match_keras(keras_image):
    gen = keras_gen(keras_image, featurewise_center=True)
    x = make_data((10, 4, 4, 5), np.uint8)
    with pytest.warns(UserWarning) as kw:
        gen.fit(x)
    with pytest.warns(UserWarning) as fw:
        ZCA(whiten=False).fit(x)
    assert [str(w.message) for w in fw] == [str(w.message) for w in kw]
    bad = np.zeros((10, 4, 4))
    with pytest.raises(ValueError) as ke:
        gen.fit(bad)
    with pytest.raises(ValueError) as fe:
        ZCA().fit(bad)
    assert str(fe.value) == str(ke.value)


# ------------------------------------------------------ float64 reference
CONFIGS = [
    dict(),
    dict(rescale=1 / 255),
    dict(std_normalization=True),
    dict(center=False),
    dict(epsilon=0.1),
    dict(data_format="channels_first"),
]


def _cfg_id(cfg):
    return ",".join(f"{k}={v}" for k, v in cfg.items()) or "default"


@pytest.mark.parametrize("cfg", CONFIGS, ids=_cfg_id)
@pytest.mark.parametrize("n", [300, 50], ids=["n>=d", "n<d"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_matches_float64_reference(cfg, n, dtype):
    fmt = cfg.get("data_format", "channels_last")
    shape = (n, 4, 5, 3) if fmt == "channels_last" else (n, 3, 4, 5)  # d = 60
    x = make_data(shape, dtype, seed=6)
    if dtype != np.uint8:
        x = x * 50 - 7
    zca = ZCA(**cfg).fit(x)
    kw = dict(center=cfg.get("center", True), std=cfg.get("std_normalization", False),
              rescale=cfg.get("rescale"))
    mean, sd, W, s = reference_fit(x, eps=cfg.get("epsilon", 1e-6), data_format=fmt, **kw)
    # Exact integer sums (uint8) or shifted float64 sums vs numpy's pairwise
    # float64 mean: 1e-12 is a thousand float64 ulps.
    np.testing.assert_allclose(zca.channel_mean_, mean.ravel(), rtol=1e-12)
    np.testing.assert_allclose(zca.channel_std_, sd.ravel(), rtol=1e-10)
    np.testing.assert_allclose(zca.singular_values_, s[: zca.n_components_], rtol=1e-10)
    assert rel_err(zca.whitening_matrix_, W) < 1e-9
    batch = make_data((8,) + shape[1:], dtype, seed=7)
    want = reference_standardize(batch, mean, sd, W, **kw)
    assert rel_err(zca.transform(batch, dtype=np.float64), want) < 1e-9
    assert rel_err(zca.transform(batch), want) < 1e-5


@pytest.mark.parametrize("n", [300, 40], ids=["n>=d", "n<d"])
def test_input_kinds_and_chunking_agree(tmp_path, n):
    shape = (n, 5, 4, 3)
    x = make_data(shape, np.uint8, seed=8)
    ref = ZCA().fit(x)
    mm = np.memmap(tmp_path / "x.u8", dtype=np.uint8, mode="w+", shape=shape)
    mm[:] = x
    mm.flush()
    mm = np.memmap(tmp_path / "x.u8", dtype=np.uint8, mode="r", shape=shape)
    chunks = [x[i:i + 13] for i in range(0, n, 13)]
    # An iterator whose chunks are views of one reused buffer: fit must copy
    # what it keeps.
    def reused_buffer():
        buf = np.empty((13,) + shape[1:], np.uint8)
        for c in chunks:
            buf[: len(c)] = c
            yield buf[: len(c)]
    variants = {
        "memmap": mm,
        "list of chunks": chunks,
        "generator": (c for c in chunks),
        "reused buffer": reused_buffer(),
        "tiny chunks": x,
        "non-contiguous": np.ascontiguousarray(x.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3),
        "float64": x.astype(np.float64),
    }
    for name, data in variants.items():
        # 200 bytes: a few rows (and for the Gram path, a few columns) at a time.
        zca = ZCA(chunk_bytes=200 if name in ("tiny chunks", "non-contiguous") else 128 << 20)
        if name in ("generator", "reused buffer") and n < 60:
            # Below d*d*8 = 28800 but above n*n*8 = 12800: a stream must then
            # keep its chunks and take the Gram path.
            zca.max_matrix_bytes = 20000
        zca.fit(data)
        if name in ("generator", "reused buffer"):
            assert zca.fit_method_ == ("gram" if n < 60 else "covariance")
        assert zca.n_samples_ == n, name
        np.testing.assert_allclose(zca.channel_mean_, ref.channel_mean_, rtol=1e-13, err_msg=name)
        # Same math, different summation order: float64 rounding only.
        assert rel_err(zca.whitening_matrix_, ref.whitening_matrix_) < 1e-9, name
    assert not np.shares_memory(ref.components_, x)


def test_gram_and_covariance_paths_agree():
    # n < d. An array takes the Gram path; a stream with small d the d x d path.
    x = make_data((30, 4, 4, 3), np.float32, seed=9)
    gram = ZCA().fit(x)
    cov = ZCA().fit(iter([x[:11], x[11:]]))
    assert (gram.fit_method_, cov.fit_method_) == ("gram", "covariance")
    assert gram.n_components_ == cov.n_components_ == 30
    # Both keep the same 30 directions; rounding differs (eigh of a 48x48
    # vs a 30x30 matrix, both float64).
    assert rel_err(gram.whitening_matrix_, cov.whitening_matrix_) < 1e-9


def test_large_offset_float_data():
    # Values 1e4 +- 1: a naive one-pass E[x^2] - E[x]^2 would lose ~8 digits.
    x = 1e4 + make_data((200, 3, 3, 3), np.float64, seed=10)
    zca = ZCA(std_normalization=False).fit(x)
    mean, sd, W, _ = reference_fit(x)
    np.testing.assert_allclose(zca.channel_std_, sd.ravel(), rtol=1e-9)
    assert rel_err(zca.whitening_matrix_, W) < 1e-7


# -------------------------------------------------------------- properties
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(3, 60),
    h=st.integers(1, 4),
    w=st.integers(1, 4),
    c=st.sampled_from([1, 3, 4]),
    dtype=st.sampled_from([np.uint8, np.float32]),
    fmt=st.sampled_from(["channels_last", "channels_first"]),
    seed=st.integers(0, 2**31),
)
def test_whitened_fit_data_has_identity_second_moment(n, h, w, c, dtype, fmt, seed):
    shape = (n, h, w, c) if fmt == "channels_last" else (n, c, h, w)
    x = make_data(shape, dtype, seed=seed)
    zca = ZCA(data_format=fmt).fit(x)
    s = zca.singular_values_
    # Generic random data is full rank; the degenerate case has its own test.
    assume(s.size == min(n, h * w * c) and s[-1] > 1e-6 * s[0])
    y = zca.transform(x, dtype=np.float64).reshape(n, -1)
    u = zca.components_
    # Exactly: U^T Y^T Y U / n = diag(s^2 / (s + eps)^2). Float64 rounding is
    # amplified by at most s[0]/s[-1] < 1e6 here, hence 1e-6.
    q = u.T @ (y.T @ y / n) @ u
    np.testing.assert_allclose(q, np.diag((s / (s + zca.epsilon)) ** 2), atol=1e-6)
    # Nothing outside the fitted directions (trivially so when they span all d).
    outside = y - (y @ u) @ u.T
    assert np.abs(outside).max() <= 1e-9 * np.abs(y).max()
    W = zca.whitening_matrix_
    np.testing.assert_allclose(W, W.T, rtol=0, atol=1e-12 * np.abs(W).max())


@settings(max_examples=25, deadline=None)
@given(
    cuts=st.lists(st.integers(1, 79), max_size=6, unique=True),
    n=st.sampled_from([30, 80]),
    chunk_bytes=st.sampled_from([100, 1000, 1 << 20]),
)
def test_result_independent_of_chunking(cuts, n, chunk_bytes):
    x = make_data((n, 3, 3, 4), np.uint8, seed=11)
    edges = [0, *sorted(c for c in cuts if c < n), n]
    chunks = [x[a:b] for a, b in zip(edges, edges[1:])]
    ref = ZCA().fit(x)
    got = ZCA(chunk_bytes=chunk_bytes).fit(chunks)
    assert rel_err(got.whitening_matrix_, ref.whitening_matrix_) < 1e-9
    np.testing.assert_array_equal(got.mean_, ref.mean_)  # exact integer sums


def test_transform_contract():
    x = make_data((100, 4, 4, 3), np.uint8, seed=12)
    zca = ZCA(rescale=1 / 255).fit(x)
    batch = x[:10].copy()
    keep = batch.copy()
    y = zca.transform(batch)
    np.testing.assert_array_equal(batch, keep)  # input untouched
    # One image equals its row of the batch, up to float32 rounding: a 1-row
    # and a 10-row GEMM may run different BLAS kernels (summation orders).
    assert rel_err(zca.transform(batch[3]), y[3]) < 1e-5
    # float input in the same units gives the same result.
    assert rel_err(zca.transform(batch.astype(np.float32)), y) < 1e-6
    # rescaled=True expects data already multiplied by rescale.
    pre = batch.astype(np.float32) * np.float32(1 / 255)
    assert rel_err(zca.transform(pre, rescaled=True), y) < 1e-6
    # out=, including out aliasing a float32 input.
    out = np.empty(batch.shape, np.float32)
    assert zca.transform(batch, out=out) is not None
    np.testing.assert_array_equal(out, y)
    pre_copy = pre.copy()
    zca.transform(pre_copy, out=pre_copy, rescaled=True)
    np.testing.assert_array_equal(pre_copy, zca.transform(pre, rescaled=True))
    # Empty batch.
    assert zca.transform(x[:0]).shape == (0, 4, 4, 3)
    # Flags are read at transform time: stats only.
    zca.whiten = False
    zca.std_normalization = True
    scaled = batch.astype(np.float32) * np.float32(1 / 255)
    want = (scaled - zca.mean_) / (zca.std_ + np.float32(1e-6))  # Keras's float32 ops
    np.testing.assert_array_equal(zca.transform(batch), want)
    # Other image sizes are fine for the per-channel steps.
    assert zca.transform(make_data((2, 7, 9, 3))).shape == (2, 7, 9, 3)


def test_factored_form_used_and_correct_when_rank_is_low():
    # n=20 samples of d=192: rank 20 < d/2, so two thin GEMMs.
    x = make_data((20, 8, 8, 3), np.float32, seed=13)
    zca = ZCA().fit(x)
    assert not zca._apply_dense and zca.components_.shape == (192, 20)
    mean, sd, W, _ = reference_fit(x)
    batch = make_data((6, 8, 8, 3), np.float32, seed=14)
    want = reference_standardize(batch, mean, sd, W)
    assert rel_err(zca.transform(batch), want) < 1e-5
    assert rel_err(zca.transform(batch, dtype=np.float64), want) < 1e-9


def test_pickle_roundtrip():
    x = make_data((50, 4, 4, 3), np.uint8, seed=15)
    for zca in (ZCA().fit(x), ZCA().fit(x[:10]), ZCA(whiten=False).fit(x), ZCA()):
        if zca.is_fitted:
            zca.transform(x[:2], dtype=np.float64)  # fills the float64 cache
        clone = pickle.loads(pickle.dumps(zca))
        assert repr(clone) == repr(zca)
        if zca.is_fitted:
            np.testing.assert_array_equal(clone.transform(x[:4]), zca.transform(x[:4]))


def test_degenerate_directions():
    # Two pixels that are always equal (and n >= d): a zero-variance
    # direction. Keras keeps it with gain sqrt(n)/(s + eps), s at noise level.
    x = make_data((400, 3, 3, 1), np.float64, seed=16)
    x[:, 0, 1] = x[:, 0, 0]
    zca = ZCA().fit(x)
    s = zca.singular_values_
    assert zca.n_components_ == 9
    assert s[-1] < 1e-10 * s[0] and s[-2] > 1e-3 * s[0]
    assert zca.scales_[-1] > 1e3 * zca.scales_[-2]
    # On the non-degenerate subspace the fit data is still white.
    y = zca.transform(x, dtype=np.float64).reshape(400, -1)
    u = zca.components_[:, :-1]
    q = u.T @ (y.T @ y / 400) @ u
    # The null direction's huge gain multiplies float64 rounding (1e-16 *
    # |x| * gain ~ 1e-16 * 1 * 1e7): 1e-6 leaves room.
    np.testing.assert_allclose(q, np.diag((s[:-1] / (s[:-1] + 1e-6)) ** 2), atol=1e-6)

    # n < d with duplicated samples: rank 10 from 20 samples. Keras's extra
    # ten directions are arbitrary; ours drops them.
    base = make_data((10, 4, 4, 3), np.float64, seed=17)
    dup = np.concatenate([base, base])
    zca = ZCA().fit(dup)
    assert zca.fit_method_ == "gram" and zca.n_components_ == 10
    u = zca.components_
    np.testing.assert_allclose(u.T @ u, np.eye(10), atol=1e-10)
    y = zca.transform(dup, dtype=np.float64).reshape(20, -1)
    q = u.T @ (y.T @ y / 20) @ u
    s = zca.singular_values_
    np.testing.assert_allclose(q, np.diag((s / (s + 1e-6)) ** 2), atol=1e-8)

    # Constant data, n < d: nothing to whiten, everything maps to zero.
    const = np.full((5, 4, 4, 3), 7, np.uint8)
    zca = ZCA().fit(const)
    assert zca.n_components_ == 0
    np.testing.assert_array_equal(zca.transform(const), 0)


def test_epsilon_zero_with_null_direction_is_an_error():
    x = np.full((100, 3, 3, 1), 3.0)  # n >= d, all variance zero
    with pytest.raises(ValueError, match="epsilon"):
        ZCA(epsilon=0.0).fit(x)
    assert ZCA(epsilon=0.0).fit(make_data((100, 3, 3, 1), np.float64)).n_components_ == 9


def test_fit_does_not_copy_data_to_float():
    # 6000 x 768 uint8: a float64 copy would be 36.9 MB. Our fit holds the
    # 768^2 matrix (4.7 MB) a few times plus 1 MB chunks. (LAPACK workspace is
    # allocated outside numpy, so tracemalloc does not see it either way.)
    x = make_data((6000, 16, 16, 3), np.uint8, seed=18)
    tracemalloc.start()
    try:
        ZCA(chunk_bytes=1 << 20).fit(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < x.size * 8 / 2


# --------------------------------------------------------------- bad input
def test_bad_fit_input():
    good = make_data((10, 4, 4, 3))
    with pytest.raises(ValueError, match="rank 4"):
        ZCA().fit(good[0])
    with pytest.raises(ValueError, match="rank 4"):
        ZCA().fit(good[None])
    with pytest.raises(ValueError, match="empty"):
        ZCA().fit(good[:0])
    with pytest.raises(ValueError, match="empty"):
        ZCA().fit(iter([]))
    with pytest.raises(ValueError, match="empty"):
        ZCA().fit([good[:0], good[:0]])
    with pytest.raises(ValueError, match="empty"):
        ZCA().fit(np.zeros((5, 0, 4, 3)))
    for bad_value in (np.nan, np.inf, -np.inf):
        f = good.astype(np.float32)
        f[7, 1, 2, 0] = bad_value
        with pytest.raises(ValueError, match="NaN or infinite values .*sample 7"):
            ZCA().fit(f)
        with pytest.raises(ValueError, match="NaN"):
            ZCA(whiten=False).fit(iter([f[:5], f[5:]]))
        with pytest.raises(ValueError, match="NaN"):
            ZCA().fit(f[5:9])  # Gram path
    with pytest.raises(TypeError, match="dtype complex128"):
        ZCA().fit(good.astype(complex))
    with pytest.raises(TypeError, match="str"):
        ZCA().fit("images")
    with pytest.raises(TypeError, match="int"):
        ZCA().fit(42)
    with pytest.raises(ValueError, match="chunk 1 has samples of shape"):
        ZCA().fit(iter([good, good[:, :3]]))
    with pytest.raises(ValueError, match="samples of shape"):
        ZCA().fit([good, good[:, :3]])
    with pytest.raises(ValueError, match="chunk 1 has shape"):
        ZCA().fit(iter([good, good[0]]))
    with pytest.raises(MemoryError, match="max_matrix_bytes"):
        ZCA(max_matrix_bytes=1000).fit(make_data((100, 4, 4, 3)))
    with pytest.raises(MemoryError, match="Gram"):
        ZCA(max_matrix_bytes=1000).fit(make_data((20, 8, 8, 3)))
    # The caller's array is never written: a read-only one works.
    ro = make_data((100, 4, 4, 3))
    ro.flags.writeable = False
    ZCA(std_normalization=True).fit(ro)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(data_format="channels_middle"), ValueError, "data_format"),
        (dict(epsilon=-1.0), ValueError, "epsilon"),
        (dict(epsilon=float("nan")), ValueError, "epsilon"),
        (dict(epsilon="small"), TypeError, "epsilon"),
        (dict(rescale="1/255"), TypeError, "rescale"),
        (dict(rescale=float("inf")), ValueError, "rescale"),
        (dict(center=1), TypeError, "center"),
        (dict(whiten=None), TypeError, "whiten"),
        (dict(chunk_bytes=0), ValueError, "chunk_bytes"),
        (dict(max_matrix_bytes=1.5), TypeError, "max_matrix_bytes"),
    ],
)
def test_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ZCA(**kwargs)


def test_bad_transform_input():
    x = make_data((50, 4, 4, 3))
    with pytest.raises(RuntimeError, match=r"call ZCA\.fit\(x\) first"):
        ZCA().transform(x)
    with pytest.raises(RuntimeError, match="featurewise_std_normalization"):
        ZCA(whiten=False, center=False, std_normalization=True).transform(x)
    z = ZCA(whiten=False).fit(x)
    z.whiten = True
    with pytest.raises(RuntimeError, match="zca_whitening"):
        z.transform(x)
    with pytest.raises(RuntimeError, match="fit"):
        _ = ZCA().whitening_matrix_
    with pytest.raises(RuntimeError, match="fit"):
        _ = ZCA().mean_
    zca = ZCA().fit(x)
    with pytest.raises(ValueError, match=r"samples of shape \(5, 4, 3\)"):
        zca.transform(make_data((2, 5, 4, 3)))
    with pytest.raises(ValueError, match="rank 3"):
        zca.transform(x[0, 0])
    with pytest.raises(ValueError, match="rank 3"):
        zca.transform(x[None])
    with pytest.raises(TypeError, match="dtype"):
        zca.transform(x, dtype=np.int32)
    with pytest.raises(TypeError, match="dtype"):
        zca.transform(x.astype(object))
    with pytest.raises(ValueError, match="if_unfitted"):
        zca.transform(x, if_unfitted="ignore")
    with pytest.raises(ValueError, match="out must have"):
        zca.transform(x, out=np.empty(x.shape, np.float64))
    with pytest.raises(ValueError, match="out must have"):
        zca.transform(x, out=np.empty((50, 48), np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        zca.transform(x, out=np.empty((4, 4, 3, 50), np.float32).transpose(3, 0, 1, 2))
    with pytest.raises(TypeError, match="out"):
        zca.transform(x, out=[0.0])
    stats = ZCA(whiten=False).fit(x)
    with pytest.raises(ValueError, match="4 channels"):
        stats.transform(make_data((2, 4, 4, 4)))


def test_docstring_examples_run():
    result = doctest.testmod(whitening, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
