"""Colour kernels: torchvision v2's colour operations, one image per loop iteration.

Arrays arrive C-contiguous as ``(N, P, C)`` (``P = H * W`` pixels, channels
last), uint8 or float32; every kernel takes a range ``[a, b)`` of images so that
callers split a batch over threads (``fastaug/_pool.py``). Pixel values are
computed in float32 with torchvision's operations in torchvision's order, so
that uint8 results match it level for level:

- PyTorch's ``x.mul(r).add_(y, alpha=1 - r)`` runs as a fused multiply-add on
  CPUs with FMA (checked on the reference machine: zero mismatches with an
  FMA, hundreds of thousands without). :func:`_fma` is that fused operation.
- uint8 results are clamped and truncated after every operation, as
  torchvision's ``.to(torch.uint8)`` does.

Helpers take and return scalars only (arrays in helpers cost a reference-count
call per pixel, see shared/numba-notes.md).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from ._jit import helper, kernel

# ColorJitter operation ids, torchvision's fn_idx: brightness, contrast, saturation, hue.
BRIGHTNESS = 0
CONTRAST = 1
SATURATION = 2
HUE = 3

# Float operations of :func:`float_ops`.
INVERT = 0
SOLARIZE = 1
POSTERIZE = 2
AUTOCONTRAST = 3


@intrinsic
def _fma(typingctx, a, b, c):
    """float32 ``a * b + c`` rounded once, as PyTorch's vectorised ``add_(alpha=)``.

    ``llvm.fma.f32``: one instruction on CPUs with FMA, and it vectorises (an
    emulation through float64 halved the vector width and cost saturation 2x).
    """
    sig = types.float32(types.float32, types.float32, types.float32)

    def codegen(context, builder, signature, args):
        f32 = ir.FloatType()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(f32, [f32] * 3),
                                            "llvm.fma.f32")
        return builder.call(fn, args)

    return sig, codegen


@helper
def _clamp_cast(y, bound, u8):
    """torchvision's ``clamp_(0, bound)`` and, for uint8, the truncating cast."""
    zero = np.float32(0.0)
    if y < zero:
        y = zero
    elif y > bound:
        y = bound
    if u8:
        y = np.floor(y)
    return y


@helper
def _gray(r, g, b):
    """``r.mul(0.2989).add_(g, alpha=0.587).add_(b, alpha=0.114)`` in float32."""
    t = r * np.float32(0.2989)
    t = _fma(g, np.float32(0.587), t)
    return _fma(b, np.float32(0.114), t)


_CHUNK = 1024  # pixels per scratch row: 12 KiB of float32 planes, in L1


@helper
def _load(x, m, c, rr, gg, bb):
    """The first ``m`` pixels of ``x`` into float32 planes.

    ``x`` is the chunk as a flat 1-D slice of interleaved values: indices
    ``3 * j + k`` from zero are provably non-negative, so Numba's negative-index
    check goes and the loop vectorises. ``x2d[p0 + j, k]`` on the (P, C) array
    ran 3x slower (same run; see shared/numba-notes.md).
    """
    if c == 3:
        for j in range(m):
            rr[j] = np.float32(x[3 * j])
            gg[j] = np.float32(x[3 * j + 1])
            bb[j] = np.float32(x[3 * j + 2])
    else:
        for j in range(m):
            rr[j] = np.float32(x[j])


@helper
def _store(y, m, c, rr, gg, bb):
    """The planes into the first ``m`` pixels of ``y`` (a flat slice, as in :func:`_load`)."""
    if c == 3:
        for j in range(m):
            y[3 * j] = rr[j]
            y[3 * j + 1] = gg[j]
            y[3 * j + 2] = bb[j]
    else:
        for j in range(m):
            y[j] = rr[j]


@helper
def _store_affine(y, npix, p0, m, c, rr, gg, bb, mul, add, planar):
    """The planes mapped by ``v * mul[k] + add[k]`` into pixels ``[p0, p0 + m)`` of ``y``.

    ``y`` is one flat image: channels first (``planar``, plane ``k`` at ``k * npix``)
    or channels last. This is the ``ToDtype``/``Normalize`` epilogue of a recipe
    fused into the store, so the jittered image is written once, as the output.
    """
    m0 = mul[0]
    a0 = add[0]
    if c == 1:
        y0 = y[p0:p0 + m]
        for j in range(m):
            y0[j] = rr[j] * m0 + a0
        return
    m1 = mul[1]
    m2 = mul[2]
    a1 = add[1]
    a2 = add[2]
    if planar:
        y0 = y[p0:p0 + m]
        y1 = y[npix + p0:npix + p0 + m]
        y2 = y[2 * npix + p0:2 * npix + p0 + m]
        for j in range(m):
            y0[j] = rr[j] * m0 + a0
            y1[j] = gg[j] * m1 + a1
            y2[j] = bb[j] * m2 + a2
    else:
        ys = y[3 * p0:3 * (p0 + m)]
        for j in range(m):
            ys[3 * j] = rr[j] * m0 + a0
            ys[3 * j + 1] = gg[j] * m1 + a1
            ys[3 * j + 2] = bb[j] * m2 + a2


@helper
def _gray_sum(m, c, rr, gg, bb, u8):
    """Sum of the grayscale values (floored for uint8, then exact in an int64)."""
    if c == 1:
        if u8:
            si = 0
            for j in range(m):
                si += np.int64(rr[j])
            return np.float64(si)
        s = 0.0
        for j in range(m):
            s += rr[j]
        return s
    if u8:
        si = 0
        for j in range(m):
            si += np.int64(_gray(rr[j], gg[j], bb[j]))  # >= 0: truncation is floor
        return np.float64(si)
    s = 0.0
    for j in range(m):
        s += _gray(rr[j], gg[j], bb[j])
    return s


@helper
def _op_scale(m, v, f, bound, u8):
    """adjust_brightness of one plane."""
    zero = np.float32(0.0)
    for j in range(m):
        y = min(max(v[j] * f, zero), bound)
        if u8:
            y = np.floor(y)
        v[j] = y


@helper
def _op_blend_const(m, v, other, f, rest, bound, u8):
    """_blend of one plane with a constant (adjust_contrast's mean)."""
    zero = np.float32(0.0)
    for j in range(m):
        y = min(max(_fma(other, rest, v[j] * f), zero), bound)
        if u8:
            y = np.floor(y)
        v[j] = y


@helper
def _op_saturation(m, rr, gg, bb, f, rest, bound, u8):
    zero = np.float32(0.0)
    for j in range(m):
        r = rr[j]
        g = gg[j]
        b = bb[j]
        gr = _gray(r, g, b)
        if u8:
            gr = np.floor(gr)
        r = min(max(_fma(gr, rest, r * f), zero), bound)
        g = min(max(_fma(gr, rest, g * f), zero), bound)
        b = min(max(_fma(gr, rest, b * f), zero), bound)
        if u8:
            r = np.floor(r)
            g = np.floor(g)
            b = np.floor(b)
        rr[j] = r
        gg[j] = g
        bb[j] = b


# error_model="numpy": no zero-division check (a branch per division that stops the
# vectoriser); the divisors here are never zero.
@helper(error_model="numpy")
def _op_hue(m, rr, gg, bb, hf, u8):
    """adjust_hue of planes: RGB -> HSV, shift, HSV -> RGB, all float32, branch-free."""
    one = np.float32(1.0)
    zero = np.float32(0.0)
    inv = np.float32(1.0 / 255.0)
    sc = np.float32(255.999)
    for j in range(m):
        r = rr[j]
        g = gg[j]
        b = bb[j]
        if u8:
            r = r * inv
            g = g * inv
            b = b * inv
        maxc = max(r, max(g, b))
        minc = min(r, min(g, b))
        cr = maxc - minc
        eqc = maxc == minc
        s = cr / (one if eqc else maxc)
        div = one if eqc else cr
        # torchvision computes rc, gc, bc = (maxc - channel) / div and sums three
        # masked terms: hr = bc - gc, hg = (rc + 2) - bc, hb = (gc + 4) - rc, of
        # which exactly one is selected (the others are +-0, which the +1 below
        # absorbs). Selecting the two numerators first divides twice, not three
        # times, with the same roundings.
        isr = maxc == r
        isg = maxc == g
        na = maxc - (b if isr else (r if isg else g))
        nb = maxc - (g if isr else (b if isg else r))
        k = np.float32(0.0) if isr else (np.float32(2.0) if isg else np.float32(4.0))
        h = (na / div + k) - nb / div
        # Every arm is computed before the selects: LLVM if-converts (and so
        # vectorises) only branches without arithmetic of their own.
        h = h * np.float32(1.0 / 6.0) + one
        hm = h - one
        h = hm if h >= one else h  # fmod(h, 1) for h in [5/6, 11/6]: exact
        h = h + hf
        # remainder(h, 1) for h in [-0.5, 1.5)
        hm = h - one
        hp = h + one
        h = hm if h >= one else (hp if h < zero else h)
        v = maxc
        h6 = h * np.float32(6.0)
        fi = np.floor(h6)
        f = h6 - fi
        fm = fi - np.float32(6.0)
        fi = fm if fi >= np.float32(6.0) else fi  # i % 6
        sxf = s * f
        oms = one - s
        q = min(max((one - sxf) * v, zero), one)
        t = min(max((sxf + oms) * v, zero), one)
        p = min(max(oms * v, zero), one)
        # torchvision's table: r = (v, q, p, p, t, v), g = (t, v, v, q, p, p),
        # b = (p, p, t, v, v, q) for i = 0..5.
        i0 = fi == np.float32(0.0)
        i1 = fi == np.float32(1.0)
        i2 = fi == np.float32(2.0)
        i3 = fi == np.float32(3.0)
        i4 = fi == np.float32(4.0)
        i5 = fi == np.float32(5.0)
        r = v if (i0 | i5) else (q if i1 else (t if i4 else p))
        g = t if i0 else (v if (i1 | i2) else (q if i3 else p))
        b = p if (i0 | i1) else (t if i2 else (v if (i3 | i4) else q))
        if u8:
            # torchvision's float -> uint8: x * (255 + 1 - 1e-3), truncated.
            r = np.floor(r * sc)
            g = np.floor(g * sc)
            b = np.floor(b * sc)
        rr[j] = r
        gg[j] = g
        bb[j] = b


@helper
def _ops(m, c, rr, gg, bb, o0, o1, o2, o3, k0, k1, bf, cf, sf, hf, cr, sr, mean, bound, u8):
    """Apply the image's operations ``(o0, o1, o2, o3)[k0:k1]`` to the planes, op by op."""
    for k in range(k0, k1):
        op = o0 if k == 0 else (o1 if k == 1 else (o2 if k == 2 else o3))
        if op == BRIGHTNESS:
            _op_scale(m, rr, bf, bound, u8)
            if c == 3:
                _op_scale(m, gg, bf, bound, u8)
                _op_scale(m, bb, bf, bound, u8)
        elif op == CONTRAST:
            _op_blend_const(m, rr, mean, cf, cr, bound, u8)
            if c == 3:
                _op_blend_const(m, gg, mean, cf, cr, bound, u8)
                _op_blend_const(m, bb, mean, cf, cr, bound, u8)
        elif op == SATURATION:
            _op_saturation(m, rr, gg, bb, sf, sr, bound, u8)
        elif op == HUE:
            _op_hue(m, rr, gg, bb, hf, u8)


@kernel
def jitter(src, dst, a, b, order, factors, u8, affine, mul, add, planar):
    """ColorJitter of images ``[a, b)``: per image its factors and its order of operations.

    ``src``, ``dst``: (N, P, C) of one dtype, C in (1, 3). ``order``: (N, 4) int64,
    the operation ids in the image's order, -1 for a skipped one (no factor, or
    saturation/hue of one channel). ``factors``: (N, 8) float32, the brightness,
    contrast, saturation and hue factors, then ``1 - factor`` of each (computed
    in float64, as Python computes torchvision's ``alpha``). With ``affine``,
    ``dst`` is float32, (N, P, C) or, with ``planar``, (N, C, P), and receives
    ``v * mul[k] + add[k]`` (float32, one per channel: the recipe's ``ToDtype``
    and ``Normalize``, see :func:`_store_affine`).

    Pixels go through float32 planes, ``_CHUNK`` pixels at a time, one tight
    (vectorisable) loop per operation. With contrast, the first pass converts
    the image into whole-image planes, applies the operations before contrast
    and sums the grayscale image; the second applies contrast (with that mean)
    and the rest and converts back.
    """
    npix = src.shape[1]
    c = src.shape[2]
    bound = np.float32(255.0) if u8 else np.float32(1.0)
    # Whole-image planes (for the two passes of contrast); chunks are views of them.
    rf = np.empty(npix, np.float32)
    gf = np.empty(npix if c == 3 else 1, np.float32)
    bf_ = np.empty(npix if c == 3 else 1, np.float32)
    zero = np.float32(0.0)
    for i in range(a, b):
        o0, o1, o2, o3 = order[i, 0], order[i, 1], order[i, 2], order[i, 3]
        bf, cf, sf, hf = factors[i, 0], factors[i, 1], factors[i, 2], factors[i, 3]
        cr, sr = factors[i, 5], factors[i, 6]
        kc = 4
        for k in range(4):
            if order[i, k] == CONTRAST:
                kc = k
        need_mean = kc < 4
        x = src[i].reshape(npix * c)
        y = dst[i].reshape(npix * c)
        s = 0.0
        for p0 in range(0, npix, _CHUNK):
            m = min(_CHUNK, npix - p0)
            # Without contrast one chunk of planes is reused (it stays in L1).
            q0 = p0 if need_mean else 0
            rr = rf[q0:q0 + m]
            gg = gf[q0:q0 + m] if c == 3 else gf
            bb = bf_[q0:q0 + m] if c == 3 else bf_
            _load(x[c * p0:c * (p0 + m)], m, c, rr, gg, bb)
            if kc > 0:
                _ops(m, c, rr, gg, bb, o0, o1, o2, o3, 0, kc, bf, cf, sf, hf, cr, sr, zero,
                     bound, u8)
            if need_mean:
                s += _gray_sum(m, c, rr, gg, bb, u8)
            elif not affine:
                _store(y[c * p0:c * (p0 + m)], m, c, rr, gg, bb)
            else:
                _store_affine(y, npix, p0, m, c, rr, gg, bb, mul, add, planar)
        if not need_mean:
            continue
        # torch.mean: a float32 sum divided by the count in float32.
        mean = np.float32(s) / np.float32(npix)
        for p0 in range(0, npix, _CHUNK):
            m = min(_CHUNK, npix - p0)
            rr = rf[p0:p0 + m]
            gg = gf[p0:p0 + m] if c == 3 else gf
            bb = bf_[p0:p0 + m] if c == 3 else bf_
            _ops(m, c, rr, gg, bb, o0, o1, o2, o3, kc, 4, bf, cf, sf, hf, cr, sr, mean,
                 bound, u8)
            if not affine:
                _store(y[c * p0:c * (p0 + m)], m, c, rr, gg, bb)
            else:
                _store_affine(y, npix, p0, m, c, rr, gg, bb, mul, add, planar)


@kernel
def grayscale(src, dst, a, b, apply, u8):
    """``rgb_to_grayscale`` of 3-channel images ``[a, b)`` where ``apply`` (else a copy).

    ``dst`` has 1 or 3 channels (the gray value repeated); uint8 results are
    truncated, as torchvision's ``.to(image.dtype)``.
    """
    npix = src.shape[1]
    co = dst.shape[2]
    for i in range(a, b):
        x = src[i]
        y = dst[i]
        if not apply[i]:
            y[:, :] = x
            continue
        for p in range(npix):
            gr = _gray(np.float32(x[p, 0]), np.float32(x[p, 1]), np.float32(x[p, 2]))
            if u8:
                gr = np.floor(max(gr, np.float32(0.0)))
            for k in range(co):
                y[p, k] = gr


@kernel
def minmax(src, out, a, b, apply):
    """Per image and channel minimum and maximum (``out``: (N, C, 2) float32)."""
    npix = src.shape[1]
    c = src.shape[2]
    for i in range(a, b):
        if not apply[i]:
            continue
        x = src[i]
        for k in range(c):
            lo = np.float32(x[0, k])
            hi = lo
            for p in range(1, npix):
                v = np.float32(x[p, k])
                lo = min(lo, v)
                hi = max(hi, v)
            out[i, k, 0] = lo
            out[i, k, 1] = hi


@kernel(error_model="numpy")
def float_ops(src, dst, a, b, op, prm, apply):
    """float32 invert, solarize, posterize or autocontrast of images ``[a, b)``.

    ``prm``: (N, C, 2) float32 per image and channel: solarize ``(threshold, -)``,
    posterize ``(levels, 1 / levels)``, autocontrast ``(minimum, inv_scale)``.
    """
    npix = src.shape[1]
    c = src.shape[2]
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for i in range(a, b):
        x = src[i]
        y = dst[i]
        if not apply[i]:
            y[:, :] = x
            continue
        for k in range(c):
            p0 = prm[i, k, 0]
            p1 = prm[i, k, 1]
            for p in range(npix):
                v = x[p, k]
                if op == INVERT:
                    v = one - v
                elif op == SOLARIZE:
                    if v >= p0:
                        v = one - v
                elif op == POSTERIZE:
                    v = min(max(np.floor(v * p0), zero), p0 - one) * p1
                else:
                    v = min(max((v - p0) / p1, zero), one)
                y[p, k] = v


@helper
def _round_even(x):
    """``torch.round`` (half to even) of a float32."""
    fl = np.floor(x)
    d = x - fl
    if d > np.float32(0.5) or (d == np.float32(0.5) and fl % np.float32(2.0) != 0):
        fl = fl + np.float32(1.0)
    return fl


@kernel
def sharpness(src, dst, a, b, h, w, rest, apply, u8):
    """torchvision ``adjust_sharpness`` of images ``[a, b)`` where ``apply``.

    The interior is ``x + (1 - factor) * (blur - x)`` (a fused multiply-add, as
    PyTorch's ``add_(alpha=)``) with the 3x3 filter ``[[1, 1, 1], [1, 5, 1],
    [1, 1, 1]] / 13`` (rounded for uint8); the border is copied.
    """
    c = src.shape[2]
    bound = np.float32(255.0) if u8 else np.float32(1.0)
    wa = np.float32(1.0 / 13.0)
    wb = np.float32(5.0 / 13.0)
    for i in range(a, b):
        x = src[i]
        y = dst[i]
        y[:, :] = x
        if not apply[i]:
            continue
        for r in range(1, h - 1):
            for col in range(1, w - 1):
                p = r * w + col
                for k in range(c):
                    s = 0.0
                    for dr in range(-1, 2):
                        for dc in range(-1, 2):
                            q = p + dr * w + dc
                            wt = wb if (dr == 0 and dc == 0) else wa
                            s += np.float64(wt) * np.float64(np.float32(x[q, k]))
                    blur = np.float32(s)
                    if u8:
                        blur = _round_even(blur)
                    v = np.float32(x[p, k])
                    y[p, k] = _clamp_cast(_fma(blur - v, rest, v), bound, u8)


# --------------------------------------------------------------------------- uint8, in place
# The kernels below work on flat (N, L) uint8 batches (L = H * W * C), in place, on the
# images ``idx[a:b]`` only: the automatic policies run each operation on a subset of
# the batch, and gathering the subset into a new array and scattering it back cost
# more than the operations themselves (three passes over fresh, page-faulting memory).


@kernel
def lut_idx(x, idx, a, b, luts, c):
    """``x[idx[j], p] = luts[j, (p % c) * 256 + x[idx[j], p]]`` in place, ``j`` in ``[a, b)``.

    ``luts``: (len(idx), c * 256) uint8, one table per image and channel.
    """
    npix = x.shape[1] // c
    for j in range(a, b):
        y = x[idx[j]]
        t = luts[j]
        if c == 3:
            t0 = t[0:256]
            t1 = t[256:512]
            t2 = t[512:768]
            for q in range(npix):
                p = 3 * q
                y[p] = t0[y[p]]
                y[p + 1] = t1[y[p + 1]]
                y[p + 2] = t2[y[p + 2]]
        else:
            for p in range(npix):
                y[p] = t[y[p]]


@kernel
def minmax_idx(x, idx, a, b, c, out):
    """Per image ``idx[j]`` and channel minimum and maximum into ``out[j]`` ((C, 2) uint8)."""
    npix = x.shape[1] // c
    for j in range(a, b):
        y = x[idx[j]]
        if c == 3:
            l0 = l1 = l2 = np.uint8(255)
            h0 = h1 = h2 = np.uint8(0)
            for q in range(npix):
                p = 3 * q
                v0 = y[p]
                v1 = y[p + 1]
                v2 = y[p + 2]
                l0 = min(l0, v0)
                l1 = min(l1, v1)
                l2 = min(l2, v2)
                h0 = max(h0, v0)
                h1 = max(h1, v1)
                h2 = max(h2, v2)
            out[j, 0, 0] = l0
            out[j, 1, 0] = l1
            out[j, 2, 0] = l2
            out[j, 0, 1] = h0
            out[j, 1, 1] = h1
            out[j, 2, 1] = h2
        else:
            lo = np.uint8(255)
            hi = np.uint8(0)
            for q in range(npix):
                lo = min(lo, y[q])
                hi = max(hi, y[q])
            out[j, 0, 0] = lo
            out[j, 0, 1] = hi


@kernel
def hist_idx(x, idx, a, b, c, hist):
    """Per image ``idx[j]`` and channel histograms into ``hist[j]`` ((C * 256,) int64, zeroed)."""
    npix = x.shape[1] // c
    h32 = np.zeros(2 * c * 256, np.int32)
    for j in range(a, b):
        y = x[idx[j]]
        h32[:] = 0
        # Two tables (even and odd pixels): consecutive increments of one bin do not
        # wait on each other's store.
        if c == 3:
            for q in range(npix):
                p = 3 * q
                o = (q & 1) * 768
                h32[o + y[p]] += 1
                h32[o + 256 + y[p + 1]] += 1
                h32[o + 512 + y[p + 2]] += 1
        else:
            for q in range(npix):
                h32[(q & 1) * 256 + y[q]] += 1
        for k in range(c * 256):
            hist[j, k] = h32[k] + h32[c * 256 + k]


@kernel
def gray_sum_idx(x, idx, a, b, c, out):
    """Per image ``idx[j]``: the sum of its uint8 grayscale image (truncated, as torchvision's
    ``rgb_to_grayscale`` of uint8), or of its values for one channel, into ``out[j]``."""
    npix = x.shape[1] // c
    for j in range(a, b):
        y = x[idx[j]]
        s = 0
        if c == 3:
            for q in range(npix):
                p = 3 * q
                gr = _gray(np.float32(y[p]), np.float32(y[p + 1]), np.float32(y[p + 2]))
                s += np.int64(gr)  # >= 0: truncation is floor
        else:
            for q in range(npix):
                s += np.int64(y[q])
        out[j] = s


@kernel
def saturation_idx(x, idx, a, b, fs, rs):
    """``adjust_saturation`` of 3-channel uint8 images ``idx[a:b]`` in place.

    ``fs``, ``rs``: per listed image the factor and ``1 - factor`` (float32). The
    arithmetic is :func:`_op_saturation`'s for uint8.
    """
    npix = x.shape[1] // 3
    zero = np.float32(0.0)
    bound = np.float32(255.0)
    for j in range(a, b):
        y = x[idx[j]]
        f = fs[j]
        rest = rs[j]
        for q in range(npix):
            p = 3 * q
            r = np.float32(y[p])
            g = np.float32(y[p + 1])
            bl = np.float32(y[p + 2])
            gr = np.floor(_gray(r, g, bl))
            r = min(max(_fma(gr, rest, r * f), zero), bound)
            g = min(max(_fma(gr, rest, g * f), zero), bound)
            bl = min(max(_fma(gr, rest, bl * f), zero), bound)
            y[p] = np.uint8(r)
            y[p + 1] = np.uint8(g)
            y[p + 2] = np.uint8(bl)


@helper(error_model="numpy")
def _sharp_row(u0, u1, u2, m0, m1, m2, d0, d1, d2, ob, rest):
    """One sharpened row: ``ob[k]`` from the 3x3 neighbourhood ``(u|m|d)(0|1|2)[k]``.

    The callers pass each tap as a view shifted by its offset, so every index is
    the plain loop counter: Numba's negative-index fix-ups of ``k - c`` (or of
    ``k + c`` with a run-time ``c``) stopped the vectoriser (5-10x slower).
    """
    zero = np.float32(0.0)
    bound = np.float32(255.0)
    for k in range(len(ob)):
        s = (np.int32(u0[k]) + np.int32(u1[k]) + np.int32(u2[k])
             + np.int32(m0[k]) + np.int32(m1[k]) * 5 + np.int32(m2[k])
             + np.int32(d0[k]) + np.int32(d1[k]) + np.int32(d2[k]))
        v = np.float32(m1[k])
        # s + 6.5 > 0: the truncating conversion is the floor.
        blur = np.float32(np.int32((np.float32(s) + np.float32(6.5)) * np.float32(1.0 / 13.0)))
        t = np.float32(np.float64(blur - v) * rest + np.float64(v))
        t = min(max(t, zero), bound)
        ob[k] = np.uint8(np.int32(t))


@kernel(error_model="numpy")
def sharpness_idx(x, idx, a, b, h, w, c, rests):
    """torchvision ``adjust_sharpness`` of uint8 images ``idx[a:b]`` ((H * W * C) each), in place.

    torchvision's blur is ``(5 x + the 8 neighbours) / 13`` in float32, rounded half
    to even: an integer over 13 is never within 1/26 of a half, so
    ``floor((s + 6.5) / 13)`` is that rounding exactly (the float32 product errs
    by under 1e-4, and ``(s + 6.5) / 13`` is at least 1/26 from an integer). The
    blend is ``x + (1 - factor) * (blur - x)``, PyTorch's fused ``add_(alpha=)``:
    the float64 sum of the exact product, rounded to float32, clamped and
    truncated (the scalar kernel's arithmetic, value for value). The border is
    kept. Rows are written in place: the two original rows above are kept in
    buffers; each row is computed into a third, then copied in.
    """
    rw = w * c
    m = rw - 2 * c
    prev = np.empty(rw, np.uint8)
    cur = np.empty(rw, np.uint8)
    ob = np.empty(rw, np.uint8)
    for j in range(a, b):
        y = x[idx[j]]
        rest = np.float64(rests[j])
        for k in range(rw):
            prev[k] = y[k]
            cur[k] = y[rw + k]
        for r in range(1, h - 1):
            o = r * rw
            nx = y[o + rw:o + 2 * rw]  # still the original: written on the next row
            _sharp_row(prev[:m], prev[c:c + m], prev[2 * c:], cur[:m], cur[c:c + m],
                       cur[2 * c:], nx[:m], nx[c:c + m], nx[2 * c:], ob[:m], rest)
            prev, cur = cur, prev
            for k in range(rw):
                cur[k] = nx[k]
            dst = y[o + c:o + c + m]
            for k in range(m):
                dst[k] = ob[k]
