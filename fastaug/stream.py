"""Streaming: ordered background prefetch and a batch function keyed by (seed, epoch, k).

Two layers:

* :class:`Stream` runs a sequence of zero-argument *tasks* (each producing one batch)
  on a small dedicated thread pool, at most ``depth`` tasks ahead of the consumer, and
  yields their results **in order**. Tasks are pulled from their source on the
  consumer's thread, so whatever a task source does when it hands out a task (the
  Keras iterators draw their random numbers there) happens in the same order as the
  synchronous path; only the pixel work runs in the background.
* :func:`batches` / :func:`make_batch` are the native streaming API: batch ``k`` of
  epoch ``e`` is ``augment(x[plan[k * bs:(k + 1) * bs]], rng=(seed, e, k))`` with
  ``plan = numpy.random.default_rng((seed, e)).permutation(n)``. Nothing depends on
  which thread or process makes a batch, or in what order, so :func:`make_batch`
  (a plain picklable function) scales out on Dask, Ray or a PyTorch ``DataLoader``
  and gives the same bytes everywhere.

Threads and cores
-----------------
A batch is itself split over ``fastaug._pool`` threads (``num_threads`` of the
augmenter). With background production the producer and the consumer run at the
same time, so they must not both take every core: on a stream's worker threads,
``num_threads=None`` (the default of ``RandomAffine``, ``ImageDataGenerator`` and
the file loaders) means ``max(1, (cores - 1) // workers)`` threads per worker,
leaving a core to the consumer (:func:`fastaug._pool.producer_threads`), as long
as the consumer's thread itself computes; when its own CPU time between batches
is under a quarter of the wall time (it mostly waits: a GPU step that blocks, a
plain loop), each worker gets ``cores // workers``. When the workers get too
little CPU (another process busy on the cores: on Linux, a worker thread that waits
runnable for over a quarter of its time in tasks), the stream makes its remaining
batches on the consumer's thread, as a synchronous loop would, and the streams
created in the next two seconds start that way (:meth:`Stream._check_starved`). An
explicit ``num_threads`` is used as given. The consumer's own threads (BLAS,
``torch.set_num_threads``, XLA) are the framework's: on a small machine, one BLAS
thread for the consumer (``OPENBLAS_NUM_THREADS=1`` before numpy is imported, or
``threadpoolctl.threadpool_limits(1)``) keeps ``workers * threads + consumer
threads <= cores``; both sides oversubscribed was always slower than no prefetch
in our measurements.

The kernels are serial ``nogil`` Numba functions called from our own threads, so
this is safe with Numba's default threading layer (no ``parallel=True`` code is
entered from two threads).

Shutdown
--------
A stream owns its threads (never daemon threads left to die with the process).
:meth:`Stream.close`, leaving a ``with`` block, exhausting the stream, an exception
(a worker's or ``KeyboardInterrupt`` in the consumer) and garbage collection all
cancel the pending tasks, let running ones finish and join the threads, waiting at
most ``join_timeout`` seconds in all so a finalizer never blocks forever.

Ctrl-C: the consumer waits in slices of 0.1 s, so ``KeyboardInterrupt`` is raised
there within about 0.1 s of the signal (or as soon as the consumer's own
Python-level work lets the interpreter run the handler), then the stream closes
as above. A task still running after ``join_timeout`` (a stuck producer) is left
to finish on its own: its thread is a daemon thread, so it never keeps the
process alive, and nothing waits for its result. The process can therefore exit
within ``join_timeout`` plus interpreter shutdown after Ctrl-C.

Threads and processes: one stream may be read from several threads (each
``next`` hands out one whole batch, in order, under a lock). A stream with
worker threads must be used in the process that created it: after
``os.fork()`` the child has no worker threads, and ``next`` raises
``RuntimeError`` instead of waiting forever.
"""

from __future__ import annotations

import functools
import os
import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as _FutureTimeout
from typing import Any

import numpy as np

from fastaug import _pool
from fastaug._validate import check_int, check_real, check_seed

__all__ = ["Stream", "batches", "epoch_plan", "make_batch", "num_batches"]

# The consumer waits in slices of this many seconds so that a Ctrl-C delivered to
# another thread (Linux may pick any thread) is still handled promptly.
_WAIT_SLICE = 0.1
# Workers whose threads wait for a CPU more than this share of their runnable time
# in tasks, over at least this many tasks and this many ns, are starved
# (Stream._check_starved).
_STARVED_WAIT = 0.25
_STARVED_MIN_TASKS = 2
_STARVED_MIN_NS = 2_000_000
# ... in this many windows of those in a row: one window over the line is a blip
# (on an idle 2-core machine 2 in 10 prefetching epochs had one: 37-41% waiting in
# a window of two batches), a process on the cores shows in every window.
_STARVED_WINDOWS = 2
# For this long after starved workers were seen, new streams start by making
# their batches on the consumer's thread (the next epoch's stream, say); after
# it, one measures again.
_STARVED_MEMORY_S = 2.0
_last_starved = [-_STARVED_MEMORY_S]
# The consumer's CPU use as the last stream ended (Stream._observe_consumer), and
# when: the next stream within this many seconds (the next epoch's) starts from
# it, so producers that were given every core keep them from the first batch on.
_CONSUMER_MEMORY_S = 10.0
_last_consumer = [1.0, -_CONSUMER_MEMORY_S]


def _sched_times() -> tuple[int, int] | None:
    """The calling thread's time on a CPU and time runnable but waiting for one (ns).

    Linux's per-thread scheduler statistics; None where they cannot be read.
    A thread blocked on I/O or a lock counts in neither, so this tells a thread
    without a free core from one that is waiting for something else.
    """
    try:
        with open("/proc/thread-self/schedstat", "rb") as f:
            run, wait = f.read().split()[:2]
        return int(run), int(wait)
    except (OSError, ValueError):
        return None


class _Pool:
    """A fixed set of worker threads fed from one queue, joinable with a deadline.

    ``concurrent.futures.ThreadPoolExecutor.shutdown`` cannot time out, and a
    finalizer that may run at garbage collection must never block forever. The
    threads are daemon threads only so that one stuck in a task that never
    returns cannot keep the process alive after Ctrl-C: every close still joins
    them (up to the stream's ``join_timeout``), and only a task that outlives
    that is left behind.
    """

    def __init__(self, workers: int, name: str) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # The workers' kernel threads, read before each task (the stream adapts it).
        self.share = [_pool.producer_threads(workers)]
        # The workers' time on a CPU and waiting for one in tasks (ns), summed, and
        # the task count (see Stream._check_starved; no lock: a rough measure).
        self.usage = [0, 0, 0]
        self.threads = [threading.Thread(target=self._work,
                                         args=(self._queue, self.share, self.usage),
                                         name=f"{name}-{i}", daemon=True)
                        for i in range(workers)]
        for t in self.threads:
            t.start()

    @staticmethod
    def _work(q: queue.SimpleQueue[Any], share: list[int], usage: list[Any]) -> None:
        # A static method over the queue alone: a worker must hold no reference
        # to the pool or the stream, or garbage collection could never run.
        while True:
            item = q.get()
            if item is None:
                return
            fut, fn = item
            del item
            if fut.set_running_or_notify_cancel():
                _pool.set_thread_default(share[0])
                before = _sched_times()
                try:
                    result = fn()
                except BaseException as exc:
                    fut.set_exception(exc)
                    del exc
                else:
                    fut.set_result(result)
                    del result
                after = _sched_times()
                if before is not None and after is not None:
                    usage[0] += after[0] - before[0]
                    usage[1] += after[1] - before[1]
                    usage[2] += 1
            del fut, fn

    def submit(self, fn: Callable[[], Any]) -> Future[Any]:
        fut: Future[Any] = Future()
        self._queue.put((fut, fn))
        return fut

    def shutdown(self, timeout: float | None) -> None:
        for _ in self.threads:
            self._queue.put(None)
        me = threading.current_thread()
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in self.threads:
            if t is me:
                continue
            if deadline is None:
                t.join()
            else:
                t.join(max(0.0, deadline - time.monotonic()))


_live: weakref.WeakSet[_State] = weakref.WeakSet()
_hook_lock = threading.Lock()
_hook_registered = False


def _close_all_at_exit() -> None:
    for state in list(_live):
        state.close()


def _register_exit_hook() -> None:
    # Interpreter shutdown joins every non-daemon thread *before* atexit (and so
    # weakref.finalize) runs: a stream still referenced at exit (a global, a
    # traceback) would hang the process. threading's own pre-join hook (the one
    # concurrent.futures uses) closes them first.
    global _hook_registered
    with _hook_lock:
        if _hook_registered:
            return
        register = getattr(threading, "_register_atexit", None)
        if register is not None:
            try:
                register(_close_all_at_exit)
            except RuntimeError:  # already shutting down
                return
        _hook_registered = True


class _State:
    """What a stream's finalizer needs, without a reference back to the stream."""

    def __init__(self, workers: int, depth: int, join_timeout: float | None) -> None:
        self.pending: deque[Future[Any]] = deque()
        self.join_timeout = join_timeout
        self.closed = False
        self.pool = None
        if depth > 0:
            _register_exit_hook()
            _live.add(self)
            self.pool = _Pool(workers, "fastaug-stream")

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for fut in self.pending:
            fut.cancel()
        self.pending.clear()
        if self.pool is not None:
            self.pool.shutdown(self.join_timeout)
            self.pool = None


class Stream(Iterator[Any]):
    """Run batch-producing tasks ahead of the consumer on a background thread pool.

    Results come out in task order, at most ``depth`` tasks are queued or running
    beyond the one the consumer is waiting for (bounded memory), and the output is
    exactly what calling the tasks one after another would give.

    Parameters
    ----------
    tasks : iterable of callables
        Zero-argument callables, each producing one batch. The iterable is advanced
        on the consumer's thread, in order, ``depth`` items ahead.
    workers : int
        Background threads (>= 1). Each task may itself use several kernel threads
        (the augmenter's ``num_threads``): see the module notes on splitting cores.
    depth : int
        Tasks submitted ahead of the consumer (>= 0). 0 runs every task on the
        consumer's thread when it is asked for, with no thread at all.
    length : int, optional
        Reported by ``len()`` when given.
    join_timeout : float, optional
        At most this many seconds are spent joining each thread on close.

    Notes
    -----
    An exception raised by a task is re-raised in the consumer, as the original
    exception object (its traceback includes the worker's frames), when the
    consumer reaches that task's batch; the stream is then closed. A
    ``KeyboardInterrupt`` while the consumer waits also closes it. Garbage
    collection of an unclosed stream closes it through ``weakref.finalize``.

    Examples
    --------
    >>> from fastaug.stream import Stream
    >>> tasks = (lambda i=i: i * i for i in range(5))
    >>> with Stream(tasks, workers=2, depth=3) as s:
    ...     list(s)
    [0, 1, 4, 9, 16]
    """

    def __init__(self, tasks: Iterable[Callable[[], Any]], *, workers: int = 1,
                 depth: int = 2, length: int | None = None,
                 join_timeout: float | None = 10.0) -> None:
        workers = check_int("workers", workers, low=1)
        depth = check_int("depth", depth, low=0)
        if length is not None:
            length = check_int("length", length, low=0)
        if join_timeout is not None:
            join_timeout = check_real("join_timeout", join_timeout, low=0.0)
        self._tasks = iter(tasks)
        self._depth = depth
        self._length = length
        self._exhausted = False
        self._state = _State(workers, depth, join_timeout)
        self._finalizer = weakref.finalize(self, self._state.close)
        # One consumer at a time: readers on several threads each get whole,
        # distinct batches, in order of arrival.
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._workers = workers
        # (thread, thread CPU time, wall time) when the last batch was handed out,
        # and a running estimate of the consumer's own CPU use (1: a core).
        self._mark: tuple[int, float, float] | None = None
        load, when = _last_consumer
        self._consumer_load = load if time.monotonic() - when < _CONSUMER_MEMORY_S else 1.0
        if self._state.pool is not None:
            self._state.pool.share[0] = self._share()
        # Set once the workers are seen starved of CPU: the consumer then makes
        # the remaining batches itself (see _check_starved). A stream that starts
        # soon after another one found the cores busy starts that way.
        self._inline = depth > 0 and time.monotonic() - _last_starved[0] < _STARVED_MEMORY_S
        self._usage_mark = (0, 0, 0)
        self._starved_windows = 0

    # -- lifecycle ---------------------------------------------------------------
    def close(self) -> None:
        """Cancel pending tasks, let running ones finish and join the threads."""
        self._exhausted = True
        self._finalizer()

    @property
    def closed(self) -> bool:
        """True once the stream has been closed (or exhausted)."""
        return self._state.closed

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # weakref.finalize would run anyway; calling it here closes as early as
        # possible when the stream is not in a reference cycle.
        fin = getattr(self, "_finalizer", None)
        if fin is not None:
            fin()

    def __len__(self) -> int:
        if self._length is None:
            raise TypeError("this Stream has no length")
        return self._length

    # -- iteration ---------------------------------------------------------------
    def __iter__(self) -> Stream:
        return self

    def _fill(self) -> None:
        state = self._state
        while not self._exhausted and not self._inline and len(state.pending) < self._depth + 1:
            try:
                task = next(self._tasks)
            except StopIteration:
                self._exhausted = True
                break
            assert state.pool is not None
            state.pending.append(state.pool.submit(task))

    def __next__(self) -> Any:
        with self._lock:
            return self._next()

    def _observe_consumer(self) -> None:
        """Give the producers every core while the consumer itself computes little.

        Between two batches the consumer's thread either computes (a training
        step on the CPU: keep a core for it, the default share) or mostly waits
        (for the next batch, or a GPU step that blocks): then the producers may
        use every core. Measured as the consumer thread's CPU time over the wall
        time from one batch to the next, smoothed; a stream that starts within
        ``_CONSUMER_MEMORY_S`` of another's last batch (the next epoch's) starts
        from that measure instead of assuming a busy consumer.
        """
        pool = self._state.pool
        me = threading.get_ident()
        now = (me, time.thread_time(), time.perf_counter())
        mark, self._mark = self._mark, now
        if pool is None or mark is None or mark[0] != me:
            return
        wall = now[2] - mark[2]
        if wall <= 0.0:
            return
        load = min(1.0, (now[1] - mark[1]) / wall)
        self._consumer_load = 0.5 * self._consumer_load + 0.5 * load
        _last_consumer[:] = [self._consumer_load, time.monotonic()]
        pool.share[0] = self._share()

    def _share(self) -> int:
        """Kernel threads per worker for the consumer's measured CPU use."""
        if self._consumer_load < 0.25:
            return max(1, _pool.cpu_count() // self._workers)
        return _pool.producer_threads(self._workers)

    def _check_starved(self) -> None:
        """Make the batches on the consumer's thread once the workers lack CPU.

        A worker running a task normally has a core to itself: it waits for a CPU
        (runnable, not running) for a few percent of its time at most. When another
        process keeps the cores busy it waits about half the time (with a process
        spinning on one of two cores here), and the consumer and the workers then wait
        for each other, each descheduled in turn while holding the GIL: prefetching was
        1.13-1.26x slower than producing and consuming on one thread. Past a quarter, in
        two windows of two batches or more in a row (one such window is a blip an idle
        machine shows now and then), the stream stops handing batches to its workers and
        makes them where they are used, with all cores' threads, as a synchronous loop
        would (the batches are the same either way). Waiting for I/O or a lock is not
        waiting for a CPU, so workers that read files are not mistaken for starved ones.
        Streams created in the next ``_STARVED_MEMORY_S`` seconds start that way too,
        and the first one after that measures again.
        """
        pool = self._state.pool
        if pool is None or self._inline:
            return
        run, wait, tasks = pool.usage
        run0, wait0, tasks0 = self._usage_mark
        if tasks - tasks0 < _STARVED_MIN_TASKS or run - run0 + wait - wait0 < _STARVED_MIN_NS:
            return  # too little to judge: a few tiny tasks are all scheduling noise
        # The last few tasks only: a first one that compiled kernels for seconds
        # must not hide what the machine is like now.
        self._usage_mark = (run, wait, tasks)
        if wait - wait0 <= _STARVED_WAIT * (run - run0 + wait - wait0):
            self._starved_windows = 0
            return
        self._starved_windows += 1
        if self._starved_windows >= _STARVED_WINDOWS:
            self._inline = True
            _last_starved[0] = time.monotonic()

    def _next(self) -> Any:
        state = self._state
        if state.closed:
            raise StopIteration
        if self._depth == 0:
            try:
                return next(self._tasks)()
            except BaseException:  # StopIteration included: the stream is done
                self.close()
                raise
        if os.getpid() != self._pid:
            # The worker threads stayed in the parent: waiting here would hang.
            raise RuntimeError(
                f"this Stream was created in process {self._pid} and is used in process "
                f"{os.getpid()} (a child made by os.fork): its worker threads exist only in "
                "the parent. Create the stream (or call prefetch()/batches()) in the child, "
                "or use prefetch=0 / depth=0 before forking.")
        try:
            self._fill()
            if self._inline and not state.pending:
                try:
                    task = next(self._tasks)
                except StopIteration:
                    self.close()
                    raise
                return task()
            if not state.pending:
                self.close()
                raise StopIteration
            fut = state.pending[0]
            while True:
                try:
                    result = fut.result(timeout=_WAIT_SLICE)
                    break
                except _FutureTimeout:
                    continue
                except CancelledError:
                    # close() from another thread cancelled it: the stream is over.
                    raise StopIteration from None
            if state.pending and state.pending[0] is fut:
                state.pending.popleft()
            self._check_starved()
            # Refill now, so the workers start on the next batch while the
            # consumer works on this one.
            self._fill()
            self._observe_consumer()
        except StopIteration:
            raise
        except BaseException:
            # A worker's exception or a KeyboardInterrupt while waiting: shut the
            # threads down first, then let the exception go to the consumer.
            self.close()
            raise
        return result


# -- native streaming API ------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _cached_plan(n: int, seed: int, epoch: int, shuffle: bool) -> np.ndarray:
    plan = (np.random.default_rng((seed, epoch)).permutation(n) if shuffle
            else np.arange(n))
    plan.flags.writeable = False  # shared by every caller of the cache
    return plan


def epoch_plan(n: int, seed: int, epoch: int, shuffle: bool = True) -> np.ndarray:
    """The sample order of one epoch: a permutation keyed by ``(seed, epoch)``.

    Parameters
    ----------
    n : int
        Number of samples.
    seed, epoch : int
        Non-negative ints.
    shuffle : bool
        False gives ``arange(n)``.

    Returns
    -------
    ndarray of int64, read-only

    Examples
    --------
    >>> from fastaug.stream import epoch_plan
    >>> sorted(epoch_plan(5, seed=0, epoch=1).tolist())
    [0, 1, 2, 3, 4]
    >>> epoch_plan(4, 0, 0, shuffle=False).tolist()
    [0, 1, 2, 3]
    """
    n = check_int("n", n, low=0)
    epoch = check_int("epoch", epoch, low=0)
    return _cached_plan(n, check_seed("seed", seed), epoch, bool(shuffle))


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """Batches in an epoch of ``n`` samples.

    Examples
    --------
    >>> from fastaug.stream import num_batches
    >>> num_batches(10, 4), num_batches(10, 4, drop_last=True)
    (3, 2)
    """
    n = check_int("n", n, low=0)
    batch_size = check_int("batch_size", batch_size, low=1)
    return n // batch_size if drop_last else -(-n // batch_size)


def _check_xy(x: Any, y: Any, augment: Any) -> Any:
    """Validate ``x``, ``y``; return ``y`` as something fancy-indexable."""
    # A list: images of different sizes, or anything the augmenter takes (paths).
    ragged = isinstance(x, (list, tuple)) and len(x) > 0 and augment is not None
    if not ragged and (not hasattr(x, "shape") or not hasattr(x, "__getitem__")
                       or len(x.shape) < 1):
        raise TypeError(f"x must be an array (e.g. numpy or np.memmap), or a list of samples "
                        f"for an augment that takes them, got {type(x)!r}")
    if y is None:
        return None
    if not hasattr(y, "shape"):
        y = np.asarray(y)
    if len(y) != len(x):
        raise ValueError(f"y must have one entry per sample of x: len(x) = {len(x)}, "
                         f"len(y) = {len(y)}")
    return y


def _gather(a: Any, idx: np.ndarray) -> Any:
    if isinstance(a, (list, tuple)):
        # A ragged dataset (images of different sizes): the batch stays a list
        # for a transform that takes one (fastaug.transforms).
        return [a[i] for i in idx.tolist()]
    if _in_memory(a):
        return a[idx]  # one copy, in plan order
    # Gathering in increasing index order reads a memmap sequentially (and is what
    # h5py datasets require); the rows are put back in plan order afterwards.
    order = np.argsort(idx, kind="stable")
    out = np.asarray(a[idx[order]])
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    return out[inv]


def _in_memory(a: Any) -> bool:
    """Whether ``a`` is a numpy array in memory, not a memmap or a view of a file mapping.

    Those are gathered in plan order directly: the sorted gather and the
    reordering copy after it cost a second copy of the batch (about 80 us of a
    1.5 ms CIFAR-sized batch, holding the GIL while the consumer waits for it).
    """
    while isinstance(a, np.ndarray):
        if isinstance(a, np.memmap):
            return False
        a = a.base
    return a is None


def _produce(x: Any, y: Any, augment: Callable[..., Any] | None, idx: np.ndarray,
             seed: int, epoch: int, k: int) -> Any:
    xb = _gather(x, idx)
    if augment is not None:
        xb = augment(xb, rng=(seed, epoch, k))
    return xb if y is None else (xb, _gather(y, idx))


def make_batch(x: Any, y: Any, augment: Callable[..., Any] | None, batch_size: int,
               seed: int, epoch: int, k: int, shuffle: bool = True) -> Any:
    """Batch ``k`` of epoch ``epoch``: a pure, picklable function of its arguments.

    ``idx = epoch_plan(len(x), seed, epoch, shuffle)[k * batch_size:(k + 1) * batch_size]``
    and the result is ``augment(x[idx], rng=(seed, epoch, k))`` (and ``y[idx]``).
    The same arguments give the same bytes in any thread or process, which is what
    scale-out needs (Dask ``client.map``, Ray Data ``map_batches``, PyTorch workers).

    Parameters
    ----------
    x : ndarray or list of ndarray
        Images (a ``np.memmap`` is read batch by batch), or a list of (H, W, C)
        images of different sizes for a :mod:`fastaug.transforms` recipe, or of
        anything ``augment`` takes (such as file paths); the batch is then a list.
    y : array_like or None
        Labels, gathered with the images; None returns the images alone.
    augment : callable or None
        Called as ``augment(images, rng=(seed, epoch, k))``, e.g. a
        :class:`fastaug.RandomAffine`; None only gathers.
    batch_size : int
    seed, epoch, k : int
        Non-negative; ``k < num_batches(len(x), batch_size)``.
    shuffle : bool

    Returns
    -------
    ndarray, or (ndarray, ndarray) when ``y`` is given

    Examples
    --------
    >>> import numpy as np
    >>> import fastaug
    >>> from fastaug.stream import make_batch
    >>> x = np.arange(6 * 4 * 4 * 1, dtype=np.uint8).reshape(6, 4, 4, 1)
    >>> aug = fastaug.RandomAffine(rotation_range=30, num_threads=1)
    >>> bx, by = make_batch(x, np.arange(6), aug, 4, seed=1, epoch=0, k=1)
    >>> bx.shape, len(by)
    ((2, 4, 4, 1), 2)
    >>> again = make_batch(x, np.arange(6), aug, 4, seed=1, epoch=0, k=1)
    >>> bool((again[0] == bx).all())
    True
    """
    y = _check_xy(x, y, augment)
    n = len(x)
    batch_size = check_int("batch_size", batch_size, low=1)
    seed = check_seed("seed", seed)
    epoch = check_int("epoch", epoch, low=0)
    k = check_int("k", k, low=0)
    nb = num_batches(n, batch_size)
    if k >= nb:
        raise ValueError(f"k must be < {nb} (batches per epoch), got {k!r}")
    idx = epoch_plan(n, seed, epoch, shuffle)[k * batch_size:(k + 1) * batch_size]
    return _produce(x, y, augment, idx, seed, epoch, k)


def batches(x: Any, y: Any = None, augment: Callable[..., Any] | None = None,
            batch_size: int = 32, seed: int = 0, epoch: int = 0, *,
            shuffle: bool = True, drop_last: bool = False, prefetch: int = 2,
            workers: int = 1, indices: Iterable[int] | None = None) -> Stream:
    """Augmented batches of one epoch, produced ahead of the consumer.

    Batch ``k`` equals ``make_batch(x, y, augment, batch_size, seed, epoch, k,
    shuffle)`` whatever ``prefetch`` and ``workers`` are.

    Parameters
    ----------
    x, y, augment, batch_size, seed, epoch, shuffle
        As in :func:`make_batch`.
    drop_last : bool
        Skip a last batch smaller than ``batch_size``.
    prefetch : int
        Batches produced ahead (0: synchronous, no threads).
    workers : int
        Background threads. Set the augmenter's ``num_threads`` so that
        ``workers * num_threads`` plus the consumer's threads fit the cores.
    indices : iterable of int, optional
        Only these batch indices, in this order (e.g. one worker's share).

    Returns
    -------
    Stream
        Iterable with ``len()``; use it in a ``with`` block or ``close()`` it when
        stopping early (garbage collection also closes it).

    Examples
    --------
    >>> import numpy as np
    >>> import fastaug
    >>> from fastaug.stream import batches, make_batch
    >>> x = np.random.default_rng(0).integers(0, 256, (10, 8, 8, 3), dtype=np.uint8)
    >>> aug = fastaug.RandomAffine(rotation_range=20, horizontal_flip=True, num_threads=1)
    >>> with batches(x, np.arange(10), aug, batch_size=4, seed=3, epoch=2) as s:
    ...     out = list(s)
    >>> len(out), out[-1][0].shape
    (3, (2, 8, 8, 3))
    >>> bool((out[1][0] == make_batch(x, np.arange(10), aug, 4, 3, 2, 1)[0]).all())
    True
    """
    y = _check_xy(x, y, augment)
    if augment is not None and not callable(augment):
        raise TypeError(f"augment must be callable or None, got {augment!r}")
    n = len(x)
    batch_size = check_int("batch_size", batch_size, low=1)
    seed = check_seed("seed", seed)
    epoch = check_int("epoch", epoch, low=0)
    prefetch = check_int("prefetch", prefetch, low=0)
    workers = check_int("workers", workers, low=1)
    nb = num_batches(n, batch_size, drop_last)
    if indices is None:
        ks = list(range(nb))
    else:
        ks = [check_int("indices[i]", k, low=0) for k in indices]
        bad = [k for k in ks if k >= nb]
        if bad:
            raise ValueError(f"indices must be < {nb} (batches per epoch), got {bad[0]!r}")
    plan = epoch_plan(n, seed, epoch, shuffle)

    def tasks() -> Iterator[Callable[[], Any]]:
        for k in ks:
            idx = plan[k * batch_size:(k + 1) * batch_size]
            yield functools.partial(_produce, x, y, augment, idx, seed, epoch, k)

    return Stream(tasks(), workers=workers, depth=prefetch, length=len(ks))
