"""The CLI against hostile and unusual inputs (issue #14 items 3-5).

Every failure is one line on stderr and exit status 2, nothing is written
outside ``--out``, and pictures deeper than 8 bits keep their values (the old
command clipped a 16-bit PNG to 255 and wrote a float TIFF all black, status 0).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fastaug.cli import main, test_card


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def _flip_only(src: Path, out: Path, fmt: str) -> list[np.ndarray]:
    rc = main(["augment", str(src), "-n", "8", "-o", str(out), "--horizontal-flip",
               "--format", fmt, "--seed", "1", "-q"])
    assert rc == 0
    return [np.asarray(Image.open(out / n)) for n in sorted(os.listdir(out))]


def test_16_bit_png_keeps_its_values(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 65536, (21, 34), dtype=np.uint16)
    src = tmp_path / "deep.png"
    Image.fromarray(arr).save(src)
    assert Image.open(src).mode == "I;16"
    outs = _flip_only(src, tmp_path / "out", "png")
    assert len(outs) == 8
    for o in outs:
        assert o.dtype == np.uint16
        # A flip moves pixels and changes no value.
        assert np.array_equal(o, arr) or np.array_equal(o, arr[:, ::-1])
    assert any(np.array_equal(o, arr[:, ::-1]) for o in outs)


def test_16_bit_rotation_stays_in_range_and_deep(tmp_path):
    arr = np.linspace(0, 65535, 40 * 40).reshape(40, 40).astype(np.uint16)
    src = tmp_path / "deep.png"
    Image.fromarray(arr).save(src)
    out = tmp_path / "out"
    assert main(["augment", str(src), "-n", "2", "-o", str(out), "--rotation-range", "20",
                 "--seed", "0", "-q"]) == 0
    for n in os.listdir(out):
        o = np.asarray(Image.open(out / n))
        assert o.dtype == np.uint16 and o.max() > 255 and len(np.unique(o)) > 1000


def test_float_tiff_keeps_its_values(tmp_path):
    arr = np.random.default_rng(1).normal(0.5, 3.0, (17, 23)).astype(np.float32)
    src = tmp_path / "f.tif"
    Image.fromarray(arr, mode="F").save(src)
    outs = _flip_only(src, tmp_path / "out", "tif")
    for o in outs:
        assert o.dtype == np.float32
        assert np.array_equal(o, arr) or np.array_equal(o, arr[:, ::-1])


@pytest.mark.parametrize("fmt", ["jpg", "png"])
def test_deep_picture_to_a_shallow_format_is_an_error(tmp_path, capsys, fmt):
    src = tmp_path / "f.tif"
    Image.fromarray(np.ones((8, 8), np.float32), mode="F").save(src)
    out = tmp_path / "out"
    assert main(["augment", str(src), "-n", "1", "-o", str(out), "--format", fmt, "-q"]) == 2
    line = _err_line(capsys)
    assert str(src) in line and "--format tif" in line
    assert not out.exists()


def test_decompression_bomb_is_exit_2(tmp_path, capsys, monkeypatch):
    src = tmp_path / "bomb.png"
    Image.new("L", (80, 80)).save(src)
    # Pillow refuses images over twice MAX_IMAGE_PIXELS: a small limit stands in
    # for a gigapixel file.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    out = tmp_path / "out"
    assert main(["augment", str(src), "-n", "1", "-o", str(out), "-q"]) == 2
    line = _err_line(capsys)
    assert str(src) in line and "decompression bomb" in line
    assert not out.exists()


@pytest.mark.parametrize("case", ["truncated", "garbage-png-header", "empty"])
def test_corrupt_files_exit_2(tmp_path, capsys, case):
    good = tmp_path / "good.png"
    Image.fromarray(test_card(48)).save(good)
    data = good.read_bytes()
    bad = tmp_path / f"{case}.png"
    bad.write_bytes({"truncated": data[: len(data) // 2],
                     "garbage-png-header": data[:16] + os.urandom(200),
                     "empty": b""}[case])
    out = tmp_path / "out"
    assert main(["augment", str(good), str(bad), "-n", "1", "-o", str(out), "-q"]) == 2
    assert str(bad) in _err_line(capsys)
    assert not out.exists()


def test_palette_with_transparency_and_la_keep_alpha(tmp_path):
    p = Image.new("P", (10, 12))
    p.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    p.info["transparency"] = 0
    p.save(tmp_path / "p.png", transparency=0)
    Image.new("LA", (10, 12), (80, 128)).save(tmp_path / "la.png")
    out = tmp_path / "out"
    assert main(["augment", str(tmp_path / "p.png"), str(tmp_path / "la.png"), "-n", "1",
                 "-o", str(out), "-q"]) == 0
    assert sorted(Image.open(out / n).mode for n in os.listdir(out)) == ["RGBA", "RGBA"]


@pytest.mark.parametrize("prefix", ["../x", "/tmp/escape", "a/b", "a\\b", "x\0y"])
def test_prefix_cannot_leave_the_output_folder(tmp_path, capsys, prefix):
    src = tmp_path / "in" / "pic.png"
    src.parent.mkdir()
    Image.fromarray(test_card(16)).save(src)
    out = tmp_path / "out"
    before = _tree(tmp_path)
    escape_before = set(os.listdir("/tmp"))
    assert main(["augment", str(src), "-n", "2", "-o", str(out), "--prefix", prefix,
                 "-q"]) == 2
    assert "--prefix" in _err_line(capsys)
    assert _tree(tmp_path) - before <= {"out"}
    assert not {n for n in set(os.listdir("/tmp")) - escape_before if n.startswith("escape")}


def test_negative_seed_is_exit_2(tmp_path, capsys):
    src = tmp_path / "pic.png"
    Image.fromarray(test_card(16)).save(src)
    assert main(["augment", str(src), "-n", "1", "-o", str(tmp_path / "o"), "--seed", "-1",
                 "-q"]) == 2
    assert "--seed" in _err_line(capsys)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6, 7])
def test_test_card_small_sizes(size):
    card = test_card(size)
    assert card.shape == (size, size, 3) and card.dtype == np.uint8


def test_demo_tiny_size_runs(tmp_path, capsys):
    out = tmp_path / "d.png"
    assert main(["demo", "--size", "3", "--count", "2", "--batch", "2", "--out", str(out)]) == 0
    assert Image.open(out).size[0] > 0


def test_demo_negative_seed_is_usage_error(tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["demo", "--seed", "-1", "--out", str(tmp_path / "d.png")])
    assert e.value.code == 2
