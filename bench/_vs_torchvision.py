"""Shared timing for the bench scripts that compare a fastaug batch call with other libraries.

Every contender runs the same batch, one thread each:

* fastaug: one call on the (N, H, W, C) array;
* torchvision v2: per image, on every CHW tensor of it (made beforehand, not timed);
* albumentations: per image, on every HWC array of it (``tf(image=im)["image"]``);
* ``kornia.augmentation``: one call on the (N, C, H, W) float batch. A uint8 batch
  is converted to float in [0, 1] inside the timed call (kornia works on floats,
  so its users pay that conversion); a float batch is passed as it is.

Each is warmed up and calibrated to about ``budget`` seconds per sample, and the
contenders are timed in alternation (a rotating order) so that a shared machine's
load drifts into all of them; the medians are printed as Markdown table rows with
fastaug's speed-up (the ratio of medians). A library that is not installed is left
out with a note (:func:`optional`).
"""

from __future__ import annotations

import importlib
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["HEADER", "compare", "one_thread", "optional"]

HEADER = ("| transform | batch | library | ms/batch | images/s | fastaug speed-up |\n"
          "|---|---|---|--:|--:|--:|")


def optional(name: str) -> Any:
    """Import module ``name``, or print a note and return None when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        print(f"({name} not installed, its rows are left out: {e})", flush=True)
        return None


def one_thread() -> None:
    """One thread for every library: torch's intra-op pool and OpenCV (albumentations)."""
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass


def _time(fn: Callable[[], Any], repeat: int) -> float:
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t) / repeat


def _contenders(fa: Callable[[np.ndarray], Any], tv: Callable[[Any], Any] | None,
                x: np.ndarray, albu: Callable[..., Any] | None,
                kornia: Callable[[Any], Any] | None) -> dict[str, Callable[[], Any]]:
    runs: dict[str, Callable[[], Any]] = {"fastaug (batch)": lambda: fa(x)}
    if tv is not None or kornia is not None:
        import torch
    if tv is not None:
        tensors = [torch.from_numpy(im.transpose(2, 0, 1).copy()) for im in x]
        runs["torchvision v2 per image"] = lambda: [tv(t) for t in tensors]
    if albu is not None:
        images = list(x)
        runs["albumentations per image"] = lambda: [albu(image=im)["image"] for im in images]
    if kornia is not None:
        batch = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        if x.dtype == np.uint8:
            runs["kornia.augmentation (batch)"] = lambda: kornia(batch.float() / 255)
        else:
            runs["kornia.augmentation (batch)"] = lambda: kornia(batch)
    return runs


def compare(label: str, fa: Callable[[np.ndarray], Any], tv: Callable[[Any], Any] | None,
            x: np.ndarray, rounds: int, budget: float = 0.2, warm: int = 1, *,
            albu: Callable[..., Any] | None = None,
            kornia: Callable[[Any], Any] | None = None) -> dict[str, float]:
    """Time fastaug's ``fa(x)`` against the other contenders given; print table rows.

    Parameters
    ----------
    label : str
        The transform's name, the table's first column.
    fa : callable
        fastaug's batch transform, called on ``x``.
    tv, albu, kornia : callable or None
        torchvision's per-image transform (CHW tensor), albumentations' per-image
        transform (``albu(image=hwc)["image"]``), kornia's batch module (NCHW float
        tensor); None leaves that library out.
    x : ndarray
        The (N, H, W, C) batch every contender gets.
    rounds : int
        Interleaved rounds; the medians are compared.
    budget : float
        Seconds per sample; a sample repeats the call to last about this long.
    warm : int
        fastaug warm-up calls (compiling or loading the cached kernels).

    Returns
    -------
    dict
        fastaug's speed-up (the other's median / fastaug's) per other library.
    """
    runs = _contenders(fa, tv, x, albu, kornia)
    for _ in range(warm):
        fa(x)
    for run in runs.values():
        run()
    reps = {k: max(1, int(budget / max(_time(run, 1), 1e-6))) for k, run in runs.items()}
    times: dict[str, list[float]] = {k: [] for k in runs}
    names = list(runs)
    for r in range(rounds):
        # A rotating order: none of them always runs first or right after another.
        for k in names[r % len(names):] + names[:r % len(names)]:
            times[k].append(_time(runs[k], reps[k]))
    med = {k: statistics.median(v) for k, v in times.items()}
    n, h, w, c = x.shape
    ref = med["fastaug (batch)"]
    for k, t in med.items():
        ratio = "1.00x (reference)" if k == "fastaug (batch)" else f"{t / ref:.2f}x"
        print(f"| {label} | {n}x{h}x{w}x{c} {x.dtype} | {k} | {t * 1e3:.2f} | {n / t:,.0f} "
              f"| {ratio} |", flush=True)
    return {k: t / ref for k, t in med.items() if k != "fastaug (batch)"}
