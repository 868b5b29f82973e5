"""The ``fastaug bench`` command: its options, their checks, and the run that prints the report.

:data:`DESCRIPTION` is the command's help text; :func:`add_arguments` adds the
options to a parser, :func:`run` turns parsed options into settings, measures
and prints, and :func:`main` does both from a command line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastaug._bench import _optional, _transforms
from fastaug._bench._libraries import COMPETITORS, CONFIG_COMPETITORS, CONFIGS
from fastaug._bench._measure import Progress, measure
from fastaug._bench._report import plot, render_markdown
from fastaug._pool import cpu_count

__all__ = ["DESCRIPTION", "add_arguments", "main", "parse_size", "run"]

DESCRIPTION = """\
``fastaug bench``: fastaug next to the libraries users would pick instead.

One process, interleaved rounds: every round times every (image size, config,
library) cell once, a cell's libraries back to back in a rotating order, so load
from other processes lands on all of them alike. The report gives the median
images/s per cell, its spread, and fastaug's speed-up (fastaug / library) as a
Markdown table (or JSON with ``--json``), with the machine it ran on.

Configurations (the seed notes):

* ``geometric``: ``ImageDataGenerator(rotation_range=30, width_shift_range=0.1,
  height_shift_range=0.1, zoom_range=0.2, shear_range=0.2, horizontal_flip=True,
  vertical_flip=True, fill_mode="nearest")``, float32 batches.
* ``zca``: the same plus ``zca_whitening=True``, fitted once before timing on the
  same small subset for every library.
* ``flips``: ``horizontal_flip=True, vertical_flip=True``.

Libraries, each only when installed: fastaug's ``ImageDataGenerator.flow``,
Keras's ``ImageDataGenerator.flow``, a per-image ``cv2.warpAffine`` loop,
albumentations (per-image ``Compose``), torchvision transforms v2 (per image:
a batched call shares one random draw) and Keras's per-channel
``scipy.ndimage.affine_transform`` loop. Libraries without ZCA whiten with the
fitted d x d matrix as one numpy GEMM per batch.

``fastaug.transforms`` configurations, only with ``--configs`` (use
``--threads 1`` for one-thread numbers): ``colorjitter``
(``ColorJitter(0.4, 0.4, 0.4, 0.1)``), ``trivialaugment``
(``TrivialAugmentWide()``), ``randaugment`` (``RandAugment()``), ``erasing``
(``RandomErasing(p=1)`` on float32) on uint8 batches; and the recipes, channels
first float32 out: ``crop-recipe`` (``RandomCrop(size, padding=size // 8,
reflect)``, flip, ``ToDtype``, ``Normalize``), ``rrc-recipe``
(``RandomResizedCrop(size)``, flip, ``ToDtype``, ``Normalize``), ``cj-recipe``
(``rrc-recipe`` with ``ColorJitter`` after the flip) and ``taw-erasing-recipe``
(``TrivialAugmentWide``, flip, ``ToDtype``, ``Normalize``,
``RandomErasing(p=0.25)``). They are compared with torchvision v2 per image,
albumentations per image (which has no TrivialAugment / RandAugment) and
``kornia.augmentation`` on the float batch (its ``auto.TrivialAugment`` /
``RandAugment`` draw one op per call for the whole batch).
"""

DEFAULT_SIZES = "28x28x1,32x32x3,224x224x3"


def parse_size(text: str) -> tuple[int, int, int]:
    """Parse ``"HxWxC"`` (or ``"HxW"``, one channel) into ``(H, W, C)``.

    Examples
    --------
    >>> from fastaug._bench import parse_size
    >>> parse_size("32x32x3"), parse_size("28x28")
    ((32, 32, 3), (28, 28, 1))
    """
    parts = text.strip().lower().split("x")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) == 2:
        nums.append(1)
    if len(nums) != 3 or min(nums) < 1 or nums[2] not in (1, 3, 4) or min(nums[:2]) < 2:
        raise ValueError(f"image size must look like HxWxC (e.g. 32x32x3, H, W >= 2, "
                         f"C in 1, 3, 4), got {text!r}")
    return nums[0], nums[1], nums[2]


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``fastaug bench`` options to ``p`` (the ``bench`` subparser).

    Examples
    --------
    >>> import argparse
    >>> from fastaug._bench import add_arguments
    >>> args = add_arguments(argparse.ArgumentParser()).parse_args(["--quick"])
    >>> args.quick, args.json
    (True, False)
    """
    p.add_argument("--quick", action="store_true",
                   help="3 short rounds on a smaller dataset (a few minutes at most)")
    p.add_argument("--sizes", default=DEFAULT_SIZES,
                   help="comma-separated image sizes HxWxC (default: %(default)s)")
    p.add_argument("--batch", type=int, default=None,
                   help="batch size (default: 128, or 32 above 64x64 pixels)")
    p.add_argument("--threads", type=int, default=None,
                   help="fastaug's num_threads, also cv2.setNumThreads and torch "
                        "(default: all usable cores)")
    p.add_argument("--competitors", default=None,
                   help="comma-separated libraries to compare with, each run only when "
                        f"installed: {', '.join(COMPETITORS)} (default: those the chosen "
                        f"configs are compared with: {', '.join(CONFIG_COMPETITORS)} for "
                        f"{', '.join(CONFIGS)}; {', '.join(_transforms.COMPETITORS)} for "
                        "the others)")
    p.add_argument("--configs", default=",".join(CONFIGS),
                   help="comma-separated configurations (default: %(default)s); also "
                        f"{', '.join(_transforms.TRANSFORM_CONFIGS)}: fastaug.transforms "
                        "ops and recipes against torchvision v2 per image, albumentations "
                        "and kornia")
    p.add_argument("--rounds", type=int, default=None,
                   help="interleaved rounds (default 9, quick 3)")
    p.add_argument("--duration", type=float, default=None,
                   help="seconds of timing in total, split across rounds and cells; set-up, "
                        "warm-up and calls longer than their share come on top "
                        "(default 60, quick 15)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--plot", type=Path, default=None, metavar="FILE.png",
                   help="also draw a bar chart of images/s (needs matplotlib)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress line on stderr")
    p.set_defaults(_bench_parser=p)
    return p


def _split(text: str, allowed: Sequence[str], what: str) -> list[str]:
    items = [s.strip().lower() for s in text.split(",") if s.strip()]
    bad = [s for s in items if s not in allowed]
    if bad or not items:
        raise ValueError(f"--{what}: unknown {', '.join(map(repr, bad)) or 'empty list'}; "
                         f"choose from {', '.join(allowed)}")
    return list(dict.fromkeys(items))


def _validate(args: argparse.Namespace) -> dict[str, Any]:
    """Options -> settings, raising ValueError with a message for the user."""
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    if not sizes:
        raise ValueError("--sizes: give at least one HxWxC size")
    configs = _split(args.configs, (*CONFIGS, *_transforms.TRANSFORM_CONFIGS), "configs")
    if args.competitors is None:
        wanted = set()
        for config in configs:
            wanted.update(CONFIG_COMPETITORS if config in CONFIGS else _transforms.COMPETITORS)
        competitors = [lib for lib in COMPETITORS if lib in wanted]
    else:
        competitors = _split(args.competitors, COMPETITORS, "competitors")
    for name in ("batch", "threads", "rounds"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise ValueError(f"--{name} must be >= 1, got {v}")
    if args.duration is not None and not args.duration > 0:
        raise ValueError(f"--duration must be > 0 seconds, got {args.duration}")
    if args.plot is not None:
        try:
            _optional.import_module("matplotlib")
        except ImportError:
            raise ValueError("--plot needs matplotlib: pip install matplotlib") from None
    return {
        "sizes": sizes,
        "batch": args.batch,
        "threads": args.threads or cpu_count(),
        "competitors": competitors,
        "configs": configs,
        "rounds": args.rounds or (3 if args.quick else 9),
        "duration": args.duration or (15.0 if args.quick else 60.0),
        "quick": bool(args.quick),
    }


def run(args: argparse.Namespace, argv: Sequence[str] | None = None) -> int:
    """Run ``fastaug bench`` with parsed options; print the report; return the exit code.

    ``argv`` is the command line as given (default ``sys.argv[1:]``), shown in the
    report.
    """
    parser = getattr(args, "_bench_parser", None)
    try:
        settings = _validate(args)
    except ValueError as e:
        if parser is not None:
            parser.error(str(e))  # exits 2 with the usage line
        print(f"fastaug bench: error: {e}", file=sys.stderr)
        return 2
    report = measure(settings, Progress(not args.no_progress))
    shown = list(sys.argv[1:] if argv is None else argv)
    if "bench" in shown:  # called through ``fastaug bench``: show the options only
        shown = shown[shown.index("bench") + 1:]
    report["command"] = " ".join(["fastaug bench", *shown])
    if args.plot is not None:
        plot(report, args.plot)
        report["plot"] = str(args.plot)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(render_markdown(report), end="")
        if args.plot is not None:
            print(f"\nBar chart: {args.plot}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``fastaug bench`` with command-line options ``argv`` (without ``bench``).

    Parameters
    ----------
    argv : sequence of str, optional
        The options (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0, or 2 for bad options (after argparse's message).

    Examples
    --------
    >>> from fastaug._bench import main
    >>> main(["--sizes", "8x8x1", "--batch", "2", "--rounds", "1", "--duration", "0.05",
    ...       "--competitors", "cv2", "--configs", "flips", "--no-progress"])
    ... # doctest: +ELLIPSIS
    ## fastaug bench: ...
    0
    """
    p = add_arguments(argparse.ArgumentParser(prog="fastaug bench", description=DESCRIPTION))
    args = p.parse_args(argv)
    return run(args, argv)
