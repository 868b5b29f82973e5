"""Shared timing for the bench scripts that compare a fastaug batch call with torchvision per image.

Both sides run the same batch: fastaug as one call on the (N, H, W, C) array,
torchvision v2 on every CHW tensor of it (made beforehand, not timed). Each is
warmed up, calibrated to about ``budget`` seconds per sample, and the two are
timed in alternation so that a shared machine's load drifts into both; the
medians are printed with their ratio.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["compare"]


def _time(fn: Callable[[], Any], repeat: int) -> float:
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t) / repeat


def compare(label: str, fa: Callable[[np.ndarray], Any], tv: Callable[[Any], Any],
            x: np.ndarray, rounds: int, budget: float = 0.2, warm: int = 1) -> float:
    """Time ``fa(x)`` against ``[tv(t) for t in tensors(x)]``; print a line; return the ratio."""
    import torch

    tensors = [torch.from_numpy(im.transpose(2, 0, 1).copy()) for im in x]
    for _ in range(warm):
        fa(x)  # compile / load the cached kernels
    for t in tensors[:8]:
        tv(t)

    def run_fa() -> Any:
        return fa(x)

    def run_tv() -> Any:
        return [tv(t) for t in tensors]

    rep_fa = max(1, int(budget / max(_time(run_fa, 1), 1e-6)))
    rep_tv = max(1, int(budget / max(_time(run_tv, 1), 1e-6)))
    t_fa, t_tv = [], []
    for _ in range(rounds):
        t_fa.append(_time(run_fa, rep_fa))
        t_tv.append(_time(run_tv, rep_tv))
    a, b = float(np.median(t_fa)), float(np.median(t_tv))
    n, h, w, c = x.shape
    print(f"{label}{n}x{h}x{w}x{c} {x.dtype}: fastaug {a * 1e3:8.2f} ms/batch "
          f"({n / a:9.0f} img/s), torchvision v2 per image {b * 1e3:8.2f} ms/batch "
          f"({n / b:7.0f} img/s), speed-up {b / a:5.1f}x", flush=True)
    return b / a
