"""flow_from_directory / flow_from_dataframe parity with real Keras 3, and file handling.

A small tree is generated per test module: three class folders of JPEGs and PNGs
of assorted sizes, a nested folder, non-image files, an upper-case extension, a
file at the top level and an empty class folder. Bad files live in their own
tree (Keras would fail on them too).
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from PIL import Image

kimage = pytest.importorskip("keras.src.legacy.preprocessing.image")

from fastaug import io as fio
from fastaug import keras as fk

REL_TOL = 1e-3
MAX_TIE_FRACTION = 0.005
SEED_CONFIG = dict(rotation_range=30, width_shift_range=0.1, height_shift_range=0.1,
                   zoom_range=0.2, shear_range=0.2, horizontal_flip=True,
                   vertical_flip=True, fill_mode="nearest")


def _image(rng, w, h, mode="RGB"):
    # Smooth content plus a little noise: realistic for JPEG, asymmetric enough
    # that a wrong flip or axis shows.
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 / max(w - 1, 1), yy * 255 / max(h - 1, 1),
                     (xx + yy) * 127 / max(w + h - 2, 1)], -1)
    arr = np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)
    img = Image.fromarray(arr, "RGB")
    return img.convert(mode) if mode != "RGB" else img


def _make_tree(root, rng):
    spec = {
        "cats": [("c3.jpg", 40, 30), ("c1.jpg", 33, 47), ("C2.JPG", 64, 48), ("c4.png", 20, 20),
                 ("sub/n1.png", 30, 40), ("sub/n0.jpeg", 25, 25), ("sub-2/m.bmp", 16, 24)],
        "dogs": [(f"d{i}.png", 24 + 4 * i, 36 - 2 * i) for i in range(5)],
        "birds": [(f"b{i}.jpg", 48, 32) for i in range(4)] + [("gray.png", 30, 30)],
        "empty": [],
    }
    for cls, files in spec.items():
        os.makedirs(root / cls, exist_ok=True)
        for name, w, h in files:
            path = root / cls / name
            path.parent.mkdir(parents=True, exist_ok=True)
            mode = "L" if name.startswith("gray") else ("RGBA" if name == "c4.png" else "RGB")
            _image(rng, w, h, mode).save(path)
    (root / "cats" / "notes.txt").write_text("not an image")
    (root / "dogs" / "labels.csv").write_text("a,b\n")
    _image(rng, 20, 20).save(root / "top.jpg")
    return root


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return _make_tree(tmp_path_factory.mktemp("tree"), np.random.default_rng(0))


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _assert_batch_close(kb, fb):
    assert kb.shape == fb.shape and kb.dtype == fb.dtype
    value_range = float(kb.max() - kb.min()) or 1.0
    d = np.abs(kb.astype(np.float64) - fb.astype(np.float64))
    assert (d > REL_TOL * value_range).mean() <= MAX_TIE_FRACTION, d.max() / value_range


def _pair(tree, gen_kwargs=None, **kwargs):
    gen_kwargs = gen_kwargs or {}
    kg = _quiet(kimage.ImageDataGenerator, **gen_kwargs)
    fg = fk.ImageDataGenerator(**gen_kwargs)
    ki = _quiet(kg.flow_from_directory, str(tree), **kwargs)
    fi = fg.flow_from_directory(str(tree), draft=False, **kwargs)
    return ki, fi


# -- listing ----------------------------------------------------------------------

@pytest.mark.parametrize("subset", [None, "training", "validation"])
@pytest.mark.parametrize("classes", [None, ["dogs", "cats"], ["birds", "missing"]])
def test_listing_matches_keras(tree, subset, classes):
    ki, fi = _pair(tree, {"validation_split": 0.3}, classes=classes, subset=subset)
    keras = pytest.importorskip("keras")
    assert isinstance(fi, keras.utils.PyDataset)  # model.fit accepts it
    assert fi.filenames == ki.filenames
    assert fi.filepaths == ki.filepaths
    assert fi.class_indices == ki.class_indices
    assert fi.classes.dtype == ki.classes.dtype
    np.testing.assert_array_equal(fi.classes, ki.classes)
    assert (fi.samples, fi.num_classes, len(fi)) == (ki.samples, ki.num_classes, len(ki))


def test_listing_order_nested_and_extensions(tree):
    _, fi = _pair(tree, classes=["cats"])
    # Keras's order: folders sorted by path string ("sub" < "sub-2"), files
    # by name with upper case first; .txt skipped, .JPG kept.
    assert fi.filenames == ["cats/C2.JPG", "cats/c1.jpg", "cats/c3.jpg", "cats/c4.png",
                            "cats/sub/n0.jpeg", "cats/sub/n1.png", "cats/sub-2/m.bmp"]


def test_listing_does_not_stat_files(tree, monkeypatch):
    calls = []
    real_stat = os.stat

    def counting_stat(*args, **kwargs):
        calls.append(args[0])
        return real_stat(*args, **kwargs)

    monkeypatch.setattr(os, "stat", counting_stat)
    fk.ImageDataGenerator().flow_from_directory(str(tree))
    assert calls == []


@pytest.mark.parametrize("follow_links", [False, True])
def test_follow_links_and_cycles(tmp_path, follow_links):
    root = _make_tree(tmp_path / "t", np.random.default_rng(1))
    os.symlink(root / "dogs", root / "cats" / "linked")
    os.symlink(root / "cats", root / "cats" / "sub" / "loop")  # a cycle
    f = fk.ImageDataGenerator().flow_from_directory(str(root), follow_links=follow_links,
                                                    classes=["cats"])
    if not follow_links:
        k = _quiet(kimage.ImageDataGenerator().flow_from_directory, str(root),
                   classes=["cats"], follow_links=False)
        assert f.filenames == k.filenames
    else:  # Keras recurses forever on the cycle; fastaug enters it once
        assert "cats/linked/d0.png" in f.filenames
        assert len(f.filenames) == len(set(f.filenames))


def test_missing_directory_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        fk.ImageDataGenerator().flow_from_directory(str(tmp_path / "nope"))


def test_bad_arguments(tree):
    g = fk.ImageDataGenerator()
    with pytest.raises(ValueError, match="Invalid color mode"):
        g.flow_from_directory(str(tree), color_mode="hsv")
    with pytest.raises(ValueError, match="Invalid class_mode"):
        g.flow_from_directory(str(tree), class_mode="other")
    with pytest.raises(ValueError, match="Invalid subset name"):
        g.flow_from_directory(str(tree), subset="test")
    with pytest.raises(ValueError, match="Invalid interpolation"):
        g.flow_from_directory(str(tree), interpolation="cubic")
    with pytest.raises(ValueError, match="target_size"):
        g.flow_from_directory(str(tree), target_size=(0, 4))
    with pytest.raises(ValueError, match="on_bad_file"):
        g.flow_from_directory(str(tree), on_bad_file="ignore")
    with pytest.raises(ValueError, match="save_format"):
        g.flow_from_directory(str(tree), save_to_dir=str(tree), save_format="nope")


# -- batches ------------------------------------------------------------------------

@pytest.mark.parametrize("class_mode", ["categorical", "binary", "sparse", "input", None])
def test_seeded_batches_match_keras(tree, class_mode):
    ki, fi = _pair(tree, SEED_CONFIG, target_size=(24, 20), batch_size=5, seed=7,
                   class_mode=class_mode)
    for idx in [0, 2, 1, 3, 0]:  # indexing, any order, a partial last batch
        kb, fb = _quiet(ki.__getitem__, idx), fi[idx]
        if class_mode is None:
            _assert_batch_close(kb, fb)
            continue
        _assert_batch_close(kb[0], fb[0])
        if class_mode == "input":
            _assert_batch_close(kb[1], fb[1])
        else:
            assert kb[1].dtype == fb[1].dtype
            np.testing.assert_array_equal(kb[1], fb[1])
    for _ in range(len(ki) + 2):  # next(): crosses the epoch boundary
        kb, fb = _quiet(next, ki), next(fi)
        if class_mode is None:
            _assert_batch_close(kb, fb)
        elif class_mode == "input":
            _assert_batch_close(kb[1], fb[1])
        else:
            _assert_batch_close(kb[0], fb[0])
            np.testing.assert_array_equal(kb[1], fb[1])


@pytest.mark.parametrize("opts", [
    dict(color_mode="grayscale"),
    dict(color_mode="rgba"),
    dict(interpolation="bilinear"),
    dict(interpolation="lanczos", keep_aspect_ratio=True),
    dict(keep_aspect_ratio=True, target_size=(16, 30)),
], ids=["gray", "rgba", "bilinear", "lanczos-aspect", "aspect"])
def test_decoding_matches_keras_exactly(tree, opts):
    opts = dict(dict(target_size=(20, 24), batch_size=64, shuffle=False), **opts)
    ki, fi = _pair(tree, **opts)
    kb, fb = _quiet(ki.__getitem__, 0), fi[0]
    np.testing.assert_array_equal(kb[0], fb[0])  # no augmentation: exact
    np.testing.assert_array_equal(kb[1], fb[1])


def test_channels_first_and_dtype(tree):
    cfg = dict(SEED_CONFIG, data_format="channels_first", dtype="float64", rescale=1 / 255)
    ki, fi = _pair(tree, cfg, target_size=(16, 16), batch_size=6, seed=3)
    kb, fb = _quiet(ki.__getitem__, 1), fi[1]
    assert fb[0].shape == (6, 3, 16, 16)
    _assert_batch_close(kb[0], fb[0])
    np.testing.assert_array_equal(kb[1], fb[1])


def test_sixteen_bit_grayscale_kept(tmp_path):
    os.makedirs(tmp_path / "a")
    arr = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)
    Image.fromarray(arr).save(tmp_path / "a" / "deep.png")
    ki, fi = _pair(tmp_path, target_size=(8, 8), color_mode="grayscale")
    kb, fb = _quiet(ki.__getitem__, 0), fi[0]
    assert fb[0].max() > 255
    np.testing.assert_array_equal(kb[0], fb[0])


def test_draft_decoding_is_close_and_optional(tmp_path):
    os.makedirs(tmp_path / "a")
    rng = np.random.default_rng(2)
    for i in range(3):
        _image(rng, 512, 384).save(tmp_path / "a" / f"{i}.jpg", quality=90)
    kw = dict(target_size=(96, 128), shuffle=False, class_mode=None)
    ref = _quiet(kimage.ImageDataGenerator().flow_from_directory, str(tmp_path), **kw)[0]
    g = fk.ImageDataGenerator()
    exact = g.flow_from_directory(str(tmp_path), draft=False, **kw)[0]
    drafted = g.flow_from_directory(str(tmp_path), **kw)[0]  # fastaug.io.DRAFT default
    np.testing.assert_array_equal(exact, ref)
    # libjpeg's 1/4-scale decode averages 4x4 blocks where Keras's nearest resize
    # picks one pixel: on this content the mean difference is ~6 levels (of 255),
    # mostly the noise that nearest keeps and averaging removes.
    diff = np.abs(drafted - ref)
    assert 0 < diff.mean() < 10, diff.mean()
    assert np.abs(drafted.mean() - ref.mean()) < 1.0
    # Smaller than half the file in only one dimension: no draft, exact pixels.
    kw2 = dict(kw, target_size=(300, 128))
    ref2 = _quiet(kimage.ImageDataGenerator().flow_from_directory, str(tmp_path), **kw2)[0]
    np.testing.assert_array_equal(g.flow_from_directory(str(tmp_path), **kw2)[0], ref2)
    # The module switch.
    old = fio.DRAFT
    try:
        fio.DRAFT = False
        np.testing.assert_array_equal(g.flow_from_directory(str(tmp_path), **kw)[0], ref)
    finally:
        fio.DRAFT = old


def test_draft_with_keep_aspect_ratio_covers_the_crop(tmp_path):
    os.makedirs(tmp_path / "a")
    _image(np.random.default_rng(3), 800, 300).save(tmp_path / "a" / "wide.jpg", quality=95)
    kw = dict(target_size=(64, 64), shuffle=False, class_mode=None, keep_aspect_ratio=True)
    ref = _quiet(kimage.ImageDataGenerator().flow_from_directory, str(tmp_path), **kw)[0]
    got = fk.ImageDataGenerator().flow_from_directory(str(tmp_path), **kw)[0]
    assert np.abs(got - ref).mean() < 10  # same crop (a wrong crop differs by ~60)


# -- bad files ----------------------------------------------------------------------

@pytest.fixture()
def bad_tree(tmp_path):
    rng = np.random.default_rng(4)
    for cls in ("a", "b"):
        os.makedirs(tmp_path / cls)
        for i in range(3):
            _image(rng, 32, 32).save(tmp_path / cls / f"{i}.jpg")
    (tmp_path / "a" / "1.jpg").write_text("this is not a JPEG")
    data = (tmp_path / "b" / "0.jpg").read_bytes()
    (tmp_path / "b" / "0.jpg").write_bytes(data[: len(data) // 2])  # truncated
    return tmp_path


def test_bad_file_raises_naming_it(bad_tree):
    it = fk.ImageDataGenerator().flow_from_directory(str(bad_tree), target_size=(8, 8),
                                                     shuffle=False, batch_size=2)
    with pytest.raises(ValueError, match=r"a[/\\]1\.jpg"):
        it[0]
    with pytest.raises(fio.ImageFileError, match=r"b[/\\]0\.jpg': OSError"):
        it[1]
    x, y = it[2]  # the iterator still works after an error
    assert x.shape == (2, 8, 8, 3)


def test_bad_files_skipped_with_warning(bad_tree):
    with pytest.warns(UserWarning, match=r"Skipping 2 image file\(s\).*1\.jpg"):
        it = fk.ImageDataGenerator().flow_from_directory(
            str(bad_tree), target_size=(8, 8), shuffle=False, batch_size=8,
            on_bad_file="skip", class_mode="sparse")
    assert it.filenames == ["a/0.jpg", "a/2.jpg", "b/1.jpg", "b/2.jpg"]
    np.testing.assert_array_equal(it.classes, [0, 0, 1, 1])
    x, y = it[0]
    assert y.tolist() == [0, 0, 1, 1] and x.shape == (4, 8, 8, 3)


# -- save_to_dir ----------------------------------------------------------------------

def test_save_to_dir_names_and_rng(tree, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    g = fk.ImageDataGenerator(**SEED_CONFIG)
    kw = dict(target_size=(16, 16), batch_size=4, seed=5, shuffle=True)
    saving = g.flow_from_directory(str(tree), save_to_dir=str(out), save_prefix="aug",
                                   save_format="jpeg", **kw)
    plain = g.flow_from_directory(str(tree), **kw)
    for i in (0, 1):
        np.testing.assert_array_equal(saving[i][0], plain[i][0])
    names = sorted(os.listdir(out))
    assert len(names) == 8 and not any(n.startswith(".") for n in names)
    for n in names:
        prefix, index, rand = n[: -len(".jpeg")].split("_")
        assert prefix == "aug" and 0 <= int(index) < saving.n and int(rand) >= 0
        assert n.endswith(".jpeg")
        assert Image.open(out / n).size == (16, 16)


# -- dataframes ---------------------------------------------------------------------

pd = pytest.importorskip("pandas")


def _df(tree, absolute=False):
    files = _quiet(kimage.ImageDataGenerator().flow_from_directory, str(tree)).filenames
    rows = []
    for i, f in enumerate(files):
        cls = f.split("/")[0]
        rows.append({"filename": str(tree / f) if absolute else f, "class": cls,
                     "tags": [cls, "pet"] if cls != "birds" else ["bird"],
                     "w": float(i % 3) + 0.5, "y1": i * 0.1, "y2": i % 2})
    rows.append({"filename": "cats/missing.jpg", "class": "cats", "tags": ["cats"],
                 "w": 1.0, "y1": 0.0, "y2": 0})
    rows.append({"filename": "cats/notes.txt", "class": "cats", "tags": ["cats"],
                 "w": 1.0, "y1": 0.0, "y2": 0})
    rows.append({"filename": "cats/sub", "class": "cats", "tags": ["cats"],
                 "w": 1.0, "y1": 0.0, "y2": 0})
    df = pd.DataFrame(rows)
    return df.sample(frac=1.0, random_state=0).reset_index(drop=True)


def _df_pair(tree, df, gen_kwargs=None, **kwargs):
    gen_kwargs = gen_kwargs or {}
    kg = _quiet(kimage.ImageDataGenerator, **gen_kwargs)
    fg = fk.ImageDataGenerator(**gen_kwargs)
    ki = _quiet(kg.flow_from_dataframe, df, **kwargs)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        fi = fg.flow_from_dataframe(df, draft=False, **kwargs)
    return ki, fi, [str(w.message) for w in rec]


@pytest.mark.parametrize("case", [
    dict(class_mode="categorical"),
    dict(class_mode="sparse", subset="training"),
    dict(class_mode="sparse", subset="validation"),
    dict(class_mode="categorical", classes=["dogs", "cats"]),
    dict(class_mode="categorical", y_col="tags"),
    dict(class_mode="categorical", y_col="tags", classes=["pet", "bird"]),
    dict(class_mode="raw", y_col="y1", weight_col="w"),
    dict(class_mode="raw", y_col=["y1", "y2"]),
    dict(class_mode="multi_output", y_col=["y1", "y2"]),
    dict(class_mode="input"),
    dict(class_mode=None, validate_filenames=False),
], ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_dataframe_matches_keras(tree, case):
    df = _df(tree)
    kw = dict(directory=str(tree), target_size=(12, 12), batch_size=7, seed=1, **case)
    if case.get("validate_filenames") is False:
        df = df[~df["filename"].isin(["cats/missing.jpg", "cats/notes.txt", "cats/sub"])]
    ki, fi, msgs = _df_pair(tree, df, {"validation_split": 0.25, **SEED_CONFIG}, **kw)
    assert fi.filenames == ki.filenames and fi.filepaths == ki.filepaths
    assert getattr(fi, "class_indices", None) == getattr(ki, "class_indices", None)
    assert getattr(fi, "classes", None) == getattr(ki, "classes", None)
    if case.get("validate_filenames", True):
        assert any("3 invalid image filename" in m for m in msgs)
    for idx in (0, len(ki) - 1):
        kb, fb = _quiet(ki.__getitem__, idx), fi[idx]
        kb = kb if isinstance(kb, tuple) else (kb,)
        fb = fb if isinstance(fb, tuple) else (fb,)
        assert len(kb) == len(fb)
        _assert_batch_close(kb[0], fb[0])
        for a, b in zip(kb[1:], fb[1:]):
            if isinstance(a, list):
                for aa, bb in zip(a, b):
                    np.testing.assert_array_equal(aa, bb)
            elif case["class_mode"] == "input":
                _assert_batch_close(a, b)
            else:
                np.testing.assert_array_equal(a, b)


def test_dataframe_absolute_paths_and_no_directory(tree):
    df = _df(tree, absolute=True)
    df = df[df["filename"].str.startswith("/")]
    ki, fi, _ = _df_pair(tree, df, target_size=(8, 8), shuffle=False)
    assert fi.filenames == ki.filenames and fi.classes == ki.classes
    np.testing.assert_array_equal(_quiet(ki.__getitem__, 0)[0], fi[0][0])


def test_dataframe_binary_and_errors(tree):
    df = _df(tree)
    two = df[df["class"].isin(["cats", "dogs"])]
    ki, fi, _ = _df_pair(tree, two, directory=str(tree), class_mode="binary",
                         target_size=(8, 8), shuffle=False)
    np.testing.assert_array_equal(_quiet(ki.__getitem__, 0)[1], fi[0][1])
    g = fk.ImageDataGenerator()
    with pytest.raises(ValueError, match="must be 2 classes"):
        g.flow_from_dataframe(df, str(tree), class_mode="binary")
    with pytest.raises(TypeError, match="y_col must be a list"):
        g.flow_from_dataframe(df, str(tree), class_mode="multi_output", y_col="y1")
    with pytest.raises(TypeError, match="must be numeric"):
        g.flow_from_dataframe(df, str(tree), weight_col="class")
    with pytest.raises(TypeError, match="pandas DataFrame"):
        g.flow_from_dataframe({"filename": ["a.jpg"]}, str(tree))
    with pytest.raises(TypeError, match="unexpected keyword"):
        g.flow_from_dataframe(df, str(tree), target_sise=(8, 8))
    with pytest.warns(DeprecationWarning, match="has_ext"):
        _quiet_invalid(g.flow_from_dataframe, df, str(tree), has_ext=True)


def _quiet_invalid(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Found .* invalid image")
        return fn(*args, **kwargs)


def test_dataframe_keep_aspect_ratio_is_honoured(tree):
    df = _df(tree)
    g = fk.ImageDataGenerator()
    kw = dict(directory=str(tree), target_size=(8, 16), shuffle=False, class_mode=None,
              draft=False)
    a = _quiet(g.flow_from_dataframe, df, keep_aspect_ratio=True, **kw)[0]
    b = _quiet(g.flow_from_dataframe, df, **kw)[0]
    assert not np.array_equal(a, b)


def test_fastaug_does_not_import_pandas():
    code = ("import sys, fastaug, fastaug.keras, fastaug.io, fastaug.cli._augment; "
            "assert 'pandas' not in sys.modules, 'pandas imported'")
    env = dict(os.environ, FASTAUG_NO_KERAS_BASE="1")
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
