"""The contenders: how each library runs an ``ImageDataGenerator`` configuration.

A runner takes the :class:`Setup` shared by one (image size, config) cell and
returns a zero-argument call and the images one call handles, or raises
:class:`Skip`. fastaug's and Keras's ``ImageDataGenerator.flow``, a per-image
``cv2.warpAffine`` loop, albumentations (per-image ``Compose``), torchvision
transforms v2 (per image: a batched call shares one random draw) and Keras's
per-channel ``scipy.ndimage.affine_transform`` loop. Libraries without ZCA
whiten with the fitted d x d matrix as one numpy GEMM per batch. Each is set
up once per cell and called per batch.

The ``fastaug.transforms`` configurations (ops and recipes, also against
kornia) have their runners in ``fastaug._bench._transforms``; they share
:class:`Setup`, :class:`Skip` and :func:`require` from here.

The cv2 and scipy loops are shared with ``bench/_workloads.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fastaug._bench import _optional
from fastaug._bench._data import draw_matrices, make_images

__all__ = [
    "COMPETITORS",
    "CONFIGS",
    "CONFIG_COMPETITORS",
    "CV2_BORDERS",
    "RUNNERS",
    "Setup",
    "Skip",
    "cv2_loop",
    "make_setup",
    "require",
    "scipy_loop",
    "to_cv2_matrix",
]

COMPETITORS = ("keras", "cv2", "albumentations", "torchvision", "scipy", "kornia")
# The ImageDataGenerator configurations (the default run) and the libraries they
# are compared with (the default --competitors for them). The fastaug.transforms
# configurations are in ``_transforms``.
CONFIGS = ("geometric", "zca", "flips")
CONFIG_COMPETITORS = ("keras", "cv2", "albumentations", "torchvision", "scipy")
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
INSTALL_HINTS = {
    "keras": "keras jax", "cv2": "opencv-python-headless", "albumentations": "albumentations",
    "torchvision": "torchvision", "scipy": "scipy", "kornia": "kornia",
}
# scipy fill mode -> cv2 border (scipy "reflect" is cv2's BORDER_REFLECT).
CV2_BORDERS = {"reflect": "BORDER_REFLECT", "nearest": "BORDER_REPLICATE",
               "constant": "BORDER_CONSTANT", "mirror": "BORDER_REFLECT_101"}


class Skip(Exception):
    """A library or cell cannot run here; the message says why."""


def require(library: str, *modules: str) -> list[Any]:
    """Import ``modules`` for ``library``, or raise :class:`Skip` saying it is not installed."""
    try:
        return [_optional.import_module(m) for m in modules]
    except ImportError as e:
        raise Skip(f"{library} is not installed ({e})") from None


# --------------------------------------------------------------------------------------
# The per-image loops (also used by bench/_workloads.py)
# --------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------
# One cell's shared set-up and the runners
# --------------------------------------------------------------------------------------

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
        return draw_matrices(n, h, w, self.config == "flips")


def make_setup(size: tuple[int, int, int], batch: int, config: str, threads: int,
               quick: bool, cache: dict[Any, Any]) -> Setup:
    """The data (from ``cache``, shared by every config of a size) and ZCA fit of one cell."""
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
    (mod,) = require("Keras", "keras.src.legacy.preprocessing.image")
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
    (cv2,) = require("OpenCV", "cv2")
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
    require("scipy", "scipy.ndimage")
    whiten = _whitener(setup, "scipy")
    k = setup.count("scipy")
    loop, _, k = scipy_loop(setup.x[:k], setup.matrices(k), 1, "nearest",
                            setup.config == "flips")
    return lambda: whiten(loop()), k


def _albumentations_runner(setup: Setup) -> tuple[Callable[[], Any], int]:
    A, cv2 = require("albumentations", "albumentations", "cv2")
    cv2.setNumThreads(setup.threads)  # the report says so, also without the cv2 row
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
    torch, v2 = require("torchvision", "torch", "torchvision.transforms.v2")
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


def _kornia_runner(setup: Setup) -> tuple[Callable[[], Any], int]:
    raise Skip("kornia is compared on the fastaug.transforms configs only")


RUNNERS: dict[str, Callable[[Setup], tuple[Callable[[], Any], int]]] = {
    "fastaug": _fastaug_runner,
    "keras": _keras_runner,
    "cv2": _cv2_runner,
    "albumentations": _albumentations_runner,
    "torchvision": _torchvision_runner,
    "scipy": _scipy_runner,
    "kornia": _kornia_runner,
}
