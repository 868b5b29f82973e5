"""fastaug.warp_affine next to cv2 and scipy, interleaved, in one process.

For every (workload, config) cell the contenders are fastaug on 1 and 2 threads,
a per-image ``cv2.warpAffine`` loop on one cv2 thread (``cv2.flip`` for the
flips-only row), and Keras's per-channel scipy loop, all on the same uint8 batch
and the same matrices (see ``_workloads.py``); with torchvision installed, the
bilinear-constant cells add ``torchvision.transforms.v2.functional.affine`` on the
whole batch with one matrix, on 1 and 2 torch threads (timing only). Each
round times every contender of every cell once, a cell's contenders back to back
in a rotating order, so load from other processes lands on all of them alike; the
table reports the
median per-round time as images/s and the ratios of those medians (the PASS/FAIL
lines add the median of the per-round ratios as a cross-check). Before timing,
the outputs are checked against each other so the comparison is apples to apples.

    python bench/compare_warp.py                      # everything, 15 rounds
    python bench/compare_warp.py --quick              # 3 rounds, short samples
    python bench/compare_warp.py --workloads cifar imagenet --configs bilinear-reflect

Prints a Markdown table to stdout, then PASS/FAIL lines for the issue's
must-show ratios. Exits 1 only if an agreement check fails (the timings would
then compare different work); a slow ratio is a FAIL line, not an error.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
# Benchmark this checkout even if another fastaug is installed (as cold_start.py).
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from _workloads import (
    CONFIGS,
    WORKLOADS,
    Config,
    Workload,
    cv2_runner,
    fastaug_runner,
    interior_mask,
    make_images,
    matrices_for,
    scipy_runner,
)

# Timing samples, rotation and machine notes are shared with ``fastaug bench``.
from fastaug._bench import BUSY_LOAD, Contender, machine_info, rotated
from fastaug._pool import cpu_count

try:
    import cv2
except ImportError:  # pragma: no cover - optional
    cv2 = None
try:
    import scipy
except ImportError:  # pragma: no cover - optional
    scipy = None
try:
    import torch
    from torchvision.transforms import v2 as _tv2
    from torchvision.transforms.v2 import functional as tvf
except ImportError:  # pragma: no cover - optional
    torch = None

CONTENDERS = ("fastaug-1t", "fastaug-2t", "cv2-1t", "scipy", "tv-1m-1t", "tv-1m-2t")

# The must-show thresholds: (workload, config, numerator, denominator, min).
MUST_SHOW = (
    ("cifar", "bilinear-reflect", "fastaug-1t", "cv2-1t", 1.5),
    ("imagenet", "bilinear-reflect", "fastaug-1t", "cv2-1t", 1.0),
    ("imagenet", "bilinear-reflect", "fastaug-2t", "fastaug-1t", 1.6),
    # Flips and whole-pixel shifts as row copies: at least cv2.flip on every shape.
    ("cifar", "flips-only", "fastaug-1t", "cv2-1t", 1.0),
    ("mnist", "flips-only", "fastaug-1t", "cv2-1t", 1.0),
    ("imagenet", "flips-only", "fastaug-1t", "cv2-1t", 1.0),
    # One channel with the lanes across pixels; two threads on small batches.
    ("mnist", "bilinear-reflect", "fastaug-1t", "cv2-1t", 2.0),
    ("cifar", "bilinear-reflect", "fastaug-2t", "fastaug-1t", 1.85),
    ("mnist", "bilinear-reflect", "fastaug-2t", "fastaug-1t", 1.85),
    # One channel against torchvision's affine with one matrix for the whole batch
    # (the same fill: torchvision's affine fills with a constant), same threads.
    ("mnist", "bilinear-constant", "fastaug-1t", "tv-1m-1t", 1.0),
    ("mnist", "bilinear-constant", "fastaug-2t", "tv-1m-2t", 1.0),
)

# torchvision's parameters for its one matrix: a draw of the Keras-style ranges
# the workloads use (rotation 30, shifts 0.1, zoom 0.2, shear 0.2).
_TV_AFFINE = dict(angle=17.0, translate=[2, -1], scale=1.1, shear=[6.0, 0.0])


def torchvision_runner(images: np.ndarray, threads: int):
    """One ``torchvision.transforms.v2.functional.affine`` call on the whole batch.

    The batch as a contiguous (N, C, H, W) uint8 tensor, made up front; bilinear,
    fill 0; one matrix for every image (what torchvision does with a batch), so
    it computes one sampling grid where fastaug computes one per image. The
    thread count is set at each call (a no-op unless another contender changed it).
    """
    x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
    interp = _tv2.InterpolationMode.BILINEAR

    def run():
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        return tvf.affine(x, interpolation=interp, fill=0, **_TV_AFFINE)

    return run



@dataclass
class Cell:
    """One (workload, config) row of the table."""

    workload: Workload
    config: Config
    contenders: dict[str, Contender]
    agreement: dict[str, float]
    problems: list[str]

    def ratio(self, num: str, den: str) -> float | None:
        a, b = self.contenders.get(num), self.contenders.get(den)
        if a is None or b is None or not a.times or not b.times:
            return None
        return a.images_per_s / b.images_per_s

    def paired_ratio(self, num: str, den: str) -> float | None:
        """Median over rounds of the per-round images/s ratio.

        Both samples of a round were taken moments apart, so slow drifts in the
        machine's load cancel; a cross-check on the ratio of medians.
        """
        a, b = self.contenders.get(num), self.contenders.get(den)
        if a is None or b is None or not a.times or not b.times:
            return None
        return statistics.median((a.images / ta) / (b.images / tb)
                                 for ta, tb in zip(a.times, b.times))


def build_cell(wl: Workload, cfg: Config, target_s: float) -> Cell:
    """Set up, cross-check and calibrate every contender of one cell."""
    images = make_images(wl.shape)
    mats = matrices_for(wl, cfg)
    contenders: dict[str, Contender] = {}
    outs: dict[str, np.ndarray] = {}
    agreement: dict[str, float] = {}
    problems: list[str] = []

    for t in (1, 2):
        run, out = fastaug_runner(images, mats, cfg, t)
        contenders[f"fastaug-{t}t"] = Contender(f"fastaug-{t}t", run, wl.n)
        outs[f"fastaug-{t}t"] = out
    if cv2 is not None:
        run, out = cv2_runner(images, mats, cfg)
        contenders["cv2-1t"] = Contender("cv2-1t", run, wl.n)
        outs["cv2-1t"] = out
    if scipy is not None:
        run, out, k = scipy_runner(images, mats, cfg, wl.scipy_images)
        contenders["scipy"] = Contender("scipy", run, k)
        outs["scipy"] = out

    if torch is not None and cfg.order == 1 and cfg.fill_mode == "constant":
        for t in (1, 2):
            contenders[f"tv-1m-{t}t"] = Contender(f"tv-1m-{t}t", torchvision_runner(images, t),
                                                  wl.n)

    for c in contenders.values():
        c.calibrate(target_s)

    # Threads split the batch, they must not change a single value.
    if not np.array_equal(outs["fastaug-1t"], outs["fastaug-2t"]):
        problems.append("fastaug 2 threads differs from 1 thread")
    ref = outs["fastaug-1t"].astype(np.int16)
    if "cv2-1t" in outs:
        diff = np.abs(ref - outs["cv2-1t"].astype(np.int16))
        if cfg.flips_only:
            agreement["cv2"] = float(diff.max())
            if diff.any():
                problems.append("fastaug flips differ from cv2.flip")
        else:
            # Interior only: at the border the two differ by design (see
            # interior_mask); cv2's 1/32-pixel coordinates differ by < 1 level.
            mask = interior_mask(mats, wl.h, wl.w)
            mad = float(diff[mask].mean())
            agreement["cv2"] = mad
            agreement["cv2_max"] = float(diff[mask].max())
            if mad >= 2.0:
                problems.append(f"mean |fastaug - cv2| = {mad:.2f} >= 2 on interior pixels")
    if "scipy" in outs:
        k = outs["scipy"].shape[0]
        # fastaug rounds to uint8, scipy stays float32: up to 0.5 apart, with a
        # little slack for the float32 blend.
        err = float(np.abs(ref[:k] - outs["scipy"]).max())
        agreement["scipy"] = err
        if err > 1.0:
            problems.append(f"max |fastaug - scipy| = {err:.2f} > 1")
    return Cell(wl, cfg, contenders, agreement, problems)


def fmt_rate(c: Contender | None) -> str:
    if c is None or not c.times:
        return "-"
    return f"{c.images_per_s:,.0f}"


def fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


def table(cells: list[Cell]) -> list[str]:
    """The Markdown table, one row per cell."""
    lines = [
        ("| workload | config | fastaug 1t img/s | fastaug 2t img/s | cv2 1t img/s "
         "| scipy (Keras) img/s | fastaug 1t / cv2 | 2t / 1t | fastaug 1t / scipy "
         "| IQR % (fa1t, cv2) | agree vs cv2 |"),
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for cell in cells:
        cs = cell.contenders
        fa, cv = cs.get("fastaug-1t"), cs.get("cv2-1t")
        iqrs = [c.iqr_pct for c in (fa, cv) if c is not None]
        iqr = ", ".join("-" if q is None else f"{q:.0f}" for q in iqrs) or "-"
        if "cv2" not in cell.agreement:
            agree = "-"
        elif cell.config.flips_only:
            agree = "exact" if cell.agreement["cv2"] == 0 else f"max {cell.agreement['cv2']:.0f}"
        else:
            agree = f"mad {cell.agreement['cv2']:.2g}, max {cell.agreement['cv2_max']:.0f}"
        lines.append(
            f"| {cell.workload.label} | {cell.config.name}"
            f"{' (cv2.flip)' if cell.config.flips_only else ''} "
            f"| {fmt_rate(fa)} | {fmt_rate(cs.get('fastaug-2t'))} | {fmt_rate(cv)} "
            f"| {fmt_rate(cs.get('scipy'))} "
            f"| {fmt_ratio(cell.ratio('fastaug-1t', 'cv2-1t'))} "
            f"| {fmt_ratio(cell.ratio('fastaug-2t', 'fastaug-1t'))} "
            f"| {fmt_ratio(cell.ratio('fastaug-1t', 'scipy'))} | {iqr} | {agree} |"
        )
    tv = [cell for cell in cells if "tv-1m-1t" in cell.contenders]
    if tv:
        lines += [
            "",
            "| workload | config | fastaug 1t img/s | torchvision 1 matrix 1t img/s "
            "| fastaug 2t img/s | torchvision 1 matrix 2t img/s | 1t ratio | 2t ratio |",
            "|---|---|--:|--:|--:|--:|--:|--:|",
        ]
        for cell in tv:
            cs = cell.contenders
            lines.append(
                f"| {cell.workload.label} | {cell.config.name} | {fmt_rate(cs['fastaug-1t'])} "
                f"| {fmt_rate(cs['tv-1m-1t'])} | {fmt_rate(cs['fastaug-2t'])} "
                f"| {fmt_rate(cs['tv-1m-2t'])} "
                f"| {fmt_ratio(cell.ratio('fastaug-1t', 'tv-1m-1t'))} "
                f"| {fmt_ratio(cell.ratio('fastaug-2t', 'tv-1m-2t'))} |")
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="3 rounds of ~20 ms samples (a smoke run, not for reporting)")
    p.add_argument("--rounds", type=int, default=None, help="rounds (default 15, quick 3)")
    p.add_argument("--sample-ms", type=float, default=None,
                   help="target duration of one sample in ms (default 50, quick 20)")
    p.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    p.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    args = p.parse_args(argv)
    if args.rounds is None:
        args.rounds = 3 if args.quick else 15
    if args.sample_ms is None:
        args.sample_ms = 20.0 if args.quick else 50.0
    if args.rounds < 1:
        p.error("--rounds must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if cv2 is not None:
        # cv2 parallelises warpAffine internally; the comparison is one thread each.
        cv2.setNumThreads(1)
    load_before = os.getloadavg()
    wall0 = time.perf_counter()

    cells = [build_cell(WORKLOADS[w], CONFIGS[c], args.sample_ms / 1e3)
             for w in args.workloads for c in args.configs]
    for r in range(args.rounds):
        for cell in rotated(cells, r):
            # A cell's contenders run back to back, so each round compares them
            # within a fraction of a second of each other (a paired sample); the
            # rotation keeps any one of them from always going first (cold
            # caches) or sitting at the same phase of a periodic background job.
            for c in rotated(list(cell.contenders.values()), r):
                c.sample()

    load_after = os.getloadavg()
    wall = time.perf_counter() - wall0

    cmd = "python bench/compare_warp.py " + " ".join(sys.argv[1:] if argv is None else argv)
    title = (f"## warp_affine: images/s (median of {args.rounds} interleaved rounds, "
             "uint8 in and out)")
    out = [title, "", f"Command: `{cmd.strip()}`", ""]
    out += machine_info()
    out.append(f"- load average (1/5/15 min) before: {load_before[0]:.2f} / "
               f"{load_before[1]:.2f} / {load_before[2]:.2f}; after: {load_after[0]:.2f} / "
               f"{load_after[1]:.2f} / {load_after[2]:.2f}; run took {wall:.0f} s")
    busy = load_before[0] > BUSY_LOAD
    if busy:
        out.append(f"- WARNING: the machine was busy (1-min load {load_before[0]:.2f} > "
                   f"{BUSY_LOAD}); absolute numbers and the 2t/1t ratio are unreliable")
    out.append("")
    out += table(cells)
    out += [
        "",
        "fastaug: one `warp_affine` call per batch. cv2: per-image `cv2.warpAffine` loop "
        "(WARP_INVERSE_MAP, same matrices, equivalent border; `cv2.flip` for flips-only), "
        "`cv2.setNumThreads(1)`. scipy: Keras's loop, float32 `affine_transform` per channel "
        "(a float32 slice flip for flips-only), on the first "
        + ", ".join(f"{w.scipy_images} ({w.name})" for w in (WORKLOADS[n] for n in args.workloads))
        + " images, scaled. IQR: spread of the per-round times. agree: mean |fastaug - cv2| "
        "on interior pixels, and the max, in uint8 levels (nearest interpolation "
        "rounds ties differently: cv2 snaps coordinates to 1/1024 pixel). torchvision (when "
        "installed; 'constant' fill only, its affine's fill): `v2.functional.affine` once on "
        "the whole (N, C, H, W) uint8 tensor with one matrix for every image, "
        "`torch.set_num_threads` 1 or 2; timing only (one matrix is not the same matrices).",
        "",
    ]
    print("\n".join(out))

    failed_agreement = False
    for cell in cells:
        for msg in cell.problems:
            failed_agreement = True
            print(f"AGREEMENT FAIL: {cell.workload.label} {cell.config.name}: {msg}")
    by_key = {(c.workload.name, c.config.name): c for c in cells}
    for wname, cname, num, den, need in MUST_SHOW:
        cell = by_key.get((wname, cname))
        got = cell.ratio(num, den) if cell else None
        what = f"{WORKLOADS[wname].label} {cname}: {num} / {den} >= {need}"
        if got is None:
            print(f"SKIP {what} (not run)")
            continue
        verdict = "PASS" if got >= need else "FAIL"
        note = f" (median of per-round ratios {cell.paired_ratio(num, den):.2f})"
        if num == "fastaug-2t" and busy:
            note += " (machine busy: two threads compete with other work, not conclusive)"
        print(f"{verdict} {what}: {got:.2f}{note}")
    if cpu_count() < 2:
        print("NOTE: fewer than 2 usable cores: the 2-thread numbers mean nothing here")
    return 1 if failed_agreement else 0


if __name__ == "__main__":
    sys.exit(main())
