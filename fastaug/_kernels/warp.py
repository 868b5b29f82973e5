"""Fused batch affine warp: one pass over the output of a whole uint8/float32 batch.

Every image has its own inverse matrix (output pixel -> input coordinate). The pass
samples (nearest or bilinear) with scipy.ndimage's boundary modes, then applies the
per-image channel shift and brightness and the cast/rescale to the output dtype.

All arrays arrive C-contiguous and flattened, channels last, so one compiled
signature per (input dtype, output dtype) pair serves every shape and option.
The kernel is serial and releases the GIL: callers parallelise over images with
their own threads (see ``fastaug/_pool.py`` for why not ``parallel=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Fill modes, in the order of fastaug.warp.FILL_MODES.
CONSTANT = 0
NEAREST = 1
REFLECT = 2
WRAP = 3
MIRROR = 4

# Indices masked with this are provably non-negative, which lets LLVM drop Numba's
# negative-index wraparound check from the gather loop (about 40% of its work).
_NONNEG = np.int64(0x7FFFFFFFFFFFFFFF)


@njit(cache=True, nogil=True, inline="always")
def _map_coordinate(x: float, n: int, mode: int) -> float:
    """Bring an out-of-range coordinate into the image as scipy.ndimage does.

    Returns -1.0 for 'constant' outside [0, n-1], which the caller treats as cval.
    Mirrors scipy's ``map_coordinate`` (including its truncating divisions), so
    the sampled position is the same double scipy computes.
    """
    if x < 0.0:
        if mode == CONSTANT:
            return -1.0
        if mode == NEAREST or n <= 1:
            return 0.0
        if mode == MIRROR:
            sz2 = 2 * n - 2
            x = sz2 * float(int(-x / sz2)) + x
            return x + sz2 if x <= 1 - n else -x
        if mode == REFLECT:
            sz2 = 2 * n
            if x < -sz2:
                x = sz2 * float(int(-x / sz2)) + x
            return x + sz2 if x < -n else -x - 1.0
        # WRAP: scipy's legacy wrap has period n - 1.
        sz = n - 1
        return x + sz * float(int(-x / sz) + 1)
    if x > n - 1:
        if mode == CONSTANT:
            return -1.0
        if mode == NEAREST or n <= 1:
            return float(n - 1) if mode == NEAREST else 0.0
        if mode == MIRROR:
            sz2 = 2 * n - 2
            x -= sz2 * float(int(x / sz2))
            return sz2 - x if x >= n else x
        if mode == REFLECT:
            sz2 = 2 * n
            x -= sz2 * float(int(x / sz2))
            return sz2 - x - 1.0 if x >= n else x
        sz = n - 1
        return x - sz * float(int(x / sz))
    return x


@njit(cache=True, nogil=True, inline="always")
def _tap(i: int, n: int, mode: int) -> int:
    """Index of a filter tap that fell one step outside [0, n-1] after mapping.

    After ``_map_coordinate`` a tap is at worst -1 or n. 'mirror' extends
    whole-sample symmetric, the other modes repeat the edge sample (for 'reflect'
    that is its half-sample symmetry; for the rest the tap has zero weight).
    """
    if i < 0:
        if mode == MIRROR and n > 1:
            return 1
        return 0
    if i >= n:
        if mode == MIRROR and n > 1:
            return n - 2
        return n - 1
    return i


@njit(cache=True, nogil=True, inline="always")
def _finish(v: float, shift_on: bool, bright: float, bright_on: bool, lo: float,
            hi: float, scale: float, to_uint8: bool) -> float:
    """Brightness, rescale and the uint8 round/clip, on one value."""
    if bright_on:
        v = min(max(v * bright, lo), hi)
    v = v * scale
    if to_uint8:
        # scipy's own uint8 output rounds half up; match it.
        v = min(max(np.floor(v + np.float32(0.5)), np.float32(0.0)), np.float32(255.0))
    return v


@njit(cache=True, nogil=True)
def warp_batch(src, dst, n0, n1, h, w, c, oh, ow, mats, shifts, shift_on, brights,
               bright_on, lo, hi, order, mode, cval, scale, to_uint8):
    """Warp images ``n0 .. n1-1`` of ``src`` into ``dst`` (both flat, NHWC).

    ``mats`` is (N, 6): row = m0*r + m1*c + m2, col = m3*r + m4*c + m5.
    With ``shift_on``, the warped image goes through a float32 scratch buffer so the
    shift can be clipped to the warped image's own range (Keras's semantics).
    """
    cvalf = np.float32(cval)
    lo = np.float32(lo)
    hi = np.float32(hi)
    scale = np.float32(scale)
    scratch = np.empty(oh * ow * c if shift_on else 1, np.float32)
    himax = h - 1
    wimax = w - 1
    for n in range(n0, n1):
        m0 = mats[n, 0]
        m1 = mats[n, 1]
        m2 = mats[n, 2]
        m3 = mats[n, 3]
        m4 = mats[n, 4]
        m5 = mats[n, 5]
        sbase = n * h * w * c
        dbase = n * oh * ow * c
        bright = np.float32(brights[n])
        vmin = np.inf
        vmax = -np.inf
        for r in range(oh):
            for j in range(ow):
                # Same operations in the same order as scipy, so the coordinate is
                # bit-identical and ties round the same way.
                y = r * m0 + j * m1 + m2
                x = r * m3 + j * m4 + m5
                o = (r * ow + j) * c
                if order == 1 and y >= 0.0 and x >= 0.0 and y < himax and x < wimax:
                    # Hot path: all four taps inside, no mode logic.
                    y0 = int(y)
                    x0 = int(x)
                    fy = np.float32(y - y0)
                    fx = np.float32(x - x0)
                    w11 = fy * fx
                    w10 = fy - w11
                    w01 = fx - w11
                    w00 = np.float32(1.0) - fy - w01
                    p = (sbase + (y0 * w + x0) * c) & _NONNEG
                    q = (p + w * c) & _NONNEG
                    if c == 3:
                        for ch in range(3):
                            v = (w00 * np.float32(src[p + ch]) + w01 * np.float32(src[p + 3 + ch])
                                 + w10 * np.float32(src[q + ch]) + w11 * np.float32(src[q + 3 + ch]))
                            if shift_on:
                                scratch[(o + ch) & _NONNEG] = v
                            else:
                                dst[(dbase + o + ch) & _NONNEG] = _finish(v, shift_on, bright, bright_on, lo,
                                                              hi, scale, to_uint8)
                    elif c == 1:
                        v = (w00 * np.float32(src[p]) + w01 * np.float32(src[p + 1])
                             + w10 * np.float32(src[q]) + w11 * np.float32(src[q + 1]))
                        if shift_on:
                            scratch[o & _NONNEG] = v
                        else:
                            dst[(dbase + o) & _NONNEG] = _finish(v, shift_on, bright, bright_on, lo, hi,
                                                     scale, to_uint8)
                    else:
                        for ch in range(c):
                            v = (w00 * np.float32(src[p + ch]) + w01 * np.float32(src[p + c + ch])
                                 + w10 * np.float32(src[q + ch]) + w11 * np.float32(src[q + c + ch]))
                            if shift_on:
                                scratch[(o + ch) & _NONNEG] = v
                            else:
                                dst[(dbase + o + ch) & _NONNEG] = _finish(v, shift_on, bright, bright_on, lo,
                                                              hi, scale, to_uint8)
                    continue
                if order == 0 and y >= 0.0 and x >= 0.0 and y <= himax and x <= wimax:
                    # Inside: round half up as scipy does (floor(v + 0.5) == int(v + 0.5)
                    # for v >= 0).
                    p = (sbase + (int(y + 0.5) * w + int(x + 0.5)) * c) & _NONNEG
                    for ch in range(c):
                        v = np.float32(src[p + ch])
                        if shift_on:
                            scratch[(o + ch) & _NONNEG] = v
                        else:
                            dst[(dbase + o + ch) & _NONNEG] = _finish(v, shift_on, bright, bright_on, lo, hi,
                                                          scale, to_uint8)
                    continue
                # Border path: scipy's mode mapping, then taps extended at the edges.
                cy = _map_coordinate(y, h, mode)
                cx = _map_coordinate(x, w, mode)
                if cy <= -1.0 or cx <= -1.0:
                    for ch in range(c):
                        if shift_on:
                            scratch[(o + ch) & _NONNEG] = cvalf
                        else:
                            dst[(dbase + o + ch) & _NONNEG] = _finish(cvalf, shift_on, bright, bright_on,
                                                          lo, hi, scale, to_uint8)
                    continue
                if order == 0:
                    iy = _tap(int(np.floor(cy + 0.5)), h, mode)
                    ix = _tap(int(np.floor(cx + 0.5)), w, mode)
                    p = (sbase + (iy * w + ix) * c) & _NONNEG
                    for ch in range(c):
                        v = np.float32(src[p + ch])
                        if shift_on:
                            scratch[(o + ch) & _NONNEG] = v
                        else:
                            dst[(dbase + o + ch) & _NONNEG] = _finish(v, shift_on, bright, bright_on, lo, hi,
                                                          scale, to_uint8)
                    continue
                fly = np.floor(cy)
                flx = np.floor(cx)
                iy0 = int(fly)
                ix0 = int(flx)
                fy = np.float32(cy - fly)
                fx = np.float32(cx - flx)
                ya = _tap(iy0, h, mode) * w
                yb = _tap(iy0 + 1, h, mode) * w
                xa = _tap(ix0, w, mode)
                xb = _tap(ix0 + 1, w, mode)
                w11 = fy * fx
                w10 = fy - w11
                w01 = fx - w11
                w00 = np.float32(1.0) - fy - w01
                p00 = (sbase + (ya + xa) * c) & _NONNEG
                p01 = (sbase + (ya + xb) * c) & _NONNEG
                p10 = (sbase + (yb + xa) * c) & _NONNEG
                p11 = (sbase + (yb + xb) * c) & _NONNEG
                for ch in range(c):
                    v = (w00 * np.float32(src[p00 + ch]) + w01 * np.float32(src[p01 + ch])
                         + w10 * np.float32(src[p10 + ch]) + w11 * np.float32(src[p11 + ch]))
                    if shift_on:
                        scratch[(o + ch) & _NONNEG] = v
                    else:
                        dst[(dbase + o + ch) & _NONNEG] = _finish(v, shift_on, bright, bright_on, lo, hi,
                                                      scale, to_uint8)
        if shift_on:
            # Keras clips the shifted image to the warped image's own range; that
            # range is only known once the whole image is warped.
            npix = oh * ow * c
            for i in range(npix):
                v = scratch[i]
                vmin = min(vmin, v)
                vmax = max(vmax, v)
            s = np.float32(shifts[n])
            for i in range(npix):
                v = min(max(scratch[i] + s, vmin), vmax)
                dst[(dbase + i) & _NONNEG] = _finish(v, shift_on, bright, bright_on, lo, hi, scale, to_uint8)
