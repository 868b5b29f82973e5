"""Threads splitting a warp through the shared chunk counter (``_pool.run_shared``).

The warp kernel on one thread is checked against scipy elsewhere; here the
multi-threaded result must equal it bit for bit whatever the number of threads,
the batch size (fewer images than threads, chunks of one image, a last chunk
shorter than the others), channels, interpolation and fill mode. The driver's
error handling is checked with stand-in kernels that follow the same counter
protocol.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import fastaug
from fastaug import _pool


def _batch(n: int, c: int, dtype, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    shape = (n, 13, 17, c)
    x = (rng.integers(0, 256, shape, dtype=np.uint8) if dtype == np.uint8
         else rng.random(shape, dtype=np.float32))
    th = rng.uniform(-0.6, 0.6, n)
    m = np.zeros((n, 2, 3))
    m[:, 0, 0] = np.cos(th) * rng.uniform(0.8, 1.2, n)
    m[:, 0, 1] = -np.sin(th)
    m[:, 1, 0] = np.sin(th)
    m[:, 1, 1] = np.cos(th)
    m[:, :, 2] = rng.uniform(-3, 3, (n, 2))
    return x, m


@pytest.mark.parametrize("n", [1, 3, 33, 130])
@pytest.mark.parametrize("c, dtype", [(1, np.uint8), (3, np.uint8), (4, np.uint8),
                                      (3, np.float32)])
def test_any_thread_count_gives_the_one_thread_result(n: int, c: int, dtype) -> None:
    x, m = _batch(n, c, dtype, seed=n * 10 + c)
    for order, mode in [(1, "reflect"), (0, "constant"), (1, "nearest"), (1, "wrap")]:
        one = fastaug.warp_affine(x, m, order=order, fill_mode=mode, cval=7.0, num_threads=1)
        for threads in (2, 3):
            got = fastaug.warp_affine(x, m, order=order, fill_mode=mode, cval=7.0,
                                      num_threads=threads)
            np.testing.assert_array_equal(got, one, err_msg=f"{threads} threads, {order}, "
                                                            f"{mode}")


def test_many_calls_in_a_row_with_late_helpers() -> None:
    # Back-to-back batches: a helper may wake after its batch is done and must
    # then write nothing into the next batch's buffer.
    x, m = _batch(40, 3, np.uint8, seed=5)
    out = np.empty_like(x)
    want = fastaug.warp_affine(x, m, order=1, fill_mode="reflect", num_threads=1)
    for _ in range(50):
        fastaug.warp_affine(x, m, order=1, fill_mode="reflect", out=out, num_threads=2)
        np.testing.assert_array_equal(out, want)


def test_batches_with_pauses_between_them() -> None:
    # Back to back, the caller's kernel announces the batch to helpers that are
    # still waiting in their previous kernel; after a pause they sleep and are
    # woken from Python. Either way every batch is the one-thread result.
    x, m = _batch(48, 3, np.uint8, seed=9)
    want = fastaug.warp_affine(x, m, order=1, fill_mode="reflect", num_threads=1)
    out = np.empty_like(x)
    for pause in [0, 0, 0.003, 0, 0.0005, 0.003, 0, 0, 0.001] * 3:
        if pause:
            threading.Event().wait(pause)
        out[:] = 0
        fastaug.warp_affine(x, m, order=1, fill_mode="reflect", out=out, num_threads=2)
        np.testing.assert_array_equal(out, want)


def test_callers_on_several_threads_at_once() -> None:
    # One caller holds the awake helpers; the others take the executor's threads.
    x, m = _batch(64, 3, np.uint8, seed=7)
    want = fastaug.warp_affine(x, m, order=1, fill_mode="reflect", num_threads=1)
    bad = []

    def loop() -> None:
        out = np.empty_like(x)
        for _ in range(30):
            fastaug.warp_affine(x, m, order=1, fill_mode="reflect", out=out, num_threads=2)
            if not np.array_equal(out, want):
                bad.append(True)

    threads = [threading.Thread(target=loop) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad


def _protocol_run(ctrl: np.ndarray, nchunks: int, fail_in_helper: bool,
                  helper_started: threading.Event):
    """A stand-in for a shared-counter kernel (the GIL makes += atomic enough here)."""
    lock = threading.Lock()

    def take() -> int:
        with lock:
            k = int(ctrl[0])
            ctrl[0] += 1
            return k

    def run() -> None:
        helper = threading.current_thread() is not threading.main_thread()
        if helper:
            k = take()
            helper_started.set()
            if fail_in_helper and k < nchunks:
                raise ValueError("helper failed in its chunk")
        else:
            helper_started.wait(5)
        while take() < nchunks:
            with lock:
                ctrl[1] += 1

    return run


def test_a_helper_error_in_a_chunk_reaches_the_caller() -> None:
    ctrl = np.zeros(2, np.int64)
    started = threading.Event()
    with pytest.raises(ValueError, match="helper failed"):
        _pool.run_shared(_protocol_run(ctrl, 4, True, started), ctrl, 4, num_threads=2)
    assert ctrl[1] == 3  # the caller finished every other chunk


def test_a_helper_error_before_its_first_chunk_still_reaches_the_caller() -> None:
    ctrl = np.zeros(2, np.int64)
    calls = []

    def run() -> None:
        if threading.current_thread() is not threading.main_thread():
            calls.append("helper")
            raise RuntimeError("helper could not start")
        # The caller does every chunk, after the helper has failed.
        while not calls:
            threading.Event().wait(0.001)
        ctrl[0] = ctrl[1] = 3

    with pytest.raises(RuntimeError, match="could not start"):
        _pool.run_shared(run, ctrl, 3, num_threads=2)


def test_a_caller_error_waits_for_the_helpers() -> None:
    ctrl = np.zeros(2, np.int64)
    started = threading.Event()
    finished = []

    def run() -> None:
        if threading.current_thread() is not threading.main_thread():
            started.set()
            threading.Event().wait(0.05)
            finished.append(True)
            return
        assert started.wait(5)
        raise KeyError("caller")

    with pytest.raises(KeyError):
        _pool.run_shared(run, ctrl, 2, num_threads=2)
    assert finished == [True]  # nothing is still running when the error is raised


def test_no_helper_starts_after_a_caller_error() -> None:
    # A helper that had not joined when the caller failed must never start the
    # batch afterwards (it would write into buffers the caller has given up).
    ctrl = np.zeros(2, np.int64)
    calls = []

    def run() -> None:
        if threading.current_thread() is not threading.main_thread():
            calls.append("helper")
            return
        raise KeyError("caller")

    for _ in range(20):
        calls.clear()
        with pytest.raises(KeyError):
            _pool.run_shared(run, ctrl, 2, num_threads=2)
        seen = list(calls)
        threading.Event().wait(0.01)
        assert calls == seen
