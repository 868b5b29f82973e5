"""Region decoding (libjpeg-turbo 3 through ctypes) and recipes on file paths.

The library: this machine's system libturbojpeg is 2.1 (no region API), so the
tests load the libturbojpeg 3.0 that the ``turbojpeg`` wheel (a test extra,
Linux x86-64) bundles, through ``FASTAUG_LIBTURBOJPEG``, as a user would point
fastaug at theirs. It is found from the distribution's file list, not by
importing it: its module is named ``turbojpeg`` like PyTurboJPEG's. Without it
those tests skip; the recipe tests on paths also run with region decoding off.
Files are written by Pillow (4:4:4, 4:2:2, 4:2:0, grayscale, progressive,
restart markers) and, when the wheel's own module imports, by its TurboJPEG 3
encoder too (4:4:0, 4:1:1, 4:4:1, which Pillow does not write).

Tolerance: none. A region decode is compared with the whole image's decode by
the same library and by Pillow (the pixels fastaug.io gives), and a recipe on
paths with the recipe on the arrays ``fastaug.io.load_array`` decodes: all
bit-exact, because the decoder runs the same IDCT and upsampling on every pixel
the box keeps (the region is widened past the upsampling's context).
"""

from __future__ import annotations

import importlib.metadata
import io
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from fastaug import _turbojpeg
from fastaug import io as fio
from fastaug import transforms as T


def _bundled_lib() -> str | None:
    try:
        dist = importlib.metadata.distribution("turbojpeg")
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in dist.files or ():
        if "libturbojpeg" in f.name and f.parent.name == "turbojpeg.libs":
            return str(dist.locate_file(f))
    return None


def _tj3_encoder() -> object | None:
    try:
        import turbojpeg
    except ImportError:
        return None
    return turbojpeg if hasattr(turbojpeg, "SAMP") else None  # not PyTurboJPEG's


LIB = _bundled_lib()
TJ = _tj3_encoder()
needs_lib = pytest.mark.skipif(LIB is None, reason="no libturbojpeg 3 (the turbojpeg wheel)")


@pytest.fixture
def tj3(monkeypatch):
    """Region decoding on, with the bundled libturbojpeg 3."""
    monkeypatch.setenv(_turbojpeg.ENV, LIB)
    monkeypatch.setattr(_turbojpeg, "_found", _turbojpeg._load())
    assert _turbojpeg.available()
    return _turbojpeg


@pytest.fixture
def no_tj3(monkeypatch):
    monkeypatch.setattr(_turbojpeg, "_found", None)


@pytest.fixture(params=["tj3", "no-tj3"])
def decoder(request):
    """Each test twice: region decoding on (the bundled library) and off."""
    if request.param == "tj3":
        if LIB is None:
            pytest.skip("no libturbojpeg 3 (the turbojpeg wheel)")
        request.getfixturevalue("tj3")
    else:
        request.getfixturevalue("no_tj3")
    return request.param


def _photo(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 / max(w, 1), yy * 255 / max(h, 1), (xx * yy) % 256], axis=2)
    return np.clip(base + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)


PIL_SAMPLINGS = {"Y444": 0, "Y422": 1, "Y420": 2, "GRAY": None}
SUBSAMPLINGS = list(PIL_SAMPLINGS) + (["Y440", "Y411", "Y441"] if TJ is not None else [])


def _encode(img: np.ndarray, samp: str, progressive: bool = False,
            restart: int = 0) -> bytes:
    if samp in PIL_SAMPLINGS:
        buf = io.BytesIO()
        im = Image.fromarray(img[:, :, 0] if samp == "GRAY" else img)
        kw = {} if samp == "GRAY" else {"subsampling": PIL_SAMPLINGS[samp]}
        if restart:
            kw["restart_marker_rows"] = restart
        im.save(buf, "JPEG", quality=90, progressive=progressive, **kw)
        return buf.getvalue()
    return TJ.compress(np.ascontiguousarray(img), 90, getattr(TJ.SAMP, samp),
                       pixelformat=TJ.PF.RGB, progressive=progressive, restartrows=restart)


def _whole(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@needs_lib
@pytest.mark.parametrize("samp", SUBSAMPLINGS)
@pytest.mark.parametrize("hw", [(375, 500), (53, 37), (1, 17), (16, 1), (64, 64)])
def test_region_is_the_whole_decode_cropped(tj3, samp, hw):
    h, w = hw
    data = _encode(_photo(h, w, 1), samp)
    hdr = tj3.header(data)
    assert hdr is not None and hdr[:2] == (h, w)
    whole = _whole(data)
    rng = np.random.default_rng(h * 1000 + w)
    boxes = [(0, 0, h, w)] + [
        (int(t), int(x), int(rng.integers(1, h - t + 1)), int(rng.integers(1, w - x + 1)))
        for t, x in zip(rng.integers(0, h, 40), rng.integers(0, w, 40))]
    for top, left, bh, bw in boxes:
        region, y0, x0 = tj3.decode_region(data, hdr, top, left, bh, bw)
        assert region.flags.c_contiguous and region.dtype == np.uint8
        assert y0 <= top and x0 <= left
        assert y0 + region.shape[0] >= top + bh and x0 + region.shape[1] >= left + bw
        got = region[top - y0:top - y0 + bh, left - x0:left - x0 + bw]
        np.testing.assert_array_equal(got, whole[top:top + bh, left:left + bw],
                                      err_msg=f"{samp} {hw} box {(top, left, bh, bw)}")


@needs_lib
@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 90), w=st.integers(1, 90), samp=st.sampled_from(SUBSAMPLINGS),
       progressive=st.booleans(), restart=st.sampled_from([0, 1, 3]),
       fy=st.floats(0, 1), fx=st.floats(0, 1), fh=st.floats(0, 1), fw=st.floats(0, 1))
def test_region_property(h, w, samp, progressive, restart, fy, fx, fh, fw):
    os.environ[_turbojpeg.ENV] = LIB
    try:
        _turbojpeg._found = _turbojpeg._load()
        data = _encode(_photo(h, w, h + w), samp, progressive, restart)
        hdr = _turbojpeg.header(data)
        top, left = int(fy * (h - 1)), int(fx * (w - 1))
        bh, bw = 1 + int(fh * (h - top - 1)), 1 + int(fw * (w - left - 1))
        region, y0, x0 = _turbojpeg.decode_region(data, hdr, top, left, bh, bw)
        np.testing.assert_array_equal(
            region[top - y0:top - y0 + bh, left - x0:left - x0 + bw],
            _whole(data)[top:top + bh, left:left + bw])
    finally:
        del os.environ[_turbojpeg.ENV]
        _turbojpeg._found = _turbojpeg._UNSET


@needs_lib
@pytest.mark.parametrize("samp", ["Y444", "Y422", "Y420", "GRAY"])
@pytest.mark.parametrize("scale", [2, 4, 8])
def test_scaled_region_is_the_scaled_decode_cropped(tj3, samp, scale):
    import simplejpeg

    h, w = 203, 317
    data = _encode(_photo(h, w, 3), samp)
    hdr = tj3.header(data)
    sh, sw = -(-h // scale), -(-w // scale)
    # The whole image at 1/scale, by another binding of libjpeg-turbo.
    whole = simplejpeg.decode_jpeg(data, colorspace="rgb", min_height=sh, min_width=sw)
    assert whole.shape[:2] == (sh, sw)
    rng = np.random.default_rng(scale)
    for _ in range(40):
        top, left = int(rng.integers(0, sh)), int(rng.integers(0, sw))
        bh, bw = int(rng.integers(1, sh - top + 1)), int(rng.integers(1, sw - left + 1))
        region, y0, x0 = tj3.decode_region(data, hdr, top, left, bh, bw, scale=scale)
        np.testing.assert_array_equal(
            region[top - y0:top - y0 + bh, left - x0:left - x0 + bw],
            whole[top:top + bh, left:left + bw], err_msg=f"{samp} 1/{scale}")
    with pytest.raises(ValueError, match="scale must be 1, 2, 4 or 8"):
        tj3.decode_region(data, hdr, 0, 0, 1, 1, scale=3)
    with pytest.raises(ValueError, match=f"inside the {sh}x{sw} image"):
        tj3.decode_region(data, hdr, 0, 0, sh + 1, 1, scale=scale)


@needs_lib
def test_bad_data_and_boxes(tj3):
    data = _encode(_photo(40, 48, 0), "Y420")
    hdr = tj3.header(data)
    # Truncated scan data: libjpeg warns; the decode refuses rather than pad with grey.
    assert tj3.decode_region(data[: len(data) // 2], hdr, 0, 0, 40, 48) is None
    assert tj3.header(b"not a jpeg at all") is None
    assert tj3.header(data, max_pixels=100) is None
    cmyk = io.BytesIO()
    Image.new("CMYK", (16, 16), (1, 2, 3, 4)).save(cmyk, "JPEG")
    assert tj3.header(cmyk.getvalue()) is None
    with pytest.raises(ValueError, match="inside the 40x48 image"):
        tj3.decode_region(data, hdr, 30, 0, 11, 48)
    with pytest.raises(ValueError, match="inside"):
        tj3.decode_region(data, hdr, 0, -1, 4, 4)


def test_a_library_that_is_not_turbojpeg_3_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv(_turbojpeg.ENV, str(tmp_path / "missing.so"))
    monkeypatch.setattr(_turbojpeg, "_found", _turbojpeg._UNSET)
    with pytest.raises(ValueError, match="FASTAUG_LIBTURBOJPEG=.*missing.so.*does not load"):
        _turbojpeg.available()


# --- recipes on paths ---------------------------------------------------------------

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """JPEGs of several sizes and subsamplings, a PNG, a grayscale and a CMYK JPEG."""
    d = tmp_path_factory.mktemp("files")
    paths = []
    sizes = [(375, 500), (500, 375), (77, 131), (256, 256), (33, 40), (120, 90)]
    for i, (h, w) in enumerate(sizes):
        p = d / f"img_{i}.jpg"
        Image.fromarray(_photo(h, w, i)).save(p, quality=90, subsampling=i % 3)
        paths.append(str(p))
    Image.fromarray(_photo(60, 70, 9)).save(d / "a.png")
    Image.fromarray(_photo(50, 64, 10)[:, :, 0]).save(d / "gray.jpg")
    Image.fromarray(_photo(48, 56, 11)).convert("CMYK").save(d / "cmyk.jpg")
    paths += [str(d / "a.png"), str(d / "gray.jpg"), str(d / "cmyk.jpg")]
    return paths


RECIPES = {
    "rrc": lambda: T.Compose([T.RandomResizedCrop(48), T.RandomHorizontalFlip(),
                              T.ToDtype(np.float32, scale=True), T.Normalize(MEAN, STD)],
                             data_format="channels_first"),
    "rrc-no-aa": lambda: T.Compose([T.RandomResizedCrop((40, 56), antialias=False)]),
    "random-crop-pad": lambda: T.Compose([T.RandomCrop(32, padding=6,
                                                       padding_mode="reflect")]),
    "center-crop": lambda: T.Compose([T.CenterCrop(30), T.ToDtype(np.float32, scale=True)]),
    "resize-first": lambda: T.Compose([T.Resize(40), T.CenterCrop(36)]),
}


@pytest.mark.parametrize("name", sorted(RECIPES))
@pytest.mark.parametrize("threads", [1, 2])
def test_recipe_on_paths_is_the_recipe_on_decoded_images(monkeypatch, folder, decoder, name,
                                                          threads):
    # Full-size decoding only (DCT scaling: test_scaled_decoding_*).
    monkeypatch.setattr(fio, "DRAFT", False)
    recipe = RECIPES[name]()
    recipe.num_threads = threads
    decoded = [fio.load_array(p, "rgb") for p in folder]
    for key in [(0, 0, 0), (0, 3, 1), (7, 1, 2)]:
        got = recipe(folder, rng=key)
        want = recipe(decoded, rng=key)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want, err_msg=f"{name} {decoder} {key}")


def test_draw_and_apply_on_paths(folder, decoder):
    recipe = RECIPES["rrc"]()
    params = recipe.draw(folder, rng=(1, 2, 3))
    sizes = [fio.load_array(p, "rgb").shape[:2] for p in folder]
    np.testing.assert_array_equal(params.input_sizes, sizes)
    assert params.channels == 3
    boxes = params.steps[0].values["boxes"]
    assert (boxes[:, 0] >= 0).all()
    assert (boxes[:, 0] + boxes[:, 2] <= params.input_sizes[:, 0]).all()
    np.testing.assert_array_equal(recipe.apply(folder, params), recipe(folder, rng=(1, 2, 3)))


def test_files_in_batches(folder, decoder):
    from fastaug import batches

    recipe = RECIPES["rrc"]()
    labels = np.arange(len(folder))
    got = [(x, y) for x, y in batches(folder, labels, recipe, batch_size=4, seed=5,
                                      shuffle=False, prefetch=2, workers=2)]
    assert [len(y) for _, y in got] == [4, 4, 1]
    assert all(x.shape[1:] == (3, 48, 48) and x.dtype == np.float32 for x, _ in got)


def test_bad_paths(folder, tmp_path):
    recipe = RECIPES["rrc"]()
    with pytest.raises(ValueError, match="missing.jpg"):
        recipe([folder[0], str(tmp_path / "missing.jpg")])
    with pytest.raises(TypeError, match=r"images\[1\] must be a file path"):
        recipe([folder[0], np.zeros((4, 4, 3), np.uint8)])
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(Path(folder[0]).read_bytes()[:300])
    with pytest.raises(ValueError, match="broken.jpg"):
        recipe([folder[0], str(broken)])


@needs_lib
def test_truncated_jpeg(tj3, folder, tmp_path):
    """A file cut inside its scan: what the box needs decides.

    Rows below a crop box are never read (as with tf.io.decode_and_crop_jpeg), so
    a box above the cut decodes to the intact file's pixels; a box reaching the
    cut makes libjpeg warn, and the file goes to fastaug.io, which names it.
    """
    cut = tmp_path / "cut.jpg"
    data = Path(folder[0]).read_bytes()  # 375x500
    cut.write_bytes(data[: len(data) * 2 // 3])
    intact = T.Compose([T.CenterCrop(30)])([folder[0]])
    np.testing.assert_array_equal(T.Compose([T.CenterCrop(30)])([str(cut)]), intact)
    with pytest.raises(ValueError, match="cut.jpg"):
        T.Compose([T.CenterCrop(370)])([str(cut)])
    with pytest.raises(ValueError, match="cut.jpg"):
        T.Compose([T.Resize(30)])([str(cut)])


# --- DCT-scaled decoding (fastaug.io.DRAFT) ------------------------------------------


def _smooth_photo(h: int, w: int, seed: int) -> np.ndarray:
    """Photo-like content: smooth gradients, a few flat shapes with sharp edges and
    mild noise (as bench/make_jpeg_folder.py), rather than a high-frequency pattern."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([150 * xx / w + 40, 120 * yy / h + 60, 90 * (xx + yy) / (h + w) + 80], 2)
    for _ in range(4):
        t, lf = rng.integers(0, h // 2), rng.integers(0, w // 2)
        img[t:t + h // 3, lf:lf + w // 3] = rng.integers(0, 256, 3)
    return np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("big")
    paths = []
    for i, (h, w) in enumerate([(600, 800), (800, 600), (768, 1024), (481, 653)]):
        p = d / f"big_{i}.jpg"
        Image.fromarray(_smooth_photo(h, w, i)).save(p, quality=90)
        paths.append(str(p))
    return paths


def test_scaled_decoding_follows_the_rule(big_folder, decoder):
    from fastaug.transforms import _files

    # Resize first, shorter side to 64: 600x800 -> 1/4 (150x200: >= 2 x 64x85),
    # 481x653 -> 1/2 (241x327; 1/4 would be 121 < 128).
    recipe = T.Compose([T.Resize(64)])
    files = _files.read(big_folder, 1)
    params = recipe.draw(files, rng=0)
    images, moved = _files.decode(files, params, 1)
    scales = [4, 4, 4, 2]
    for (h, w), a, s in zip(files.sizes, images, scales):
        if decoder == "no-tj3":  # simplejpeg: the whole image at 1/s
            assert a.shape[:2] == (-(-h // s), -(-w // s))
        else:  # a region of it: at most the whole, at least the box
            assert a.shape[0] <= -(-h // s) and a.shape[1] <= -(-w // s)
    assert moved.steps[0].kind == "crop" and moved.steps[1].kind == "resize"
    np.testing.assert_array_equal(moved.steps[1].values["sizes"],
                                  params.steps[0].values["sizes"])
    # Nothing scales below a twofold gap, nor without antialiasing, nor with nearest:
    # full-size decoding, the same pixels as fastaug.io's.
    for r in (T.Compose([T.Resize(200), T.CenterCrop(190)]),
              T.Compose([T.Resize(64, antialias=False), T.CenterCrop(60)]),
              T.Compose([T.Resize(64, interpolation="nearest"), T.CenterCrop(60)])):
        imgs, _ = _files.decode(files, r.draw(files, rng=0), 1)
        assert [a.shape[:2] for a in imgs] == [tuple(hw) for hw in files.sizes]
        np.testing.assert_array_equal(
            r(big_folder, rng=1), r([fio.load_array(p, "rgb") for p in big_folder], rng=1))


def test_scaled_decoding_is_the_same_with_both_decoders(request, big_folder):
    """TurboJPEG 3's scaled region and simplejpeg's scaled whole image: one recipe
    output, bit for bit (the same libjpeg-turbo arithmetic; the region is exact)."""
    if LIB is None:
        pytest.skip("no libturbojpeg 3 (the turbojpeg wheel)")
    recipe = T.Compose([T.RandomResizedCrop(48, scale=(0.3, 1.0)), T.RandomHorizontalFlip()])
    request.getfixturevalue("no_tj3")
    want = [recipe(big_folder, rng=(0, 0, k)) for k in range(4)]
    request.getfixturevalue("tj3")
    got = [recipe(big_folder, rng=(0, 0, k)) for k in range(4)]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_scaled_decoding_is_close_to_full_size(monkeypatch, big_folder, decoder):
    """Tolerance: a DCT-scaled decode is libjpeg's own shrink (its scaled IDCT,
    close to averaging s x s blocks), and the antialiased resize then shrinks at
    least twofold more; the full-size path is one antialiased resize. The two
    filters differ most at sharp edges. On these photo-like images: mean
    |difference| at most 1 level and 99% of values within 12 levels (measured
    0.6 and 8-10 on the benchmark's JPEG folder); flat regions agree."""
    for recipe in (T.Compose([T.RandomResizedCrop(64)]),
                   T.Compose([T.Resize(60), T.CenterCrop(56)]),
                   T.Compose([T.RandomResizedCrop(40, interpolation="bicubic"),
                              T.ToDtype(np.float32, scale=True)])):
        diffs = []
        for k in range(3):
            scaled = recipe(big_folder, rng=(1, 0, k))
            monkeypatch.setattr(fio, "DRAFT", False)
            full = recipe(big_folder, rng=(1, 0, k))
            monkeypatch.setattr(fio, "DRAFT", True)
            d = np.abs(scaled.astype(np.float64) - full.astype(np.float64))
            diffs.append(d.ravel() * (255.0 if scaled.dtype == np.float32 else 1.0))
        d = np.concatenate(diffs)
        assert d.mean() <= 1.0 and np.percentile(d, 99) <= 12, (recipe, d.mean(),
                                                                 np.percentile(d, 99))
        assert d.max() > 0  # scaled decoding did happen
