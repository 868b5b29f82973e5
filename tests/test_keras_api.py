"""The public surface, constructor validation, errors and warnings vs Keras 3."""

import io
import warnings

import numpy as np
import pytest

kimage = pytest.importorskip("keras.src.legacy.preprocessing.image")

from fastaug import keras as fk

NAMES = ["ImageDataGenerator", "Iterator", "NumpyArrayIterator", "DirectoryIterator",
         "DataFrameIterator", "apply_affine_transform", "apply_channel_shift",
         "apply_brightness_shift", "random_rotation", "random_shift", "random_shear",
         "random_zoom", "random_channel_shift", "random_brightness", "flip_axis",
         "transform_matrix_offset_center", "array_to_img", "img_to_array", "load_img",
         "save_img", "validate_filename", "BatchFromFilesMixin"]


def test_public_names():
    for name in NAMES:
        assert hasattr(fk, name), name
    assert sorted(fk.__all__) == sorted(NAMES)


def test_every_public_name_of_keras_legacy_module_is_there():
    # Keras's module also re-exports its imports (modules, keras_export) and
    # PyDataset, which fastaug cannot provide without importing Keras.
    theirs = {n for n in dir(kimage) if not n.startswith("_")
              and not isinstance(getattr(kimage, n), type(io))}
    theirs -= {"keras_export", "PyDataset", "scipy"}  # scipy: a lazy-module proxy
    assert theirs <= set(fk.__all__), sorted(theirs - set(fk.__all__))


@pytest.mark.parametrize("name,formats", [("a.PNG", ("png",)), ("a.xpng", ("png",)),
                                          ("a.jpg", ("png", "bmp")), ("missing.png", ("png",))])
def test_validate_filename_equals_keras(tmp_path, name, formats):
    path = tmp_path / name
    if not name.startswith("missing"):
        path.write_bytes(b"")
    assert fk.validate_filename(str(path), formats) == kimage.validate_filename(str(path),
                                                                               formats)


def test_top_level_export():
    import fastaug

    if not hasattr(fastaug, "ImageDataGenerator"):
        pytest.skip("fastaug/__init__.py does not export ImageDataGenerator yet")
    assert fastaug.ImageDataGenerator is fk.ImageDataGenerator


def test_defaults_equal_keras():
    k = kimage.ImageDataGenerator()
    f = fk.ImageDataGenerator()
    for attr in ("featurewise_center", "samplewise_center", "featurewise_std_normalization",
                 "samplewise_std_normalization", "zca_whitening", "zca_epsilon",
                 "rotation_range", "width_shift_range", "height_shift_range",
                 "brightness_range", "shear_range", "zoom_range", "channel_shift_range",
                 "fill_mode", "cval", "horizontal_flip", "vertical_flip", "rescale",
                 "preprocessing_function", "data_format", "_validation_split",
                 "interpolation_order", "dtype", "channel_axis", "row_axis", "col_axis",
                 "mean", "std", "zca_whitening_matrix"):
        assert getattr(f, attr) == getattr(k, attr), attr


def _same_error(kwargs, exc=ValueError):
    with pytest.raises(exc) as ke:
        kimage.ImageDataGenerator(**kwargs)
    with pytest.raises(exc) as fe:
        fk.ImageDataGenerator(**kwargs)
    assert str(fe.value) == str(ke.value)


@pytest.mark.parametrize("kwargs", [
    dict(data_format="nhwc"),
    dict(validation_split=1.5),
    dict(validation_split=-0.1),
    dict(zoom_range=(0.5, 1.0, 2.0)),
    dict(zoom_range="big"),
    dict(brightness_range=0.5),
    dict(brightness_range=(0.5, 1.0, 1.5)),
])
def test_constructor_errors_match_keras(kwargs):
    _same_error(kwargs)


@pytest.mark.parametrize("kwargs, text", [
    (dict(zca_whitening=True), "`zca_whitening`, which overrides setting of `featurewise_center`"),
    (dict(zca_whitening=True, featurewise_center=True, featurewise_std_normalization=True),
     "overrides setting of`featurewise_std_normalization`"),
    (dict(featurewise_std_normalization=True), "which overrides setting of `featurewise_center`"),
    (dict(samplewise_std_normalization=True), "which overrides setting of `samplewise_center`"),
])
def test_constructor_warnings_match_keras(kwargs, text):
    for lib in (kimage, fk):
        with pytest.warns(UserWarning, match=text.replace("(", r"\(")):
            g = lib.ImageDataGenerator(**kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k = kimage.ImageDataGenerator(**kwargs)
        f = fk.ImageDataGenerator(**kwargs)
    for attr in ("featurewise_center", "featurewise_std_normalization", "samplewise_center"):
        assert getattr(g, attr) == getattr(k, attr) == getattr(f, attr)


def test_fill_mode_is_validated_early():
    with pytest.raises(ValueError, match="fill_mode must be one of"):
        fk.ImageDataGenerator(fill_mode="bogus")


@pytest.mark.parametrize("call", [
    lambda lib, x, y: lib.ImageDataGenerator().flow(x, y[:3]),
    lambda lib, x, y: lib.ImageDataGenerator().flow(x, y, sample_weight=y[:2]),
    lambda lib, x, y: lib.ImageDataGenerator().flow((x, y[:2]), y),
    lambda lib, x, y: lib.ImageDataGenerator().flow(x[0], None),
])
def test_flow_errors_match_keras(call):
    x = np.zeros((5, 4, 4, 3), np.uint8)
    y = np.arange(5)
    with pytest.raises(ValueError) as ke:
        call(kimage, x, y)
    with pytest.raises(ValueError) as fe:
        call(fk, x, y)
    assert str(fe.value) == str(ke.value)


def test_flow_channel_warning_matches_keras():
    x = np.zeros((2, 4, 4, 5), np.uint8)
    for lib in (kimage, fk):
        with pytest.warns(UserWarning, match=r"\(5 channels\)"):
            lib.ImageDataGenerator().flow(x)


def test_directory_and_dataframe_iterators_are_iterators():
    assert issubclass(fk.DirectoryIterator, fk.Iterator)
    assert issubclass(fk.DataFrameIterator, fk.Iterator)


def test_image_io_matches_keras(tmp_path):
    from keras.src.utils import image_utils as ku

    rng = np.random.default_rng(0)
    for shape, fmt in (((5, 7, 3), "channels_last"), ((3, 5, 7), "channels_first"),
                       ((5, 7, 1), "channels_last"), ((5, 7, 4), "channels_last")):
        x = rng.random(shape) * 300 - 20
        for scale in (True, False):
            a = ku.array_to_img(x, fmt, scale=scale)
            b = fk.array_to_img(x, fmt, scale=scale)
            assert a.mode == b.mode
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
            np.testing.assert_array_equal(ku.img_to_array(a, fmt), fk.img_to_array(b, fmt))
    path = tmp_path / "img.jpg"
    fk.save_img(str(path), rng.random((6, 8, 3)))
    for kw in (dict(), dict(color_mode="grayscale"), dict(color_mode="rgba"),
               dict(target_size=(3, 5), interpolation="bilinear"),
               dict(target_size=(4, 4), keep_aspect_ratio=True)):
        np.testing.assert_array_equal(np.asarray(ku.load_img(str(path), **kw)),
                                      np.asarray(fk.load_img(str(path), **kw)))
    with pytest.raises(ValueError, match="Invalid interpolation method"):
        fk.load_img(str(path), target_size=(2, 2), interpolation="cubic")
    with pytest.raises(ValueError) as ke:
        ku.array_to_img(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError) as fe:
        fk.array_to_img(np.zeros((2, 2, 2)))
    assert str(fe.value) == str(ke.value)
    buf = io.BytesIO()
    fk.save_img(buf, np.zeros((3, 3, 3)), file_format="png")
    assert fk.load_img(io.BytesIO(buf.getvalue())).size == (3, 3)


def test_import_does_not_import_keras():
    import subprocess
    import sys

    code = ("import sys, fastaug.keras, numpy as np; "
            "g = fastaug.keras.ImageDataGenerator(rotation_range=5); "
            "g.random_transform(np.zeros((4, 4, 3), np.float32), seed=0); "
            "print('keras' in sys.modules, 'jax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]
