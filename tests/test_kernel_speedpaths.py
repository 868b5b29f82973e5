"""The kernel's fast paths against slow references: row copies and one-channel lanes.

* Row copies (``copy_pixels``): batches whose every matrix is a flip, a
  whole-pixel shift or an integer crop/row step (``m1 == m3 == 0``,
  ``m4 == +-1``, whole numbers), with nothing to do to the values (same dtype in
  and out, no shift, brightness or rescale). The reference is scipy per channel
  (nearest sampling at integer coordinates is exact, so the comparison is exact),
  plus numpy slicing for plain flips, bit for bit (float32 values travel as
  integers: -0.0 and every NaN payload survive).
* One channel, bilinear (``bilinear1x4``: four pixels per step): bit-identical to
  the scalar per-pixel code, which the kernel runs for two channels. A one-channel
  image stacked into two identical channels therefore must give, in each
  channel, exactly the one-channel result. Against scipy the tolerances are those
  of ``test_warp.py`` (float32 blend: 1e-3 absolute; uint8 may differ by one
  level only where scipy's value is within 1e-3 of a .5 rounding boundary).
"""

from __future__ import annotations

import numpy as np
import pytest
from _reference import scipy_warp

import fastaug
from fastaug.warp import FILL_MODES, warp_nhwc

MODES = FILL_MODES
RNG_SEED = 20260601


def _row_moving_matrices(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    """Flips, whole-pixel shifts, crops and integer row steps, some off the image."""
    m = np.zeros((n, 2, 3))
    m[:, 0, 0] = rng.choice([-1.0, 1.0, 1.0, 2.0, 0.0, -2.0], n)
    m[:, 1, 1] = rng.choice([-1.0, 1.0], n)
    m[:, 0, 2] = rng.integers(-h - 2, 2 * h + 2, n)
    m[:, 1, 2] = rng.integers(-w - 2, 2 * w + 2, n)
    return m


def _images(rng: np.random.Generator, shape: tuple[int, ...], dtype) -> np.ndarray:
    if np.dtype(dtype) == np.uint8:
        return rng.integers(0, 256, shape, dtype=np.uint8)
    return (rng.standard_normal(shape) * 50).astype(np.float32)


def _round_half_up_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32], ids=["u8", "f32"])
@pytest.mark.parametrize("c", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("mode", MODES)
def test_row_copies_match_scipy(mode: str, c: int, dtype) -> None:
    rng = np.random.default_rng([RNG_SEED, c, MODES.index(mode)])
    # Widths below, at and above every block size of the reversed copies (15 to
    # 96 bytes, 5 to 32 RGB pixels), so that whole blocks, overlapping last blocks
    # and element-wise tails all run.
    for h, w in ((1, 1), (3, 4), (5, 17), (4, 33), (2, 70), (3, 64)):
        x = _images(rng, (6, h, w, c), dtype)
        m = _row_moving_matrices(rng, 6, h, w)
        cval = float(rng.choice([0.0, 7.6, -3.0, 300.0]))
        got = fastaug.warp_affine(x, m, order=1, fill_mode=mode, cval=cval)
        ref = scipy_warp(x.astype(np.float64), m, order=0, mode=mode, cval=cval)
        # Nearest sampling at whole-number coordinates picks input values (or
        # cval) exactly: no tolerance. cval is cast as the kernel casts it.
        want = _round_half_up_u8(ref) if dtype == np.uint8 else ref.astype(np.float32)
        np.testing.assert_array_equal(got, want, err_msg=f"{h}x{w} cval={cval}")


@pytest.mark.parametrize("c", [1, 3, 4])
def test_flips_copy_float32_bits(c: int) -> None:
    rng = np.random.default_rng([RNG_SEED, 1, c])
    x = rng.standard_normal((4, 9, 21, c)).astype(np.float32)
    bits = x.view(np.uint32)
    bits[0, 0, :3] = 0x80000000  # -0.0
    bits[1, 2, 5:8] = 0x7FC00123  # a NaN with a payload
    bits[2, 4, 1:4] = 0x00000001  # the smallest subnormal
    h, w = 9, 21
    flips = np.array([
        [[1, 0, 0], [0, -1, w - 1]],
        [[-1, 0, h - 1], [0, 1, 0]],
        [[-1, 0, h - 1], [0, -1, w - 1]],
        [[1, 0, 0], [0, 1, 0]],
    ], dtype=np.float64)
    got = fastaug.warp_affine(x, flips, order=0)
    want = np.stack([x[0, :, ::-1], x[1, ::-1], x[2, ::-1, ::-1], x[3]])
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


def test_row_copies_gather_by_index_and_threads() -> None:
    rng = np.random.default_rng([RNG_SEED, 2])
    data = rng.integers(0, 256, (7, 40, 48, 3), dtype=np.uint8)
    index = rng.integers(0, 7, 64)
    m = _row_moving_matrices(rng, 64, 40, 48).reshape(64, 6)
    ref = scipy_warp(data[index].astype(np.float64), m.reshape(64, 2, 3), order=0,
                     mode="reflect", cval=0.0)
    for threads in (1, 2):
        # 64 * 40 * 48 * 3 bytes is over the threaded-copy threshold only when
        # doubled: run the batch twice as one to split it over threads.
        big_index = np.concatenate([index] * 4)
        dst = np.empty((256, 40, 48, 3), np.uint8)
        warp_nhwc(data, dst, np.concatenate([m] * 4), order=1, mode=MODES.index("reflect"),
                  cval=0.0, index=big_index, num_threads=threads)
        np.testing.assert_array_equal(dst, np.concatenate([_round_half_up_u8(ref)] * 4))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32], ids=["u8", "f32"])
@pytest.mark.parametrize("c", [1, 3, 4])
def test_row_copies_inside_the_image(c: int, dtype) -> None:
    """Every sample inside: crops, flips and row steps copied without border work.

    Reference: numpy indexing, ``out[r, j] = x[m2 + r * m0, m5 + j * m4]``, exact.
    Row lengths cross every reversed block size (15 to 96 bytes, used when a row
    holds two of them) and the whole-image run (unflipped, unit row step, full width).
    """
    rng = np.random.default_rng([RNG_SEED, 5, c])
    for h, w in ((1, 1), (5, 17), (4, 33), (3, 64), (6, 100), (7, 7)):
        x = _images(rng, (5, h, w, c), dtype)
        for _ in range(4):
            m0 = float(rng.choice([1.0, -1.0, 2.0, -2.0, 0.0]))
            m4 = float(rng.choice([1.0, -1.0]))
            oh = int(rng.integers(1, h + 1)) if abs(m0) <= 1 else (h - 1) // 2 + 1
            ow = int(rng.choice([w, rng.integers(1, w + 1)]))
            rows = (oh - 1) * abs(m0)
            m2 = float(rng.integers(rows, h) if m0 < 0 else rng.integers(0, h - rows))
            m5 = float(rng.integers(ow - 1, w) if m4 < 0 else rng.integers(0, w - ow + 1))
            m = np.tile([m0, 0.0, m2, 0.0, m4, m5], (5, 1))
            dst = np.empty((5, oh, ow, c), dtype)
            warp_nhwc(x, dst, m, order=0, mode=MODES.index("constant"), cval=0.0)
            r = (m2 + np.arange(oh) * m0).astype(int)
            j = (m5 + np.arange(ow) * m4).astype(int)
            want = x[:, r][:, :, j]
            np.testing.assert_array_equal(dst.view(np.uint8), want.view(np.uint8),
                                          err_msg=f"{h}x{w} -> {oh}x{ow}, m={m[0]}")


def test_mixed_batch_takes_the_general_kernel() -> None:
    # Row copies need every matrix to qualify: one that does not (a rotation, a
    # 90-degree turn) sends the whole batch to the general kernel, image by image
    # the same values as warping each image alone.
    rng = np.random.default_rng([RNG_SEED, 6])
    x = rng.integers(0, 256, (4, 9, 9, 3), dtype=np.uint8)
    flip = [[1.0, 0.0, 0.0], [0.0, -1.0, 8.0]]
    turn = [[0.0, 1.0, 0.0], [-1.0, 0.0, 8.0]]
    rot = [[0.8, -0.6, 2.0], [0.6, 0.8, -1.5]]
    for second in (turn, rot):
        m = np.array([flip, second, flip, [[1.0, 0.0, 1.0], [0.0, 1.0, -2.0]]])
        got = fastaug.warp_affine(x, m, order=1, fill_mode="reflect")
        alone = np.concatenate([fastaug.warp_affine(x[i:i + 1], m[i], order=1,
                                                    fill_mode="reflect") for i in range(4)])
        np.testing.assert_array_equal(got, alone)


def test_row_copies_leave_values_alone_only_without_epilogue() -> None:
    # A rescale or a dtype change (small uint8 batches: row copies, then a cast) and
    # a shift or a brightness (the general kernel): the values must still be those
    # of scipy at the same (integer) samples.
    rng = np.random.default_rng([RNG_SEED, 3])
    x = rng.integers(0, 256, (5, 6, 7, 3), dtype=np.uint8)
    m = _row_moving_matrices(rng, 5, 6, 7)
    ref = scipy_warp(x.astype(np.float64), m, order=0, mode="wrap", cval=0.0)
    got = fastaug.warp_affine(x, m, fill_mode="wrap", out_dtype=np.float32, scale=0.5)
    # One float32 multiply by 0.5 is exact.
    np.testing.assert_array_equal(got, (ref * 0.5).astype(np.float32))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cval", [0.0, 7.0, 2.5, -3.0])
@pytest.mark.parametrize("c", [1, 3, 4])
def test_row_copies_to_float32(mode: str, cval: float, c: int) -> None:
    # uint8 in, float32 out (Keras's default flow dtype) with a rescale: small
    # batches are row-copied into uint8, then cast. The values are scipy's at the
    # integer samples times the scale, fill included: a fractional or negative
    # cval cannot pass through uint8, so those go through the general kernel.
    from fastaug import warp as warp_mod

    rng = np.random.default_rng([RNG_SEED, 11, c])
    x = rng.integers(0, 256, (9, 7, 11, c), dtype=np.uint8)
    m = _row_moving_matrices(rng, 9, 7, 11)
    scale = 1 / 255
    calls = []
    orig = warp_mod._copy_rows

    def spy(*args):
        calls.append(args[1].dtype)
        return orig(*args)

    try:
        warp_mod._copy_rows = spy
        got = fastaug.warp_affine(x, m, fill_mode=mode, cval=cval, out_dtype=np.float32,
                                  scale=scale)
    finally:
        warp_mod._copy_rows = orig
    ref = scipy_warp(x.astype(np.float64), m, order=0, mode=mode, cval=cval)
    want = ref.astype(np.float32) * np.float32(scale)
    np.testing.assert_array_equal(got, want)
    through_u8 = mode != "constant" or cval in (0.0, 7.0)
    assert calls == ([np.dtype(np.uint8)] if through_u8 else [])


def _keras_like(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    th = rng.uniform(-0.6, 0.6, n)
    z = rng.uniform(0.7, 1.3, (2, n))
    m = np.zeros((n, 2, 3))
    m[:, 0, 0] = np.cos(th) * z[0]
    m[:, 0, 1] = -np.sin(th) * z[1]
    m[:, 1, 0] = np.sin(th) * z[0]
    m[:, 1, 1] = np.cos(th) * z[1]
    m[:, 0, 2] = rng.uniform(-0.3, 0.3, n) * h + (h - 1) / 2 * (1 - m[:, 0, 0] - m[:, 0, 1])
    m[:, 1, 2] = rng.uniform(-0.3, 0.3, n) * w + (w - 1) / 2 * (1 - m[:, 1, 0] - m[:, 1, 1])
    return m


@pytest.mark.parametrize("out_dtype", [np.uint8, np.float32], ids=["u8", "f32"])
@pytest.mark.parametrize("in_dtype", [np.uint8, np.float32], ids=["u8", "f32"])
@pytest.mark.parametrize("mode", MODES)
def test_one_channel_lanes_equal_scalar_code(mode: str, in_dtype, out_dtype) -> None:
    rng = np.random.default_rng([RNG_SEED, 4, MODES.index(mode)])
    for h, w in ((28, 28), (3, 5), (2, 9), (31, 6), (9, 64)):
        x = _images(rng, (8, h, w, 1), in_dtype)
        if in_dtype == np.float32:
            x = np.abs(x)
        m = _keras_like(rng, 8, h, w)
        scale = 255.0 if (in_dtype == np.float32 and out_dtype == np.uint8) else 1.0
        one = fastaug.warp_affine(x, m, order=1, fill_mode=mode, cval=5.0,
                                  out_dtype=out_dtype, scale=scale)
        two = fastaug.warp_affine(np.concatenate([x, x], axis=3), m, order=1, fill_mode=mode,
                                  cval=5.0, out_dtype=out_dtype, scale=scale)
        # Two channels run the scalar per-pixel code: the lanes must match it
        # bit for bit in both channels.
        for ch in range(2):
            np.testing.assert_array_equal(np.ascontiguousarray(one[..., 0]).view(np.uint8),
                                          np.ascontiguousarray(two[..., ch]).view(np.uint8),
                                          err_msg=f"{h}x{w}")


@pytest.mark.parametrize("mode", MODES)
def test_one_channel_bilinear_matches_scipy(mode: str) -> None:
    rng = np.random.default_rng([RNG_SEED, 5, MODES.index(mode)])
    x = rng.integers(0, 256, (16, 28, 28, 1), dtype=np.uint8)
    m = _keras_like(rng, 16, 28, 28)
    got = fastaug.warp_affine(x, m, order=1, fill_mode=mode, out_dtype=np.float32)
    ref = scipy_warp(x.astype(np.float64), m, order=1, mode=mode, cval=0.0)
    # float32 blend of four taps of values up to 255 (test_warp.py's F32_ATOL).
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-3)
    got8 = fastaug.warp_affine(x, m, order=1, fill_mode=mode)
    want8 = _round_half_up_u8(ref)
    off = got8.astype(np.int16) - want8
    # Off by one level only where scipy's value is within 1e-3 of a .5 boundary.
    near_tie = np.abs(ref - np.floor(ref) - 0.5) < 1e-3
    assert np.all((off == 0) | ((np.abs(off) == 1) & near_tie))


def _scalar_minmax(buf: np.ndarray) -> tuple[float, float]:
    # The loop the kernel had: Numba's min/max step, from buf[0].
    vmin = vmax = buf[0]
    for x in buf:
        vmin = x if x < vmin else vmin
        vmax = x if x > vmax else vmax
    return vmin, vmax


def test_vector_minmax_is_the_scalar_loop() -> None:
    # The channel shift's range (Keras clips to the warped image's own min and
    # max): sixteen lanes must give the loop's values for every length (tails),
    # with NaNs ignored unless the first value is NaN.
    from numba import njit

    from fastaug._kernels.warp import _minmax_f32

    minmax = njit(lambda b, n: _minmax_f32(b, n))
    rng = np.random.default_rng(0)
    for n in [1, 2, 15, 16, 17, 31, 32, 33, 100, 257]:
        for case in range(4):
            b = rng.normal(0, 50, n).astype(np.float32)
            if case == 1 and n > 3:
                b[[1, n // 2, n - 1]] = np.nan
            if case == 2:
                b[0] = np.nan
            if case == 3:
                b[:] = 7.0
            got = minmax(b, n)
            want = _scalar_minmax(b)
            np.testing.assert_array_equal(np.array(got, np.float32),
                                          np.array(want, np.float32), err_msg=f"{n} {case}")
