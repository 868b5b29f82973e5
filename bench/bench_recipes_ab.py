"""The recipes of ``bench_recipes.py`` on two fastaug trees, alternated in fresh processes.

A kernel change is judged against the tree before it on the same machine in the
same run: each round runs one process per tree (the order flips every round),
started in that tree's folder with the tree first on ``sys.path``; the process
checks that it imported that tree's fastaug, then times each recipe on one
thread (3 warm-up calls, then the median of 7 timings of 5 calls) and prints
microseconds per image. Recipes: ``imagenet`` (32 photo-like 500x375 / 375x500
images -> RandomResizedCrop(224), flip, ToDtype, Normalize, channels first),
``imagenet-colorjitter`` (ColorJitter(0.4, 0.4, 0.4, 0.1) after the flip),
``cifar`` (128x32x32x3 -> RandomCrop(32, padding=4, reflect), flip, ToDtype,
Normalize) and ``eval`` (Resize(256), CenterCrop(224), uint8).

    git worktree add /tmp/fastaug-old <commit>
    python bench/bench_recipes_ab.py --old /tmp/fastaug-old [--new .] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECIPES = ("imagenet", "imagenet-colorjitter", "cifar", "eval")

CHILD = r"""
import json, os, sys, time
import numpy as np
import fastaug
import fastaug.transforms as T
tree = os.path.realpath(sys.argv[1])
assert os.path.realpath(fastaug.__file__).startswith(tree), (fastaug.__file__, tree)
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
rng = np.random.default_rng(0)
big = []
for k in range(32):  # bench_recipes.py's images
    h, w = (375, 500) if k % 2 == 0 else (500, 375)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([xx / w, yy / h, (xx + yy) / (h + w)], axis=2) * 200
    big.append(np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8))
cifar = np.random.default_rng(1).integers(0, 256, (128, 32, 32, 3), dtype=np.uint8)
cf = dict(data_format="channels_first", seed=0, num_threads=1)
tail = [T.ToDtype(np.float32, scale=True), T.Normalize(MEAN, STD)]
recipes = {
    "imagenet": (T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), *tail], **cf),
                 big),
    "imagenet-colorjitter": (T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(),
                                        T.ColorJitter(0.4, 0.4, 0.4, 0.1), *tail], **cf), big),
    "cifar": (T.Compose([T.RandomCrop(32, padding=4, padding_mode="reflect"),
                         T.RandomHorizontalFlip(), *tail], **cf), cifar),
    "eval": (T.Compose([T.Resize(256), T.CenterCrop(224)], num_threads=1), big),
}
out = {}
for name in sys.argv[2].split(","):
    f, data = recipes[name]
    for _ in range(3):
        f(data)
    times = []
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(5):
            f(data)
        times.append((time.perf_counter() - t0) / 5 / len(data) * 1e6)
    out[name] = float(np.median(times))
print(json.dumps(out))
"""


def measure(tree: str, recipes: str) -> dict[str, float]:
    """Microseconds per image of each recipe, in a fresh process of ``tree``."""
    tree = os.path.abspath(tree)
    env = dict(os.environ, PYTHONPATH=tree)
    # cwd: the tree itself, as ``python -c`` puts the working directory first on sys.path.
    out = subprocess.run([sys.executable, "-c", CHILD, tree, recipes], env=env, cwd=tree,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--old", required=True, help="a checkout of the reference tree")
    p.add_argument("--new", default=str(HERE.parent), help="the tree to measure (this one)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--recipes", default=",".join(RECIPES),
                   help=f"comma-separated, from {', '.join(RECIPES)}")
    a = p.parse_args()
    names = a.recipes.split(",")
    unknown = sorted(set(names) - set(RECIPES))
    if unknown:
        p.error(f"unknown recipes {unknown}; choose from {', '.join(RECIPES)}")
    ratios: dict[str, list[float]] = {name: [] for name in names}
    for r in range(a.rounds):
        order = [a.old, a.new] if r % 2 == 0 else [a.new, a.old]
        got = {tree: measure(tree, a.recipes) for tree in order}
        for name in names:
            old, new = got[a.old][name], got[a.new][name]
            ratios[name].append(old / new)
            print(f"round {r} {name}: old {old:.1f} us/image, new {new:.1f} us/image, "
                  f"speed-up {old / new:.2f}")
    for name in names:
        v = ratios[name]
        print(f"{name}: median speed-up new / old over {a.rounds} rounds "
              f"{statistics.median(v):.2f} (range {min(v):.2f}-{max(v):.2f})")


if __name__ == "__main__":
    main()
