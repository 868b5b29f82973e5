"""The Pillow-exact NEAREST resize kernel (fastaug._kernels.pil_nearest) and its use.

Reference: Pillow itself, ``Image.fromarray(a).resize((ow, oh), NEAREST, box=box)``
(the code the kernel replaces in ``fastaug._decode.load_jpeg``), and for whole
files ``fastaug.io`` with ``FAST_JPEG = False`` (Pillow decodes and resizes).

Tolerance: none. NEAREST selects source pixels; a pixel picked one column off
is a wrong result, so every comparison is exact equality, shapes and dtypes
included.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from fastaug import _decode
from fastaug import io as fio
from fastaug._kernels.pil_nearest import resize_nearest

NEAREST = Image.Resampling.NEAREST


def _pillow(a, size, box):
    """Pillow's result for (H, W, C) ``a``, as (oh, ow, C)."""
    c = a.shape[2]
    img = Image.fromarray(a[:, :, 0] if c == 1 else a)
    r = np.asarray(img.resize(size, NEAREST, box=box))
    return r[:, :, None] if c == 1 else r


def _kernel(a, size, box, fill=77):
    """The kernel's result in a fresh (oh, ow, C) array pre-filled with ``fill``."""
    h, w, c = a.shape
    ow, oh = size
    out = np.full((oh, ow, c), fill, np.uint8)
    ok = resize_nearest(a.reshape(-1), w, c, *map(float, box), out.reshape(-1), ow)
    return ok, out


def _check(a, size, box):
    before = a.copy()
    ok, got = _kernel(a, size, box)
    assert ok
    np.testing.assert_array_equal(got, _pillow(a, size, box))
    np.testing.assert_array_equal(a, before)  # the source is read only


def _boxes(rng, w, h):
    """Whole image, integer, fractional, float32-inexact, crop and draft-scaled boxes."""
    x0, x1 = sorted(rng.uniform(0, w, 2))
    y0, y1 = sorted(rng.uniform(0, h, 2))
    yield (0, 0, w, h)
    yield (int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1)))
    yield (x0, y0, x1, y1)
    yield (x0 / 3, y0 / 7, w - x0 / 11, h)  # not representable in float32
    yield (0.5, 0.25, w, h - 0.75) if w > 1 and h > 1 else (0, 0, w, h)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("c", [1, 3, 4])
def test_random_sizes_and_boxes(seed, c):
    rng = np.random.default_rng(seed * 10 + c)
    for _ in range(6):
        h, w = (int(v) for v in rng.integers(1, 90, 2))
        a = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
        oh, ow = (int(v) for v in rng.integers(1, 130, 2))
        for size in [(ow, oh), (w, oh), (ow, h), (1, 1), (2 * w + 1, (h + 1) // 2)]:
            for box in _boxes(rng, w, h):
                _check(a, size, box)


@pytest.mark.parametrize("c", [1, 3, 4])
@pytest.mark.parametrize("src,dst", [((375, 500), (224, 224)), ((500, 375), (224, 224)),
                                     ((333, 251), (300, 224)), ((1, 1), (5, 7)),
                                     ((7, 5), (1, 1)), ((251, 333), (251, 400)),
                                     ((64, 48), (64, 48))])
def test_keras_crop_boxes(src, dst, c):
    """The ``keep_aspect_ratio`` crop and its draft-scaled form, as ``load_jpeg`` passes them."""
    rng = np.random.default_rng(3)
    (h, w), (th, tw) = src, dst
    a = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
    box = fio._crop_box(w, h, tw, th)
    _check(a, (tw, th), box)
    _check(a, (tw, th), (0, 0, w, h))
    for s in (2, 4, 8):
        dw, dh = -(-w // s), -(-h // s)
        sx, sy = dw / w, dh / h
        small = np.ascontiguousarray(a[::s, ::s])
        assert small.shape[:2] == (dh, dw)
        _check(small, (tw, th), (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy))


def test_running_sum_not_closed_form():
    """Pillow adds the step per column; ``x0 + step * (i + 0.5)`` picks other pixels here."""
    w, ow, box = 1701, 637, (229, 0, 289, 1)
    step = (box[2] - box[0]) / ow
    closed = [int(box[0] + step * (i + 0.5)) for i in range(ow)]
    a = np.arange(w, dtype=np.uint16).astype(np.uint8).reshape(1, w, 1)
    ref = _pillow(a, (ow, 1), box)
    assert [v % 256 for v in closed] != ref[0, :, 0].tolist()  # the case is a real one
    _check(a, (ow, 1), box)
    _check(np.repeat(a, 3, axis=2), (ow, 1), box)


@pytest.mark.parametrize("c", [1, 3, 4])
def test_empty_and_edge_boxes(c):
    """Zero-width boxes (allowed by Pillow), boxes on the far edge: pixels left at 0."""
    rng = np.random.default_rng(5)
    a = rng.integers(1, 256, (9, 11, c), dtype=np.uint8)
    for box in [(3, 2, 3, 8), (0, 4, 11, 4), (11, 0, 11, 9), (0, 9, 11, 9), (11, 9, 11, 9),
                (10.5, 8.5, 11, 9), (2.25, 1, 2.25, 1)]:
        for size in [(5, 4), (1, 1), (13, 2)]:
            _check(a, size, box)


@pytest.mark.parametrize("box", [(-1, 0, 5, 5), (0, -0.5, 5, 5), (0, 0, 6, 5), (0, 0, 5, 5.5),
                                 (3, 0, 2, 5), (0, 4, 5, 3)])
def test_refused_boxes(box):
    """Where Pillow raises, the kernel returns False and leaves ``out`` as it was."""
    a = np.zeros((5, 5, 3), np.uint8)
    with pytest.raises(ValueError):
        _pillow(a, (3, 3), box)
    ok, out = _kernel(a, (3, 3), box, fill=77)
    assert not ok
    assert (out == 77).all()


def test_float32_box_rounding():
    """Coordinates are rounded to float32 first: a box just past the edge in float64 passes."""
    a = np.arange(3 * 4 * 3, dtype=np.uint8).reshape(3, 4, 3)
    box = (0.0, 0.0, 4.0 + 1e-9, 3.0)  # float32(4 + 1e-9) == 4
    _check(a, (7, 2), box)


@settings(max_examples=150, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), oh=st.integers(1, 60), ow=st.integers(1, 60),
       c=st.sampled_from([1, 3, 4]), fx=st.tuples(*[st.floats(0, 1)] * 4), seed=st.integers(0, 9))
def test_property_matches_pillow(h, w, oh, ow, c, fx, seed):
    a = np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)
    x0, x1 = sorted((fx[0] * w, fx[1] * w))
    y0, y1 = sorted((fx[2] * h, fx[3] * h))
    _check(a, (ow, oh), (x0, y0, x1, y1))


# -- fastaug._decode._resize_nearest: where the result goes ---------------------------

@pytest.mark.parametrize("c", [1, 3, 4])
def test_writes_into_out_when_it_fits(c):
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (37, 53, c), dtype=np.uint8)
    before = a.copy()
    batch = np.zeros((3, 20, 30, c), np.uint8)
    slot = batch[1]
    r = _decode._resize_nearest(a, (30, 20), (2, 3.5, 50, 37), slot)
    assert r is slot
    np.testing.assert_array_equal(batch[1], _pillow(a, (30, 20), (2, 3.5, 50, 37)))
    assert not batch[0].any() and not batch[2].any()
    np.testing.assert_array_equal(a, before)


@pytest.mark.parametrize("c", [1, 3])
def test_fresh_array_when_out_does_not_fit(c):
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (17, 23, c), dtype=np.uint8)
    ref = _pillow(a, (9, 8), None)
    ref = ref[:, :, 0] if c == 1 else ref
    ro = np.zeros((8, 9, c), np.uint8)
    ro.flags.writeable = False
    outs = [None, np.zeros((8, 9, c + 1), np.uint8), np.zeros((8, 9, c), np.float32),
            np.zeros((8, 18, c), np.uint8)[:, ::2], ro, np.zeros((9, 8, c), np.uint8)]
    for out in outs:
        keep = None if out is None else out.copy()
        r = _decode._resize_nearest(a, (9, 8), None, out)
        assert r is not out
        assert r.dtype == np.uint8 and r.shape == ref.shape  # (H, W) for one channel
        np.testing.assert_array_equal(r, ref)
        if out is not None:
            np.testing.assert_array_equal(out, keep)


# -- whole files: the fast path against the Pillow path ------------------------------

fast = pytest.mark.skipif(not _decode.available(),
                          reason="simplejpeg missing or Pillow not on libjpeg-turbo")


def _photo(rng, w, h):
    yy, xx = np.mgrid[0:h, 0:w]
    a = np.stack([xx * 255.0 / w, yy * 255.0 / h, 127 + 100 * np.sin(xx / 7.0 + yy / 11.0)], -1)
    a += rng.normal(0, 8, a.shape)
    return np.clip(a, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def jpegs(tmp_path_factory):
    d = tmp_path_factory.mktemp("pil_nearest")
    rng = np.random.default_rng(0)
    paths = []
    for i, ((w, h), mode, sub) in enumerate([((500, 375), "RGB", 2), ((500, 375), "RGB", 0),
                                             ((333, 251), "RGB", 2), ((251, 333), "L", 0),
                                             ((97, 61), "RGB", 0), ((500, 375), "L", 0)]):
        p = str(d / f"{i}.jpg")
        img = Image.fromarray(_photo(rng, w, h)).convert(mode)
        img.save(p, "JPEG", quality=90, **({"subsampling": sub} if mode == "RGB" else {}))
        paths.append(p)
    return paths


def _spy(monkeypatch):
    """Record, per call of ``_decode._resize_nearest``, whether it filled the ``out`` given."""
    calls = []
    real = _decode._resize_nearest

    def spy(a, size, box, out):
        r = real(a, size, box, out)
        calls.append(out is not None and r is out)
        return r

    monkeypatch.setattr(_decode, "_resize_nearest", spy)
    return calls


@fast
@pytest.mark.parametrize("color_mode", ["rgb", "rgba", "grayscale"])
def test_load_array_matches_pillow(jpegs, monkeypatch, color_mode):
    calls = _spy(monkeypatch)
    for path, target, keep, draft in itertools.product(
            jpegs, [(224, 224), (300, 224), (40, 60), (400, 123), (1, 1)], [False, True],
            [False, True]):
        got = fio.load_array(path, color_mode, target, "nearest", keep, draft)
        with monkeypatch.context() as m:
            m.setattr(fio, "FAST_JPEG", False)
            ref = fio.load_array(path, color_mode, target, "nearest", keep, draft)
        assert got.dtype == ref.dtype and got.shape == ref.shape
        np.testing.assert_array_equal(got, ref)
    assert calls  # the kernel was used (colour files to "grayscale" stay on Pillow)


@fast
@pytest.mark.parametrize("color_mode", ["rgb", "rgba", "grayscale"])
@pytest.mark.parametrize("keep", [False, True])
def test_load_batch_matches_pillow_in_place(jpegs, monkeypatch, color_mode, keep):
    calls = _spy(monkeypatch)
    for target in [(224, 224), (100, 150)]:
        got = fio.load_batch(jpegs, target, color_mode, "nearest", keep, num_threads=2)
        with monkeypatch.context() as m:
            m.setattr(fio, "FAST_JPEG", False)
            ref = fio.load_batch(jpegs, target, color_mode, "nearest", keep, num_threads=2)
        assert got.dtype == ref.dtype and got.shape == ref.shape
        np.testing.assert_array_equal(got, ref)
    assert calls and all(calls)  # every kernel resize went straight into its slot


@fast
def test_other_filters_stay_on_pillow(jpegs, monkeypatch):
    calls = _spy(monkeypatch)
    for interp in ["bilinear", "bicubic", "box"]:
        got = fio.load_batch(jpegs[:2], (50, 60), interpolation=interp, num_threads=1)
        with monkeypatch.context() as m:
            m.setattr(fio, "FAST_JPEG", False)
            ref = fio.load_batch(jpegs[:2], (50, 60), interpolation=interp, num_threads=1)
        np.testing.assert_array_equal(got, ref)
    assert calls == []
