"""Reference test-suite for ``fastaug.warp_affine``.

Ground truth is ``scipy.ndimage.affine_transform`` run per image and channel
on a float64 copy (``tests/_reference.py::scipy_warp``).  A second, pure-numpy
reference written from the mode definitions (``numpy_warp``) and hand-computed
1-D tables pin down what every fill mode means; both are checked against scipy
first so that a failure in the fastaug tests is a fastaug bug, not a test bug.

Tolerances (each is used through the helpers below; see the comments there):

* float32 output, order 1: |got - ref| <= 1e-3 * max(1, |scale|) + 1e-6*|ref|.
  The kernel computes coordinates/weights in float64 like scipy but blends
  the 4 taps in float32: each product and sum has relative error 2**-24, so
  for data up to ~300 in magnitude the error is ~4 * 300 * 6e-8 ~ 1e-4; 1e-3
  leaves a 10x margin while still catching any wrong weight / wrong tap
  (which moves values by >= O(1) for random data).
* float32 output, order 0: exact (the output is a copy of one input sample or
  of float32(cval)); with ``scale`` 1e-6 relative (one float32 multiply).
* uint8 output: expected = floor(ref + 0.5) clipped to [0, 255] (half up, as
  the issue specifies). A float32 blend can land on the other side of a .5
  boundary only when the float64 reference is within the blend error
  (~1e-4) of it, so: |got - expected| <= 1 where frac(ref) is within 1e-3 of
  .5, and got == expected EVERYWHERE ELSE.  Order 0 has no blending, so
  uint8 order-0 output is exact.
* Sample coordinates: pixels whose float64 sample coordinate lies within
  1e-7 of an order-0 rounding tie (x.5), of a 'constant' edge or of a legacy
  'wrap' seam (integers) may legitimately flip with the last bit of the
  coordinate arithmetic; they are excluded (``ambiguous_mask``). With the
  random, non-degenerate matrices used here that set is empty with
  probability ~1 and every check asserts it covers < 1 % of pixels, so it can
  never hide a systematic bug.  Exact lattices (identity, flips, rot90,
  dyadic matrices) have exactly representable coordinates and are compared
  WITHOUT any mask, bit for bit.
"""

from __future__ import annotations

import re
import sys
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _reference import (
    DATA_FORMATS,
    MODES,
    ORDERS,
    ambiguous_mask,
    batch_matrices,
    dyadic_matrices,
    flip_matrix,
    identity_matrix,
    numpy_warp,
    random_matrices,
    rot90_matrix,
    round_half_up_u8,
    sample_coords,
    scipy_warp,
)


def warp_affine(*args, **kwargs):
    """Late import so that the reference self-tests run even without fastaug."""
    from fastaug import warp_affine as impl

    return impl(*args, **kwargs)


# --------------------------------------------------------------------------- #
# tolerances (justified in the module docstring)
# --------------------------------------------------------------------------- #
F32_ATOL = 1e-3  # float32 4-tap blend of data up to ~300: error ~1e-4
F32_RTOL = 1e-6  # one float32 multiply by `scale` (2**-24 ~ 6e-8) + margin
U8_TIE_BAND = 1e-3  # uint8 may be off by one only this close to a .5 boundary
MAX_AMBIGUOUS = 0.01  # the coordinate-tie exclusion may never cover >= 1 %

SHAPES = [(1, 1), (2, 3), (31, 17), (32, 32), (7, 40)]
CHANNELS = (1, 3, 4)
# (input dtype, out_dtype argument)
DTYPE_COMBOS = [
    (np.uint8, None),
    (np.uint8, np.float32),
    (np.float32, None),
    (np.float32, np.uint8),
]
DTYPE_IDS = ["u8-u8", "u8-f32", "f32-f32", "f32-u8"]


def seed_of(*parts) -> int:
    return zlib.crc32(repr(parts).encode())


def make_images(rng, n, h, w, c, dtype, data_format="channels_last", lo=0.0, hi=255.0):
    shape = (n, h, w, c) if data_format == "channels_last" else (n, c, h, w)
    if np.dtype(dtype) == np.uint8:
        return rng.integers(0, 256, size=shape, dtype=np.uint8)
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def spatial(images, data_format):
    return images.shape[1:3] if data_format == "channels_last" else images.shape[2:4]


def expand_mask(mask_nhw, data_format):
    return mask_nhw[..., None] if data_format == "channels_last" else mask_nhw[:, None]


def describe_bad(bad, got, expected, ref, matrices, data_format, limit=5):
    lines = []
    m = batch_matrices(matrices, got.shape[0])
    for idx in list(zip(*np.nonzero(bad)))[:limit]:
        if data_format == "channels_last":
            i, r, c, ch = idx
        else:
            i, ch, r, c = idx
        rr, cc = sample_coords(m[i], *spatial(got, data_format))
        lines.append(
            f"  at {tuple(int(v) for v in idx)}: got {got[idx]!r} expected {expected[idx]!r} "
            f"(float64 ref {ref[idx]!r}); samples input at (row={rr[r, c]!r}, col={cc[r, c]!r}); "
            f"matrix[{i}]={m[i].tolist()}"
        )
    return f"{int(bad.sum())} of {bad.size} values wrong:\n" + "\n".join(lines)


def check_against_scipy(
    got,
    images,
    matrices,
    *,
    order,
    mode,
    cval=0.0,
    data_format="channels_last",
    out_dtype=None,
    scale=None,
    exact_lattice=False,
):
    """Compare a fastaug result with the scipy reference using the documented
    tolerance rules. ``exact_lattice=True`` disables the coordinate-tie mask
    (all sample coordinates exactly representable)."""
    exp_dtype = np.dtype(out_dtype) if out_dtype is not None else images.dtype
    assert isinstance(got, np.ndarray)
    assert got.dtype == exp_dtype, f"dtype {got.dtype} != {exp_dtype}"
    assert got.shape == images.shape, f"shape {got.shape} != {images.shape}"

    ref = scipy_warp(images, matrices, order, mode, cval, data_format)
    n = images.shape[0]
    h, w = spatial(images, data_format)
    if exact_lattice:
        amb = np.zeros((n, h, w), dtype=bool)
    else:
        amb = ambiguous_mask(matrices, n, (h, w), order, mode)
        assert amb.mean() < MAX_AMBIGUOUS or amb.size < 100 and amb.sum() <= 1, (
            "test setup: too many coordinate ties excluded"
        )
    ok = np.broadcast_to(~expand_mask(amb, data_format), got.shape)

    if exp_dtype == np.uint8:
        expected = round_half_up_u8(ref)
        diff = np.abs(got.astype(np.int64) - expected.astype(np.int64))
        near_tie = np.abs(ref - np.floor(ref) - 0.5) <= U8_TIE_BAND
        if order == 0 or (exact_lattice and mode != "reflect"):
            # no blending error (order 0) / exactly representable blends
            bad = ok & (diff != 0)
        elif exact_lattice:
            # scipy nudges a 'reflect' sample at a whole number of periods from -1
            # to -1 + 1e-15, so its own blend there is a float64 hair off the exact
            # lattice value (216.49999999999997 for 216.5): only those
            # hair-from-a-tie values may round the other way.
            hair = np.abs(ref - np.floor(ref) - 0.5) <= 1e-9
            bad = ok & ((diff > 1) | ((diff == 1) & ~hair))
        else:
            bad = ok & ((diff > 1) | ((diff == 1) & ~near_tie))
        assert not bad.any(), describe_bad(bad, got, expected, ref, matrices, data_format)
    else:
        assert exp_dtype == np.float32
        s = 1.0 if scale is None else float(scale)
        exp64 = ref * s
        expected = exp64.astype(np.float32)
        assert np.isfinite(got[ok]).all(), "non-finite output"
        if (order == 0 or exact_lattice) and scale is None:
            bad = ok & (got != expected)
        elif order == 0 or exact_lattice:
            bad = ok & ~(np.abs(got - exp64) <= F32_RTOL * np.abs(exp64))
        else:
            tol = F32_ATOL * max(1.0, abs(s)) + F32_RTOL * np.abs(exp64)
            bad = ok & ~(np.abs(got.astype(np.float64) - exp64) <= tol)
        assert not bad.any(), describe_bad(bad, got, expected, ref, matrices, data_format)


def bitwise_equal(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == np.float32:
        return np.array_equal(
            np.ascontiguousarray(a).view(np.uint32), np.ascontiguousarray(b).view(np.uint32)
        )
    return np.array_equal(a, b)


def noncontiguous_view(arr, layout, data_format="channels_last"):
    """A view with the same values as ``arr`` but a non C-contiguous layout."""
    if layout == "contiguous":
        return np.ascontiguousarray(arr)
    if layout == "strided":  # every axis strided by 2 (e.g. big[:, ::2, ::2, ::2])
        big = np.zeros(tuple(2 * s for s in arr.shape), dtype=arr.dtype)
        big[::2, ::2, ::2, ::2] = arr
        v = big[::2, ::2, ::2, ::2]
    elif layout == "channel_slice":  # e.g. the RGB part of an RGBA batch
        ch_axis = 3 if data_format == "channels_last" else 1
        pad = [(0, 0)] * 4
        pad[ch_axis] = (1, 2)
        big = np.pad(arr, pad, constant_values=7)
        sl = [slice(None)] * 4
        sl[ch_axis] = slice(1, 1 + arr.shape[ch_axis])
        v = big[tuple(sl)]
    elif layout == "fortran":
        v = np.asfortranarray(arr)
    elif layout == "reversed":  # negative strides
        v = np.ascontiguousarray(arr[::-1, :, ::-1])[::-1, :, ::-1]
    elif layout == "transposed":  # stored with the other channel convention
        if data_format == "channels_last":
            v = np.moveaxis(np.ascontiguousarray(np.moveaxis(arr, -1, 1)), 1, -1)
        else:
            v = np.moveaxis(np.ascontiguousarray(np.moveaxis(arr, 1, -1)), -1, 1)
    else:
        raise ValueError(layout)
    assert np.array_equal(v, arr)
    return v


LAYOUTS = ("strided", "channel_slice", "fortran", "reversed", "transposed")


# =========================================================================== #
# 1. The references themselves (no fastaug involved)
# =========================================================================== #
A5 = np.array([10.0, 20.0, 40.0, 80.0, 160.0])  # the 1x5 test image, n = 5
C = -1.0  # cval used by the tables

# Order 1, points off the lattice.  Derivations (n = 5, a = A5):
#  constant: x outside [0, 4] -> cval; 0.25 -> 10 + .25*10 = 12.5;
#            3.7 -> .3*80 + .7*160 = 136.
#  nearest : clamp -> a[0] left of 0, a[4] right of 4.
#  reflect : half-sample symmetric, period 10, e(i) = a[i mod 10] or
#            a[9 - i mod 10]: e(-8..-1) = 40 80 160 160 80 40 20 10,
#            e(5..6) = 160 80, e(13..14) = 80 160.
#            -7.5 -> (40+80)/2 = 60; -3.2 -> .2*80 + .8*40 = 48;
#            -1.5 -> (20+10)/2 = 15; -0.3 -> e(-1)=e(0)=10 -> 10;
#            4.5 -> e(4)=e(5)=160; 5.5 -> (160+80)/2 = 120;
#            13.25 -> .75*80 + .25*160 = 100.
#  mirror  : whole-sample symmetric, period 8, e(i) = a[j], j = i mod 8,
#            j > 4 -> 8 - j: e(-8..-7) = 10 20, e(-4..-3) = 160 80,
#            e(-2..-1) = 40 20, e(5..6) = 80 40, e(13..14) = 80 40.
#            -7.5 -> 15; -3.2 -> .2*160 + .8*80 = 96; -1.5 -> 30;
#            -0.3 -> .3*20 + .7*10 = 13; 4.5 -> 120; 5.5 -> 60; 13.25 -> 70.
#  wrap    : legacy, x -> x mod 4 in [0, 4), interpolate a on [0, 4]:
#            -7.5 -> 0.5 -> 15; -3.2 -> 0.8 -> 18; -1.5 -> 2.5 -> 60;
#            -0.3 -> 3.7 -> 136; 4.5 -> 0.5 -> 15; 5.5 -> 1.5 -> 30;
#            13.25 -> 1.25 -> 25.
ORDER1_X = [-7.5, -3.2, -1.5, -0.3, 0.25, 3.7, 4.5, 5.5, 13.25]
ORDER1_TABLE = {
    "constant": [C, C, C, C, 12.5, 136, C, C, C],
    "nearest": [10, 10, 10, 10, 12.5, 136, 160, 160, 160],
    "reflect": [60, 48, 15, 10, 12.5, 136, 160, 120, 100],
    "mirror": [15, 96, 30, 13, 12.5, 136, 120, 60, 70],
    "wrap": [15, 18, 60, 136, 12.5, 136, 15, 30, 25],
}

# Order 0, points away from .5 ties: map into the base interval, round.
#  constant: outside [0, 4] -> cval (-0.3 is cval, NOT a[0]).
#  reflect : round then e(i): -7 -> 80, -3 -> 40, -1 -> 10, 0 -> 10,
#            4 -> 160, 5 -> 160, 13 -> 80.
#  mirror  : -7 -> 20, -3 -> 80, -1 -> 20, 0 -> 10, 4 -> 160, 5 -> 80, 13 -> 80.
#  wrap    : map FIRST (x mod 4), then round: -7.4 -> 0.6 -> a1 = 20;
#            -3.2 -> 0.8 -> 20; -1.3 -> 2.7 -> 80; -0.3 -> 3.7 -> a4 = 160
#            (rounding first would give a0 = 10: legacy wrap is not an
#            integer-index extension); 4.3 -> 0.3 -> 10; 5.4 -> 1.4 -> 20;
#            13.2 -> 1.2 -> 20.
ORDER0_X = [-7.4, -3.2, -1.3, -0.3, 0.2, 2.6, 4.3, 5.4, 13.2]
ORDER0_TABLE = {
    "constant": [C, C, C, C, 10, 80, C, C, C],
    "nearest": [10, 10, 10, 10, 10, 80, 160, 160, 160],
    "reflect": [80, 40, 10, 10, 10, 80, 160, 160, 80],
    "mirror": [20, 80, 20, 10, 10, 80, 160, 80, 80],
    "wrap": [20, 20, 80, 160, 10, 80, 10, 20, 20],
}

# Exactly on integers (both orders give the sample itself), incl. the
# 'constant' edges, whole reflect/mirror periods and the legacy-'wrap' seams:
#  constant: 0 -> a0 and 4 -> a4 are inside; everything else is cval.
#  reflect : e(-20) = e(-10) = e(20) = a0 = 10 (whole periods of 10),
#            e(-8) = 40, e(-4) = 80, e(-1) = 10, e(5) = 160, e(8) = 20.
#  mirror  : period 8: e(-20) = a4 = 160, e(-10) = a2 = 40, e(-8) = 10,
#            e(-4) = 160, e(-1) = 20, e(5) = 80, e(8) = 10, e(20) = 160.
#  wrap    : scipy reduces x < 0 into (0, 4] and x > 4 into [0, 4):
#            -20 -> 4 -> 160, -10 -> 2 -> 40, -8 -> 4 -> 160, -4 -> 4 -> 160,
#            -1 -> 3 -> 80, 5 -> 1 -> 20, 8 -> 0 -> 10, 20 -> 0 -> 10
#            (so the value on a seam depends on the side).
INT_X = [-20, -10, -8, -4, -1, 0, 4, 5, 8, 20]
INT_TABLE = {
    "constant": [C, C, C, C, C, 10, 160, C, C, C],
    "nearest": [10, 10, 10, 10, 10, 10, 160, 160, 160, 160],
    "reflect": [10, 10, 40, 80, 10, 10, 160, 160, 20, 10],
    "mirror": [160, 40, 10, 160, 20, 10, 160, 80, 10, 160],
    "wrap": [160, 40, 160, 160, 80, 10, 160, 20, 10, 10],
}

# Order 0 exactly on .5 ties (scipy: map the continuous coordinate into the
# base interval, then round half up):
#  in range: 0.5 -> a1 = 20, 3.5 -> a4 = 160 (half up).
#  constant: -0.5 and 4.5 are outside [0, 4] -> cval.
#  reflect : base interval [-0.5, 4.5]: -4.5 -> 3.5 -> 160; -1.5 -> 0.5 ->
#            20; -0.5 -> -0.5 -> 0 -> 10; 4.5 -> 5 -> e(5) = 160;
#            5.5 -> 3.5 -> 160.
#  mirror  : -4.5 -> 3.5 -> 160; -1.5 -> 1.5 -> 40; -0.5 -> 0.5 -> 20;
#            4.5 is left as is (folded only past n = 5) -> 5 -> e(5) = 80;
#            5.5 -> 2.5 -> 3 -> 80.
#  wrap    : -4.5 -> 3.5 -> 160; -1.5 -> 2.5 -> 80; -0.5 -> 3.5 -> 160;
#            4.5 -> 0.5 -> 20; 5.5 -> 1.5 -> 40.
TIE_X = [-4.5, -1.5, -0.5, 0.5, 3.5, 4.5, 5.5]
TIE_TABLE = {
    "constant": [C, C, C, 20, 160, C, C],
    "nearest": [10, 10, 10, 20, 160, 160, 160],
    "reflect": [160, 20, 10, 20, 160, 160, 160],
    "mirror": [160, 40, 20, 20, 160, 80, 80],
    "wrap": [160, 80, 160, 20, 160, 20, 40],
}

TABLES = {
    "order1": (ORDER1_X, ORDER1_TABLE, (1,)),
    "order0": (ORDER0_X, ORDER0_TABLE, (0,)),
    "integers": (INT_X, INT_TABLE, (0, 1)),
    "order0_ties": (TIE_X, TIE_TABLE, (0,)),
}


def line_case(xs, axis, dtype=np.float32):
    """One (1x5 or 5x1) image per sample point; image i samples every output
    pixel at coordinate xs[i] along ``axis`` and 0 along the other axis."""
    n = len(xs)
    if axis == "col":
        img = np.broadcast_to(A5.reshape(1, 1, 5, 1), (n, 1, 5, 1))
    else:
        img = np.broadcast_to(A5.reshape(1, 5, 1, 1), (n, 5, 1, 1))
    img = np.ascontiguousarray(img).astype(dtype)
    mats = np.zeros((n, 2, 3))
    mats[:, 1 if axis == "col" else 0, 2] = xs
    return img, mats


TABLE_CASES = [
    (table, mode, order, axis)
    for table, (_, _, orders) in TABLES.items()
    for mode in MODES
    for order in orders
    for axis in ("col", "row")
]


@pytest.mark.parametrize("table,mode,order,axis", TABLE_CASES)
def test_reference_scipy_matches_hand_tables(table, mode, order, axis):
    xs, tab, _ = TABLES[table]
    img, mats = line_case(xs, axis, np.float64)
    ref = scipy_warp(img, mats, order, mode, C)
    assert np.all(ref == ref[:, :1, :1, :]), "all pixels of one image sample the same point"
    np.testing.assert_allclose(ref[:, 0, 0, 0], tab[mode], rtol=0, atol=1e-9)
    # the from-the-definitions numpy reference agrees as well (ties included)
    np.testing.assert_allclose(numpy_warp(img, mats, order, mode, C)[:, 0, 0, 0], tab[mode],
                               atol=1e-9)


@pytest.mark.parametrize("kind", ["random", "far", "dyadic"])
def test_reference_numpy_matches_scipy(kind):
    """Our reading of every mode (numpy_warp) equals scipy: to 1e-9 off the
    coordinate-tie set for random matrices, bit for bit on dyadic lattices
    (ties, 'constant' edges and 'wrap' seams included)."""
    rng = np.random.default_rng(seed_of("numpy-vs-scipy", kind))
    for k, (h, w) in enumerate(SHAPES + [(1, 7), (6, 1), (2, 2)]):
        c = CHANNELS[k % 3]
        img = rng.integers(0, 256, (3, h, w, c)).astype(np.float64)
        if kind == "dyadic":
            mats = dyadic_matrices(rng, 3, h, w)
        else:
            mats = random_matrices(rng, 3, h, w, far=kind == "far")
        for mode in MODES:
            for order in ORDERS:
                a = scipy_warp(img, mats, order, mode, 7.5)
                b = numpy_warp(img, mats, order, mode, 7.5)
                if kind == "dyadic":
                    np.testing.assert_array_equal(a, b)
                else:
                    amb = ambiguous_mask(mats, 3, (h, w), order, mode)[..., None]
                    assert amb.mean() < MAX_AMBIGUOUS
                    np.testing.assert_allclose(np.where(amb, 0, a), np.where(amb, 0, b), atol=1e-9)


def test_reference_far_matrices_reach_several_periods_out():
    """The 'far' random matrices really exercise the extensions far out."""
    rng = np.random.default_rng(0)
    for h, w in [(31, 17), (2, 3), (32, 32)]:
        mats = random_matrices(rng, 8, h, w, far=True)
        lo = hi = 0.0
        for m in mats:
            rr, cc = sample_coords(m, h, w)
            lo = min(lo, (cc / max(w - 1, 1)).min(), (rr / max(h - 1, 1)).min())
            hi = max(hi, (cc / max(w - 1, 1)).max(), (rr / max(h - 1, 1)).max())
        assert lo < -3 and hi > 4, (lo, hi)  # in units of the period n-1


def test_reference_exact_matrices_match_numpy():
    rng = np.random.default_rng(1)
    for n in (1, 2, 5, 8):
        img = rng.integers(0, 256, (1, n, n, 3)).astype(np.float64)
        for mode in MODES:
            for order in ORDERS:
                for k in range(4):
                    got = scipy_warp(img, rot90_matrix(n, k), order, mode, -9.0)[0]
                    np.testing.assert_array_equal(got, np.rot90(img[0], k, axes=(0, 1)))
    for h, w in [(1, 1), (2, 3), (5, 9)]:
        img = rng.integers(0, 256, (1, h, w, 2)).astype(np.float64)
        for mode in MODES:
            for order in ORDERS:
                f = scipy_warp(img, flip_matrix(h, w, "horizontal"), order, mode, -9.0)[0]
                np.testing.assert_array_equal(f, img[0, :, ::-1])
                f = scipy_warp(img, flip_matrix(h, w, "vertical"), order, mode, -9.0)[0]
                np.testing.assert_array_equal(f, img[0, ::-1])
                np.testing.assert_array_equal(scipy_warp(img, identity_matrix(), order, mode)[0],
                                              img[0])


def test_reference_channels_first_is_transpose():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (2, 6, 5, 3)).astype(np.float64)
    mats = random_matrices(rng, 2, 6, 5, far=True)
    a = scipy_warp(img, mats, 1, "reflect", 0.0, "channels_last")
    b = scipy_warp(np.moveaxis(img, -1, 1), mats, 1, "reflect", 0.0, "channels_first")
    np.testing.assert_array_equal(np.moveaxis(b, 1, -1), a)


# =========================================================================== #
# 2. Mode semantics pinned by hand (fastaug)
# =========================================================================== #
@pytest.mark.parametrize("table,mode,order,axis", TABLE_CASES)
@pytest.mark.parametrize("in_dtype", [np.uint8, np.float32], ids=["u8", "f32"])
def test_mode_hand_tables(table, mode, order, axis, in_dtype):
    xs, tab, _ = TABLES[table]
    img, mats = line_case(xs, axis, in_dtype)
    expected = np.asarray(tab[mode], dtype=np.float64)
    got = warp_affine(img, mats, order=order, fill_mode=mode, cval=C, out_dtype=np.float32)
    assert got.shape == img.shape and got.dtype == np.float32
    assert np.all(got == got[:, :1, :1, :]), "pixels sampling the same point differ"
    # order 1 off-lattice blends: float32 weights -> 1e-3 (see module doc);
    # everything else is a copy of a sample or of cval: exact.
    atol = F32_ATOL if table == "order1" else 0.0
    np.testing.assert_allclose(got[:, 0, 0, 0], expected, rtol=0, atol=atol, err_msg=f"x = {xs}")
    got8 = warp_affine(img, mats, order=order, fill_mode=mode, cval=C, out_dtype=np.uint8)
    np.testing.assert_array_equal(got8[:, 0, 0, 0], round_half_up_u8(expected), err_msg=f"x = {xs}")


# =========================================================================== #
# 3. Random matrices against scipy
# =========================================================================== #
@pytest.mark.parametrize("data_format", DATA_FORMATS)
@pytest.mark.parametrize("in_dtype,out_dtype", DTYPE_COMBOS, ids=DTYPE_IDS)
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("mode", MODES)
def test_random_matrices_match_scipy(mode, order, in_dtype, out_dtype, data_format):
    dtype_id = DTYPE_IDS[DTYPE_COMBOS.index((in_dtype, out_dtype))]
    rng = np.random.default_rng(seed_of("random", mode, order, dtype_id, data_format))
    for k, (h, w) in enumerate(SHAPES):
        c = CHANNELS[k % 3]
        # float32 -> uint8 also exercises clipping of out-of-range data
        lo, hi = (-40.0, 300.0) if (in_dtype, out_dtype) == (np.float32, np.uint8) else (0.0, 255.0)
        imgs = make_images(rng, 4, h, w, c, in_dtype, data_format, lo, hi)
        mats = np.concatenate([random_matrices(rng, 2, h, w),
                               random_matrices(rng, 2, h, w, far=True)])
        cval = float(rng.choice([0.0, 37.6, 255.0, -12.25]))
        got = warp_affine(imgs, mats, order=order, fill_mode=mode, cval=cval, out_dtype=out_dtype,
                          data_format=data_format)
        check_against_scipy(got, imgs, mats, order=order, mode=mode, cval=cval,
                            data_format=data_format, out_dtype=out_dtype)


@pytest.mark.parametrize("in_dtype,out_dtype", DTYPE_COMBOS, ids=DTYPE_IDS)
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("mode", MODES)
def test_dyadic_lattice_matches_scipy_bit_for_bit(mode, order, in_dtype, out_dtype):
    """Matrices with entries in {0, +-1/2, +-1, +-2} and half-pixel shifts (2x
    zooms, flips, transposes, multi-period shifts) put every sample exactly on
    a multiple of 0.5: order-0 rounding ties, exact 'constant' edges and
    legacy-'wrap' seams all occur, and all are fully determined.  Blend weights
    are in {0, 1/4, 1/2, 1}, so with integer-valued data every blend is exact
    in float32 too and the result must equal scipy's exactly (uint8: half up)."""
    rng = np.random.default_rng(seed_of("dyadic", mode, order, str(in_dtype), str(out_dtype)))
    for k, (h, w) in enumerate(SHAPES + [(5, 5), (1, 6)]):
        c = CHANNELS[k % 3]
        imgs = rng.integers(0, 256, (6, h, w, c)).astype(in_dtype)  # integer-valued
        mats = dyadic_matrices(rng, 6, h, w)
        cval = 36.5  # a .5 tie itself: uint8 output must give 37 (half up, not to-even)
        got = warp_affine(imgs, mats, order=order, fill_mode=mode, cval=cval, out_dtype=out_dtype)
        check_against_scipy(got, imgs, mats, order=order, mode=mode, cval=cval,
                            out_dtype=out_dtype, exact_lattice=True)


def _warp_case_strategy():
    @st.composite
    def case(draw):
        data_format = draw(st.sampled_from(DATA_FORMATS))
        n = draw(st.integers(1, 4))
        h = draw(st.integers(1, 24))
        w = draw(st.integers(1, 24))
        c = draw(st.integers(1, 5))
        in_dtype = draw(st.sampled_from([np.uint8, np.float32]))
        out_dtype = draw(st.sampled_from([None, np.uint8, np.float32]))
        order = draw(st.sampled_from(ORDERS))
        mode = draw(st.sampled_from(MODES))
        cval = draw(st.floats(-50, 300, allow_nan=False, allow_infinity=False))
        float_out = out_dtype is np.float32 or (out_dtype is None and in_dtype is np.float32)
        scale = draw(st.sampled_from([None, 1 / 255, 2.0, -0.5])) if float_out else None
        if scale is not None and mode == "constant":
            cval = 0.0  # whether cval is scaled is not specified; keep it unambiguous
        seed = draw(st.integers(0, 2**32 - 1))
        far = draw(st.booleans())
        shared = draw(st.booleans())  # one (2,3) matrix for the whole batch
        layout = draw(st.sampled_from(("contiguous",) + LAYOUTS))
        matrix_layout = draw(st.sampled_from(["contiguous", "strided", "float32"]))
        num_threads = draw(st.sampled_from([None, 1, 2, 3]))
        return dict(data_format=data_format, n=n, h=h, w=w, c=c, in_dtype=in_dtype,
                    out_dtype=out_dtype, order=order, mode=mode, cval=cval, scale=scale,
                    seed=seed, far=far, shared=shared, layout=layout,
                    matrix_layout=matrix_layout, num_threads=num_threads)

    return case()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_warp_case_strategy())
def test_hypothesis_random_cases_match_scipy(case):
    rng = np.random.default_rng(case["seed"])
    n, h, w, c, fmt = case["n"], case["h"], case["w"], case["c"], case["data_format"]
    imgs = make_images(rng, n, h, w, c, case["in_dtype"], fmt)
    mats = random_matrices(rng, 1 if case["shared"] else n, h, w, far=case["far"])
    if case["shared"]:
        mats = mats[0]
    if case["matrix_layout"] == "strided":
        big = np.zeros(mats.shape[:-1] + (6,))
        big[..., ::2] = mats
        mats = big[..., ::2]
    elif case["matrix_layout"] == "float32":
        mats = mats.astype(np.float32)  # the reference uses the same float32 values
    view = noncontiguous_view(imgs, case["layout"], fmt)
    kwargs = dict(order=case["order"], fill_mode=case["mode"], cval=case["cval"],
                  out_dtype=case["out_dtype"], data_format=fmt, num_threads=case["num_threads"])
    if case["scale"] is not None:
        kwargs["scale"] = case["scale"]
    got = warp_affine(view, mats, **kwargs)
    check_against_scipy(got, imgs, mats, order=case["order"], mode=case["mode"], cval=case["cval"],
                        data_format=fmt, out_dtype=case["out_dtype"], scale=case["scale"])


# =========================================================================== #
# 4. Exact cases
# =========================================================================== #
def _exact_images(rng, n, h, w, c, dtype, data_format):
    if np.dtype(dtype) == np.uint8:
        return make_images(rng, n, h, w, c, np.uint8, data_format)
    # arbitrary float32 bit patterns (wide range, both signs, non-integers)
    shape = (n, h, w, c) if data_format == "channels_last" else (n, c, h, w)
    return (rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 4, shape)).astype(np.float32)


@pytest.mark.parametrize("data_format", DATA_FORMATS)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32], ids=["u8", "f32"])
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("mode", MODES)
def test_identity_is_bitwise_copy(mode, order, dtype, data_format):
    rng = np.random.default_rng(seed_of("identity", mode, order, str(dtype), data_format))
    for h, w in SHAPES:
        imgs = _exact_images(rng, 3, h, w, 3, dtype, data_format)
        for mats in (identity_matrix(), np.broadcast_to(identity_matrix(), (3, 2, 3)).copy()):
            got = warp_affine(imgs, mats, order=order, fill_mode=mode, cval=-3.0,
                              data_format=data_format)
            assert bitwise_equal(got, imgs), f"identity not exact for {(h, w)}"
            assert not np.shares_memory(got, imgs), "must return a copy, not the input"


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("mode", MODES)
def test_identity_preserves_negative_zero_bitwise(mode, order):
    """'Identity gives an exact copy' read bitwise: -0.0 stays -0.0 even next
    to non-zero neighbours (a naive order-1 blend -0.0*1 + 3.0*0 gives +0.0;
    zero-weight taps must not contribute)."""
    imgs = np.full((2, 4, 5, 2), -0.0, dtype=np.float32)
    imgs[:, 1::2, 1::2] = 3.0
    imgs[1, 2, 2] = -7.5
    got = warp_affine(imgs, identity_matrix(), order=order, fill_mode=mode)
    assert np.array_equal(np.signbit(got), np.signbit(imgs)), (
        f"{int((np.signbit(got) != np.signbit(imgs)).sum())} signs of zero flipped"
    )
    assert bitwise_equal(got, imgs)


@pytest.mark.parametrize("order", ORDERS)
def test_identity_uint8_to_float32_is_exact(order):
    rng = np.random.default_rng(3)
    imgs = make_images(rng, 2, 9, 7, 4, np.uint8)
    got = warp_affine(imgs, identity_matrix(), order=order, out_dtype=np.float32)
    assert got.dtype == np.float32
    assert bitwise_equal(got, imgs.astype(np.float32))


@pytest.mark.parametrize("data_format", DATA_FORMATS)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32], ids=["u8", "f32"])
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("mode", MODES)
def test_flips_are_exact(mode, order, dtype, data_format):
    rng = np.random.default_rng(seed_of("flip", mode, order, str(dtype), data_format))
    h_ax, w_ax = (1, 2) if data_format == "channels_last" else (2, 3)
    for h, w in SHAPES:
        imgs = _exact_images(rng, 2, h, w, 3, dtype, data_format)
        got = warp_affine(imgs, flip_matrix(h, w, "horizontal"), order=order, fill_mode=mode,
                          data_format=data_format)
        assert bitwise_equal(got, np.flip(imgs, axis=w_ax)), f"horizontal flip {(h, w)}"
        got = warp_affine(imgs, flip_matrix(h, w, "vertical"), order=order, fill_mode=mode,
                          data_format=data_format)
        assert bitwise_equal(got, np.flip(imgs, axis=h_ax)), f"vertical flip {(h, w)}"
        m180 = np.array([[-1.0, 0.0, h - 1.0], [0.0, -1.0, w - 1.0]])
        got = warp_affine(imgs, m180, order=order, fill_mode=mode, data_format=data_format)
        assert bitwise_equal(got, np.flip(imgs, axis=(h_ax, w_ax))), f"180 rotation {(h, w)}"


@pytest.mark.parametrize("data_format", DATA_FORMATS)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32], ids=["u8", "f32"])
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("mode", MODES)
def test_rot90_square_is_exact(mode, order, dtype, data_format):
    rng = np.random.default_rng(seed_of("rot90", mode, order, str(dtype), data_format))
    axes = (1, 2) if data_format == "channels_last" else (2, 3)
    for size in (1, 2, 5, 31, 32):
        imgs = _exact_images(rng, 3, size, size, 4, dtype, data_format)
        for k in (1, 2, 3):
            got = warp_affine(imgs, rot90_matrix(size, k), order=order, fill_mode=mode,
                              data_format=data_format)
            assert bitwise_equal(got, np.rot90(imgs, k, axes=axes)), f"rot90 k={k} size={size}"
        # per-image matrices: image i rotated by i*90 degrees
        mats = np.stack([rot90_matrix(size, i) for i in range(3)])
        got = warp_affine(imgs, mats, order=order, fill_mode=mode, data_format=data_format)
        for i in range(3):
            assert bitwise_equal(got[i], np.rot90(imgs[i], i, axes=(axes[0] - 1, axes[1] - 1)))


@pytest.mark.parametrize("out_dtype", [None, np.float32], ids=["u8", "f32"])
def test_cval_is_rounded_half_up_and_clipped(out_dtype):
    imgs = np.full((1, 2, 3, 2), 100, dtype=np.uint8)
    far_away = np.array([[1.0, 0.0, 1000.0], [0.0, 1.0, -1000.0]])
    for cval in (37.6, 37.4, 2.5, 254.5, 255.4, -5.0, -0.4, 300.0, 0.0):
        for order in ORDERS:
            got = warp_affine(imgs, far_away, order=order, fill_mode="constant", cval=cval,
                              out_dtype=out_dtype)
            if out_dtype is None:
                expected = round_half_up_u8(np.array(cval))
            else:
                expected = np.float32(cval)
            assert np.all(got == expected), (
                f"cval={cval} order={order}: got {np.unique(got)} expected {expected}")


# =========================================================================== #
# 5. API features: scale, out=, layouts, matrix forms, data formats, threads
# =========================================================================== #
@pytest.mark.parametrize("in_dtype", [np.uint8, np.float32], ids=["u8", "f32"])
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("mode", MODES)
def test_scale_with_float32_out(mode, order, in_dtype):
    rng = np.random.default_rng(seed_of("scale", mode, order, str(in_dtype)))
    imgs = make_images(rng, 3, 31, 17, 3, in_dtype)
    mats = np.concatenate([random_matrices(rng, 2, 31, 17),
                           random_matrices(rng, 1, 31, 17, far=True)])
    for scale in (1 / 255, 2.0, -0.5):
        got = warp_affine(imgs, mats, order=order, fill_mode=mode, cval=0.0, out_dtype=np.float32,
                          scale=scale)
        check_against_scipy(got, imgs, mats, order=order, mode=mode, cval=0.0,
                            out_dtype=np.float32, scale=scale)
    got = warp_affine(imgs, identity_matrix(), order=order, fill_mode=mode, out_dtype=np.float32,
                      scale=1 / 255)
    np.testing.assert_allclose(got, imgs.astype(np.float64) / 255, rtol=F32_RTOL, atol=0)


@pytest.mark.parametrize("data_format", DATA_FORMATS)
@pytest.mark.parametrize("in_dtype,out_dtype", DTYPE_COMBOS, ids=DTYPE_IDS)
def test_out_buffer(in_dtype, out_dtype, data_format):
    rng = np.random.default_rng(seed_of("out", str(in_dtype), str(out_dtype), data_format))
    imgs = make_images(rng, 3, 13, 11, 3, in_dtype, data_format)
    mats = random_matrices(rng, 3, 13, 11, far=True)
    kw = dict(order=1, fill_mode="reflect", out_dtype=out_dtype, data_format=data_format)
    expected = warp_affine(imgs, mats, **kw)
    odt = np.dtype(out_dtype) if out_dtype is not None else imgs.dtype
    out = np.full(imgs.shape, 77, dtype=odt)  # garbage that must be overwritten
    res = warp_affine(imgs, mats, out=out, **kw)
    assert res is out, "must return the caller's buffer itself"
    assert bitwise_equal(out, expected)
    check_against_scipy(out, imgs, mats, order=1, mode="reflect", data_format=data_format,
                        out_dtype=out_dtype)


def test_noncontiguous_out_buffer_is_filled_or_rejected():
    """Not specified whether a non-contiguous ``out`` is accepted; if it is,
    the result must land in it, otherwise a clean ValueError/TypeError."""
    rng = np.random.default_rng(4)
    imgs = make_images(rng, 2, 8, 6, 3, np.uint8)
    mats = random_matrices(rng, 2, 8, 6)
    expected = warp_affine(imgs, mats)
    big = np.zeros((2, 8, 12, 3), dtype=np.uint8)
    out = big[:, :, ::2]
    try:
        res = warp_affine(imgs, mats, out=out)
    except (ValueError, TypeError) as e:
        assert re.search(r"\bout\b", str(e)), str(e)
        return
    assert res is out
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("data_format", DATA_FORMATS)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32], ids=["u8", "f32"])
def test_noncontiguous_images(layout, data_format, dtype):
    rng = np.random.default_rng(seed_of("layout", layout, data_format, str(dtype)))
    imgs = make_images(rng, 3, 17, 10, 3, dtype, data_format)
    mats = random_matrices(rng, 3, 17, 10, far=True)
    view = noncontiguous_view(imgs, layout, data_format)
    assert not view.flags.c_contiguous
    for order in ORDERS:
        got = warp_affine(view, mats, order=order, fill_mode="mirror", data_format=data_format)
        want = warp_affine(imgs, mats, order=order, fill_mode="mirror", data_format=data_format)
        assert bitwise_equal(got, want), f"{layout} differs from the contiguous copy"
        check_against_scipy(got, imgs, mats, order=order, mode="mirror", data_format=data_format)


def test_shared_matrix_equals_per_image_matrices_and_matrix_layouts():
    rng = np.random.default_rng(5)
    imgs = make_images(rng, 5, 12, 9, 3, np.uint8)
    m = random_matrices(rng, 1, 12, 9, far=True)[0]
    base = warp_affine(imgs, m, order=1, fill_mode="wrap")
    check_against_scipy(base, imgs, m, order=1, mode="wrap")
    variants = {
        "(N,2,3) copy": np.repeat(m[None], 5, axis=0),
        "broadcast view (zero strides)": np.broadcast_to(m, (5, 2, 3)),
        "fortran (2,3)": np.asfortranarray(m),
        "transposed view": np.ascontiguousarray(m.T).T,
        "(N,2,3) strided": np.repeat(m[None], 10, axis=0)[::2],
    }
    for name, mv in variants.items():
        got = warp_affine(imgs, mv, order=1, fill_mode="wrap")
        assert bitwise_equal(got, base), name
    # float32 matrices are floats too: same result as their float64 values
    m32 = m.astype(np.float32)
    got = warp_affine(imgs, m32, order=1, fill_mode="wrap")
    assert bitwise_equal(got, warp_affine(imgs, m32.astype(np.float64), order=1, fill_mode="wrap"))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32], ids=["u8", "f32"])
def test_channels_first_equals_channels_last(dtype):
    rng = np.random.default_rng(seed_of("cf", str(dtype)))
    imgs = make_images(rng, 4, 15, 21, 3, dtype)
    mats = random_matrices(rng, 4, 15, 21, far=True)
    for mode in MODES:
        for order in ORDERS:
            a = warp_affine(imgs, mats, order=order, fill_mode=mode, cval=9.0)
            b = warp_affine(np.ascontiguousarray(np.moveaxis(imgs, -1, 1)), mats, order=order,
                            fill_mode=mode, cval=9.0, data_format="channels_first")
            assert b.shape == (4, 3, 15, 21)
            assert bitwise_equal(np.ascontiguousarray(np.moveaxis(b, 1, -1)), a), (mode, order)


def test_output_dtype_shape_and_fresh_array():
    rng = np.random.default_rng(6)
    for dtype in (np.uint8, np.float32):
        imgs = make_images(rng, 2, 5, 4, 3, dtype)
        got = warp_affine(imgs, random_matrices(rng, 2, 5, 4))
        assert got.dtype == dtype and got.shape == imgs.shape
        assert not np.shares_memory(got, imgs)
        for od in (np.uint8, np.float32):
            assert warp_affine(imgs, identity_matrix(), out_dtype=od).dtype == od


def test_num_threads_do_not_change_results():
    rng = np.random.default_rng(7)
    imgs = make_images(rng, 7, 20, 18, 3, np.uint8)
    mats = random_matrices(rng, 7, 20, 18, far=True)
    base = warp_affine(imgs, mats, order=1, fill_mode="reflect", num_threads=1)
    for nt in (None, 2, 3, 7, 16):
        got = warp_affine(imgs, mats, order=1, fill_mode="reflect", num_threads=nt)
        assert bitwise_equal(got, base), f"num_threads={nt}"


def test_concurrent_calls_from_many_python_threads():
    """8 Python threads hammer warp_affine at once with different data, dtypes,
    modes and num_threads; every result equals the serial result exactly."""
    rng = np.random.default_rng(8)
    jobs = []
    nts = [1, 2, None, 1, 2, None, 3, 4]
    for t in range(8):
        dtype = (np.uint8, np.float32)[t % 2]
        h, w = 16 + t, 24 - t
        imgs = make_images(rng, 6, h, w, 1 + t % 4, dtype)
        mats = random_matrices(rng, 6, h, w, far=t % 3 == 0)
        kw = dict(order=t % 2, fill_mode=MODES[t % 5], cval=3.0, num_threads=nts[t],
                  out_dtype=(None, np.float32)[(t // 2) % 2])
        serial = warp_affine(imgs, mats, **{**kw, "num_threads": 1})
        jobs.append((imgs, mats, kw, serial))

    barrier = threading.Barrier(len(jobs))
    errors = []

    def worker(i):
        imgs, mats, kw, serial = jobs[i]
        try:
            barrier.wait()
            for _ in range(5):
                got = warp_affine(imgs, mats, **kw)
                if not bitwise_equal(got, serial):
                    errors.append(f"thread {i}: result differs from serial call")
                    return
        except Exception as e:  # pragma: no cover - reported below
            errors.append(f"thread {i}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(jobs))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not any(th.is_alive() for th in threads), "deadlock / hang"
    assert not errors, errors


# =========================================================================== #
# 6. Inputs are never modified
# =========================================================================== #
@pytest.mark.parametrize("dtype", [np.uint8, np.float32], ids=["u8", "f32"])
def test_inputs_not_modified_and_readonly_inputs_work(dtype):
    rng = np.random.default_rng(9)
    imgs = make_images(rng, 3, 10, 12, 3, dtype)
    mats = random_matrices(rng, 3, 10, 12, far=True)
    imgs0, mats0 = imgs.copy(), mats.copy()
    expected = warp_affine(imgs, mats, order=1, fill_mode="mirror", out_dtype=np.float32, scale=0.5)
    assert bitwise_equal(imgs, imgs0) and np.array_equal(mats, mats0)
    out = np.empty(imgs.shape, dtype=np.float32)
    warp_affine(imgs, mats, order=1, fill_mode="mirror", out_dtype=np.float32, scale=0.5, out=out)
    assert bitwise_equal(imgs, imgs0) and np.array_equal(mats, mats0)

    imgs.flags.writeable = False
    mats.flags.writeable = False
    got = warp_affine(imgs, mats, order=1, fill_mode="mirror", out_dtype=np.float32, scale=0.5)
    assert bitwise_equal(got, expected)
    got = warp_affine(imgs, mats[0], order=0)  # (2,3) read-only too
    check_against_scipy(got, imgs, mats[0], order=0, mode="nearest")
    # read-only non-contiguous view as well
    view = imgs[:, ::2]
    assert not view.flags.writeable
    got = warp_affine(view, mats, order=1, fill_mode="reflect")
    check_against_scipy(got, view, mats, order=1, mode="reflect")
    assert bitwise_equal(imgs, imgs0) and np.array_equal(mats, mats0)


# =========================================================================== #
# 7. Bad inputs: error type AND a message naming argument, value, allowed
# =========================================================================== #
def _good():
    imgs = np.zeros((4, 6, 5, 3), dtype=np.uint8)
    mats = np.broadcast_to(identity_matrix(), (4, 2, 3)).copy()
    return imgs, mats


def _expect(exc, arg_regex, call, *tokens):
    with pytest.raises(exc, match=arg_regex) as ei:
        call()
    msg = str(ei.value)
    for tok in tokens:
        assert re.search(tok, msg, flags=re.IGNORECASE), f"message {msg!r} lacks {tok!r}"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [(0, 0, 0), (3, 1, 2), (2, 0, 1)])
def test_nonfinite_matrices_rejected(bad, where):
    imgs, mats = _good()
    mats[where] = bad
    _expect(ValueError, "matrices", lambda: warp_affine(imgs, mats), r"nan|inf|finite")
    _expect(ValueError, "matrices", lambda: warp_affine(imgs, mats[where[0]]), r"nan|inf|finite")


@pytest.mark.parametrize("shape", [(2, 2), (3, 3), (6,), (4, 3, 3), (4, 2, 2), (4, 3, 2), (4, 6),
                                   (1, 4, 2, 3)])
def test_wrong_matrix_shape_rejected(shape):
    imgs, _ = _good()
    _expect(ValueError, "matrices", lambda: warp_affine(imgs, np.zeros(shape)))


@pytest.mark.parametrize("n_mats", [1, 3, 5, 8])
def test_wrong_matrix_count_rejected(n_mats):
    imgs, _ = _good()  # N = 4
    mats = np.broadcast_to(identity_matrix(), (n_mats, 2, 3)).copy()
    _expect(ValueError, "matrices", lambda: warp_affine(imgs, mats), str(n_mats))


@pytest.mark.parametrize("shape", [(6, 5, 3), (6, 5), (1, 4, 6, 5, 3)])
def test_wrong_image_ndim_rejected(shape):
    _, mats = _good()
    imgs = np.zeros(shape, dtype=np.uint8)
    _expect(ValueError, "images", lambda: warp_affine(imgs, mats[0]))


def test_image_too_large_for_32_bit_offsets_rejected():
    # A zero-stride view: 2**31 elements per image without allocating them.
    huge = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), (1, 32768, 32768, 2),
                                           (0, 0, 0, 0))
    _expect(ValueError, "images", lambda: warp_affine(huge, identity_matrix()), "2\\*\\*31")


@pytest.mark.parametrize("dtype", [np.int16, np.float64, np.int32, np.uint16, np.float16, np.bool_,
                                   np.int8])
def test_unsupported_image_dtype_rejected(dtype):
    imgs, mats = _good()
    name = np.dtype(dtype).name
    _expect(TypeError, "images", lambda: warp_affine(imgs.astype(dtype), mats), name, "uint8",
            "float32")


@pytest.mark.parametrize("order", [2, -1, 3])
def test_bad_order_rejected(order):
    imgs, mats = _good()
    _expect(ValueError, "order", lambda: warp_affine(imgs, mats, order=order),
            re.escape(str(order)))


@pytest.mark.parametrize("mode", ["foo", "grid-wrap", "grid-constant", "Reflect", ""])
def test_bad_fill_mode_rejected(mode):
    imgs, mats = _good()
    tokens = ["constant", "reflect", "mirror"] + ([re.escape(mode)] if mode else [])
    _expect(ValueError, "fill_mode", lambda: warp_affine(imgs, mats, fill_mode=mode), *tokens)


@pytest.mark.parametrize("fmt", ["bar", "NHWC", "channels-last"])
def test_bad_data_format_rejected(fmt):
    imgs, mats = _good()
    _expect(ValueError, "data_format", lambda: warp_affine(imgs, mats, data_format=fmt),
            re.escape(fmt), "channels_last", "channels_first")


@pytest.mark.parametrize("shape", [(4, 6, 5, 4), (3, 6, 5, 3), (4, 5, 6, 3), (4, 3, 6, 5),
                                   (4, 6, 5)])
def test_out_wrong_shape_rejected(shape):
    imgs, mats = _good()
    out = np.zeros(shape, dtype=np.uint8)
    _expect(ValueError, r"\bout\b", lambda: warp_affine(imgs, mats, out=out))


@pytest.mark.parametrize("out_dtype_arg,buf_dtype", [(None, np.float32), (None, np.int16),
                                                    (np.float32, np.uint8), (np.uint8, np.float32),
                                                    (None, np.float64)])
def test_out_wrong_dtype_rejected(out_dtype_arg, buf_dtype):
    imgs, mats = _good()
    out = np.zeros(imgs.shape, dtype=buf_dtype)
    # the issue only says "ValueError/TypeError" for a bad out dtype
    _expect((TypeError, ValueError), r"\bout\b",
            lambda: warp_affine(imgs, mats, out=out, out_dtype=out_dtype_arg))


@pytest.mark.parametrize("od", [np.int16, np.float64, np.int32, np.float16])
def test_bad_out_dtype_rejected(od):
    imgs, mats = _good()
    _expect((TypeError, ValueError), "out_dtype", lambda: warp_affine(imgs, mats, out_dtype=od),
            np.dtype(od).name, "uint8", "float32")


def test_bad_calls_do_not_modify_out():
    imgs, mats = _good()
    out = np.full(imgs.shape, 5, dtype=np.uint8)
    bad = mats.copy()
    bad[1, 0, 0] = np.nan
    with pytest.raises(ValueError):
        warp_affine(imgs, bad, out=out)
    assert np.all(out == 5)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32], ids=["u8", "f32"])
@pytest.mark.parametrize("c", [3, 4])
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("mode", MODES)
def test_last_image_of_the_array_warps_like_any_other(mode, order, c, dtype):
    """Three- and four-channel pixels are loaded as four lanes; for RGB the fourth
    lane reads one element past the pixel, so the array's last pixel takes a
    separate path (a load there would run off the end). An image must warp the
    same, bit for bit, whether it is followed by another image or ends the array,
    and both must agree with scipy. The matrices put taps on the bottom-right
    pixel from inside the image and from the border (sub-pixel shifts, a zoom
    out across the corner, a rotation)."""
    rng = np.random.default_rng(seed_of("last", mode, order, str(c), str(dtype)))
    h, w = 7, 6
    pair = rng.integers(0, 256, (2, h, w, c)).astype(dtype)
    # Offsets clear of rounding ties and of 'constant' edges, which the scipy
    # check would have to exclude.
    zoom = np.array([[1.27, 0.0, -1.13], [0.0, 1.27, -0.96]])
    turn = np.array([[np.cos(0.3), np.sin(0.3), -1.1], [-np.sin(0.3), np.cos(0.3), 1.6]])
    mats = np.stack([np.array([[1.0, 0.0, 0.45], [0.0, 1.0, 0.55]]),
                     np.array([[1.0, 0.0, 0.4], [0.0, 1.0, 0.3]]),
                     np.array([[1.0, 0.0, 0.7], [0.0, 1.0, 0.2]]), zoom, turn])
    for m in mats:
        followed = warp_affine(pair, m, order=order, fill_mode=mode, cval=9.0)[0]
        last = warp_affine(pair[:1], m, order=order, fill_mode=mode, cval=9.0)[0]
        np.testing.assert_array_equal(last, followed)
        check_against_scipy(last[None], pair[:1], m[None], order=order, mode=mode, cval=9.0)
