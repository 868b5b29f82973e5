"""Prefetch (fastaug.stream.Stream, Iterator.prefetch) and the native streaming API."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import traceback

import numpy as np
import pytest

import fastaug
from fastaug.keras import ImageDataGenerator
from fastaug.stream import Stream, batches, epoch_plan, make_batch, num_batches


def _data(n: int = 23, size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8), np.arange(n) * 10


def _aug() -> fastaug.RandomAffine:
    return fastaug.RandomAffine(rotation_range=30, zoom_range=0.2, horizontal_flip=True,
                                channel_shift_range=10, num_threads=1)


def _stream_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("fastaug-stream")]


def _equal(a, b) -> bool:
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_equal(u, v) for u, v in zip(a, b))
    return np.array_equal(a, b)


@pytest.fixture(autouse=True)
def _no_thread_left():
    yield
    gc.collect()
    deadline = time.monotonic() + 5
    while _stream_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _stream_threads() == []


# -- Stream --------------------------------------------------------------------------
@pytest.mark.parametrize("workers,depth", [(1, 0), (1, 1), (2, 3), (3, 8)])
def test_stream_in_order(workers, depth):
    rng = np.random.default_rng(1)
    delays = rng.uniform(0, 0.003, 30)

    def task(i):
        time.sleep(delays[i])
        return i

    with Stream((lambda i=i: task(i) for i in range(30)), workers=workers, depth=depth,
                length=30) as s:
        assert len(s) == 30
        assert list(s) == list(range(30))
    assert s.closed


def test_stream_memory_bounded():
    pulled = []
    consumed = []

    def source():
        for i in range(40):
            pulled.append(i)
            yield lambda i=i: i

    s = Stream(source(), workers=2, depth=3)
    for v in s:
        consumed.append(v)
        # The batch in the consumer's hands plus at most depth + 1 in flight.
        assert len(pulled) - len(consumed) <= 3 + 1
        time.sleep(0.001)
    assert consumed == list(range(40))


def test_stream_exhaustion_closes_threads():
    s = Stream((lambda: 1 for _ in range(3)), workers=2, depth=2)
    assert list(s) == [1, 1, 1]
    assert s.closed and _stream_threads() == []
    with pytest.raises(StopIteration):
        next(s)


def test_close_is_idempotent_and_stops_iteration():
    s = Stream((lambda i=i: i for i in range(100)), workers=2, depth=4)
    assert next(s) == 0
    s.close()
    s.close()
    assert s.closed
    assert list(s) == []
    assert _stream_threads() == []


def test_with_block_closes_early():
    with Stream((lambda i=i: i for i in range(100)), workers=1, depth=2) as s:
        assert next(s) == 0
        assert _stream_threads()
    assert s.closed and _stream_threads() == []


class _Boom(RuntimeError):
    pass


def _failing_task(i: int) -> int:
    if i == 5:
        raise _Boom(f"bad batch {i}")
    return i


@pytest.mark.parametrize("workers,depth", [(1, 0), (1, 2), (2, 4)])
def test_worker_exception_reaches_consumer_at_its_batch(workers, depth):
    s = Stream((lambda i=i: _failing_task(i) for i in range(20)), workers=workers,
               depth=depth)
    got = []
    with pytest.raises(_Boom) as info:
        for v in s:
            got.append(v)
    assert got == [0, 1, 2, 3, 4]
    assert str(info.value) == "bad batch 5"
    # The original exception object, with the worker's frame in its traceback.
    names = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert "_failing_task" in names
    assert s.closed and _stream_threads() == []


def test_keyboard_interrupt_while_waiting_closes():
    main = threading.main_thread().ident
    old = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        def task(i):
            if i == 1:
                time.sleep(0.05)
                signal.pthread_kill(main, signal.SIGINT)
                time.sleep(0.3)
            return i

        s = Stream((lambda i=i: task(i) for i in range(10)), workers=1, depth=2)
        with pytest.raises(KeyboardInterrupt):
            list(s)
        assert s.closed
    finally:
        signal.signal(signal.SIGINT, old)


def test_abandoned_streams_leave_no_thread():
    base = threading.active_count()
    for _ in range(300):
        s = Stream((lambda i=i: i for i in range(100)), workers=2, depth=2)
        next(s)
        del s
    gc.collect()
    assert threading.active_count() == base


def test_abandoned_stream_in_reference_cycle_is_collected():
    base = threading.active_count()

    class Holder:
        pass

    h = Holder()
    h.self = h
    h.stream = Stream((lambda i=i: i for i in range(100)), workers=1, depth=2)
    next(h.stream)
    del h
    gc.collect()
    assert threading.active_count() == base


@pytest.mark.parametrize("kwargs,exc,word", [
    ({"workers": 0}, ValueError, "workers"),
    ({"workers": 1.5}, TypeError, "workers"),
    ({"workers": True}, TypeError, "workers"),
    ({"depth": -1}, ValueError, "depth"),
    ({"length": -2}, ValueError, "length"),
    ({"join_timeout": -1}, ValueError, "join_timeout"),
])
def test_stream_bad_arguments(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        Stream([], **kwargs)


def test_len_without_length_is_type_error():
    with pytest.raises(TypeError):
        len(Stream([], depth=0))


# -- Keras iterators -----------------------------------------------------------------
def _keras_iterator(seed=7, shuffle=True):
    x, y = _data()
    gen = ImageDataGenerator(rotation_range=20, width_shift_range=0.1, zoom_range=0.1,
                             horizontal_flip=True, num_threads=1)
    return gen.flow(x, y, batch_size=5, shuffle=shuffle, seed=seed)


@pytest.mark.parametrize("workers,depth", [(1, 2), (2, 5)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_iterator_prefetch_equals_pydataset_path(workers, depth, shuffle):
    sync = _keras_iterator(shuffle=shuffle)
    expected = []
    for _ in range(2):
        expected += [sync[i] for i in range(len(sync))]
        sync.on_epoch_end()
    it = _keras_iterator(shuffle=shuffle)
    with it.prefetch(workers=workers, depth=depth, epochs=2) as s:
        assert len(s) == 2 * len(it)
        got = list(s)
    assert len(got) == len(expected)
    assert all(_equal(a, b) for a, b in zip(got, expected))
    assert it.total_batches_seen == sync.total_batches_seen
    assert np.array_equal(it.index_array, sync.index_array)
    # Different batches within the epoch really differ (the test has teeth).
    assert not np.array_equal(got[0][0], got[1][0])


def test_directory_iterator_prefetch_equals_pydataset_path(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(5):
            Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)).save(
                tmp_path / cls / f"{i}.png")
    gen = ImageDataGenerator(rotation_range=30, horizontal_flip=True, num_threads=1)

    def make():
        return gen.flow_from_directory(str(tmp_path), target_size=(8, 8), batch_size=3,
                                       seed=4, class_mode="sparse")

    sync = make()
    expected = [sync[i] for i in range(len(sync))]
    with make().prefetch(workers=2, depth=3) as s:
        got = list(s)
    assert len(got) == len(expected) == 4
    assert all(_equal(a, b) for a, b in zip(got, expected))


def test_iterator_prefetch_worker_exception():
    it = _keras_iterator()
    calls = []
    original = it._render

    def flaky(index_array, params):
        calls.append(1)
        if len(calls) == 3:
            raise _Boom("kernel failed")
        return original(index_array, params)

    it._render = flaky
    got = []
    with pytest.raises(_Boom):
        for b in it.prefetch(workers=1, depth=3):
            got.append(b)
    assert len(got) == 2


def test_thousand_abandoned_iterators_leave_no_thread():
    x, y = _data(n=12, size=4)
    gen = ImageDataGenerator(rotation_range=10, num_threads=1)
    gen.flow(x, y, batch_size=3, seed=0)[0]  # compile / warm outside the count
    gc.collect()
    base = threading.active_count()
    for i in range(1000):
        it = gen.flow(x, y, batch_size=3, seed=i)
        s = it.prefetch(workers=1, depth=2)
        next(s)
        del s, it  # abandoned mid-epoch
    gc.collect()
    assert threading.active_count() == base


# -- native streaming API ------------------------------------------------------------
def test_epoch_plan_and_num_batches():
    p = epoch_plan(50, 3, 1)
    assert sorted(p.tolist()) == list(range(50))
    assert np.array_equal(p, np.random.default_rng((3, 1)).permutation(50))
    assert not np.array_equal(p, epoch_plan(50, 3, 2))
    assert not p.flags.writeable
    assert num_batches(0, 4) == 0 and num_batches(9, 3, drop_last=True) == 3


def test_make_batch_definition():
    x, y = _data()
    aug = _aug()
    bx, by = make_batch(x, y, aug, 4, seed=5, epoch=2, k=3)
    idx = np.random.default_rng((5, 2)).permutation(len(x))[12:16]
    assert np.array_equal(by, y[idx])
    assert np.array_equal(bx, aug(x[idx], rng=(5, 2, 3)))
    assert np.array_equal(make_batch(x, None, None, 4, 5, 2, 3, shuffle=False), x[12:16])
    # Labels as a plain list are fine too.
    assert make_batch(x, list(y), None, 4, 5, 2, 3)[1].tolist() == by.tolist()


@pytest.mark.parametrize("prefetch,workers,threads", [(0, 1, 1), (2, 1, 1), (4, 2, 1),
                                                      (3, 2, None)])
def test_batches_equal_make_batch(prefetch, workers, threads):
    # threads=None: every worker also splits its batch over all cores, so several
    # threads run Numba kernels at once (safe: serial nogil kernels, any layer).
    x, y = _data()
    aug = _aug()
    aug.num_threads = threads
    with batches(x, y, aug, batch_size=4, seed=9, epoch=1, prefetch=prefetch,
                 workers=workers) as s:
        got = list(s)
    assert len(got) == num_batches(len(x), 4) == 6
    for k, b in enumerate(got):
        assert _equal(b, make_batch(x, y, aug, 4, 9, 1, k))
    # Every sample exactly once per epoch.
    assert sorted(np.concatenate([b[1] for b in got]).tolist()) == sorted(y.tolist())


def test_batches_memmap_drop_last_and_indices(tmp_path):
    x, _ = _data()
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.uint8,
                                   shape=x.shape)
    mm[:] = x
    aug = _aug()
    got = list(batches(mm, None, aug, batch_size=4, seed=1, drop_last=True))
    assert len(got) == 5 and all(b.shape[0] == 4 for b in got)
    part = list(batches(x, None, aug, batch_size=4, seed=1, indices=[4, 1]))
    assert np.array_equal(part[0], got[4]) and np.array_equal(part[1], got[1])


@pytest.mark.parametrize("call,exc,word", [
    (lambda x, y: batches(x, y[:-1]), ValueError, "y"),
    (lambda x, y: batches(x, y, batch_size=0), ValueError, "batch_size"),
    (lambda x, y: batches(x, y, seed=-1), ValueError, "seed"),
    (lambda x, y: batches(x, y, seed=1.5), TypeError, "seed"),
    (lambda x, y: batches(x, y, epoch=-1), ValueError, "epoch"),
    (lambda x, y: batches(x, y, prefetch=-1), ValueError, "prefetch"),
    (lambda x, y: batches(x, y, augment=3), TypeError, "augment"),
    (lambda x, y: batches(x, y, indices=[99]), ValueError, "indices"),
    (lambda x, y: batches([1, 2], None), TypeError, "x"),
    (lambda x, y: make_batch(x, y, None, 4, 0, 0, 6), ValueError, "k"),
])
def test_native_bad_input(call, exc, word):
    x, y = _data()
    with pytest.raises(exc, match=word):
        call(x, y)


def test_uncaught_worker_exception_exits_cleanly():
    code = textwrap.dedent("""
        import numpy as np
        import fastaug
        from fastaug.stream import batches

        class Bad:
            def __call__(self, images, rng=None):
                raise ValueError("augment failed in worker")

        x = np.zeros((8, 4, 4, 1), np.uint8)
        for b in batches(x, None, Bad(), batch_size=2, prefetch=2):
            pass
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120, check=False)
    assert r.returncode == 1
    assert "ValueError: augment failed in worker" in r.stderr
    assert "__call__" in r.stderr  # the worker's frame is in the traceback


# -- scale-out on Dask -----------------------------------------------------------------
def test_dask_local_cluster_matches_in_process():
    distributed = pytest.importorskip("distributed")
    x, y = _data(n=40, size=16)
    aug = _aug()
    n_b = num_batches(len(x), 8)
    expected = [make_batch(x, y, aug, 8, 11, 3, k) for k in range(n_b)]  # warms the cache
    env = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None, silence_logs=50,
                                  worker_class=distributed.Nanny, env=env) as cluster, \
            distributed.Client(cluster) as client:
        xf, yf = client.scatter([x, y], broadcast=True)
        futures = client.map(make_batch, [xf] * n_b, [yf] * n_b, [aug] * n_b, [8] * n_b,
                             [11] * n_b, [3] * n_b, range(n_b), pure=False)
        got = client.gather(futures)
        pids = set(client.run(os.getpid).values())
    assert os.getpid() not in pids and len(pids) == 2
    assert all(_equal(a, b) for a, b in zip(got, expected))
