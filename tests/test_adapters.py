"""Framework adapters: each test skips when its framework is not installed."""

from __future__ import annotations

import gc
import pickle
import subprocess
import sys

import numpy as np
import pytest

import fastaug
from fastaug import adapters
from fastaug.stream import batches, make_batch, num_batches


def _data(n: int = 22, size: int = 8):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8), np.arange(n)


def _aug():
    return fastaug.RandomAffine(rotation_range=25, horizontal_flip=True,
                                out_dtype=np.float32, scale=1 / 255, num_threads=1)


def test_import_pulls_in_no_framework():
    code = ("import sys, fastaug, fastaug.adapters, fastaug.stream; "
            "print(sorted(m for m in ('torch', 'tensorflow', 'jax', 'keras', 'dask') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.strip() == "[]"


def test_worker_batch_indices_partition():
    shares = [list(adapters.worker_batch_indices(11, w, 3)) for w in range(3)]
    assert sorted(k for share in shares for k in share) == list(range(11))
    with pytest.raises(ValueError, match="worker_id"):
        adapters.worker_batch_indices(5, 3, 3)
    with pytest.raises(ValueError, match="num_workers"):
        adapters.worker_batch_indices(5, 0, 0)
    with pytest.raises(TypeError, match="n_batches"):
        adapters.worker_batch_indices(5.0, 0, 1)


def test_unknown_attribute():
    with pytest.raises(AttributeError):
        adapters.NoSuchThing  # noqa: B018


# -- torch ---------------------------------------------------------------------------
@pytest.fixture
def torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def test_to_torch_matches_numpy(torch):
    x, y = _data()
    aug = _aug()
    ref = list(batches(x, y, aug, 8, seed=2, prefetch=0))
    got = list(adapters.to_torch(batches(x, y, aug, 8, seed=2, prefetch=2)))
    assert len(got) == len(ref)
    for (tx, ty), (nx, ny) in zip(got, ref):
        assert isinstance(tx, torch.Tensor) and tx.dtype == torch.float32
        assert np.array_equal(tx.numpy(), nx) and np.array_equal(ty.numpy(), ny)


def test_to_torch_closes_stream_when_abandoned(torch):
    x, y = _data()
    s = batches(x, y, _aug(), 4, seed=0, prefetch=2)
    g = adapters.to_torch(s)
    next(g)
    g.close()
    assert s.closed


@pytest.mark.skipif("not __import__('torch').cuda.is_available()"
                    if __import__("importlib").util.find_spec("torch") else "True",
                    reason="pinned memory needs a CUDA build of torch and a GPU")
def test_to_torch_pinned(torch):
    x, y = _data()
    tx, _ = next(adapters.to_torch(batches(x, y, _aug(), 8), pin_memory=True))
    assert tx.is_pinned()


def test_dataloader_batch_size_none(torch):
    from fastaug.adapters import TorchIterableDataset

    x, y = _data()
    aug = _aug()
    ds = TorchIterableDataset(x, y, aug, 8, seed=4, prefetch=2)
    got = list(torch.utils.data.DataLoader(ds, batch_size=None))
    assert len(got) == 3
    for k, (tx, ty) in enumerate(got):
        nx, ny = make_batch(x, y, aug, 8, 4, 0, k)
        assert np.array_equal(tx.numpy(), nx) and np.array_equal(ty.numpy(), ny)


def test_leaked_stream_does_not_block_exit():
    code = ("import numpy as np; from fastaug.stream import batches; "
            "s = batches(np.zeros((40, 4, 4, 1), np.uint8), batch_size=2, prefetch=2); "
            "next(s); print('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60, check=False)
    assert r.returncode == 0 and r.stdout.strip() == "ok"


def test_iterable_dataset_workers_union_equals_single_process(torch):
    from fastaug.adapters import TorchIterableDataset

    x, y = _data(n=45)
    aug = _aug()
    ds = TorchIterableDataset(x, y, aug, batch_size=4, seed=6, epoch=1)
    assert len(ds) == num_batches(45, 4) == 12
    single = list(torch.utils.data.DataLoader(ds, batch_size=None, num_workers=0))
    multi = list(torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2))
    assert len(single) == len(multi) == 12

    def key(b):
        return tuple(b[1].tolist())

    # Every batch appears once across workers, with identical pixels.
    by_key = {key(b): b for b in single}
    assert len(by_key) == 12
    assert sorted(map(key, multi)) == sorted(by_key)
    for b in multi:
        assert np.array_equal(b[0].numpy(), by_key[key(b)][0].numpy())
    # The epoch's samples, each exactly once.
    assert sorted(torch.cat([b[1] for b in multi]).tolist()) == list(range(45))
    # A new epoch is a new plan and new keys.
    ds.set_epoch(2)
    nxt = list(torch.utils.data.DataLoader(ds, batch_size=None, num_workers=0))
    assert not np.array_equal(nxt[0][1].numpy(), single[0][1].numpy())


def test_iterable_dataset_pickles_and_validates(torch):
    from fastaug.adapters import TorchIterableDataset

    x, y = _data()
    ds = TorchIterableDataset(x, y, _aug(), batch_size=4, seed=1, as_tensor=False)
    clone = pickle.loads(pickle.dumps(ds))
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(ds, clone))
    with pytest.raises(ValueError, match="batch_size"):
        TorchIterableDataset(x, y, None, batch_size=0)
    with pytest.raises(ValueError, match="epoch"):
        ds.set_epoch(-1)


# -- JAX -----------------------------------------------------------------------------
def test_to_jax(tmp_path):
    jax = pytest.importorskip("jax")
    x, y = _data()
    aug = _aug()
    s = batches(x, y, aug, 8, seed=3, prefetch=2)
    got = list(adapters.to_jax(s))
    assert s.closed and len(got) == 3
    for k, (jx, jy) in enumerate(got):
        assert isinstance(jx, jax.Array)
        nx, ny = make_batch(x, y, aug, 8, 3, 0, k)
        assert np.array_equal(np.asarray(jx), nx) and np.array_equal(np.asarray(jy), ny)


# -- Keras ---------------------------------------------------------------------------
def test_to_keras_model_fit():
    keras = pytest.importorskip("keras")
    x, y = _data(n=24)
    ds = adapters.to_keras(x, y % 3, _aug(), batch_size=8, seed=0)
    first = ds[0]
    assert np.array_equal(first[0], make_batch(x, y % 3, _aug(), 8, 0, 0, 0)[0])
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(3)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    hist = model.fit(ds, epochs=2, verbose=0)
    assert len(hist.history["loss"]) == 2
    assert ds.epoch >= 2  # each on_epoch_end moved on to a new plan
    with pytest.raises(IndexError):
        ds[3]
    with pytest.raises(ValueError, match="workers"):
        adapters.to_keras(x, y, workers=0)
    gc.collect()


def test_keras_fit_on_prefetched_iterator():
    keras = pytest.importorskip("keras")
    from fastaug.keras import ImageDataGenerator

    x, y = _data(n=24)
    it = ImageDataGenerator(rotation_range=10, rescale=1 / 255, num_threads=1).flow(
        x, y % 3, batch_size=8, seed=0)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(3)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with it.prefetch(workers=1, depth=2, epochs=2) as s:
        # Keras 3 takes Python generators, not arbitrary iterators.
        hist = model.fit((b for b in s), steps_per_epoch=len(it), epochs=2, verbose=0,
                         shuffle=False)
    assert len(hist.history["loss"]) == 2


# -- TensorFlow ------------------------------------------------------------------------
def test_to_tf_dataset():
    tf = pytest.importorskip("tensorflow")
    x, y = _data()
    aug = _aug()
    ds = adapters.to_tf_dataset(lambda: batches(x, y, aug, 8, seed=5))
    got = list(ds.as_numpy_iterator())
    assert len(got) == 3
    for k, (bx, by) in enumerate(got):
        nx, ny = make_batch(x, y, aug, 8, 5, 0, k)
        assert np.array_equal(bx, nx) and np.array_equal(by, ny)
    assert ds.element_spec[0].shape.as_list() == [None, 8, 8, 3]
    assert tf.is_tensor(next(iter(ds))[0])


def test_to_tf_dataset_bad_factory():
    with pytest.raises(TypeError, match="stream_factory"):
        adapters.to_tf_dataset([1, 2])
