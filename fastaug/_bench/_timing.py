"""Timing: one timed call calibrated into samples, and the rotation that interleaves them.

Shared by ``fastaug bench`` and ``bench/compare_warp.py``, so both take their
samples the same way.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Contender", "rotated"]


def rotated(seq: list[Any], k: int) -> list[Any]:
    """``seq`` rotated left by ``k`` places.

    Examples
    --------
    >>> from fastaug._bench import rotated
    >>> rotated([1, 2, 3], 4)
    [2, 3, 1]
    """
    if not seq:
        return []
    k %= len(seq)
    return seq[k:] + seq[:k]


@dataclass
class Contender:
    """One timed call: ``images`` images per call, ``inner`` calls per sample.

    Examples
    --------
    >>> from fastaug._bench import Contender
    >>> c = Contender("noop", lambda: None, images=10)
    >>> c.calibrate(0.001)
    >>> for _ in range(3):
    ...     c.sample()
    >>> len(c.times), c.images_per_s > 0
    (3, True)
    """

    name: str
    run: Callable[[], Any]
    images: int
    inner: int = 1
    times: list[float] = field(default_factory=list)  # seconds per call, one a round

    def sample(self) -> None:
        """Time ``inner`` back-to-back calls and record the per-call time."""
        t0 = time.perf_counter()
        for _ in range(self.inner):
            self.run()
        self.times.append(max(time.perf_counter() - t0, 1e-9) / self.inner)

    def calibrate(self, target_s: float) -> None:
        """Pick ``inner`` so one sample lasts about ``target_s``.

        A single 1-ms call is at the mercy of one scheduler tick on a shared
        machine; batching calls into longer samples keeps each sample's noise
        bounded while still giving many rounds.
        """
        self.run()  # warm: compile / load the Numba cache, fault pages in
        t0 = time.perf_counter()
        self.run()
        dt = max(time.perf_counter() - t0, 1e-6)
        self.inner = max(1, min(1000, round(target_s / dt)))

    @property
    def median(self) -> float:
        """Median seconds per call."""
        return statistics.median(self.times)

    @property
    def images_per_s(self) -> float:
        """Images per second at the median call time."""
        return self.images / self.median

    @property
    def iqr_pct(self) -> float | None:
        """Interquartile range of the per-round times, as % of the median."""
        if len(self.times) < 4:
            return None
        q = statistics.quantiles(self.times, n=4)
        return 100.0 * (q[2] - q[0]) / self.median
