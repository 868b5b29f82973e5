"""fastaug.transforms against torchvision.transforms.v2.functional, given the same parameters.

The references are torchvision's outputs checked in as
``tests/fixtures/torchvision_refs.npz`` (written by
``tests/fixtures/make_torchvision_refs.py``: the suite needs no PyTorch). Each
case is a chain of v2.functional calls with explicit parameters; here the
same chain becomes fastaug ``Step`` records and runs through ``Compose.apply``
(so the folding into one pass is what is tested). With PyTorch installed,
``tests/fixtures/fuzz_torchvision.py`` draws new random cases and compares live.

Tolerances, and why:

- uint8: exact. The resampling follows PyTorch's integer path (int16 weights,
  the same precision rule, uint8 rounding between passes), crops, pads and
  flips copy, and the affine warp rounds half to even as torch does. Except
  bilinear affine/rotate: at most 1 level on at most 0.1% of the values, where
  torchvision's float32 sampling grid puts a value on the other side of a .5.
- float32 resampling: 2e-5 absolute on [0, 1) data (PyTorch accumulates in
  float32 in another order).
- float32 affine/rotate: 1e-4 absolute on [0, 1) data: torchvision computes the
  sampling grid in float32 (coordinates off by ~1e-6 of the size), fastaug in
  float64.
- Normalize after ``ToDtype``: 1e-5 relative (``v * (1/(255 std)) - mean/std``
  in one multiply-add against torch's ``(v/255 - mean) / std``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fastaug import transforms as T
from fastaug.transforms import _draw
from fastaug.transforms._affine import inverse_affine_theta

FIXTURE = Path(__file__).with_name("fixtures") / "torchvision_refs.npz"


def _load() -> list[tuple[int, np.ndarray, np.ndarray, dict]]:
    data = np.load(FIXTURE)
    n = len({k.split("/")[0] for k in data.files})
    return [(k, data[f"{k}/input"], data[f"{k}/output"], json.loads(str(data[f"{k}/spec"])))
            for k in range(n)]


CASES = _load()


def _steps(spec_steps: list, h: int, w: int) -> tuple[list[T.Step], str]:
    """v2.functional calls -> fastaug steps; also the kind of comparison to make."""
    steps: list[T.Step] = []
    cur = np.array([[h, w]], np.int64)
    pad = None
    kind = "copy"
    for op, a in spec_steps:
        if op == "resized_crop":
            box = np.array([[a["top"], a["left"], a["height"], a["width"]]], np.int64)
            steps.append(T.Step("tv", "crop", {"boxes": box},
                                {"padding_mode": "constant", "fill": (0.0,)}))
            steps.append(T.Step("tv", "resize", {"sizes": np.array([a["size"]], np.int64)},
                                {"interpolation": a["interpolation"],
                                 "antialias": a["antialias"]}))
            cur = np.array([a["size"]], np.int64)
            kind = "resample"
        elif op == "resize":
            new = _draw.resized_sizes(cur, tuple(a["size"]), None)
            steps.append(T.Step("tv", "resize", {"sizes": new},
                                {"interpolation": "bilinear", "antialias": a["antialias"]}))
            cur = new
            kind = "resample"
        elif op == "center_crop":
            box = _draw.center_crop_boxes(cur, tuple(a["output_size"]))
            steps.append(T.Step("tv", "crop", {"boxes": box},
                                {"padding_mode": "constant", "fill": (0.0,)}))
            cur = box[:, 2:]
        elif op == "pad":
            pad = a
        elif op == "crop":
            left_pad, top_pad = (pad["padding"][0], pad["padding"][1]) if pad else (0, 0)
            box = np.array([[a["top"] - top_pad, a["left"] - left_pad, a["height"],
                             a["width"]]], np.int64)
            steps.append(T.Step("tv", "crop", {"boxes": box},
                                {"padding_mode": pad["padding_mode"] if pad else "constant",
                                 "fill": (float(pad["fill"]),) if pad else (0.0,)}))
            cur = box[:, 2:]
            pad = None
        elif op in ("horizontal_flip", "vertical_flip"):
            steps.append(T.Step("tv", "flip", {"flip": np.array([True])},
                                {"axis": op.split("_")[0]}))
        elif op in ("affine", "rotate"):
            if op == "affine":
                theta = inverse_affine_theta(
                    np.array([a["angle"]]), np.array([float(a["translate"][0])]),
                    np.array([float(a["translate"][1])]), np.array([a["scale"]]),
                    np.array([a["shear"][0]]), np.array([a["shear"][1]]))
            else:
                cx = a["center"][0] - cur[0, 1] * 0.5
                cy = a["center"][1] - cur[0, 0] * 0.5
                z = np.zeros(1)
                theta = inverse_affine_theta(np.array([-a["angle"]]), z, z, np.ones(1), z, z,
                                             cx, cy)
            steps.append(T.Step("tv", "affine", {"theta": theta},
                                {"interpolation": a["interpolation"],
                                 "fill": tuple(a["fill"])}))
            kind = "affine"
        elif op == "to_dtype":
            steps.append(T.Step("tv", "elementwise", {},
                                {"dtype": np.dtype(a["dtype"]), "scale": a["scale"]}))
        elif op == "normalize":
            steps.append(T.Step("tv", "elementwise", {}, {"mean": tuple(a["mean"]),
                                                          "std": tuple(a["std"])}))
            kind = "normalize"
        else:  # pragma: no cover - a fixture op this test does not know
            raise AssertionError(op)
    return steps, kind


def test_fixture_covers_every_op():
    ops = {op for _, _, _, spec in CASES for op, _ in spec["steps"]}
    assert ops >= {"resized_crop", "resize", "center_crop", "pad", "crop", "horizontal_flip",
                   "vertical_flip", "affine", "rotate", "to_dtype", "normalize"}
    chans = {inp.shape[2] for _, inp, _, _ in CASES}
    dtypes = {inp.dtype for _, inp, _, _ in CASES}
    assert chans == {1, 3, 4} and dtypes == {np.dtype(np.uint8), np.dtype(np.float32)}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-" + "+".join(
    op for op, _ in c[3]["steps"]))
def test_matches_torchvision(case):
    _, img, expected, spec = case
    h, w, c = img.shape
    steps, kind = _steps(spec["steps"], h, w)
    params = T.BatchParams(np.array([[h, w]], np.int64), tuple(steps), c)
    got = T.Compose([]).apply(img[None], params)[0]
    assert got.shape == expected.shape and got.dtype == expected.dtype
    if expected.dtype == np.uint8:
        d = np.abs(got.astype(int) - expected.astype(int))
        if kind == "affine":
            assert d.max() <= 1 and (d > 0).mean() <= 1e-3, (d.max(), (d > 0).sum())
        else:
            assert d.max() == 0, f"{(d > 0).sum()} of {d.size} values differ, up to {d.max()}"
    elif kind == "normalize":
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    else:
        tol = {"affine": 1e-4, "resample": 2e-5, "copy": 0.0}[kind]
        np.testing.assert_allclose(got, expected, rtol=0, atol=tol)
