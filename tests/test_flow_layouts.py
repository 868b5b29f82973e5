"""``flow()`` fast paths: any dataset layout gives the same batches; cached per-batch work.

Part 1, layouts: the same batches as on a contiguous copy.

The iterator gives a dataset that the kernel cannot gather from directly (not
C-contiguous NHWC, or not uint8/float32) one kernel-ready copy up front when it
fits in memory, and never copies a memory map. The references here are the
paths that make no copy: the same flow on ``np.ascontiguousarray(x)`` (uint8 /
float32, gathered by the kernel) and the same flow with the copy disabled
(gathered and converted batch by batch, the path every layout took before).
Both must agree bit for bit: the copy only moves bytes and applies the same
elementwise cast to float32 that each batch gets anyway. Parity with Keras
itself on the keras.datasets layout is checked with test_keras_flow.py's bound.

Part 2, per-batch overhead: the generator's configuration snapshot is cached
until an attribute is assigned, and ``draw_batch`` caches how a configuration
maps uniforms to parameters, keyed on the range values. References: Keras's own
per-image stream (bit-exact doubles), and fresh generators built with the
changed configuration (bit-exact batches).
"""

import mmap
import warnings

import numpy as np
import pytest

from fastaug import keras as fk
from fastaug.keras import _iterators

CONFIGS = {
    "affine": dict(rotation_range=30, width_shift_range=0.1, height_shift_range=0.1,
                   zoom_range=0.2, shear_range=0.2, horizontal_flip=True, vertical_flip=True),
    "shift_rescale": dict(rotation_range=10, channel_shift_range=20.0, rescale=1 / 255,
                          fill_mode="reflect", samplewise_center=True),
    "nearest_constant": dict(rotation_range=45, interpolation_order=0, fill_mode="constant",
                             cval=7.0, brightness_range=(0.5, 1.5)),
}


def _cifar_like(n=24, h=8, w=10, seed=0):
    """keras.datasets.cifar10's layout: stored (N, 3, H, W), handed out transposed."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 3, h, w), dtype=np.uint8).transpose(0, 2, 3, 1)
    return x, rng.integers(0, 10, n)


def _layouts():
    x, _ = _cifar_like()
    xf = x.astype("float32")  # astype keeps the transposed layout (order "K")
    xf /= 255
    wide, _ = _cifar_like(n=48)
    return {
        "transposed_uint8": x,
        "transposed_float32": xf,
        "fortran_uint8": np.asfortranarray(x),
        "strided_slice": wide[::2],
        "float64": np.ascontiguousarray(x, dtype=np.float64),
        "int16_transposed": x.astype(np.int16),
    }


def _batches(it, epochs=2, nexts=3):
    out = []
    for _ in range(epochs):
        for i in range(len(it)):
            out.append(it[i])
        it.on_epoch_end()
    out += [next(it) for _ in range(nexts)]
    return out


def _assert_same_batches(a, b):
    assert len(a) == len(b)
    for (ax, ay), (bx, by) in zip(a, b):
        assert ax.dtype == bx.dtype and ax.shape == bx.shape
        np.testing.assert_array_equal(ay, by)
        np.testing.assert_array_equal(ax, bx)  # bit-exact: same bytes, same casts


def _flow(x, y, cfg, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy / not-fit notices are not the point here
        return fk.ImageDataGenerator(**cfg).flow(x, y, batch_size=5, seed=3, **kw)


def _run(x, y, cfg, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _batches(_flow(x, y, cfg, **kw))


@pytest.mark.parametrize("cfg", sorted(CONFIGS))
@pytest.mark.parametrize("layout", sorted(_layouts()))
def test_any_layout_gives_the_contiguous_batches(layout, cfg, monkeypatch):
    x = _layouts()[layout]
    y = np.arange(len(x)) % 10
    before, strides = x.copy(), x.strides
    got = _run(x, y, CONFIGS[cfg])
    # The caller's array is neither written nor re-laid out.
    np.testing.assert_array_equal(x, before)
    assert x.strides == strides
    # Reference 1: a C-contiguous array of the same values (the kernel's own gather;
    # a non-uint8/float32 dtype is converted the same way per batch).
    _assert_same_batches(got, _run(np.ascontiguousarray(x), y, CONFIGS[cfg]))
    # Reference 2: no copy at all, every batch gathered and converted on its own.
    monkeypatch.setattr(_iterators, "_copy_budget", lambda: 0)
    it = _flow(x, y, CONFIGS[cfg])
    assert np.shares_memory(it.x, x)
    _assert_same_batches(got, _run(x, y, CONFIGS[cfg]))


def test_kernel_ready_copy_is_made_once_and_kept():
    x, y = _cifar_like()
    it = _flow(x, y, CONFIGS["affine"])
    assert it.x.flags.c_contiguous and it.x.dtype == np.uint8
    assert not np.shares_memory(it.x, x)
    np.testing.assert_array_equal(it.x, x)
    xf = np.ascontiguousarray(x, dtype=np.float64)
    itf = _flow(xf, y, CONFIGS["affine"])
    assert itf.x.dtype == np.float32 and itf.x.flags.c_contiguous
    # Already kernel-ready: used as it is (no copy), as before.
    xc = np.ascontiguousarray(x)
    assert _flow(xc, y, CONFIGS["affine"]).x is xc


@pytest.mark.parametrize("cfg", ["affine", "shift_rescale"])
def test_channels_first_layouts(cfg):
    x, y = _cifar_like()
    nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # plain channels_first storage
    nchw_view = x.transpose(0, 3, 1, 2)  # channels_first view of NHWC memory
    c = dict(CONFIGS[cfg], data_format="channels_first")
    ref = _run(nchw, y, c)
    _assert_same_batches(ref, _run(nchw_view, y, c))
    _assert_same_batches(ref, _run(nchw.astype(np.float64), y, c))
    # channels_first is the same warp as channels_last on the transposed data;
    # samplewise_center's float32 mean sums the image in another memory order,
    # a few ulps apart (values here lie within [-1, 1], so 1e-6 absolute).
    last = _run(x, y, CONFIGS[cfg])
    atol = 1e-6 if CONFIGS[cfg].get("samplewise_center") else 0.0
    for (fx, fy), (lx, ly) in zip(ref, last):
        np.testing.assert_array_equal(fy, ly)
        np.testing.assert_allclose(fx, lx.transpose(0, 3, 1, 2), rtol=0, atol=atol)


def test_too_large_for_memory_is_gathered_per_batch(monkeypatch):
    x, y = _cifar_like()
    ref = _run(np.ascontiguousarray(x), y, CONFIGS["affine"])
    monkeypatch.setattr(_iterators, "_copy_budget", lambda: x.nbytes - 1)
    it = _flow(x, y, CONFIGS["affine"])
    assert it.x is x
    _assert_same_batches(ref, _run(x, y, CONFIGS["affine"]))


def _memmap(tmp_path, x, name="x.npy"):
    mm = np.lib.format.open_memmap(tmp_path / name, mode="w+", dtype=x.dtype, shape=x.shape)
    mm[:] = x
    mm.flush()
    return np.load(tmp_path / name, mmap_mode="r")


@pytest.mark.parametrize("kind", ["transposed", "float64", "plain_view_of_memmap", "strided"])
def test_memmap_is_never_copied(tmp_path, kind, monkeypatch):
    x, y = _cifar_like(n=24)
    stored = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # (N, 3, H, W) on disk
    if kind == "transposed":
        mm = _memmap(tmp_path, stored).transpose(0, 2, 3, 1)
    elif kind == "float64":
        mm = _memmap(tmp_path, x.astype(np.float64))
    elif kind == "plain_view_of_memmap":  # an ndarray whose base is the memmap
        mm = np.asarray(_memmap(tmp_path, stored)).transpose(0, 2, 3, 1)
        assert not isinstance(mm, np.memmap)
    else:
        mm = _memmap(tmp_path, np.concatenate([x, x]))[::2]
    ref = _run(np.ascontiguousarray(mm), y, CONFIGS["affine"])
    # Spy: a whole-dataset copy or cast would go through ascontiguousarray with
    # the dataset and return new memory; per-batch gathers only ever copy one
    # batch's images.
    calls = []
    orig = np.ascontiguousarray

    def spy(a, *args, **kw):
        out = orig(a, *args, **kw)
        if getattr(a, "shape", (0,))[0] == len(mm) and not np.shares_memory(out, mm):
            calls.append(a.shape)
        return out

    monkeypatch.setattr(np, "ascontiguousarray", spy)
    it = _flow(mm, y, CONFIGS["affine"])
    assert np.shares_memory(it.x, mm) and it.x.dtype == mm.dtype
    got = _batches(it)
    monkeypatch.undo()
    assert calls == []
    _assert_same_batches(ref, got)


def test_is_mapped_follows_views_and_buffers(tmp_path):
    path = tmp_path / "raw.bin"
    path.write_bytes(bytes(64))
    with open(path, "r+b") as f:
        buf = mmap.mmap(f.fileno(), 64)
    try:
        a = np.frombuffer(buf, np.uint8).reshape(4, 2, 2, 4)
        assert _iterators._is_mapped(a)
        assert _iterators._is_mapped(a[::2].transpose(0, 2, 1, 3))
        assert not _iterators._is_mapped(np.zeros((4, 2, 2, 4), np.uint8)[::2])
        del a
    finally:
        buf.close()


def test_read_only_caller_array():
    x, y = _cifar_like()
    x.setflags(write=False)
    ref = _run(np.ascontiguousarray(x), y, CONFIGS["shift_rescale"])
    _assert_same_batches(ref, _run(x, y, CONFIGS["shift_rescale"]))


def test_keras_datasets_layout_matches_keras():
    kimage = pytest.importorskip("keras.src.legacy.preprocessing.image")
    # test_keras_flow.py's bound: 1e-3 of the value range (float32 vs scipy's
    # float64 blending); no rounding ties occur with fill_mode 'nearest'.
    x, y = _cifar_like(n=20, h=16, w=16)
    xf = x.astype("float32")
    xf /= 255
    for data in (x, xf):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ki = kimage.ImageDataGenerator(**CONFIGS["affine"]).flow(data, y, batch_size=8,
                                                                    seed=5)
            kb = [ki[i] for i in range(len(ki))]
        fi = fk.ImageDataGenerator(**CONFIGS["affine"]).flow(data, y, batch_size=8, seed=5)
        for i, (kx, ky) in enumerate(kb):
            fx, fy = fi[i]
            np.testing.assert_array_equal(fy, ky)
            assert fx.dtype == kx.dtype and fx.shape == kx.shape
            span = float(kx.max() - kx.min()) or 1.0
            assert np.abs(fx.astype(np.float64) - kx).max() <= 1e-3 * span


# --------------------------------------------------------------- per-batch caches
def _fresh_batch(cfg, x, y, idx):
    """Batch ``idx`` of a new seeded iterator after batches 0..idx-1 (same bookkeeping)."""
    it = _flow(x, y, cfg)
    for i in range(idx):
        it[i]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return it[idx]


def test_generator_changes_between_batches_are_seen():
    x, y = _cifar_like()
    cfg = dict(CONFIGS["affine"])
    gen = fk.ImageDataGenerator(**cfg)
    it = gen.flow(x, y, batch_size=5, seed=3)
    it[0]
    gen.rotation_range = 0  # plain assignment
    got1 = it[1]
    ref1 = _fresh_batch(dict(cfg, rotation_range=0), x, y, 1)
    gen.zoom_range[0] = 0.5  # changed in place, as Keras would read it live
    got2 = it[2]
    ref2 = _fresh_batch(dict(cfg, rotation_range=0, zoom_range=[0.5, 1.2]), x, y, 2)
    gen.rescale = 1 / 255
    gen.featurewise_center = True
    gen.mean = np.float32(0.25)
    got3 = it[3]
    ref3 = _fresh_batch(dict(cfg, rotation_range=0, zoom_range=[0.5, 1.2], rescale=1 / 255),
                        x, y, 3)
    _assert_same_batches([got1, got2], [ref1, ref2])
    np.testing.assert_array_equal(got3[0], ref3[0] - np.float32(0.25))


def test_snapshot_is_reused_until_an_assignment():
    gen = fk.ImageDataGenerator(rotation_range=5)
    s1 = gen._spec()
    assert gen._spec() is s1
    gen.zca_whitening_matrix = None  # a property setter counts as an assignment
    s2 = gen._spec()
    assert s2 is not s1 and s2 == s1
    gen.cval = 3.0
    assert gen._spec().cval == 3.0


_KERAS_DRAW_CONFIGS = [
    # six mapped columns but not all six geometric parameters
    dict(rotation_range=10, width_shift_range=0.2, height_shift_range=0.3, zoom_range=0.1,
         channel_shift_range=5.0, brightness_range=[0.8, 1.2]),
    dict(shear_range=3, channel_shift_range=1.5, vertical_flip=True),
    dict(width_shift_range=2.5, height_shift_range=0.4, horizontal_flip=True),
    dict(rotation_range=np.float64(7.5), zoom_range=(0.9, 1.3), brightness_range=(0.2, 0.4)),
]


@pytest.mark.parametrize("cfg", _KERAS_DRAW_CONFIGS)
def test_batch_draws_equal_keras_stream_more_configs(cfg):
    kimage = pytest.importorskip("keras.src.legacy.preprocessing.image")
    from fastaug.keras import _random

    shape = (20, 24, 3)
    kg = kimage.ImageDataGenerator(**cfg)
    np.random.seed(11)
    expected = [kg.get_random_transform(shape) for _ in range(40)]
    fg = fk.ImageDataGenerator(**cfg)
    rs = np.random.RandomState(11)
    got = (_random.params_to_dicts(_random.draw_batch(fg._spec(), 25, shape, rs))
           + _random.params_to_dicts(_random.draw_batch(fg._spec(), 15, shape, rs)))
    for e, g in zip(expected, got):
        for key, ev in e.items():
            assert (ev is None) == (g[key] is None), key
            if ev is not None:
                assert float(g[key]) == float(ev), (key, g[key], ev)


def test_draw_map_follows_in_place_range_changes():
    from fastaug.keras import _random

    gen = fk.ImageDataGenerator(zoom_range=0.2, brightness_range=[0.5, 1.5])
    a = _random.draw_batch(gen._spec(), 8, (6, 6, 3), np.random.RandomState(0))
    gen.zoom_range[1] = 3.0  # same spec object, new values
    gen.brightness_range[0] = 1.0
    b = _random.draw_batch(gen._spec(), 8, (6, 6, 3), np.random.RandomState(0))
    fresh = fk.ImageDataGenerator(zoom_range=[0.8, 3.0], brightness_range=[1.0, 1.5])
    c = _random.draw_batch(fresh._spec(), 8, (6, 6, 3), np.random.RandomState(0))
    assert not np.array_equal(a.zx, b.zx)
    for key in ("zx", "zy", "brightness", "flip_horizontal"):
        np.testing.assert_array_equal(getattr(b, key), getattr(c, key))
