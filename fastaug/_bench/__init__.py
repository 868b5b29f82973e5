"""``fastaug bench`` and the benchmark helpers the scripts in ``bench/`` share with it.

One job per module:

* ``_command``: the ``fastaug bench`` command (help text, options, their checks, printing).
* ``_measure``: the cells and the interleaved rounds that time them.
* ``_libraries``: the contenders, how each library runs a configuration (and the
  cv2 and scipy loops ``bench/_workloads.py`` uses).
* ``_timing``: one timed call calibrated into samples, and the rotation of rounds.
* ``_data``: the image batches and random matrices every contender gets.
* ``_machine``: CPU, cores, versions, BLAS and the machine's load.
* ``_report``: the Markdown table and the bar chart.
* ``_optional``: the one door for optional imports, which tests can close.

This package re-exports what callers use: the command for ``fastaug.cli`` and
the shared helpers for ``bench/compare_warp.py`` and ``bench/_workloads.py``, so
all of them time exactly the same work.
"""

from __future__ import annotations

from fastaug._bench._command import DESCRIPTION, add_arguments, main, parse_size, run
from fastaug._bench._data import SEED, draw_matrices, flip_matrices, keras_matrices, make_images
from fastaug._bench._libraries import (
    COMPETITORS,
    CONFIGS,
    CV2_BORDERS,
    cv2_loop,
    scipy_loop,
    to_cv2_matrix,
)
from fastaug._bench._machine import BUSY_LOAD, machine_info, machine_notes
from fastaug._bench._measure import measure
from fastaug._bench._report import render_markdown
from fastaug._bench._timing import Contender, rotated

__all__ = [
    "BUSY_LOAD",
    "COMPETITORS",
    "CONFIGS",
    "CV2_BORDERS",
    "DESCRIPTION",
    "SEED",
    "Contender",
    "add_arguments",
    "cv2_loop",
    "draw_matrices",
    "flip_matrices",
    "keras_matrices",
    "machine_info",
    "machine_notes",
    "main",
    "make_images",
    "measure",
    "parse_size",
    "render_markdown",
    "rotated",
    "run",
    "scipy_loop",
    "to_cv2_matrix",
]
