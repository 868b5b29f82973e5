"""Batched crop + resize (+ pad, flip, scale/normalise): torchvision v2's ``resized_crop``.

Each output image is ``resize(crop(pad(image)))`` of its own source image and
box, then flipped, then ``v * mul[c] + add[c]``, written channels-last or
channels-first; every image of the batch has the same output size.

The resampling follows PyTorch's CPU ``interpolate`` (``align_corners=False``),
which is what torchvision v2 calls for tensors:

* Per axis, each output index ``i`` reads a run of source taps
  ``[xmin, xmin + xsize)`` of the *crop* (taps never reach past the crop: the
  crop is materialised first in torchvision) with normalised weights.
  Antialiased (``_compute_indices_min_size_weights_aa``, PIL's scheme):
  ``center = scale * (i + 0.5)``, ``support = interp_size / 2 * max(scale, 1)``,
  weight ``filter((x - center + 0.5) / max(scale, 1))``, bicubic with ``a = -0.5``.
  Not antialiased (``_compute_indices_min_size_weights``): the two or four
  classic taps around ``scale * (i + 0.5) - 0.5`` (clamped at 0 for bilinear),
  bicubic with ``a = -0.75``, taps past an edge merged into the edge tap.
  Nearest: ``floor(float32(i) * float32(in / out))`` (PyTorch's legacy
  ``nearest``), computed in float32 as PyTorch does.
* uint8 input takes PyTorch's integer path (the one torchvision uses on AVX2
  CPUs for bilinear, and everywhere for bicubic): the weights become int16 with
  a per-axis precision (``_compute_index_ranges_int16_weights``), the
  horizontal pass rounds to uint8, the vertical pass from that, so the result
  before the epilogue is PyTorch's uint8 result.
* float32 input computes in float32 from float64 weight tables.

Tables (tap runs and weights per output row and column) are built per image
inside the kernel. A crop the same size as the output is copied (torchvision
returns the crop unchanged when the size does not change), row by row: the
columns inside the image as one run, only the padded border looked up.

Speed (uint8): both passes are weighted sums of whole rows. The vertical pass
naturally so; the horizontal pass, row-major, is a gather per output pixel
(scalar), so the crop region is first stored column-major (a transpose, in the
caller's scratch, in strips of rows when the region is larger than that) and
each output column becomes a weighted sum of whole source columns; the result
is written back row-major. Those sums run in
``_fir_u8`` blocks (LLVM vector IR): 32 int32 lanes kept in registers across
the taps, int16 weights (pmaddwd on x86), the rounding shift and clamp in int32.
RGB transposes move pixels as 32-bit words. An axis whose integer pass is the
identity (its size unchanged) is skipped, as PyTorch skips it. A horizontal
flip is folded into the horizontal pass (its column tables reversed). A plain
uint8 copy out has the vertical pass write the output in place; float and
channels-first output is written row by row as the vertical pass makes each
row (the stores overlap the filtering), each plane with unit stride
(vectorised, deinterleaving loads). Helpers that take arrays are called per
image, not per row or tap: each such call costs an atomic reference count per
array.

Kernels are serial and release the GIL; callers split batches over threads
(``fastaug/_pool.py``). Three kernels: :func:`resize_u8`, :func:`resize_f32` and
:func:`copy_images` (boxes copied or sampled nearest, either input dtype); the
output dtype is a second signature of each. The caller sends each image to its
kernel, so a recipe compiles only what it runs: CIFAR's padded crops never
compile the resampling (first call with an empty cache: 3 s instead of 14 s),
and an ImageNet-style recipe only compiles the copy if a box comes out the
output's size. No helper is called with a literal argument: each literal is a
signature, a compile, of its own.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ._jit import helper, kernel

# Interpolation codes, in the order of fastaug.resample.INTERPOLATIONS.
NEAREST = 0
BILINEAR = 1
BICUBIC = 2

# Epilogue kinds (:func:`_write_rows`, :func:`_copy_image`).
_E_COPY = 0  # integer values into uint8, no epilogue: a copy
_E_LUT = 1  # uint8 values: the epilogue as one 256-entry table per channel
_E_ARITH = 2  # float values: v * mul + add (rounded for uint8 output)

# Padding modes, in the order of fastaug.resample.PADDING_MODES.
PAD_CONSTANT = 0
PAD_EDGE = 1
PAD_REFLECT = 2
PAD_SYMMETRIC = 3


# Lanes of one _fir_u8 block: 32 int32 accumulators (two AVX-512 registers).
FIR_LANES = 32
_I8 = ir.IntType(8)
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)


def _splat_n(builder, value, n):
    vec = builder.insert_element(ir.Constant(ir.VectorType(value.type, n), ir.Undefined),
                                 value, ir.Constant(_I32, 0))
    return builder.shuffle_vector(vec, vec, ir.Constant(ir.VectorType(_I32, n), [0] * n))


@intrinsic
def _fir_u8(typingctx, src, p0, stride, n, wts, wb, half, shift, dst, d0):
    """``FIR_LANES`` outputs of an integer FIR along a strided axis, rounded to uint8.

    ``dst[d0 + m] = clamp((half + sum_t src[p0 + t*stride + m] * wts[wb + t]) >> shift,
    0, 255)`` for ``m < FIR_LANES``, ``t < n`` (converted to ``dst``'s dtype: uint8, or
    float32 for the typing of a branch that writes uint8 only): the sum in int32 lanes
    (PyTorch's own accumulator width), held in registers across the taps. The
    plain Numba loop kept the sums in an array (a load and store per tap) and
    clamped in int64. ``wts`` is int32 holding int16 values: :func:`int_weights`
    picks the precision so that every weight fits int16 (PyTorch stores them as
    int16), and the multiply relies on it. Integer arguments may be any width.
    """
    ok = (isinstance(src, types.Array) and src.dtype == types.uint8
          and isinstance(dst, types.Array) and dst.dtype in (types.uint8, types.float32)
          and isinstance(wts, types.Array) and wts.dtype == types.int32)
    if not ok:
        raise TypeError("_fir_u8: expected a uint8 src, uint8/float32 dst, int32 weights")
    sig = types.void(src, p0, stride, n, wts, wb, half, shift, dst, d0)

    def codegen(context, builder, signature, args):
        tys = signature.args
        srcv, _, _, _, wv, _, _, _, dstv, _ = args

        def i64(k):
            return context.cast(builder, args[k], tys[k], types.int64)

        p0v, sv, nv, wbv, hv, shv, d0v = (i64(k) for k in (1, 2, 3, 5, 6, 7, 9))
        lanes = FIR_LANES
        v8 = ir.VectorType(_I8, lanes)
        v32 = ir.VectorType(_I32, lanes)
        sdata = context.make_array(tys[0])(context, builder, srcv).data
        wdata = context.make_array(tys[4])(context, builder, wv).data
        ddata = context.make_array(tys[8])(context, builder, dstv).data
        accp = cgutils.alloca_once_value(builder, _splat_n(builder, builder.trunc(hv, _I32),
                                                           lanes))
        with cgutils.for_range(builder, nv) as loop:
            t = loop.index
            ptr = builder.gep(sdata, [builder.add(p0v, builder.mul(t, sv))])
            vec = builder.load(builder.bitcast(ptr, v8.as_pointer()), align=1)
            # PyTorch's weights are int16: saying so (trunc + sext) lets LLVM multiply
            # with pmaddwd (one uop) instead of pmulld (two on Intel).
            w = builder.load(builder.gep(wdata, [builder.add(wbv, t)]))
            w = builder.sext(builder.trunc(w, ir.IntType(16)), _I32)
            term = builder.mul(builder.zext(vec, v32), _splat_n(builder, w, lanes))
            builder.store(builder.add(builder.load(accp), term), accp)
        r = builder.ashr(builder.load(accp), _splat_n(builder, builder.trunc(shv, _I32), lanes))
        zero = ir.Constant(v32, [0] * lanes)
        top = ir.Constant(v32, [255] * lanes)
        r = builder.select(builder.icmp_signed("<", r, zero), zero, r)
        r = builder.select(builder.icmp_signed(">", r, top), top, r)
        dptr = builder.gep(ddata, [d0v])
        out = builder.trunc(r, v8)
        if tys[8].dtype == types.float32:
            out = builder.uitofp(out, ir.VectorType(ir.FloatType(), lanes))
        builder.store(out, builder.bitcast(dptr, out.type.as_pointer()), align=1)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _move4(typingctx, src, p, dst, q):
    """``dst[q:q+4] = src[p:p+4]`` (uint8 arrays) as one unaligned 32-bit load and store.

    An RGB pixel plus the byte after it: callers make sure that byte exists in
    ``src`` and that the one written after the pixel in ``dst`` is written again
    later (or spare). Numba moved the three bytes one at a time.
    """
    if not (isinstance(src, types.Array) and src.dtype == types.uint8
            and isinstance(dst, types.Array) and dst.dtype == types.uint8):
        raise TypeError("_move4: expected uint8 arrays")
    sig = types.void(src, p, dst, q)

    def codegen(context, builder, signature, args):
        tys = signature.args
        sdata = context.make_array(tys[0])(context, builder, args[0]).data
        ddata = context.make_array(tys[2])(context, builder, args[2]).data
        pv = context.cast(builder, args[1], tys[1], types.int64)
        qv = context.cast(builder, args[3], tys[3], types.int64)
        word = builder.load(builder.bitcast(builder.gep(sdata, [pv]), _I32.as_pointer()),
                            align=1)
        builder.store(word, builder.bitcast(builder.gep(ddata, [qv]), _I32.as_pointer()),
                      align=1)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _reverse16_rgb(typingctx, src, p, dst, q):
    """``dst[q:q+48]`` = the 16 RGB pixels of ``src[p:p+48]`` (uint8) in reverse order,
    converted to ``dst``'s dtype (uint8 or float32): one load, a shuffle, one store."""
    if not (isinstance(src, types.Array) and src.dtype == types.uint8
            and isinstance(dst, types.Array) and dst.dtype in (types.uint8, types.float32)):
        raise TypeError("_reverse16_rgb: expected a uint8 source, a uint8/float32 target")
    sig = types.void(src, p, dst, q)

    def codegen(context, builder, signature, args):
        tys = signature.args
        sdata = context.make_array(tys[0])(context, builder, args[0]).data
        ddata = context.make_array(tys[2])(context, builder, args[2]).data
        pv = context.cast(builder, args[1], tys[1], types.int64)
        qv = context.cast(builder, args[3], tys[3], types.int64)
        v48 = ir.VectorType(_I8, 48)
        vec = builder.load(builder.bitcast(builder.gep(sdata, [pv]), v48.as_pointer()), align=1)
        mask = ir.Constant(ir.VectorType(_I32, 48),
                           [3 * (15 - k) + ch for k in range(16) for ch in range(3)])
        out = builder.shuffle_vector(vec, vec, mask)
        if tys[2].dtype == types.float32:
            out = builder.uitofp(out, ir.VectorType(ir.FloatType(), 48))
        dptr = builder.bitcast(builder.gep(ddata, [qv]), out.type.as_pointer())
        builder.store(out, dptr, align=1)
        return context.get_dummy_value()

    return sig, codegen


@helper
def pad_index(i: int, n: int, mode: int) -> int:
    """Source index of padded position ``i`` on an axis of ``n``; -1 means the fill value.

    ``reflect`` is whole-sample symmetric (``d c b | a b c d``), ``symmetric``
    half-sample (``c b a | a b c d``), as in torch/numpy padding; beyond one
    period they repeat with period ``2n - 2`` and ``2n`` (numpy's ``np.pad``).
    """
    if i >= 0 and i < n:
        return i
    if mode == PAD_CONSTANT:
        return -1
    if mode == PAD_EDGE or n == 1:
        return 0 if i < 0 else n - 1
    if mode == PAD_REFLECT:
        p = 2 * n - 2
        i = i % p  # Python's floor modulo: non-negative
        return i if i < n else p - i
    p = 2 * n
    i = i % p
    return i if i < n else p - 1 - i


@helper
def _filter(x: float, interp: int, a: float) -> float:
    x = abs(x)
    if interp == BILINEAR:
        return 1.0 - x if x < 1.0 else 0.0
    if x < 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    if x < 2.0:
        return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
    return 0.0


@helper
def axis_taps(n_in: int, n_out: int, interp: int, antialias: bool) -> int:
    """Most taps an output index of this axis reads (PyTorch's ``max_interp_size``)."""
    if interp == NEAREST:
        return 1
    size = 2 if interp == BILINEAR else 4
    if not antialias:
        return size
    scale = n_in / n_out
    support = size * 0.5 * scale if scale >= 1.0 else size * 0.5
    return int(math.ceil(support)) * 2 + 1


@helper
def axis_table(n_in, n_out, interp, antialias, taps, xmin, xsize, wts):
    """Fill ``xmin``, ``xsize`` (n_out) and ``wts`` (n_out * taps, float64); return wt_max.

    ``wt_max`` is PyTorch's (the largest weight, or partial sum of merged
    weights, seen while building): it sets the uint8 path's precision.
    """
    if interp == NEAREST:
        # Legacy nearest, in float32 like PyTorch's opmath for it.
        s = np.float32(n_in) / np.float32(n_out)
        for i in range(n_out):
            if n_out == n_in:
                k = i
            elif n_out == 2 * n_in:
                k = i >> 1
            else:
                k = min(int(np.floor(np.float32(i) * s)), n_in - 1)
            xmin[i] = k
            xsize[i] = 1
            wts[i] = 1.0
        return 1.0
    size = 2 if interp == BILINEAR else 4
    scale = n_in / n_out
    wt_max = 0.0
    if antialias:
        a = -0.5
        support = size * 0.5 * scale if scale >= 1.0 else size * 0.5
        invscale = 1.0 / scale if scale >= 1.0 else 1.0
        for i in range(n_out):
            base = i * taps
            center = scale * (i + 0.5)
            lo = max(int(center - support + 0.5), 0)  # int() truncates, as C++'s cast
            sz = min(int(center + support + 0.5), n_in) - lo
            sz = min(max(sz, 0), taps)
            total = 0.0
            for j in range(sz):
                w = _filter((j + lo - center + 0.5) * invscale, interp, a)
                wts[base + j] = w
                total += w
            if total != 0.0:
                for j in range(sz):
                    wts[base + j] /= total
                    wt_max = max(wt_max, wts[base + j])
            for j in range(sz, taps):
                wts[base + j] = 0.0
            xmin[i] = lo
            xsize[i] = sz
        return wt_max
    a = -0.75
    cubic = interp == BICUBIC
    support = size // 2
    for i in range(n_out):
        base = i * taps
        real = scale * (i + 0.5) - 0.5
        if not cubic and real < 0.0:
            real = 0.0
        # C++ floorf() on a double: rounded to float32 first.
        idx = min(int(np.floor(np.float32(real))), n_in - 1)
        lam = min(max(real - idx, 0.0), 1.0)
        ulo = idx - support + 1
        uhi = idx + support + 1
        lo = max(ulo, 0)
        sz = min(max(min(uhi, n_in) - lo, 0), taps)
        k = 0
        for j in range(taps):
            wts[base + j] = 0.0
            w = _filter(float(j + 1 - support) - lam, interp, a)
            if ulo + j <= 0:
                k = 0
            elif ulo + j >= n_in - 1:
                k = sz - 1
            wts[base + k] += w
            wt_max = max(wt_max, wts[base + k])
            k += 1
        xmin[i] = lo
        xsize[i] = sz
    return wt_max


@helper
def int_weights(wts, wt_max, interp):
    """PyTorch's int16 weights and their precision (bits) from float64 ``wts``."""
    out = np.empty(wts.size, np.int32)
    if interp == NEAREST:
        for k in range(wts.size):
            out[k] = 1
        return out, 0
    prec = 0
    while prec < 22:
        if int(0.5 + wt_max * (1 << (prec + 1))) >= (1 << 15):
            break
        prec += 1
    for k in range(wts.size):
        v = wts[k] * (1 << prec)
        out[k] = int(-0.5 + v) if v < 0 else int(0.5 + v)
    return out, prec


@helper
def _gather_row(src, row_base, sr, left, x0, x1, w, c, pad_mode, fillv, line):
    """Crop columns ``[x0, x1)`` of padded source row ``sr`` into ``line`` (index (x-x0)*c)."""
    for x in range(x0, x1):
        sc = pad_index(left + x, w, pad_mode)
        o = (x - x0) * c
        if sr < 0 or sc < 0:
            for ch in range(c):
                line[o + ch] = fillv[ch]
        else:
            p = row_base + sc * c
            for ch in range(c):
                line[o + ch] = src[p + ch]


# Adding and subtracting 1.5 * 2**23 rounds a float32 in [0, 2**22] half to even (the
# sum has no fraction bits left); np.rint was a libm call per value, 4x slower.
_ROUNDER = np.float32(12582912.0)


@helper
def _to_u8(v):
    """Clamp to [0, 255] and round half to even: the uint8 cast of an epilogue value."""
    v = min(max(v, np.float32(0.0)), np.float32(255.0))
    return (v + _ROUNDER) - _ROUNDER


@helper
def _write_rows(dst, dst_off, vals, oh, ow, c, hflip, vflip, chw, ekind, lut, mul, add, to_u8):
    """Epilogue of a whole image: ``vals`` (oh * ow * c, rows unflipped, channels last) to
    ``dst`` at ``dst_off``, flipped and laid out as asked.

    ``ekind`` as in :func:`_copy_image`: integer values in [0, 255] copied or looked
    up in ``lut`` (256 entries per channel), float values through ``v * mul + add``.
    One call per image, not per row: a call that takes arrays costs an atomic
    reference count per array, which per row was a tenth of a 224x224 image.
    Unsigned indices: no negative-index wrap on each access.
    """
    pstep = 1 if chw else c  # output step between pixels of a row
    cstep = np.uint64(oh * ow if chw else 1)  # and between channels of a pixel
    for i in range(oh):
        oi = oh - 1 - i if vflip else i
        ab = np.uint64(i * ow * c)  # row i of vals
        o0 = dst_off + oi * ow * pstep
        if ekind == _E_COPY and not chw and not hflip:
            uo = np.uint64(o0)
            for m in range(np.uint64(ow * c)):
                dst[uo + m] = vals[ab + m]
            continue
        if hflip:
            o0 += (ow - 1) * pstep
            ostep = -pstep
        else:
            ostep = pstep
        if c == 3 and chw and ekind != _E_COPY and not to_u8:
            # Float planes from interleaved values: unit-stride stores, so LLVM vectorises
            # the loop (deinterleaving loads); the same float32 operations as the table.
            m0 = mul[0]
            m1 = mul[1]
            m2 = mul[2]
            a0 = add[0]
            a1 = add[1]
            a2 = add[2]
            d0 = np.uint64(o0)
            d1 = d0 + cstep
            d2 = d1 + cstep
            u3 = np.uint64(3)
            if hflip:
                for k in range(np.uint64(ow)):
                    s = k * u3
                    dst[d0 - k] = np.float32(vals[ab + s]) * m0 + a0
                    dst[d1 - k] = np.float32(vals[ab + s + np.uint64(1)]) * m1 + a1
                    dst[d2 - k] = np.float32(vals[ab + s + np.uint64(2)]) * m2 + a2
            else:
                for k in range(np.uint64(ow)):
                    s = k * u3
                    dst[d0 + k] = np.float32(vals[ab + s]) * m0 + a0
                    dst[d1 + k] = np.float32(vals[ab + s + np.uint64(1)]) * m1 + a1
                    dst[d2 + k] = np.float32(vals[ab + s + np.uint64(2)]) * m2 + a2
            continue
        if c == 3:
            c2 = cstep + cstep
            u1 = np.uint64(1)
            u2 = np.uint64(2)
            if ekind == _E_LUT:
                for k in range(ow):
                    q = np.uint64(o0 + k * ostep)
                    s = np.uint64(3 * k)
                    dst[q] = lut[np.uint64(vals[ab + s])]
                    dst[q + cstep] = lut[np.uint64(vals[ab + s + u1]) + np.uint64(256)]
                    dst[q + c2] = lut[np.uint64(vals[ab + s + u2]) + np.uint64(512)]
                continue
            if ekind == _E_COPY:
                # Flipped or channels-first copies (the generic loop below was 3x slower).
                for k in range(ow):
                    q = np.uint64(o0 + k * ostep)
                    s = np.uint64(3 * k)
                    dst[q] = vals[ab + s]
                    dst[q + cstep] = vals[ab + s + u1]
                    dst[q + c2] = vals[ab + s + u2]
                continue
        uc = np.uint64(c)
        for k in range(ow):
            q = np.uint64(o0 + k * ostep)
            s = np.uint64(k) * uc
            for ch in range(c):
                uch = np.uint64(ch)
                v = vals[ab + s + uch]
                u = q + uch * cstep
                if ekind == _E_COPY:
                    dst[u] = v
                elif ekind == _E_LUT:
                    dst[u] = lut[np.uint64(v) + np.uint64(256) * uch]
                elif to_u8:
                    dst[u] = _to_u8(np.float32(v) * mul[ch] + add[ch])
                else:
                    dst[u] = np.float32(v) * mul[ch] + add[ch]


@helper
def _write_hflipped_rgb(vals, dst, dst_off, oh, ow, vflip):
    """:func:`_write_rows` for a plain flipped RGB copy (channels last, ``ow >= 16``):
    output pixel ``m`` of a row is pixel ``ow - 1 - m`` of ``vals``, in reversed blocks
    of 16 pixels (the last block overlapping the one before it)."""
    row = ow * 3
    for i in range(oh):
        oi = oh - 1 - i if vflip else i
        d = dst_off + oi * row
        ab = i * row
        m = 0
        while m < ow:
            m = min(m, ow - 16)
            _reverse16_rgb(vals, ab + (ow - 16 - m) * 3, dst, d + m * 3)
            m += 16


@helper
def _nearest(i, n_in, n_out):
    """PyTorch's legacy nearest source index of output ``i`` (float32, as its opmath)."""
    if n_out == n_in:
        return i
    if n_out == 2 * n_in:
        return i >> 1
    s = np.float32(n_in) / np.float32(n_out)
    return min(int(np.floor(np.float32(i) * s)), n_in - 1)


@helper
def _copy_image(src, off, h, w, c, top, left, bh, bw, sh, sw, wt, wl, oh, ow, pad_mode, fillv,
                dst, dst_off, hflip, vflip, chw, ekind, lut, mul, add, to_u8, line, cols):
    """One image whose box is not resampled: a same-size copy, or nearest (a gather).

    Per output row the source row is found once and the row is assembled in
    ``line`` (channels last, unflipped): for a copy the columns inside the image
    are one contiguous run, and only the padded border columns are looked up.
    The epilogue then writes ``line`` to ``dst``: a plain copy, a table lookup
    (uint8 values) or ``v * mul + add``. ``line`` (ow * c) and ``cols`` (ow) are
    the caller's scratch, reused for every image.

    Everything is inline loops with indices cast to unsigned: a call that takes
    arrays costs an atomic reference count per array per call (measured: they
    took 3/4 of the time with one call per row), and with signed indices Numba
    adds a negative-index wrap to each access, which also stops LLVM vectorising.
    """
    same = bh == sh and bw == sw
    cstart = left + wl  # source column of output column 0, for a copy
    ja = 0  # output columns [ja, jb) are inside the image (a copy only)
    jb = 0
    if same:
        ja = min(max(-cstart, 0), ow)
        jb = min(max(w - cstart, ja), ow)
        for j in range(ja):
            cols[j] = pad_index(cstart + j, w, pad_mode)
        for j in range(jb, ow):
            cols[j] = pad_index(cstart + j, w, pad_mode)
    else:
        for j in range(ow):
            cols[j] = pad_index(left + _nearest(wl + j, bw, sw), w, pad_mode)
    uc = np.uint64(c)
    u1 = np.uint64(1)
    u2 = np.uint64(2)
    pstep = 1 if chw else c  # output step between pixels of a row
    cstep = np.uint64(oh * ow if chw else 1)  # and between channels of a pixel
    cstep2 = cstep + cstep
    nrow = np.uint64(ow * c)
    m0 = mul[0]
    a0 = add[0]
    m1 = mul[min(1, c - 1)]
    a1 = add[min(1, c - 1)]
    m2 = mul[min(2, c - 1)]
    a2 = add[min(2, c - 1)]
    for i in range(oh):
        r = wt + i if same else _nearest(wt + i, bh, sh)
        sr = pad_index(top + r, h, pad_mode)
        oi = oh - 1 - i if vflip else i
        # The row into line: the inside run, then the border (or nearest) columns.
        if sr < 0:
            for j in range(ow):
                for ch in range(c):
                    line[np.uint64(j * c + ch)] = fillv[ch]
        else:
            rb = off + sr * w * c
            if jb > ja:
                up = np.uint64(rb + (cstart + ja) * c)
                uq = np.uint64(ja * c)
                for m in range(np.uint64((jb - ja) * c)):
                    line[uq + m] = src[up + m]
            for j in range(ow - (jb - ja)):
                if j >= ja:
                    j += jb - ja  # skip the inside run
                sc = cols[j]
                q = np.uint64(j * c)
                if sc < 0:
                    for ch in range(c):
                        line[q + np.uint64(ch)] = fillv[ch]
                else:
                    p = np.uint64(rb + sc * c)
                    for ch in range(c):
                        line[q + np.uint64(ch)] = src[p + np.uint64(ch)]
        # The epilogue, line to dst (pixel k of line is output column ow-1-k when flipped).
        o0 = dst_off + oi * ow * pstep
        if ekind == _E_COPY and not chw and not hflip:
            uo = np.uint64(o0)
            for m in range(nrow):
                dst[uo + m] = line[m]
            continue
        if hflip:
            o0 += (ow - 1) * pstep
            ostep = -pstep
        else:
            ostep = pstep
        if c == 3 and chw and ekind != _E_COPY and not to_u8:
            # As in _write_rows: unit-stride plane stores, vectorised.
            d0 = np.uint64(o0)
            d1 = d0 + cstep
            d2 = d1 + cstep
            if hflip:
                for k in range(np.uint64(ow)):
                    s = k * np.uint64(3)
                    dst[d0 - k] = np.float32(line[s]) * m0 + a0
                    dst[d1 - k] = np.float32(line[s + u1]) * m1 + a1
                    dst[d2 - k] = np.float32(line[s + u2]) * m2 + a2
            else:
                for k in range(np.uint64(ow)):
                    s = k * np.uint64(3)
                    dst[d0 + k] = np.float32(line[s]) * m0 + a0
                    dst[d1 + k] = np.float32(line[s + u1]) * m1 + a1
                    dst[d2 + k] = np.float32(line[s + u2]) * m2 + a2
            continue
        if c == 3:
            if ekind == _E_LUT:
                for k in range(ow):
                    q = np.uint64(o0 + k * ostep)
                    s = np.uint64(3 * k)
                    dst[q] = lut[np.uint64(line[s])]
                    dst[q + cstep] = lut[np.uint64(line[s + u1]) + np.uint64(256)]
                    dst[q + cstep2] = lut[np.uint64(line[s + u2]) + np.uint64(512)]
                continue
            if ekind == _E_COPY:
                for k in range(ow):
                    q = np.uint64(o0 + k * ostep)
                    s = np.uint64(3 * k)
                    dst[q] = line[s]
                    dst[q + cstep] = line[s + u1]
                    dst[q + cstep2] = line[s + u2]
                continue
        for k in range(ow):
            q = np.uint64(o0 + k * ostep)
            s = np.uint64(k) * uc
            for ch in range(c):
                uch = np.uint64(ch)
                v = line[s + uch]
                u = q + uch * cstep
                if ekind == _E_COPY:
                    dst[u] = v
                elif ekind == _E_LUT:
                    dst[u] = lut[np.uint64(v) + np.uint64(256) * uch]
                elif to_u8:
                    dst[u] = _to_u8(np.float32(v) * mul[ch] + add[ch])
                else:
                    dst[u] = np.float32(v) * mul[ch] + add[ch]


@helper
def _tables(bh, bw, sh, sw, wt, wl, oh, ow, interp, antialias):
    """Both axes' tables for resizing (bh, bw) to (sh, sw), cut to the output window.

    The weights (and ``wt_max``, hence the uint8 precision) are those of the
    whole (sh, sw) resize: a window is a crop after the resize.
    """
    ky = axis_taps(bh, sh, interp, antialias)
    kx = axis_taps(bw, sw, interp, antialias)
    ymin = np.empty(sh, np.int64)
    ysz = np.empty(sh, np.int64)
    wy = np.empty(sh * ky, np.float64)
    xmin = np.empty(sw, np.int64)
    xsz = np.empty(sw, np.int64)
    wx = np.empty(sw * kx, np.float64)
    ymax_w = axis_table(bh, sh, interp, antialias, ky, ymin, ysz, wy)
    xmax_w = axis_table(bw, sw, interp, antialias, kx, xmin, xsz, wx)
    if oh != sh or ow != sw:
        ymin = ymin[wt:wt + oh].copy()
        ysz = ysz[wt:wt + oh].copy()
        wy = wy[wt * ky:(wt + oh) * ky].copy()
        xmin = xmin[wl:wl + ow].copy()
        xsz = xsz[wl:wl + ow].copy()
        wx = wx[wl * kx:(wl + ow) * kx].copy()
    return ky, kx, ymin, ysz, wy, ymax_w, xmin, xsz, wx, xmax_w


@helper
def _span(vmin, vsz, n):
    """The union ``[lo, hi)`` of the tap runs of an axis (a 0-tap run reads nothing)."""
    lo = n
    hi = 0
    for i in range(vmin.size):
        if vsz[i] > 0:
            lo = min(lo, vmin[i])
            hi = max(hi, vmin[i] + vsz[i])
    if hi <= lo:
        return 0, 0
    return lo, hi


@helper
def _hpass_columns_u8(T, L, x0, xmin, xsz, wx, kx, px, hx, ow, c, hblk, tmp, row):
    """The horizontal pass on column-major rows: output column ``j`` is a weighted sum
    of whole source columns (``L`` = rows * c contiguous values each), rounded to uint8
    and written back row-major (``tmp[r * row + j * c]``).

    Each column is ``FIR_LANES``-value blocks of :func:`_fir_u8` (the last block
    overlaps the one before it), and columns go eight at a time through ``hblk``
    (8 * L + 1), so the write-back stores 8 pixels contiguously per row instead of
    one pixel per row per column.
    """
    uL = np.uint64(L)
    u1 = np.uint64(1)
    u2 = np.uint64(2)
    nrows = L // c
    for j0 in range(0, ow, 8):
        nb = min(8, ow - j0)
        for jj in range(nb):
            j = j0 + jj
            ta = (xmin[j] - x0) * L
            wb = j * kx
            hb = jj * L
            if L >= FIR_LANES:
                m = 0
                while m < L:
                    m = min(m, L - FIR_LANES)
                    _fir_u8(T, ta + m, L, xsz[j], wx, wb, hx, px, hblk, hb + m)
                    m += FIR_LANES
            else:
                for m in range(L):
                    acc = hx
                    for t in range(xsz[j]):
                        acc += np.int32(T[np.uint64(ta + t * L + m)]) * wx[wb + t]
                    hblk[np.uint64(hb + m)] = min(max(acc >> px, 0), 255)
        # Back to row-major: value r * c + ch of block column jj to tmp[r, j0 + jj, ch].
        if c == 3 and nb == 8:
            # Pixels as 32-bit moves: each store's fourth byte is the next pixel's first,
            # stored after it, except past the row's last pixel (byte stores there).
            # hblk has a spare byte after its last pixel.
            u3 = np.uint64(3)
            last = j0 + 8 == ow
            for r in range(nrows):
                q = np.uint64(r * row + j0 * 3)
                p = np.uint64(r * 3)
                for _ in range(7):
                    _move4(hblk, p, tmp, q)
                    q += u3
                    p += uL
                if last:
                    tmp[q] = hblk[p]
                    tmp[q + u1] = hblk[p + u1]
                    tmp[q + u2] = hblk[p + u2]
                else:
                    _move4(hblk, p, tmp, q)
        else:
            uc = np.uint64(c)
            for r in range(nrows):
                q = np.uint64(r * row + j0 * c)
                p = np.uint64(r * c)
                for _ in range(nb):
                    for ch in range(uc):
                        tmp[q + ch] = hblk[p + ch]
                    q += uc
                    p += uL


@helper
def _hpass_f32(arr, base, x0, xmin, xsz, wx, kx, ow, c, tmp, t0):
    """One crop row (crop column ``x`` at ``arr[base + (x - x0) * c]``) filtered in float32
    to ``tmp[t0:]``."""
    if c == 3:
        u3 = np.uint64(3)
        for j in range(ow):
            p = np.uint64(base + (xmin[j] - x0) * 3)
            wb = np.uint64(j * kx)
            we = wb + np.uint64(xsz[j])
            a0 = np.float32(0.0)
            a1 = np.float32(0.0)
            a2 = np.float32(0.0)
            while wb < we:
                wk = wx[wb]
                a0 += arr[p] * wk
                a1 += arr[p + np.uint64(1)] * wk
                a2 += arr[p + np.uint64(2)] * wk
                p += u3
                wb += np.uint64(1)
            o = t0 + j * 3
            tmp[o] = a0
            tmp[o + 1] = a1
            tmp[o + 2] = a2
        return
    if c == 1:
        for j in range(ow):
            p = np.uint64(base + xmin[j] - x0)
            wb = np.uint64(j * kx)
            we = wb + np.uint64(xsz[j])
            a0 = np.float32(0.0)
            while wb < we:
                a0 += arr[p] * wx[wb]
                p += np.uint64(1)
                wb += np.uint64(1)
            tmp[t0 + j] = a0
        return
    uc = np.uint64(c)
    for j in range(ow):
        p0 = np.uint64(base + (xmin[j] - x0) * c)
        w0 = np.uint64(j * kx)
        we = w0 + np.uint64(xsz[j])
        for ch in range(c):
            acc = np.float32(0.0)
            p = p0 + np.uint64(ch)
            wb = w0
            while wb < we:
                acc += arr[p] * wx[wb]
                p += uc
                wb += np.uint64(1)
            tmp[t0 + j * c + ch] = acc


@helper
def _vtap_f32(trow, wk, acc):
    for m in range(acc.size):
        acc[m] += trow[m] * wk


@helper
def _columns_in(src, off, h, w, c, top, left, y0, y1, x0, x1, pad_mode, fillv, line, T):
    """Crop rows ``[y0, y1)``, columns ``[x0, x1)`` (padded as ``pad_mode``) into
    column-major ``T``: crop pixel (r, x) channel ``ch`` at ``T[(x - x0) * L + (r - y0) * c
    + ch]``, ``L = (y1 - y0) * c``. Rows reaching outside the image go through ``line``.
    """
    ncols = x1 - x0
    L = (y1 - y0) * c
    uL = np.uint64(L)
    cols_inside = left + x0 >= 0 and left + x1 <= w
    rb = y0  # rows before rb are done in blocks
    if c == 3 and cols_inside:
        # Blocks of 8 rows inside the image: per column, 8 pixels to 24 contiguous bytes
        # of T (one store stream, not eight; 15-25% faster measured).
        # Pixels as 32-bit moves: each load reads the byte after the pixel (blocks
        # stop short of the source's last byte); each store's fourth byte is the next
        # row's first, stored later (blocks stop before the region's last row).
        u3 = np.uint64(3)
        rs = np.uint64(w * 3)
        while (rb + 8 < y1 and top + rb >= 0 and top + rb + 8 <= h
               and off + ((top + rb + 7) * w + left + x1) * 3 < src.size):
            b0 = np.uint64(off + ((top + rb) * w + left + x0) * 3)
            q0 = np.uint64((rb - y0) * 3)
            for x in range(np.uint64(ncols)):
                q = q0 + x * uL
                p = b0 + x * u3
                for _ in range(8):
                    _move4(src, p, T, q)
                    q += u3
                    p += rs
            rb += 8
    for r in range(rb, y1):
        sr = pad_index(top + r, h, pad_mode)
        q = np.uint64((r - y0) * c)
        if sr >= 0 and cols_inside:
            arr = src
            ub = np.uint64(off + (sr * w + left + x0) * c)
        else:
            _gather_row(src, off + max(sr, 0) * w * c, sr, left, x0, x1, w, c, pad_mode,
                        fillv, line)
            arr = line
            ub = np.uint64(0)
        if c == 3:
            for x in range(np.uint64(ncols)):
                p = ub + x * np.uint64(3)
                T[q] = arr[p]
                T[q + np.uint64(1)] = arr[p + np.uint64(1)]
                T[q + np.uint64(2)] = arr[p + np.uint64(2)]
                q += uL
        else:
            uc = np.uint64(c)
            for x in range(np.uint64(ncols)):
                p = ub + x * uc
                for ch in range(uc):
                    T[q + ch] = arr[p + ch]
                q += uL


@helper
def _vpass_u8(buf, base, stride, row, ymin, ysz, wy, ky, y0, py, hy, oh, vout, obase, vflip):
    """The vertical pass: output row ``i`` at ``vout[obase + i * row:][:row]`` (row
    ``oh - 1 - i`` if ``vflip``) from the rows its taps read, crop row ``r`` being
    ``buf[base + (r - y0) * stride:][:row]``: a weighted sum of whole rows in
    :func:`_fir_u8` blocks."""
    for i in range(oh):
        p = base + (ymin[i] - y0) * stride
        wb = i * ky
        ob = obase + (oh - 1 - i if vflip else i) * row
        if row >= FIR_LANES:
            m = 0
            while m < row:
                m = min(m, row - FIR_LANES)
                _fir_u8(buf, p + m, stride, ysz[i], wy, wb, hy, py, vout, ob + m)
                m += FIR_LANES
        else:
            for m in range(row):
                acc = hy
                for k in range(ysz[i]):
                    acc += np.int32(buf[np.uint64(p + k * stride + m)]) * wy[wb + k]
                vout[np.uint64(ob + m)] = min(max(acc >> py, 0), 255)


@helper
def _reverse_columns(xmin, xsz, wx, kx, ow):
    """Reverse the horizontal tables in place: output column ``j`` takes column
    ``ow - 1 - j``'s taps."""
    ukx = np.uint64(kx)
    for j in range(np.uint64(ow // 2)):
        q = np.uint64(ow - 1) - j
        xmin[j], xmin[q] = xmin[q], xmin[j]
        xsz[j], xsz[q] = xsz[q], xsz[j]
        for t in range(ukx):
            a = j * ukx + t
            b = q * ukx + t
            wx[a], wx[b] = wx[b], wx[a]


@helper
def _vpass_out(buf, row, ymin, ysz, wy, ky, y0, py, hy, oh, ow, dst, dst_off, vflip, chw, mul,
               add, to_u8):
    """:func:`_vpass_u8` of RGB rows ``buf`` (stride ``row`` >= ``FIR_LANES``) with the
    epilogue fused: each output row is made in a small buffer and written out at once,
    as float ``v * mul[ch] + add[ch]`` (channels first or last) or, with ``to_u8``, as
    a channels-first uint8 copy. The stores of an image overlap the filtering instead
    of following it as a second pass (float: 70 us of 240 for a 224x224 image,
    measured). RGB only: other channel counts keep the two passes (compile time)."""
    vals = np.empty(row, np.uint8)
    plane = np.uint64(oh * ow)
    u1 = np.uint64(1)
    u2 = np.uint64(2)
    u3 = np.uint64(3)
    m0, m1, m2 = mul[0], mul[1], mul[2]
    a0, a1, a2 = add[0], add[1], add[2]
    for i in range(oh):
        p = (ymin[i] - y0) * row
        m = 0
        while m < row:
            m = min(m, row - FIR_LANES)
            _fir_u8(buf, p + m, row, ysz[i], wy, i * ky, hy, py, vals, m)
            m += FIR_LANES
        oi = oh - 1 - i if vflip else i
        if not chw:
            d = np.uint64(dst_off + oi * row)
            for k in range(np.uint64(0), np.uint64(row), u3):
                dst[d + k] = np.float32(vals[k]) * m0 + a0
                dst[d + k + u1] = np.float32(vals[k + u1]) * m1 + a1
                dst[d + k + u2] = np.float32(vals[k + u2]) * m2 + a2
            continue
        # Unit-stride plane stores: LLVM vectorises them (deinterleaving loads).
        d0 = np.uint64(dst_off + oi * ow)
        d1 = d0 + plane
        d2 = d1 + plane
        if to_u8:
            for k in range(np.uint64(ow)):
                s = k * u3
                dst[d0 + k] = vals[s]
                dst[d1 + k] = vals[s + u1]
                dst[d2 + k] = vals[s + u2]
        else:
            for k in range(np.uint64(ow)):
                s = k * u3
                dst[d0 + k] = np.float32(vals[s]) * m0 + a0
                dst[d1 + k] = np.float32(vals[s + u1]) * m1 + a1
                dst[d2 + k] = np.float32(vals[s + u2]) * m2 + a2


@helper
def _identity_start(vmin, vsz, wts, k, prec, n):
    """Where an axis's integer pass is the identity: the first source index, else -1.

    The pass is the identity when output ``i`` has one tap of weight ``1 << prec``
    at source ``s + i`` and every other tap weighs 0: ``(v << prec) + half >> prec``
    is ``v`` (``half < 1 << prec``), so skipping the pass is exact. That is any
    unchanged size (PyTorch skips such an axis too), antialiased or not.
    """
    one = 1 << prec
    s = -1
    for i in range(n):
        hit = -1
        for t in range(vsz[i]):
            wv = wts[i * k + t]
            if wv == one and hit < 0:
                hit = vmin[i] + t
            elif wv != 0:
                return -1
        if hit < 0 or (i > 0 and hit != s + i):
            return -1
        if i == 0:
            s = hit
    return s


@helper
def _resize_u8(src, off, h, w, c, top, left, bh, bw, sh, sw, wt, wl, oh, ow, interp, antialias,
               pad_mode, fillv, dst, dst_off, hflip, vflip, chw, ekind, lut, mul, add, to_u8,
               cscratch):
    """One image resampled (uint8 path): horizontal pass to uint8 rows, vertical pass, epilogue.

    An axis whose pass is the identity (:func:`_identity_start`) is not filtered:
    its rows or columns are taken as they are.
    """
    ky, kx, ymin, ysz, wyf, ymw, xmin, xsz, wxf, xmw = _tables(bh, bw, sh, sw, wt, wl, oh,
                                                              ow, interp, antialias)
    wy, py = int_weights(wyf, ymw, interp)
    wx, px = int_weights(wxf, xmw, interp)
    hx = (1 << px) >> 1
    hy = (1 << py) >> 1
    sy = _identity_start(ymin, ysz, wy, ky, py, oh)
    sx = _identity_start(xmin, xsz, wx, kx, px, ow)
    if hflip and sx < 0:
        # The horizontal pass writes its columns flipped (its tables reversed), so the
        # epilogue runs forward: reversed stores were 10 us an image slower.
        _reverse_columns(xmin, xsz, wx, kx, ow)
        hflip = False
    if sy >= 0:
        y0 = sy
        y1 = sy + oh
    else:
        y0, y1 = _span(ymin, ysz, bh)
    if sx >= 0:
        x0 = sx
        x1 = sx + ow
    else:
        x0, x1 = _span(xmin, xsz, bw)
    nrows = y1 - y0
    ncols = x1 - x0
    row = ow * c
    cols_inside = left + x0 >= 0 and left + x1 <= w
    # Typed values, not literals: a literal argument is a signature (a compile) of its own.
    zero = np.int64(0)
    no = np.bool_(False)
    # A plain copy out: the vertical pass writes the output rows in place.
    direct = ekind == _E_COPY and not chw and not hflip
    if sx >= 0 and sy < 0 and cols_inside and top + y0 >= 0 and top + y1 <= h:
        # Only the vertical pass, straight from the source rows.
        sbase = off + ((top + y0) * w + left + x0) * c
        if direct:
            _vpass_u8(src, sbase, w * c, row, ymin, ysz, wy, ky, y0, py, hy, oh, dst, dst_off,
                      vflip)
            return
        vout = np.empty(oh * row, np.uint8)
        _vpass_u8(src, sbase, w * c, row, ymin, ysz, wy, ky, y0, py, hy, oh, vout, zero, no)
        _write_u8(dst, dst_off, vout, oh, ow, c, hflip, vflip, chw, ekind, lut, mul, add, to_u8)
        return
    tmp = np.empty(max(nrows, 1) * row, np.uint8)  # every row is written before it is read
    line = np.empty(max(ncols, 1) * c, np.uint8)
    if sx >= 0:
        # No horizontal pass: the crop rows' columns [x0, x1) as they are.
        for r in range(y0, y1):
            sr = pad_index(top + r, h, pad_mode)
            t0 = np.uint64((r - y0) * row)
            if sr >= 0 and cols_inside:
                arr = src
                ub = np.uint64(off + (sr * w + left + x0) * c)
            else:
                _gather_row(src, off + max(sr, 0) * w * c, sr, left, x0, x1, w, c, pad_mode,
                            fillv, line)
                arr = line
                ub = np.uint64(0)
            for m in range(np.uint64(row)):
                tmp[t0 + m] = arr[ub + m]
    elif nrows > 0:
        # Horizontal pass on the crop region stored column-major (cscratch), in strips of
        # rows when the region is larger than the caller's cap: each output column is a
        # weighted sum of whole columns, a loop LLVM vectorises, where row-major it is a
        # scalar gather per pixel (2-2.5x slower, measured).
        per_row = max(ncols, 1) * c
        T = cscratch if cscratch.size >= per_row else np.empty(per_row, np.uint8)
        strip = min(nrows, T.size // per_row)
        hblk = np.empty(8 * strip * c + 1, np.uint8)
        for r0 in range(y0, y1, strip):
            r1 = min(r0 + strip, y1)
            _columns_in(src, off, h, w, c, top, left, r0, r1, x0, x1, pad_mode, fillv, line, T)
            _hpass_columns_u8(T, (r1 - r0) * c, x0, xmin, xsz, wx, kx, px, hx, ow, c, hblk,
                              tmp[(r0 - y0) * row:], row)
    if sy >= 0:
        # No vertical pass: tmp holds exactly the output rows.
        _write_u8(dst, dst_off, tmp, oh, ow, c, hflip, vflip, chw, ekind, lut, mul, add, to_u8)
        return
    if direct:
        _vpass_u8(tmp, zero, row, row, ymin, ysz, wy, ky, y0, py, hy, oh, dst, dst_off, vflip)
        return
    if (c == 3 and row >= FIR_LANES and not hflip
            and (not to_u8 or (chw and ekind == _E_COPY))):
        _vpass_out(tmp, row, ymin, ysz, wy, ky, y0, py, hy, oh, ow, dst, dst_off, vflip, chw,
                   mul, add, to_u8)
        return
    vout = np.empty(oh * row, np.uint8)
    _vpass_u8(tmp, zero, row, row, ymin, ysz, wy, ky, y0, py, hy, oh, vout, zero, no)
    _write_u8(dst, dst_off, vout, oh, ow, c, hflip, vflip, chw, ekind, lut, mul, add, to_u8)


@helper
def _write_u8(dst, dst_off, vals, oh, ow, c, hflip, vflip, chw, ekind, lut, mul, add, to_u8):
    """:func:`_write_rows` of uint8 values, flipped RGB copies in vector blocks."""
    if ekind == _E_COPY and hflip and c == 3 and not chw and ow >= 16:
        _write_hflipped_rgb(vals, dst, dst_off, oh, ow, vflip)
    else:
        _write_rows(dst, dst_off, vals, oh, ow, c, hflip, vflip, chw, ekind, lut, mul, add,
                    to_u8)


@helper
def _box(boxes, frames, flips, n):
    """Image ``n``'s box (top, left, height, width), frame (sh, sw, wt, wl) and flips."""
    return (boxes[4 * n], boxes[4 * n + 1], boxes[4 * n + 2], boxes[4 * n + 3],
            frames[4 * n], frames[4 * n + 1], frames[4 * n + 2], frames[4 * n + 3],
            flips[2 * n] != 0, flips[2 * n + 1] != 0)


@helper
def _epilogue(c, mul, add, to_u8, dst, u8_in):
    """The epilogue's kind (:func:`_copy_image`) and, for uint8 input (``u8_in``), its
    table: 256 entries per channel."""
    lut = np.empty(256 * c if u8_in else 1, dst.dtype)
    if not u8_in:
        return lut, _E_ARITH  # float values take the arithmetic epilogue
    ident = to_u8
    for ch in range(c):
        ident = ident and mul[ch] == 1.0 and add[ch] == 0.0
        for v in range(256):
            e = np.float32(v) * mul[ch] + add[ch]
            lut[256 * ch + v] = _to_u8(e) if to_u8 else e
    return lut, _E_COPY if ident else _E_LUT


@kernel
def resize_u8(src, offsets, heights, widths, c, boxes, frames, flips, oh, ow, interp, antialias,
              pad_mode, fill, mul, add, dst, chw, to_u8, idx, n0, n1, cscratch):
    """Images ``idx[n0:n1]`` of a uint8 batch (flat HWC ``src``) resampled into flat
    ``dst``; images whose box is not resampled go to :func:`copy_images` (a kernel
    of its own, so that a recipe compiles only the paths it uses).

    ``boxes`` (N*4 int64: top, left, height, width), ``frames`` (N*4 int64: the
    size (sh, sw) the box is resized to and the (top, left) of the (oh, ow) output
    window in it), ``flips`` (N*2 uint8: horizontal, vertical), ``fill`` (c values of
    the input's dtype), ``mul``/``add`` (c float32). ``cscratch`` (uint8, the
    caller's, so one buffer serves many calls): the column-major crop region of the
    horizontal pass; an image whose region is larger is filtered row by row.
    """
    lut, ekind = _epilogue(c, mul, add, to_u8, dst, np.bool_(True))
    per = oh * ow * c
    for q in range(n0, n1):
        n = idx[q]
        top, left, bh, bw, sh, sw, wt, wl, hflip, vflip = _box(boxes, frames, flips, n)
        _resize_u8(src, offsets[n], heights[n], widths[n], c, top, left, bh, bw, sh, sw, wt,
                   wl, oh, ow, interp, antialias, pad_mode, fill, dst, n * per, hflip, vflip,
                   chw, ekind, lut, mul, add, to_u8, cscratch)


@kernel
def copy_images(src, offsets, heights, widths, c, boxes, frames, flips, oh, ow, pad_mode, fill,
                mul, add, dst, chw, to_u8, idx, n0, n1):
    """Images ``idx[n0:n1]`` whose box is copied (its frame the box's size) or sampled
    nearest: :func:`_copy_image` of each, uint8 or float32 input, arguments as in
    :func:`resize_u8`."""
    lut, ekind = _epilogue(c, mul, add, to_u8, dst, src.itemsize == 1)
    per = oh * ow * c
    cline = np.empty(ow * c, src.dtype)
    ccols = np.empty(ow, np.int64)
    for q in range(n0, n1):
        n = idx[q]
        top, left, bh, bw, sh, sw, wt, wl, hflip, vflip = _box(boxes, frames, flips, n)
        _copy_image(src, offsets[n], heights[n], widths[n], c, top, left, bh, bw, sh, sw, wt,
                    wl, oh, ow, pad_mode, fill, dst, n * per, hflip, vflip, chw, ekind, lut,
                    mul, add, to_u8, cline, ccols)


@helper
def _resize_f32(src, off, h, w, c, top, left, bh, bw, sh, sw, wt, wl, oh, ow, interp, antialias,
                pad_mode, fillv, dst, dst_off, hflip, vflip, chw, ekind, lut, mul, add, to_u8):
    """One image resampled in float32: :func:`_resize_u8` without the rounding."""
    ky, kx, ymin, ysz, wyf, ymw, xmin, xsz, wxf, xmw = _tables(bh, bw, sh, sw, wt, wl, oh,
                                                              ow, interp, antialias)
    wy = wyf.astype(np.float32)
    wx = wxf.astype(np.float32)
    y0, y1 = _span(ymin, ysz, bh)
    x0, x1 = _span(xmin, xsz, bw)
    nrows = y1 - y0
    row = ow * c
    tmp = np.zeros(max(nrows, 1) * row, np.float32)
    line = np.empty(max(x1 - x0, 1) * c, np.float32)
    cols_inside = left + x0 >= 0 and left + x1 <= w
    for r in range(y0, y1):
        sr = pad_index(top + r, h, pad_mode)
        t0 = (r - y0) * row
        if sr >= 0 and cols_inside:
            _hpass_f32(src, off + sr * w * c + (left + x0) * c, x0, xmin, xsz, wx, kx, ow,
                       c, tmp, t0)
        else:
            _gather_row(src, off + max(sr, 0) * w * c, sr, left, x0, x1, w, c, pad_mode,
                        fillv, line)
            _hpass_f32(line, 0, x0, xmin, xsz, wx, kx, ow, c, tmp, t0)
    vout = np.zeros(oh * row, np.float32)
    for i in range(oh):
        wb = i * ky
        for k in range(ysz[i]):
            t0 = (ymin[i] + k - y0) * row
            _vtap_f32(tmp[t0:t0 + row], wy[wb + k], vout[i * row:(i + 1) * row])
    _write_rows(dst, dst_off, vout, oh, ow, c, hflip, vflip, chw, ekind, lut, mul, add, to_u8)


@kernel
def resize_f32(src, offsets, heights, widths, c, boxes, frames, flips, oh, ow, interp,
               antialias, pad_mode, fill, mul, add, dst, chw, to_u8, idx, n0, n1):
    """:func:`resize_u8` for float32 input: float32 arithmetic, no rounding between passes."""
    lut, ekind = _epilogue(c, mul, add, to_u8, dst, np.bool_(False))
    per = oh * ow * c
    for q in range(n0, n1):
        n = idx[q]
        top, left, bh, bw, sh, sw, wt, wl, hflip, vflip = _box(boxes, frames, flips, n)
        _resize_f32(src, offsets[n], heights[n], widths[n], c, top, left, bh, bw, sh, sw, wt,
                    wl, oh, ow, interp, antialias, pad_mode, fill, dst, n * per, hflip, vflip,
                    chw, ekind, lut, mul, add, to_u8)
