"""RandomErasing, GaussianBlur, MixUp, CutMix, RandomApply, RandomChoice vs torchvision v2.

The references are torchvision's outputs checked in as
``tests/fixtures/erase_mix_refs.npz`` (written by
``tests/fixtures/make_erase_mix_refs.py`` with explicit boxes, values, noise,
sigmas, lambdas and CutMix boxes; the suite needs no PyTorch).

Tolerances, and why:

- erase, MixUp, CutMix: exact. They are assignments and one float32 multiply
  and add per value in torchvision's order; uint8 erase values follow torch's
  float -> uint8 cast (truncate toward zero, modulo 256), checked with values
  past both ends of the range.
- GaussianBlur float32: 2e-6 absolute on [0, 1] data. torchvision convolves
  with the 2-D outer-product kernel, fastaug separably: the sums are the same
  up to float32 rounding (a few ulp of values <= 1).
- GaussianBlur uint8: at most 1 level, on at most 0.5% of the values: the
  float32 result rounded half to even can land on the other side of a .5 when
  the last bits differ (observed: exact on the fixtures).
- The 1-D weights: 2 ulp relative, or 3e-8 absolute (weights sum to 1): far
  tails (``exp(-50)``) differ relatively by 1e-5, as float32 ``exp`` of a large
  argument amplifies the argument's last-bit rounding; that is nothing next to
  the central weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fastaug.transforms import Compose, RandomCrop, RandomHorizontalFlip, Resize, Step, ToDtype
from fastaug.transforms._color import ColorJitter, Grayscale, RandomInvert
from fastaug.transforms._erase_mix import (
    CutMix,
    GaussianBlur,
    MixUp,
    RandomApply,
    RandomChoice,
    RandomErasing,
    apply_erase,
    erase_boxes,
    gaussian_kernel1d,
)

REFS = np.load(Path(__file__).parent / "fixtures" / "erase_mix_refs.npz")


def _erase_step(boxes, value, apply=None, noise=None):
    n = len(boxes)
    values = {"boxes": np.asarray(boxes, np.int64),
              "apply": np.ones(n, bool) if apply is None else np.asarray(apply)}
    if noise is not None:
        values["noise"] = noise
    return Step("RandomErasing", "erase", values, {"op": "erase", "value": value})


# --------------------------------------------------------------------------- erase parity


@pytest.mark.parametrize("name", ["scalar", "channels", "big"])
@pytest.mark.parametrize("dt", ["u8", "f32"])
def test_erase_values_match_torchvision(name, dt):
    x = REFS[f"erase/{dt}"]
    before = x.copy()
    value = tuple(float(v) for v in REFS[f"erase/value_{name}"])
    out = apply_erase(_erase_step(REFS["erase/boxes"], value), x, 1)
    np.testing.assert_array_equal(out, REFS[f"erase/{name}/{dt}"])
    np.testing.assert_array_equal(x, before)  # the caller's array is not touched


@pytest.mark.parametrize("dt", ["u8", "f32"])
def test_erase_random_with_torchvision_noise(dt):
    x = REFS[f"erase/{dt}"]
    noise = np.empty(3, object)
    for k in range(3):
        noise[k] = REFS[f"erase/random/{dt}/noise{k}"]
    out = apply_erase(_erase_step(REFS["erase/boxes"], None, noise=noise), x, 2)
    np.testing.assert_array_equal(out, REFS[f"erase/random/{dt}"])


def test_erase_through_compose_apply_in_place_of_the_pass_output():
    # After a ToDtype pass the step erases the recipe's own array: same result.
    x = REFS["erase/u8"]
    recipe = Compose([ToDtype(np.float32, scale=True), RandomErasing(p=1.0, value=(0.5,))])
    params = recipe.draw(x, rng=3)
    params = type(params)(params.input_sizes,
                          (params.steps[0], _erase_step(REFS["erase/boxes"], (0.5,))), 3)
    got = recipe.apply(x, params)
    want = x.astype(np.float32) / 255
    for k, (t, le, h, w) in enumerate(REFS["erase/boxes"]):
        want[k, t:t + h, le:le + w] = 0.5
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-7)  # ToDtype's x / 255 vs x * (1/255)


def test_erase_skipped_images_are_copies():
    x = REFS["erase/f32"]
    out = apply_erase(_erase_step(REFS["erase/boxes"], (0.0,), apply=[False, True, False]), x, 1)
    np.testing.assert_array_equal(out[[0, 2]], x[[0, 2]])
    assert (out[1, 3:13, 9:17] == 0).all()


def test_erase_random_noise_is_replayable_and_normal():
    x = np.zeros((64, 32, 32, 1), np.float32)
    t = RandomErasing(p=1.0, scale=(0.3, 0.3), value="random")
    recipe = Compose([t])
    params = recipe.draw(x, rng=5)
    a, b = recipe.apply(x, params), recipe.apply(x, params)
    np.testing.assert_array_equal(a, b)
    boxes = params.steps[0].values["boxes"]
    vals = np.concatenate([a[k, r:r + h, c:c + w].ravel() for k, (r, c, h, w) in enumerate(boxes)
                           if params.steps[0].values["apply"][k]])
    # ~ 64 * 307 standard normal values: mean within 5 sigma of 0, std within 3%.
    assert abs(vals.mean()) < 5 / np.sqrt(vals.size)
    assert abs(vals.std() - 1.0) < 0.03


# --------------------------------------------------------------------------- erase draws


def _slow_erase_boxes(sizes, scale, ratio, g):
    """torchvision's loop, image by image, over the same uniforms in the same order."""
    n = len(sizes)
    us = g.uniform(scale[0], scale[1], (n, 10))
    lr = np.log(np.array(ratio, np.float32)).astype(np.float64)
    ur = g.uniform(lr[0], lr[1], (n, 10))
    pos = g.random((n, 2))
    out, found = [], []
    for k, (hh, ww) in enumerate(sizes):
        for a in range(10):
            area = hh * ww * us[k, a]
            ar = np.exp(ur[k, a])
            h = int(round(np.sqrt(area * ar)))
            w = int(round(np.sqrt(area / ar)))
            if h < hh and w < ww:
                out.append((int(pos[k, 0] * (hh - h + 1)), int(pos[k, 1] * (ww - w + 1)), h, w))
                found.append(True)
                break
        else:
            out.append((0, 0, 0, 0))
            found.append(False)
    return np.array(out), np.array(found)


def test_erase_boxes_follow_torchvision_loop():
    sizes = np.array([[32, 32], [5, 40], [224, 160], [3, 3]] * 50)
    for scale, ratio in (((0.02, 0.33), (0.3, 3.3)), ((0.5, 0.9), (0.1, 10.0))):
        got = erase_boxes(sizes, scale, ratio, np.random.default_rng(1))
        want = _slow_erase_boxes(sizes, scale, ratio, np.random.default_rng(1))
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_array_equal(got[0], want[0])


def test_erase_boxes_never_fit_gives_no_erase():
    boxes, found = erase_boxes(np.array([[8, 8]] * 20), (1.0, 1.0), (1.0, 1.0),
                               np.random.default_rng(0))
    assert not found.any()  # a box of the whole image is never strictly smaller
    x = np.ones((20, 8, 8, 1), np.uint8)
    np.testing.assert_array_equal(RandomErasing(p=1.0, scale=(1.0, 1.0), ratio=(1, 1))(x), x)


def test_erase_boxes_cover_all_positions():
    sizes = np.array([[10, 12]] * 4000)
    boxes, found = erase_boxes(sizes, (0.09, 0.09), (1.0, 1.0), np.random.default_rng(2))
    assert found.all() and (boxes[:, 2:] == 3).all()  # sqrt(0.09 * 120) = 3.29 -> 3
    assert set(boxes[:, 0]) == set(range(8)) and set(boxes[:, 1]) == set(range(10))


def test_erase_probability():
    x = np.ones((4000, 8, 8, 1), np.float32)
    y = RandomErasing(p=0.3, scale=(0.1, 0.2), ratio=(1.0, 1.0))(x, rng=0)
    frac = float((y == 0).any(axis=(1, 2, 3)).mean())
    assert abs(frac - 0.3) < 5 * np.sqrt(0.3 * 0.7 / 4000)  # 5 sigma of a binomial


# --------------------------------------------------------------------------- blur


@pytest.mark.parametrize("k", [1, 3, 5, 7, 9])
@pytest.mark.parametrize("sigma", [0.1, 0.83, 2.0])
def test_gaussian_kernel1d_matches_torchvision(k, sigma):
    want = REFS[f"blur/kernel1d/{k}/{sigma}"]
    np.testing.assert_allclose(gaussian_kernel1d(k, sigma), want, rtol=2.4e-7, atol=3e-8)


@pytest.mark.parametrize("ks", [(3, 3), (5, 3), (7, 9)])
@pytest.mark.parametrize("dt", ["u8", "f32"])
def test_blur_matches_torchvision(ks, dt):
    x = REFS[f"blur/{dt}"]
    step = Step("GaussianBlur", "erase", {"sigma": REFS["blur/sigma"], "apply": np.ones(3, bool)},
                {"op": "blur", "kernel_size": ks})
    got = apply_erase(step, x, 2)
    want = REFS[f"blur/{ks[0]}x{ks[1]}/{dt}"]
    assert got.dtype == want.dtype
    if dt == "f32":
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)
    else:
        d = np.abs(got.astype(int) - want)
        assert d.max() <= 1 and (d > 0).mean() <= 0.005


def test_blur_draws_sigma_per_image():
    t = GaussianBlur(3, sigma=(0.5, 1.5))
    s = Compose([t]).draw(np.zeros((5000, 4, 4, 1), np.uint8), rng=0).steps[0].values["sigma"]
    assert s.min() >= 0.5 and s.max() <= 1.5
    assert abs(s.mean() - 1.0) < 5 * np.sqrt(1 / 12 / 5000)  # uniform on [0.5, 1.5]
    fixed = Compose([GaussianBlur((3, 5), 0.7)]).draw(np.zeros((3, 9, 9, 1), np.uint8), rng=0)
    assert (fixed.steps[0].values["sigma"] == 0.7).all()


def test_blur_kernel_larger_than_image():
    with pytest.raises(ValueError, match="kernel_size"):
        GaussianBlur(9)(np.zeros((1, 4, 4, 1), np.float32))


# --------------------------------------------------------------------------- MixUp / CutMix


@pytest.mark.parametrize("lam", [0.0, 0.3141, 1.0])
def test_mixup_matches_torchvision(lam):
    x = REFS["mix/images"]
    m = MixUp(num_classes=4)
    imgs, lab = m.apply(x, REFS["mix/labels"], {"lam": lam})
    np.testing.assert_array_equal(imgs, REFS[f"mixup/{lam}/images"])
    np.testing.assert_array_equal(lab, REFS[f"mixup/{lam}/idx/labels"])
    _, soft = m.apply(x, REFS["mix/soft"], {"lam": lam})
    np.testing.assert_array_equal(soft, REFS[f"mixup/{lam}/soft/labels"])
    assert lab.dtype == np.float32


@pytest.mark.parametrize("k", [0, 1, 2])
def test_cutmix_matches_torchvision(k):
    box = tuple(int(v) for v in REFS[f"cutmix/{k}/box"])
    c = CutMix(num_classes=4)
    for dt, x in (("f32", REFS["mix/images"]), ("u8", REFS["mix/u8"])):
        imgs, lab = c.apply(x, REFS["mix/labels"], {"box": box})
        np.testing.assert_array_equal(imgs, REFS[f"cutmix/{k}/{dt}"])
        np.testing.assert_array_equal(lab, REFS[f"cutmix/{k}/labels"])
    # channels_first: the same box on (N, C, H, W).
    cf = CutMix(num_classes=4, data_format="channels_first")
    imgs, _ = cf.apply(REFS["mix/u8"].transpose(0, 3, 1, 2), REFS["mix/labels"], {"box": box})
    np.testing.assert_array_equal(imgs.transpose(0, 2, 3, 1), REFS[f"cutmix/{k}/u8"])


def test_mixup_lambda_is_beta():
    m = MixUp(alpha=0.4, num_classes=2, seed=0)
    lam = np.array([m.draw(None)["lam"] for _ in range(4000)])
    # Beta(0.4, 0.4): mean 1/2, variance 1 / (4 (2 alpha + 1)) = 0.1389.
    assert abs(lam.mean() - 0.5) < 5 * np.sqrt(0.1389 / 4000)
    assert abs(lam.var() - 0.1389) < 0.01


def test_cutmix_draw_box_and_lambda():
    c = CutMix(num_classes=3, seed=1)
    x = np.zeros((2, 20, 30, 3), np.float32)
    for _ in range(200):
        p = c.draw(x)
        x1, y1, x2, y2 = p["box"]
        assert 0 <= x1 <= x2 <= 30 and 0 <= y1 <= y2 <= 20
        r = 0.5 * np.sqrt(1 - p["lam"])
        assert x2 - x1 <= 2 * int(r * 30) and y2 - y1 <= 2 * int(r * 20)
    imgs, lab = c(x, np.array([0, 2]), rng=4)
    box = c.draw(x, rng=4)["box"]
    lam_adj = 1 - (box[2] - box[0]) * (box[3] - box[1]) / 600
    np.testing.assert_allclose(lab[0], [lam_adj, 0, 1 - lam_adj], rtol=1e-6)


def test_mix_calls_do_not_modify_inputs():
    x = REFS["mix/images"].copy()
    lab = REFS["mix/labels"].copy()
    MixUp(num_classes=4)(x, lab, rng=0)
    CutMix(num_classes=4)(x, lab, rng=0)
    np.testing.assert_array_equal(x, REFS["mix/images"])
    np.testing.assert_array_equal(lab, REFS["mix/labels"])


# --------------------------------------------------------------------------- RandomApply / Choice


def test_random_apply_per_image():
    x = np.arange(3, dtype=np.uint8).reshape(1, 1, 3, 1).repeat(4000, 0)
    y = RandomApply([RandomHorizontalFlip(1.0), RandomInvert(1.0)], p=0.3)(x, rng=0)
    applied = y[:, 0, 0, 0] == 253  # flipped (2) then inverted
    untouched = (y == x).all(axis=(1, 2, 3))
    assert (applied | untouched).all()
    assert abs(applied.mean() - 0.3) < 5 * np.sqrt(0.21 / 4000)


def test_random_apply_crops_and_jitter_identity_for_unchosen():
    g = np.random.default_rng(0)
    x = g.integers(0, 256, (50, 12, 12, 3), dtype=np.uint8)
    recipe = Compose([RandomApply([ColorJitter(0.5, 0.5, 0.5, 0.2), RandomCrop(8)], p=0.5),
                      Resize((12, 12))])
    params = recipe.draw(x, rng=1)
    boxes = params.steps[1].values["boxes"]
    unchosen = (boxes[:, 2] == 12)
    assert 5 < unchosen.sum() < 45
    y = recipe.apply(x, params)
    # An unchosen image: the whole-image box, no colour, a resize to its own size.
    np.testing.assert_array_equal(y[unchosen], x[unchosen])
    assert not (y[~unchosen] == x[~unchosen]).all(axis=(1, 2, 3)).any()


def test_random_choice_per_image_and_probabilities():
    x = np.arange(4, dtype=np.uint8).reshape(1, 2, 2, 1).repeat(6000, 0)
    t = RandomChoice([RandomHorizontalFlip(1.0), Compose([]), GaussianBlur(1, 1.0)],
                     p=[3, 1, 0])
    y = t(x, rng=0)
    flipped = y[:, 0, 0, 0] == 1
    same = (y == x).all(axis=(1, 2, 3))
    assert (flipped ^ same).all()
    assert abs(flipped.mean() - 0.75) < 5 * np.sqrt(0.75 * 0.25 / 6000)
    assert t.p == [0.75, 0.25, 0.0]


def test_random_choice_without_identity_picks_once_per_batch():
    x = np.full((50, 2, 2, 3), 100, np.uint8)
    t = RandomChoice([ToDtype(np.float32, scale=True), Grayscale(1)])
    for seed in range(6):
        y = t(x, rng=seed)
        assert y.dtype == np.float32 or y.shape[3] == 1  # one pick for the whole batch


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize("kwargs, exc, word", [
    ({"p": 1.5}, ValueError, "p"),
    ({"scale": (0.5, 0.1)}, ValueError, "scale"),
    ({"scale": (0.1, 1.5)}, ValueError, "scale"),
    ({"scale": 0.3}, TypeError, "scale"),
    ({"ratio": (0.0, 1.0)}, ValueError, "ratio"),
    ({"value": "noise"}, ValueError, "value"),
    ({"value": None}, TypeError, "value"),
    ({"inplace": 1}, TypeError, "inplace"),
])
def test_random_erasing_bad_arguments(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        RandomErasing(**kwargs)


def test_random_erasing_value_channels():
    with pytest.raises(ValueError, match="value has 2 values"):
        RandomErasing(p=1.0, value=(1, 2))(np.zeros((1, 8, 8, 3), np.float32))


@pytest.mark.parametrize("args, exc, word", [
    ((4,), ValueError, "kernel_size"),
    ((0,), ValueError, "kernel_size"),
    (("3",), TypeError, "kernel_size"),
    ((3, 0.0), ValueError, "sigma"),
    ((3, (2.0, 1.0)), ValueError, "sigma"),
    ((3, "a"), TypeError, "sigma"),
])
def test_gaussian_blur_bad_arguments(args, exc, word):
    with pytest.raises(exc, match=word):
        GaussianBlur(*args)


def test_mix_bad_arguments():
    with pytest.raises(ValueError, match="alpha"):
        MixUp(alpha=0.0, num_classes=2)
    with pytest.raises(ValueError, match="num_classes"):
        CutMix(num_classes=0)
    x = np.zeros((2, 4, 4, 3), np.float32)
    with pytest.raises(ValueError, match="num_classes must be given"):
        MixUp()(x, np.array([0, 1]))
    with pytest.raises(ValueError, match="labels must be in"):
        MixUp(num_classes=2)(x, np.array([0, 2]))
    with pytest.raises(ValueError, match="batch sizes"):
        MixUp(num_classes=2)(x, np.array([0, 1, 1]))
    with pytest.raises(TypeError, match="float"):
        MixUp(num_classes=2)(x.astype(np.uint8), np.array([0, 1]))
    with pytest.raises(ValueError, match="images must be a batched"):
        CutMix(num_classes=2)(x[0], np.array([0, 1]))
    with pytest.raises(ValueError, match="data_format"):
        CutMix(num_classes=2, data_format="nchw")


def test_choice_bad_arguments():
    with pytest.raises(ValueError, match="transforms"):
        RandomApply([])
    with pytest.raises(TypeError, match="transforms"):
        RandomApply(RandomHorizontalFlip())
    with pytest.raises(TypeError, match=r"transforms\[0\]"):
        RandomChoice([lambda x: x])
    with pytest.raises(ValueError, match="p has 1 values"):
        RandomChoice([RandomHorizontalFlip(), RandomHorizontalFlip()], p=[1.0])
    with pytest.raises(ValueError, match="p"):
        RandomApply([RandomHorizontalFlip()], p=-0.1)
