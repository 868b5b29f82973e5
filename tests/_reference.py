"""Slow, obviously-correct references for ``fastaug.warp_affine``.

Two independent references live here:

* :func:`scipy_warp` -- the ground truth. It loops over images and channels and
  calls ``scipy.ndimage.affine_transform`` on a float64 copy with exactly the
  arguments the issue specifies (matrix ``M[:, :2]``, ``offset=M[:, 2]``,
  ``output_shape=(H, W)``, ``order``, ``mode``, ``cval``). It returns float64
  so that the tests decide how to round/cast.

* :func:`numpy_warp` -- a from-the-definitions re-implementation in plain
  numpy (no scipy). It exists only to *document* what scipy's modes mean and
  to check that our reading of scipy (and therefore the hand-computed tables
  in ``test_warp.py``) is right: the test-suite cross-checks it against
  :func:`scipy_warp`.

Conventions (the issue's, which are scipy's): an output pixel at (r, c)
samples the input at ``M[:, :2] @ (r, c) + M[:, 2]``; pixel centres sit at
integer coordinates; the input occupies ``[0, n-1]`` along an axis of length n.

Mode semantics along one axis of length n (a = the samples a[0..n-1]):

``constant``  any sample point x outside [0, n-1] gives ``cval``; no blending
              with cval (x = -0.3 gives cval, not 0.7*a[0] + 0.3*cval).
``nearest``   x is clamped to [0, n-1]  (a[-k] = a[0], a[n-1+k] = a[n-1]).
``reflect``   half-sample symmetric, period 2n: ... a1 a0 | a0 a1 .. a(n-1) | a(n-1) a(n-2) ...
``mirror``    whole-sample symmetric, period 2n-2: ... a2 a1 | a0 a1 .. a(n-1) | a(n-2) ...
              (n == 1: always a0).
``wrap``      scipy's *legacy* wrap: period n-1 (not n!). The continuous
              coordinate is reduced into [0, n-1] (x mod (n-1)) and the samples
              a[0..n-1] are interpolated there, so a[0] and a[n-1] both "sit"
              on the seam and the signal jumps from a[n-1] to a[0] at every
              x = k*(n-1), k != 0, 1.  (n == 1: always a0.)

For ``order=0`` scipy first maps the *continuous* coordinate into the base
interval as above and then rounds half up (``floor(y + 0.5)``). Away from
exact .5 ties this equals "round, then extend the integer index" for
nearest/reflect/mirror, but NOT for legacy wrap (x = -0.3 maps to 3.7 and
picks a[4], whereas rounding first would pick a[0]).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

MODES = ("constant", "nearest", "reflect", "wrap", "mirror")
ORDERS = (0, 1)
DATA_FORMATS = ("channels_last", "channels_first")


# --------------------------------------------------------------------------- #
# helpers shared by both references
# --------------------------------------------------------------------------- #
def batch_matrices(matrices, n: int) -> np.ndarray:
    """(2,3) or (N,2,3) -> float64 (N,2,3) (a copy)."""
    m = np.array(matrices, dtype=np.float64, copy=True)
    if m.shape == (2, 3):
        m = np.broadcast_to(m, (n, 2, 3)).copy()
    if m.shape != (n, 2, 3):
        raise ValueError(f"reference: bad matrices shape {m.shape} for N={n}")
    return m


def to_channels_last(images: np.ndarray, data_format: str) -> np.ndarray:
    if data_format == "channels_last":
        return images
    if data_format == "channels_first":
        return np.moveaxis(images, 1, -1)
    raise ValueError(data_format)


def from_channels_last(images: np.ndarray, data_format: str) -> np.ndarray:
    if data_format == "channels_last":
        return images
    if data_format == "channels_first":
        return np.moveaxis(images, -1, 1)
    raise ValueError(data_format)


def sample_coords(matrix: np.ndarray, h: int, w: int):
    """Input (row, col) coordinates sampled by every output pixel, float64 (H, W)."""
    m = np.asarray(matrix, dtype=np.float64)
    r, c = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                       indexing="ij")
    rr = m[0, 0] * r + m[0, 1] * c + m[0, 2]
    cc = m[1, 0] * r + m[1, 1] * c + m[1, 2]
    return rr, cc


def _near_multiple(x: np.ndarray, step: float, eps: float) -> np.ndarray:
    k = np.round(x / step)
    return np.abs(x - k * step) <= eps


def ambiguous_mask(matrices, n: int, shape_hw, order: int, mode: str,
                   eps: float = 1e-7) -> np.ndarray:
    """Boolean (N, H, W): output pixels whose result legitimately depends on the
    last bit of the float64 sample coordinate.

    * order 0: coordinates within ``eps`` of an exact rounding tie (x.5) flip
      between two neighbours; within ``eps`` of an integer they can flip
      across a 'constant' edge (x = -1e-12 -> cval, x = 0 -> a[0]) or a legacy
      'wrap' seam (a[n-1] vs a[0]).
    * order 1: interpolation is continuous except across the 'constant' edge
      and the 'wrap' seams, which both sit at integer coordinates.

    For random (non-degenerate) matrices this mask is empty with probability
    ~1 (each coordinate lands within 1e-7 of a lattice point with probability
    ~4e-7); the tests also assert it stays tiny so it can never hide a bug.
    """
    h, w = shape_hw
    m = batch_matrices(matrices, n)
    out = np.zeros((len(m), h, w), dtype=bool)
    for i, mi in enumerate(m):
        rr, cc = sample_coords(mi, h, w)
        if order == 0:
            amb = _near_multiple(rr, 0.5, eps) | _near_multiple(cc, 0.5, eps)
        elif mode in ("constant", "wrap"):
            amb = _near_multiple(rr, 1.0, eps) | _near_multiple(cc, 1.0, eps)
        else:
            amb = np.zeros((h, w), dtype=bool)
        out[i] = amb
    return out


def round_half_up_u8(x: np.ndarray) -> np.ndarray:
    """float -> uint8 the way the issue specifies: nearest, ties up, clipped."""
    return np.clip(np.floor(np.asarray(x, dtype=np.float64) + 0.5), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- #
# ground truth: scipy
# --------------------------------------------------------------------------- #
def scipy_warp(images, matrices, order=1, mode="nearest", cval=0.0, data_format="channels_last"):
    """float64 result of warping every channel of every image with scipy.

    ``images`` (N,H,W,C) or (N,C,H,W); ``matrices`` (2,3) or (N,2,3).
    Returns float64 in the same layout as ``images``.
    """
    x = to_channels_last(np.asarray(images), data_format)
    n, h, w, c = x.shape
    m = batch_matrices(matrices, n)
    out = np.empty((n, h, w, c), dtype=np.float64)
    for i in range(n):
        for ch in range(c):
            plane = np.array(x[i, :, :, ch], dtype=np.float64, copy=True)
            out[i, :, :, ch] = ndimage.affine_transform(
                plane,
                m[i, :, :2],
                offset=m[i, :, 2],
                output_shape=(h, w),
                order=order,
                mode=mode,
                cval=float(cval),
                prefilter=False,  # irrelevant for order <= 1; explicit anyway
            )
    return from_channels_last(out, data_format)


# --------------------------------------------------------------------------- #
# independent reference from the definitions (documents the mode semantics)
# --------------------------------------------------------------------------- #
def extend_index(i: np.ndarray, n: int, mode: str) -> np.ndarray:
    """Integer sample index -> index into a[0..n-1] for the *symmetric/clamped*
    extensions (used for the order-1 taps).  'constant' and 'wrap' are handled
    on the continuous coordinate instead (see module docstring)."""
    i = np.asarray(i, dtype=np.int64)
    if n == 1:
        return np.zeros_like(i)
    if mode == "nearest":
        return np.clip(i, 0, n - 1)
    if mode == "reflect":  # half-sample symmetric, period 2n
        j = np.mod(i, 2 * n)
        return np.where(j >= n, 2 * n - 1 - j, j)
    if mode == "mirror":  # whole-sample symmetric, period 2n-2
        j = np.mod(i, 2 * n - 2)
        return np.where(j >= n, 2 * n - 2 - j, j)
    if mode in ("constant", "wrap"):
        # only ever asked for taps of an already in-range coordinate; the tap
        # at n (weight exactly 0 when x == n-1) is clamped.
        return np.clip(i, 0, n - 1)
    raise ValueError(mode)


def map_continuous(x: np.ndarray, n: int, mode: str) -> np.ndarray:
    """Continuous coordinate -> coordinate in the base interval, as scipy maps
    it before rounding (order 0) / before taking taps (legacy wrap).
    'constant' is not mapped (the caller substitutes cval)."""
    x = np.asarray(x, dtype=np.float64)
    if n == 1:
        return np.zeros_like(x)
    if mode == "nearest":
        return np.clip(x, 0.0, n - 1.0)
    if mode == "reflect":  # base interval [-0.5, n-0.5]
        y = np.mod(x + 0.5, 2.0 * n) - 0.5
        return np.where(y > n - 0.5, 2.0 * n - 1.0 - y, y)
    if mode == "mirror":
        # Period 2n-2, reduced the way scipy reduces it: points above n-1 are
        # folded only once they pass n, so the result lies in [0, n) and a
        # tie at n-0.5 rounds (half up) to index n, which the whole-sample
        # mirror then sends to n-2.  Off ties this is the same as folding
        # into [0, n-1] first.
        p = 2.0 * n - 2.0
        above = x - p * np.trunc(x / p)
        above = np.where(above >= n, p - above, above)
        below = x + p * np.trunc(-x / p)
        below = np.where(below <= 1.0 - n, below + p, -below)
        return np.where(x > n - 1.0, above, np.where(x < 0, below, x))
    if mode == "wrap":  # scipy legacy wrap, period n-1, base interval [0, n-1]
        p = n - 1.0
        inside = (x >= 0) & (x <= p)
        above = x - p * np.trunc(x / p)  # x > n-1
        below = x + p * (np.trunc(-x / p) + 1.0)  # x < 0
        return np.where(inside, x, np.where(x > p, above, below))
    if mode == "constant":
        return x
    raise ValueError(mode)


def _axis_taps(x: np.ndarray, n: int, order: int, mode: str):
    """For coordinates x along an axis of length n return
    (list of (index, weight) taps, outside_mask) where outside_mask marks
    points that produce cval ('constant' only)."""
    if mode == "constant":
        outside = (x < 0) | (x > n - 1)
        y = np.clip(x, 0, n - 1)  # value irrelevant where outside
    else:
        outside = np.zeros(x.shape, dtype=bool)
        y = x
    if order == 0:
        if mode != "constant":
            y = map_continuous(y, n, mode)
        idx = np.floor(y + 0.5).astype(np.int64)
        # reflect's base interval ends at n-0.5 and mirror's just below n, so
        # the rounded index may be n: extend it like any other tap.
        idx = extend_index(idx, n, mode)
        return [(idx, np.ones_like(y))], outside
    if order == 1:
        if mode == "wrap":
            y = map_continuous(y, n, mode)
        i0 = np.floor(y).astype(np.int64)
        f = y - i0
        return [(extend_index(i0, n, mode), 1.0 - f), (extend_index(i0 + 1, n, mode), f)], outside
    raise ValueError(order)


def numpy_warp(images, matrices, order=1, mode="nearest", cval=0.0, data_format="channels_last"):
    """Independent pure-numpy re-implementation (float64), same layout as input."""
    x = to_channels_last(np.asarray(images), data_format).astype(np.float64)
    n, h, w, c = x.shape
    m = batch_matrices(matrices, n)
    out = np.empty((n, h, w, c), dtype=np.float64)
    for i in range(n):
        rr, cc = sample_coords(m[i], h, w)
        rtaps, rout = _axis_taps(rr, h, order, mode)
        ctaps, cout = _axis_taps(cc, w, order, mode)
        acc = np.zeros((h, w, c), dtype=np.float64)
        for ri, rw in rtaps:
            for ci, cw in ctaps:
                acc += (rw * cw)[..., None] * x[i][ri, ci]
        acc[rout | cout] = cval
        out[i] = acc
    return from_channels_last(out, data_format)


# --------------------------------------------------------------------------- #
# matrices
# --------------------------------------------------------------------------- #
def identity_matrix() -> np.ndarray:
    return np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def flip_matrix(h: int, w: int, axis: str) -> np.ndarray:
    """out[r, c] = in[r, w-1-c] ('horizontal') or in[h-1-r, c] ('vertical')."""
    if axis == "horizontal":
        return np.array([[1.0, 0.0, 0.0], [0.0, -1.0, w - 1.0]])
    if axis == "vertical":
        return np.array([[-1.0, 0.0, h - 1.0], [0.0, 1.0, 0.0]])
    raise ValueError(axis)


def rot90_matrix(n: int, k: int) -> np.ndarray:
    """Matrix equal to ``np.rot90(img, k, axes=(0, 1))`` for an n x n image.

    k=1: out[r, c] = in[c, n-1-r];  k=2: in[n-1-r, n-1-c];  k=3: in[n-1-c, r].
    """
    k %= 4
    last = n - 1.0
    return {
        0: np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
        1: np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, last]]),
        2: np.array([[-1.0, 0.0, last], [0.0, -1.0, last]]),
        3: np.array([[0.0, -1.0, last], [1.0, 0.0, 0.0]]),
    }[k]


def random_matrices(rng: np.random.Generator, n: int, h: int, w: int,
                    far: bool = False) -> np.ndarray:
    """Random non-degenerate affine maps around the image centre.

    Rotation in [-pi, pi], shear, per-axis zoom (possibly negative = flip) and
    a shift. With ``far=True`` the zoom goes up to 6x and the shift up to
    +-4 image sizes, so samples land several periods outside the image and
    every fill mode's extension is exercised far out.
    """
    out = np.empty((n, 2, 3))
    centre = np.array([(h - 1) / 2.0, (w - 1) / 2.0])
    for i in range(n):
        theta = rng.uniform(-np.pi, np.pi)
        rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        shear = np.array([[1.0, rng.uniform(-0.5, 0.5)], [0.0, 1.0]])
        if far:
            zoom = rng.uniform(0.5, 6.0, size=2) * rng.choice([-1.0, 1.0], size=2)
            shift = (rng.uniform(-4.0, 4.0, size=2) * np.array([h, w], dtype=float)
                     + rng.uniform(-3, 3, size=2))
        else:
            zoom = rng.uniform(0.6, 1.6, size=2)
            shift = (rng.uniform(-0.3, 0.3, size=2) * np.array([h, w], dtype=float)
                     + rng.uniform(-1, 1, size=2))
        a = rot @ shear @ np.diag(zoom)
        out[i, :, :2] = a
        out[i, :, 2] = centre - a @ centre + shift
    return out


def dyadic_matrices(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    """Matrices whose entries are multiples of 1/2 (zoom 1/2, 1, 2, flips,
    transposes, half-pixel and multi-period shifts). Every sample coordinate is
    then an exactly representable multiple of 0.5 or 0.25, so the result is
    fully determined -- including order-0 rounding ties, 'constant' edges hit
    exactly and legacy-'wrap' seams -- and must match scipy bit for bit."""
    out = np.empty((n, 2, 3))
    lin_choices = [0.5, 1.0, 2.0, -0.5, -1.0, -2.0]
    for i in range(n):
        if rng.random() < 0.3:  # transpose-like
            a = np.array([[0.0, rng.choice(lin_choices)], [rng.choice(lin_choices), 0.0]])
        else:
            a = np.diag([rng.choice(lin_choices), rng.choice(lin_choices)])
            if rng.random() < 0.3:
                a[rng.integers(2), rng.integers(2)] = rng.choice([0.5, -0.5])
        reach = 4 * max(h, w) if rng.random() < 0.5 else max(h, w) + 1  # far or near
        t = rng.integers(-reach, reach + 1, size=2) / 2.0
        out[i, :, :2] = a
        out[i, :, 2] = t
    return out
