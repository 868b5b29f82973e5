"""The simplejpeg fast path (fastaug._decode) against the Pillow path it replaces.

Reference: ``fastaug.io.load_array`` with ``FAST_JPEG = False``, i.e. the Pillow
code that ran before the fast path existed (and that Keras's ``load_img``
semantics are tested against in test_directory.py).

Tolerance: 0 levels. Both paths run libjpeg-turbo (the fast path is enabled
only when Pillow's JPEG codec is libjpeg-turbo) with the same settings
(accurate integer IDCT, fancy upsampling, the same 1/s DCT scale), and the
measured difference over the benchmark folder is 0 in every mode. A future
pair of versions that disagree would fail here, which is the point: the fast
path promises today's pixels.

The fast-path tests skip when simplejpeg is missing; the fallback tests run
always (they force the fast decoder off).
"""

import io
import os
import warnings

import numpy as np
import pytest
from PIL import Image, ImageFile

from fastaug import _decode
from fastaug import io as fio

fast = pytest.mark.skipif(not _decode.available(),
                          reason="simplejpeg missing or Pillow not on libjpeg-turbo")


def _photo(rng, w, h):
    """Smooth gradients, a sharp-edged block and noise: JPEG work like a photo's."""
    yy, xx = np.mgrid[0:h, 0:w]
    a = np.stack([xx * 255.0 / max(w, 1), yy * 255.0 / max(h, 1),
                  127 + 100 * np.sin(xx / 7.0 + yy / 11.0)], -1)
    a[h // 4:h // 2, w // 3:2 * w // 3] = (250, 20, 60)
    a += rng.normal(0, 8, a.shape)
    return np.clip(a, 0, 255).astype(np.uint8)


def _save(path, arr, mode="RGB", **kw):
    Image.fromarray(arr).convert(mode).save(path, "JPEG", quality=90, **kw)
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("jpegs")
    rng = np.random.default_rng(0)
    big = _photo(rng, 500, 375)
    odd = _photo(rng, 333, 251)
    return {
        "420": _save(d / "420.jpg", big),
        "444": _save(d / "444.jpg", big, subsampling=0),
        "422": _save(d / "422.jpg", big, subsampling=1),
        "progressive": _save(d / "prog.jpg", big, progressive=True),
        "gray": _save(d / "gray.jpg", big, mode="L"),
        "odd": _save(d / "odd.jpg", odd),
        "portrait": _save(d / "portrait.jpg", np.ascontiguousarray(big.transpose(1, 0, 2))),
    }


def _pillow(monkeypatch, *args, **kwargs):
    """The reference: load_array with the fast path switched off."""
    with monkeypatch.context() as m:
        m.setattr(fio, "FAST_JPEG", False)
        return fio.load_array(*args, **kwargs)


# (height, width) targets against 500x375 / 375x500 / 333x251 files: no resize,
# the file's own size, enlargement, reductions below 2x (no draft), and 2x, 4x,
# 8x and more (draft at 1/2, 1/4, 1/8).
TARGETS = [None, (375, 500), (400, 600), (300, 224), (224, 224), (150, 120), (90, 120),
           (40, 60), (20, 30), (5, 7)]


@fast
@pytest.mark.parametrize("name", ["420", "444", "422", "progressive", "gray", "odd",
                                  "portrait"])
@pytest.mark.parametrize("color_mode", ["rgb", "rgba", "grayscale"])
def test_fast_path_gives_pillows_pixels(files, monkeypatch, name, color_mode):
    path = files[name]
    for target in TARGETS:
        for keep in (False, True):
            for draft in (False, True):
                for interp in ("nearest", "bilinear"):
                    ref = _pillow(monkeypatch, path, color_mode, target, interp, keep, draft)
                    size = None if target is None else (target[1], target[0])
                    got = _decode.load_jpeg(path, color_mode, size, interp, keep, draft)
                    assert got is not None, "the fast path declined a plain JPEG"
                    assert got.shape == ref.shape and got.dtype == ref.dtype
                    np.testing.assert_array_equal(
                        got, ref, err_msg=f"{name} {color_mode} {target} keep={keep} "
                                          f"draft={draft} {interp}")


@fast
def test_load_array_and_batch_use_it(files, monkeypatch):
    calls = []
    real = _decode.load_jpeg

    def spy(*args, **kwargs):
        r = real(*args, **kwargs)
        calls.append(r is not None)
        return r

    monkeypatch.setattr(_decode, "load_jpeg", spy)
    paths = [files[k] for k in ("420", "gray", "odd", "progressive")]
    fast_batch = fio.load_batch(paths, (120, 90), num_threads=2)
    assert calls == [True] * 4
    with monkeypatch.context() as m:
        m.setattr(fio, "FAST_JPEG", False)
        ref = fio.load_batch(paths, (120, 90), num_threads=2)
    assert len(calls) == 4  # switched off: not called
    np.testing.assert_array_equal(fast_batch, ref)


@fast
@pytest.mark.parametrize("color_mode", ["rgb", "rgba", "grayscale"])
def test_batch_decodes_in_place_when_no_resize(files, monkeypatch, color_mode):
    # Target = file size: rgb/rgba (and grayscale from a gray file) decode straight
    # into the batch; grayscale from colour goes through the scratch buffer.
    paths = [files["420"], files["gray"], files["444"], files["420"]]
    got = fio.load_batch(paths, (375, 500), color_mode, num_threads=2)
    with monkeypatch.context() as m:
        m.setattr(fio, "FAST_JPEG", False)
        ref = fio.load_batch(paths, (375, 500), color_mode, num_threads=2)
    np.testing.assert_array_equal(got, ref)
    slot = np.zeros((375, 500, 4 if color_mode == "rgba" else 3 if color_mode == "rgb" else 1),
                    np.uint8)
    r = _decode.load_jpeg(files["gray"], color_mode, (500, 375), "nearest", False, True, slot)
    assert r is slot
    np.testing.assert_array_equal(slot.reshape(ref[1].shape), ref[1])


@fast
def test_scratch_reuse_across_sizes(files, monkeypatch):
    # One thread, files of different sizes, resize each: a stale scratch buffer
    # (wrong size or shared with a returned array) would show here.
    paths = [files[k] for k in ("odd", "420", "portrait", "odd", "gray", "420")]
    outs = [fio.load_array(p, "rgb", (100, 80)) for p in paths]
    refs = [_pillow(monkeypatch, p, "rgb", (100, 80)) for p in paths]
    for o, r in zip(outs, refs):
        np.testing.assert_array_equal(o, r)


def test_draft_scale_is_pillows(tmp_path):
    p = _save(tmp_path / "a.jpg", _photo(np.random.default_rng(1), 203, 117))
    for req in [(203, 117), (101, 58), (100, 50), (51, 29), (50, 20), (25, 14), (10, 3),
                (1, 1), (150, 20)]:
        with Image.open(p) as img:
            img.draft("RGB", req)
            s = _decode.draft_scale(203, 117, *req)
            assert img.size == (-(-203 // s), -(-117 // s)), req


def _truncated(path, d):
    with open(path, "rb") as f:
        data = f.read()
    out = str(d / "trunc.jpg")
    with open(out, "wb") as f:
        f.write(data[:len(data) // 2])
    return out


# -- declined files go to Pillow with today's results and errors ----------------------

@fast
def test_declines_what_it_does_not_take(tmp_path, files):
    rng = np.random.default_rng(2)
    arr = _photo(rng, 64, 48)
    cmyk = _save(tmp_path / "cmyk.jpg", arr, mode="CMYK")
    png = str(tmp_path / "a.png")
    Image.fromarray(arr).save(png)
    mpo = str(tmp_path / "a.mpo")
    Image.fromarray(arr).save(mpo, "MPO", save_all=True,
                              append_images=[Image.fromarray(arr[::-1].copy())])
    tiny = _save(tmp_path / "tiny.jpg", arr[:4, :4])  # 1/2 of 4x4 is also 3/8 of it
    for p, target in [(cmyk, None), (png, None), (mpo, (24, 32)), (tiny, (2, 2))]:
        assert _decode.load_jpeg(p, "rgb", target and target[::-1], "nearest", False,
                                 True) is None, p
    assert _decode.load_jpeg(files["420"], "hsv", None, "nearest", False, True) is None


@pytest.mark.parametrize("fast_on", [True, False])
def test_declined_files_match_pillow(tmp_path, monkeypatch, fast_on):
    # Runs with and without the fast decoder: CMYK, MPO, tiny, PNG, via load_array.
    monkeypatch.setattr(fio, "FAST_JPEG", fast_on)
    rng = np.random.default_rng(3)
    arr = _photo(rng, 64, 48)
    cmyk = _save(tmp_path / "cmyk.jpg", arr, mode="CMYK")
    mpo = str(tmp_path / "a.mpo")
    Image.fromarray(arr).save(mpo, "MPO", save_all=True,
                              append_images=[Image.fromarray(arr[::-1].copy())])
    tiny = _save(tmp_path / "tiny.jpg", arr[:4, :4])
    png = str(tmp_path / "a.png")
    Image.fromarray(arr).save(png)
    for p, target in [(cmyk, None), (cmyk, (20, 30)), (mpo, (20, 30)), (tiny, (2, 2)),
                      (png, (20, 30))]:
        for mode in ("rgb", "grayscale"):
            # Direct Pillow: what load_img + draft did before the fast path.
            with Image.open(p) as img:
                ref = fio._decode(img, mode, target, "nearest", False, True)
            np.testing.assert_array_equal(fio.load_array(p, mode, target), ref)


@pytest.mark.parametrize("fast_on", [True, False])
def test_errors_are_todays(tmp_path, files, monkeypatch, fast_on):
    monkeypatch.setattr(fio, "FAST_JPEG", fast_on)
    trunc = _truncated(files["420"], tmp_path)
    junk = str(tmp_path / "junk.jpg")
    with open(junk, "wb") as f:
        f.write(b"\xff\xd8\xff" + b"\x00" * 100)
    missing = str(tmp_path / "missing.jpg")
    for p in (trunc, junk, missing):
        with pytest.raises(fio.ImageFileError) as got:
            fio.load_array(p, "rgb", (64, 64))
        with monkeypatch.context() as m:
            m.setattr(fio, "FAST_JPEG", False)
            with pytest.raises(fio.ImageFileError) as ref:
                fio.load_array(p, "rgb", (64, 64))
        assert str(got.value) == str(ref.value)
    with pytest.raises(ValueError, match="Invalid color mode"):
        fio.load_array(files["420"], "hsv")


@pytest.mark.parametrize("fast_on", [True, False])
def test_truncated_allowed_by_pillow_setting(tmp_path, files, monkeypatch, fast_on):
    # Pillow's LOAD_TRUNCATED_IMAGES pads a truncated JPEG; simplejpeg is strict,
    # so the fast path declines and the user's setting still applies.
    monkeypatch.setattr(fio, "FAST_JPEG", fast_on)
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    trunc = _truncated(files["420"], tmp_path)
    with Image.open(trunc) as img:
        ref = np.asarray(img.convert("RGB"))
    np.testing.assert_array_equal(fio.load_array(trunc), ref)


@pytest.mark.parametrize("fast_on", [True, False])
def test_decompression_bomb_check_kept(files, monkeypatch, fast_on):
    monkeypatch.setattr(fio, "FAST_JPEG", fast_on)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50_000)
    with pytest.warns(Image.DecompressionBombWarning):
        fio.load_array(files["odd"])  # 333x251: over the limit, under twice it
    with pytest.raises(fio.ImageFileError, match="DecompressionBombError"):
        fio.load_array(files["420"])  # 500x375: over twice the limit


def test_exif_orientation_not_applied(tmp_path, monkeypatch):
    # Keras's load_img ignores EXIF orientation; both paths must too.
    arr = _photo(np.random.default_rng(4), 64, 32)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 on display
    p = str(tmp_path / "exif.jpg")
    Image.fromarray(arr).save(p, quality=90, exif=exif)
    a = fio.load_array(p)
    assert a.shape == (32, 64, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(a, _pillow(monkeypatch, p))


def test_fallback_without_fast_decoder(files, monkeypatch):
    # As if simplejpeg were not installed: everything goes through Pillow.
    monkeypatch.setattr(_decode, "_sj", None)
    assert not _decode.available() and _decode.decoder() is None
    assert _decode.load_jpeg(files["420"], "rgb", None, "nearest", False, True) is None
    a = fio.load_array(files["420"], target_size=(100, 80))
    with Image.open(files["420"]) as img:
        img.draft("RGB", (80, 100))
        ref = np.asarray(img.resize((80, 100), Image.Resampling.NEAREST))
    np.testing.assert_array_equal(a, ref)
    b = fio.load_batch([files["420"], files["gray"]], (375, 500), num_threads=1)
    np.testing.assert_array_equal(b[0], np.asarray(Image.open(files["420"]).convert("RGB")))


def test_read_jpeg_header_checks(tmp_path):
    p = str(tmp_path / "x.jpg")
    with open(p, "wb") as f:
        f.write(b"\x89PNG....")
    assert _decode._read_jpeg(p) is None
    assert _decode._read_jpeg(str(tmp_path / "missing.jpg")) is None
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "JPEG")
    with open(p, "wb") as f:
        f.write(buf.getvalue())
    assert _decode._read_jpeg(p) == buf.getvalue()
    assert os.path.getsize(p) == len(buf.getvalue())


def test_mpf_marker_walk():
    buf = io.BytesIO()
    frame = Image.new("RGB", (16, 16), (1, 2, 3))
    frame.save(buf, "MPO", save_all=True, append_images=[frame])
    assert _decode._has_mpf(buf.getvalue())
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "MPF\x00 in a comment is not an APP2 segment"
    frame.save(buf, "JPEG", exif=exif)
    data = buf.getvalue()
    assert not _decode._has_mpf(data)
    # Fill bytes before a marker, and a malformed header, are not an MPO.
    assert not _decode._has_mpf(data[:2] + b"\xff" + data[2:])
    assert not _decode._has_mpf(b"\xff\xd8\x00\x00\x00")
    assert not _decode._has_mpf(b"\xff\xd8")


@pytest.mark.parametrize("fast_on", [True, False])
def test_libjpeg_warnings_decode_as_pillow(tmp_path, files, monkeypatch, fast_on):
    # Junk before EOI, which libjpeg may warn about ("extraneous bytes before
    # marker"): Pillow ignores the warning; the fast path either decodes the
    # same pixels or declines (simplejpeg is strict about warnings it sees).
    monkeypatch.setattr(fio, "FAST_JPEG", fast_on)
    with open(files["420"], "rb") as f:
        data = f.read()
    assert data.endswith(b"\xff\xd9")
    p = str(tmp_path / "junk_before_eoi.jpg")
    with open(p, "wb") as f:
        f.write(data[:-2] + b"\x00\x00\xff\xd9")
    with Image.open(p) as img:
        ref = np.asarray(img)
    np.testing.assert_array_equal(fio.load_array(p), ref)


@pytest.mark.parametrize("fast_on", [True, False])
def test_bad_interpolation_error_is_todays(files, monkeypatch, fast_on):
    monkeypatch.setattr(fio, "FAST_JPEG", fast_on)
    with pytest.raises(fio.ImageFileError, match="Invalid interpolation method bogus"):
        fio.load_array(files["420"], target_size=(10, 10), interpolation="bogus")
    # No resize, no check (as Keras: the filter is looked up only to resize).
    assert fio.load_array(files["420"], target_size=(375, 500),
                          interpolation="bogus").shape == (375, 500, 3)
