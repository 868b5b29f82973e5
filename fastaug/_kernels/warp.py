"""Fused batch affine warp: one pass over the output of a whole uint8/float32 batch.

Every image has its own inverse matrix (output pixel -> input coordinate). The pass
samples (nearest or bilinear) with scipy.ndimage's boundary modes, then applies the
per-image channel shift and brightness and the cast/rescale to the output dtype.

All arrays arrive C-contiguous and flattened, channels last, so one compiled kernel
per (channel class, order) and input dtype serves every shape and option. The output
arrives as bytes whatever its dtype (``to_uint8`` says which, at run time): a
float32 output's values are stored through ``_store_f32``. Typing the output would
double the compiled variants for two store loops' difference: 26 compiles of about
2.2 s each in the test suite, 16 without. The channel class (1, 3, 4 or any) and the
order reach ``warp_shared`` as the lengths of tuple arguments: a tuple's length is
part of its Numba type, so each pair is its own specialisation (literal trip counts,
unrolled channel loops), and Numba prunes branches on ``len(tup)`` before typing, so
a kernel never types or compiles the other classes' code. That is what keeps the
first batch's compile short: no IR inlining of a shared body into eight wrappers
(whose IR copies alone took seconds) and few separately compiled helpers. Flips,
whole-pixel shifts and crops with nothing to do to the values are row copies
(``copy_pixels``). Hot loops index with unsigned integers: Numba adds a
negative-index check to every signed index, which was about 40% of the gather
loop's instructions and stopped the vectoriser. Three- and four-channel images
take the four-lane steps of ``lanes.py`` (vector IR that LLVM would not produce
from the scalar loops; bit-identical to them). The kernels are serial and
release the GIL: callers parallelise over images with their own threads (see
``fastaug/_pool.py`` for why not ``parallel=True``).

Numba's cache is keyed to this file, not to ``lanes.py``: ``LANES_DIGEST`` below
is a digest of ``lanes.py`` that the suite checks, so editing ``lanes.py`` means
editing this file too, which is what makes Numba drop the cached kernels.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from ._jit import helper, kernel
from .lanes import (
    atomic_add,
    atomic_load,
    bilinear1x4,
    blend4,
    border4,
    border4_nearest,
    coords4,
    copy4,
    copy_run,
    offsets4,
    reverse_run1,
    reverse_run3,
    select,
)

# sha256 of lanes.py, first 16 hex digits (see the module docstring and _jit.py).
LANES_DIGEST = "1a793301aea3cfdb"

# Images of at most this many elements are sampled whole into the float buffer
# (32 KB) before the epilogue.
_WHOLE_IMAGE_ELEMENTS = 8192

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


@intrinsic
def _store_f32(typingctx, dst, i, value):
    """``dst[4*i:4*i+4]`` (a uint8 array) = the float32 ``value``'s bytes: element ``i``
    of the float32 array that ``dst`` views. An unaligned store: any address is safe."""
    if not (isinstance(dst, types.Array) and dst.dtype == types.uint8):
        raise TypeError("_store_f32: expected a uint8 array")
    sig = types.void(dst, i, types.float32)

    def codegen(context, builder, signature, args):
        tys = signature.args
        data = context.make_array(tys[0])(context, builder, args[0]).data
        idx = context.cast(builder, args[1], tys[1], types.int64)
        val = context.cast(builder, args[2], tys[2], types.float32)
        ptr = builder.gep(builder.bitcast(data, ir.FloatType().as_pointer()), [idx])
        builder.store(val, ptr, align=1)
        return context.get_dummy_value()

    return sig, codegen


_MINMAX_LANES = 16


@intrinsic
def _minmax_f32(typingctx, buf, count):
    """``(min, max)`` of ``buf[:count]`` (float32, ``count >= 1``), as the scalar loop
    ``vmin = min(vmin, x); vmax = max(vmax, x)`` from ``buf[0]`` gives them.

    Sixteen lanes, each started from ``buf[0]`` and updated with Numba's own
    ``min``/``max`` step (``x < acc ? x : acc``: a NaN never replaces a number, and
    a NaN ``buf[0]`` stays), then the lanes reduced with the same step: the same
    value as the loop, which LLVM does not vectorise (a float reduction needs
    fast-math). Only the sign of a zero minimum or maximum may differ.
    """
    if not (isinstance(buf, types.Array) and buf.dtype == types.float32):
        raise TypeError("_minmax_f32: expected a float32 array")
    sig = types.UniTuple(types.float32, 2)(buf, count)

    def codegen(context, builder, signature, args):
        tys = signature.args
        f32 = ir.FloatType()
        lanes = _MINMAX_LANES
        vt = ir.VectorType(f32, lanes)
        data = context.make_array(tys[0])(context, builder, args[0]).data
        n64 = context.cast(builder, args[1], tys[1], types.int64)
        first = builder.load(data)
        splat = builder.insert_element(ir.Constant(vt, ir.Undefined), first,
                                       ir.Constant(ir.IntType(32), 0))
        splat = builder.shuffle_vector(splat, splat, ir.Constant(
            ir.VectorType(ir.IntType(32), lanes), [0] * lanes))
        vmin = cgutils.alloca_once_value(builder, splat)
        vmax = cgutils.alloca_once_value(builder, splat)
        nblk = builder.sdiv(n64, ir.Constant(ir.IntType(64), lanes))
        with cgutils.for_range(builder, nblk) as loop:
            off = builder.mul(loop.index, ir.Constant(ir.IntType(64), lanes))
            v = builder.load(builder.bitcast(builder.gep(data, [off]), vt.as_pointer()),
                             align=4)
            lo = builder.load(vmin)
            hi = builder.load(vmax)
            builder.store(builder.select(builder.fcmp_ordered("<", v, lo), v, lo), vmin)
            builder.store(builder.select(builder.fcmp_ordered(">", v, hi), v, hi), vmax)
        lo_acc = cgutils.alloca_once_value(builder, first)
        hi_acc = cgutils.alloca_once_value(builder, first)
        lo_v = builder.load(vmin)
        hi_v = builder.load(vmax)
        for j in range(lanes):
            idx = ir.Constant(ir.IntType(32), j)
            a = builder.extract_element(lo_v, idx)
            b = builder.extract_element(hi_v, idx)
            cur = builder.load(lo_acc)
            builder.store(builder.select(builder.fcmp_ordered("<", a, cur), a, cur), lo_acc)
            cur = builder.load(hi_acc)
            builder.store(builder.select(builder.fcmp_ordered(">", b, cur), b, cur), hi_acc)
        tail = builder.mul(nblk, ir.Constant(ir.IntType(64), lanes))
        with cgutils.for_range(builder, builder.sub(n64, tail)) as loop:
            x = builder.load(builder.gep(data, [builder.add(tail, loop.index)]))
            cur = builder.load(lo_acc)
            builder.store(builder.select(builder.fcmp_ordered("<", x, cur), x, cur), lo_acc)
            cur = builder.load(hi_acc)
            builder.store(builder.select(builder.fcmp_ordered(">", x, cur), x, cur), hi_acc)
        return context.make_tuple(builder, signature.return_type,
                                  (builder.load(lo_acc), builder.load(hi_acc)))

    return sig, codegen


def _float_source(src):  # pragma: no cover - replaced by the overload in jitted code
    """Whether ``src`` holds float32 (a compile-time constant in jitted code)."""
    return src.dtype == np.float32


@overload(_float_source)
def _float_source_overload(src):
    is_float = src.dtype == types.float32
    return lambda src: is_float


@helper
def _map_exact(x: float, n: int, mode: int) -> float:
    """Bring an out-of-range coordinate into the image as scipy.ndimage does.

    Returns -1.0 for 'constant' outside [0, n-1], which the caller treats as cval.
    Mirrors scipy's ``map_coordinate`` (including its truncating divisions), so
    the sampled position is the same double scipy computes. scipy truncates the
    quotient by a cast to an integer; ``np.trunc`` gives the same double wherever
    that cast is defined (quotients below 2**63) and stays defined beyond it.
    """
    if x < 0.0:
        if mode == CONSTANT:
            return -1.0
        if mode == NEAREST or n <= 1:
            return 0.0
        if mode == MIRROR:
            sz2 = 2 * n - 2
            # Within one period the quotient truncates to 0 and scipy's update is
            # x itself: skip the division (the result is the same double).
            if -x >= sz2:
                x = sz2 * np.trunc(-x / sz2) + x
            return x + sz2 if x <= 1 - n else -x
        if mode == REFLECT:
            sz2 = 2 * n
            if x < -sz2:
                x = sz2 * np.trunc(-x / sz2) + x
            if x < -n:
                return x + sz2
            # A whole number of periods reduces to 0, where -x - 1 would be -1 and
            # read as 'outside'; scipy nudges it to -1 + 1e-15 (a tap at -1 that
            # reflects onto index 0).
            return (1e-15 if x > -1e-15 else -x) - 1.0
        # WRAP: scipy's legacy wrap has period n - 1.
        sz = n - 1
        if -x < sz:
            return x + sz
        return x + sz * (np.trunc(-x / sz) + 1.0)
    if x > n - 1:
        if mode == CONSTANT:
            return -1.0
        if mode == NEAREST or n <= 1:
            return float(n - 1) if mode == NEAREST else 0.0
        if mode == MIRROR:
            sz2 = 2 * n - 2
            if x >= sz2:
                x -= sz2 * np.trunc(x / sz2)
            return sz2 - x if x >= n else x
        if mode == REFLECT:
            sz2 = 2 * n
            if x >= sz2:
                x -= sz2 * np.trunc(x / sz2)
            return sz2 - x - 1.0 if x >= n else x
        sz = n - 1
        # Here x > sz; below 2 * sz the rounded quotient is in [1, 2).
        if x < 2 * sz:
            return x - sz
        return x - sz * np.trunc(x / sz)
    return x


@helper
def _tap(i: int, n: int, mode: int) -> int:
    """Index of a filter tap that fell one step outside [0, n-1] after mapping.

    After ``_map_exact`` (and ``_clamp_mapped``) a tap is at worst -1 or n.
    'mirror' extends whole-sample symmetric, the other modes repeat the edge sample (for 'reflect'
    that is its half-sample symmetry; for the rest the tap has zero weight).
    Written as selects: which side a tap falls on is as unpredictable as the
    position itself.
    """
    sym = mode == MIRROR and n > 1
    low = 1 if sym else 0
    high = n - 2 if sym else n - 1
    return select(i < 0, low, select(i >= n, high, i))


@helper
def _axis_span(a, b, inv_b, lim, lo, hi):
    """Narrow ``[lo, hi)`` towards the j with ``0 <= a + b*j <= lim`` (float estimate).

    Only an estimate: the caller settles both ends exactly. Comparisons that a
    NaN or infinite estimate makes false leave the bound as it was, so a
    degenerate matrix (a reciprocal that overflowed, say) costs time, never
    correctness.
    """
    if b > 0.0:
        lo_est = -a * inv_b
        hi_est = (lim - a) * inv_b + 1.0
    elif b < 0.0:
        lo_est = (lim - a) * inv_b
        hi_est = -a * inv_b + 1.0
    else:
        if a >= 0.0 and a <= lim:
            return lo, hi
        return lo, lo
    if lo_est > lo:
        lo = lo_est
    if hi_est < hi:
        hi = hi_est
    return lo, hi


@helper
def _inside_span(ybase, m1, xbase, m4, inv1, inv4, ow, ylim, xlim, strict):
    """The output columns ``[j0, j1)`` of a row whose samples need no mode logic.

    A sample is inside when ``0 <= y`` and ``y < ylim`` (``<=`` unless ``strict``),
    and the same for ``x``, with the coordinates as the kernel computes them,
    ``base + float(j) * m`` (``base`` the row's ``offset + r*m_row``: scipy's
    order of operations). Rounded, that is still monotone in ``j`` (a product and a
    sum by a constant, each correctly rounded), so the inside columns form one
    interval, and every column between two inside ends is inside: estimate the
    interval with the reciprocals ``inv1 = 1/m1``, ``inv4 = 1/m4``, then settle
    each end with the exact per-pixel test. A short estimate only sends pixels
    to the exact border path, so it costs time, never correctness.
    """
    lo, hi = _axis_span(ybase, m1, inv1, ylim, 0.0, float(ow))
    lo, hi = _axis_span(xbase, m4, inv4, xlim, lo, hi)
    # Here 0 <= lo and hi <= ow, so both convert to int safely.
    if not hi > lo:
        return 0, 0
    j0 = max(int(lo) - 1, 0)
    j1 = min(int(hi) + 1, ow)
    # The exact per-pixel test, the coordinates as everywhere: base + float(j) * m.
    # (Written out: each helper Numba compiles separately adds to the first
    # batch's compile time.)
    while j0 < j1:
        y = ybase + float(j0) * m1
        x = xbase + float(j0) * m4
        if y >= 0.0 and x >= 0.0 and (y < ylim and x < xlim if strict
                                      else y <= ylim and x <= xlim):
            break
        j0 += 1
    while j1 > j0:
        y = ybase + float(j1 - 1) * m1
        x = xbase + float(j1 - 1) * m4
        if y >= 0.0 and x >= 0.0 and (y < ylim and x < xlim if strict
                                      else y <= ylim and x <= xlim):
            break
        j1 -= 1
    return j0, j1


@helper
def _clamp_mapped(v, n):
    """A mapped coordinate limited to ``[-1, n]`` (NaN to -1, which reads as cval).

    Within the guaranteed range this changes nothing (mapped coordinates lie in
    (-1, n)); beyond it (coordinates past 2**52 or overflowed to inf, where the
    mapping's arithmetic loses every digit) it keeps the later float-to-int
    conversions defined, and ``_tap`` then keeps every tap inside the image.
    """
    return select(v >= -1.0, select(v <= float(n), v, float(n)), -1.0)


@kernel
def warp_shared(ctrl, chunk, src, index, dst, ntotal, h, w, cn, oh, ow, mats, shifts,
                shift_on, brights, bright_on, lo, hi, otup, mode, cval, scale, to_uint8, ctup,
                team, publish, gen, linger):
    """Warp source images ``index[i]`` of ``src`` into ``dst[i]`` (flat, NHWC), ``i < ntotal``,
    in chunks of ``chunk`` images taken from a shared counter. ``dst`` is the output's
    bytes: uint8 values with ``to_uint8``, else float32 values (``_store_f32``).

    ``ctrl`` is int64[2]: ``ctrl[0]`` the next chunk to take, ``ctrl[1]`` the
    chunks finished. Every thread that calls this with the same ``ctrl`` takes
    chunks until none is left, so threads that start late take fewer and a
    thread that starts after the batch is done does nothing; the caller waits
    for ``ctrl[1]`` to reach the chunk count (:func:`chunks_done`) instead of for
    the other threads to return to Python. Returns the number of chunks this
    call warped. (The chunk loop is part of this function, not a wrapper around
    a per-chunk one: a second function made the first batch compile 0.3 s longer.)

    ``team`` is the helper team's generation counter (``fastaug._pool._Team``):
    with ``publish`` the caller announces the batch there once it is inside this
    function (a helper that sees it then finds the GIL free), and a helper waits
    up to ``linger`` polls after its last chunk for an announcement after its
    batch's (``gen``) before it returns, so that it does not take the GIL back
    just as the caller needs it for the next batch's Python.

    ``mats`` is (N, 6): row = m0*r + m1*c + m2, col = m3*r + m4*c + m5. Each output
    row is sampled into a float32 buffer in three segments, left to right: the
    columns before the inside span, the span (the columns whose taps are all
    inside the image: one interval, found analytically) on the fast path, and the
    columns after it. Outside the span scipy's per-pixel mode logic decides. One
    more pass applies brightness and rescale and casts to ``dst``. With
    ``shift_on`` the buffer holds the whole image, because Keras clips the shift
    to the warped image's own range, known only once the whole image is warped;
    small images (``_WHOLE_IMAGE_ELEMENTS``) too, so that their epilogue is one
    long vectorised pass instead of a short one per row.

    The row code is written out here rather than in helpers that take arrays:
    every array passed to an inlined helper costs a reference-count increment and
    decrement (atomic, through a call) per row, which was 10-15% of a CIFAR-sized
    warp. Helpers take scalars only; the four-lane loads are intrinsics.

    Coordinates use the same operations in the same order as scipy (the offset,
    then the row term, then the column term; column ``j`` is float(j)), so they
    are bit-identical; inside, truncation is floor.
    """
    # The channel count as a compile-time constant where ``ctup`` has one (its
    # length: 1, 3 or 4), so LLVM unrolls the channel loops and folds the
    # strides; ``cn`` at run time otherwise (an empty tuple).
    c = len(ctup) if len(ctup) > 0 else cn
    # The interpolation order is len(otup) - 1 (0 nearest, 1 bilinear). Branches
    # test ``len(otup)`` itself, so that Numba prunes the other order's code.
    cvalf = np.float32(cval)
    # A loop, not np.arange(...).astype(...): the same table, 0.2 s less to compile.
    lut = np.empty(256, np.float32)
    for i in range(256):
        lut[i] = i
    lo = np.float32(lo)
    hi = np.float32(hi)
    scale = np.float32(scale)
    rowlen = ow * c
    # One spare element: a four-lane store of the last RGB pixel reaches past it.
    # Small images keep the whole image in the buffer too: the epilogue then runs
    # once per image over one long run (vectorised), not once per short row.
    whole = shift_on or oh * rowlen <= _WHOLE_IMAGE_ELEMENTS
    buf = np.empty((oh * rowlen if whole else rowlen) + 1, np.float32)
    # Per-pixel taps of the inside span, written four at a time (three spare).
    offs = np.empty(ow + 3, np.int32)
    ws00 = np.empty(ow + 3, np.float32)
    ws01 = np.empty(ow + 3, np.float32)
    ws10 = np.empty(ow + 3, np.float32)
    ws11 = np.empty(ow + 3, np.float32)
    # Bilinear needs both taps inside: y < h - 1. Nearest needs y <= h - 1.
    ylim = float(h - 1)
    xlim = float(w - 1)
    uc = np.uint64(c)
    uwc = np.uint64(w * c)
    wc32 = np.int32(w * c)
    c32 = np.int32(c)
    usize = np.uint64(src.size)
    four = np.uint64(4)
    # Three and four channels load and store a pixel as four lanes. For RGB the
    # fourth lane reads the next pixel's first element (so a load must stay
    # inside ``src``: the size tests below) and writes the buffer element that
    # the next pixel, a later segment or the spare element takes.
    # (Written ``len(ctup) >= 3`` where it is tested: a comparison of tuple
    # lengths is a constant Numba prunes before typing, so the kernels of the
    # other channel classes never type or compile the code they cannot run.)
    # Border coordinates as lanes: every mode but 'constant' (whose border is
    # mostly cval and cheap already); the samples as lanes for three and four
    # channels.
    vborder = mode != CONSTANT
    bt00 = np.empty(4, np.int64)
    bt01 = np.empty(4, np.int64)
    bt10 = np.empty(4, np.int64)
    bt11 = np.empty(4, np.int64)
    wc64 = np.int64(w * c)
    c64 = np.int64(c)
    nchunks = (ntotal + chunk - 1) // chunk
    mine = 0
    atomic_add(team, 1, publish)
    while True:
        kc = atomic_add(ctrl, 0, 1)
        if kc >= nchunks:
            for _ in range(linger):
                if atomic_load(team, 1) != gen:
                    break
            return mine
        n0 = kc * chunk
        n1 = min(ntotal, n0 + chunk)
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
            usb = np.uint64(sbase)
            # Four-lane loads may run one element past any pixel of this image: true
            # for four channels, and for three unless it is the array's last image.
            spill_safe = c == 4 or sbase + h * w * c < src.size
            dbase = n * oh * rowlen
            bright = np.float32(brights[n])
            for r in range(oh):
                bbase = r * rowlen if whole else 0
                # The row's bases: sample (y, x) of column j is (ry + j*m1, rx + j*m4).
                ry = m2 + float(r) * m0
                rx = m5 + float(r) * m3
                # The inside span [j0, j1): the columns whose samples need no mode
                # logic. (A separate function, although each compiled helper adds to
                # the first batch's compile time: written out in the row loop it made
                # the whole ImageNet-sized warp 6-15% slower.)
                j0, j1 = _inside_span(ry, m1, rx, m4, inv1, inv4, ow, ylim, xlim, len(otup) == 2)
                # How close the span's samples come to the image's end: the
                # coordinates are monotone along the row, so their largest values are
                # at an end of the span. Every row below h - 2: no bilinear pixel taps
                # the last pixel (so a four-lane load one element past a tap stays
                # inside), and ``bilinear1x4``'s 32-bit words (a tap pair and the two
                # bytes after it) stay inside; the same for columns below w - 2 (the
                # four-lane loads) or w - 3 (the words).
                # (Computed once here: the border code below reuses the names ya, xa...
                # for offsets, so conditions must not read coordinates from them later.)
                y_first = ry + float(j0) * m1
                y_last = ry + float(j1 - 1) * m1
                x_first = rx + float(j0) * m4
                x_last = rx + float(j1 - 1) * m4
                clear_rows = y_first < h - 2 and y_last < h - 2
                clear_cols = x_first < w - 2 and x_last < w - 2
                clear_words = x_first < w - 3 and x_last < w - 3
                for seg in range(3):
                    if seg == 1 and len(otup) == 2 and len(ctup) == 1 and j1 - j0 >= 4 and (
                            _float_source(src)
                            or clear_rows or clear_words):
                        # One channel: four pixels per step, the lanes across pixels
                        # (gathers), then the last few as the scalar code below.
                        cnt = j1 - j0
                        full = cnt - cnt % 4
                        for k in range(0, full, 4):
                            bilinear1x4(ry, rx, float(j0 + k), m1, m4, wc32, src, sbase, buf,
                                        np.uint64(bbase + j0 + k))
                        if full < cnt:
                            coords4(ry, rx, float(j0 + full), m1, m4, wc32, c32, offs, ws00, ws01,
                                    ws10, ws11, np.uint64(0))
                        for k in range(cnt - full):
                            uk = np.uint64(k)
                            p = np.uint64(sbase + offs[uk])
                            q = p + uwc
                            buf[np.uint64(bbase + j0 + full + k)] = (
                                ws00[uk] * _load(src, p, lut)
                                + ws01[uk] * _load(src, p + uc, lut)
                                + ws10[uk] * _load(src, q, lut)
                                + ws11[uk] * _load(src, q + uc, lut))
                        continue
                    if seg == 1 and len(otup) == 2:
                        # Two passes: coordinates, offsets and weights, then the gather
                        # and blend (four lanes, or the channel loop unrolled for a
                        # literal ``c``).
                        fit = len(ctup) >= 3 and (spill_safe or j1 <= j0 or clear_rows
                                                  or clear_cols)
                        for k in range(0, j1 - j0, 4):
                            coords4(ry, rx, float(j0 + k), m1, m4, wc32, c32, offs, ws00, ws01,
                                    ws10, ws11, np.uint64(k))
                        # Unsigned indices need no negative-index check. Two loops, so
                        # that the four-lane one carries no per-pixel test.
                        if fit:
                            for k in range(j1 - j0):
                                uk = np.uint64(k)
                                p = np.uint64(sbase + offs[uk])
                                q = p + uwc
                                blend4(src, p, p + uc, q, q + uc, ws00[uk], ws01[uk], ws10[uk],
                                       ws11[uk], buf, np.uint64(bbase + (j0 + k) * c))
                            continue
                        for k in range(j1 - j0):
                            uk = np.uint64(k)
                            w00 = ws00[uk]
                            w01 = ws01[uk]
                            w10 = ws10[uk]
                            w11 = ws11[uk]
                            p = np.uint64(sbase + offs[uk])
                            q = p + uwc
                            o = np.uint64(bbase + (j0 + k) * c)
                            for ch in range(c):
                                t = np.uint64(ch)
                                buf[o + t] = (w00 * _load(src, p + t, lut)
                                              + w01 * _load(src, p + uc + t, lut)
                                              + w10 * _load(src, q + t, lut)
                                              + w11 * _load(src, q + uc + t, lut))
                        continue
                    if seg == 1 and len(otup) == 1:
                        # Nearest, all inside: round half up, as scipy.
                        if m1 == 0.0 and (m4 == 1.0 or m4 == -1.0) and rx == np.floor(rx):
                            # A flip or a whole-pixel shift along the row: the span is
                            # one run of a source row, forwards or backwards. Copy it as
                            # such: a contiguous conversion vectorises, a gather does not.
                            # The run is exactly the per-pixel samples because every
                            # sum is exact: the base is a whole number and the span's
                            # ends lie inside the image, so |rx +- j| < 2**53 between
                            # them. (A base that is not whole, or a sum rounded on the
                            # way, would make the run start or end a pixel off.)
                            p = np.uint64(sbase
                                          + (int(ry + 0.5) * w + int(rx + float(j0) * m4)) * c)
                            o = np.uint64(bbase + j0 * c)
                            if m4 == 1.0:
                                for i in range((j1 - j0) * c):
                                    buf[o + np.uint64(i)] = np.float32(src[p + np.uint64(i)])
                            else:
                                for k in range(j1 - j0):
                                    q = p - np.uint64(k * c)
                                    d = o + np.uint64(k * c)
                                    for ch in range(c):
                                        buf[d + np.uint64(ch)] = np.float32(src[q + np.uint64(ch)])
                            continue
                        for k in range(0, j1 - j0, 4):
                            offsets4(ry, rx, float(j0 + k), m1, m4, wc32, c32, offs, np.uint64(k))
                        if len(ctup) >= 3 and spill_safe:
                            # No per-pixel test in the common case (as for bilinear).
                            for k in range(j1 - j0):
                                copy4(src, np.uint64(sbase + offs[np.uint64(k)]), buf,
                                      np.uint64(bbase + (j0 + k) * c))
                            continue
                        for k in range(j1 - j0):
                            p = np.uint64(sbase + offs[np.uint64(k)])
                            o = np.uint64(bbase + (j0 + k) * c)
                            if len(ctup) >= 3 and p + four <= usize:
                                copy4(src, p, buf, o)
                                continue
                            for ch in range(c):
                                buf[o + np.uint64(ch)] = _load(src, p + np.uint64(ch), lut)
                        continue
                    # Before or after the span: scipy maps the coordinate into the
                    # image by the mode, then extends taps that still fall one step
                    # outside. Four pixels at a time as lanes where ``border4`` can,
                    # one at a time otherwise.
                    j = 0 if seg == 0 else j1
                    jend = j0 if seg == 0 else ow
                    while j < jend:
                        cnt = min(4, jend - j)
                        if vborder and len(otup) == 1 and border4_nearest(
                                ry, rx, float(j), m1, m4, h, w, mode, sbase, wc64, c64, cnt, bt00):
                            for t in range(cnt):
                                p = np.uint64(bt00[np.uint64(t)])
                                o = np.uint64(bbase + (j + t) * c)
                                if len(ctup) >= 3 and (spill_safe or p + four <= usize):
                                    copy4(src, p, buf, o)
                                else:
                                    for ch in range(c):
                                        buf[o + np.uint64(ch)] = _load(src, p + np.uint64(ch), lut)
                            j += cnt
                            continue
                        if vborder and len(otup) == 2 and border4(
                                ry, rx, float(j), m1, m4, h, w, mode, sbase, wc64, c64, cnt,
                                bt00, bt01, bt10, bt11, ws00, ws01, ws10, ws11):
                            for t in range(cnt):
                                ut = np.uint64(t)
                                a00 = np.uint64(bt00[ut])
                                a01 = np.uint64(bt01[ut])
                                a10 = np.uint64(bt10[ut])
                                a11 = np.uint64(bt11[ut])
                                o = np.uint64(bbase + (j + t) * c)
                                if len(ctup) >= 3 and (spill_safe
                                              or max(max(a00, a01), max(a10, a11)) + four <= usize):
                                    blend4(src, a00, a01, a10, a11, ws00[ut], ws01[ut], ws10[ut],
                                           ws11[ut], buf, o)
                                else:
                                    for ch in range(c):
                                        k = np.uint64(ch)
                                        buf[o + k] = (ws00[ut] * _load(src, a00 + k, lut)
                                                      + ws01[ut] * _load(src, a01 + k, lut)
                                                      + ws10[ut] * _load(src, a10 + k, lut)
                                                      + ws11[ut] * _load(src, a11 + k, lut))
                            j += cnt
                            continue
                        o = np.uint64(bbase + j * c)
                        yv = (ry + float(j) * m1)
                        xv = (rx + float(j) * m4)
                        if mode == CONSTANT:
                            # Written out: a call per pixel doubled this mode's border.
                            # NaN compares false both ways: outside, too.
                            cy = select((yv >= 0.0) & (yv <= ylim), yv, -1.0)
                            cx = select((xv >= 0.0) & (xv <= xlim), xv, -1.0)
                        else:
                            cy = _clamp_mapped(_map_exact(yv, h, mode), h)
                            cx = _clamp_mapped(_map_exact(xv, w, mode), w)
                        if cy <= -1.0 or cx <= -1.0:
                            for ch in range(c):
                                buf[o + np.uint64(ch)] = cvalf
                        elif len(otup) == 1:
                            iy = _tap(int(np.floor(cy + 0.5)), h, mode)
                            ix = _tap(int(np.floor(cx + 0.5)), w, mode)
                            p = np.uint64(sbase + (iy * w + ix) * c)
                            if len(ctup) >= 3 and p + four <= usize:
                                copy4(src, p, buf, o)
                            else:
                                for ch in range(c):
                                    buf[o + np.uint64(ch)] = _load(src, p + np.uint64(ch), lut)
                        else:
                            fly = np.floor(cy)
                            flx = np.floor(cx)
                            fy = np.float32(cy - fly)
                            fx = np.float32(cx - flx)
                            iy = int(fly)
                            ix = int(flx)
                            ya = usb + np.uint64(_tap(iy, h, mode)) * uwc
                            yb = usb + np.uint64(_tap(iy + 1, h, mode)) * uwc
                            xa = np.uint64(_tap(ix, w, mode)) * uc
                            xb = np.uint64(_tap(ix + 1, w, mode)) * uc
                            w11 = fy * fx
                            w10 = fy - w11
                            w01 = fx - w11
                            w00 = np.float32(1.0) - fy - w01
                            if len(ctup) >= 3 and max(ya, yb) + max(xa, xb) + four <= usize:
                                blend4(src, ya + xa, ya + xb, yb + xa, yb + xb, w00, w01, w10,
                                       w11, buf, o)
                            else:
                                for ch in range(c):
                                    k = np.uint64(ch)
                                    buf[o + k] = (w00 * _load(src, ya + xa + k, lut)
                                                  + w01 * _load(src, ya + xb + k, lut)
                                                  + w10 * _load(src, yb + xa + k, lut)
                                                  + w11 * _load(src, yb + xb + k, lut))
                        j += 1
                if whole:
                    if r < oh - 1:
                        continue
                    count = oh * rowlen
                    if shift_on:
                        vmin, vmax = _minmax_f32(buf, count)
                        s = np.float32(shifts[n])
                        for i in range(count):
                            buf[i] = min(max(buf[i] + s, vmin), vmax)
                    d = np.uint64(dbase)
                else:
                    count = rowlen
                    d = np.uint64(dbase + r * rowlen)
                # Brightness, rescale and the cast: a separate, branch-free pass over
                # floats vectorises, where the same work in the gather loop would not.
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
                        _store_f32(dst, d + np.uint64(i), buf[i] * scale)
        # Published after the chunk's stores (sequentially consistent).
        atomic_add(ctrl, 1, 1)
        mine += 1


@kernel
def cast_scale(src, dst, scale):
    """``dst[i] = float32(src[i]) * scale`` (uint8 to float32, flat): the general
    kernel's epilogue for a sample that is a whole pixel, as one vectorised loop."""
    for i in range(np.uint64(src.size)):
        dst[i] = np.float32(src[i]) * scale


@kernel
def chunks_done(ctrl, nchunks, spins):
    """Whether ``ctrl[1] >= nchunks``, polled up to ``spins`` times without the GIL."""
    for _ in range(spins):
        if atomic_load(ctrl, 1) >= nchunks:
            return True
    return atomic_load(ctrl, 1) >= nchunks


@helper(inline="always")
def _flush(src, s, dst, d, count):
    """``dst[d:d+count] = src[s:s+count]``: vector blocks, short runs element by element."""
    if not copy_run(src, np.uint64(s), dst, np.uint64(d), np.uint64(count)):
        for k in range(count):
            dst[np.uint64(d + k)] = src[np.uint64(s + k)]


@kernel
def copy_pixels(src, index, dst, n0, n1, h, w, c, oh, ow, mats, mode, fill):
    """Nearest sampling by whole-number matrices that move whole rows, as row copies.

    For batches whose every matrix has ``m1 == m3 == 0``, ``m4 == +-1`` and whole
    numbers elsewhere (flips, whole-pixel shifts, integer crops and row
    subsampling), with an identity epilogue (same dtype in and out, no shift,
    brightness or rescale): every output row is a run of one source row,
    forwards or backwards, between border columns. Forward runs are ``memcpy``
    (merged across rows where they are contiguous, so an unflipped image is one
    copy), backward runs are block shuffles, and the values are copied bit for bit
    (``src`` and ``dst`` may be any integer view of the pixels: a float32 or
    four-byte pixel travels as uint32). ``fill`` is the ``c`` elements of a
    'constant' pixel, already cast as the general kernel casts ``cval``.

    Returns False, having written nothing, unless every matrix of ``mats`` (all
    images, not only ``n0:n1``) is such a matrix; the caller then takes the
    general kernel. Checking here spares the caller's numpy checks, which cost
    tens of microseconds once a batch-sized copy has evicted the caches.

    Samples are the general kernel's: the coordinates are the same sums, inside
    pixels round half up, border pixels go through ``_map_exact`` and
    ``_tap``. The column mapping does not depend on the row (``m3 == 0``), so it
    is computed once per image.
    """
    for n in range(mats.shape[0]):
        for k in range(6):
            v = mats[n, k]
            if v != np.floor(v):
                return False
        if mats[n, 1] != 0.0 or mats[n, 3] != 0.0 or mats[n, 4] * mats[n, 4] != 1.0:
            return False
    rowlen = ow * c
    # Per output column: the source element offset within a row, or -1 for cval.
    cols = np.empty(ow, np.int64)
    ylim = float(h - 1)
    xlim = float(w - 1)
    for n in range(n0, n1):
        m0 = mats[n, 0]
        m1 = mats[n, 1]
        m2 = mats[n, 2]
        m3 = mats[n, 3]
        m4 = mats[n, 4]
        m5 = mats[n, 5]
        sbase = index[n] * (h * w * c)
        dbase = n * oh * rowlen
        ylast = m2 + float(oh - 1) * m0
        xlast = m5 + float(ow - 1) * m4
        if (min(m2, ylast) >= 0.0 and max(m2, ylast) <= ylim
                and min(m5, xlast) >= 0.0 and max(m5, xlast) <= xlim):
            # Every sample inside (the maps are linear): no border columns or rows,
            # and whole-number coordinates are their own rounding.
            _copy_inside(src, sbase, dst, dbase, w, c, oh, ow, int(m2), int(m0),
                         int(m5) * c, m4 > 0.0)
            continue
        rx = m5 + 0.0 * m3
        # The inside columns are one interval (x is monotone in j): [j0, j1).
        j0 = ow
        j1 = 0
        for j in range(ow):
            xv = (rx + float(j) * m4)
            if xv >= 0.0 and xv <= xlim:
                cols[j] = int(xv + 0.5) * c
                j0 = min(j0, j)
                j1 = j + 1
                continue
            if mode == CONSTANT:
                cols[j] = -1
                continue
            cx = _clamp_mapped(_map_exact(xv, w, mode), w)
            if cx <= -1.0:
                cols[j] = -1
            else:
                cols[j] = _tap(int(np.floor(cx + 0.5)), w, mode) * c
        if j1 < j0:
            j1 = j0
        # A forward run waiting to be copied, extended while the next one follows it.
        pend_s = 0
        pend_d = 0
        pend_n = 0
        for r in range(oh):
            ry = m2 + float(r) * m0
            yv = (ry + float(0) * m1)
            drow = dbase + r * rowlen
            if yv >= 0.0 and yv <= ylim:
                iy = int(yv + 0.5)
            else:
                cy = -1.0
                if mode != CONSTANT:
                    cy = _clamp_mapped(_map_exact(yv, h, mode), h)
                if cy <= -1.0:
                    for k in range(rowlen):
                        dst[np.uint64(drow + k)] = fill[np.uint64(k % c)]
                    continue
                iy = _tap(int(np.floor(cy + 0.5)), h, mode)
            srow = sbase + iy * (w * c)
            # The border columns, before and after the inside span.
            for jj in range(ow - (j1 - j0)):
                j = jj if jj < j0 else jj + (j1 - j0)
                o = np.uint64(drow + j * c)
                q = cols[j]
                if q < 0:
                    for ch in range(c):
                        dst[o + np.uint64(ch)] = fill[np.uint64(ch)]
                else:
                    p = np.uint64(srow + q)
                    for ch in range(c):
                        dst[o + np.uint64(ch)] = src[p + np.uint64(ch)]
            cnt = j1 - j0
            if cnt <= 0:
                continue
            s0 = srow + cols[j0]
            d0 = drow + j0 * c
            if m4 > 0.0:
                if pend_n > 0 and pend_s + pend_n == s0 and pend_d + pend_n == d0:
                    pend_n += cnt * c
                    continue
                if pend_n > 0:
                    _flush(src, pend_s, dst, pend_d, pend_n)
                pend_s = s0
                pend_d = d0
                pend_n = cnt * c
                continue
            _reverse(src, s0, dst, d0, cnt, c)
        if pend_n > 0:
            _flush(src, pend_s, dst, pend_d, pend_n)
    return True


@helper(inline="always")
def _copy_inside(src, sbase, dst, dbase, w, c, oh, ow, iy0, step, x0, forward):
    """Rows of one image whose every sample is inside: row ``r`` from source row
    ``iy0 + r * step``, starting at element ``x0``, forwards or reversed."""
    rowlen = ow * c
    if forward and step == 1 and ow == w:
        # Consecutive whole rows: the image is one run.
        _flush(src, sbase + iy0 * rowlen, dst, dbase, oh * rowlen)
        return
    for r in range(oh):
        s0 = sbase + (iy0 + r * step) * (w * c) + x0
        d0 = dbase + r * rowlen
        if forward:
            _flush(src, s0, dst, d0, rowlen)
        else:
            _reverse(src, s0, dst, d0, ow, c)


@helper(inline="always")
def _reverse(src, s0, dst, d0, count, c):
    """``count`` pixels of ``c`` elements, ``dst`` forwards from ``d0`` taking ``src``
    backwards from ``s0``: reversed blocks for one and three elements, else one by one."""
    done = False
    if c == 1:
        done = reverse_run1(src, np.uint64(s0), dst, np.uint64(d0), np.uint64(count))
    elif c == 3:
        done = reverse_run3(src, np.uint64(s0), dst, np.uint64(d0), np.uint64(count))
    if not done:
        for k in range(count):
            p = np.uint64(s0 - k * c)
            o = np.uint64(d0 + k * c)
            for ch in range(c):
                dst[o + np.uint64(ch)] = src[p + np.uint64(ch)]
