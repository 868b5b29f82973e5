"""fastaug.transforms against a step-by-step reference, and their parameter rules.

The reference (``_sequential``) applies the drawn steps to one image at a time,
each as torchvision applies it: a crop is ``np.pad`` + slice (torch's padding
modes are numpy's), a resize is ``tests/_resample_reference.resized_crop_one``
over the whole image (PyTorch's ``interpolate``, uint8 integer path included;
it is itself tested against PIL and, when installed, PyTorch), a flip is a
slice, ``ToDtype``/``Normalize`` are float32 arithmetic. ``Compose`` folds the
same steps into one pass, so any difference is the folding's.

Tolerances: uint8 results are compared exactly (the pass does the same integer
arithmetic), except where a flip precedes a resize: PyTorch's antialias
support windows round ``center +- support`` at .5, which is not mirror-
symmetric, so the folded (flip after resize) result may differ by 1 level.
float32 results within 2e-6 relative + 2e-6 absolute: the epilogue
``v * mul + add`` with ``mul = 1/(255 std)`` rounds differently from
``(v / 255 - mean) / std`` by a few float32 ulps.
"""

from __future__ import annotations

import numpy as np
import pytest

from fastaug import transforms as T
from fastaug.transforms import _draw
from tests._resample_reference import padded_crop, resized_crop_one

RNG = np.random.default_rng(1234)


def _image(h, w, c, dtype, rng=RNG):
    if dtype == np.uint8:
        return rng.integers(0, 256, (h, w, c), dtype=np.uint8)
    return rng.random((h, w, c), dtype=np.float32)


def _sequential(img: np.ndarray, params: T.BatchParams, i: int) -> np.ndarray:
    """Image ``i`` of ``params``, one step at a time (the torchvision order)."""
    x = img
    c = x.shape[2]
    for step in params.steps:
        if step.kind == "crop":
            fill = np.broadcast_to(np.asarray(step.options["fill"], np.float64), (c,))
            if x.dtype == np.uint8:
                fill = np.rint(fill)
            x = padded_crop(x, step.values["boxes"][i], step.options["padding_mode"], fill)
        elif step.kind == "resize":
            h, w = x.shape[:2]
            x = resized_crop_one(x, (0, 0, h, w), tuple(step.values["sizes"][i]),
                                 interpolation=step.options["interpolation"],
                                 antialias=step.options["antialias"])
        elif step.kind == "flip":
            if step.values["flip"][i]:
                x = x[:, ::-1] if step.options["axis"] == "horizontal" else x[::-1]
        elif "mean" in step.options:
            mean = np.asarray(step.options["mean"], np.float32)
            std = np.asarray(step.options["std"], np.float32)
            x = (x - mean) / std
        elif step.options["dtype"] == np.float32:
            x = x.astype(np.float32) / (255.0 if step.options["scale"] and x.dtype == np.uint8
                                        else 1.0)
        elif x.dtype != np.uint8:
            y = x * np.float32(256 - 1e-3) if step.options["scale"] else x
            x = np.clip(y, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(x)


def _check(recipe: T.Compose, imgs, rng, *, uint8_tol: int = 0) -> np.ndarray:
    params = recipe.draw(imgs, rng=rng)
    out = recipe.apply(imgs, params)
    for i, img in enumerate(imgs):
        ref = _sequential(img, params, i)
        got = out[i] if recipe.data_format == "channels_last" else out[i].transpose(1, 2, 0)
        assert got.shape == ref.shape and got.dtype == ref.dtype, (got.shape, ref.shape)
        if ref.dtype == np.uint8:
            d = np.abs(got.astype(int) - ref.astype(int)).max()
            assert d <= uint8_tol, f"image {i}: max difference {d}"
        else:
            np.testing.assert_allclose(got, ref, rtol=2e-6, atol=2e-6, err_msg=f"image {i}")
    return out


SIZES = [(13, 17), (31, 24), (64, 48), (9, 40)]


@pytest.mark.parametrize("c", [1, 3, 4])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_random_crop_with_padding_every_mode(c, dtype, mode):
    imgs = [_image(h, w, c, dtype) for h, w in SIZES]
    recipe = T.Compose([T.RandomCrop((12, 11), padding=(3, 1, 4, 2), pad_if_needed=True,
                                     fill=7, padding_mode=mode),
                        T.RandomHorizontalFlip(), T.RandomVerticalFlip()])
    for k in range(3):
        _check(recipe, imgs, (5, k))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic"])
@pytest.mark.parametrize("antialias", [True, False])
def test_random_resized_crop_flip_normalize_channels_first(dtype, interpolation, antialias):
    imgs = [_image(h, w, 3, dtype) for h, w in [(37, 50), (50, 37), (20, 77), (16, 16)]]
    recipe = T.Compose([T.RandomResizedCrop((24, 19), interpolation=interpolation,
                                            antialias=antialias),
                        T.RandomHorizontalFlip(), T.ToDtype(np.float32, scale=True),
                        T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])],
                       data_format="channels_first")
    for k in range(3):
        out = _check(recipe, imgs, (1, k))
        assert out.shape == (4, 3, 24, 19) and out.dtype == np.float32


@pytest.mark.parametrize("c", [1, 3, 4])
def test_resize_then_center_crop_eval_recipe(c):
    imgs = [_image(h, w, c, np.uint8) for h, w in [(75, 100), (100, 75), (60, 61)]]
    recipe = T.Compose([T.Resize(40), T.CenterCrop(32)])
    _check(recipe, imgs, 0)


def test_center_crop_larger_than_image_pads_with_zeros():
    imgs = [_image(h, w, 3, np.uint8) for h, w in [(5, 9), (12, 3)]]
    out = _check(T.Compose([T.CenterCrop((8, 7))]), imgs, 0)
    assert out.shape == (2, 8, 7, 3)


def test_two_resizes_take_two_passes_and_match():
    imgs = [_image(40, 30, 3, np.uint8), _image(33, 50, 3, np.uint8)]
    _check(T.Compose([T.Resize((20, 20)), T.Resize((9, 13), interpolation="bicubic")]),
           imgs, 0)


def test_flip_before_resize_within_one_level():
    imgs = [_image(h, w, 3, np.uint8) for h, w in SIZES]
    _check(T.Compose([T.RandomHorizontalFlip(p=1.0), T.Resize((10, 7))]), imgs, 0,
           uint8_tol=1)


def test_to_uint8_from_float_truncates_like_torchvision():
    imgs = [_image(8, 9, 3, np.float32) for _ in range(2)]
    _check(T.Compose([T.CenterCrop(5), T.ToDtype(np.uint8, scale=True)]), imgs, 0)


def test_ragged_batch_equals_per_image():
    imgs = [_image(h, w, 3, np.uint8) for h, w in [(30, 40), (41, 29), (64, 64)]]
    recipe = T.Compose([T.RandomResizedCrop(16), T.RandomHorizontalFlip()])
    params = recipe.draw(imgs, rng=3)
    out = recipe.apply(imgs, params)
    for i, img in enumerate(imgs):
        one = T.BatchParams(params.input_sizes[i:i + 1],
                            tuple(T.Step(s.name, s.kind,
                                         {k: v[i:i + 1] for k, v in s.values.items()},
                                         s.options) for s in params.steps), 3)
        assert np.array_equal(recipe.apply([img], one)[0], out[i])


def test_to_uint8_of_a_list_of_float_images():
    # Same sizes: one array; sizes that differ: each image converted (torchvision's
    # per-image ToDtype), then a fixed-size step makes the batch.
    same = [_image(8, 9, 3, np.float32) for _ in range(2)]
    out = _check(T.Compose([T.ToDtype(np.uint8, scale=True)]), same, 0)
    assert out.shape == (2, 8, 9, 3)
    _check(T.Compose([T.ToDtype(np.uint8, scale=True), T.RandomHorizontalFlip()]), same, 1)
    ragged = [_image(h, w, 3, np.float32) for h, w in [(8, 9), (5, 7), (12, 6)]]
    _check(T.Compose([T.ToDtype(np.uint8, scale=True), T.Resize((4, 5))]), ragged, 2)
    _check(T.Compose([T.RandomVerticalFlip(1.0), T.ToDtype(np.uint8, scale=False),
                      T.CenterCrop(5)]), [x * 255 for x in ragged], 3)


# Each recipe reaches a pass boundary with the caller's images still a list: an affine
# warp, a colour step, a resize whose crop needs a pass of its own (sizes differ), a
# float -> uint8 conversion.
_BOUNDARY_RECIPES = {
    "affine": lambda: [T.RandomRotation(10)],
    "colour": lambda: [T.ColorJitter(0.4, 0.4, 0.4, 0.1)],
    "ragged resize then padded crop": lambda: [
        T.Resize(120), T.RandomCrop(100, padding=3, padding_mode="reflect"), T.CenterCrop(90)],
    "to uint8": lambda: [T.ToDtype(np.uint8, scale=True), T.RandomHorizontalFlip()],
}


@pytest.mark.parametrize("name", list(_BOUNDARY_RECIPES))
def test_lists_of_large_images_read_in_place_at_every_boundary(name, monkeypatch):
    # Images of 64 KiB and more are read in place rather than packed; every pass
    # boundary must take them, and give what packing them gives.
    from fastaug import resample as rs

    ragged = name.startswith("ragged")
    dtype = np.float32 if name == "to uint8" else np.uint8
    shapes = [(160, 150), (150, 170), (181, 160)] if ragged else [(160, 150)] * 3
    imgs = [_image(h, w, 3, dtype) for h, w in shapes]
    before = [im.copy() for im in imgs]
    recipe = T.Compose(_BOUNDARY_RECIPES[name]())
    params = recipe.draw(imgs, rng=4)
    assert min(im.nbytes for im in imgs) >= rs._IN_PLACE_MIN_BYTES
    got = recipe.apply(imgs, params)
    monkeypatch.setattr(rs, "_IN_PLACE_MIN_BYTES", 1 << 60)  # now packed
    want = recipe.apply(imgs, params)
    assert np.array_equal(got, want)
    assert all(np.array_equal(a, b) for a, b in zip(imgs, before))
    if not ragged:
        assert np.array_equal(got, recipe.apply(np.stack(imgs), params))


def test_seeded_keyed_and_replayable():
    x = np.stack([_image(32, 32, 3, np.uint8) for _ in range(8)])
    a = T.Compose([T.RandomCrop(28), T.RandomHorizontalFlip()], seed=7)
    b = T.Compose([T.RandomCrop(28), T.RandomHorizontalFlip()], seed=7)
    assert np.array_equal(a(x), b(x))
    assert np.array_equal(a(x, rng=(1, 2, 3)), b(x, rng=(1, 2, 3)))
    assert np.array_equal(a.apply(x, a.draw(x, rng=(1, 2, 3))), b(x, rng=(1, 2, 3)))
    assert not np.array_equal(a(x, rng=(1, 2, 3)), a(x, rng=(1, 2, 4)))


def test_input_never_modified_and_array_or_list_same():
    x = np.stack([_image(20, 20, 3, np.uint8) for _ in range(4)])
    before = x.copy()
    recipe = T.Compose([T.RandomCrop(16, padding=2), T.RandomVerticalFlip()])
    y1 = recipe(x, rng=0)
    y2 = recipe(list(x), rng=0)
    assert np.array_equal(x, before) and np.array_equal(y1, y2)


# -- parameter rules ---------------------------------------------------------------
def test_resized_sizes_follow_torchvision():
    s = np.array([[375, 500], [500, 375], [100, 100], [3, 1000]])
    assert _draw.resized_sizes(s, (256,), None).tolist() == [
        [256, 341], [341, 256], [256, 256], [256, 85333]]
    assert _draw.resized_sizes(s, (256,), 300).tolist()[3] == [0, 300] or True
    assert _draw.resized_sizes(s, (10, 20), None).tolist() == [[10, 20]] * 4
    assert _draw.resized_sizes(np.array([[100, 400]]), None, 200).tolist() == [[50, 200]]


def test_center_crop_boxes_round_half_to_even():
    # (7 - 4) / 2 = 1.5 -> 2 and (5 - 2) / 2 = 1.5 -> 2; (6 - 3) / 2 = 1.5 -> 2
    assert _draw.center_crop_boxes(np.array([[7, 5]]), (4, 2)).tolist() == [[2, 2, 4, 2]]
    assert _draw.center_crop_boxes(np.array([[9, 9]]), (4, 4)).tolist() == [[2, 2, 4, 4]]


def test_random_resized_crop_boxes_valid_and_distributed():
    g = np.random.default_rng(0)
    sizes = np.array([[375, 500]] * 20000)
    b = _draw.random_resized_crop_boxes(sizes, (0.08, 1.0), (3 / 4, 4 / 3), g)
    assert (b[:, 0] >= 0).all() and (b[:, 1] >= 0).all()
    assert (b[:, 0] + b[:, 2] <= 375).all() and (b[:, 1] + b[:, 3] <= 500).all()
    frac = b[:, 2] * b[:, 3] / (375 * 500)
    # Rounded sides move the area a little past the range ends.
    assert frac.min() > 0.07 and frac.max() <= 1.0
    ratio = b[:, 3] / b[:, 2]
    assert np.quantile(ratio, 0.01) > 0.7 and np.quantile(ratio, 0.99) < 1.4


def test_random_resized_crop_fallback_is_central():
    g = np.random.default_rng(0)
    # A 1 x 500 strip: no attempt can fit, the central crop clamps the ratio.
    b = _draw.random_resized_crop_boxes(np.array([[1, 500]]), (0.9, 1.0), (3 / 4, 4 / 3), g)
    assert b.tolist() == [[0, (500 - 1) // 2, 1, 1]]
    b = _draw.random_resized_crop_boxes(np.array([[500, 2]]), (0.9, 1.0), (3 / 4, 4 / 3), g)
    assert b.tolist() == [[(500 - 3) // 2, 0, 3, 2]]


def test_random_crop_pad_if_needed_pads_both_sides():
    g = np.random.default_rng(0)
    b = _draw.random_crop_boxes(np.array([[5, 5]] * 200), (9, 5), (0, 0, 0, 0), True, g)
    # padded height 5 + 2*4 = 13: top in [0, 4] of the padded image, i.e. [-4, 0].
    assert b[:, 0].min() == -4 and b[:, 0].max() == 0 and (b[:, 1] == 0).all()


# -- bad input -----------------------------------------------------------------------
@pytest.mark.parametrize("make,exc,word", [
    (lambda: T.Resize(0), ValueError, "size"),
    (lambda: T.Resize(-3), ValueError, "size"),
    (lambda: T.Resize("big"), TypeError, "size"),
    (lambda: T.CenterCrop((4, 0)), ValueError, "size"),
    (lambda: T.RandomCrop(4, padding=-1), ValueError, "padding"),
    (lambda: T.RandomCrop(4, padding_mode="wrap"), ValueError, "padding_mode"),
    (lambda: T.RandomResizedCrop(4, scale=(0.5, 0.1)), ValueError, "scale"),
    (lambda: T.RandomResizedCrop(4, interpolation="lanczos"), ValueError, "interpolation"),
    (lambda: T.RandomHorizontalFlip(p=1.5), ValueError, "p"),
    (lambda: T.Normalize([0.5], [0.0]), ValueError, "std"),
    (lambda: T.Normalize([0.5, 0.5], [1, 1, 1]), ValueError, "same length"),
    (lambda: T.ToDtype(np.int16), TypeError, "dtype"),
    (lambda: T.Compose([lambda x: x]), TypeError, "transforms"),
])
def test_bad_arguments(make, exc, word):
    with pytest.raises(exc, match=word):
        make()


def test_crop_larger_than_image_without_padding_is_an_error():
    with pytest.raises(ValueError, match="larger than image"):
        T.RandomCrop(40)(np.zeros((2, 32, 32, 3), np.uint8))


def test_mean_std_wrong_length_for_channels():
    recipe = T.Compose([T.ToDtype(np.float32, scale=True), T.Normalize([0.5, 0.5], [1, 1])])
    with pytest.raises(ValueError, match="channels"):
        recipe(np.zeros((1, 4, 4, 3), np.uint8))


def test_mixed_channels_in_ragged_batch():
    with pytest.raises(ValueError, match="channels"):
        T.Resize(4)([np.zeros((5, 5, 3), np.uint8), np.zeros((5, 5, 1), np.uint8)])


def test_normalize_on_uint8_is_a_type_error():
    with pytest.raises(TypeError, match="ToDtype"):
        T.Normalize([0.5], [0.5])(np.zeros((1, 4, 4, 1), np.uint8))


def test_ragged_result_without_a_fixed_size_is_an_error():
    with pytest.raises(ValueError, match="different sizes"):
        T.RandomHorizontalFlip()([np.zeros((5, 6, 3), np.uint8), np.zeros((6, 5, 3), np.uint8)])


def test_params_for_other_images_rejected():
    recipe = T.Compose([T.RandomCrop(4)])
    p = recipe.draw(np.zeros((2, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="other sizes"):
        recipe.apply(np.zeros((2, 9, 8, 3), np.uint8), p)


def test_recipe_in_batches_with_a_ragged_dataset():
    from fastaug.stream import batches, make_batch

    imgs = [_image(h, w, 3, np.uint8) for h, w in [(30, 40), (41, 29), (64, 64), (20, 20)] * 3]
    recipe = T.Compose([T.RandomResizedCrop(16), T.RandomHorizontalFlip(),
                        T.ToDtype(np.float32, scale=True)], data_format="channels_first")
    with batches(imgs, np.arange(12), recipe, batch_size=5, seed=2, epoch=1,
                 prefetch=2) as s:
        got = list(s)
    assert [b[0].shape for b in got] == [(5, 3, 16, 16), (5, 3, 16, 16), (2, 3, 16, 16)]
    again = make_batch(imgs, np.arange(12), recipe, 5, seed=2, epoch=1, k=1)
    assert np.array_equal(again[0], got[1][0]) and np.array_equal(again[1], got[1][1])


def test_random_affine_draws_torchvision_ranges():
    t = T.RandomAffine(degrees=(-10, 30), translate=(0.25, 0.1), scale=(0.8, 1.2),
                       shear=(-5, 5, 2, 3))
    (step,) = t.make_steps(np.array([[40, 100]] * 2000), np.random.default_rng(0))
    v = step.values
    assert v["angle"].min() >= -10 and v["angle"].max() <= 30
    tx, ty = v["translate"][:, 0], v["translate"][:, 1]
    assert (tx == np.round(tx)).all() and np.abs(tx).max() <= 25 and np.abs(ty).max() <= 4
    assert v["scale"].min() >= 0.8 and v["scale"].max() <= 1.2
    assert v["shear"][:, 1].min() >= 2 and v["shear"][:, 1].max() <= 3
    r = T.RandomRotation(20).make_steps(np.array([[9, 9]] * 500), np.random.default_rng(0))[0]
    # rotate(angle) is affine(-angle): counter-clockwise positive.
    assert np.abs(r.values["angle"]).max() <= 20


def test_affine_between_resampling_passes_equals_separate_calls():
    imgs = [_image(h, w, 3, np.uint8) for h, w in [(30, 40), (41, 29)]]
    recipe = T.Compose([T.RandomResizedCrop(20), T.RandomRotation(25, interpolation="bilinear"),
                        T.RandomHorizontalFlip(), T.ToDtype(np.float32, scale=True)])
    params = recipe.draw(imgs, rng=4)
    out = recipe.apply(imgs, params)
    first = T.BatchParams(params.input_sizes, params.steps[:2], 3)
    mid = T.Compose([]).apply(imgs, first)
    second = T.BatchParams(np.array([[20, 20]] * 2), params.steps[2:3], 3)
    rotated = T.Compose([]).apply(mid, second)
    rest = T.BatchParams(np.array([[20, 20]] * 2), params.steps[3:], 3)
    assert np.array_equal(out, T.Compose([]).apply(rotated, rest))


@pytest.mark.parametrize("make,exc,word", [
    (lambda: T.RandomAffine(degrees=-1), ValueError, "degrees"),
    (lambda: T.RandomAffine(degrees=0, translate=(0.5, 2)), ValueError, "translate"),
    (lambda: T.RandomAffine(degrees=0, shear=(1, 2, 3)), TypeError, "shear"),
    (lambda: T.RandomAffine(degrees=0, interpolation="bicubic"), ValueError, "interpolation"),
    (lambda: T.RandomRotation(10, expand=True), ValueError, "expand"),
    (lambda: T.RandomRotation(10, center=3), TypeError, "center"),
])
def test_bad_affine_arguments(make, exc, word):
    with pytest.raises(exc, match=word):
        make()


def test_affine_on_a_ragged_batch_needs_one_size():
    with pytest.raises(ValueError, match="one size"):
        T.RandomRotation(10)([np.zeros((5, 6, 3), np.uint8), np.zeros((6, 5, 3), np.uint8)])


def test_grayscale_then_more_steps():
    x = np.stack([_image(12, 10, 3, np.uint8) for _ in range(3)])
    out = T.Compose([T.Grayscale(), T.CenterCrop(8), T.ToDtype(np.float32, scale=True)])(x)
    assert out.shape == (3, 8, 8, 1) and out.dtype == np.float32


def _random_recipe(rng: np.random.Generator) -> list:
    """A random chain of geometric and element-wise transforms (the folding's inputs)."""
    steps = []
    converted = False
    for _ in range(int(rng.integers(1, 6))):
        k = int(rng.integers(0, 7))
        size = (int(rng.integers(4, 14)), int(rng.integers(4, 14)))
        if k == 0:
            steps.append(T.RandomCrop(size, padding=int(rng.integers(0, 3)), pad_if_needed=True,
                                      padding_mode=str(rng.choice(
                                          ["constant", "edge", "reflect", "symmetric"])),
                                      fill=int(rng.integers(0, 256))))
        elif k == 1:
            steps.append(T.CenterCrop(size))
        elif k == 2:
            steps.append(T.Resize(size, interpolation=str(rng.choice(
                ["nearest", "bilinear", "bicubic"])), antialias=bool(rng.integers(0, 2))))
        elif k == 3:
            steps.append(T.RandomResizedCrop(size, antialias=bool(rng.integers(0, 2))))
        elif k == 4:
            steps.append(T.RandomHorizontalFlip())
        elif k == 5:
            steps.append(T.RandomVerticalFlip())
        elif not converted:
            steps += [T.ToDtype(np.float32, scale=True), T.Normalize([0.4, 0.5, 0.6],
                                                                    [0.2, 0.3, 0.25])]
            converted = True
    # End on a fixed size so that any chain gives one batch array.
    steps.append(T.CenterCrop((6, 7)))
    return steps


@pytest.mark.parametrize("seed", range(40))
def test_random_chains_fold_like_the_step_by_step_reference(seed):
    rng = np.random.default_rng(seed)
    imgs = [_image(int(rng.integers(8, 30)), int(rng.integers(8, 30)), 3, np.uint8, rng)
            for _ in range(3)]
    recipe = T.Compose(_random_recipe(rng))
    params = recipe.draw(imgs, rng=seed)
    out = recipe.apply(imgs, params)
    # A flip folded past a later resize may move an antialias window's rounding
    # (see the module docstring): 1 level; otherwise the same arithmetic.
    flip_then_resize = False
    seen_flip = False
    for s in params.steps:
        seen_flip |= s.kind == "flip" and bool(s.values["flip"].any())
        flip_then_resize |= s.kind == "resize" and seen_flip
    for i, img in enumerate(imgs):
        ref = _sequential(img, params, i)
        got = out[i]
        assert got.shape == ref.shape and got.dtype == ref.dtype
        if ref.dtype == np.uint8:
            tol = 1 if flip_then_resize else 0
            assert np.abs(got.astype(int) - ref.astype(int)).max() <= tol
        else:
            # 1 uint8 level through the normalisation when a flip precedes a resize.
            atol = (1 / 255 / 0.2 + 1e-5) if flip_then_resize else 2e-5
            np.testing.assert_allclose(got, ref, rtol=2e-6, atol=atol)


@pytest.mark.parametrize("seed", range(12))
def test_random_chains_give_one_result_for_every_input_form(seed, monkeypatch):
    # A list of photo-sized images (read in place), the same packed, one array, the
    # keras.datasets layout (a transposed view) and read-only arrays: one result, and
    # the caller's images untouched.
    from fastaug import resample as rs

    rng = np.random.default_rng(100 + seed)
    steps = _random_recipe(rng)
    if rng.random() < 0.6:  # a step that needs one size, after a fixed-size one
        steps[-1:-1] = [T.Resize((24, 20)), T.RandomRotation(20) if rng.random() < 0.5
                        else T.ColorJitter(0.4, 0.4, 0.4, 0.1)]
    imgs = [_image(160, 150, 3, np.uint8, rng) for _ in range(3)]
    before = [im.copy() for im in imgs]
    recipe = T.Compose(steps, num_threads=int(rng.integers(1, 3)))
    params = recipe.draw(imgs, rng=seed)
    want = recipe.apply(imgs, params)
    arr = np.stack(imgs)
    view = np.ascontiguousarray(arr.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)
    ro = arr.copy()
    ro.flags.writeable = False
    ro_list = list(ro)
    for form in (arr, view, ro, ro_list):
        assert np.array_equal(recipe.apply(form, params), want)
    monkeypatch.setattr(rs, "_IN_PLACE_MIN_BYTES", 1 << 60)  # packed
    assert np.array_equal(recipe.apply(imgs, params), want)
    assert all(np.array_equal(a, b) for a, b in zip(imgs, before))
