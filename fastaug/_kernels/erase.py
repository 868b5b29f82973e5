"""Kernels of ``RandomErasing`` and ``GaussianBlur``: one image per loop iteration.

Arrays arrive C-contiguous as ``(N, H, W, C)`` (channels last), uint8 or
float32; every kernel takes a range ``[a, b)`` of images so that callers split
a batch over threads (``fastaug/_pool.py``).

- :func:`erase_fill` sets a box to one value per channel, in place (the
  caller copies the batch first unless it owns it: numpy's copy is a memcpy).
- :func:`blur` is torchvision's ``gaussian_blur_image`` as a separable
  convolution with reflect padding: a horizontal pass into a float32 scratch
  image, then a vertical pass into the output (uint8 rounded half to even, as
  ``round_()``). Rows are processed flattened (``W * C`` values), so the inner
  loops run over contiguous memory and vectorise.
"""

from __future__ import annotations

import numpy as np

from ._jit import helper, kernel


@kernel
def erase_fill(dst, a, b, boxes, apply, fill):
    """Images ``[a, b)`` of ``dst`` where ``apply``: the box set to ``fill[i]``, in place.

    ``boxes``: (N, 4) int64 ``(top, left, height, width)``, inside the image.
    ``fill``: (N, C) of the images' dtype. One row of the box is built once and
    copied into every row (a contiguous copy of ``w * C`` values).
    """
    hgt = dst.shape[1]
    wid = dst.shape[2]
    c = dst.shape[3]
    pattern = np.empty(wid * c, dst.dtype)
    for i in range(a, b):
        if not apply[i]:
            continue
        t, le, h, w = boxes[i, 0], boxes[i, 1], boxes[i, 2], boxes[i, 3]
        m = w * c
        for q in range(w):
            for k in range(c):
                pattern[q * c + k] = fill[i, k]
        img = dst[i].reshape(hgt, wid * c)
        for y in range(t, t + h):
            img[y, le * c:le * c + m] = pattern[:m]


@helper
def _reflect(j, n):
    """torch's ``reflect`` padding index (no edge repeat); ``|j| < n`` assumed."""
    if j < 0:
        return -j
    if j >= n:
        return 2 * (n - 1) - j
    return j


@kernel
def blur(src, dst, a, b, wx, wy, apply, u8):
    """Gaussian blur of images ``[a, b)`` where ``apply`` (else a copy).

    ``wx``: (N, kx) float32 weights along the width, ``wy``: (N, ky) along the
    height; the padding is ``kx // 2`` and ``ky // 2`` (reflect), which must be
    smaller than the width and height.
    """
    h = src.shape[1]
    w = src.shape[2]
    c = src.shape[3]
    kx = wx.shape[1]
    ky = wy.shape[1]
    rx = kx // 2
    ry = ky // 2
    wc = w * c
    tmp = np.empty((h, wc), np.float32)
    row = np.empty((w + 2 * rx) * c, np.float32)
    acc = np.empty(wc, np.float32)
    for i in range(a, b):
        if not apply[i]:
            dst[i] = src[i]
            continue
        x = src[i].reshape(h, wc)
        y = dst[i].reshape(h, wc)
        # Horizontal: a reflect-padded float32 copy of the row, then kx shifted sums.
        for r in range(h):
            for jj in range(w + 2 * rx):
                jsrc = _reflect(jj - rx, w)
                for k in range(c):
                    row[jj * c + k] = np.float32(x[r, jsrc * c + k])
            out = tmp[r]
            wt = wx[i, 0]
            for q in range(wc):
                out[q] = wt * row[q]
            for t in range(1, kx):
                wt = wx[i, t]
                off = t * c
                for q in range(wc):
                    out[q] += wt * row[q + off]
        # Vertical: ky rows of the scratch image, reflected at the top and bottom.
        for r in range(h):
            wt = wy[i, 0]
            src_row = tmp[_reflect(r - ry, h)]
            for q in range(wc):
                acc[q] = wt * src_row[q]
            for t in range(1, ky):
                wt = wy[i, t]
                src_row = tmp[_reflect(r + t - ry, h)]
                for q in range(wc):
                    acc[q] += wt * src_row[q]
            if u8:
                for q in range(wc):
                    v = np.rint(acc[q])
                    if v < 0:
                        v = 0
                    elif v > 255:
                        v = 255
                    y[r, q] = np.uint8(v)
            else:
                for q in range(wc):
                    y[r, q] = acc[q]
