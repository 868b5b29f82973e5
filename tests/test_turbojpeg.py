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


@pytest.mark.parametrize("mode", ["tj3", "whole"])
@pytest.mark.parametrize("name", sorted(RECIPES))
@pytest.mark.parametrize("threads", [1, 2])
def test_recipe_on_paths_is_the_recipe_on_decoded_images(request, folder, mode, name,
                                                          threads):
    if mode == "tj3":
        if LIB is None:
            pytest.skip("no libturbojpeg 3 (the turbojpeg wheel)")
        request.getfixturevalue("tj3")
    else:
        request.getfixturevalue("no_tj3")
    recipe = RECIPES[name]()
    recipe.num_threads = threads
    decoded = [fio.load_array(p, "rgb") for p in folder]
    for key in [(0, 0, 0), (0, 3, 1), (7, 1, 2)]:
        got = recipe(folder, rng=key)
        want = recipe(decoded, rng=key)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want, err_msg=f"{name} {mode} {key}")


@pytest.mark.parametrize("mode", ["tj3", "whole"])
def test_draw_and_apply_on_paths(request, folder, mode):
    if mode == "tj3" and LIB is None:
        pytest.skip("no libturbojpeg 3 (the turbojpeg wheel)")
    request.getfixturevalue(mode if mode == "tj3" else "no_tj3")
    recipe = RECIPES["rrc"]()
    params = recipe.draw(folder, rng=(1, 2, 3))
    sizes = [fio.load_array(p, "rgb").shape[:2] for p in folder]
    np.testing.assert_array_equal(params.input_sizes, sizes)
    assert params.channels == 3
    boxes = params.steps[0].values["boxes"]
    assert (boxes[:, 0] >= 0).all()
    assert (boxes[:, 0] + boxes[:, 2] <= params.input_sizes[:, 0]).all()
    np.testing.assert_array_equal(recipe.apply(folder, params), recipe(folder, rng=(1, 2, 3)))


@pytest.mark.parametrize("mode", ["tj3", "whole"])
def test_files_in_batches(request, folder, mode):
    from fastaug import batches

    if mode == "tj3" and LIB is None:
        pytest.skip("no libturbojpeg 3 (the turbojpeg wheel)")
    request.getfixturevalue(mode if mode == "tj3" else "no_tj3")
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
