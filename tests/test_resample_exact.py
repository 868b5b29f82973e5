"""The uint8 resize kernel's fast paths against the slow reference (tests/_resample_reference.py).

Tolerance: none. uint8 in and out is PyTorch's integer path in both the kernel and
the reference (same float64 weights, same int16 rounding, exact integer sums, the
same rounding shift between the passes), so every output must be equal.

Cases are sized to reach each path of ``fastaug/_kernels/resample.py``'s uint8
kernel: rows and columns shorter and longer than the 32-value register blocks
(``FIR_LANES``) and not multiples of it; crops with more than 8 rows (the 32-bit
pixel transposes of three-channel images) and the last row and column of the
region; an axis whose size does not change (its pass skipped) with and without a
window, inside the image and reaching into the padding; and images lying against
a guard page, so that a read past the end of the source faults.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _resample_reference import resized_crop_one

from fastaug.resample import resized_crop

HERE = Path(__file__).resolve().parent
PADS = ["constant", "edge", "reflect", "symmetric"]
INTERPS = ["nearest", "bilinear", "bicubic"]


def _images(rng, n, c, lo, hi):
    return [rng.integers(0, 256, (int(h), int(w), c), dtype=np.uint8)
            for h, w in rng.integers(lo, hi, (n, 2))]


def _assert_exact(imgs, boxes, size, *, interp, aa, pad, hflip, vflip, fill, chw=False,
                  resize_to=None, window=None):
    got = resized_crop(imgs, boxes, size, interpolation=interp, antialias=aa, hflip=hflip,
                       vflip=vflip, padding_mode=pad, fill=fill, resize_to=resize_to,
                       window=window, data_format="channels_first" if chw else "channels_last",
                       num_threads=1)
    oh, ow = size
    for i, im in enumerate(imgs):
        if resize_to is None:
            want = resized_crop_one(im, boxes[i], size, interpolation=interp, antialias=aa,
                                    hflip=hflip[i], vflip=vflip[i], padding_mode=pad,
                                    fill=fill, channels_first=chw)
        else:
            # A window is a crop of the whole resize, flipped afterwards.
            full = resized_crop_one(im, boxes[i], tuple(resize_to[i]), interpolation=interp,
                                    antialias=aa, padding_mode=pad, fill=fill)
            t, lf = window[i]
            want = full[t:t + oh, lf:lf + ow]
            want = want[:, ::-1] if hflip[i] else want
            want = want[::-1] if vflip[i] else want
            want = np.ascontiguousarray(want.transpose(2, 0, 1) if chw else want)
        np.testing.assert_array_equal(got[i], want, err_msg=f"image {i} box {boxes[i]}")


@pytest.mark.parametrize("c", [1, 3, 4])
@pytest.mark.parametrize("aa", [True, False])
@pytest.mark.parametrize("interp", INTERPS)
def test_random_boxes_exact(interp, aa, c):
    rng = np.random.default_rng([11, INTERPS.index(interp), aa, c])
    for pad in PADS:
        imgs = _images(rng, 4, c, 5, 90)
        boxes = []
        for im in imgs:
            h, w = im.shape[:2]
            bh, bw = int(rng.integers(1, h + 20)), int(rng.integers(1, w + 20))
            boxes.append((int(rng.integers(-8, h - bh // 2 + 1)),
                          int(rng.integers(-8, w - bw // 2 + 1)), bh, bw))
        size = tuple(int(v) for v in rng.integers(1, 70, 2))
        _assert_exact(imgs, np.array(boxes, np.int64), size, interp=interp, aa=aa, pad=pad,
                      hflip=rng.random(4) < 0.5, vflip=rng.random(4) < 0.5,
                      fill=rng.integers(0, 256, c).tolist(), chw=bool(rng.random() < 0.5))


@pytest.mark.parametrize("c", [1, 3, 4])
@pytest.mark.parametrize("aa", [True, False])
@pytest.mark.parametrize("interp", ["bilinear", "bicubic"])
def test_unchanged_axis_is_skipped_exactly(interp, aa, c):
    # One axis keeps its size (its pass is the identity and is skipped), the other is
    # resized; boxes inside the image and reaching past each edge.
    rng = np.random.default_rng([12, interp == "bicubic", aa, c])
    imgs = _images(rng, 6, c, 30, 60)
    for size in [(20, 23), (9, 40), (45, 7)]:
        oh, ow = size
        for keep in ("rows", "cols"):
            boxes = []
            for k, im in enumerate(imgs):
                h, w = im.shape[:2]
                other = int(rng.integers(2, 70))
                bh, bw = (oh, other) if keep == "rows" else (other, ow)
                top = [0, h - bh, -3, h - bh + 4, 5, -1][k]
                left = [0, w - bw, 6, -4, w - bw + 2, 1][k]
                boxes.append((top, left, bh, bw))
            for pad in ("constant", "reflect"):
                _assert_exact(imgs, np.array(boxes, np.int64), size, interp=interp, aa=aa,
                              pad=pad, hflip=rng.random(6) < 0.5, vflip=rng.random(6) < 0.5,
                              fill=[7] * c)


@pytest.mark.parametrize("c", [1, 3])
@pytest.mark.parametrize("aa", [True, False])
def test_unchanged_axis_in_a_window(aa, c):
    # resize_to keeps one side of the box, the window crops the output from it.
    rng = np.random.default_rng([13, aa, c])
    imgs = _images(rng, 5, c, 40, 70)
    size = (24, 33)
    boxes, rs, win = [], [], []
    for k, im in enumerate(imgs):
        h, w = im.shape[:2]
        bh, bw = int(rng.integers(26, h)), int(rng.integers(35, w))
        boxes.append((int(rng.integers(-2, h - bh + 1)), int(rng.integers(0, w - bw + 3)),
                      bh, bw))
        sh, sw = (bh, int(rng.integers(33, 80))) if k % 2 else (int(rng.integers(24, 80)), bw)
        rs.append((sh, sw))
        win.append((int(rng.integers(0, sh - 24 + 1)), int(rng.integers(0, sw - 33 + 1))))
    for interp in ("bilinear", "bicubic"):
        _assert_exact(imgs, np.array(boxes, np.int64), size, interp=interp, aa=aa,
                      pad="edge", hflip=rng.random(5) < 0.5, vflip=rng.random(5) < 0.5,
                      fill=[0] * c, resize_to=np.array(rs), window=np.array(win))


def test_imagenet_like_boxes_exact():
    # The training recipe's shapes: 375x500 RGB, RandomResizedCrop-like boxes to 224.
    rng = np.random.default_rng(14)
    imgs = [rng.integers(0, 256, (375, 500, 3), dtype=np.uint8),
            rng.integers(0, 256, (500, 375, 3), dtype=np.uint8)] * 2
    boxes = np.array([[10, 20, 330, 330], [0, 0, 500, 375], [200, 300, 175, 200],
                      [123, 45, 150, 224]], np.int64)
    _assert_exact(imgs, boxes, (224, 224), interp="bilinear", aa=True, pad="constant",
                  hflip=[False, True, False, True], vflip=[False] * 4, fill=[0, 0, 0])


GUARDED = r"""
import numpy as np
import guard_harness as g
from _resample_reference import resized_crop_one
from fastaug.resample import PackedImages, resized_crop

arena = g.GuardedArena(1 << 16)
rng = np.random.default_rng(15)
n = 0
for c in (1, 3, 4):
    for h, w in ((37, 41), (9, 70), (60, 12)):
        for side in ("after", "before"):
            data = arena.array(h * w * c, side)
            data[:] = rng.integers(0, 256, h * w * c, dtype=np.uint8)
            img = data.reshape(h, w, c).copy()
            packed = PackedImages(data, np.array([0]), np.array([h]), np.array([w]), c)
            for box, size in (((0, 0, h, w), (20, 33)), ((h - 20, w - 30, 20, 30), (11, 40)),
                              ((h - 12, 0, 12, w), (12, 17)), ((0, w - 9, h, 9), (25, 9)),
                              ((-2, -3, h + 5, w + 4), (h, w - 1))):
                for interp in ("bilinear", "bicubic"):
                    for aa in (True, False):
                        got = resized_crop(packed, np.array([box]), size, interpolation=interp,
                                           antialias=aa, padding_mode="edge", num_threads=1)
                        want = resized_crop_one(img, box, size, interpolation=interp,
                                                antialias=aa, padding_mode="edge")
                        assert np.array_equal(got[0], want), (c, h, w, side, box, size)
                        n += 1
print("ok", n)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mmap guard pages: Linux")
def test_reads_stay_inside_a_guarded_image():
    # The 32-bit pixel loads read the byte after a pixel: never past the source's end.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", GUARDED], capture_output=True, text=True,
                          timeout=600, env=env, cwd=HERE)
    assert proc.returncode == 0 and "ok" in proc.stdout, (proc.returncode, proc.stderr[-2000:])


def test_integer_weights_fit_int16():
    # The kernel multiplies with int16 weights (as PyTorch stores them): the reference's
    # fixed-point weights must fit int16 for every scale, filter and antialias setting,
    # including merged edge taps (bicubic without antialias) and large downscales.
    from _resample_reference import int_matrix, weight_matrix

    sizes = [1, 2, 3, 5, 7, 16, 31, 64, 100, 224, 333, 500, 1000]
    for interp in ("bilinear", "bicubic"):
        for aa in (True, False):
            for n_in in sizes:
                for n_out in sizes:
                    W, wt_max = weight_matrix(n_in, n_out, interp, aa)
                    Wi, _ = int_matrix(W, wt_max, interp)
                    assert np.abs(Wi).max() <= 32767, (interp, aa, n_in, n_out)
