"""``fastaug.resample.resized_crop`` against the slow reference (tests/_resample_reference.py),
PIL, and (when installed) torchvision.

Tolerances:
* uint8 images: exact. The kernel and the reference both follow PyTorch's integer
  path (same float64 weights, same int16 rounding, integer sums), and the epilogue
  is the same two float32 operations (multiply, then add) in both.
* float32 images: the kernel sums in float32 from float32 weights, the reference in
  float64; with inputs in [0, 1) and at most a few dozen taps per axis the
  difference stays below a few float32 ulps of the sum, and |mul| <= 4 scales it:
  ``atol = rtol = 2e-5``.
* PIL (bilinear/bicubic antialiased uint8): PIL rounds with 22-bit weights,
  PyTorch with 14-22-bit ones, so they may differ by one level (documented by
  PyTorch for its uint8 antialias path): ``max |diff| <= 1``.
"""

from __future__ import annotations

import numpy as np
import pytest
from _resample_reference import padded_crop, resized_crop_one

from fastaug.resample import PackedImages, resized_crop

INTERPS = ["nearest", "bilinear", "bicubic"]
PADS = ["constant", "edge", "reflect", "symmetric"]


def _case(rng, dtype, n=4):
    c = int(rng.choice([1, 3, 4]))
    imgs = []
    for _ in range(n):
        h, w = rng.integers(1, 40, size=2)
        if dtype == np.uint8:
            imgs.append(rng.integers(0, 256, (h, w, c), dtype=np.uint8))
        else:
            imgs.append(rng.random((h, w, c), dtype=np.float32))
    oh, ow = (int(v) for v in rng.integers(1, 30, size=2))
    boxes = []
    for im in imgs:
        h, w = im.shape[:2]
        bh = int(rng.integers(1, 2 * h + 3))
        bw = int(rng.integers(1, 2 * w + 3))
        # Mostly inside, sometimes reaching out on either side.
        top = int(rng.integers(-h // 2 - 2, h))
        left = int(rng.integers(-w // 2 - 2, w))
        boxes.append((top, left, bh, bw))
    return imgs, np.array(boxes, dtype=np.int64), (oh, ow), c


def _check(imgs, boxes, size, c, rng, interp, aa, pad, tol):
    hflip = rng.random(len(imgs)) < 0.5
    vflip = rng.random(len(imgs)) < 0.5
    fill = (rng.integers(0, 256, c) if imgs[0].dtype == np.uint8 else rng.random(c)).tolist()
    use_norm = rng.random() < 0.5
    mul = (rng.random(c) * 4 - 2).tolist() if use_norm else None
    add = (rng.random(c) * 2 - 1).tolist() if use_norm else None
    odt = np.float32 if use_norm else [np.uint8, np.float32][int(rng.integers(2))]
    chw = bool(rng.random() < 0.5)
    got = resized_crop(imgs, boxes, size, interpolation=interp, antialias=aa, hflip=hflip,
                       vflip=vflip, padding_mode=pad, fill=fill, mul=mul, add=add,
                       out_dtype=odt, data_format="channels_first" if chw else "channels_last",
                       num_threads=1)
    for i, im in enumerate(imgs):
        want = resized_crop_one(im, boxes[i], size, interpolation=interp, antialias=aa,
                                hflip=hflip[i], vflip=vflip[i], padding_mode=pad, fill=fill,
                                mul=mul, add=add, out_dtype=odt, channels_first=chw)
        if tol == 0 or odt == np.uint8 and im.dtype == np.uint8:
            np.testing.assert_array_equal(got[i], want, err_msg=f"image {i} box {boxes[i]}")
        elif odt == np.uint8:
            # float32 sums round to a neighbouring level only at exact .5 ties.
            assert np.abs(got[i].astype(int) - want.astype(int)).max() <= 1
        else:
            np.testing.assert_allclose(got[i], want, rtol=tol, atol=tol,
                                       err_msg=f"image {i} box {boxes[i]}")


@pytest.mark.parametrize("pad", PADS)
@pytest.mark.parametrize("aa", [True, False])
@pytest.mark.parametrize("interp", INTERPS)
def test_uint8_matches_reference_exactly(interp, aa, pad):
    rng = np.random.default_rng([1, INTERPS.index(interp), aa, PADS.index(pad)])
    for _ in range(4):
        imgs, boxes, size, c = _case(rng, np.uint8)
        _check(imgs, boxes, size, c, rng, interp, aa, pad, 0)


@pytest.mark.parametrize("pad", PADS)
@pytest.mark.parametrize("aa", [True, False])
@pytest.mark.parametrize("interp", INTERPS)
def test_float32_matches_reference(interp, aa, pad):
    rng = np.random.default_rng([2, INTERPS.index(interp), aa, PADS.index(pad)])
    for _ in range(4):
        imgs, boxes, size, c = _case(rng, np.float32)
        _check(imgs, boxes, size, c, rng, interp, aa, pad, 2e-5)


@pytest.mark.parametrize("c", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_every_channel_count(dtype, c):
    # The kernels specialise 1, 3 and 4 channels; 2 and 5 take the generic loops.
    rng = np.random.default_rng([8, c, dtype == np.uint8])
    for interp in INTERPS:
        imgs = [(rng.integers(0, 256, (h, w, c), dtype=np.uint8) if dtype == np.uint8
                 else rng.random((h, w, c), dtype=np.float32))
                for h, w in rng.integers(3, 30, (3, 2))]
        boxes = np.array([[int(rng.integers(-3, 3)), int(rng.integers(-3, 3)),
                           im.shape[0] + 2, im.shape[1] - 1] for im in imgs])
        for aa in (True, False):
            _check(imgs, boxes, (11, 17), c, rng, interp, aa, "reflect",
                   0 if dtype == np.uint8 else 2e-5)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("interp", INTERPS)
def test_resize_to_and_window_is_resize_then_crop(interp, dtype):
    # Output = window of the whole resize (torchvision Resize + CenterCrop/crop), flipped after.
    rng = np.random.default_rng([9, INTERPS.index(interp), dtype == np.uint8])
    imgs, boxes, _, c = _case(rng, dtype, n=6)
    size = (7, 9)
    rs = np.stack([rng.integers(7, 40, 6), rng.integers(9, 40, 6)], 1)
    rs[0] = (boxes[0, 2], boxes[0, 3]) if boxes[0, 2] >= 7 and boxes[0, 3] >= 9 else rs[0]
    win = np.stack([rng.integers(0, rs[:, 0] - 7 + 1), rng.integers(0, rs[:, 1] - 9 + 1)], 1)
    hflip = rng.random(6) < 0.5
    for aa in (True, False):
        for w in (win, None):
            got = resized_crop(imgs, boxes, size, resize_to=rs, window=w, hflip=hflip,
                               interpolation=interp, antialias=aa, padding_mode="edge")
            for i, im in enumerate(imgs):
                full = resized_crop_one(im, boxes[i], tuple(rs[i]), interpolation=interp,
                                        antialias=aa, padding_mode="edge")
                t, lf = (win[i] if w is not None else
                         [int(round((rs[i, 0] - 7) / 2)), int(round((rs[i, 1] - 9) / 2))])
                want = full[t:t + 7, lf:lf + 9]
                want = want[:, ::-1] if hflip[i] else want
                if dtype == np.uint8:
                    np.testing.assert_array_equal(got[i], want)
                else:
                    np.testing.assert_allclose(got[i], want, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("scale", [0.37, 0.5, 1.6, 2.0, 5.3])
@pytest.mark.parametrize("interp", ["bilinear", "bicubic"])
def test_large_scale_factors_uint8(interp, scale):
    # Strong down- and up-scaling: many taps, the widest int precisions.
    rng = np.random.default_rng(int(scale * 100))
    img = rng.integers(0, 256, (61, 83, 3), dtype=np.uint8)
    size = (max(1, round(61 / scale)), max(1, round(83 / scale)))
    for aa in (True, False):
        got = resized_crop([img], [0, 0, 61, 83], size, interpolation=interp, antialias=aa)
        want = resized_crop_one(img, (0, 0, 61, 83), size, interpolation=interp, antialias=aa)
        np.testing.assert_array_equal(got[0], want)


@pytest.mark.parametrize("cap", [0, 150])
@pytest.mark.parametrize("pad", ["constant", "reflect"])
@pytest.mark.parametrize("interp", ["bilinear", "bicubic"])
def test_uint8_horizontal_pass_in_strips(monkeypatch, interp, pad, cap):
    # Crop regions above the column-major scratch cap are filtered in strips of rows: with
    # the cap at 0, strips of one row (in a scratch of the kernel's own); at 150 bytes,
    # strips of a few rows and a shorter last one. Same exact reference.
    import fastaug.resample as rs

    monkeypatch.setattr(rs, "_COLUMNS_MAX", cap)
    rng = np.random.default_rng([10, interp == "bicubic", pad == "reflect", cap])
    for _ in range(3):
        imgs, boxes, size, c = _case(rng, np.uint8)
        for aa in (True, False):
            _check(imgs, boxes, size, c, rng, interp, aa, pad, 0)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("packed", [False, True])
def test_copied_and_resized_boxes_in_one_batch(monkeypatch, packed, dtype, threads):
    # Copied boxes (the output's size) and resampled ones go to different kernels; in
    # one batch, over threads, each image must still land in its own output slot. A
    # list is read in place (one call per image) when its images are large enough:
    # the threshold at 0 takes that path.
    import fastaug.resample as rs

    monkeypatch.setattr(rs, "_IN_PLACE_MIN_BYTES", 0 if not packed else 1 << 60)
    rng = np.random.default_rng([11, packed, dtype == np.uint8, threads])
    size = (9, 13)
    shape = (20, 24, 3)
    imgs = [rng.integers(0, 256, shape, dtype=np.uint8).astype(dtype) for _ in range(7)]
    boxes = np.array([(k, 2 * k, 9, 13) if k % 3 else (k, k, 5 + 2 * k, 17 - k)
                      for k in range(7)], dtype=np.int64)
    hflip = rng.random(7) < 0.5
    src = np.stack(imgs) if packed else imgs
    got = resized_crop(src, boxes, size, hflip=hflip, mul=[0.5, 2.0, 1.0], add=[1.0, 0.0, -3.0],
                       out_dtype=np.float32, data_format="channels_first", num_threads=threads)
    for i, im in enumerate(imgs):
        want = resized_crop_one(im, boxes[i], size, hflip=hflip[i], mul=[0.5, 2.0, 1.0],
                                add=[1.0, 0.0, -3.0], out_dtype=np.float32,
                                channels_first=True)
        np.testing.assert_allclose(got[i], want, rtol=2e-5, atol=2e-5, err_msg=f"image {i}")


def test_same_size_box_is_a_padded_copy():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    for pad in PADS:
        for interp in INTERPS:
            box = (-3, 5, 7, 11)
            got = resized_crop([img], box, (7, 11), padding_mode=pad, fill=(1, 2, 3),
                               interpolation=interp, hflip=True)
            np.testing.assert_array_equal(got[0], padded_crop(img, box, pad, (1, 2, 3))[:, ::-1])


def test_padding_modes_match_numpy_pad_far_outside():
    # Boxes several image sizes away: the periodic extension of np.pad.
    img = np.arange(2 * 3 * 1, dtype=np.uint8).reshape(2, 3, 1)
    for pad in ["edge", "reflect", "symmetric"]:
        box = (-7, -11, 17, 25)
        got = resized_crop([img], box, (17, 25), padding_mode=pad)
        np.testing.assert_array_equal(got[0], padded_crop(img, box, pad, (0,)))


def test_array_list_and_packed_inputs_agree():
    rng = np.random.default_rng(4)
    x = rng.integers(0, 256, (5, 20, 30, 3), dtype=np.uint8)
    boxes = np.array([[2, 3, 15, 20]] * 5)
    a = resized_crop(x, boxes, (9, 13))
    b = resized_crop(list(x), boxes, (9, 13))
    c = resized_crop(PackedImages.pack(list(x)), boxes, (9, 13))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_large_images_in_a_list_are_read_in_place(dtype):
    # Lists of large images skip packing (one kernel call per image, on the arrays
    # themselves): same results as the packed batch, including a read-only and a
    # non-contiguous image, and the inputs stay untouched.
    rng = np.random.default_rng(11)
    shapes = [(150, 170, 3), (160, 140, 3), (149, 151, 3)]
    imgs = [(rng.integers(0, 256, s, dtype=np.uint8) if dtype == np.uint8
             else rng.random(s, dtype=np.float32)) for s in shapes]
    imgs[1].flags.writeable = False
    imgs[2] = np.asfortranarray(imgs[2])
    before = [im.copy() for im in imgs]
    boxes = np.array([[-5, 10, 120, 90], [3, -4, 160, 150], [0, 0, 149, 151]])
    kw = dict(hflip=np.array([True, False, True]), padding_mode="reflect",
              mul=[0.5, 1.0, 2.0], add=0.25, out_dtype=np.float32,
              data_format="channels_first")
    got = resized_crop(imgs, boxes, (64, 48), **kw)
    want = resized_crop(PackedImages.pack(imgs), boxes, (64, 48), **kw)
    np.testing.assert_array_equal(got, want)
    got2 = resized_crop(imgs, boxes, (64, 48), num_threads=2, **kw)
    np.testing.assert_array_equal(got2, want)
    for im, b in zip(imgs, before):
        np.testing.assert_array_equal(im, b)


def test_threads_out_and_inputs_untouched():
    rng = np.random.default_rng(5)
    imgs = [rng.integers(0, 256, (int(h), 17, 3), dtype=np.uint8)
            for h in rng.integers(5, 40, 23)]
    keep = [im.copy() for im in imgs]
    boxes = np.array([[0, 0, im.shape[0], 17] for im in imgs])
    one = resized_crop(imgs, boxes, 8, num_threads=1, mul=1 / 255, out_dtype=np.float32)
    out = np.empty((23, 8, 8, 3), np.float32)
    two = resized_crop(imgs, boxes, 8, num_threads=2, mul=1 / 255, out_dtype=np.float32, out=out)
    assert two is out
    np.testing.assert_array_equal(one, two)
    for a, b in zip(imgs, keep):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("interp", ["bilinear", "bicubic"])
def test_pil_antialiased_downscale_within_one_level(interp):
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(6)
    # Smooth content plus noise, as photographs are.
    yy, xx = np.mgrid[0:157, 0:203]
    base = np.stack([128 + 100 * np.sin(xx / 9 + k) * np.cos(yy / 13) for k in range(3)], 2)
    img = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
    resample = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}[interp]
    for box, size in [((0, 0, 157, 203), (50, 61)), ((13, 21, 120, 150), (37, 45)),
                      ((0, 0, 157, 203), (157, 101))]:
        top, left, bh, bw = box
        pil = Image.fromarray(img).crop((left, top, left + bw, top + bh))
        want = np.asarray(pil.resize(size[::-1], resample, reducing_gap=None))
        got = resized_crop([img], box, size, interpolation=interp)[0]
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


@pytest.mark.parametrize("bad, err, match", [
    (dict(size=0), ValueError, "size"),
    (dict(size=(3, 2.5)), TypeError, r"size\[1\]"),
    (dict(boxes=[[0, 0, 0, 4]]), ValueError, "boxes"),
    (dict(boxes=[[0.0, 0, 4, 4]]), TypeError, "boxes"),
    (dict(boxes=[[0, 0, 4, 4]] * 2), ValueError, "boxes"),
    (dict(interpolation="area"), ValueError, "interpolation"),
    (dict(padding_mode="wrap"), ValueError, "padding_mode"),
    (dict(antialias=1), TypeError, "antialias"),
    (dict(fill=300), ValueError, "fill"),
    (dict(fill=(1, 2)), ValueError, "fill"),
    (dict(mul=(1, 2)), ValueError, "mul"),
    (dict(hflip=[1]), TypeError, "hflip"),
    (dict(vflip=np.zeros(3, bool)), ValueError, "vflip"),
    (dict(out_dtype=np.int16), TypeError, "out_dtype"),
    (dict(data_format="nchw"), ValueError, "data_format"),
    (dict(out=np.empty((1, 4, 4, 3), np.float32)), ValueError, "out"),
    (dict(num_threads=0), ValueError, "num_threads"),
    (dict(resize_to=(3, 9)), ValueError, "resize_to"),
    (dict(resize_to=(6, 6), window=(3, 0)), ValueError, "window"),
    (dict(window=(0, 0)), ValueError, "window"),
    (dict(resize_to=(6.0, 6)), TypeError, "resize_to"),
])
def test_bad_arguments(bad, err, match):
    kw = dict(boxes=[[0, 0, 4, 4]], size=4)
    kw.update(bad)
    img = np.zeros((1, 5, 5, 3), np.uint8)
    with pytest.raises(err, match=match):
        resized_crop(img, **kw)


def test_bad_images():
    with pytest.raises(TypeError, match="dtype"):
        resized_crop(np.zeros((1, 4, 4, 3), np.int16), [0, 0, 2, 2], 2)
    with pytest.raises(ValueError, match="4-D"):
        resized_crop(np.zeros((4, 4, 3), np.uint8), [0, 0, 2, 2], 2)
    with pytest.raises(ValueError, match="share"):
        resized_crop([np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 1), np.uint8)],
                     [0, 0, 2, 2], 2)
    with pytest.raises(ValueError, match="inside data"):
        PackedImages(np.zeros(10, np.uint8), np.array([0]), np.array([2]), np.array([2]), 3)


def _torch():
    torch = pytest.importorskip("torch")
    tvf = pytest.importorskip("torchvision.transforms.v2.functional")
    return torch, tvf


@pytest.mark.parametrize("interp", INTERPS)
@pytest.mark.parametrize("aa", [True, False])
def test_torchvision_parity_if_installed(interp, aa):
    torch, F = _torch()
    from torchvision.transforms import InterpolationMode
    mode = {"nearest": InterpolationMode.NEAREST, "bilinear": InterpolationMode.BILINEAR,
            "bicubic": InterpolationMode.BICUBIC}[interp]
    native_u8 = interp != "bilinear" or torch.backends.cpu.get_cpu_capability() in (
        "AVX2", "AVX512")
    rng = np.random.default_rng(7)
    for dtype in (np.uint8, np.float32):
        for _ in range(6):
            h, w = (int(v) for v in rng.integers(8, 60, 2))
            img = (rng.integers(0, 256, (h, w, 3), dtype=np.uint8) if dtype == np.uint8
                   else rng.random((h, w, 3), dtype=np.float32))
            bh, bw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
            top, left = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
            size = tuple(int(v) for v in rng.integers(3, 50, 2))
            t = torch.from_numpy(img).permute(2, 0, 1)
            want = F.resized_crop(t, top, left, bh, bw, list(size), interpolation=mode,
                                  antialias=aa).permute(1, 2, 0).numpy()
            got = resized_crop([img], [top, left, bh, bw], size, interpolation=interp,
                               antialias=aa)[0]
            if dtype == np.uint8 and native_u8:
                np.testing.assert_array_equal(got, want)
            elif dtype == np.uint8:
                # torchvision's float round trip on non-AVX2 CPUs: one level.
                assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
            else:
                np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
