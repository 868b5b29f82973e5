"""The measurement: set up every (size, config, library) cell, then time them in interleaved rounds.

One process, interleaved rounds: every round times every cell once, a cell's
libraries back to back in a rotating order, so load from other processes lands
on all of them alike. :func:`measure` returns the JSON-ready report that
``fastaug._bench._report`` renders.
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from fastaug._bench import _machine, _transforms
from fastaug._bench._libraries import INSTALL_HINTS, LARGE_PIXELS, RUNNERS, Skip, make_setup
from fastaug._bench._timing import Contender, rotated

__all__ = ["Cell", "Progress", "measure"]


@dataclass
class Cell:
    """One (image size, config) group of rows: the libraries timed on it."""

    size: tuple[int, int, int]
    batch: int
    config: str
    contenders: dict[str, Contender] = field(default_factory=dict)

    @property
    def label(self) -> str:
        h, w, c = self.size
        return f"{h}x{w}x{c}"


class Progress:
    """A one-line ``\\r`` progress display on stderr.

    On a terminal the line is rewritten in place; into a file or pipe only each
    new phase gets a line, so logs stay readable.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = enabled and sys.stderr.isatty()
        self.width = 0
        self.phase = ""

    def show(self, phase: str, detail: str = "") -> None:
        if not self.enabled:
            return
        if not self.tty:
            if phase != self.phase:
                sys.stderr.write(f"fastaug bench: {phase}\n")
                self.phase = phase
            return
        text = f"fastaug bench: {phase} {detail}".rstrip()
        sys.stderr.write("\r" + text.ljust(self.width))
        sys.stderr.flush()
        self.width = len(text)

    def done(self) -> None:
        if self.tty and self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()
            self.width = 0


def measure(settings: dict[str, Any], progress: Progress | None = None) -> dict[str, Any]:
    """Set up, calibrate and time every cell; return the JSON-ready report.

    Parameters
    ----------
    settings : dict
        Validated options: ``sizes`` (list of (H, W, C)), ``batch`` (int or None
        for the per-size default), ``threads``, ``competitors``, ``configs``,
        ``rounds``, ``duration`` (seconds of timing to aim for) and ``quick``.
    progress : Progress, optional
        Where to show progress (default: nowhere).

    Returns
    -------
    dict
        ``settings``, ``machine``, ``warnings``, ``results`` (one dict per timed
        row), ``skipped`` (library, size, config, reason) and timings in seconds.

    Examples
    --------
    >>> from fastaug._bench import measure
    >>> rep = measure({"sizes": [(8, 8, 1)], "batch": 2, "threads": 1,
    ...                "competitors": ["cv2"], "configs": ["flips"], "rounds": 1,
    ...                "duration": 0.05, "quick": True})
    >>> [r["library"] for r in rep["results"]][0]
    'fastaug'
    """
    progress = progress or Progress(False)
    libraries = ["fastaug", *settings["competitors"]]
    skipped: list[dict[str, Any]] = []
    missing: dict[str, str] = {}
    cache: dict[Any, Any] = {}
    load_before = _machine.sample_load()
    wall0 = time.perf_counter()

    cells: list[Cell] = []
    for size in settings["sizes"]:
        batch = settings["batch"] or (32 if size[0] * size[1] > LARGE_PIXELS else 128)
        for config in settings["configs"]:
            cell = Cell(size, batch, config)
            progress.show("setting up (data, ZCA fits, imports)", f"{cell.label} {config}")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                setup = make_setup(size, batch, config, settings["threads"],
                                   settings["quick"], cache)
            for lib in libraries:
                if lib in missing:
                    continue
                progress.show(
                    "setting up (data, ZCA fits, imports)", f"{cell.label} {config}: {lib}"
                )
                try:
                    with warnings.catch_warnings():
                        # "zca_whitening overrides featurewise_center": by design here.
                        warnings.simplefilter("ignore", UserWarning)
                        runners = (_transforms.RUNNERS
                                   if config in _transforms.TRANSFORM_CONFIGS else RUNNERS)
                        fn, k = runners[lib](setup)
                except Skip as e:
                    # A missing import is the library's, not the cell's: note it once.
                    if "not installed" in str(e):
                        missing[lib] = str(e)
                        skipped.append({"library": lib, "size": None, "config": None,
                                        "reason": f"{e}; pip install {INSTALL_HINTS[lib]}"})
                    else:
                        skipped.append({"library": lib, "size": cell.label,
                                        "config": config, "reason": str(e)})
                    continue
                cell.contenders[lib] = Contender(lib, fn, k)
            cells.append(cell)

    n_cont = sum(len(c.contenders) for c in cells) or 1
    target = min(0.5, max(0.002, settings["duration"] / (settings["rounds"] * n_cont)))
    for cell in cells:
        for lib, cont in cell.contenders.items():
            progress.show(
                "warming up (Numba cache, first calls)", f"{cell.label} {cell.config}: {lib}"
            )
            cont.calibrate(target)
    setup_s = time.perf_counter() - wall0

    timing0 = time.perf_counter()
    for r in range(settings["rounds"]):
        for cell in rotated(cells, r):
            # A cell's libraries run back to back, so each round compares them
            # within moments of each other; the rotation keeps any one of them
            # from always going first or sitting at the same phase of a periodic
            # background job.
            for cont in rotated(list(cell.contenders.values()), r):
                progress.show(f"round {r + 1}/{settings['rounds']}",
                              f"{cell.label} {cell.config}: {cont.name}")
                cont.sample()
    timing_s = time.perf_counter() - timing0
    progress.done()

    load_after = _machine.sample_load()
    wall = time.perf_counter() - wall0
    others, alerts = _machine.judge_load(load_before, load_after, wall, settings["threads"])

    results = []
    for cell in cells:
        fa = cell.contenders.get("fastaug")
        for lib, cont in cell.contenders.items():
            ips = cont.images_per_s
            results.append({
                "size": cell.label, "batch": cell.batch, "config": cell.config,
                "library": lib, "images_per_s": ips,
                "median_call_s": cont.median, "iqr_pct": cont.iqr_pct,
                "images_per_call": cont.images, "calls_per_sample": cont.inner,
                "samples": len(cont.times),
                "speedup": (fa.images_per_s / ips) if fa is not None else None,
            })
    machine = _machine.machine_notes()
    machine.update(load_before=load_before.load, load_after=load_after.load,
                   other_processes_cores=None if others is None else round(others, 2))
    return {
        "settings": {**settings, "sizes": ["x".join(map(str, s)) for s in settings["sizes"]]},
        "machine": machine, "warnings": alerts, "results": results, "skipped": skipped,
        "setup_s": round(setup_s, 2), "timing_s": round(timing_s, 2), "wall_s": round(wall, 2),
    }
