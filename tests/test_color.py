"""fastaug's colour transforms against torchvision.transforms.v2, given the same parameters.

The references are torchvision's outputs checked in as
``tests/fixtures/color_refs.npz`` (written by
``tests/fixtures/make_color_refs.py``; the suite needs no PyTorch): every
operation with explicit factors (ColorJitter also with explicit orders of its
four operations), on 1- and 3-channel images of 13x17 and 31x24, uint8 and
float32. Each spec becomes a fastaug ``Step`` run through
``Compose.apply`` (a batch of two: the image and its mirror, so that the
per-image loop is exercised).

Tolerances, and why:

- uint8: at most 1 level, on at most 1% of the values. The kernels repeat
  torchvision's float32 operations in its order, including PyTorch's fused
  multiply-add in ``add_(alpha=)`` and the truncation after every operation, and
  hue's RGB -> HSV -> RGB in float32; on the reference machine every uint8
  case matches exactly. The slack is for a CPU where PyTorch does not fuse
  (then a value on the other side of an integer truncates one level lower).
  Hue is held to the same bound: its float32 steps are torchvision's, so it has
  no extra error of its own.
- float32: 2e-6 absolute on [0, 1] data. Contrast's mean and sharpness's 3x3
  filter are sums that PyTorch accumulates in another order (observed: at most
  1.2e-7).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fastaug.transforms._color import (
    ColorJitter,
    Grayscale,
    RandomAdjustSharpness,
    RandomAutocontrast,
    RandomEqualize,
    RandomGrayscale,
    RandomInvert,
    RandomPosterize,
    RandomSolarize,
    apply_color,
)
from fastaug.transforms._compose import Compose
from fastaug.transforms._params import BatchParams, Step

FIXTURE = Path(__file__).with_name("fixtures") / "color_refs.npz"
JITTER = ("brightness", "contrast", "saturation", "hue")


def _load() -> tuple[list[tuple[int, dict, np.ndarray]], dict[int, np.ndarray]]:
    data = np.load(FIXTURE)
    n = sum(1 for k in data.files if k.endswith("/spec"))
    cases = [(k, json.loads(str(data[f"{k}/spec"])), data[f"{k}/output"]) for k in range(n)]
    inputs = {int(k.split("/")[1]): data[k] for k in data.files if k.startswith("input/")}
    return cases, inputs


CASES, INPUTS = _load()


def _step(spec: dict, n: int) -> Step:
    op = spec["op"]
    if op == "jitter":
        values = {"order": np.tile(np.array(spec["order"], np.int64), (n, 1))}
        for name in JITTER:
            if spec.get(name) is not None:
                values[name] = np.full(n, spec[name])
        return Step("ColorJitter", "color", values, {"op": "jitter"})
    opts = {k: spec[k] for k in ("num_output_channels", "bits", "threshold", "sharpness_factor")
            if k in spec}
    return Step("tv", "color", {"apply": np.ones(n, bool)}, {"op": op, **opts})


def _compare(y: np.ndarray, ref: np.ndarray) -> None:
    assert y.shape == ref.shape and y.dtype == ref.dtype
    if y.dtype == np.uint8:
        d = np.abs(y.astype(np.int16) - ref.astype(np.int16))
        assert d.max() <= 1, f"max difference {d.max()} levels"
        assert (d > 0).mean() <= 0.01, f"{(d > 0).mean():.2%} of the values differ"
    else:
        np.testing.assert_allclose(y, ref, rtol=0, atol=2e-6)


@pytest.mark.parametrize(
    "case", CASES,
    ids=[f"{k}-{s['op']}-{INPUTS[s['input']].dtype}-{'x'.join(map(str, INPUTS[s['input']].shape))}"
         for k, s, _ in CASES])
def test_matches_torchvision(case: tuple[int, dict, np.ndarray]) -> None:
    _, spec, ref = case
    x = INPUTS[spec["input"]]
    batch = np.stack([x, x[:, ::-1]])
    params = BatchParams(np.array([x.shape[:2]] * 2, np.int64), (_step(spec, 2),), x.shape[2])
    before = batch.copy()
    out = Compose([]).apply(batch, params)
    assert np.array_equal(batch, before)  # the input is not modified
    _compare(out[0], ref)
    # The mirrored image gives the mirrored result (per-image state is per image),
    # except sharpness, contrast and the per-image statistics are mirror-invariant too.
    _compare(out[1][:, ::-1], ref)


def test_fixture_covers_every_operation() -> None:
    ops = {s["op"] for _, s, _ in CASES}
    assert ops == {"jitter", "grayscale", "invert", "autocontrast", "equalize", "posterize",
                   "solarize", "sharpness"}
    dtypes = {(str(INPUTS[s["input"]].dtype), INPUTS[s["input"]].shape[2]) for _, s, _ in CASES}
    assert dtypes == {("uint8", 1), ("uint8", 3), ("float32", 1), ("float32", 3)}


# --------------------------------------------------------------------------- draws


def _draw(t, n=4000, shape=(4, 5, 3), seed=0) -> Step:
    sizes = np.array([shape[:2]] * n, np.int64)
    (step,) = t.make_steps(sizes, np.random.default_rng(seed))
    return step


def test_jitter_factor_ranges() -> None:
    s = _draw(ColorJitter(0.4, (0.2, 0.5), 1.5, 0.1))
    v = s.values
    assert v["brightness"].min() >= 0.6 and v["brightness"].max() <= 1.4
    assert v["contrast"].min() >= 0.2 and v["contrast"].max() <= 0.5
    # 1 - 1.5 is clipped to 0, as torchvision does.
    assert v["saturation"].min() >= 0.0 and v["saturation"].max() <= 2.5
    assert v["hue"].min() >= -0.1 and v["hue"].max() <= 0.1
    # Uniform: the mean of 4000 draws is within 5 standard errors of the centre.
    for name, (lo, hi) in [("brightness", (0.6, 1.4)), ("hue", (-0.1, 0.1))]:
        se = (hi - lo) / np.sqrt(12 * 4000)
        assert abs(v[name].mean() - (lo + hi) / 2) < 5 * se


def test_jitter_none_and_identity_ranges_are_not_drawn() -> None:
    t = ColorJitter(brightness=0, contrast=(1, 1), saturation=None, hue=(0.0, 0.0))
    assert t.brightness is t.contrast is t.saturation is t.hue is None
    assert set(_draw(t, n=3).values) == {"order"}
    x = np.random.default_rng(1).integers(0, 256, (3, 4, 5, 3), dtype=np.uint8)
    assert np.array_equal(t(x, rng=0), x)


def test_jitter_order_is_a_permutation_per_image() -> None:
    order = _draw(ColorJitter(0.4, 0.4, 0.4, 0.1)).values["order"]
    assert order.shape == (4000, 4)
    assert (np.sort(order, axis=1) == np.arange(4)).all()
    # Every one of the 24 orders occurs, about equally often (expected 166.7 each).
    _, counts = np.unique(order, axis=0, return_counts=True)
    assert len(counts) == 24 and counts.min() > 100 and counts.max() < 240


def test_jitter_each_image_its_own_draw_and_order_matters() -> None:
    x = np.random.default_rng(2).integers(0, 256, (1, 9, 11, 3), dtype=np.uint8)
    batch = np.repeat(x, 2, axis=0)
    sizes = np.array([[9, 11]] * 2, np.int64)
    values = {"order": np.array([[0, 1, 2, 3], [3, 2, 1, 0]]), "brightness": np.full(2, 1.3),
              "contrast": np.full(2, 0.7), "saturation": np.full(2, 1.4), "hue": np.full(2, 0.2)}
    p = BatchParams(sizes, (Step("ColorJitter", "color", values, {"op": "jitter"}),), 3)
    out = Compose([]).apply(batch, p)
    assert not np.array_equal(out[0], out[1])
    y = ColorJitter(0.5, 0.5, 0.5, 0.2)(np.repeat(x, 8, axis=0), rng=0)
    assert len({im.tobytes() for im in y}) == 8


def test_random_apply_draws_per_image() -> None:
    apply = _draw(RandomInvert(p=0.3)).values["apply"]
    assert apply.dtype == bool and abs(apply.mean() - 0.3) < 0.03
    assert not _draw(RandomInvert(p=0.0)).values["apply"].any()
    assert _draw(RandomInvert(p=1.0)).values["apply"].all()
    x = np.random.default_rng(3).integers(0, 256, (64, 3, 3, 3), dtype=np.uint8)
    step = _draw(RandomInvert(p=0.5), n=64, shape=(3, 3, 3), seed=5)
    y = apply_color(step, x, 2)
    a = step.values["apply"]
    assert np.array_equal(y[a], 255 - x[a]) and np.array_equal(y[~a], x[~a])


def test_random_grayscale_keeps_channels() -> None:
    x = np.random.default_rng(4).integers(0, 256, (6, 5, 4, 3), dtype=np.uint8)
    y = RandomGrayscale(p=1.0)(x)
    assert y.shape == x.shape and (y == y[..., :1]).all()
    x1 = x[..., :1].copy()
    assert np.array_equal(RandomGrayscale(p=1.0)(x1), x1)


def test_grayscale_channels() -> None:
    x = np.random.default_rng(5).integers(0, 256, (2, 5, 4, 3), dtype=np.uint8)
    assert Grayscale()(x).shape == (2, 5, 4, 1)
    assert Grayscale(3)(x).shape == (2, 5, 4, 3)
    g1 = x[..., :1].copy()
    assert np.array_equal(Grayscale(3)(g1), np.repeat(g1, 3, axis=3))


def test_one_channel_saturation_and_hue_are_identities() -> None:
    x = np.random.default_rng(6).random((3, 7, 6, 1), dtype=np.float32)
    assert np.array_equal(ColorJitter(saturation=0.9, hue=0.4)(x, rng=0), x)


def test_threads_do_not_change_the_result() -> None:
    x = np.random.default_rng(7).integers(0, 256, (37, 10, 9, 3), dtype=np.uint8)
    t = ColorJitter(0.4, 0.4, 0.4, 0.1)
    a = Compose([t], num_threads=1)(x, rng=11)
    b = Compose([t], num_threads=3)(x, rng=11)
    assert np.array_equal(a, b)


def test_in_a_recipe_with_other_transforms() -> None:
    from fastaug.transforms import RandomCrop, ToDtype

    x = np.random.default_rng(8).integers(0, 256, (5, 20, 20, 3), dtype=np.uint8)
    recipe = Compose([RandomCrop(16), ColorJitter(0.4, 0.4, 0.4, 0.1), RandomInvert(),
                      ToDtype(np.float32, scale=True)], seed=0)
    y = recipe(x)
    assert y.shape == (5, 16, 16, 3) and y.dtype == np.float32


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize("kwargs, exc, name", [
    (dict(brightness=-0.1), ValueError, "brightness"),
    (dict(contrast=(0.5,)), TypeError, "contrast"),
    (dict(contrast=(1.5, 0.5)), ValueError, "contrast"),
    (dict(saturation=(-0.5, 1.0)), ValueError, "saturation"),
    (dict(saturation="a"), TypeError, "saturation"),
    (dict(brightness=True), TypeError, "brightness"),
    (dict(hue=0.6), ValueError, "hue"),
    (dict(hue=-0.1), ValueError, "hue"),
    (dict(hue=(-0.6, 0.1)), ValueError, "hue"),
    (dict(hue=(0.2, 0.1)), ValueError, "hue"),
    (dict(brightness=float("nan")), ValueError, "brightness"),
])
def test_jitter_bad_arguments(kwargs, exc, name) -> None:
    with pytest.raises(exc, match=name):
        ColorJitter(**kwargs)


@pytest.mark.parametrize("make, exc, name", [
    (lambda: Grayscale(2), ValueError, "num_output_channels"),
    (lambda: Grayscale(1.0), TypeError, "num_output_channels"),
    (lambda: RandomInvert(p=1.5), ValueError, "p"),
    (lambda: RandomPosterize(9), ValueError, "bits"),
    (lambda: RandomPosterize(2.0), TypeError, "bits"),
    (lambda: RandomSolarize("x"), TypeError, "threshold"),
    (lambda: RandomAdjustSharpness(-1.0), ValueError, "sharpness_factor"),
])
def test_other_bad_arguments(make, exc, name) -> None:
    with pytest.raises(exc, match=name):
        make()


def test_bad_images() -> None:
    x4 = np.zeros((2, 3, 3, 4), np.uint8)
    with pytest.raises(TypeError, match="1 or 3 channels"):
        ColorJitter(0.5)(x4)
    with pytest.raises(TypeError, match="1 or 3 channels"):
        Grayscale()(x4)
    with pytest.raises(ValueError, match="threshold"):
        RandomSolarize(2.0, p=1.0)(np.zeros((1, 2, 2, 3), np.float32))


def test_autocontrast_and_equalize_flat_images_unchanged() -> None:
    x = np.full((2, 4, 4, 3), 77, np.uint8)
    assert np.array_equal(RandomAutocontrast(p=1.0)(x), x)
    assert np.array_equal(RandomEqualize(p=1.0)(x), x)


def test_empty_batch() -> None:
    x = np.zeros((0, 4, 4, 3), np.uint8)
    assert ColorJitter(0.4, 0.4, 0.4, 0.1)(x).shape == (0, 4, 4, 3)
    assert RandomEqualize(p=1.0)(x).shape == (0, 4, 4, 3)


@pytest.mark.parametrize("c, dtype, data_format", [
    (3, np.uint8, "channels_first"), (3, np.uint8, "channels_last"),
    (1, np.uint8, "channels_first"), (3, np.float32, "channels_first"),
    (1, np.float32, "channels_last")])
def test_jitter_then_normalize_is_one_store(c, dtype, data_format) -> None:
    """ColorJitter followed by ToDtype/Normalize writes the normalized output itself.

    The reference is the same draw without the two element-wise steps (the
    jittered image, checked against torchvision above) normalized in float64.
    Tolerance 2e-6: the fused store computes ``v * mul + add`` in float32 with
    mul = 1 / (255 std) and add = -mean / std rounded to float32 (three
    roundings of at most 2^-24 relative on values up to about 2.7).
    """
    from fastaug.transforms import Normalize, RandomResizedCrop, ToDtype

    rng = np.random.default_rng(12)
    shape = (6, 23, 31, c)
    x = (rng.integers(0, 256, shape, dtype=np.uint8) if dtype == np.uint8
         else rng.random(shape, dtype=np.float32))
    mean, std = [0.485, 0.456, 0.406][:c], [0.229, 0.224, 0.225][:c]
    recipe = Compose([RandomResizedCrop((17, 19)), ColorJitter(0.4, 0.4, 0.4, 0.1),
                      ToDtype(np.float32, scale=True), Normalize(mean, std)],
                     data_format=data_format, seed=3)
    params = recipe.draw(x)
    got = recipe.apply(x, params)
    jittered = Compose([], seed=0).apply(
        x, BatchParams(params.input_sizes, params.steps[:-2], params.channels))
    scale = 255.0 if dtype == np.uint8 else 1.0
    want = (jittered.astype(np.float64) / scale - np.array(mean)) / np.array(std)
    if data_format == "channels_first":
        want = want.transpose(0, 3, 1, 2)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)
