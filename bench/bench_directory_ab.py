"""``flow_from_directory`` of two fastaug trees, alternated in fresh processes: a same-run ratio.

Issue #15's first must-show compares today's ``flow_from_directory`` with the
one of the tree the issue was filed against (commit ``a65f014^``, before the
JPEG fast path), on the same machine in the same run. Each round runs one
process per tree, alternating (the order flips every round), with the
fastaug of that tree first on ``sys.path``; each process (started in its tree's folder) times
``ImageDataGenerator(<config>).flow_from_directory(root, target_size=(224,
224), batch_size=32, seed=0).prefetch(workers=2)`` over ``--batches`` batches
(a new stream per epoch, as a training loop), after a warm-up epoch part
(Numba's cache, the page cache), three times, and reports the median rate.
Configs: ``seed`` (the seed notes' generator: rotation 30, shifts 0.1, zoom
0.2, shear 0.2, both flips, fill nearest) and ``bench`` (bench_files.py's:
rotation 20, shifts 0.1, zoom 0.1, horizontal flip).

    git worktree add /tmp/fastaug-a65f014 a65f014^
    python bench/bench_directory_ab.py --old /tmp/fastaug-a65f014 [--new .]
        [--root /tmp/fastaug-jpeg] [--rounds 3] [--config seed]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import os, sys, time
os.environ.setdefault("KERAS_BACKEND", "jax")
import fastaug
from fastaug.keras import ImageDataGenerator
config, root, nb = sys.argv[1], sys.argv[2], int(sys.argv[3])
aug = {"seed": dict(rotation_range=30, width_shift_range=0.1, height_shift_range=0.1,
                    zoom_range=0.2, shear_range=0.2, horizontal_flip=True,
                    vertical_flip=True, fill_mode="nearest"),
       "bench": dict(rotation_range=20, width_shift_range=0.1, height_shift_range=0.1,
                     zoom_range=0.1, horizontal_flip=True)}[config]

def run(n):
    it = ImageDataGenerator(**aug).flow_from_directory(root, target_size=(224, 224),
                                                       batch_size=32, seed=0)
    done = 0
    while done < n:
        with it.prefetch(workers=2) as s:
            for x, _ in s:
                done += 1
                if done >= n:
                    break
    return 32 * n

run(4)
rates = []
for _ in range(3):
    t0 = time.perf_counter()
    rates.append(run(nb) / (time.perf_counter() - t0))
print(os.path.dirname(fastaug.__file__), sorted(rates)[1])
"""


def measure(tree: str, config: str, root: str, batches: int) -> tuple[str, float]:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
    # cwd: the tree itself, as ``python -c`` puts the working directory first on
    # sys.path (run from another checkout, that checkout's fastaug would win).
    out = subprocess.run([sys.executable, "-c", CHILD, config, root, str(batches)],
                         env=env, cwd=os.path.abspath(tree), capture_output=True, text=True,
                         check=True).stdout
    where, rate = out.strip().splitlines()[-1].rsplit(" ", 1)
    return where, float(rate)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--old", required=True, help="a checkout of the reference tree")
    p.add_argument("--new", default=str(HERE.parent), help="the tree to measure (this one)")
    p.add_argument("--root", default="/tmp/fastaug-jpeg")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batches", type=int, default=40)
    p.add_argument("--config", choices=("seed", "bench"), default="seed")
    a = p.parse_args()
    # bench_files.py's folder: 960 photo-like JPEGs.
    subprocess.run([sys.executable, str(HERE / "make_jpeg_folder.py"), "--root", a.root,
                    "--n", "960"], check=True)
    ratios = []
    for r in range(a.rounds):
        order = [a.old, a.new] if r % 2 == 0 else [a.new, a.old]
        got = {tree: measure(tree, a.config, a.root, a.batches) for tree in order}
        (w_old, old), (w_new, new) = got[a.old], got[a.new]
        ratios.append(new / old)
        print(f"round {r}: {w_old}: {old:,.0f} images/s; {w_new}: {new:,.0f} images/s; "
              f"ratio {new / old:.2f}")
    print(f"median ratio new / old over {a.rounds} rounds ({a.config} config): "
          f"{statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
