"""Slow, direct reference for ``fastaug.resample.resized_crop``: one image at a time.

Written from PyTorch's CPU ``interpolate`` (``UpSampleKernel.cpp``: the
``_compute_indices_min_size_weights[_aa]`` and ``_compute_index_ranges_int16_weights``
helpers, ``nearest_idx``) and torchvision v2's ``resized_crop``, in the plainest
form: the padded crop is materialised with ``np.pad``, each axis's resampling is
a dense (out, in) weight matrix built one output index at a time in Python, and
the passes are matrix products (float64; exact integers for uint8).
"""

from __future__ import annotations

import math

import numpy as np

NP_PAD = {"constant": "constant", "edge": "edge", "reflect": "reflect",
          "symmetric": "symmetric"}


def padded_crop(img: np.ndarray, box, mode: str, fill) -> np.ndarray:
    """``img[top:top+bh, left:left+bw]`` of the image padded by ``mode`` (np.pad)."""
    top, left, bh, bw = (int(v) for v in box)
    h, w, c = img.shape
    pt, pb = max(0, -top), max(0, top + bh - h)
    pl, pr = max(0, -left), max(0, left + bw - w)
    if mode == "constant":
        chans = [np.pad(img[:, :, k], ((pt, pb), (pl, pr)), constant_values=fill[k])
                 for k in range(c)]
        padded = np.stack(chans, axis=2)
    else:
        padded = np.pad(img, ((pt, pb), (pl, pr), (0, 0)), mode=NP_PAD[mode])
    return padded[top + pt:top + pt + bh, left + pl:left + pl + bw]


def _filter(x: float, interp: str, a: float) -> float:
    x = abs(x)
    if interp == "bilinear":
        return max(0.0, 1.0 - x)
    if x < 1:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return 0.0


def weight_matrix(n_in: int, n_out: int, interp: str, antialias: bool):
    """Dense (n_out, n_in) float64 weights and PyTorch's ``wt_max`` for this axis."""
    W = np.zeros((n_out, n_in))
    if interp == "nearest":
        s = np.float32(n_in) / np.float32(n_out)
        for i in range(n_out):
            if n_out == n_in:
                k = i
            elif n_out == 2 * n_in:
                k = i // 2
            else:
                k = min(math.floor(np.float32(i) * s), n_in - 1)
            W[i, k] = 1.0
        return W, 1.0
    size = 2 if interp == "bilinear" else 4
    scale = n_in / n_out
    wt_max = 0.0
    if antialias:
        support = size / 2 * scale if scale >= 1 else size / 2
        inv = 1 / scale if scale >= 1 else 1.0
        taps = math.ceil(support) * 2 + 1
        for i in range(n_out):
            center = scale * (i + 0.5)
            lo = max(math.trunc(center - support + 0.5), 0)
            hi = min(math.trunc(center + support + 0.5), n_in)
            hi = min(hi, lo + taps)
            ws = [_filter((x - center + 0.5) * inv, interp, -0.5) for x in range(lo, hi)]
            total = sum(ws)  # left to right, as the C++ loop adds
            if total != 0:
                for x, wv in zip(range(lo, hi), ws):
                    W[i, x] = wv / total
                    wt_max = max(wt_max, wv / total)
        return W, wt_max
    for i in range(n_out):
        real = scale * (i + 0.5) - 0.5
        if interp == "bilinear":
            real = max(real, 0.0)
        idx = min(math.floor(np.float32(real)), n_in - 1)
        lam = min(max(real - idx, 0.0), 1.0)
        first = idx - size // 2 + 1
        for j in range(size):
            x = min(max(first + j, 0), n_in - 1)  # taps past an edge land on it
            W[i, x] += _filter(j + 1 - size // 2 - lam, interp, -0.75)
            wt_max = max(wt_max, W[i, x])
    return W, wt_max


def int_matrix(W: np.ndarray, wt_max: float, interp: str):
    """PyTorch's int16 fixed-point weights (rounded half away from zero) and precision."""
    if interp == "nearest":
        return W.astype(np.int64), 0
    prec = 0
    while prec < 22 and int(0.5 + wt_max * 2 ** (prec + 1)) < 2**15:
        prec += 1
    v = W * 2.0**prec
    return np.where(v < 0, np.trunc(v - 0.5), np.trunc(v + 0.5)).astype(np.int64), prec


def _int_pass(x: np.ndarray, Wi: np.ndarray, prec: int) -> np.ndarray:
    """(rows, in, c) int64 x (out, in) -> (rows, out, c) rounded to uint8 values."""
    acc = np.einsum("oi,ric->roc", Wi, x) + ((1 << prec) >> 1)
    return np.clip(acc >> prec, 0, 255)


def resized_crop_one(img, box, size, *, interpolation="bilinear", antialias=True,
                     hflip=False, vflip=False, padding_mode="constant", fill=None, mul=None,
                     add=None, out_dtype=None, channels_first=False) -> np.ndarray:
    h, w, c = img.shape
    oh, ow = size
    fill = np.zeros(c) if fill is None else np.broadcast_to(np.asarray(fill, float), (c,))
    if img.dtype == np.uint8:
        fill = np.rint(fill)
    crop = padded_crop(img, box, padding_mode, fill)
    bh, bw = crop.shape[:2]
    aa = antialias and interpolation != "nearest"
    if (bh, bw) == (oh, ow):
        v = crop.astype(np.float64)
    else:
        Wy, my = weight_matrix(bh, oh, interpolation, aa)
        Wx, mx = weight_matrix(bw, ow, interpolation, aa)
        if img.dtype == np.uint8:
            Wyi, py = int_matrix(Wy, my, interpolation)
            Wxi, px = int_matrix(Wx, mx, interpolation)
            t = _int_pass(crop.astype(np.int64), Wxi, px)           # rows: horizontal
            v = _int_pass(t.transpose(1, 0, 2), Wyi, py).transpose(1, 0, 2)
            v = v.astype(np.float64)
        else:
            v = np.einsum("oi,ijc,pj->opc", Wy, crop.astype(np.float64), Wx)
    if hflip:
        v = v[:, ::-1]
    if vflip:
        v = v[::-1]
    mul = np.ones(c, np.float32) if mul is None else np.broadcast_to(
        np.asarray(mul, np.float32), (c,))
    add = np.zeros(c, np.float32) if add is None else np.broadcast_to(
        np.asarray(add, np.float32), (c,))
    v = v.astype(np.float32) * mul + add
    odt = np.dtype(out_dtype or img.dtype)
    if odt == np.uint8:
        v = np.clip(np.rint(v), 0, 255)
    v = v.astype(odt)
    return np.ascontiguousarray(v.transpose(2, 0, 1) if channels_first else v)
