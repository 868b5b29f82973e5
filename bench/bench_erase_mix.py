"""RandomErasing: fastaug's batch transform against torchvision v2 per image, one thread.

``RandomErasing(p=1.0)`` (defaults otherwise: ``value=0``) on float32 batches
(128x32x32x3 and 32x224x224x3). fastaug runs the whole (N, H, W, C) batch with
one kernel thread (draw, copy and erase: the caller's batch is not modified);
torchvision runs ``v2.RandomErasing`` on every CHW float32 tensor of the same
batch (prepared beforehand, not timed; it clones each image) with
``torch.set_num_threads(1)``. With ``--in-compose`` fastaug's step follows a
``ToDtype`` pass from uint8 (the recipe's own array is erased in place) and
torchvision runs ``ToDtype`` + ``RandomErasing`` per image. The two are timed
in alternation (median of the rounds) so that a shared machine's load drifts
into both::

    PYTHONPATH=$PWD python bench/bench_erase_mix.py [--rounds 7] [--value random]

Prints one line per size: the batch time of each and the ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fastaug.transforms._compose import Compose
from fastaug.transforms._erase_mix import RandomErasing
from fastaug.transforms._transforms import ToDtype

SIZES = [(128, 32, 32), (32, 224, 224)]


def _time(fn, repeat: int) -> float:
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t) / repeat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--value", default="0", help="a number or 'random'")
    ap.add_argument("--in-compose", action="store_true",
                    help="after ToDtype(float32, scale=True) of uint8 images")
    args = ap.parse_args()
    value = args.value if args.value == "random" else float(args.value)

    import torch
    from torchvision.transforms import v2

    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    if args.in_compose:
        fa = Compose([ToDtype(np.float32, scale=True), RandomErasing(p=1.0, value=value)],
                     num_threads=1, seed=0)
        tv = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.RandomErasing(p=1.0,
                                                                               value=value)])
    else:
        fa = Compose([RandomErasing(p=1.0, value=value)], num_threads=1, seed=0)
        tv = v2.RandomErasing(p=1.0, value=value)
    for n, h, w in SIZES:
        if args.in_compose:
            x = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
        else:
            x = rng.random((n, h, w, 3), dtype=np.float32)
        tensors = [torch.from_numpy(im.transpose(2, 0, 1).copy()) for im in x]
        fa(x)  # compile / load the cached kernels
        for t in tensors[:2]:
            tv(t)
        rep_fa = max(1, int(0.2 / max(_time(lambda x=x: fa(x), 1), 1e-6)))
        rep_tv = max(1, int(0.2 / max(_time(lambda ts=tensors: [tv(t) for t in ts], 1),
                                      1e-6)))
        t_fa, t_tv = [], []
        for _ in range(args.rounds):
            t_fa.append(_time(lambda x=x: fa(x), rep_fa))
            t_tv.append(_time(lambda ts=tensors: [tv(t) for t in ts], rep_tv))
        a, b = float(np.median(t_fa)), float(np.median(t_tv))
        print(f"{n}x{h}x{w}x3 {x.dtype}: fastaug {a * 1e3:8.2f} ms/batch "
              f"({n / a:9.0f} img/s), torchvision v2 per image {b * 1e3:8.2f} ms/batch "
              f"({n / b:7.0f} img/s), speed-up {b / a:5.1f}x", flush=True)


if __name__ == "__main__":
    main()
