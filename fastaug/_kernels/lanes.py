"""Four-lane steps of the warp kernels, written as LLVM vector IR (numba intrinsics).

LLVM does not vectorise the warp's hot loops by itself: a bilinear RGB pixel is
four taps of three channels, twelve byte loads, conversions and multiply-adds that
LLVM keeps scalar because the stores into the row buffer sit between the loads and
may alias them; the per-pixel coordinate loop it did vectorise carried a runtime
overlap check of six arrays on every row; and the border mapping branches on the
pixel's position in no pattern a predictor learns. Here:

- ``blend4`` / ``copy4``: one tap is one 4-element load widened to four float
  lanes, so a bilinear pixel is four loads, four conversions and the blend on
  vectors, as OpenCV's SIMD loop does;
- ``bilinear1x4``: one-channel pixels four at a time (the lanes across pixels);
- ``coords4`` / ``offsets4``: the coordinates, taps and weights (bilinear) or
  the offsets (nearest) of four inside pixels at once;
- ``border4`` / ``border4_nearest``: the same for four border pixels, with
  scipy's mode mapping as selects;
- ``select``: a branch-free choice for the scalar code;
- ``copy_run`` / ``reverse_run``: whole-pixel row copies (flips, integer shifts
  and crops) forwards as ``memcpy`` and backwards as block loads, one pixel
  reversing shuffle and a block store (what ``cv2.flip`` does);
- ``atomic_add`` / ``atomic_load``: the shared chunk counter of
  ``warp.warp_shared`` (threads split a batch without a Python hand-off per chunk).

Every lane computes what the scalar kernel computes, with the same operations in
the same order (``((w00*a + w01*b) + w10*c) + w11*d``, no fused multiply-add), so
results are bit-identical to the scalar path and to scipy's coordinates.

For three channels every load and store reaches one element past the pixel.
Callers guarantee the extra source element exists and that the extra buffer
element is either overwritten later or spare (see ``warp.warp_shared``).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_F32x4 = ir.VectorType(ir.FloatType(), 4)
_F64x4 = ir.VectorType(ir.DoubleType(), 4)
_I32x4 = ir.VectorType(_I32, 4)
_I64x4 = ir.VectorType(_I64, 4)
_Bx4 = ir.VectorType(ir.IntType(1), 4)
# Fill modes, as in fastaug._kernels.warp.
_NEAREST, _REFLECT, _WRAP, _MIRROR = 1, 2, 3, 4


def _f64x4(value):
    """A constant in all four double lanes."""
    return ir.Constant(_F64x4, [value] * 4)


def _splat(builder, value):
    """``value`` in all four lanes."""
    vecty = ir.VectorType(value.type, 4)
    vec = builder.insert_element(ir.Constant(vecty, ir.Undefined), value, ir.Constant(_I32, 0))
    return builder.shuffle_vector(vec, vec, ir.Constant(_I32x4, [0, 0, 0, 0]))


def _tap4(context, builder, aryty, ary, index):
    """Four consecutive elements of ``ary`` from ``index`` as a float32x4 vector."""
    data = context.make_array(aryty)(context, builder, ary).data
    elem = context.get_value_type(aryty.dtype)
    ptr = builder.gep(data, [index])
    vecty = ir.VectorType(elem, 4)
    vec = builder.load(builder.bitcast(ptr, vecty.as_pointer()), align=1)
    if aryty.dtype == types.float32:
        return vec
    # Bytes: widen, then convert (values fit int32, so the signed convert is exact).
    return builder.sitofp(builder.zext(vec, _I32x4), _F32x4)


def _store4(context, builder, aryty, ary, index, vec):
    """Store the four lanes of ``vec`` at ``ary[index:index+4]``."""
    data = context.make_array(aryty)(context, builder, ary).data
    ptr = builder.gep(data, [index])
    builder.store(vec, builder.bitcast(ptr, vec.type.as_pointer()), align=4)


def _check(src, buf):
    ok = (isinstance(src, types.Array) and src.dtype in (types.uint8, types.float32)
          and isinstance(buf, types.Array) and buf.dtype == types.float32)
    if not ok:
        raise TypeError("lanes: expected a uint8/float32 source and a float32 buffer")


def _coordinates(builder, ry, rx, jf, m1, m4):
    """Row and column coordinates of output columns ``jf .. jf+3`` as in scipy.

    ``ry + j*m1`` and ``rx + j*m4`` in double, where ``ry = m2 + r*m0`` and
    ``rx = m5 + r*m3`` are the row's bases: each lane exactly as the scalar
    ``ry + float(j) * m1`` evaluates, and in scipy's order (offset, then the row
    term, then the column term).
    """
    cols = builder.fadd(_splat(builder, jf), ir.Constant(_F64x4, [0.0, 1.0, 2.0, 3.0]))
    y = builder.fadd(_splat(builder, ry), builder.fmul(cols, _splat(builder, m1)))
    x = builder.fadd(_splat(builder, rx), builder.fmul(cols, _splat(builder, m4)))
    return y, x


def _weights(builder, fy, fx):
    """The bilinear weights of the scalar kernel from float32 fractions."""
    w11 = builder.fmul(fy, fx)
    w10 = builder.fsub(fy, w11)
    w01 = builder.fsub(fx, w11)
    w00 = builder.fsub(builder.fsub(ir.Constant(_F32x4, [1.0] * 4), fy), w01)
    return w00, w01, w10, w11


@intrinsic
def blend4(typingctx, src, p00, p01, p10, p11, w00, w01, w10, w11, buf, o):
    """``buf[o:o+4] = w00*src[p00:p00+4] + w01*src[p01:..] + w10*src[p10:..] + w11*src[p11:..]``.

    The ``p``s and ``o`` are uint64 element offsets; weights are float32.
    """
    _check(src, buf)
    sig = types.void(src, p00, p01, p10, p11, w00, w01, w10, w11, buf, o)

    def codegen(context, builder, signature, args):
        srcv, a0, a1, a2, a3, w0, w1, w2, w3, bufv, ov = args
        srcty = signature.args[0]
        acc = None
        for off, weight in ((a0, w0), (a1, w1), (a2, w2), (a3, w3)):
            term = builder.fmul(_splat(builder, weight),
                                _tap4(context, builder, srcty, srcv, off))
            acc = term if acc is None else builder.fadd(acc, term)
        _store4(context, builder, signature.args[9], bufv, ov, acc)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def copy4(typingctx, src, p, buf, o):
    """``buf[o:o+4] = float32(src[p:p+4])`` (``p``, ``o`` uint64 element offsets)."""
    _check(src, buf)
    sig = types.void(src, p, buf, o)

    def codegen(context, builder, signature, args):
        srcv, pv, bufv, ov = args
        vec = _tap4(context, builder, signature.args[0], srcv, pv)
        _store4(context, builder, signature.args[2], bufv, ov, vec)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def select(typingctx, cond, a, b):
    """``a if cond else b`` as an LLVM select: both sides are computed, no branch.

    For choices that depend on the data in no pattern a branch predictor learns.
    """
    if not isinstance(cond, types.Boolean) or a != b:
        raise TypeError("select: expected a boolean and two values of one type")
    sig = a(cond, a, b)

    def codegen(context, builder, signature, args):
        return builder.select(args[0], args[1], args[2])

    return sig, codegen


@intrinsic
def coords4(typingctx, ry, rx, jf, m1, m4, wc, c, offs, w00, w01, w10, w11, k):
    """Bilinear taps of four consecutive output pixels, columns ``jf .. jf+3``.

    Each lane is the scalar kernel's (and scipy's) arithmetic: ``ry + j*m1`` and
    ``rx + j*m4`` in double (``ry``, ``rx``: the row's bases), truncated (floor, the
    taps being inside),
    the fractions rounded to float32, then the four weights. Stores the element
    offset ``yi*wc + xi*c`` (int32) and the weights at ``[k, k+4)`` of ``offs`` and
    ``w00 .. w11``. LLVM vectorised the scalar loop too, but behind a six-array
    overlap check on every row; this measured the same speed without it and
    shares its arithmetic with ``border4``. ``k`` is a uint64 index; ``wc`` and
    ``c`` are int32.
    """
    if not (isinstance(offs, types.Array) and offs.dtype == types.int32):
        raise TypeError("coords4: offs must be an int32 array")
    sig = types.void(ry, rx, jf, m1, m4, wc, c, offs, w00, w01, w10, w11, k)

    def codegen(context, builder, signature, args):
        ryv, rxv, jv, a1, a4, wcv, cv, offv, o00, o01, o10, o11, kv = args
        y, x = _coordinates(builder, ryv, rxv, jv, a1, a4)
        yi = builder.fptosi(y, _I32x4)
        xi = builder.fptosi(x, _I32x4)
        fy = builder.fptrunc(builder.fsub(y, builder.sitofp(yi, _F64x4)), _F32x4)
        fx = builder.fptrunc(builder.fsub(x, builder.sitofp(xi, _F64x4)), _F32x4)
        w00v, w01v, w10v, w11v = _weights(builder, fy, fx)
        off = builder.add(builder.mul(yi, _splat(builder, wcv)),
                          builder.mul(xi, _splat(builder, cv)))
        tys = signature.args
        _store4(context, builder, tys[7], offv, kv, off)
        _store4(context, builder, tys[8], o00, kv, w00v)
        _store4(context, builder, tys[9], o01, kv, w01v)
        _store4(context, builder, tys[10], o10, kv, w10v)
        _store4(context, builder, tys[11], o11, kv, w11v)
        return context.get_dummy_value()

    return sig, codegen


def _gather4(builder, addrs, elem):
    """Four ``elem`` values loaded from the four byte addresses ``addrs`` (<4 x i64>).

    One gather instruction where the target has them (LLVM's masked gather).
    """
    vty = ir.VectorType(elem, 4)
    pty = ir.VectorType(ir.PointerType(elem), 4)
    bits = {32: "i32", 64: "i64"}[elem.width]
    fnty = ir.FunctionType(vty, [pty, _I32, _Bx4, vty])
    fn = cgutils.get_or_insert_function(builder.module, fnty,
                                        f"llvm.masked.gather.v4{bits}.v4p0{bits}")
    return builder.call(fn, [builder.inttoptr(addrs, pty), ir.Constant(_I32, 1),
                             ir.Constant(_Bx4, [1] * 4), ir.Constant(vty, ir.Undefined)])


@intrinsic
def bilinear1x4(typingctx, ry, rx, jf, m1, m4, wc, src, sbase, buf, o):
    """Four inside pixels of a one-channel image, columns ``jf .. jf+3``, at ``buf[o:o+4]``.

    With one channel there are no channel lanes to fill, so the lanes run across
    pixels: ``coords4``'s coordinates, taps and weights (the same operations),
    then each pixel's two horizontal tap pairs (element ``sbase + yi*wc + xi``
    and the next, and the same one row down) gathered as one 32-bit (uint8) or
    64-bit (float32) word per pixel and row, and the blend of the scalar kernel,
    ``((w00*a + w01*b) + w10*c) + w11*d``. Every tap must be inside the image;
    for uint8 the word also covers the two bytes after the pair, which the
    caller guarantees are inside the image too (``yi <= h - 3`` or
    ``xi <= w - 4``). ``wc`` (the row length) is int32, ``sbase`` an element
    offset, ``o`` a uint64 index.
    """
    _check(src, buf)
    sig = types.void(ry, rx, jf, m1, m4, wc, src, sbase, buf, o)

    def codegen(context, builder, signature, args):
        ryv, rxv, jv, a1, a4, wcv, srcv, basev, bufv, ov = args
        tys = signature.args
        y, x = _coordinates(builder, ryv, rxv, jv, a1, a4)
        yi = builder.fptosi(y, _I32x4)
        xi = builder.fptosi(x, _I32x4)
        fy = builder.fptrunc(builder.fsub(y, builder.sitofp(yi, _F64x4)), _F32x4)
        fx = builder.fptrunc(builder.fsub(x, builder.sitofp(xi, _F64x4)), _F32x4)
        w00, w01, w10, w11 = _weights(builder, fy, fx)
        off = builder.sext(builder.add(builder.mul(yi, _splat(builder, wcv)), xi), _I64x4)
        is_float = tys[6].dtype == types.float32
        size = ir.Constant(_I64x4, [4 if is_float else 1] * 4)
        data = context.make_array(tys[6])(context, builder, srcv).data
        first = builder.gep(data, [_as_i64(context, builder, tys[7], basev)])
        top = builder.add(_splat(builder, builder.ptrtoint(first, _I64)),
                          builder.mul(off, size))
        below = builder.add(top, builder.mul(_splat(builder, builder.sext(wcv, _I64)), size))
        taps = []
        for addrs in (top, below):
            if is_float:
                pair = _gather4(builder, addrs, _I64)
                left = builder.trunc(pair, _I32x4)
                right = builder.trunc(builder.lshr(pair, ir.Constant(_I64x4, [32] * 4)), _I32x4)
                taps += [builder.bitcast(left, _F32x4), builder.bitcast(right, _F32x4)]
            else:
                word = _gather4(builder, addrs, _I32)
                byte = ir.Constant(_I32x4, [255] * 4)
                left = builder.and_(word, byte)
                right = builder.and_(builder.lshr(word, ir.Constant(_I32x4, [8] * 4)), byte)
                # Bytes widened to int32: the signed convert is exact.
                taps += [builder.sitofp(left, _F32x4), builder.sitofp(right, _F32x4)]
        acc = None
        for wv, tv in zip((w00, w01, w10, w11), taps):
            term = builder.fmul(wv, tv)
            acc = term if acc is None else builder.fadd(acc, term)
        _store4(context, builder, tys[8], bufv, ov, acc)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def offsets4(typingctx, ry, rx, jf, m1, m4, wc, c, offs, k):
    """Nearest-neighbour element offsets of four inside pixels, columns ``jf .. jf+3``.

    Each lane is the scalar kernel's ``int32(y + 0.5) * wc + int32(x + 0.5) * c``
    (round half up, as scipy; truncation is floor inside), stored at
    ``offs[k:k+4]`` (int32). ``k`` is a uint64 index; ``wc`` and ``c`` are int32.
    """
    if not (isinstance(offs, types.Array) and offs.dtype == types.int32):
        raise TypeError("offsets4: offs must be an int32 array")
    sig = types.void(ry, rx, jf, m1, m4, wc, c, offs, k)

    def codegen(context, builder, signature, args):
        ryv, rxv, jv, a1, a4, wcv, cv, offv, kv = args
        y, x = _coordinates(builder, ryv, rxv, jv, a1, a4)
        yi = builder.fptosi(builder.fadd(y, _f64x4(0.5)), _I32x4)
        xi = builder.fptosi(builder.fadd(x, _f64x4(0.5)), _I32x4)
        off = builder.add(builder.mul(yi, _splat(builder, wcv)),
                          builder.mul(xi, _splat(builder, cv)))
        _store4(context, builder, signature.args[7], offv, kv, off)
        return context.get_dummy_value()

    return sig, codegen


def _map_axis(builder, v, n, mode):
    """scipy's mapping of four coordinates ``v`` onto an axis of ``n`` samples.

    ``_map_exact`` of fastaug._kernels.warp within one period of the image, as
    lanes: in that range every mode is a choice between a few candidates computed
    from ``v`` as ``_map_exact`` computes them (the same doubles), chosen here by
    selects, because where a pixel lies changes along a row in no pattern a
    branch predictor learns. Returns the
    mapped vector and a per-lane flag, false where a lane is beyond one period
    (or ``n`` is 1), for which the caller takes the exact scalar path.
    """
    fn = _splat(builder, builder.sitofp(n, ir.DoubleType()))
    last = builder.fsub(fn, _f64x4(1.0))
    big = builder.icmp_signed(">", n, ir.Constant(_I64, 1))
    blocks = {m: builder.append_basic_block(f"map_{m}")
              for m in (_NEAREST, _REFLECT, _MIRROR, _WRAP)}
    end = builder.append_basic_block("map_end")
    neg = builder.fcmp_ordered("<", v, _f64x4(0.0))
    high = builder.fcmp_ordered(">", v, last)
    switch = builder.switch(mode, blocks[_WRAP])
    for m in (_NEAREST, _REFLECT, _MIRROR):
        switch.add_case(ir.Constant(_I64, m), blocks[m])
    results = []
    all_ok = ir.Constant(_Bx4, [1] * 4)

    builder.position_at_end(blocks[_NEAREST])
    lo = builder.select(builder.fcmp_ordered(">=", v, _f64x4(0.0)), v, _f64x4(0.0))
    mapped = builder.select(builder.fcmp_ordered("<=", lo, last), lo, last)
    results.append((mapped, all_ok, builder.basic_block))
    builder.branch(end)

    builder.position_at_end(blocks[_REFLECT])
    sz2 = builder.fmul(fn, _f64x4(2.0))
    ok = builder.and_(builder.fcmp_ordered(">=", v, builder.fneg(sz2)),
                      builder.fcmp_ordered("<", v, sz2))
    nudge = builder.select(builder.fcmp_ordered(">", v, _f64x4(-1e-15)), _f64x4(1e-15),
                           builder.fneg(v))
    below = builder.select(builder.fcmp_ordered("<", v, builder.fneg(fn)),
                           builder.fadd(v, sz2), builder.fsub(nudge, _f64x4(1.0)))
    above = builder.select(builder.fcmp_ordered(">=", v, fn),
                           builder.fsub(builder.fsub(sz2, v), _f64x4(1.0)), v)
    mapped = builder.select(neg, below, builder.select(high, above, v))
    results.append((mapped, ok, builder.basic_block))
    builder.branch(end)

    builder.position_at_end(blocks[_MIRROR])
    sz2 = builder.fsub(builder.fmul(fn, _f64x4(2.0)), _f64x4(2.0))
    ok = builder.and_(builder.fcmp_ordered(">", v, builder.fneg(sz2)),
                      builder.fcmp_ordered("<", v, sz2))
    below = builder.select(builder.fcmp_ordered("<=", v, builder.fsub(_f64x4(1.0), fn)),
                           builder.fadd(v, sz2), builder.fneg(v))
    above = builder.select(builder.fcmp_ordered(">=", v, fn), builder.fsub(sz2, v), v)
    mapped = builder.select(neg, below, builder.select(high, above, v))
    results.append((mapped, ok, builder.basic_block))
    builder.branch(end)

    builder.position_at_end(blocks[_WRAP])
    sz = last
    ok = builder.and_(builder.fcmp_ordered(">", v, builder.fneg(sz)),
                      builder.fcmp_ordered("<", v, builder.fmul(sz, _f64x4(2.0))))
    mapped = builder.select(neg, builder.fadd(v, sz),
                            builder.select(high, builder.fsub(v, sz), v))
    results.append((mapped, ok, builder.basic_block))
    builder.branch(end)

    builder.position_at_end(end)
    mphi = builder.phi(_F64x4)
    ophi = builder.phi(_Bx4)
    for mapped, ok, block in results:
        mphi.add_incoming(mapped, block)
        ophi.add_incoming(ok, block)
    big4 = _splat(builder, big)
    is_nearest = builder.icmp_signed("==", mode, ir.Constant(_I64, _NEAREST))
    return mphi, builder.and_(ophi, builder.select(is_nearest, all_ok, big4))


def _map_lanes(builder, y, x, h, w, mode, count):
    """Both axes mapped, and whether every lane below ``count`` took the fast path."""
    cy, oky = _map_axis(builder, y, h, mode)
    cx, okx = _map_axis(builder, x, w, mode)
    valid = builder.icmp_signed("<", ir.Constant(_I64x4, [0, 1, 2, 3]), _splat(builder, count))
    bad = builder.and_(valid, builder.not_(builder.and_(oky, okx)))
    ok = builder.icmp_unsigned("==", builder.bitcast(bad, ir.IntType(4)),
                               ir.Constant(ir.IntType(4), 0))
    return cy, cx, ok


def _floor(builder, v):
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_F64x4, [_F64x4]),
                                        "llvm.floor.v4f64")
    return builder.call(fn, [v])


def _taps(builder, i, n, mode, count=2):
    """Tap indices ``i`` (and ``i + 1``) after mapping (``_tap`` of warp.py, as lanes)."""
    sym = builder.and_(builder.icmp_signed("==", mode, ir.Constant(_I64, _MIRROR)),
                       builder.icmp_signed(">", n, ir.Constant(_I64, 1)))
    one = ir.Constant(_I64, 1)
    low = _splat(builder, builder.select(sym, one, ir.Constant(_I64, 0)))
    high = _splat(builder, builder.select(sym, builder.sub(n, ir.Constant(_I64, 2)),
                                          builder.sub(n, one)))
    n4 = _splat(builder, n)
    out = []
    for t in (i, builder.add(i, ir.Constant(_I64x4, [1] * 4)))[:count]:
        t = builder.select(builder.icmp_signed(">=", t, n4), high, t)
        out.append(builder.select(builder.icmp_signed("<", t, ir.Constant(_I64x4, [0] * 4)),
                                  low, t))
    return out


@intrinsic
def border4(typingctx, ry, rx, jf, m1, m4, h, w, mode, sbase, wc, c, count,
            t00, t01, t10, t11, w00, w01, w10, w11):
    """Bilinear taps of up to four border pixels, columns ``jf .. jf+count-1``.

    For the fill modes 'nearest', 'reflect', 'mirror' and 'wrap' (not
    'constant'): the coordinates as in ``coords4``, mapped into the image as
    ``_map_exact`` does, floored, the taps extended as ``_tap`` does, then
    the four element offsets (``sbase`` + row * ``wc`` + column * ``c``) and
    weights of each pixel stored at ``[0, 4)`` of ``t00 .. t11`` (int64) and
    ``w00 .. w11`` (float32). Border pixels go through mapping that the scalar
    code branches on in no pattern a predictor learns; as lanes it is selects.
    Returns False, having stored nothing useful, when a lane needs the exact
    scalar path (beyond one period of the image, or a one-sample axis).
    """
    sig = types.boolean(ry, rx, jf, m1, m4, h, w, mode, sbase, wc, c, count,
                        t00, t01, t10, t11, w00, w01, w10, w11)

    def codegen(context, builder, signature, args):
        (ryv, rxv, jv, a1, a4, hv, wv, modev, base, wcv, cv, countv,
         o00, o01, o10, o11, q00, q01, q10, q11) = args
        y, x = _coordinates(builder, ryv, rxv, jv, a1, a4)
        cy, cx, ok = _map_lanes(builder, y, x, hv, wv, modev, countv)
        fly = _floor(builder, cy)
        flx = _floor(builder, cx)
        fy = builder.fptrunc(builder.fsub(cy, fly), _F32x4)
        fx = builder.fptrunc(builder.fsub(cx, flx), _F32x4)
        ya, yb = _taps(builder, builder.fptosi(fly, _I64x4), hv, modev)
        xa, xb = _taps(builder, builder.fptosi(flx, _I64x4), wv, modev)
        base4 = _splat(builder, base)
        wc4 = _splat(builder, wcv)
        c4 = _splat(builder, cv)
        ya = builder.add(base4, builder.mul(ya, wc4))
        yb = builder.add(base4, builder.mul(yb, wc4))
        xa = builder.mul(xa, c4)
        xb = builder.mul(xb, c4)
        w00v, w01v, w10v, w11v = _weights(builder, fy, fx)
        tys = signature.args
        zero = ir.Constant(_I64, 0)
        for ary, val, ty in ((o00, builder.add(ya, xa), tys[12]),
                             (o01, builder.add(ya, xb), tys[13]),
                             (o10, builder.add(yb, xa), tys[14]),
                             (o11, builder.add(yb, xb), tys[15]),
                             (q00, w00v, tys[16]), (q01, w01v, tys[17]),
                             (q10, w10v, tys[18]), (q11, w11v, tys[19])):
            _store4(context, builder, ty, ary, zero, val)
        return ok

    return sig, codegen


@intrinsic
def border4_nearest(typingctx, ry, rx, jf, m1, m4, h, w, mode, sbase, wc, c, count, taps):
    """``border4`` for nearest-neighbour sampling: one element offset per pixel.

    The mapped coordinate rounded half up (``floor(c + 0.5)``, as scipy), the tap
    extended as ``_tap`` does, ``sbase + row * wc + column * c`` stored at
    ``taps[0:4]`` (int64). Returns False when a lane needs the exact scalar path.
    """
    sig = types.boolean(ry, rx, jf, m1, m4, h, w, mode, sbase, wc, c, count, taps)

    def codegen(context, builder, signature, args):
        ryv, rxv, jv, a1, a4, hv, wv, modev, base, wcv, cv, countv, tapv = args
        y, x = _coordinates(builder, ryv, rxv, jv, a1, a4)
        cy, cx, ok = _map_lanes(builder, y, x, hv, wv, modev, countv)
        half = _f64x4(0.5)
        iy, = _taps(builder, builder.fptosi(_floor(builder, builder.fadd(cy, half)), _I64x4),
                    hv, modev, 1)
        ix, = _taps(builder, builder.fptosi(_floor(builder, builder.fadd(cx, half)), _I64x4),
                    wv, modev, 1)
        off = builder.add(_splat(builder, base),
                          builder.add(builder.mul(iy, _splat(builder, wcv)),
                                      builder.mul(ix, _splat(builder, cv))))
        _store4(context, builder, signature.args[12], tapv, ir.Constant(_I64, 0), off)
        return ok

    return sig, codegen


# Bytes a reversed block spans, largest first: one-element pixels in 64, 32 or 16
# bytes, three-element ones in 96, 48 or 15 (32, 16 or five RGB byte pixels). A
# run takes the largest block it holds twice (the smallest: once), so short rows
# (28 bytes of MNIST, 96 of CIFAR) take the smaller blocks. Measured on RGB rows:
# 48-byte blocks were the fastest in cache (CIFAR) but 10% slower than 96-byte ones
# on 224-pixel rows streaming from memory, which reached memcpy's speed.
_BLOCK_BYTES = {1: (64, 32, 16), 3: (96, 48, 15)}


def _data_ptr(context, builder, aryty, ary, index):
    data = context.make_array(aryty)(context, builder, ary).data
    return builder.gep(data, [index])


def _as_i64(context, builder, ty, value):
    return context.cast(builder, value, ty, types.int64)


def _pixel_runs(c, backwards):
    """The intrinsic copying runs of ``c``-element pixels, forwards or backwards."""

    def run(typingctx, src, p, dst, d, count):
        if not (isinstance(src, types.Array) and isinstance(dst, types.Array)
                and src.dtype == dst.dtype):
            raise TypeError("copy_run/reverse_run: expected two arrays of one dtype")
        sig = types.boolean(src, p, dst, d, count)

        def codegen(context, builder, signature, args):
            srcv, pv, dstv, dv, nv = args
            tys = signature.args
            elem = context.get_value_type(tys[0].dtype)
            itemsize = context.get_abi_sizeof(elem)
            p64 = _as_i64(context, builder, tys[1], pv)
            d64 = _as_i64(context, builder, tys[3], dv)
            n64 = _as_i64(context, builder, tys[4], nv)
            csz = ir.Constant(_I64, c)
            sizes = sorted({max(1, b // (itemsize * c)) for b in _BLOCK_BYTES[c]}, reverse=True)
            done = cgutils.alloca_once_value(builder, cgutils.false_bit)
            for npix in sizes:
                vecty = ir.VectorType(elem, npix * c)
                # Backwards, output pixel k of a block takes source pixel npix - 1 - k.
                mask = ir.Constant(ir.VectorType(_I32, npix * c),
                                   [(npix - 1 - k) * c + ch for k in range(npix)
                                    for ch in range(c)]) if backwards else None
                bsz = ir.Constant(_I64, npix)

                def block(kb, vecty=vecty, mask=mask, npix=npix):
                    if backwards:
                        # Source pixels p - (kb + npix - 1)*c .. p - kb*c: one load.
                        first = builder.sub(p64, builder.mul(
                            builder.add(kb, ir.Constant(_I64, npix - 1)), csz))
                    else:
                        first = builder.add(p64, builder.mul(kb, csz))
                    sptr = _data_ptr(context, builder, tys[0], srcv, first)
                    vec = builder.load(builder.bitcast(sptr, vecty.as_pointer()), align=1)
                    out = builder.shuffle_vector(vec, vec, mask) if backwards else vec
                    dptr = _data_ptr(context, builder, tys[2], dstv,
                                     builder.add(d64, builder.mul(kb, csz)))
                    builder.store(out, builder.bitcast(dptr, vecty.as_pointer()), align=1)

                least = bsz if npix == sizes[-1] else ir.Constant(_I64, 2 * npix)
                todo = builder.and_(builder.not_(builder.load(done)),
                                    builder.icmp_signed(">=", n64, least))
                with builder.if_then(todo):
                    with cgutils.for_range(builder, builder.sdiv(n64, bsz)) as loop:
                        block(builder.mul(loop.index, bsz))
                    # The last block overlaps the one before it: no scalar tail.
                    block(builder.sub(n64, bsz))
                    builder.store(cgutils.true_bit, done)
            return builder.load(done)

        return sig, codegen

    sign = "-" if backwards else "+"
    run.__name__ = f"{'reverse' if backwards else 'copy'}_run{'' if c == 1 else c}"
    run.__doc__ = (
        f"Copy a run of {c}-element pixels: pixel ``k`` of ``dst`` at ``d`` is the "
        f"pixel of ``src`` at ``p {sign} k*{c}``, for ``k < count`` (``src`` and ``dst`` "
        "must not overlap).\n\n"
        "Whole blocks of pixels (16 to 64 bytes) are one load, "
        + ("one shuffle " if backwards else "")
        + "and one store, the last block overlapping the one before it. Returns False, "
        "having copied nothing, for runs shorter than the smallest block (the caller "
        "copies those).")
    return intrinsic(run)


# Forward runs are element runs (c = 1). LLVM's memcpy (glibc's) measured slower
# than these vector blocks for 150 KB images (an ImageNet row run merged over
# the whole image), and as slow for 96-byte CIFAR rows.
copy_run = _pixel_runs(1, False)
reverse_run1 = _pixel_runs(1, True)
reverse_run3 = _pixel_runs(3, True)


def _int64_slot(context, builder, aryty, ary, index):
    if not (isinstance(aryty, types.Array) and aryty.dtype == types.int64):
        raise TypeError("atomic_add/atomic_load: expected an int64 array")
    return _data_ptr(context, builder, aryty, ary, index)


@intrinsic
def atomic_add(typingctx, ary, i, value):
    """``ary[i] += value`` as one sequentially consistent atomic step; the old value.

    Threads take chunks of a batch from a shared counter with it, inside a
    kernel (no GIL, no Python round trip per chunk).
    """
    sig = types.int64(ary, i, value)

    def codegen(context, builder, signature, args):
        aryv, iv, vv = args
        ptr = _int64_slot(context, builder, signature.args[0], aryv,
                          _as_i64(context, builder, signature.args[1], iv))
        val = _as_i64(context, builder, signature.args[2], vv)
        return builder.atomic_rmw("add", ptr, val, "seq_cst")

    return sig, codegen


@intrinsic
def atomic_load(typingctx, ary, i):
    """``ary[i]`` read atomically (sequentially consistent): what other threads published."""
    sig = types.int64(ary, i)

    def codegen(context, builder, signature, args):
        aryv, iv = args
        ptr = _int64_slot(context, builder, signature.args[0], aryv,
                          _as_i64(context, builder, signature.args[1], iv))
        return builder.load_atomic(ptr, "seq_cst", 8)

    return sig, codegen


__all__ = ["atomic_add", "atomic_load", "bilinear1x4", "blend4", "border4", "border4_nearest",
           "coords4", "copy4", "copy_run", "offsets4", "reverse_run1", "reverse_run3",
           "select"]
