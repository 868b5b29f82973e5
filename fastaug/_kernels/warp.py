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
from numba import njit, types
from numba.extending import overload

# Fill modes, in the order of fastaug.warp.FILL_MODES.
CONSTANT = 0
NEAREST = 1
REFLECT = 2
WRAP = 3
MIRROR = 4

# Indices masked with this are provably non-negative, which lets LLVM drop Numba's
# negative-index wraparound check from the gather loop (about 40% of its work).
_NONNEG = np.int64(0x7FFFFFFFFFFFFFFF)


def _load(src, i, lut):  # pragma: no cover - replaced by the overload in jitted code
    """One input sample as float32 (``lut`` maps uint8 values to floats)."""
    return np.float32(src[i])


@overload(_load, inline="always")
def _load_overload(src, i, lut):
    # A 256-entry table lookup beat the int -> float conversion by 30% per tap
    # (a load instead of a two-uop convert). float32 input needs neither.
    if src.dtype == types.uint8:
        return lambda src, i, lut: lut[src[i]]
    return lambda src, i, lut: np.float32(src[i])



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
            if x < -n:
                return x + sz2
            # A whole number of periods reduces to 0, where -x - 1 would be -1 and
            # read as 'outside'; scipy nudges it to -1 + 1e-15 (a tap at -1 that
            # reflects onto index 0).
            return (1e-15 if x > -1e-15 else -x) - 1.0
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
def _blend_inside(src, lut, sbase, buf, bbase, offs, fys, fxs, inside, ow, rowstride, order,
                  c):
    """Sample every pixel of a row whose taps all lie inside the image.

    Inlined with a literal ``c`` for 1, 3 and 4 channels so LLVM unrolls the
    channel loop; ``offs`` come from the coordinate pass.
    """
    if order == 1:
        for j in range(ow):
            if inside[j]:
                fy = fys[j]
                fx = fxs[j]
                w11 = fy * fx
                w10 = fy - w11
                w01 = fx - w11
                w00 = np.float32(1.0) - fy - w01
                p = (sbase + offs[j]) & _NONNEG
                q = (p + rowstride) & _NONNEG
                o = (bbase + j * c) & _NONNEG
                for ch in range(c):
                    buf[o + ch] = (w00 * _load(src, (p + ch) & _NONNEG, lut)
                                   + w01 * _load(src, (p + c + ch) & _NONNEG, lut)
                                   + w10 * _load(src, (q + ch) & _NONNEG, lut)
                                   + w11 * _load(src, (q + c + ch) & _NONNEG, lut))
    else:
        for j in range(ow):
            if inside[j]:
                p = (sbase + offs[j]) & _NONNEG
                o = (bbase + j * c) & _NONNEG
                for ch in range(c):
                    buf[o + ch] = _load(src, (p + ch) & _NONNEG, lut)


@njit(cache=True, nogil=True, inline="always")
def _finish_run(buf, b0, dst, d0, count, bright, bright_on, lo, hi, scale, to_uint8):
    """Brightness, rescale and the cast of ``count`` float32 values into ``dst``.

    A separate, branch-free pass over a row of floats: it vectorises, where the
    same work inside the gather loop would not.
    """
    if bright_on:
        for i in range(count):
            buf[b0 + i] = min(max(buf[b0 + i] * bright, lo), hi)
    if to_uint8:
        for i in range(count):
            # scipy's own uint8 output rounds half up; match it.
            v = np.floor(buf[b0 + i] * scale + np.float32(0.5))
            dst[(d0 + i) & _NONNEG] = min(max(v, np.float32(0.0)), np.float32(255.0))
    else:
        for i in range(count):
            dst[(d0 + i) & _NONNEG] = buf[b0 + i] * scale


@njit(cache=True, nogil=True)
def _coords_row(r, m0, m1, m2, m3, m4, m5, ow, ylim, xlim, rnd, order, w32, c32, offs, fys,
                fxs, inside):
    """Coordinate pass of one output row; returns how many pixels are inside.

    Kept out of line so LLVM vectorises it on its own.
    """
    nin = np.int32(0)
    for j in range(ow):
        # Same operations in the same order as scipy, so the coordinate is
        # bit-identical and ties round the same way.
        y = r * m0 + j * m1 + m2
        x = r * m3 + j * m4 + m5
        # Bilinear needs the +1 taps inside too.
        if order == 0:
            ok = (y >= 0.0) & (x >= 0.0) & (y <= ylim) & (x <= xlim)
        else:
            ok = (y >= 0.0) & (x >= 0.0) & (y < ylim) & (x < xlim)
        # Clamped so the int conversion is defined for every pixel; only the
        # inside ones use the result.
        yc = min(max(y + rnd, 0.0), ylim + rnd)
        xc = min(max(x + rnd, 0.0), xlim + rnd)
        yi = np.int32(yc)
        xi = np.int32(xc)
        offs[j] = (yi * w32 + xi) * c32
        fys[j] = np.float32(yc - np.float64(yi))
        fxs[j] = np.float32(xc - np.float64(xi))
        inside[j] = ok
        nin += np.int32(ok)
    return nin


@njit(cache=True, nogil=True)
def warp_batch(src, dst, n0, n1, h, w, c, oh, ow, mats, shifts, shift_on, brights,
               bright_on, lo, hi, order, mode, cval, scale, to_uint8):
    """Warp images ``n0 .. n1-1`` of ``src`` into ``dst`` (both flat, NHWC).

    ``mats`` is (N, 6): row = m0*r + m1*c + m2, col = m3*r + m4*c + m5. Each output
    row goes through three passes: coordinates (vectorised), the gather/blend of
    pixels whose taps are all inside, then the rare border pixels with scipy's mode
    logic. Values land in a float32 buffer that one more pass casts to ``dst``.
    With ``shift_on`` the buffer holds the whole image, because Keras clips the
    shift to the warped image's own range, known only once it is all warped.
    """
    cvalf = np.float32(cval)
    lut = np.arange(256).astype(np.float32)
    lo = np.float32(lo)
    hi = np.float32(hi)
    scale = np.float32(scale)
    rowlen = ow * c
    buf = np.empty(oh * rowlen if shift_on else rowlen, np.float32)
    # int32 offsets: AVX2 converts float64 -> int32 in vector registers but has
    # no float64 -> int64 instruction, which made this pass 2.5x slower.
    offs = np.empty(ow, np.int32)
    w32 = np.int32(w)
    c32 = np.int32(c)
    fys = np.empty(ow, np.float32)
    fxs = np.empty(ow, np.float32)
    inside = np.empty(ow, np.bool_)
    himax = h - 1
    wimax = w - 1
    ylim = float(himax)
    xlim = float(wimax)
    # Nearest rounds half up (scipy's floor(v + 0.5)); int() floors v >= 0.
    rnd = 0.5 if order == 0 else 0.0
    for n in range(n0, n1):
        m0 = mats[n, 0]
        m1 = mats[n, 1]
        m2 = mats[n, 2]
        m3 = mats[n, 3]
        m4 = mats[n, 4]
        m5 = mats[n, 5]
        sbase = n * h * w * c
        dbase = n * oh * rowlen
        bright = np.float32(brights[n])
        for r in range(oh):
            bbase = r * rowlen if shift_on else 0
            nin = _coords_row(r, m0, m1, m2, m3, m4, m5, ow, ylim, xlim, rnd, order, w32, c32,
                              offs, fys, fxs, inside)
            if c == 3:
                _blend_inside(src, lut, sbase, buf, bbase, offs, fys, fxs, inside, ow, w * c, order, 3)
            elif c == 1:
                _blend_inside(src, lut, sbase, buf, bbase, offs, fys, fxs, inside, ow, w * c, order, 1)
            elif c == 4:
                _blend_inside(src, lut, sbase, buf, bbase, offs, fys, fxs, inside, ow, w * c, order, 4)
            else:
                _blend_inside(src, lut, sbase, buf, bbase, offs, fys, fxs, inside, ow, w * c, order, c)
            if nin < ow:
                for j in range(ow):
                    if inside[j]:
                        continue
                    o = bbase + j * c
                    cy = _map_coordinate(r * m0 + j * m1 + m2, h, mode)
                    cx = _map_coordinate(r * m3 + j * m4 + m5, w, mode)
                    if cy <= -1.0 or cx <= -1.0:
                        for ch in range(c):
                            buf[o + ch] = cvalf
                    elif order == 0:
                        iy = _tap(int(np.floor(cy + 0.5)), h, mode)
                        ix = _tap(int(np.floor(cx + 0.5)), w, mode)
                        p = sbase + (iy * w + ix) * c
                        for ch in range(c):
                            buf[o + ch] = _load(src, p + ch, lut)
                    else:
                        fly = np.floor(cy)
                        flx = np.floor(cx)
                        fy = np.float32(cy - fly)
                        fx = np.float32(cx - flx)
                        ya = _tap(int(fly), h, mode) * w
                        yb = _tap(int(fly) + 1, h, mode) * w
                        xa = _tap(int(flx), w, mode)
                        xb = _tap(int(flx) + 1, w, mode)
                        w11 = fy * fx
                        w10 = fy - w11
                        w01 = fx - w11
                        w00 = np.float32(1.0) - fy - w01
                        for ch in range(c):
                            buf[o + ch] = (w00 * _load(src, sbase + (ya + xa) * c + ch, lut)
                                           + w01 * _load(src, sbase + (ya + xb) * c + ch, lut)
                                           + w10 * _load(src, sbase + (yb + xa) * c + ch, lut)
                                           + w11 * _load(src, sbase + (yb + xb) * c + ch, lut))
            if not shift_on:
                _finish_run(buf, 0, dst, dbase + r * rowlen, rowlen, bright, bright_on, lo, hi,
                            scale, to_uint8)
        if shift_on:
            npix = oh * rowlen
            vmin = buf[0]
            vmax = buf[0]
            for i in range(npix):
                vmin = min(vmin, buf[i])
                vmax = max(vmax, buf[i])
            s = np.float32(shifts[n])
            for i in range(npix):
                buf[i] = min(max(buf[i] + s, vmin), vmax)
            _finish_run(buf, 0, dst, dbase, npix, bright, bright_on, lo, hi, scale, to_uint8)
