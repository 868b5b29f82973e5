"""The batch engine behind ``fastaug.keras``: Keras's augmentation on whole batches.

One batch goes: gather (dataset dtype) -> parameters (``_random.draw_batch``) ->
``fastaug.warp.warp_params``: ONE fused kernel call straight to the output dtype
(channel shift, brightness and rescale in its epilogue where that is exact) ->
:func:`standardize` on the batch (ZCA as one GEMM). Everything is read from a
:class:`~fastaug.keras._spec.KerasSpec`; the generator object is never seen here.

Keras does the same per image with ``scipy.ndimage``; the semantics (order of
operations, clipping, quirks) are Keras's, see ``docs/keras-compatibility.md``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from fastaug import _pool
from fastaug.keras._random import draw_batch
from fastaug.keras._spec import KerasSpec
from fastaug.params import AffineParams
from fastaug.warp import FILL_MODES, WarpSpec, warp_params
from fastaug.whitening import ZCA

__all__ = ["augment_batch", "brightness_numpy", "fit_statistics", "standardize",
           "transform_batch", "SCIPY_ONLY_FILL_MODES"]

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
    spec: KerasSpec,
    batch: np.ndarray,
    params: AffineParams,
    *,
    out_dtype: np.dtype,
    scale: float | None = None,
    index: np.ndarray | None = None,
) -> np.ndarray:
    """Keras's ``apply_transform`` on every image of ``batch``, in one kernel call.

    ``batch`` is (N, ...) in ``spec.data_format``, any real dtype (uint8 and
    float32 go to the kernel as they are; others are converted per batch).
    ``scale`` is fused into the kernel's epilogue (Keras applies ``rescale``
    later, in ``standardize``; a product commutes with the warp and comes after
    the shift and brightness in both). Returns a fresh array of ``out_dtype``
    (uint8 or float32) in ``spec.data_format``.
    """
    cf = spec.data_format == "channels_first"
    src = batch.transpose(0, 2, 3, 1) if cf else batch
    # The kernel reads images straight out of a uint8/float32 dataset (a memmap
    # too) through ``index`` when its NHWC view is C-contiguous (a channels_first
    # dataset stored NHWC included); anything else is gathered here.
    gather_in_kernel = (index is not None and src.flags.c_contiguous
                        and (src.dtype == np.uint8 or src.dtype == np.float32))
    if index is not None and not gather_in_kernel:
        src = src[index]
        index = None
    if src.dtype != np.uint8 and src.dtype != np.float32:
        src = src.astype(np.float32)
    src = np.ascontiguousarray(src)
    n = src.shape[0] if index is None else len(index)
    h, w, c = src.shape[1:]
    order = spec.interpolation_order
    mode = spec.fill_mode
    cval = float(spec.cval)
    brights = params.brightness

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
        kernel_params = params if not post_bright else _without_brightness(params)
        warp_params(src, kernel_params,
                    WarpSpec(order=int(order), fill_mode=mode, cval=cval,
                             num_threads=_pool.resolve_threads(spec.num_threads)),
                    dst=dst, scale=float(scale) if fuse else 1.0, index=index,
                    value_range=(0.0, 255.0))
    else:
        if mode not in FILL_MODES + SCIPY_ONLY_FILL_MODES:
            raise ValueError(f"fill_mode must be one of "
                             f"{list(FILL_MODES + SCIPY_ONLY_FILL_MODES)}, got {mode!r}")
        mats = params.matrices(h, w).reshape(n, 6)
        dst = _scipy_warp(src if index is None else src[index], mats, int(order), mode, cval)
        if params.channel_shift is not None:
            _channel_shift_numpy(dst, params.channel_shift)
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


def _without_brightness(params: AffineParams) -> AffineParams:
    # Brightness applied after the kernel (numpy's per-image rule) must not also
    # be applied inside it.
    return AffineParams(theta=params.theta, tx=params.tx, ty=params.ty, shear=params.shear,
                        zx=params.zx, zy=params.zy, flip_horizontal=params.flip_horizontal,
                        flip_vertical=params.flip_vertical,
                        channel_shift=params.channel_shift, brightness=None)


def _warn_not_fit(what: str) -> None:
    warnings.warn(_NOT_FIT.format(what), stacklevel=4)


def _whiten(spec: KerasSpec, x: np.ndarray) -> np.ndarray:
    """ZCA-whiten ``x`` (already centred) as ``flat @ W``, one GEMM for the batch.

    A fitted whitener applies its factors (float32 GEMM, factored when the rank
    is low); a matrix the user assigned to ``zca_whitening_matrix`` is applied
    as Keras does, ``flat @ W``.
    """
    if spec.whitener is not None:
        out = spec.whitener.apply_whitening(x)
        return out if out.dtype == x.dtype else out.astype(x.dtype)
    flat = x.reshape(-1, math.prod(x.shape[-3:]))
    return np.reshape(flat @ spec.zca_matrix, x.shape)


def standardize(spec: KerasSpec, x: np.ndarray, *, per_sample: bool,
                rescaled: bool = False) -> np.ndarray:
    """Keras's ``standardize``, in place where Keras works in place; returns the result.

    ``per_sample=False`` is Keras's ``ImageDataGenerator.standardize``: samplewise
    statistics over the whole array (one image, or a batch taken as one).
    ``per_sample=True`` is what Keras's ``flow`` does to each image of a batch:
    statistics per image, and the user's ``preprocessing_function`` called on
    one image at a time. ``rescaled`` says the kernel already applied ``rescale``.
    """
    if spec.preprocessing_function:
        if per_sample:
            # The user's function expects one image: Keras's exact per-image chain.
            for i in range(x.shape[0]):
                x[i] = standardize(spec, x[i], per_sample=False, rescaled=rescaled)
            return x
        x = spec.preprocessing_function(x)
    if spec.rescale and not rescaled:
        x *= spec.rescale
    axes = tuple(range(1, x.ndim)) if per_sample else None
    if spec.samplewise_center:
        x -= np.mean(x, axis=axes, keepdims=True)
    if spec.samplewise_std_normalization:
        x /= np.std(x, axis=axes, keepdims=True) + 1e-6
    if spec.featurewise_center:
        if spec.mean is not None:
            x -= spec.mean
        else:
            _warn_not_fit("featurewise_center")
    if spec.featurewise_std_normalization:
        if spec.std is not None:
            x /= spec.std + 1e-6
        else:
            _warn_not_fit("featurewise_std_normalization")
    if spec.zca_whitening:
        if spec.whitener is not None or spec.zca_matrix is not None:
            x = _whiten(spec, x)
        else:
            _warn_not_fit("zca_whitening")
    return x


def augment_batch(spec: KerasSpec, data: np.ndarray, params: AffineParams, dtype: Any,
                  index: np.ndarray | None = None) -> np.ndarray:
    """Transform and standardize a batch, as Keras's flow does per image.

    With ``index``, ``data`` is the whole dataset and the batch is
    ``data[index]`` (gathered by the kernel itself where it can).
    """
    out_dtype = np.dtype(dtype)
    float_out = out_dtype.kind == "f"
    # rescale is fused into the kernel unless the user's function must see the
    # unscaled image first.
    fuse = bool(spec.rescale) and float_out and not spec.preprocessing_function
    kernel_dtype = np.uint8 if out_dtype == np.uint8 else np.float32
    x = transform_batch(spec, data, params, out_dtype=kernel_dtype,
                        scale=spec.rescale if fuse else None, index=index)
    if x.dtype != out_dtype:
        x = x.astype(out_dtype)
    x = standardize(spec, x, per_sample=True, rescaled=fuse)
    if x.dtype != out_dtype:
        x = x.astype(out_dtype)
    return x


def augmented_chunks(spec: KerasSpec, x: np.ndarray, rounds: int, rs: np.random.RandomState,
                     dtype: Any, chunk: int = 1024) -> Iterator[np.ndarray]:
    """``rounds`` augmented passes over ``x`` in chunks, as Keras's ``fit(augment=True)``.

    Keras rescales a float copy, then augments it; the draws continue one stream
    across chunks and rounds, in Keras's (round, image) order.
    """
    dt = np.dtype(dtype)
    kernel_dtype = np.uint8 if dt == np.uint8 else np.float32
    n = x.shape[0]
    for _ in range(rounds):
        for a in range(0, n, chunk):
            xf = np.array(x[a:a + chunk], dtype=dt)
            if spec.rescale:
                xf *= spec.rescale
            params = draw_batch(spec, xf.shape[0], xf.shape[1:], rs)
            out = transform_batch(spec, xf, params, out_dtype=kernel_dtype)
            yield out if out.dtype == dt else out.astype(dt)


@dataclass(frozen=True)
class FitResult:
    """What ``ImageDataGenerator.fit`` computes: Keras's ``mean``/``std`` and the whitener."""

    mean: np.ndarray | None
    std: np.ndarray | None
    whitener: ZCA | None


def fit_statistics(spec: KerasSpec, x: np.ndarray, *, augment: bool, rounds: int,
                   rs: np.random.RandomState, dtype: Any, zca_epsilon: float) -> FitResult:
    """Keras's ``fit``: featurewise statistics and ZCA, with bounded memory.

    The data are streamed in their own dtype (``rescale`` applied by the fit),
    or, with ``augment``, ``rounds`` augmented chunks at a time.
    """
    if not (spec.featurewise_center or spec.featurewise_std_normalization
            or spec.zca_whitening):
        if augment:  # Keras draws (and discards) the augmentation anyway
            for _ in augmented_chunks(spec, x, rounds, rs, dtype):
                pass
        return FitResult(None, None, None)
    if augment:
        data: Any = augmented_chunks(spec, x, rounds, rs, dtype)
        rescale = None
    else:
        data = x
        rescale = spec.rescale or None
    zca = ZCA(center=bool(spec.featurewise_center),
              std_normalization=bool(spec.featurewise_std_normalization),
              whiten=bool(spec.zca_whitening), epsilon=float(zca_epsilon),
              rescale=rescale, data_format=spec.data_format).fit(data)
    return FitResult(
        mean=zca.mean_ if spec.featurewise_center else None,
        std=zca.std_ if spec.featurewise_std_normalization else None,
        # Centring and std come from the generator's mean / std (which users may
        # reassign, as in Keras); the whitener applies only the whitening.
        whitener=zca if spec.zca_whitening else None,
    )
