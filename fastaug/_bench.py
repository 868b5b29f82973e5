"""``fastaug bench``: fastaug next to the libraries users would pick instead.

One process, interleaved rounds: every round times every (image size, config,
library) cell once, a cell's libraries back to back in a rotating order, so load
from other processes lands on all of them alike. The report gives the median
images/s per cell, its spread, and fastaug's speed-up (fastaug / library) as a
Markdown table (or JSON with ``--json``), with the machine it ran on.

Configurations (the seed notes):

* ``geometric``: ``ImageDataGenerator(rotation_range=30, width_shift_range=0.1,
  height_shift_range=0.1, zoom_range=0.2, shear_range=0.2, horizontal_flip=True,
  vertical_flip=True, fill_mode="nearest")``, float32 batches.
* ``zca``: the same plus ``zca_whitening=True``, fitted once before timing on the
  same small subset for every library.
* ``flips``: ``horizontal_flip=True, vertical_flip=True``.

Libraries, each only when installed: fastaug's ``ImageDataGenerator.flow``,
Keras's ``ImageDataGenerator.flow``, a per-image ``cv2.warpAffine`` loop,
albumentations (per-image ``Compose``), torchvision transforms v2 (per image:
a batched call shares one random draw) and Keras's per-channel
``scipy.ndimage.affine_transform`` loop. Libraries without ZCA whiten with the
fitted d x d matrix as one numpy GEMM per batch.

This module also holds the helpers ``bench/compare_warp.py`` and
``bench/_workloads.py`` use (images, matrices, the cv2 and scipy loops, the
timing samples and the machine notes), so both time exactly the same work.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "COMPETITORS",
    "CONFIGS",
    "Contender",
    "add_arguments",
    "main",
    "parse_size",
    "run",
]

SEED = 20240611
# 1-minute load (or CPU used by other processes, in cores) above which the
# report warns that the numbers are unreliable.
BUSY_LOAD = 0.5
COMPETITORS = ("keras", "cv2", "albumentations", "torchvision", "scipy")
CONFIGS = ("geometric", "zca", "flips")
DEFAULT_SIZES = "28x28x1,32x32x3,224x224x3"
# Above this many pixels per image a batch is "large": default batch 32, and the
# slow per-image libraries are timed on a few images per call and scaled.
LARGE_PIXELS = 64 * 64
# Largest d (= H*W*C) for which a d x d ZCA matrix is fitted (Keras) or applied
# (libraries without ZCA): 4096^2 float32 is 64 MiB and an SVD of seconds;
# 224x224x3 would need 84 GiB.
MAX_ZCA_D = 4096
# Images per call for the slow libraries on large images (~10 ms per image each).
FEW_IMAGES = {"keras": 4, "scipy": 4, "torchvision": 8}

GEOMETRIC: dict[str, Any] = {
    "rotation_range": 30, "width_shift_range": 0.1, "height_shift_range": 0.1,
    "zoom_range": 0.2, "shear_range": 0.2, "horizontal_flip": True, "vertical_flip": True,
    "fill_mode": "nearest"}
GENERATOR_KWARGS: dict[str, dict[str, Any]] = {
    "geometric": GEOMETRIC,
    "zca": {**GEOMETRIC, "zca_whitening": True},
    "flips": {"horizontal_flip": True, "vertical_flip": True},
}
LABELS = {
    "fastaug": "fastaug ImageDataGenerator",
    "keras": "Keras ImageDataGenerator",
    "cv2": "OpenCV per-image loop",
    "albumentations": "albumentations Compose",
    "torchvision": "torchvision v2 per image",
    "scipy": "scipy.ndimage per channel",
}
INSTALL_HINTS = {
    "keras": "keras jax", "cv2": "opencv-python-headless", "albumentations": "albumentations",
    "torchvision": "torchvision", "scipy": "scipy",
}
# scipy fill mode -> cv2 border (scipy "reflect" is cv2's BORDER_REFLECT).
CV2_BORDERS = {"reflect": "BORDER_REFLECT", "nearest": "BORDER_REPLICATE",
               "constant": "BORDER_CONSTANT", "mirror": "BORDER_REFLECT_101"}


class Skip(Exception):
    """A library or cell cannot run here; the message says why."""


# Every optional import goes through here, so a test can make one fail.
_import_module = importlib.import_module


# --------------------------------------------------------------------------------------
# Shared helpers (also used by bench/compare_warp.py and bench/_workloads.py)
# --------------------------------------------------------------------------------------

def usable_cores() -> int:
    """Cores this process may run on (its affinity mask)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def make_images(shape: tuple[int, int, int, int], seed: int = SEED) -> np.ndarray:
    """A deterministic uint8 NHWC batch that looks roughly like photos.

    Smooth gradients plus mild texture rather than white noise: the timing does
    not depend on pixel values, but agreement checks do (OpenCV 4.x snaps
    bilinear coordinates to 1/32 pixel, which on white noise shows up as a few
    grey levels; smooth content keeps such checks meaningful).
    """
    n, h, w, c = shape
    rng = np.random.default_rng(seed)
    r = np.arange(h, dtype=np.float32)[None, :, None, None] / h
    col = np.arange(w, dtype=np.float32)[None, None, :, None] / w
    acc = np.full(shape, 128.0, np.float32)
    for _ in range(3):
        fy = rng.uniform(0.5, 3.0, (n, 1, 1, c)).astype(np.float32)
        fx = rng.uniform(0.5, 3.0, (n, 1, 1, c)).astype(np.float32)
        ph = rng.uniform(0, 2 * np.pi, (n, 1, 1, c)).astype(np.float32)
        acc += 35.0 * np.sin(2 * np.pi * (fy * r + fx * col) + ph)
    acc += rng.normal(0.0, 6.0, shape).astype(np.float32)
    return np.clip(acc, 0, 255).astype(np.uint8)


def keras_matrices(n: int, h: int, w: int, seed: int = SEED) -> np.ndarray:
    """Random (N, 2, 3) matrices as Keras's ImageDataGenerator would draw them.

    ImageDataGenerator(rotation_range=30, width_shift_range=0.1,
    height_shift_range=0.1, zoom_range=0.2, shear_range=0.2, horizontal_flip=True,
    vertical_flip=True): Keras draws ``tx`` from height_shift_range scaled by the
    row count and ``ty`` from width_shift_range scaled by the column count, and
    shear in degrees (so 0.2 is a tiny shear, faithfully).
    """
    from fastaug.params import affine_matrices

    rng = np.random.default_rng(seed)
    return affine_matrices(
        h, w,
        theta=rng.uniform(-30.0, 30.0, n),
        tx=rng.uniform(-0.1, 0.1, n) * h,
        ty=rng.uniform(-0.1, 0.1, n) * w,
        shear=rng.uniform(-0.2, 0.2, n),
        zx=rng.uniform(0.8, 1.2, n),
        zy=rng.uniform(0.8, 1.2, n),
        flip_horizontal=rng.random(n) < 0.5,
        flip_vertical=rng.random(n) < 0.5,
    )


def flip_matrices(n: int, h: int, w: int, seed: int = SEED) -> np.ndarray:
    """Random flip-only matrices (each flip a fair coin), as integer float64 arrays."""
    from fastaug.params import affine_matrices

    rng = np.random.default_rng(seed)
    m = affine_matrices(h, w, flip_horizontal=rng.random(n) < 0.5,
                        flip_vertical=rng.random(n) < 0.5)
    # fastaug's exact path needs integer matrices: make sure the builder really
    # produced integers (a -0.0 is fine, 1e-16 is not).
    if not np.array_equal(m, np.round(m)):
        raise AssertionError("flip matrices are not integer-valued")
    return m


def to_cv2_matrix(m: np.ndarray) -> np.ndarray:
    """scipy (row, col) inverse map -> cv2 (x=col, y=row) map for WARP_INVERSE_MAP."""
    return np.array([[m[1, 1], m[1, 0], m[1, 2]],
                     [m[0, 1], m[0, 0], m[0, 2]]], dtype=np.float64)


def cv2_loop(images: np.ndarray, mats: np.ndarray, order: int, fill_mode: str,
             flips_only: bool) -> tuple[Callable[[], np.ndarray], np.ndarray]:
    """A zero-argument per-image cv2 loop over the batch, and the uint8 buffer it writes.

    ``cv2.warpAffine`` with ``WARP_INVERSE_MAP`` and the equivalent border; with
    ``flips_only`` a ``cv2.flip`` loop instead, which is what one would write with
    cv2. Matrices are converted and the per-image views built up front, as a fair
    cv2 pipeline would. The caller sets ``cv2.setNumThreads``.
    """
    import cv2

    n, h, w, c = images.shape
    out = np.empty_like(images)
    # cv2 maps a 1-channel image to (H, W): read and write 2-D views.
    srcs = [images[i] if c > 1 else images[i, :, :, 0] for i in range(n)]
    dsts = [out[i] if c > 1 else out[i, :, :, 0] for i in range(n)]
    if flips_only:
        # cv2.flip codes: 1 left-right, 0 top-bottom, -1 both; None is a copy.
        codes: list[int | None] = []
        for m in mats:
            fh, fv = m[1, 1] < 0, m[0, 0] < 0
            codes.append(-1 if fh and fv else 1 if fh else 0 if fv else None)

        def run_flip() -> np.ndarray:
            for s, d, code in zip(srcs, dsts, codes):
                if code is None:
                    np.copyto(d, s)
                else:
                    cv2.flip(s, code, dst=d)
            return out

        return run_flip, out

    cmats = [to_cv2_matrix(m) for m in mats]
    flags = (cv2.INTER_LINEAR if order == 1 else cv2.INTER_NEAREST) | cv2.WARP_INVERSE_MAP
    border = getattr(cv2, CV2_BORDERS[fill_mode])
    size = (w, h)

    def run() -> np.ndarray:
        for s, d, cm in zip(srcs, dsts, cmats):
            cv2.warpAffine(s, cm, size, dst=d, flags=flags, borderMode=border, borderValue=0)
        return out

    # cv2 silently allocates a new array when dst does not fit; then `out` would
    # never be written and the timing would include allocations. Check once.
    res = cv2.warpAffine(srcs[0], cmats[0], size, dst=dsts[0], flags=flags, borderMode=border)
    if not np.shares_memory(res, out):
        raise AssertionError("cv2.warpAffine did not write into the preallocated output")
    return run, out


def scipy_loop(images: np.ndarray, mats: np.ndarray, order: int, fill_mode: str,
               flips_only: bool, count: int | None = None
               ) -> tuple[Callable[[], np.ndarray], np.ndarray, int]:
    """Keras's per-channel scipy loop over the first ``count`` images (default all).

    Returns the call, its float32 output buffer and the number of images one call
    warps. Keras converts each image to float32 and calls
    ``scipy.ndimage.affine_transform`` once per channel; the conversion and the
    stack are part of what it costs, so they are timed. With only flips Keras
    builds no matrix and copies a reversed float32 slice: that is timed instead.
    """
    from scipy import ndimage

    n, h, w, c = images.shape
    k = n if count is None else min(count, n)
    out = np.empty((k, h, w, c), np.float32)
    if flips_only:
        flips = [(m[0, 0] < 0, m[1, 1] < 0) for m in mats[:k]]

        def run_flip() -> np.ndarray:
            for i in range(k):
                x = images[i].astype(np.float32)
                fv, fh = flips[i]
                out[i] = x[::-1 if fv else 1, ::-1 if fh else 1]
            return out

        return run_flip, out, k

    parts = [(mats[i, :, :2].copy(), mats[i, :, 2].copy()) for i in range(k)]

    def run() -> np.ndarray:
        for i in range(k):
            x = images[i].astype(np.float32)
            a, b = parts[i]
            out[i] = np.stack([ndimage.affine_transform(x[..., ch], a, b, order=order,
                                                        mode=fill_mode, cval=0.0)
                               for ch in range(c)], axis=-1)
        return out

    return run, out, k


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
            versions.append(f"{label} {_import_module(mod).__version__}")
        except ImportError:
            versions.append(f"{label} (not installed)")
    cores = (f"- CPU: {cpu_description()}; {os.cpu_count()} logical cores, "
             f"{usable_cores()} usable by this process")
    return [cores, f"- {', '.join(versions)}"]


# --------------------------------------------------------------------------------------
# Machine notes and load
# --------------------------------------------------------------------------------------

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
        tp = _import_module("threadpoolctl")
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
    }
    return {
        "cpu": cpu_description(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable_cores(),
        "platform": platform.platform(),
        "versions": {k: v for k, v in versions.items() if v is not None},
        "blas": blas_info(),
    }


def _cpu_ticks() -> tuple[float, float] | None:
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


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):  # pragma: no cover - not Unix
        return None


# --------------------------------------------------------------------------------------
# Workloads and runners
# --------------------------------------------------------------------------------------

def parse_size(text: str) -> tuple[int, int, int]:
    """Parse ``"HxWxC"`` (or ``"HxW"``, one channel) into ``(H, W, C)``.

    Examples
    --------
    >>> from fastaug._bench import parse_size
    >>> parse_size("32x32x3"), parse_size("28x28")
    ((32, 32, 3), (28, 28, 1))
    """
    parts = text.strip().lower().split("x")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) == 2:
        nums.append(1)
    if len(nums) != 3 or min(nums) < 1 or nums[2] not in (1, 3, 4) or min(nums[:2]) < 2:
        raise ValueError(f"image size must look like HxWxC (e.g. 32x32x3, H, W >= 2, "
                         f"C in 1, 3, 4), got {text!r}")
    return nums[0], nums[1], nums[2]


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


@dataclass
class Setup:
    """What the runners of one cell share: the data, the batch, the fitted ZCA."""

    x: np.ndarray                 # uint8 dataset, NHWC
    y: np.ndarray
    batch: int
    config: str
    threads: int
    quick: bool
    fit_x: np.ndarray | None      # the ZCA fitting subset (zca only)
    zca_w: np.ndarray | None      # d x d float32 whitening matrix, None when d is too big

    @property
    def large(self) -> bool:
        return self.x.shape[1] * self.x.shape[2] > LARGE_PIXELS

    def count(self, library: str) -> int:
        """Images one call of ``library`` handles (a few for slow ones on big images)."""
        return min(self.batch, FEW_IMAGES.get(library, self.batch)) if self.large else self.batch

    def matrices(self, n: int) -> np.ndarray:
        _, h, w, _ = self.x.shape
        if self.config == "flips":
            return flip_matrices(n, h, w)
        return keras_matrices(n, h, w)


def _whitener(setup: Setup, library: str) -> Callable[[np.ndarray], np.ndarray]:
    """The ZCA step of a library without ZCA: one GEMM with Keras's d x d matrix."""
    if setup.config != "zca":
        return lambda b: b
    if setup.zca_w is None:
        raise Skip(f"no d x d ZCA matrix at d = {int(np.prod(setup.x.shape[1:]))} "
                   f"(> {MAX_ZCA_D}); {library} has no other ZCA")
    w = setup.zca_w

    def whiten(b: np.ndarray) -> np.ndarray:
        flat = b.reshape(b.shape[0], -1)
        return (flat @ w).reshape(b.shape)

    return whiten


def _fastaug_runner(setup: Setup) -> tuple[Callable[[], Any], int]:
    from fastaug.keras import ImageDataGenerator

    gen = ImageDataGenerator(**GENERATOR_KWARGS[setup.config], num_threads=setup.threads)
    if setup.config == "zca":
        gen.fit(setup.fit_x)
    it = gen.flow(setup.x, setup.y, batch_size=setup.batch, seed=0)
    return lambda: next(it), setup.batch


def _keras_runner(setup: Setup) -> tuple[Callable[[], Any], int]:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        mod = _import_module("keras.src.legacy.preprocessing.image")
    except ImportError as e:
        raise Skip(f"Keras is not installed ({e})") from None
    d = int(np.prod(setup.x.shape[1:]))
    if setup.config == "zca" and d > MAX_ZCA_D:
        raise Skip(f"Keras's ZCA fit builds a d x d matrix (d = {d}, "
                   f"{d * d * 4 / 2**30:.0f} GiB): not run")
    k = setup.count("keras")
    gen = mod.ImageDataGenerator(**GENERATOR_KWARGS[setup.config])
    if setup.config == "zca":
        gen.fit(setup.fit_x)
    it = gen.flow(setup.x, setup.y, batch_size=k, seed=0)
    return lambda: next(it), k


def _cv2_runner(setup: Setup) -> tuple[Callable[[], Any], int]:
    try:
        cv2 = _import_module("cv2")
    except ImportError as e:
        raise Skip(f"OpenCV is not installed ({e})") from None
    cv2.setNumThreads(setup.threads)
    whiten = _whitener(setup, "OpenCV")
    images = setup.x[: setup.batch]
    loop, out = cv2_loop(images, setup.matrices(setup.batch), 1, "nearest",
                         setup.config == "flips")
    outf = np.empty(out.shape, np.float32)

    def run() -> np.ndarray:
        loop()
        outf[...] = out  # the float32 batch Keras's generators return
        return whiten(outf)

    return run, setup.batch


def _scipy_runner(setup: Setup) -> tuple[Callable[[], Any], int]:
    try:
        _import_module("scipy.ndimage")
    except ImportError as e:
        raise Skip(f"scipy is not installed ({e})") from None
    whiten = _whitener(setup, "scipy")
    k = setup.count("scipy")
    loop, _, k = scipy_loop(setup.x[:k], setup.matrices(k), 1, "nearest",
                            setup.config == "flips")
    return lambda: whiten(loop()), k


def _albumentations_runner(setup: Setup) -> tuple[Callable[[], Any], int]:
    try:
        A = _import_module("albumentations")
        cv2 = _import_module("cv2")
    except ImportError as e:
        raise Skip(f"albumentations is not installed ({e})") from None
    whiten = _whitener(setup, "albumentations")
    flips = [A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5)]
    if setup.config == "flips":
        tf = A.Compose(flips)
    else:
        # Affine defaults to p=0.5 and a constant border: every image gets one
        # here, with Keras's "nearest" fill.
        tf = A.Compose([A.Affine(rotate=(-30, 30), translate_percent=(-0.1, 0.1),
                                 scale=(0.8, 1.2), shear=(-0.2, 0.2),
                                 border_mode=cv2.BORDER_REPLICATE, p=1.0), *flips])
    k = setup.count("albumentations")
    images = setup.x[:k]
    out = np.empty(images.shape, np.float32)

    def run() -> np.ndarray:
        for i in range(k):
            r = tf(image=images[i])["image"]
            out[i] = r.reshape(out.shape[1:])  # cv2 may drop a single channel axis
        return whiten(out)

    return run, k


def _torchvision_runner(setup: Setup) -> tuple[Callable[[], Any], int]:
    try:
        torch = _import_module("torch")
        v2 = _import_module("torchvision.transforms.v2")
    except ImportError as e:
        raise Skip(f"torchvision is not installed ({e})") from None
    torch.set_num_threads(setup.threads)
    whiten = _whitener(setup, "torchvision")
    flips = [v2.RandomHorizontalFlip(), v2.RandomVerticalFlip()]
    if setup.config == "flips":
        tf = v2.Compose(flips)
    else:
        tf = v2.Compose([v2.RandomAffine(30, translate=(0.1, 0.1), scale=(0.8, 1.2),
                                         shear=0.2), *flips])
    k = setup.count("torchvision")
    # CHW uint8 tensors made up front: a torch pipeline would decode to them.
    tensors = [torch.from_numpy(np.ascontiguousarray(im.transpose(2, 0, 1)))
               for im in setup.x[:k]]
    out = np.empty((k, *setup.x.shape[1:]), np.float32)

    def run() -> np.ndarray:
        # One image per call: a batched call shares one random draw.
        for i, t in enumerate(tensors):
            out[i] = tf(t).numpy().transpose(1, 2, 0)
        return whiten(out)

    return run, k


RUNNERS: dict[str, Callable[[Setup], tuple[Callable[[], Any], int]]] = {
    "fastaug": _fastaug_runner,
    "keras": _keras_runner,
    "cv2": _cv2_runner,
    "albumentations": _albumentations_runner,
    "torchvision": _torchvision_runner,
    "scipy": _scipy_runner,
}


# --------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------

class _Progress:
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


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``fastaug bench`` options to ``p`` (the ``bench`` subparser).

    Examples
    --------
    >>> import argparse
    >>> from fastaug._bench import add_arguments
    >>> args = add_arguments(argparse.ArgumentParser()).parse_args(["--quick"])
    >>> args.quick, args.json
    (True, False)
    """
    p.add_argument("--quick", action="store_true",
                   help="3 short rounds on a smaller dataset (a few minutes at most)")
    p.add_argument("--sizes", default=DEFAULT_SIZES,
                   help="comma-separated image sizes HxWxC (default: %(default)s)")
    p.add_argument("--batch", type=int, default=None,
                   help="batch size (default: 128, or 32 above 64x64 pixels)")
    p.add_argument("--threads", type=int, default=None,
                   help="fastaug's num_threads, also cv2.setNumThreads and torch "
                        "(default: all usable cores)")
    p.add_argument("--competitors", default=",".join(COMPETITORS),
                   help="comma-separated libraries to compare with, each run only when "
                        "installed (default: %(default)s)")
    p.add_argument("--configs", default=",".join(CONFIGS),
                   help="comma-separated configurations (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=None,
                   help="interleaved rounds (default 9, quick 3)")
    p.add_argument("--duration", type=float, default=None,
                   help="seconds of timing in total, split across rounds and cells; set-up, "
                        "warm-up and calls longer than their share come on top "
                        "(default 60, quick 15)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--plot", type=Path, default=None, metavar="FILE.png",
                   help="also draw a bar chart of images/s (needs matplotlib)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress line on stderr")
    p.set_defaults(_bench_parser=p)
    return p


def _split(text: str, allowed: Sequence[str], what: str) -> list[str]:
    items = [s.strip().lower() for s in text.split(",") if s.strip()]
    bad = [s for s in items if s not in allowed]
    if bad or not items:
        raise ValueError(f"--{what}: unknown {', '.join(map(repr, bad)) or 'empty list'}; "
                         f"choose from {', '.join(allowed)}")
    return list(dict.fromkeys(items))


def _validate(args: argparse.Namespace) -> dict[str, Any]:
    """Options -> settings, raising ValueError with a message for the user."""
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    if not sizes:
        raise ValueError("--sizes: give at least one HxWxC size")
    competitors = _split(args.competitors, COMPETITORS, "competitors")
    configs = _split(args.configs, CONFIGS, "configs")
    for name in ("batch", "threads", "rounds"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise ValueError(f"--{name} must be >= 1, got {v}")
    if args.duration is not None and not args.duration > 0:
        raise ValueError(f"--duration must be > 0 seconds, got {args.duration}")
    if args.plot is not None:
        try:
            _import_module("matplotlib")
        except ImportError:
            raise ValueError("--plot needs matplotlib: pip install matplotlib") from None
    from fastaug import _pool

    return {
        "sizes": sizes,
        "batch": args.batch,
        "threads": args.threads or _pool.cpu_count(),
        "competitors": competitors,
        "configs": configs,
        "rounds": args.rounds or (3 if args.quick else 9),
        "duration": args.duration or (15.0 if args.quick else 60.0),
        "quick": bool(args.quick),
    }


def _make_setup(size: tuple[int, int, int], batch: int, config: str, threads: int,
                quick: bool, cache: dict[Any, Any]) -> Setup:
    h, w, c = size
    d = h * w * c
    large = h * w > LARGE_PIXELS
    fit_n = 200 if quick else 500
    n = max(2 * batch, 16) if large else max(4 * batch, fit_n if config == "zca" else 0, 16)
    key = (size, n)
    if key not in cache:  # the same data for every config of a size
        cache[key] = make_images((n, h, w, c))
    x = cache[key]
    y = np.arange(n) % 10
    fit_x = zca_w = None
    if config == "zca":
        fit_x = x[:fit_n]
        if d <= MAX_ZCA_D:
            from fastaug.keras import ImageDataGenerator

            g = ImageDataGenerator(zca_whitening=True)
            g.fit(fit_x)
            zca_w = np.ascontiguousarray(g.zca_whitening_matrix, dtype=np.float32)
    return Setup(x, y, batch, config, threads, quick, fit_x, zca_w)


def measure(settings: dict[str, Any], progress: _Progress | None = None) -> dict[str, Any]:
    """Set up, calibrate and time every cell; return the JSON-ready report.

    Parameters
    ----------
    settings : dict
        Validated options: ``sizes`` (list of (H, W, C)), ``batch`` (int or None
        for the per-size default), ``threads``, ``competitors``, ``configs``,
        ``rounds``, ``duration`` (seconds of timing to aim for) and ``quick``.
    progress : _Progress, optional
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
    progress = progress or _Progress(False)
    libraries = ["fastaug", *settings["competitors"]]
    skipped: list[dict[str, Any]] = []
    missing: dict[str, str] = {}
    cache: dict[Any, Any] = {}
    before_ticks, load_before = _cpu_ticks(), _loadavg()
    wall0 = time.perf_counter()

    cells: list[Cell] = []
    for size in settings["sizes"]:
        batch = settings["batch"] or (32 if size[0] * size[1] > LARGE_PIXELS else 128)
        for config in settings["configs"]:
            cell = Cell(size, batch, config)
            progress.show("setting up (data, ZCA fits, imports)", f"{cell.label} {config}")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                setup = _make_setup(size, batch, config, settings["threads"],
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
                        fn, k = RUNNERS[lib](setup)
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

    after_ticks, load_after = _cpu_ticks(), _loadavg()
    wall = time.perf_counter() - wall0
    others = None
    if before_ticks and after_ticks:
        # CPU used by everything but this process, in cores: our own work raises
        # the load average, so the load alone cannot say whether others were busy.
        others = max(0.0, ((after_ticks[0] - before_ticks[0])
                           - (after_ticks[1] - before_ticks[1])) / max(wall, 1e-9))
    alerts: list[str] = []
    if load_before and load_before[0] > BUSY_LOAD:
        alerts.append(f"the machine was busy at the start (1-min load {load_before[0]:.2f} "
                        f"> {BUSY_LOAD}): absolute numbers are unreliable, ratios less so")
    if others is not None and others > BUSY_LOAD:
        alerts.append(f"other processes used {others:.2f} cores on average during the run "
                        f"(> {BUSY_LOAD}): multi-threaded numbers especially are unreliable")
    elif others is None and load_before and load_after and \
            load_after[0] > load_before[0] + settings["threads"] + BUSY_LOAD:
        alerts.append(f"the load rose during the run ({load_before[0]:.2f} -> "
                        f"{load_after[0]:.2f}), more than this run explains")

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
    machine = machine_notes()
    machine.update(load_before=load_before, load_after=load_after,
                   other_processes_cores=None if others is None else round(others, 2))
    return {
        "settings": {**settings, "sizes": ["x".join(map(str, s)) for s in settings["sizes"]]},
        "machine": machine, "warnings": alerts, "results": results, "skipped": skipped,
        "setup_s": round(setup_s, 2), "timing_s": round(timing_s, 2), "wall_s": round(wall, 2),
    }


def _fmt(x: float | None, spec: str, suffix: str = "") -> str:
    return "-" if x is None else f"{x:{spec}}{suffix}"


def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: title, command, machine notes, table, notes."""
    s, m = report["settings"], report["machine"]
    v = m["versions"]
    blas = m["blas"]
    blas_threads = blas["threads"] if blas["threads"] is not None else (
        ", ".join(f"{k}={val}" for k, val in blas["env"].items())
        or "not limited by environment variables (the library's default)")
    lines = [
        f"## fastaug bench: images/s, median of {s['rounds']} interleaved rounds",
        "",
        f"Command: `{report.get('command', 'fastaug bench')}`",
        "",
        (f"- CPU: {m['cpu']}; {m['logical_cores']} logical cores, {m['usable_cores']} usable "
         f"by this process; {m['platform']}"),
        "- " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- BLAS: {blas['name']} {blas['version'] or ''}".rstrip()
        + f"; threads: {blas_threads}",
        f"- threads: fastaug num_threads={s['threads']}, cv2.setNumThreads({s['threads']})",
        (f"- load average (1/5/15 min) before: {' / '.join(map(str, m['load_before'] or []))}; "
         f"after: {' / '.join(map(str, m['load_after'] or []))}; other processes used "
         f"{_fmt(m['other_processes_cores'], '.2f')} cores during the run; set-up "
         f"{report['setup_s']:.0f} s, timing {report['timing_s']:.0f} s"),
    ]
    lines += [f"- **WARNING**: {w}" for w in report["warnings"]]
    lines += [
        "",
        "| images | batch | config | library | images/s | IQR % | fastaug / this |",
        "|---|--:|---|---|--:|--:|--:|",
    ]
    for r in report["results"]:
        few = (f" ({r['images_per_call']} images per call)"
               if r["images_per_call"] < r["batch"] else "")
        ratio = "1.00x (reference)" if r["library"] == "fastaug" else _fmt(r["speedup"], ".2f", "x")
        lines.append(
            f"| {r['size']} | {r['batch']} | {r['config']} | {LABELS[r['library']]}{few} "
            f"| {r['images_per_s']:,.0f} | {_fmt(r['iqr_pct'], '.0f')} | {ratio} |")
    lines += [
        "",
        ("fastaug and Keras: `ImageDataGenerator(...).flow(x, y, batch_size, seed=0)`, one "
        "float32 batch per call (geometric: rotation 30, shifts 0.1, zoom 0.2, shear 0.2, "
        "both flips, fill \"nearest\"; zca: the same plus `zca_whitening=True`, fitted on "
        "the same subset; flips: both flips only). OpenCV: per-image `cv2.warpAffine` "
        "(`cv2.flip` for flips) with pre-drawn matrices, then float32. albumentations: "
        "per-image `Compose([Affine, HorizontalFlip, VerticalFlip])`. torchvision: per-image "
        "v2 `Compose` on uint8 CHW tensors. scipy: Keras's per-channel "
        "`affine_transform` on float32 (Keras's float32 slice flip for flips). Libraries "
        "without ZCA whiten with the d x d matrix, one GEMM per batch. Slow libraries on "
        "large images run a few images per call, scaled to images/s. IQR: spread of the "
        "per-round times."),
    ]
    if report["skipped"]:
        lines += ["", "Skipped:"]
        for sk in report["skipped"]:
            where = f" ({sk['size']} {sk['config']})" if sk["size"] else ""
            lines.append(f"- {LABELS[sk['library']]}{where}: {sk['reason']}")
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> None:
    """Draw images/s per library, grouped by (size, config), as a log-scale bar chart."""
    matplotlib = _import_module("matplotlib")
    matplotlib.use("Agg")
    plt = _import_module("matplotlib.pyplot")

    groups = list(dict.fromkeys((r["size"], r["config"]) for r in report["results"]))
    libs = list(dict.fromkeys(r["library"] for r in report["results"]))
    val = {(r["size"], r["config"], r["library"]): r["images_per_s"] for r in report["results"]}
    width = 0.8 / max(1, len(libs))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(groups) + 2), 4.5))
    for j, lib in enumerate(libs):
        xs = [i + j * width for i, g in enumerate(groups) if (*g, lib) in val]
        ys = [val[(*g, lib)] for g in groups if (*g, lib) in val]
        ax.bar(xs, ys, width, label=LABELS[lib])
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(groups))])
    ax.set_xticklabels([f"{s}\n{c}" for s, c in groups])
    ax.set_yscale("log")
    ax.set_ylabel("images/s (log scale)")
    ax.set_title(f"fastaug bench ({report['machine']['cpu']})", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(args: argparse.Namespace, argv: Sequence[str] | None = None) -> int:
    """Run ``fastaug bench`` with parsed options; print the report; return the exit code.

    ``argv`` is the command line as given (default ``sys.argv[1:]``), shown in the
    report.
    """
    parser = getattr(args, "_bench_parser", None)
    try:
        settings = _validate(args)
    except ValueError as e:
        if parser is not None:
            parser.error(str(e))  # exits 2 with the usage line
        print(f"fastaug bench: error: {e}", file=sys.stderr)
        return 2
    report = measure(settings, _Progress(not args.no_progress))
    shown = list(sys.argv[1:] if argv is None else argv)
    if "bench" in shown:  # called through ``fastaug bench``: show the options only
        shown = shown[shown.index("bench") + 1:]
    report["command"] = " ".join(["fastaug bench", *shown])
    if args.plot is not None:
        plot(report, args.plot)
        report["plot"] = str(args.plot)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(render_markdown(report), end="")
        if args.plot is not None:
            print(f"\nBar chart: {args.plot}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``fastaug bench`` with command-line options ``argv`` (without ``bench``).

    Parameters
    ----------
    argv : sequence of str, optional
        The options (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0, or 2 for bad options (after argparse's message).

    Examples
    --------
    >>> from fastaug._bench import main
    >>> main(["--sizes", "8x8x1", "--batch", "2", "--rounds", "1", "--duration", "0.05",
    ...       "--competitors", "cv2", "--configs", "flips", "--no-progress"])
    ... # doctest: +ELLIPSIS
    ## fastaug bench: ...
    0
    """
    p = add_arguments(argparse.ArgumentParser(prog="fastaug bench", description=__doc__))
    args = p.parse_args(argv)
    return run(args, argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
