"""The package's JIT policy: every kernel is compiled through :func:`kernel`.

One place decides how Numba compiles fastaug's kernels:

- ``nogil=True``: the callers run kernels on their own threads (``fastaug/_pool.py``).
- Functions that only other kernels call go through :func:`helper`: no wrappers to call
  them from Python, so less to compile.
- ``cache=True`` where Numba can cache: compiled machine code is written next to
  the sources (``__pycache__``) or to the user's cache directory
  (``NUMBA_CACHE_DIR``, else ``~/.cache/numba``), so only the first process
  compiles.
- Where Numba cannot cache (a read-only install with an unwritable home and no
  ``NUMBA_CACHE_DIR``: containers, system packages, CI sandboxes), Numba's
  ``cache=True`` raises ``RuntimeError: cannot cache function ...: no locator
  available`` when the module is imported. :func:`kernel` then compiles the
  function uncached instead, and warns once: everything works, but every process
  pays the compile time again. Setting ``NUMBA_CACHE_DIR`` to a writable
  directory restores caching; the package never changes Numba's configuration
  itself.

Numba keys a cached kernel to the source file of the function it compiles, not
to the files it calls into: ``warp.py``'s kernels inline the intrinsics of
``lanes.py``, so ``warp.py`` records a digest of ``lanes.py``
(``warp.LANES_DIGEST``) that a test compares. Editing ``lanes.py`` without
updating that line fails the suite, and updating it edits ``warp.py``, which is
what invalidates the stale cache entries.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import Any

from numba import njit

__all__ = ["CacheUnavailableWarning", "helper", "kernel", "uncached"]


class CacheUnavailableWarning(RuntimeWarning):
    """Numba found nowhere to cache fastaug's kernels: they compile in every process."""


_lock = threading.Lock()
_warned = False
# Qualified names of the functions compiled without a cache (for tests and reports).
uncached: list[str] = []


def _no_locator(err: RuntimeError) -> bool:
    return "no locator available" in str(err)


def _warn_once() -> None:
    global _warned
    with _lock:
        if _warned:
            return
        _warned = True
    warnings.warn(
        "fastaug: Numba cannot cache compiled kernels here (the package directory and the "
        "user cache directory are not writable, and NUMBA_CACHE_DIR is not set), so every "
        "process compiles them again (a few seconds on the first batch). Set NUMBA_CACHE_DIR "
        "to a writable directory to cache them.",
        CacheUnavailableWarning,
        stacklevel=3,
    )


def kernel(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Compile ``fn`` with ``njit(cache=True, nogil=True, **options)``, uncached if it must.

    Usable bare (``@kernel``) or with Numba options (``@kernel(inline="always")``).
    """

    def decorate(f: Callable[..., Any]) -> Any:
        try:
            return njit(cache=True, nogil=True, **options)(f)
        except RuntimeError as err:
            if not _no_locator(err):
                raise
        _warn_once()
        uncached.append(f"{f.__module__}.{f.__qualname__}")
        return njit(nogil=True, **options)(f)

    if fn is None:
        return decorate
    return decorate(fn)


def helper(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """:func:`kernel` for a function only other kernels call: no CPython or C callback
    wrapper is built for it, one less function per signature to generate and optimise
    (the ImageNet recipe's first call with an empty cache: 11.2 to 10.1 s). Calling
    it from Python raises."""
    return kernel(fn, no_cpython_wrapper=True, no_cfunc_wrapper=True, **options)
