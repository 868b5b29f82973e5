"""The batch engine behind ``fastaug.keras``: Keras's augmentation on whole batches.

One batch goes: gather (dataset dtype) -> parameters (``_keras_random``) ->
matrices (``fastaug.params``) -> ONE fused ``warp_nhwc`` call straight to the
output dtype (channel shift, brightness and rescale in its epilogue where that is
exact) -> batch standardization (ZCA as one GEMM).

Keras does the same per image with ``scipy.ndimage``; the semantics (order of
operations, clipping, quirks) are Keras's, see ``docs/keras-compatibility.md``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from fastaug import _pool
from fastaug._keras_random import BatchParams
from fastaug.params import affine_matrices
from fastaug.warp import FILL_MODES, warp_nhwc

__all__ = ["transform_batch", "standardize_batch", "brightness_numpy",
           "SCIPY_ONLY_FILL_MODES"]

# scipy.ndimage modes Keras accepts that the fused kernel does not implement.
SCIPY_ONLY_FILL_MODES = ("grid-constant", "grid-wrap", "grid-mirror")

_NOT_FIT = ("This ImageDataGenerator specifies `{}`, but it hasn't been fit on any "
            "training data. Fit it first by calling `.fit(numpy_data)`.")


def brightness_numpy(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Brightness on float images ``x`` (n, ...) by factors ``b`` (n,), in place.

    Keras routes brightness through an 8-bit PIL image (truncated, rounded, data
    in [0, 1] collapses to 0). fastaug multiplies and clips to the image's valid
    range instead: [0, 1] when the image lies in [0, 1], [0, 255] when it lies in
    [0, 255]; otherwise (e.g. already centred data) Keras's own rule without the
    quantisation: ``min + clip((x - min) * b, 0, max - min)``.
    """
    n = x.shape[0]
    if n == 0:
        return x
    flat = x.reshape(n, -1)
    mn = flat.min(axis=1)
    mx = flat.max(axis=1)
    bb = np.asarray(b, np.float64).reshape(n, 1).astype(x.dtype)
    in01 = (mn >= 0) & (mx <= 1)
    in255 = (mn >= 0) & (mx <= 255)
    for i in range(n):
        row = flat[i]
        if in01[i] or in255[i]:
            row *= bb[i]
            np.clip(row, 0, 1 if in01[i] else 255, out=row)
        else:
            row -= mn[i]
            row *= bb[i]
            np.clip(row, 0, mx[i] - mn[i], out=row)
            row += mn[i]
    return x


def _scipy_warp(src: np.ndarray, mats: np.ndarray, order: int, mode: str,
                cval: float) -> np.ndarray:
    """Keras's own per-channel scipy path, for orders/modes the kernel lacks."""
    try:
        from scipy import ndimage
    except ImportError as exc:  # pragma: no cover - scipy is in the test extra
        raise ValueError(
            f"interpolation_order={order!r} / fill_mode={mode!r} need scipy "
            "(the fused kernel does orders 0-1 and modes "
            f"{list(FILL_MODES)}); install scipy or use a supported value") from exc
    n, h, w, c = src.shape
    out = np.empty((n, h, w, c), np.float32)
    x = src.astype(np.float32, copy=False)
    for i in range(n):
        m = mats[i].reshape(2, 3)
        for ch in range(c):
            out[i, :, :, ch] = ndimage.affine_transform(
                x[i, :, :, ch], m[:, :2], m[:, 2], order=order, mode=mode, cval=cval)
    return out


def _channel_shift_numpy(x: np.ndarray, shifts: np.ndarray) -> None:
    # Keras: add to every channel, clip to the warped image's own range.
    n = x.shape[0]
    flat = x.reshape(n, -1)
    mn = flat.min(axis=1, keepdims=True)
    mx = flat.max(axis=1, keepdims=True)
    flat += shifts.reshape(n, 1).astype(x.dtype)
    np.clip(flat, mn, mx, out=flat)


def transform_batch(
    gen: Any,
    batch: np.ndarray,
    params: BatchParams,
    *,
    out_dtype: np.dtype,
    scale: float | None = None,
    index: np.ndarray | None = None,
) -> np.ndarray:
    """Keras's ``apply_transform`` on every image of ``batch``, in one kernel call.

    ``batch`` is (N, ...) in ``gen.data_format``, any real dtype (uint8 and float32
    go to the kernel as they are; others are converted per batch). ``scale`` is
    fused into the kernel's epilogue (Keras applies ``rescale`` later, in
    ``standardize``; a product commutes with the warp and comes after the shift
    and brightness in both). Returns a fresh array of ``out_dtype`` (uint8 or
    float32) in ``gen.data_format``.
    """
    cf = gen.data_format == "channels_first"
    # The kernel reads images straight out of a C-contiguous uint8/float32
    # dataset (a memmap too) through ``index``; anything else is gathered here.
    gather_in_kernel = (index is not None and not cf and batch.flags.c_contiguous
                        and batch.dtype in (np.uint8, np.float32))
    if index is not None and not gather_in_kernel:
        batch = batch[index]
        index = None
    src = batch.transpose(0, 2, 3, 1) if cf else batch
    if src.dtype != np.uint8 and src.dtype != np.float32:
        src = src.astype(np.float32)
    src = np.ascontiguousarray(src)
    n = src.shape[0] if index is None else len(index)
    h, w, c = src.shape[1:]
    mats = affine_matrices(h, w, params.theta, params.tx, params.ty, params.shear,
                           params.zx, params.zy, params.flip_horizontal,
                           params.flip_vertical)
    mats = np.ascontiguousarray(mats.reshape(n, 6))
    order = gen.interpolation_order
    mode = gen.fill_mode
    cval = float(gen.cval)
    shifts = params.channel_shift_intensity
    brights = params.brightness
    if shifts is not None:
        shifts = np.ascontiguousarray(np.nan_to_num(shifts, nan=0.0), np.float64)

    kernel_ok = order in (0, 1) and not isinstance(order, bool) and mode in FILL_MODES
    # The kernel clips brightness to one fixed range: right for uint8 sources
    # (the data's valid range is [0, 255]) unless a 'constant' fill brings a
    # value outside it. Float sources get the per-image rule in numpy.
    bright_in_kernel = brights is not None and kernel_ok and src.dtype == np.uint8 and (
        mode != "constant" or 0.0 <= cval <= 255.0)
    post_bright = brights is not None and not bright_in_kernel
    fuse = scale is not None and not post_bright
    dst_dtype = np.dtype(out_dtype)
    if dst_dtype != np.uint8 or post_bright:
        dst_dtype = np.dtype(np.float32)

    if kernel_ok:
        dst = np.empty((n, h, w, c), dst_dtype)
        warp_nhwc(src, dst, mats, order=int(order), mode=FILL_MODES.index(mode), cval=cval,
                  scale=float(scale) if fuse else 1.0, index=index, shifts=shifts,
                  brights=(np.ascontiguousarray(brights, np.float64)
                           if bright_in_kernel else None),
                  bright_range=(0.0, 255.0),
                  num_threads=getattr(gen, "_num_threads", None) or _pool.cpu_count())
    else:
        if mode not in FILL_MODES + SCIPY_ONLY_FILL_MODES:
            raise ValueError(f"fill_mode must be one of "
                             f"{list(FILL_MODES + SCIPY_ONLY_FILL_MODES)}, got {mode!r}")
        dst = _scipy_warp(src if index is None else src[index], mats, int(order), mode, cval)
        if shifts is not None:
            _channel_shift_numpy(dst, shifts)
        if fuse and scale != 1.0:
            dst *= scale
        if dst_dtype == np.uint8:
            dst = np.clip(np.floor(dst + 0.5), 0, 255).astype(np.uint8)
    if post_bright:
        brightness_numpy(dst, brights)
        if scale is not None:
            dst *= scale
    if cf:
        dst = np.ascontiguousarray(dst.transpose(0, 3, 1, 2))
    return dst


def _warn_not_fit(what: str) -> None:
    warnings.warn(_NOT_FIT.format(what), stacklevel=4)


def zca_apply(x: np.ndarray, gen: Any) -> np.ndarray:
    """ZCA-whiten ``x`` (already centred) as ``flat @ W``, one GEMM for the batch.

    A matrix fitted by ``gen.fit`` is applied through ``fastaug.whitening.ZCA``
    (float32 GEMM, factored when the rank is low); a matrix the user assigned to
    ``zca_whitening_matrix`` is applied as Keras does, ``flat @ W``.
    """
    zca = getattr(gen, "_zca", None)
    if zca is not None:
        out = zca.transform(x, rescaled=True)
        return out if out.dtype == x.dtype else out.astype(x.dtype)
    flat = x.reshape(-1, math.prod(x.shape[-3:]))
    return np.reshape(flat @ gen.zca_whitening_matrix, x.shape)


def zca_is_fit(gen: Any) -> bool:
    """Whether ``gen`` has a ZCA transform, without materialising the d x d matrix."""
    return getattr(gen, "_zca", None) is not None or gen.__dict__.get(
        "_zca_matrix", getattr(gen, "zca_whitening_matrix", None)) is not None


def standardize_batch(gen: Any, x: np.ndarray, *, rescaled: bool) -> np.ndarray:
    """Keras's per-image ``standardize`` for every image of a float batch ``x``.

    Per-image statistics (samplewise) are taken per image, exactly as Keras's flow
    does; ``rescaled`` says the kernel already applied ``rescale``. Works in place
    where Keras does; returns the result.
    """
    if gen.preprocessing_function:
        # The user's function expects one image; run Keras's exact per-image chain.
        for i in range(x.shape[0]):
            x[i] = gen.standardize(x[i])
        return x
    if gen.rescale and not rescaled:
        x *= gen.rescale
    axes = tuple(range(1, x.ndim))
    if gen.samplewise_center:
        x -= np.mean(x, axis=axes, keepdims=True)
    if gen.samplewise_std_normalization:
        x /= np.std(x, axis=axes, keepdims=True) + 1e-6
    if gen.featurewise_center:
        if gen.mean is not None:
            x -= gen.mean
        else:
            _warn_not_fit("featurewise_center")
    if gen.featurewise_std_normalization:
        if gen.std is not None:
            x /= gen.std + 1e-6
        else:
            _warn_not_fit("featurewise_std_normalization")
    if gen.zca_whitening:
        if zca_is_fit(gen):
            x = zca_apply(x, gen)
        else:
            _warn_not_fit("zca_whitening")
    return x
