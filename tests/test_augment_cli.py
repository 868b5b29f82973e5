"""``fastaug augment``: copies, naming, reproducibility, progress bar and user errors."""

import os
import stat

import numpy as np
import pytest
from PIL import Image

from fastaug.cli import _augment as _augment_cli
from fastaug.cli import main


@pytest.fixture()
def picture(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    path = tmp_path / "pic.png"
    Image.fromarray(arr).save(path)
    return path


def _files(d):
    return sorted(n for n in os.listdir(d))


def test_writes_count_copies_with_keras_names(picture, tmp_path, capsys):
    out = tmp_path / "out"  # created: its parent exists
    rc = main(["augment", str(picture), "--count", "20", "--out", str(out),
               "--rotation-range", "30", "--zoom-range", "0.2", "--width-shift-range", "0.1",
               "--height-shift-range", "0.1", "--shear-range", "10", "--horizontal-flip",
               "--vertical-flip", "--fill-mode", "reflect", "--brightness-range", "0.8", "1.2",
               "--channel-shift-range", "10", "--prefix", "cat", "--format", "jpg",
               "--seed", "3"])
    assert rc == 0
    names = _files(out)
    assert len(names) == 20
    assert sorted(int(n.split("_")[1]) for n in names) == list(range(20))
    for n in names:
        prefix, index, rand = n[:-4].split("_")
        assert prefix == "cat" and n.endswith(".jpg") and 0 <= int(rand) < 10000
        with Image.open(out / n) as im:
            assert im.size == (32, 24) and im.format == "JPEG"
    err = capsys.readouterr().err
    assert "\r[" in err and "20/20 images" in err


def test_seeded_copies_are_reproducible_and_keep_contrast(picture, tmp_path):
    def run(out):
        assert main(["augment", str(picture), "-n", "4", "-o", str(out), "--seed", "7",
                     "--rotation-range", "20", "--quiet"]) == 0
        return sorted((n.split("_")[1], np.asarray(Image.open(out / n)))
                      for n in _files(out))

    a, b = run(tmp_path / "a"), run(tmp_path / "b")
    for (ia, xa), (ib, xb) in zip(a, b):
        assert ia == ib
        np.testing.assert_array_equal(xa, xb)
    assert not np.array_equal(a[0][1], a[1][1])  # copies differ
    # No min-max stretch (Keras's save_to_dir does one): the identity copy is the input.
    assert main(["augment", str(picture), "-n", "1", "-o", str(tmp_path / "c"), "-q"]) == 0
    (only,) = _files(tmp_path / "c")
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "c" / only)),
                                  np.asarray(Image.open(picture)))


def test_several_inputs_and_existing_names_kept(picture, tmp_path):
    gray = tmp_path / "gray.png"
    Image.new("L", (10, 8), 100).save(gray)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert main(["augment", str(picture), str(gray), "-n", "3", "-o", str(out), "-q"]) == 0
    names = [n for n in _files(out) if n.startswith("aug_")]
    assert len(names) == 6 and (out / "keep.txt").read_text() == "x"
    by_index = {int(n.split("_")[1]): n for n in names}
    assert Image.open(out / by_index[4]).mode == "L"  # copies 3..5 come from input 2
    assert not [n for n in os.listdir(out) if n.startswith(".fastaug-")]


@pytest.mark.parametrize("case", ["missing", "not-image", "folder-input"])
def test_bad_input_exit_2_naming_it(picture, tmp_path, capsys, case):
    bad = {"missing": tmp_path / "nope.jpg", "not-image": tmp_path / "text.jpg",
           "folder-input": tmp_path}[case]
    if case == "not-image":
        bad.write_text("hello")
    out = tmp_path / "out"
    rc = main(["augment", str(picture), str(bad), "-n", "2", "-o", str(out), "-q"])
    assert rc == 2
    assert str(bad) in capsys.readouterr().err
    assert not out.exists()  # checked before anything is written


def test_bad_output_exit_2(picture, tmp_path, capsys):
    rc = main(["augment", str(picture), "-n", "1", "-o", str(tmp_path / "a" / "b"), "-q"])
    assert rc == 2 and "does not exist" in capsys.readouterr().err
    f = tmp_path / "file"
    f.write_text("")
    assert main(["augment", str(picture), "-n", "1", "-o", str(f), "-q"]) == 2
    assert "not a folder" in capsys.readouterr().err
    if os.geteuid() != 0:  # root can write anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
        assert main(["augment", str(picture), "-n", "1", "-o", str(ro), "-q"]) == 2
        assert "not writable" in capsys.readouterr().err


def test_bad_options(picture, tmp_path, capsys):
    o = str(tmp_path / "o")
    assert main(["augment", str(picture), "-n", "0", "-o", o]) == 2
    assert "--count" in capsys.readouterr().err
    assert main(["augment", str(picture), "-n", "1", "-o", o, "--format", "xyz"]) == 2
    assert "--format" in capsys.readouterr().err
    assert main(["augment", str(picture), "-n", "1", "-o", o, "--zoom-range", "1", "2", "3"]) == 2
    with pytest.raises(SystemExit) as e:
        main(["augment", str(picture), "-o", o])  # --count is required
    assert e.value.code == 2


def test_standalone_main(picture, tmp_path):
    assert _augment_cli.main([str(picture), "-n", "2", "-o", str(tmp_path / "x"), "-q"]) == 0
    assert len(os.listdir(tmp_path / "x")) == 2
