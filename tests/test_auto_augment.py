"""fastaug's auto-augment policies against torchvision.transforms.v2.

References are torchvision's own, checked in (written by
``tests/fixtures/make_auto_refs.py``; the suite needs no PyTorch):

- ``auto_refs.json``: the operation order, signed flags, magnitude tables (for
  2, 5, 10, 31 and 50 bins and several image sizes), constructor defaults and
  AutoAugment policies, read from torchvision's classes;
- ``auto_refs.npz``: the output of torchvision's
  ``_apply_image_or_video_transform`` for every operation at fixed signed
  magnitudes (taken from torchvision's tables), nearest and bilinear, with
  ``fill=None`` and a per-channel fill, on 3- and 1-channel uint8 and 3-channel
  float32 images.

Each reference case is one image of a batch whose other images run other
cases, so the grouping by operation and the write-back are exercised.

Tolerances, and why:

- uint8 nearest warps and colour operations: at most 1 level on at most 1% of
  the values. On the reference machine they are exact; the colour kernels
  repeat torchvision's float32 operations (see tests/test_color.py: the slack
  is for a CPU where PyTorch does not fuse multiply-adds).
- uint8 bilinear warps: at most 1 level on at most 2% of the values. PyTorch
  computes the sampling grid in float32, the fused kernel in float64, so a
  value within float32 rounding of ``k + 0.5`` rounds the other way (observed:
  at most 15 of 2232 values).
- float32: 1e-5 absolute on [0, 1] data (grid coordinates in float32 give
  bilinear weights that differ by float32 rounding; observed at most 1.4e-6).
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest

from fastaug.transforms._auto import (
    OPS,
    POLICIES,
    SPACES,
    AutoAugment,
    RandAugment,
    TrivialAugmentWide,
    apply_auto,
    auto_step,
    magnitude_table,
)
from fastaug.transforms._compose import Compose
from fastaug.transforms._transforms import Normalize, RandomCrop, ToDtype

FIXTURES = Path(__file__).with_name("fixtures")
META = json.loads((FIXTURES / "auto_refs.json").read_text())
DATA = np.load(FIXTURES / "auto_refs.npz")
CLASSES = {"TrivialAugmentWide": TrivialAugmentWide, "RandAugment": RandAugment,
           "AutoAugment": AutoAugment}
GEOMETRIC = ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate")


def _groups() -> dict[tuple, list[int]]:
    """Cases by (input, interpolation, fill): the options of one step."""
    out: dict[tuple, list[int]] = {}
    for k, c in enumerate(META["cases"]):
        fill = None if c["fill"] is None else tuple(c["fill"])
        out.setdefault((c["input"], c["interpolation"], fill), []).append(k)
    return out


GROUPS = _groups()


def _check(out: np.ndarray, ref: np.ndarray, bilinear: bool, what: str) -> None:
    assert out.shape == ref.shape and out.dtype == ref.dtype, what
    if out.dtype == np.float32:
        np.testing.assert_allclose(out, ref, rtol=0, atol=1e-5, err_msg=what)
        return
    diff = np.abs(out.astype(np.int16) - ref.astype(np.int16))
    share = 0.02 if bilinear else 0.01
    assert diff.max() <= 1, f"{what}: off by {diff.max()}"
    assert (diff > 0).mean() <= share, f"{what}: {(diff > 0).sum()} values off by one"


@pytest.mark.parametrize("key", list(GROUPS), ids=[f"in{k[0]}-{k[1]}-{k[2]}" for k in GROUPS])
def test_ops_match_torchvision(key: tuple) -> None:
    j, interp, fill = key
    ks = GROUPS[key]
    x = DATA[f"input/{j}"]
    cases = [META["cases"][k] for k in ks]
    # One image per case, in a shuffled order, each with its own operation.
    perm = np.random.default_rng(j).permutation(len(ks))
    batch = np.repeat(x[None], len(ks), axis=0)
    before = batch.copy()
    step = auto_step("test", [cases[i]["op"] for i in perm],
                     [cases[i]["magnitude"] for i in perm], interp,
                     None if fill is None else tuple(float(v) for v in fill))
    out = apply_auto(step, batch, 1)
    assert np.array_equal(batch, before)  # the caller's array is not modified
    for pos, i in enumerate(perm):
        c = cases[i]
        _check(out[pos], DATA[f"{ks[i]}/output"], interp == "bilinear",
               f"case {ks[i]}: {c}")


def test_every_op_has_reference_cases() -> None:
    ops = {c["op"] for c in META["cases"]}
    assert ops == set(OPS)
    for j in range(3):
        assert {c["op"] for c in META["cases"] if c["input"] == j} == set(OPS)


def test_ops_through_compose_apply() -> None:
    """The hook: an ``"auto"`` step replayed through Compose.apply equals apply_auto."""
    x = DATA["input/0"]
    cases = [c for c in META["cases"] if c["input"] == 0 and c["interpolation"] == "nearest"
             and c["fill"] is None]
    step = auto_step("TrivialAugmentWide", [c["op"] for c in cases],
                     [c["magnitude"] for c in cases])
    batch = np.repeat(x[None], len(cases), axis=0)
    recipe = Compose([TrivialAugmentWide()], num_threads=1)
    params = recipe.draw(batch, rng=0)
    params = type(params)(params.input_sizes, (step,), params.channels)
    assert np.array_equal(recipe.apply(batch, params), apply_auto(step, batch, 1))


# ------------------------------------------------------------------ tables


@pytest.mark.parametrize("name", list(CLASSES))
def test_op_tables_equal_torchvision(name: str) -> None:
    ref = META["spaces"][name]
    assert list(SPACES[name]) == ref["op_order"]
    assert {k: v[2] for k, v in SPACES[name].items()} == ref["signed"]
    for bins, tables in ref["tables"].items():
        for key, sized in ref["sized"].items():
            b, h, w = (int(v) for v in key.split(","))
            if b != int(bins):
                continue
            for op in ref["op_order"]:
                want = sized.get(op, tables[op])
                got = magnitude_table(name, op, b, h, w)
                if want is None:
                    assert got is None, (op, key)
                else:
                    # Exact: the float32 values of torch.linspace / torch.round.
                    assert got is not None and got.tolist() == want, (op, key)


@pytest.mark.parametrize("name", list(CLASSES))
def test_defaults_equal_torchvision(name: str) -> None:
    ref = META["spaces"][name]["defaults"]
    sig = inspect.signature(CLASSES[name].__init__)
    ours = {k: p.default for k, p in sig.parameters.items() if k != "self"}
    assert ours == ref


def test_policies_equal_torchvision() -> None:
    ours = {k: [[[op, p, b] for op, p, b in sub] for sub in v] for k, v in POLICIES.items()}
    assert ours == META["policies"]


# ------------------------------------------------------------------ draws


def _draw(t, n: int, size: int = 32, seed: int = 0):
    x = np.zeros((n, size, size, 3), np.uint8)
    step = Compose([t]).draw(x, rng=seed).steps[0]
    assert step.kind == "auto"
    return step.values["ops"], step.values["magnitudes"]


def test_trivial_augment_draws_cover_all_ops_bins_and_signs() -> None:
    n = 6000
    ops, mags = _draw(TrivialAugmentWide(), n)
    assert ops.shape == (n, 1)
    names = list(SPACES["TrivialAugmentWide"])
    counts = np.bincount(ops[:, 0], minlength=len(OPS))
    codes = [OPS.index(k) for k in names]
    assert set(np.flatnonzero(counts)) == set(codes)
    # Uniform over the 14 ops: each count within 5 standard deviations of n / 14.
    exp = n / len(codes)
    sd = np.sqrt(n * (1 / 14) * (13 / 14))
    assert np.all(np.abs(counts[codes] - exp) < 5 * sd)
    for k in names:
        m = mags[ops[:, 0] == OPS.index(k), 0]
        table = magnitude_table("TrivialAugmentWide", k, 31, 32, 32)
        if table is None:
            assert (m == 0).all()
            continue
        # Every magnitude is a bin of the table, possibly negated where signed.
        assert np.isin(np.abs(m), np.abs(table)).all()
        if SPACES["TrivialAugmentWide"][k][2]:
            assert (m < 0).any() and (m > 0).any()
            assert len(np.unique(np.abs(m))) == 31  # every bin (bin 0 is 0.0)
        else:
            assert (m >= 0).all() and len(np.unique(m)) == len(np.unique(table))


def test_rand_augment_draws_per_image_and_fixed_magnitude() -> None:
    n = 3000
    ops, mags = _draw(RandAugment(num_ops=3, magnitude=5, num_magnitude_bins=11), n, size=48)
    assert ops.shape == mags.shape == (n, 3)
    names = list(SPACES["RandAugment"])
    assert set(np.unique(ops)) == {OPS.index(k) for k in names}
    for k in names:
        m = mags[ops == OPS.index(k)]
        t = magnitude_table("RandAugment", k, 11, 48, 48)
        want = 0.0 if t is None else t[5]
        assert np.allclose(np.abs(m), abs(want), rtol=0, atol=0)
        if SPACES["RandAugment"][k][2]:
            assert (m < 0).any() and (m > 0).any()
    # The rounds draw independently: not the same op in every round.
    assert (ops[:, 0] != ops[:, 1]).mean() > 0.8
    assert _draw(RandAugment(num_ops=0), 4)[0].shape == (4, 0)


@pytest.mark.parametrize("policy", list(POLICIES))
def test_auto_augment_draws_follow_the_policy(policy: str) -> None:
    n = 20000
    ops, mags = _draw(AutoAugment(policy), n, size=32, seed=1)
    assert ops.shape == (n, 2)
    used = {OPS.index(op) for sub in POLICIES[policy] for op, p, _ in sub if p > 0}
    assert set(np.unique(ops)) - {0} == used
    for j in range(2):
        # The share of skipped ops is the mean of 1 - p over the sub-policies.
        skip = np.mean([1 - sub[j][1] for sub in POLICIES[policy]])
        assert abs((ops[:, j] == 0).mean() - skip) < 0.02
    for code in used:
        m = mags[ops == code]
        name = OPS[code]
        bins = {b for sub in POLICIES[policy] for op, _, b in sub if op == name}
        t = magnitude_table("AutoAugment", name, 10, 32, 32)
        allowed = {0.0} if t is None else {float(t[b]) for b in bins}
        assert set(np.abs(m).tolist()) <= allowed


def test_draws_depend_on_the_seed_only() -> None:
    t = TrivialAugmentWide()
    a = _draw(t, 64, seed=3)
    b = _draw(t, 64, seed=3)
    c = _draw(t, 64, seed=4)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[0], c[0])


# ------------------------------------------------------------------ end to end


@pytest.mark.parametrize("t", [TrivialAugmentWide(), RandAugment(), AutoAugment("svhn"),
                               RandAugment(interpolation="bilinear", fill=(1, 2, 3))])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_batch_equals_one_image_at_a_time(t, dtype) -> None:
    g = np.random.default_rng(0)
    x = g.integers(0, 256, (24, 20, 18, 3)).astype(dtype)
    if dtype == np.float32:
        x /= 255
    step = Compose([t]).draw(x, rng=5).steps[0]
    out = apply_auto(step, x, 2)
    assert out.dtype == x.dtype and out.shape == x.shape
    for i in range(len(x)):
        one = type(step)(step.name, step.kind,
                         {k: v[i:i + 1] for k, v in step.values.items()}, step.options)
        assert np.array_equal(out[i:i + 1], apply_auto(one, x[i:i + 1], 1)), i


@pytest.mark.parametrize("options", [("nearest", None), ("bilinear", (9.0, 60.0, 200.0))])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_large_images_first_round_from_the_input(monkeypatch, options, dtype) -> None:
    """Images of at least ``_BIG_BYTES`` skip the upfront copy of the batch.

    The first round then reads the caller's images and writes a fresh batch;
    the reference is the same step through the copy-first path (forced by
    raising the threshold), which the torchvision references above check. Every
    operation is drawn in round one (twice, so groups have several images),
    and the caller's array must come back untouched.
    """
    from fastaug.transforms import _auto

    g = np.random.default_rng(7)
    size = 112 if dtype == np.uint8 else 64  # 37632 and 49152 bytes per image
    x = g.integers(0, 256, (2 * len(OPS), size, size, 3)).astype(dtype)
    if dtype == np.float32:
        x /= 255
        options = (options[0], None if options[1] is None else tuple(v / 255 for v in options[1]))
    assert x[0].nbytes >= _auto._BIG_BYTES
    codes = np.stack([np.tile(np.arange(len(OPS)), 2), g.integers(0, len(OPS), len(x))], 1)
    mags = g.uniform(-0.9, 0.9, codes.shape)
    mags[codes == OPS.index("Posterize")] = 3.0
    mags[codes == OPS.index("Solarize")] = 0.5
    mags[codes == OPS.index("Rotate")] *= 40
    mags[np.isin(codes, [OPS.index("TranslateX"), OPS.index("TranslateY")])] *= 30
    step = auto_step("t", codes, mags, *options)
    before = x.copy()
    out = apply_auto(step, x, 2)
    assert np.array_equal(x, before)
    monkeypatch.setattr(_auto, "_BIG_BYTES", 1 << 62)
    assert np.array_equal(out, apply_auto(step, x, 2))


def test_in_a_recipe() -> None:
    x = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    before = x.copy()
    recipe = Compose([RandomCrop(32, padding=4), TrivialAugmentWide(),
                      ToDtype(np.float32, scale=True), Normalize([0.5] * 3, [0.25] * 3)],
                     data_format="channels_first", seed=0)
    y = recipe(x)
    assert y.shape == (16, 3, 32, 32) and y.dtype == np.float32
    assert np.array_equal(x, before)
    params = recipe.draw(x, rng=1)
    assert np.array_equal(recipe.apply(x, params), recipe.apply(x, params))


def test_one_channel_images() -> None:
    x = np.random.default_rng(0).integers(0, 256, (64, 16, 16, 1), dtype=np.uint8)
    assert AutoAugment("imagenet")(x, rng=0).shape == x.shape
    assert TrivialAugmentWide()(x, rng=0).shape == x.shape


# ------------------------------------------------------------------ arguments


@pytest.mark.parametrize("make, exc, words", [
    (lambda: TrivialAugmentWide(num_magnitude_bins=1), ValueError, "num_magnitude_bins"),
    (lambda: TrivialAugmentWide(num_magnitude_bins=2.5), TypeError, "num_magnitude_bins"),
    (lambda: TrivialAugmentWide(interpolation="bicubic"), ValueError, "interpolation"),
    (lambda: TrivialAugmentWide(interpolation="cubic"), ValueError, "interpolation"),
    (lambda: TrivialAugmentWide(fill="white"), TypeError, "fill"),
    (lambda: RandAugment(num_ops=-1), ValueError, "num_ops"),
    (lambda: RandAugment(num_ops=True), TypeError, "num_ops"),
    (lambda: RandAugment(magnitude=31), ValueError, "magnitude"),
    (lambda: RandAugment(magnitude=3, num_magnitude_bins=3), ValueError, "magnitude"),
    (lambda: RandAugment(magnitude=9.0), TypeError, "magnitude"),
    (lambda: AutoAugment("imagenet1k"), ValueError, "policy"),
    (lambda: AutoAugment(3), TypeError, "policy"),
    (lambda: AutoAugment(fill=[0, "a"]), TypeError, "fill"),
])
def test_bad_arguments(make, exc, words) -> None:
    with pytest.raises(exc, match=words):
        make()


def test_policy_enum_like_and_case() -> None:
    class Policy:  # torchvision's AutoAugmentPolicy members carry the name as .value
        value = "CIFAR10"

    assert AutoAugment(Policy()).policy == "cifar10"
    assert AutoAugment("SVHN").policy == "svhn"


def test_bad_images() -> None:
    with pytest.raises(TypeError, match="uint8 or float32"):
        TrivialAugmentWide()(np.zeros((2, 8, 8, 3), np.float64))
    step = auto_step("t", ["Equalize"], [0.0])
    with pytest.raises(TypeError, match="uint8 or float32"):
        apply_auto(step, np.zeros((1, 8, 8, 3), np.int16), 1)
    with pytest.raises(ValueError, match="ops"):
        apply_auto(auto_step("t", [99], [0.0]), np.zeros((1, 8, 8, 3), np.uint8), 1)
    with pytest.raises(ValueError, match="fill has 2 values"):
        RandAugment(fill=(1, 2))(np.zeros((2, 8, 8, 3), np.uint8))
    with pytest.raises(TypeError, match="1 or 3 channels"):
        apply_auto(auto_step("t", ["Brightness"], [0.5]), np.zeros((1, 8, 8, 2), np.uint8), 1)


@pytest.mark.parametrize("op", ["Sharpness", "Solarize", "Posterize", "Invert"])
def test_uint8_fast_paths_equal_the_colour_kernels(op: str) -> None:
    """The whole-array uint8 paths against the colour kernels (tested against torchvision).

    Every magnitude of TrivialAugmentWide's 31 bins, both signs: exact.
    """
    from fastaug.transforms._color import (
        RandomAdjustSharpness,
        RandomInvert,
        RandomPosterize,
        RandomSolarize,
        apply_color,
    )

    x = np.random.default_rng(3).integers(0, 256, (1, 21, 23, 3), dtype=np.uint8)
    x[0, 4:9, 4:9] = 255  # flat patches and extremes
    x[0, 12:16, 2:8] = 0
    space = "AutoAugment" if op == "Invert" else "TrivialAugmentWide"
    t = magnitude_table(space, op, 31, 21, 23)
    mags = [0.0] if t is None else sorted(set(t.tolist()) | set((-t).tolist()))
    if op == "Posterize":
        mags = [float(b) for b in range(9)]
    if op == "Solarize":
        mags = mags + [k / 255 for k in range(256)]
    for m in mags:
        if op == "Sharpness":
            ref_t = RandomAdjustSharpness(1.0 + m, p=1.0)
        elif op == "Solarize":
            ref_t = RandomSolarize(255.0 * m, p=1.0)
        elif op == "Posterize":
            ref_t = RandomPosterize(int(m), p=1.0)
        else:
            ref_t = RandomInvert(p=1.0)
        ref = apply_color(ref_t.make_steps(np.array([[21, 23]]), np.random.default_rng(0))[0],
                          x, 1)
        out = apply_auto(auto_step("t", [op], [m]), x, 1)
        assert np.array_equal(out, ref), (op, m)
