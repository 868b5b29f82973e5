"""Fused batch affine warp: one pass over the output of a whole uint8/float32 batch.

Every image has its own inverse matrix (output pixel -> input coordinate). The pass
samples (nearest or bilinear) with scipy.ndimage's boundary modes, then applies the
per-image channel shift and brightness and the cast/rescale to the output dtype.

All arrays arrive C-contiguous and flattened, channels last, so one compiled
kernel per (channel class, order) and (input dtype, output dtype) pair serves
every shape and option. Hot loops index with unsigned integers: Numba adds a
negative-index check to every signed index, which was about 40% of the gather
loop's instructions and stopped the vectoriser. The kernels are serial and
release the GIL: callers parallelise over images with their own threads (see
``fastaug/_pool.py`` for why not ``parallel=True``).
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


def _load(src, i, lut):  # pragma: no cover - replaced by the overload in jitted code
    """One input sample as float32 (``lut`` maps uint8 values to floats)."""
    return np.float32(src[i])


@overload(_load)
def _load_overload(src, i, lut):
    # A 256-entry table lookup beat the int -> float conversion by 30% per tap
    # (a load instead of a two-uop convert). float32 input needs neither.
    if src.dtype == types.uint8:
        return lambda src, i, lut: lut[src[i]]
    return lambda src, i, lut: np.float32(src[i])


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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
def _finish_run(buf, dst, d0, count, bright, bright_on, lo, hi, scale, to_uint8):
    """Brightness, rescale and the cast of ``buf[:count]`` into ``dst[d0:d0+count]``.

    A separate, branch-free pass over a row of floats: it vectorises, where the
    same work inside the gather loop would not. Unsigned indices spare the
    per-element negative-index check that would stop the vectoriser.
    """
    d = np.uint64(d0)
    if bright_on:
        for i in range(count):
            buf[i] = min(max(buf[i] * bright, lo), hi)
    if to_uint8:
        for i in range(count):
            # scipy's own uint8 output rounds half up; match it.
            v = np.floor(buf[i] * scale + np.float32(0.5))
            dst[d + np.uint64(i)] = min(max(v, np.float32(0.0)), np.float32(255.0))
    else:
        for i in range(count):
            dst[d + np.uint64(i)] = buf[i] * scale


@njit(cache=True, nogil=True)
def _axis_span(a, b, inv_b, lim, lo, hi):
    """Narrow ``[lo, hi)`` to the j with ``0 <= a + b*j <= lim`` (float estimate)."""
    if b > 0.0:
        return max(lo, -a * inv_b), min(hi, (lim - a) * inv_b + 1.0)
    if b < 0.0:
        return max(lo, (lim - a) * inv_b), min(hi, -a * inv_b + 1.0)
    if a < 0.0 or a > lim:
        return lo, -1.0
    return lo, hi


@njit(cache=True, nogil=True)
def _inside_span(r, m0, m1, m2, m3, m4, m5, inv1, inv4, ow, ylim, xlim, strict):
    """The output columns ``[j0, j1)`` of row ``r`` whose samples need no mode logic.

    A sample is inside when ``0 <= y`` and ``y < ylim`` (``<=`` unless ``strict``),
    and the same for ``x``. Both coordinates are affine in ``j`` and their float
    evaluation is monotone in ``j``, so the inside columns form one interval:
    estimate it with the reciprocals ``inv1 = 1/m1``, ``inv4 = 1/m4``, then settle
    each end with the exact per-pixel test. A short estimate only sends pixels to
    the exact border path, so it costs time, never correctness.
    """
    ry = r * m0
    rx = r * m3
    lo, hi = _axis_span(ry + m2, m1, inv1, ylim, 0.0, float(ow))
    lo, hi = _axis_span(rx + m5, m4, inv4, xlim, lo, hi)
    if hi <= lo:
        return 0, 0
    j0 = max(int(lo) - 1, 0)
    j1 = min(int(hi) + 1, ow)
    while j0 < j1 and not _is_inside(ry + j0 * m1 + m2, rx + j0 * m4 + m5, ylim, xlim, strict):
        j0 += 1
    while j1 > j0 and not _is_inside(ry + (j1 - 1) * m1 + m2, rx + (j1 - 1) * m4 + m5, ylim,
                                     xlim, strict):
        j1 -= 1
    return j0, j1


@njit(cache=True, nogil=True)
def _is_inside(y, x, ylim, xlim, strict):
    if strict:
        return y >= 0.0 and x >= 0.0 and y < ylim and x < xlim
    return y >= 0.0 and x >= 0.0 and y <= ylim and x <= xlim


@njit(cache=True, nogil=True, inline="always")
def _span_bilinear(src, lut, sbase, buf, bbase, r, m0, m1, m2, m3, m4, m5, j0, j1, w, c, cols,
                   offs, fys, fxs):
    """Bilinear samples of columns ``[j0, j1)``, all four taps inside the image.

    Two passes: coordinates, offsets and weights (vectorised), then the gather and
    blend with the channel loop unrolled for a literal ``c``.
    """
    ry = r * m0
    rx = r * m3
    wc = np.int32(w * c)
    c32 = np.int32(c)
    uwc = np.uint64(w * c)
    uc = np.uint64(c)
    u0 = np.uint64(j0)
    for k in range(j1 - j0):
        # Same operations in the same order as scipy (``cols[j]`` is float(j)), so
        # the coordinate is bit-identical. Inside, int() is floor. The float table
        # and the unsigned index keep this loop vectorised: AVX2 has no int64 to
        # double conversion, and a signed index adds a check per element.
        jf = cols[u0 + np.uint64(k)]
        y = ry + jf * m1 + m2
        x = rx + jf * m4 + m5
        yi = np.int32(y)
        xi = np.int32(x)
        offs[k] = yi * wc + xi * c32
        fys[k] = np.float32(y - np.float64(yi))
        fxs[k] = np.float32(x - np.float64(xi))
    for k in range(j1 - j0):
        fy = fys[k]
        fx = fxs[k]
        w11 = fy * fx
        w10 = fy - w11
        w01 = fx - w11
        w00 = np.float32(1.0) - fy - w01
        # Unsigned indices need no negative-index check (masking a signed index
        # does the same but costs two instructions per tap).
        p = np.uint64(sbase + offs[k])
        q = p + uwc
        o = np.uint64(bbase + (j0 + k) * c)
        for ch in range(c):
            k = np.uint64(ch)
            buf[o + k] = (w00 * _load(src, p + k, lut)
                          + w01 * _load(src, p + uc + k, lut)
                          + w10 * _load(src, q + k, lut)
                          + w11 * _load(src, q + uc + k, lut))


@njit(cache=True, nogil=True, inline="always")
def _span_nearest(src, lut, sbase, buf, bbase, r, m0, m1, m2, m3, m4, m5, j0, j1, w, c, cols,
                  offs):
    """Nearest samples of columns ``[j0, j1)``, all inside: round half up, as scipy."""
    ry = r * m0
    rx = r * m3
    wc = np.int32(w * c)
    c32 = np.int32(c)
    u0 = np.uint64(j0)
    x0 = rx + j0 * m4 + m5
    if m1 == 0.0 and (m4 == 1.0 or m4 == -1.0) and x0 == np.floor(x0):
        # A flip or a whole-pixel shift along the row: the span is one run of a
        # source row, forwards or backwards. Copy it as such: a contiguous
        # uint8 -> float32 conversion vectorises, a gather does not.
        n = j1 - j0
        p = np.uint64(sbase + (int(ry + m2 + 0.5) * w + int(x0)) * c)
        o = np.uint64(bbase + j0 * c)
        if m4 == 1.0:
            for i in range(n * c):
                buf[o + np.uint64(i)] = np.float32(src[p + np.uint64(i)])
        else:
            for k in range(n):
                q = p - np.uint64(k * c)
                d = o + np.uint64(k * c)
                for ch in range(c):
                    buf[d + np.uint64(ch)] = np.float32(src[q + np.uint64(ch)])
        return
    for k in range(j1 - j0):
        jf = cols[u0 + np.uint64(k)]
        offs[k] = (np.int32(ry + jf * m1 + m2 + 0.5) * wc
                   + np.int32(rx + jf * m4 + m5 + 0.5) * c32)
    for k in range(j1 - j0):
        p = np.uint64(sbase + offs[k])
        o = np.uint64(bbase + (j0 + k) * c)
        for ch in range(c):
            buf[o + np.uint64(ch)] = _load(src, p + np.uint64(ch), lut)


@njit(cache=True, nogil=True, inline="always")
def _border(src, lut, sbase, buf, bbase, r, m0, m1, m2, m3, m4, m5, j0, j1, h, w, c, order,
            mode, cvalf):
    """Samples of columns ``[j0, j1)`` near or beyond the edge: scipy's exact logic.

    scipy maps the coordinate into the image by the mode, then extends the taps
    that still fall one step outside. Inlined with a literal ``c`` like the spans.
    """
    uc = np.uint64(c)
    for j in range(j0, j1):
        o = np.uint64(bbase + j * c)
        cy = _map_coordinate(r * m0 + j * m1 + m2, h, mode)
        cx = _map_coordinate(r * m3 + j * m4 + m5, w, mode)
        if cy <= -1.0 or cx <= -1.0:
            for ch in range(c):
                buf[o + np.uint64(ch)] = cvalf
        elif order == 0:
            iy = _tap(int(np.floor(cy + 0.5)), h, mode)
            ix = _tap(int(np.floor(cx + 0.5)), w, mode)
            p = np.uint64(sbase + (iy * w + ix) * c)
            for ch in range(c):
                buf[o + np.uint64(ch)] = _load(src, p + np.uint64(ch), lut)
        else:
            fly = np.floor(cy)
            flx = np.floor(cx)
            fy = np.float32(cy - fly)
            fx = np.float32(cx - flx)
            iy = int(fly)
            ix = int(flx)
            ya = np.uint64(sbase + _tap(iy, h, mode) * w * c)
            yb = np.uint64(sbase + _tap(iy + 1, h, mode) * w * c)
            xa = np.uint64(_tap(ix, w, mode)) * uc
            xb = np.uint64(_tap(ix + 1, w, mode)) * uc
            w11 = fy * fx
            w10 = fy - w11
            w01 = fx - w11
            w00 = np.float32(1.0) - fy - w01
            for ch in range(c):
                k = np.uint64(ch)
                buf[o + k] = (w00 * _load(src, ya + xa + k, lut)
                              + w01 * _load(src, ya + xb + k, lut)
                              + w10 * _load(src, yb + xa + k, lut)
                              + w11 * _load(src, yb + xb + k, lut))


@njit(cache=True, nogil=True, inline="always")
def _row(src, lut, sbase, buf, bbase, r, m0, m1, m2, m3, m4, m5, inv1, inv4, ow, h, w, c,
         order, mode, cvalf, ylim, xlim, cols, offs, fys, fxs):
    """One output row into ``buf``: the inside span fast, the ends exactly."""
    j0, j1 = _inside_span(r, m0, m1, m2, m3, m4, m5, inv1, inv4, ow, ylim, xlim, order == 1)
    if order == 1:
        _span_bilinear(src, lut, sbase, buf, bbase, r, m0, m1, m2, m3, m4, m5, j0, j1, w, c,
                       cols, offs, fys, fxs)
    else:
        _span_nearest(src, lut, sbase, buf, bbase, r, m0, m1, m2, m3, m4, m5, j0, j1, w, c,
                      cols, offs)
    if j0 > 0:
        _border(src, lut, sbase, buf, bbase, r, m0, m1, m2, m3, m4, m5, 0, j0, h, w, c, order,
                mode, cvalf)
    if j1 < ow:
        _border(src, lut, sbase, buf, bbase, r, m0, m1, m2, m3, m4, m5, j1, ow, h, w, c, order,
                mode, cvalf)


@njit(cache=True, nogil=True, inline="always")
def _warp_images(src, index, dst, n0, n1, h, w, c, oh, ow, mats, shifts, shift_on, brights,
                 bright_on, lo, hi, order, mode, cval, scale, to_uint8):
    """Warp source images ``index[n0:n1]`` of ``src`` into ``dst[n0:n1]`` (flat, NHWC).

    ``mats`` is (N, 6): row = m0*r + m1*c + m2, col = m3*r + m4*c + m5. Each output
    row is sampled into a float32 buffer: the columns whose taps are all inside
    the image (one interval, found analytically) by a fast two-pass loop, the rest
    by scipy's per-pixel mode logic. One more pass applies brightness and rescale
    and casts to ``dst``. With ``shift_on`` the buffer holds the whole image,
    because Keras clips the shift to the warped image's own range, known only once
    the whole image is warped.
    """
    cvalf = np.float32(cval)
    lut = np.arange(256).astype(np.float32)
    lo = np.float32(lo)
    hi = np.float32(hi)
    scale = np.float32(scale)
    rowlen = ow * c
    buf = np.empty(oh * rowlen if shift_on else rowlen, np.float32)
    offs = np.empty(ow, np.int32)
    cols = np.arange(ow).astype(np.float64)
    fys = np.empty(ow, np.float32)
    fxs = np.empty(ow, np.float32)
    # Bilinear needs both taps inside: y < h - 1. Nearest needs y <= h - 1.
    ylim = float(h - 1)
    xlim = float(w - 1)
    for n in range(n0, n1):
        m0 = mats[n, 0]
        m1 = mats[n, 1]
        m2 = mats[n, 2]
        m3 = mats[n, 3]
        m4 = mats[n, 4]
        m5 = mats[n, 5]
        inv1 = 1.0 / m1 if m1 != 0.0 else 0.0
        inv4 = 1.0 / m4 if m4 != 0.0 else 0.0
        # The source image of output n: a batch gathered from the dataset by the
        # kernel itself, so the dataset is never copied into a batch first.
        sbase = index[n] * (h * w * c)
        dbase = n * oh * rowlen
        bright = np.float32(brights[n])
        for r in range(oh):
            bbase = r * rowlen if shift_on else 0
            _row(src, lut, sbase, buf, bbase, r, m0, m1, m2, m3, m4, m5, inv1, inv4, ow, h, w, c,
                 order, mode, cvalf, ylim, xlim, cols, offs, fys, fxs)
            if not shift_on:
                _finish_run(buf, dst, dbase + r * rowlen, rowlen, bright, bright_on, lo, hi,
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
            _finish_run(buf, dst, dbase, npix, bright, bright_on, lo, hi, scale, to_uint8)


# One compiled kernel per (channel count, order), with both as literals so LLVM
# unrolls the channel loops and drops the other order's code. ``kernel_for``
# picks one from Python, so a process compiles only the kernels it uses: a cold
# start pays for one (a few seconds), not for all eight.


@njit(cache=True, nogil=True)
def warp_c1_nearest(src, index, dst, n0, n1, h, w, c, oh, ow, mats, shifts, shift_on, brights,
                    bright_on, lo, hi, mode, cval, scale, to_uint8):
    _warp_images(src, index, dst, n0, n1, h, w, 1, oh, ow, mats, shifts, shift_on, brights,
                 bright_on, lo, hi, 0, mode, cval, scale, to_uint8)


@njit(cache=True, nogil=True)
def warp_c1_linear(src, index, dst, n0, n1, h, w, c, oh, ow, mats, shifts, shift_on, brights,
                   bright_on, lo, hi, mode, cval, scale, to_uint8):
    _warp_images(src, index, dst, n0, n1, h, w, 1, oh, ow, mats, shifts, shift_on, brights,
                 bright_on, lo, hi, 1, mode, cval, scale, to_uint8)


@njit(cache=True, nogil=True)
def warp_c3_nearest(src, index, dst, n0, n1, h, w, c, oh, ow, mats, shifts, shift_on, brights,
                    bright_on, lo, hi, mode, cval, scale, to_uint8):
    _warp_images(src, index, dst, n0, n1, h, w, 3, oh, ow, mats, shifts, shift_on, brights,
                 bright_on, lo, hi, 0, mode, cval, scale, to_uint8)


@njit(cache=True, nogil=True)
def warp_c3_linear(src, index, dst, n0, n1, h, w, c, oh, ow, mats, shifts, shift_on, brights,
                   bright_on, lo, hi, mode, cval, scale, to_uint8):
    _warp_images(src, index, dst, n0, n1, h, w, 3, oh, ow, mats, shifts, shift_on, brights,
                 bright_on, lo, hi, 1, mode, cval, scale, to_uint8)


@njit(cache=True, nogil=True)
def warp_c4_nearest(src, index, dst, n0, n1, h, w, c, oh, ow, mats, shifts, shift_on, brights,
                    bright_on, lo, hi, mode, cval, scale, to_uint8):
    _warp_images(src, index, dst, n0, n1, h, w, 4, oh, ow, mats, shifts, shift_on, brights,
                 bright_on, lo, hi, 0, mode, cval, scale, to_uint8)


@njit(cache=True, nogil=True)
def warp_c4_linear(src, index, dst, n0, n1, h, w, c, oh, ow, mats, shifts, shift_on, brights,
                   bright_on, lo, hi, mode, cval, scale, to_uint8):
    _warp_images(src, index, dst, n0, n1, h, w, 4, oh, ow, mats, shifts, shift_on, brights,
                 bright_on, lo, hi, 1, mode, cval, scale, to_uint8)


@njit(cache=True, nogil=True)
def warp_cn_nearest(src, index, dst, n0, n1, h, w, c, oh, ow, mats, shifts, shift_on, brights,
                    bright_on, lo, hi, mode, cval, scale, to_uint8):
    _warp_images(src, index, dst, n0, n1, h, w, c, oh, ow, mats, shifts, shift_on, brights,
                 bright_on, lo, hi, 0, mode, cval, scale, to_uint8)


@njit(cache=True, nogil=True)
def warp_cn_linear(src, index, dst, n0, n1, h, w, c, oh, ow, mats, shifts, shift_on, brights,
                   bright_on, lo, hi, mode, cval, scale, to_uint8):
    _warp_images(src, index, dst, n0, n1, h, w, c, oh, ow, mats, shifts, shift_on, brights,
                 bright_on, lo, hi, 1, mode, cval, scale, to_uint8)


_KERNELS = {
    (1, 0): warp_c1_nearest, (1, 1): warp_c1_linear,
    (3, 0): warp_c3_nearest, (3, 1): warp_c3_linear,
    (4, 0): warp_c4_nearest, (4, 1): warp_c4_linear,
}


def kernel_for(c: int, order: int):
    """The compiled kernel for ``c`` channels and interpolation ``order``.

    All take ``(src, index, dst, n0, n1, h, w, c, oh, ow, mats, shifts, shift_on,
    brights, bright_on, lo, hi, mode, cval, scale, to_uint8)``: output image ``n``
    samples source image ``index[n]`` of the flat NHWC ``src``.
    """
    return _KERNELS.get((c, order), warp_cn_linear if order == 1 else warp_cn_nearest)
