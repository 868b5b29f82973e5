"""``fastaug bench``: short in-process runs on tiny sizes, the report shapes, skips, errors."""

from __future__ import annotations

import io
import json
import sys

import pytest

from fastaug import cli
from fastaug._bench import _command, _libraries, _machine, _measure, _optional

pytest.importorskip("scipy")
TINY = ["--sizes", "8x8x3", "--batch", "4", "--rounds", "1", "--duration", "0.2",
        "--configs", "geometric,flips", "--no-progress"]


def _run(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = cli.main(["bench", *TINY, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def _table_rows(out: str) -> list[list[str]]:
    rows = [line for line in out.splitlines() if line.startswith("|")]
    return [[c.strip() for c in r.strip("|").split("|")] for r in rows]


def test_table_shape(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("cv2")
    code, out, _ = _run(capsys, "--competitors", "scipy,cv2")
    assert code == 0
    rows = _table_rows(out)
    assert rows[0] == ["images", "batch", "config", "library", "images/s", "IQR %",
                       "fastaug / this"]
    body = rows[2:]
    # fastaug + two competitors for each of the two configs.
    assert len(body) == 6
    assert {(r[2], r[3]) for r in body} == {
        (cfg, lib) for cfg in ("geometric", "flips")
        for lib in ("fastaug ImageDataGenerator", "OpenCV per-image loop",
                    "scipy.ndimage per channel")}
    for r in body:
        assert r[0] == "8x8x3" and r[1] == "4"
        assert float(r[4].replace(",", "")) > 0
        assert r[6].endswith("x") or r[6].endswith("(reference)")
    assert "Command: `fastaug bench --sizes 8x8x3" in out
    assert "- CPU: " in out and "numpy " in out and "BLAS: " in out
    assert "load average" in out


def test_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("cv2")
    code, out, _ = _run(capsys, "--competitors", "scipy,cv2", "--json")
    assert code == 0
    rep = json.loads(out)
    assert set(rep) >= {"command", "settings", "machine", "warnings", "results", "skipped",
                        "wall_s"}
    assert rep["settings"]["sizes"] == ["8x8x3"]
    assert rep["settings"]["configs"] == ["geometric", "flips"]
    m = rep["machine"]
    assert {"cpu", "logical_cores", "usable_cores", "versions", "blas", "load_before",
            "load_after"} <= set(m)
    assert {"numpy", "numba", "python"} <= set(m["versions"])
    assert {"name", "threads", "env"} <= set(m["blas"])
    assert len(rep["results"]) == 6
    for r in rep["results"]:
        assert {"size", "batch", "config", "library", "images_per_s", "iqr_pct", "speedup",
                "images_per_call", "samples"} <= set(r)
        assert r["images_per_s"] > 0 and r["speedup"] > 0 and r["samples"] == 1
        if r["library"] == "fastaug":
            assert r["speedup"] == pytest.approx(1.0)
    assert {r["library"] for r in rep["results"]} == {"fastaug", "scipy", "cv2"}


def test_missing_competitor_is_skipped_with_a_note(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    real = _optional.import_module

    def fake(name: str, *a: object) -> object:
        if name.split(".")[0] in ("cv2", "torch", "torchvision"):
            raise ImportError(f"No module named {name!r}")
        return real(name, *a)

    monkeypatch.setattr(_optional, "import_module", fake)
    code, out, _ = _run(capsys, "--competitors", "cv2,torchvision,scipy")
    assert code == 0
    libs = {r[3] for r in _table_rows(out)[2:]}
    assert libs == {"fastaug ImageDataGenerator", "scipy.ndimage per channel"}
    notes = out.split("Skipped:")[1]
    assert "OpenCV per-image loop: OpenCV is not installed" in notes
    assert "pip install opencv-python-headless" in notes
    assert "torchvision v2 per image: torchvision is not installed" in notes
    # Noted once per library, not once per cell.
    assert notes.count("torchvision is not installed") == 1

    code, out, _ = _run(capsys, "--competitors", "cv2", "--json")
    rep = json.loads(out)
    assert [s["library"] for s in rep["skipped"]] == ["cv2"]
    assert {r["library"] for r in rep["results"]} == {"fastaug"}


def test_zca_without_a_dxd_matrix_is_a_cell_skip(capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # 8x8x3 is d = 192: lower the limit so the large-image path runs on tiny data.
    monkeypatch.setattr(_libraries, "MAX_ZCA_D", 100)
    code = cli.main(["bench", "--sizes", "8x8x3", "--batch", "4", "--rounds", "1",
                     "--duration", "0.1", "--configs", "zca", "--competitors", "scipy",
                     "--json", "--no-progress", "--quick"])
    rep = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [r["library"] for r in rep["results"]] == ["fastaug"]
    (skip,) = rep["skipped"]
    assert skip["library"] == "scipy" and skip["size"] == "8x8x3" and skip["config"] == "zca"
    assert "d x d" in skip["reason"]


def test_progress_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["bench", *TINY[:-1], "--competitors", "scipy", "--configs", "flips"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "fastaug bench: round 1/1" in err and "fastaug bench: round" not in out


def test_progress_rewrites_one_line_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    fake = Tty()
    monkeypatch.setattr(sys, "stderr", fake)
    p = _measure.Progress(True)
    p.show("round 1/2", "32x32x3 geometric: keras")
    p.show("round 1/2", "cv2")
    p.done()
    text = fake.getvalue()
    assert "\n" not in text and text.count("\r") == 4 and text.endswith("\r")
    assert "fastaug bench: round 1/2 cv2" in text


@pytest.mark.parametrize("opts, message", [
    (["--sizes", "32x32"], None),  # valid: one channel
    (["--sizes", "32by32"], "HxWxC"),
    (["--sizes", "32x32x2"], "HxWxC"),
    (["--competitors", "keras,pillow"], "'pillow'"),
    (["--configs", "rotate"], "choose from geometric, zca, flips"),
    (["--batch", "0"], "--batch must be >= 1"),
    (["--rounds", "0"], "--rounds must be >= 1"),
    (["--threads", "0"], "--threads must be >= 1"),
    (["--duration", "0"], "--duration must be > 0"),
])
def test_bad_options_error_clearly(capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch,
                                   opts: list[str], message: str | None) -> None:
    if message is None:
        settings = _command._validate(
            _command.add_arguments(__import__("argparse").ArgumentParser()).parse_args(opts))
        assert settings["sizes"] == [(32, 32, 1)]
        return
    with pytest.raises(SystemExit) as exc:
        cli.main(["bench", *opts])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "fastaug bench: error:" in err and message in err


def test_plot_without_matplotlib_errors_before_running(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    real = _optional.import_module

    def fake(name: str, *a: object) -> object:
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real(name, *a)

    monkeypatch.setattr(_optional, "import_module", fake)
    monkeypatch.setattr(_command, "measure", lambda *a, **k: pytest.fail("ran the benchmark"))
    with pytest.raises(SystemExit):
        cli.main(["bench", "--plot", str(tmp_path / "b.png")])
    assert "--plot needs matplotlib: pip install matplotlib" in capsys.readouterr().err


def test_plot_writes_a_png(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "bench.png"
    code, out, _ = _run(capsys, "--competitors", "scipy", "--plot", str(path))
    assert code == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"Bar chart: {path}" in out


def test_busy_machine_is_warned(capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_machine, "loadavg", lambda: [3.0, 2.0, 1.0])
    code, out, _ = _run(capsys, "--competitors", "scipy", "--configs", "flips")
    assert code == 0
    assert "**WARNING**: the machine was busy at the start (1-min load 3.00 > 0.5)" in out


# --------------------------------------------------------------------------------------
# The fastaug.transforms configurations (opt-in): ops and recipes
# --------------------------------------------------------------------------------------

TRANSFORMS = ["colorjitter", "trivialaugment", "randaugment", "erasing", "crop-recipe",
              "rrc-recipe", "cj-recipe", "taw-erasing-recipe"]
POLICIES = {"trivialaugment", "randaugment", "taw-erasing-recipe"}
TINY_T = ["bench", "--sizes", "8x8x3", "--batch", "4", "--rounds", "1", "--duration", "0.2",
          "--threads", "1", "--no-progress", "--json", "--configs", ",".join(TRANSFORMS)]


def _installed(*modules: str) -> bool:
    try:
        for m in modules:
            _optional.import_module(m)
    except ImportError:
        return False
    return True


def test_default_competitors_follow_the_configs() -> None:
    import argparse

    def settings(*opts: str) -> dict:
        return _command._validate(_command.add_arguments(argparse.ArgumentParser())
                                  .parse_args(list(opts)))

    # The default run compares with the same libraries as before the transforms configs.
    assert settings()["competitors"] == ["keras", "cv2", "albumentations", "torchvision",
                                         "scipy"]
    assert settings()["configs"] == ["geometric", "zca", "flips"]
    assert settings("--configs", "colorjitter,taw-erasing-recipe")["competitors"] == [
        "albumentations", "torchvision", "kornia"]
    assert settings("--configs", "flips,erasing")["competitors"] == [
        "keras", "cv2", "albumentations", "torchvision", "scipy", "kornia"]
    assert settings("--configs", "erasing", "--competitors", "kornia")["competitors"] == [
        "kornia"]


def test_transform_configs_run_with_what_is_installed(capsys: pytest.CaptureFixture[str]) -> None:
    # Every config on tiny images, one round: fastaug always has a row; each other
    # library either has one, or a note saying why not (not installed: once).
    code = cli.main(TINY_T)
    rep = json.loads(capsys.readouterr().out)
    assert code == 0
    rows = {(r["config"], r["library"]) for r in rep["results"]}
    for config in TRANSFORMS:
        assert (config, "fastaug") in rows
    have = {"torchvision": _installed("torch", "torchvision.transforms.v2"),
            "albumentations": _installed("albumentations", "cv2"),
            "kornia": _installed("torch", "kornia.augmentation")}
    skipped = {(s["config"], s["library"]): s["reason"] for s in rep["skipped"]}
    for lib, ok in have.items():
        if not ok:
            assert skipped[(None, lib)].count("is not installed") == 1
            assert not any(r[1] == lib for r in rows)
            continue
        for config in TRANSFORMS:
            if lib == "albumentations" and config in POLICIES:
                assert (config, lib) not in rows
                assert "no TrivialAugment or RandAugment" in skipped[(config, lib)]
            else:
                assert (config, lib) in rows, (config, lib, skipped.get((config, lib)))
    for r in rep["results"]:
        assert r["images_per_s"] > 0 and r["samples"] == 1


def test_transform_configs_without_the_optional_libraries(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    real = _optional.import_module

    def fake(name: str, *a: object) -> object:
        if name.split(".")[0] in ("torch", "torchvision", "albumentations", "kornia", "cv2"):
            raise ImportError(f"No module named {name!r}")
        return real(name, *a)

    monkeypatch.setattr(_optional, "import_module", fake)
    code = cli.main([a for a in TINY_T if a != "--json"])
    out = capsys.readouterr().out
    assert code == 0
    body = _table_rows(out)[2:]
    assert {r[2] for r in body} == set(TRANSFORMS)
    assert {r[3] for r in body} == {"fastaug.transforms Compose"}
    notes = out.split("Skipped:")[1]
    for label, hint in [("torchvision v2 per image", "torchvision"),
                        ("albumentations Compose", "albumentations"),
                        ("kornia.augmentation (batch)", "kornia")]:
        assert notes.count(f"- {label}: ") == 1
        assert f"pip install {hint}" in notes
    # The notes describe the transforms configs, not the ImageDataGenerator ones.
    assert "`TrivialAugmentWide()`" in out and "ImageDataGenerator(...).flow" not in out


@pytest.mark.parametrize("config", TRANSFORMS)
def test_transform_contenders_give_the_same_batch_shape(config: str) -> None:
    # What every contender returns for one call: the same images in the same
    # layout as fastaug's (NHWC for the ops, NCHW float32 for the recipes), so the
    # rows time equivalent work.
    import numpy as np

    from fastaug._bench import _transforms

    setup = _libraries.make_setup((8, 8, 3), 4, config, 1, True, {})
    fn, k = _transforms.RUNNERS["fastaug"](setup)
    ours = np.asarray(fn())
    recipe = config.endswith("-recipe")
    assert ours.shape == ((4, 3, 8, 8) if recipe else (4, 8, 8, 3))
    assert ours.dtype == (np.float32 if recipe or config == "erasing" else np.uint8)
    for lib in ("torchvision", "albumentations", "kornia"):
        try:
            fn, k = _transforms.RUNNERS[lib](setup)
        except _libraries.Skip as e:
            assert "not installed" in str(e) or "no TrivialAugment" in str(e)
            continue
        out = fn()
        out = out.numpy() if hasattr(out, "numpy") else np.asarray(out)
        channels_first = recipe or lib in ("torchvision", "kornia")
        assert out.shape == ((k, 3, 8, 8) if channels_first else (k, 8, 8, 3)), lib
        assert np.isfinite(out.astype(np.float32)).all(), lib
        if recipe:
            assert out.dtype == np.float32, lib


def test_other_libraries_skip_the_transform_configs(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["bench", "--sizes", "8x8x3", "--batch", "4", "--rounds", "1",
                     "--duration", "0.1", "--configs", "erasing", "--competitors", "scipy",
                     "--json", "--no-progress"])
    rep = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [r["library"] for r in rep["results"]] == ["fastaug"]
    (skip,) = rep["skipped"]
    assert skip["library"] == "scipy" and skip["config"] == "erasing"
    assert "compared with albumentations, torchvision, kornia only" in skip["reason"]
