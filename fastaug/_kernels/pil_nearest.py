"""Pillow's NEAREST resize (``Image.resize(size, NEAREST, box=box)``), pixel for pixel.

What Pillow does (``_resize`` in ``src/_imaging.c``, ``ImagingScaleAffine`` in
``src/libImaging/Geometry.c``; unchanged from Pillow 7 to 13):

* The box arrives through ``PyArg_ParseTuple("(ffff)")``: each coordinate is
  rounded to float32, and the checks (offset >= 0, end <= the image's size,
  end - offset >= 0) and the box's width and height are float32 arithmetic.
* The scale is ``a0 = (double)(x1 - x0) / out_width`` (``a4`` likewise), the
  first sample ``xo = (double)x0 + a0 * 0.5``, and each further column adds
  ``a0`` to the running double (``xo += a[0]``): the accumulated sum, not
  ``x0 + a0 * (i + 0.5)``, which can differ in the last bit and then pick the
  neighbouring pixel. Rows the same with ``yo``.
* The source index is ``COORD(v)``: -1 for a negative ``v``, else ``(int)v``
  (truncation); an index outside the image leaves the output pixel at 0
  (Pillow allocates the output and clears each row first).
* An integer box of exactly the output's size is a crop in Pillow
  (``ImagingCrop``); the affine path with ``a0 = 1`` picks the same pixels, so
  it needs no case of its own here.

Pillow stores RGB as 4 bytes per pixel and copies whole pixels; on an (H, W, C)
array the same selection copies C bytes per pixel. The kernel takes the image
and the output as 2-D (rows, width * C) views, so one compiled signature serves
every channel count; the pixel copy is specialised per count by a branch outside
the loops. Each source column index is computed once (a table, as Pillow's
``xintab``); output rows that read the same source row as the row before
(enlargement) are copied from that row.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ._jit import helper, kernel

__all__ = ["resize_nearest"]


@intrinsic
def _copy32(typingctx, src, p, dst, o):
    """``dst[o:o+4] = src[p:p+4]`` as one unaligned 32-bit load and store.

    Byte by byte, LLVM keeps every load after the previous store (the arrays may
    alias as far as it knows): 3-4 times slower for RGB(A) pixels.
    """
    sig = types.void(src, p, dst, o)

    def codegen(context, builder, signature, args):
        srcv, pv, dstv, ov = args
        i32p = ir.IntType(32).as_pointer()
        sp = builder.gep(context.make_array(signature.args[0])(context, builder, srcv).data, [pv])
        dp = builder.gep(context.make_array(signature.args[2])(context, builder, dstv).data, [ov])
        value = builder.load(builder.bitcast(sp, i32p), align=1)
        builder.store(value, builder.bitcast(dp, i32p), align=1)
        return context.get_dummy_value()

    return sig, codegen


@helper
def _coords(start, step, n, limit, tab):
    """Pillow's running ``COORD(v)`` for ``n`` samples into ``tab``; -1 where outside."""
    v = start + step * 0.5
    for i in range(n):
        k = -1 if v < 0.0 else int(v)
        tab[i] = k if k < limit else -1
        v += step


@helper
def _run(tab):
    """The run ``[a, b)`` of non-negative entries of ``tab`` (they form one run)."""
    n = tab.size
    a = 0
    while a < n and tab[a] < 0:
        a += 1
    b = a
    while b < n and tab[b] >= 0:
        b += 1
    return a, b


@kernel
def resize_nearest(src, w, c, x0, y0, x1, y1, out, ow):
    """Write Pillow's NEAREST resize of ``src``'s ``box`` into ``out``.

    Parameters
    ----------
    src : ndarray
        uint8, an ``(H, w, c)`` C-contiguous image, flattened.
    w, c : int
        The image's width and channels per pixel (1 to 4).
    x0, y0, x1, y1 : float
        The box in the source's pixel coordinates, as given to Pillow.
    out : ndarray
        uint8, the ``(oh, ow, c)`` C-contiguous output, flattened; written in full.
    ow : int
        The output's width.

    Returns
    -------
    bool
        False, with ``out`` untouched, where Pillow refuses the box (ValueError:
        negative offset, past the image, or empty).
    """
    h = src.size // (w * c)
    oh = out.size // (ow * c)
    # Pillow's float32 box and its checks, in its order of operations.
    fx0 = np.float32(x0)
    fy0 = np.float32(y0)
    fx1 = np.float32(x1)
    fy1 = np.float32(y1)
    bw = fx1 - fx0
    bh = fy1 - fy0
    if fx0 < 0 or fy0 < 0 or fx1 > w or fy1 > h or bw < 0 or bh < 0:
        return False
    xtab = np.empty(ow, np.intp)
    ytab = np.empty(oh, np.intp)
    _coords(np.float64(fx0), np.float64(bw) / ow, ow, w, xtab)
    _coords(np.float64(fy0), np.float64(bh) / oh, oh, h, ytab)
    # Columns inside the image form one run (the samples increase): Pillow's
    # xmin..xmax; the columns outside it stay 0.
    xa, xb = _run(xtab)
    # Unsigned byte offsets: Numba then skips its negative-index checks.
    cu = np.uintp(c)
    n = np.uintp(xb - xa)
    xoff = np.empty(n, np.uintp)
    for i in range(n):
        xoff[i] = np.uintp(xtab[xa + i]) * cu
    rs = np.uintp(w) * cu
    ro = np.uintp(ow) * cu
    ua = np.uintp(xa) * cu
    ub = np.uintp(xb) * cu
    slim = np.uintp(src.size - 3) if src.size > 3 else np.uintp(0)
    prev = -1
    for y in range(oh):
        yi = ytab[y]
        d = np.uintp(y) * ro
        if yi < 0:
            for j in range(ro):
                out[d + j] = 0
            prev = -1
            continue
        if yi == prev:  # the row above's pixels again
            for j in range(ro):
                out[d + j] = out[d - ro + j]
            continue
        prev = yi
        s = np.uintp(yi) * rs
        for j in range(ua):
            out[d + j] = 0
        for j in range(ub, ro):
            out[d + j] = 0
        d += ua
        if c == 3:
            # Four bytes per pixel; the fourth lands on the next pixel's first
            # byte, which that pixel then overwrites. The run's last pixel, and
            # a pixel at the very end of src, are copied byte by byte.
            for i in range(n - 1 if n > 0 else 0):
                k = s + xoff[i]
                j = d + np.uintp(3) * i
                if k < slim:
                    _copy32(src, k, out, j)
                else:
                    out[j] = src[k]
                    out[j + 1] = src[k + 1]
                    out[j + 2] = src[k + 2]
            if n > 0:
                k = s + xoff[n - 1]
                j = d + np.uintp(3) * (n - 1)
                out[j] = src[k]
                out[j + 1] = src[k + 1]
                out[j + 2] = src[k + 2]
        elif c == 1:
            for i in range(n):
                out[d + i] = src[s + xoff[i]]
        elif c == 4:
            for i in range(n):
                _copy32(src, s + xoff[i], out, d + np.uintp(4) * i)
        else:
            for i in range(n):
                k = s + xoff[i]
                j = d + cu * i
                for q in range(cu):
                    out[j + q] = src[k + q]
    return True
