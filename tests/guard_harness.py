"""Guard-page harness: the warp kernel never reads outside the image it warps.

Each trial warps an image that sits directly against a ``PROT_NONE`` page (its
last byte just before one, or its first byte just after one, Linux ``mmap`` +
``mprotect``), so a read one element past either end kills the process with
SIGSEGV instead of going unnoticed. The memory on the other side of the image,
inside the same array, is filled with a sentinel value far outside the image's
own values: a read there (another image of the dataset, or bytes before/after
the image) shows up in the output, which must stay within the image's range
(and equal ``cval`` where scipy gives ``cval``).

Matrices are adversarial: random affine maps, huge and cancelling entries
(``2**54`` against ``-2**54``), near-integers, whole-pixel shifts and flips
(the kernel's row-copy path), singular and denormal maps, and coordinates that
land exactly on the image's edges and half-pixel ties. Every kernel variant is
covered: 1, 2, 3, 4 and 5 channels, nearest and bilinear, the five fill modes,
uint8 and float32 in and out, channel shift and brightness on and off, and both
the public ``warp_affine`` path and the gathering path the Keras iterators use
(output image ``i`` warped from ``dataset[index[i]]``).

Run as a script for the long version (documented for kernel changes)::

    python tests/guard_harness.py --matrices 100000

It prints the number of matrices, faults (a fault would have killed it) and
out-of-image values, and exits non-zero on any of the latter.
``tests/test_memory_safety.py`` runs a short version in a subprocess.
"""

from __future__ import annotations

import argparse
import ctypes
import mmap
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

PAGE = mmap.PAGESIZE
MODES = ("constant", "nearest", "reflect", "wrap", "mirror")
# The image's values stay in [0, TOP]; everything around it is SENTINEL.
TOP = {np.dtype(np.uint8): 100.0, np.dtype(np.float32): 1.0}
SENTINEL = {np.dtype(np.uint8): 250, np.dtype(np.float32): 1.0e6}
CVAL = 0.0

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_PROT_NONE = 0


class GuardedArena:
    """An ``mmap`` region whose first and last pages are ``PROT_NONE``.

    ``array(nbytes, side)`` returns a uint8 view of ``nbytes`` that ends exactly
    at the last guard page (``side="after"``) or starts exactly after the first
    one (``side="before"``); the rest of the usable pages is filled with 0xFA.
    """

    def __init__(self, max_bytes: int) -> None:
        self.usable = -(-max_bytes // PAGE) * PAGE + PAGE
        self.mm = mmap.mmap(-1, self.usable + 2 * PAGE)
        self.buf = np.frombuffer(self.mm, np.uint8)
        base = self.buf.ctypes.data
        for addr in (base, base + PAGE + self.usable):
            if _libc.mprotect(ctypes.c_void_p(addr), PAGE, _PROT_NONE) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"mprotect failed: {err}")

    def array(self, nbytes: int, side: str) -> np.ndarray:
        if nbytes > self.usable:
            raise ValueError(f"{nbytes} bytes do not fit the arena ({self.usable})")
        inner = self.buf[PAGE:PAGE + self.usable]
        inner[:] = 0xFA
        return inner[self.usable - nbytes:] if side == "after" else inner[:nbytes]


@dataclass
class Trial:
    """One ``warp`` call: a batch of matrices against one guarded image."""

    h: int
    w: int
    c: int
    order: int
    mode: str
    in_dtype: np.dtype
    out_dtype: np.dtype
    side: str
    gather: bool
    shift: bool
    bright: bool
    mats: np.ndarray  # (N, 2, 3)


# --------------------------------------------------------------------------- #
# Adversarial matrices
# --------------------------------------------------------------------------- #
def _random_affine(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    a = rng.normal(0.0, 1.0, (n, 2, 2)) * rng.choice([0.1, 1.0, 3.0], (n, 1, 1))
    t = rng.uniform(-1.5, 1.5, (n, 2)) * np.array([h, w])
    return np.concatenate([a, t[..., None]], axis=2)


def _huge(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    m = _random_affine(rng, n, h, w)
    k = rng.integers(20, 1020, (n, 2, 3))
    sign = rng.choice([-1.0, 1.0], (n, 2, 3))
    big = sign * np.ldexp(1.0, k) * rng.choice([1.0, 1.5, 0.75], (n, 2, 3))
    pick = rng.random((n, 2, 3)) < 0.35
    return np.where(pick, big, m)


def _cancelling(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    """``m[r, 0] = +-2**k`` against ``m[r, 2] = -+2**k`` (the issue's example)."""
    m = np.zeros((n, 2, 3))
    m[:, 0, 0] = rng.choice([-1.0, 0.0, 1.0], n)
    m[:, 1, 1] = rng.choice([-1.0, 1.0], n)
    m[:, 0, 2] = rng.integers(-1, h + 1, n)
    k = np.ldexp(1.0, rng.integers(40, 70, n))
    row = rng.integers(0, 2, n)
    m[np.arange(n), row, 0] += k
    m[np.arange(n), row, 2] -= k * rng.choice([1.0, 1.0, 0.5, 2.0], n)
    m[:, 1, 2] += rng.integers(-2, w + 2, n)
    return m


def _integer_maps(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    """Flips, 90-degree turns and whole-pixel shifts, some running off the image."""
    m = np.zeros((n, 2, 3))
    swap = rng.random(n) < 0.3
    s0 = rng.choice([-1.0, 1.0], n)
    s1 = rng.choice([-1.0, 1.0], n)
    m[~swap, 0, 0] = s0[~swap]
    m[~swap, 1, 1] = s1[~swap]
    m[swap, 0, 1] = s0[swap]
    m[swap, 1, 0] = s1[swap]
    m[:, 0, 2] = rng.integers(-h - 1, 2 * h + 1, n)
    m[:, 1, 2] = rng.integers(-w - 1, 2 * w + 1, n)
    return m


def _near_integer(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    m = _integer_maps(rng, n, h, w)
    eps = rng.choice([1e-300, 1e-16, 1e-12, 1e-9, 0.5, 0.5 - 1e-12, 0.5 + 1e-12], (n, 2, 3))
    sign = rng.choice([-1.0, 1.0], (n, 2, 3))
    pick = rng.random((n, 2, 3)) < 0.4
    return m + np.where(pick, sign * eps, 0.0)


def _singular(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    m = _random_affine(rng, n, h, w)
    kind = rng.integers(0, 4, n)
    m[kind == 0, :, :2] = 0.0
    m[kind == 1, 0, :2] = 0.0
    m[kind == 2, :, 1] = 0.0
    m[kind == 3, 1, :2] = m[kind == 3, 0, :2] * rng.normal(size=((kind == 3).sum(), 1))
    tiny = rng.random((n, 2, 2)) < 0.2
    m[:, :, :2] = np.where(tiny, rng.choice([5e-324, 1e-310, -1e-320, 1e-200], (n, 2, 2)),
                           m[:, :, :2])
    return m


def _edges(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    """Identity-like maps whose samples land on the image's edges and ties."""
    m = _integer_maps(rng, n, h, w)
    offs = np.array([-1.0, -0.5, -1e-15, 0.0, 0.5])
    m[:, 0, 2] += rng.choice(np.concatenate([offs, h - 1 + offs, h + offs]), n)
    m[:, 1, 2] += rng.choice(np.concatenate([offs, w - 1 + offs, w + offs]), n)
    m[:, :, :2] *= rng.choice([1.0, 1.0, 0.5, 2.0, 1.0 + 1e-15], (n, 1, 1))
    return m


GENERATORS = (_random_affine, _huge, _cancelling, _integer_maps, _near_integer, _singular,
              _edges)


def trials(seed: int, matrices: int, batch: int = 48) -> Iterator[Trial]:
    """Trials until ``matrices`` matrices, cycling through every kernel variant."""
    rng = np.random.default_rng(seed)
    done = 0
    t = 0
    dtypes = (np.dtype(np.uint8), np.dtype(np.float32))
    while done < matrices:
        n = min(batch, matrices - done)
        h = int(rng.choice([1, 2, 3, 5, 8, int(rng.integers(1, 40))]))
        w = int(rng.choice([1, 2, 3, 4, 7, int(rng.integers(1, 40))]))
        gen = GENERATORS[t % len(GENERATORS)]
        yield Trial(
            h=h, w=w, c=(1, 3, 4, 2, 5)[t % 5], order=(t // 5) % 2, mode=MODES[(t // 10) % 5],
            in_dtype=dtypes[(t // 50) % 2], out_dtype=dtypes[(t // 100) % 2],
            side=("after", "before")[t % 2], gather=bool((t // 3) % 2),
            shift=rng.random() < 0.1, bright=rng.random() < 0.1,
            mats=gen(rng, n, h, w).astype(np.float64),
        )
        done += n
        t += 1


# --------------------------------------------------------------------------- #
# Running a trial
# --------------------------------------------------------------------------- #
def run_trial(trial: Trial, arena: GuardedArena, rng: np.random.Generator) -> int:
    """Warp the guarded image by every matrix; return the count of bad output values."""
    from fastaug.warp import FILL_MODES, warp_affine, warp_nhwc

    h, w, c = trial.h, trial.w, trial.c
    dt = trial.in_dtype
    n = len(trial.mats)
    isize = h * w * c
    # gather: a dataset of two images; the guarded one is next to the guard page
    # and the other holds sentinels. Otherwise a batch of one image.
    k = 2 if trial.gather else 1
    raw = arena.array(k * isize * dt.itemsize, trial.side)
    data = raw.view(dt).reshape(k, h, w, c)
    guarded = k - 1 if trial.side == "after" else 0
    data[:] = SENTINEL[dt]
    top = TOP[dt]
    if dt == np.uint8:
        data[guarded] = rng.integers(0, int(top) + 1, (h, w, c), dtype=np.uint8)
    else:
        data[guarded] = rng.uniform(0.0, top, (h, w, c)).astype(np.float32)
    out_dt = trial.out_dtype
    if trial.gather or trial.shift or trial.bright:
        dst = np.empty((n, h, w, c), out_dt)
        index = np.full(n, guarded, dtype=np.int64)
        mats = np.ascontiguousarray(trial.mats.reshape(n, 6))
        scale = 255.0 if (dt == np.float32 and out_dt == np.uint8) else 1.0
        warp_nhwc(data, dst, mats, order=trial.order, mode=FILL_MODES.index(trial.mode),
                  cval=CVAL, scale=scale, index=index,
                  shifts=rng.uniform(-0.2, 0.2, n) * top if trial.shift else None,
                  brights=rng.uniform(0.5, 1.5, n) if trial.bright else None,
                  bright_range=(0.0, 255.0), num_threads=1)
    else:
        # The public path: one image, every matrix in turn (warp_affine validates
        # and never copies a C-contiguous input, so the guard stays in place).
        scale = 255.0 if (dt == np.float32 and out_dt == np.uint8) else 1.0
        dst = np.stack([
            warp_affine(data, m, order=trial.order, fill_mode=trial.mode, cval=CVAL,
                        out_dtype=out_dt, scale=scale, num_threads=1)[0]
            for m in trial.mats])
    # Bound on legitimate output values: the image's range (scaled), with
    # brightness allowing up to 1.5x; anything near SENTINEL came from outside.
    hi = top * scale * (1.5 if trial.bright else 1.0)
    if out_dt == np.uint8:
        hi = min(255.0, np.floor(hi + 0.5))
        tol = 0.0
    else:
        tol = 1e-4 * max(hi, 1.0)
    vals = dst.astype(np.float64)
    return int(np.count_nonzero((vals > hi + tol) | (vals < CVAL - tol) | ~np.isfinite(vals)))


def run(seed: int, matrices: int, report_every: float = 0.0) -> dict[str, int]:
    """Run the harness; the counts it returns are all it found (a fault kills it)."""
    max_bytes = 2 * 40 * 40 * 5 * 4
    arena = GuardedArena(max_bytes)
    rng = np.random.default_rng(seed + 1)
    counts = {"matrices": 0, "trials": 0, "out_of_image_values": 0, "faults": 0}
    start = last = time.monotonic()
    for trial in trials(seed, matrices):
        counts["out_of_image_values"] += run_trial(trial, arena, rng)
        counts["matrices"] += len(trial.mats)
        counts["trials"] += 1
        now = time.monotonic()
        if report_every and now - last > report_every:
            print(f"  {counts['matrices']} matrices, {now - start:.0f} s", flush=True)
            last = now
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--matrices", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    t0 = time.monotonic()
    counts = run(args.seed, args.matrices, report_every=10.0)
    # Reaching this line means no read hit a guard page.
    print(f"guard-page harness: {counts['matrices']} adversarial matrices in "
          f"{counts['trials']} kernel calls, {counts['faults']} faults, "
          f"{counts['out_of_image_values']} out-of-image values "
          f"({time.monotonic() - t0:.1f} s, seed {args.seed})")
    return 1 if counts["out_of_image_values"] else 0


if __name__ == "__main__":
    sys.exit(main())
