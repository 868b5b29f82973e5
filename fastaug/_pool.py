"""The package's thread pools: one batch split over threads, work handed out dynamically.

The kernels are serial ``@njit(nogil=True)`` functions, and parallelism comes from
here rather than Numba's ``parallel=True``: the default pip threading layer
(workqueue) aborts the process when parallel code is entered from two Python
threads at once, and a library must not change Numba's global threading layer.

:func:`run_chunks` cuts ``range(n)`` into small chunks that the threads take from
a shared counter, so a slow chunk (a busy core, an image with more border
pixels, a file that decodes slowly) does not hold the whole batch back, as
static ``n / threads`` slices did. The calling thread works too, and with one
thread there is no pool round-trip at all. The warp goes further
(:func:`run_shared`): its kernel takes chunks from a counter itself, and its
helper threads (:class:`_Team`) stay awake for a moment after each batch, so
that the next batch does not wait for a sleeping thread. Two pools: ``"kernel"`` for pixel
work and ``"io"`` for file decoding, so a thread blocked on a slow disk never
holds a slot the warp needs. Tasks submitted here are leaves (they never submit
again), so callers from any number of threads, including other pools' workers,
cannot deadlock them.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from fastaug._validate import check_int

__all__ = ["cpu_count", "default_threads", "producer_threads", "resolve_threads", "run_chunks",
           "run_each", "run_shared", "set_thread_default"]

# Chunks per thread: enough for the fast threads to take over a slow one's
# share, few enough that the per-call overhead (tens of microseconds for a
# kernel call with its buffers) stays small next to the work.
_CHUNKS_PER_THREAD = 4

_lock = threading.Lock()
_pools: dict[str, tuple[ThreadPoolExecutor, int]] = {}


def cpu_count() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


# Per-thread default for ``num_threads=None``: a stream's producer thread sets it
# so that the batches it makes leave cores for the consumer.
_local = threading.local()


def default_threads() -> int:
    """What ``num_threads=None`` means on this thread.

    All usable cores, except on a background producer thread of
    ``fastaug.stream`` (``prefetch()``, ``batches(prefetch=...)``, the adapters),
    where it is :func:`producer_threads` of that stream.
    """
    n = getattr(_local, "default", None)
    return cpu_count() if n is None else n


def producer_threads(workers: int) -> int:
    """Kernel threads per background producer: ``workers * t <= cores - 1``, ``t >= 1``.

    The consumer (a training step) runs at the same time as the producers; giving
    both all the cores made prefetching slower than no prefetching at all.
    """
    return max(1, (cpu_count() - 1) // max(1, workers))


def set_thread_default(n: int | None) -> None:
    """Set (or with None clear) :func:`default_threads` for the calling thread."""
    _local.default = None if n is None else check_int("n", n, low=1)


def resolve_threads(num_threads: int | None, name: str = "num_threads") -> int:
    """Validate a ``num_threads`` argument; ``None`` means :func:`default_threads`."""
    if num_threads is None:
        return default_threads()
    return check_int(name, num_threads, low=1)


def _get_pool(kind: str) -> ThreadPoolExecutor:
    pid = os.getpid()
    with _lock:
        entry = _pools.get(kind)
        # A pool inherited through fork has no threads behind it: make a new one.
        if entry is None or entry[1] != pid:
            pool = ThreadPoolExecutor(max_workers=max(cpu_count(), 2) * 2,
                                      thread_name_prefix=f"fastaug-{kind}")
            _pools[kind] = entry = (pool, pid)
        return entry[0]


def run_chunks(func: Callable[[int, int], None], n: int, num_threads: int, *,
               chunk: int | None = None, pool: str = "kernel") -> None:
    """Call ``func(start, stop)`` over chunks of ``range(n)`` on ``num_threads`` threads.

    Chunks (``chunk`` items each; by default about four per thread) are handed
    out in increasing order from a shared counter. Every started chunk has
    finished when this returns or raises, so nothing keeps writing into the
    caller's buffers afterwards; after a failure no new chunk is started, and
    the error of the lowest failing chunk is raised.

    Examples
    --------
    >>> from fastaug._pool import run_chunks
    >>> seen = []
    >>> run_chunks(lambda a, b: seen.extend(range(a, b)), 10, num_threads=2)
    >>> sorted(seen) == list(range(10))
    True
    """
    if n <= 0:
        return
    threads = max(1, min(num_threads, n))
    if chunk is None:
        chunk = -(-n // (threads * _CHUNKS_PER_THREAD))
    chunk = max(1, chunk)
    nchunks = -(-n // chunk)
    if threads == 1 or nchunks == 1:
        func(0, n)
        return
    threads = min(threads, nchunks)
    counter = itertools.count()  # next() on it is atomic under the GIL
    errors: dict[int, BaseException] = {}
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            k = next(counter)
            if k >= nchunks:
                return
            try:
                func(k * chunk, min(n, (k + 1) * chunk))
            except BaseException as exc:
                errors[k] = exc
                stop.set()
                return

    executor = _get_pool(pool)
    futures: list[Future[None]] = [executor.submit(worker) for _ in range(threads - 1)]
    try:
        worker()
    finally:
        # Even on KeyboardInterrupt: no chunk may still be writing after we leave.
        stop.set()
        for f in futures:
            f.result()
    if errors:
        raise errors[min(errors)]


# Polls of a counter per wait without the GIL before the caller falls back to
# short sleeps that also check the helpers for errors (30 us on the Intel test
# machine, where one poll is about a cycle).
_SPINS = 100_000
# Polls by which a helper outlasts its batch, waiting for the next, before it
# sleeps: about 0.3 ms there. The drop-in's own Python between two batches
# (Keras's draws, the matrices) takes about 0.1 ms, which a 30-us wait missed.
_LINGER = 1_000_000


class _Job:
    """One batch handed to the team: its kernel call and who is running it."""

    def __init__(self, run: Callable[..., object], gen: int, helpers: int,
                 lingers: bool) -> None:
        self.run = run
        self.gen = gen
        self.helpers = helpers
        self.lingers = lingers
        self.kernel_publishes = False
        self.lock = threading.Lock()
        self.active = 0
        self.closed = False
        self.errors: list[BaseException] = []

    def enter(self) -> bool:
        with self.lock:
            if self.closed:
                return False
            self.active += 1
            return True

    def leave(self) -> None:
        with self.lock:
            self.active -= 1

    def close(self) -> None:
        """No helper starts this job from now on; wait for those inside it."""
        with self.lock:
            self.closed = True
        while self.active:
            time.sleep(5e-5)


class _Team:
    """Helper threads for shared-counter kernels that stay awake between batches.

    A helper that has just worked polls the generation counter ``gen[1]`` without
    the GIL for a moment (``_LINGER`` polls, about 0.3 ms) before it sleeps on a
    condition. Batches that follow each other closely (a training loop, an
    epoch of ``flow()``) therefore find it awake: it joins within microseconds,
    where waking a sleeping thread costs tens of microseconds on a VM and handing
    the call through an executor about ten more on the caller's side, a sixth of
    a CIFAR-sized batch on two threads. The polling is bounded and runs only
    right after a batch, so an idle process does not spin.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.pid = os.getpid()
        # gen[1]: the generation of the newest job, polled with the chunk-counter
        # kernel (``chunks_done(gen, last + 1, spins)``: "has it passed last?").
        self.gen = np.zeros(2, np.int64)
        self.job: _Job | None = None
        self.busy = threading.Lock()  # one job at a time; other callers use the executor
        self.cond = threading.Condition()
        self.sleeping = 0
        for i in range(size):
            threading.Thread(target=self._loop, args=(i,), daemon=True,
                             name=f"fastaug-team-{i}").start()

    def _loop(self, i: int) -> None:
        from fastaug._kernels.warp import chunks_done

        last = 0
        awake = False
        while True:
            if not (awake and chunks_done(self.gen, last + 1, _LINGER)):
                with self.cond:
                    self.sleeping += 1
                    while int(self.gen[1]) == last:
                        self.cond.wait()
                    self.sleeping -= 1
            job = self.job  # this generation's job or a newer one (set before gen)
            if job is None:
                continue
            last = job.gen
            awake = i < job.helpers
            if not awake or not job.enter():
                continue
            try:
                if job.lingers:
                    # The kernel itself waits for the next batch after its last
                    # chunk (see ``warp_shared``): no second wait here.
                    job.run(self.gen, 0, job.gen, _LINGER)
                    awake = False
                else:
                    job.run()
            except BaseException as exc:  # reported to the caller, not here
                job.errors.append(exc)
            finally:
                job.leave()

    def start(self, run: Callable[..., object], helpers: int, lingers: bool) -> _Job:
        """Publish a job for ``helpers`` helpers (the caller holds ``busy``).

        A lingering kernel announces the job itself, from inside the caller's
        call (``job.kernel_publishes``), when no helper sleeps: the helpers then
        find the GIL free when they see it. A sleeping helper needs the condition's
        notification, so the job is announced here. (A helper that falls asleep
        between the check and the kernel's announcement misses this one batch,
        which the caller then warps alone; the next job wakes it.)
        """
        job = _Job(run, int(self.gen[1]) + 1, helpers, lingers)
        self.job = job
        if lingers and not self.sleeping:
            job.kernel_publishes = True
            return job
        self.gen[1] = job.gen
        if self.sleeping:
            with self.cond:
                self.cond.notify_all()
        return job


_team: _Team | None = None


def _get_team(helpers: int) -> _Team | None:
    """The process's team if it has ``helpers`` helpers and is free, with ``busy`` held."""
    global _team
    team = _team
    if team is None or team.pid != os.getpid():
        with _lock:
            team = _team
            # A team inherited through fork has no threads behind it: make a new one.
            if team is None or team.pid != os.getpid():
                team = _team = _Team(max(1, cpu_count() - 1))
    if helpers > team.size or not team.busy.acquire(blocking=False):
        return None
    return team


def run_shared(run: Callable[..., object], ctrl: Any, nchunks: int, num_threads: int, *,
               pool: str = "kernel", lingers: bool = False) -> None:
    """Run a shared-counter kernel call on ``num_threads`` threads; return when all is done.

    ``run()`` calls a kernel that takes chunks from the counter ``ctrl[0]`` and
    counts finished ones in ``ctrl[1]`` (``fastaug._kernels.warp.warp_shared``).
    The caller takes chunks at once and the helpers join when they wake, so the
    helpers' start-up latency is not waited for; the end is a poll of
    ``ctrl[1]`` without the GIL, not a sleep until a helper returns to Python.
    The helpers are the team's (:class:`_Team`: awake right after a batch), or,
    when another thread's batch holds the team or more threads are asked for
    than the team has, the ``pool`` executor's. Helpers that join after the
    batch is done find no chunk and write nothing. An error in a helper is raised
    here; after an error in the caller every helper that started is waited for,
    so nothing writes afterwards. With ``lingers``, ``run`` also takes the
    team's arguments ``(team, publish, gen, linger)`` (``warp_shared``'s last
    four): the caller's kernel announces the batch and the helpers' kernels wait
    for the next one before they return to Python.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug._pool import run_shared
    >>> ctrl = np.zeros(2, np.int64)
    >>> def run():
    ...     ctrl[0] = ctrl[1] = 1  # a one-chunk "kernel"
    >>> run_shared(run, ctrl, 1, num_threads=2)
    >>> ctrl.tolist()
    [1, 1]
    """
    threads = max(1, min(num_threads, nchunks))
    if threads == 1:
        run()
        return
    team = _get_team(threads - 1)
    if team is None:
        _run_shared_executor(run, ctrl, nchunks, threads, pool)
        return
    try:
        job = team.start(run, threads - 1, lingers)
        try:
            if job.kernel_publishes:
                run(team.gen, 1, 0, 0)
            else:
                run()
        except BaseException:
            job.close()
            raise
        from fastaug._kernels.warp import chunks_done

        try:
            while not chunks_done(ctrl, nchunks, _SPINS):
                if job.errors:
                    break
                time.sleep(2e-5)
        except BaseException:  # Ctrl-C while waiting: nothing may write after we leave
            job.close()
            raise
        if job.errors:
            # A helper failed, perhaps inside a chunk it took: the caller cannot
            # finish that one. Wait for the others, then report the failure.
            job.close()
            raise job.errors[0]
        job.closed = True  # (a late helper may skip it; it would find no chunk anyway)
    finally:
        team.busy.release()


def _run_shared_executor(run: Callable[[], object], ctrl: Any, nchunks: int, threads: int,
                         pool: str) -> None:
    """:func:`run_shared` with the helpers submitted to the ``pool`` executor."""
    futures = [_get_pool(pool).submit(run) for _ in range(threads - 1)]
    try:
        run()
    except BaseException:
        for f in futures:
            # The caller's error is the one raised; a helper's would only repeat it.
            with contextlib.suppress(BaseException):
                f.result()
        raise
    from fastaug._kernels.warp import chunks_done

    while not chunks_done(ctrl, nchunks, _SPINS):
        if all(f.done() for f in futures) and not chunks_done(ctrl, nchunks, 1):
            _raise_first(futures)
            raise RuntimeError(f"{nchunks - int(ctrl[1])} chunks of the batch were never "
                               "finished")
        time.sleep(2e-5)
    # A helper that failed before taking a chunk left the batch whole; its error
    # is still the caller's to see (helpers still asleep are not waited for).
    _raise_first([f for f in futures if f.done()])


def _raise_first(futures: list[Future[Any]]) -> None:
    for f in futures:
        exc = f.exception()
        if exc is not None:
            raise exc


def run_each(fn: Callable[[int], None], n: int, num_threads: int, *,
             pool: str = "io") -> None:
    """Call ``fn(i)`` for every ``i`` in ``range(n)``, one item at a time per thread.

    The error of the lowest failing index is raised (see :func:`run_chunks`).

    Examples
    --------
    >>> from fastaug._pool import run_each
    >>> out = [0] * 5
    >>> run_each(lambda i: out.__setitem__(i, i * i), 5, num_threads=2)
    >>> out
    [0, 1, 4, 9, 16]
    """
    def chunk(a: int, b: int) -> None:
        for i in range(a, b):
            fn(i)

    run_chunks(chunk, n, num_threads, chunk=1, pool=pool)
