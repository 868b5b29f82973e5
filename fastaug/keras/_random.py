"""Keras's per-image parameter stream, reproduced on a local ``RandomState``.

Keras's ``ImageDataGenerator.get_random_transform`` draws from numpy's *global*
legacy RNG, image after image, in a fixed order: rotation, height shift (``tx``),
width shift (``ty``), shear, zoom (two draws), the two flip coins (always drawn),
channel shift, brightness. A zero range skips its draw (except the coins). With
float ranges every draw is one ``random_sample()`` double, so a whole batch's
parameters are one ``(batch, k)`` block of uniforms mapped column by column,
bit-identical to Keras's loop. Integer or list shift ranges go through
``choice`` (a variable number of integer draws), so they fall back to a literal
per-image port of Keras's code on the same local state.

Draws read the ranges from a :class:`~fastaug.keras._spec.KerasSpec` and land in
the core's :class:`~fastaug.params.AffineParams` (Keras's
``channel_shift_intensity`` is its ``channel_shift``). Nothing here touches
numpy's global RNG or any pixel.
"""

from __future__ import annotations

import operator
from typing import Any, NamedTuple

import numpy as np

from fastaug.keras._spec import KerasSpec
from fastaug.params import AffineParams

__all__ = ["draw_batch", "draw_one", "is_float_range", "params_from_dicts", "params_to_dicts"]


def params_from_dicts(dicts: list[dict[str, Any]]) -> AffineParams:
    """Stack Keras-style parameter dicts (missing keys take Keras's ``.get`` defaults).

    A ``channel_shift_intensity`` of None is no shift (0); a ``brightness`` of
    None for one image but a value for another is not something Keras can
    produce, and is refused.

    Examples
    --------
    >>> from fastaug.keras._random import params_from_dicts
    >>> p = params_from_dicts([{"theta": 30.0}, {"flip_horizontal": 1}])
    >>> p.theta.tolist(), p.flip_horizontal.tolist(), p.brightness
    ([30.0, 0.0], [False, True], None)
    """
    defaults = {"theta": 0.0, "tx": 0.0, "ty": 0.0, "shear": 0.0, "zx": 1.0, "zy": 1.0}
    arrays = {k: np.array([float(d.get(k, v)) for d in dicts]) for k, v in defaults.items()}
    for key in ("flip_horizontal", "flip_vertical"):
        arrays[key] = np.array([bool(d.get(key, False)) for d in dicts], bool)
    shifts = [d.get("channel_shift_intensity") for d in dicts]
    brights = [d.get("brightness") for d in dicts]
    if any(b is None for b in brights) and not all(b is None for b in brights):
        raise ValueError("brightness must be given for every image or for none, "
                         f"got {brights!r}")
    return AffineParams(
        **arrays,
        channel_shift=(None if all(v is None for v in shifts)
                       else np.array([0.0 if v is None else float(v) for v in shifts])),
        brightness=None if brights[0] is None else np.array([float(b) for b in brights]),
    )


def is_float_range(r: Any) -> bool:
    """True when Keras would draw ``r`` with ``uniform`` (its ``choice`` raises).

    Keras calls ``np.random.choice(r)`` first and falls back to ``uniform`` on
    ValueError, which numpy raises for a 0-d value that is not an integer.
    """
    if isinstance(r, float):  # the common case, without numpy's overhead
        return True
    if isinstance(r, int):
        return False
    a = np.asarray(r)
    if a.ndim != 0:
        return False
    try:
        operator.index(a.item())
    except TypeError:
        return True
    # An int n <= 0 also makes choice raise ValueError (then uniform is used);
    # treat it as the generic path, which reproduces that literally.
    return False


def draw_one(gen: KerasSpec, img_shape: tuple[int, ...],
             rs: np.random.RandomState) -> dict[str, Any]:
    """A literal port of Keras's ``get_random_transform`` on the local state ``rs``."""
    img_row_axis = gen.row_axis - 1
    img_col_axis = gen.col_axis - 1

    if gen.rotation_range:
        theta = rs.uniform(-gen.rotation_range, gen.rotation_range)
    else:
        theta = 0

    if gen.height_shift_range:
        try:  # 1-D array-like or int
            tx = rs.choice(gen.height_shift_range)
            tx *= rs.choice([-1, 1])
        except ValueError:  # floating point
            tx = rs.uniform(-gen.height_shift_range, gen.height_shift_range)
        if np.max(gen.height_shift_range) < 1:
            tx *= img_shape[img_row_axis]
    else:
        tx = 0

    if gen.width_shift_range:
        try:
            ty = rs.choice(gen.width_shift_range)
            ty *= rs.choice([-1, 1])
        except ValueError:
            ty = rs.uniform(-gen.width_shift_range, gen.width_shift_range)
        if np.max(gen.width_shift_range) < 1:
            ty *= img_shape[img_col_axis]
    else:
        ty = 0

    if gen.shear_range:
        shear = rs.uniform(-gen.shear_range, gen.shear_range)
    else:
        shear = 0

    if gen.zoom_range[0] == 1 and gen.zoom_range[1] == 1:
        zx, zy = 1, 1
    else:
        zx, zy = rs.uniform(gen.zoom_range[0], gen.zoom_range[1], 2)

    flip_horizontal = (rs.random() < 0.5) * gen.horizontal_flip
    flip_vertical = (rs.random() < 0.5) * gen.vertical_flip

    channel_shift_intensity = None
    if gen.channel_shift_range != 0:
        channel_shift_intensity = rs.uniform(-gen.channel_shift_range,
                                             gen.channel_shift_range)

    brightness = None
    if gen.brightness_range is not None:
        brightness = rs.uniform(gen.brightness_range[0], gen.brightness_range[1])

    return {
        "theta": theta,
        "tx": tx,
        "ty": ty,
        "shear": shear,
        "zx": zx,
        "zy": zy,
        "flip_horizontal": flip_horizontal,
        "flip_vertical": flip_vertical,
        "channel_shift_intensity": channel_shift_intensity,
        "brightness": brightness,
    }


class RangeError(ValueError, OverflowError):
    """An augmentation range numpy cannot draw from (NaN or infinite).

    Keras raises ``OverflowError: Range exceeds valid bounds`` from
    ``np.random.uniform`` on the first draw; this is that error, catchable as
    either, with the argument named.
    """


_ARG_OF = {"theta": "rotation_range", "tx": "height_shift_range", "ty": "width_shift_range",
           "shear": "shear_range", "zx": "zoom_range", "zy": "zoom_range",
           "cs": "channel_shift_range", "br": "brightness_range"}


class _DrawMap(NamedTuple):
    """A draw map: how one configuration maps a ``(n, k)`` block of uniforms to parameters."""

    names: tuple[str, ...]  # the mapped columns' parameters, Keras's draw order
    lows: np.ndarray  # (m, 1): low of each mapped column
    spans: np.ndarray  # (m, 1): high - low
    scales: np.ndarray | None  # (m, 1): Keras's fraction-of-size shift factors, else 1
    coins: int  # column of the horizontal flip coin (the vertical one follows)
    tail: bool  # mapped columns after the coins (channel shift, brightness)
    hflip: bool
    vflip: bool
    complete: bool  # all six geometric parameters drawn (no zeros / ones needed)


_draw_maps: dict[tuple[Any, ...], _DrawMap] = {}
_MAX_DRAW_MAPS = 64


def _make_draw_map(gen: KerasSpec, img_shape: tuple[int, ...]) -> _DrawMap:
    hs, ws = gen.height_shift_range, gen.width_shift_range
    names: list[str] = []
    bounds: list[tuple[float, float]] = []
    scales: list[float] = []

    def col(name: str, lo: Any, hi: Any, scale: float = 1.0) -> None:
        names.append(name)
        bounds.append((float(lo), float(hi)))
        scales.append(scale)

    if gen.rotation_range:
        col("theta", -gen.rotation_range, gen.rotation_range)
    # Keras multiplies a fractional shift by the size (np.max(range) < 1; the
    # range is a scalar here): after the map, as its own double product.
    if hs:
        col("tx", -hs, hs, float(img_shape[gen.row_axis - 1]) if float(hs) < 1 else 1.0)
    if ws:
        col("ty", -ws, ws, float(img_shape[gen.col_axis - 1]) if float(ws) < 1 else 1.0)
    if gen.shear_range:
        col("shear", -gen.shear_range, gen.shear_range)
    zr = gen.zoom_range
    if not (zr[0] == 1 and zr[1] == 1):
        col("zx", zr[0], zr[1])
        col("zy", zr[0], zr[1])
    coins = len(names)
    if gen.channel_shift_range != 0:
        col("cs", -gen.channel_shift_range, gen.channel_shift_range)
    if gen.brightness_range is not None:
        col("br", *gen.brightness_range)
    for name, (lo, hi) in zip(names, bounds):
        if not np.isfinite(hi - lo):
            raise RangeError(f"{_ARG_OF[name]} must give a finite range to draw from, got "
                             f"[{lo}, {hi}] (Keras: Range exceeds valid bounds)")
    lows = np.array([b[0] for b in bounds]).reshape(-1, 1)
    # high - low in doubles, as numpy's legacy uniform computes it.
    spans = np.array([b[1] - b[0] for b in bounds]).reshape(-1, 1)
    return _DrawMap(tuple(names), lows, spans,
                 None if all(x == 1.0 for x in scales) else np.array(scales).reshape(-1, 1),
                 coins, len(names) > coins, bool(gen.horizontal_flip),
                 bool(gen.vertical_flip), coins == 6)


def _draw_map_for(gen: KerasSpec, img_shape: tuple[int, ...]) -> _DrawMap:
    """The configuration's draw map, cached on the range values themselves.

    Keyed on the values (not on the spec object), so a range changed in place
    (``gen.zoom_range[0] = ...``) gets its own draw map; an unhashable value (a 0-d
    array range) is mapped afresh each time.
    """
    br = gen.brightness_range
    try:
        key = (gen.rotation_range, gen.height_shift_range, gen.width_shift_range,
               gen.shear_range, gen.zoom_range[0], gen.zoom_range[1],
               gen.channel_shift_range, None if br is None else tuple(br),
               bool(gen.horizontal_flip), bool(gen.vertical_flip), gen.row_axis,
               gen.col_axis, tuple(img_shape))
        dmap = _draw_maps.get(key)
    except TypeError:
        return _make_draw_map(gen, img_shape)
    if dmap is None:
        dmap = _make_draw_map(gen, img_shape)
        if len(_draw_maps) >= _MAX_DRAW_MAPS:
            _draw_maps.clear()
        _draw_maps[key] = dmap
    return dmap


def draw_batch(gen: KerasSpec, n: int, img_shape: tuple[int, ...],
               rs: np.random.RandomState) -> AffineParams:
    """Draw ``n`` images' parameters, consuming ``rs`` exactly as Keras's loop would.

    Float (or zero) ranges take one vectorised ``random_sample((n, k))``; integer
    and list shift ranges take the per-image port.
    """
    hs, ws = gen.height_shift_range, gen.width_shift_range
    fast = (not hs or is_float_range(hs)) and (not ws or is_float_range(ws))
    if not fast:
        return params_from_dicts([draw_one(gen, img_shape, rs) for _ in range(n)])

    dmap = _draw_map_for(gen, img_shape)
    c = dmap.coins
    u = rs.random_sample((n, len(dmap.names) + 2))
    mapped = np.delete(u, [c, c + 1], axis=1) if dmap.tail else u[:, :c]
    # Each mapped column: low + (high - low) * u, as numpy's legacy uniform
    # computes it (the same two double operations), then Keras's shift scaling
    # (x * 1.0 is exact for the other rows). One contiguous row per parameter.
    vals = np.empty((len(dmap.names), n))
    np.multiply(mapped.T, dmap.spans, out=vals)
    vals += dmap.lows
    if dmap.scales is not None:
        vals *= dmap.scales
    got = dict(zip(dmap.names, vals))
    zeros = ones = no_flip = None
    if not dmap.complete:
        zeros, ones = np.zeros(n), np.ones(n)
    if not (dmap.hflip and dmap.vflip):
        no_flip = np.zeros(n, bool)
    return AffineParams(theta=got.get("theta", zeros), tx=got.get("tx", zeros),
                        ty=got.get("ty", zeros), shear=got.get("shear", zeros),
                        zx=got.get("zx", ones), zy=got.get("zy", ones),
                        flip_horizontal=u[:, c] < 0.5 if dmap.hflip else no_flip,
                        flip_vertical=u[:, c + 1] < 0.5 if dmap.vflip else no_flip,
                        channel_shift=got.get("cs"), brightness=got.get("br"))


def params_to_dicts(params: AffineParams) -> list[dict[str, Any]]:
    """One Keras-style parameter dict per image (Python scalars), Keras's keys.

    Examples
    --------
    >>> from fastaug.keras._random import params_from_dicts, params_to_dicts
    >>> params_to_dicts(params_from_dicts([{"theta": 5.0}]))[0]["theta"]
    5.0
    """
    out = []
    for i in range(params.n):
        d: dict[str, Any] = {key: float(getattr(params, key)[i])
                             for key in ("theta", "tx", "ty", "shear", "zx", "zy")}
        d["flip_horizontal"] = int(params.flip_horizontal[i])
        d["flip_vertical"] = int(params.flip_vertical[i])
        d["channel_shift_intensity"] = (None if params.channel_shift is None
                                        else float(params.channel_shift[i]))
        d["brightness"] = None if params.brightness is None else float(params.brightness[i])
        out.append(d)
    return out
