"""The shared worker pool that splits one batch over threads.

The kernels are serial ``@njit(nogil=True)`` functions, and parallelism comes from
here rather than Numba's ``parallel=True``: the default pip threading layer
(workqueue) aborts the process when parallel code is entered from two Python
threads at once, and a library must not change Numba's global threading layer.
Tasks submitted here are leaves (they never submit again), so callers from any
number of threads, including other pools' workers, cannot deadlock it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None


def cpu_count() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def resolve_threads(num_threads: int | None, name: str = "num_threads") -> int:
    """Validate a ``num_threads`` argument; ``None`` means all usable cores."""
    if num_threads is None:
        return cpu_count()
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) and not hasattr(
        num_threads, "__index__"
    ):
        raise TypeError(f"{name} must be a positive int or None, got {num_threads!r}")
    n = int(num_threads)
    if n < 1:
        raise ValueError(f"{name} must be >= 1 or None, got {num_threads!r}")
    return n


def _get_pool() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    pid = os.getpid()
    with _lock:
        # A pool inherited through fork has no threads behind it: make a new one.
        if _pool is None or _pool_pid != pid:
            _pool = ThreadPoolExecutor(
                max_workers=max(cpu_count(), 2) * 2, thread_name_prefix="fastaug-kernel"
            )
            _pool_pid = pid
        return _pool


def run_split(func: Callable[[int, int], None], n: int, num_threads: int) -> None:
    """Call ``func(start, stop)`` over contiguous chunks of ``range(n)``.

    The calling thread runs the first chunk itself, so one thread means no pool
    round-trip at all; exceptions from any chunk propagate to the caller after
    every chunk has finished (no work is left running on the caller's buffers).
    """
    k = max(1, min(num_threads, n))
    if k == 1:
        func(0, n)
        return
    bounds = [(i * n) // k for i in range(k + 1)]
    pool = _get_pool()
    futures: list[Future[None]] = [
        pool.submit(func, bounds[i], bounds[i + 1]) for i in range(1, k)
    ]
    first_error: BaseException | None = None
    try:
        func(bounds[0], bounds[1])
    except BaseException as exc:  # noqa: BLE001 - re-raised below
        first_error = exc
    for f in futures:
        try:
            f.result()
        except BaseException as exc:  # noqa: BLE001
            if first_error is None:
                first_error = exc
    if first_error is not None:
        raise first_error
