"""The machine a benchmark ran on: CPU, cores, library versions, BLAS, and the load.

The notes go into the reports; the load samples taken before and after a run
say whether other processes competed with it (:func:`judge_load`).
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fastaug._bench import _optional
from fastaug._pool import cpu_count

__all__ = [
    "BUSY_LOAD",
    "LoadSample",
    "blas_info",
    "cpu_description",
    "judge_load",
    "machine_info",
    "machine_notes",
    "sample_load",
]

# 1-minute load (or CPU used by other processes, in cores) above which the
# report warns that the numbers are unreliable.
BUSY_LOAD = 0.5


def cpu_description() -> str:
    """The CPU model, with family/model and "virtual machine" where Linux says so."""
    cpu = platform.processor() or platform.machine() or "unknown CPU"
    extra: list[str] = []
    try:
        fields: dict[str, str] = {}
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
        cpu = fields.get("model name", cpu)
        # Cloud VMs often print a bare "AMD EPYC": family/model pin the generation.
        if "cpu family" in fields:
            extra.append(f"family {fields['cpu family']} model {fields.get('model', '?')}")
        if "hypervisor" in fields.get("flags", "").split():
            extra.append("virtual machine")
    except OSError:
        pass
    return f"{cpu} ({', '.join(extra)})" if extra else cpu


def machine_info() -> list[str]:
    """Markdown bullet lines: CPU, cores and the versions of the warp contenders."""
    import numba

    import fastaug

    versions = [f"python {platform.python_version()}", f"numpy {np.__version__}",
                f"fastaug {fastaug.__version__}", f"numba {numba.__version__}"]
    for label, mod in (("opencv", "cv2"), ("scipy", "scipy")):
        try:
            versions.append(f"{label} {_optional.import_module(mod).__version__}")
        except ImportError:
            versions.append(f"{label} (not installed)")
    cores = (f"- CPU: {cpu_description()}; {os.cpu_count()} logical cores, "
             f"{cpu_count()} usable by this process")
    return [cores, f"- {', '.join(versions)}"]


def _dist_version(*names: str) -> str | None:
    from importlib import metadata

    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def blas_info() -> dict[str, Any]:
    """numpy's BLAS and its thread count, as far as this process can tell.

    threadpoolctl knows the loaded library and its threads; without it numpy's
    build configuration names the library and the usual environment variables
    say whether its threads were limited.
    """
    env = {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                      "MKL_NUM_THREADS") if k in os.environ}
    info: dict[str, Any] = {"name": "unknown", "version": None, "threads": None, "env": env}
    try:
        tp = _optional.import_module("threadpoolctl")
        for lib in tp.threadpool_info():
            if lib.get("user_api") == "blas":
                info.update(name=lib.get("internal_api", "unknown"),
                            version=lib.get("version"), threads=lib.get("num_threads"))
                return info
    except ImportError:
        pass
    try:
        cfg = np.show_config(mode="dicts")  # numpy >= 2
        blas = cfg["Build Dependencies"]["blas"]
        info.update(name=blas.get("name", "unknown"), version=blas.get("version"))
    except Exception:
        pass
    return info


def machine_notes() -> dict[str, Any]:
    """The machine and library versions, for the report (no optional imports)."""
    import numba

    import fastaug

    versions: dict[str, str | None] = {
        "python": platform.python_version(), "numpy": np.__version__,
        "numba": numba.__version__, "fastaug": fastaug.__version__,
        "scipy": _dist_version("scipy"),
        "opencv": _dist_version("opencv-python-headless", "opencv-python",
                                "opencv-contrib-python", "opencv-contrib-python-headless"),
        "keras": _dist_version("keras"), "jax": _dist_version("jax"),
        "albumentations": _dist_version("albumentations"),
        "torch": _dist_version("torch"), "torchvision": _dist_version("torchvision"),
        "kornia": _dist_version("kornia"),
    }
    return {
        "cpu": cpu_description(),
        "logical_cores": os.cpu_count(),
        "usable_cores": cpu_count(),
        "platform": platform.platform(),
        "versions": {k: v for k, v in versions.items() if v is not None},
        "blas": blas_info(),
    }


def cpu_ticks() -> tuple[float, float] | None:
    """(busy seconds of the whole machine, CPU seconds of this process), or None."""
    try:
        parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        v = [int(p) for p in parts]
        # user nice system idle iowait irq softirq steal: idle and iowait are not busy.
        busy = sum(v[:8]) - v[3] - v[4]
        hz = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    t = os.times()
    return busy / hz, t.user + t.system


def loadavg() -> list[float] | None:
    """The 1/5/15-minute load averages, rounded to 0.01, or None where unknown."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):  # pragma: no cover - not Unix
        return None


@dataclass
class LoadSample:
    """CPU ticks (see :func:`cpu_ticks`) and load averages at one moment."""

    ticks: tuple[float, float] | None
    load: list[float] | None


def sample_load() -> LoadSample:
    """The machine's CPU ticks and load averages now."""
    return LoadSample(cpu_ticks(), loadavg())


def judge_load(before: LoadSample, after: LoadSample, wall: float,
               threads: int) -> tuple[float | None, list[str]]:
    """Other processes' CPU use over a run (in cores, or None) and the warnings it calls for.

    ``wall`` is the run's length in seconds and ``threads`` the threads it used.

    Examples
    --------
    >>> from fastaug._bench._machine import LoadSample, judge_load
    >>> quiet = LoadSample((10.0, 1.0), [0.1, 0.1, 0.1])
    >>> busy = LoadSample((30.0, 2.0), [1.5, 0.5, 0.2])
    >>> others, alerts = judge_load(quiet, busy, wall=10.0, threads=1)
    >>> others, len(alerts)
    (1.9, 1)
    """
    load_before, load_after = before.load, after.load
    others = None
    if before.ticks and after.ticks:
        # CPU used by everything but this process, in cores: our own work raises
        # the load average, so the load alone cannot say whether others were busy.
        others = max(0.0, ((after.ticks[0] - before.ticks[0])
                           - (after.ticks[1] - before.ticks[1])) / max(wall, 1e-9))
    alerts: list[str] = []
    if load_before and load_before[0] > BUSY_LOAD:
        alerts.append(f"the machine was busy at the start (1-min load {load_before[0]:.2f} "
                      f"> {BUSY_LOAD}): absolute numbers are unreliable, ratios less so")
    if others is not None and others > BUSY_LOAD:
        alerts.append(f"other processes used {others:.2f} cores on average during the run "
                      f"(> {BUSY_LOAD}): multi-threaded numbers especially are unreliable")
    elif others is None and load_before and load_after and \
            load_after[0] > load_before[0] + threads + BUSY_LOAD:
        alerts.append(f"the load rose during the run ({load_before[0]:.2f} -> "
                      f"{load_after[0]:.2f}), more than this run explains")
    return others, alerts
