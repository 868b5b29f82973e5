"""Images/s of ``fastaug.resample.resized_crop`` on ImageNet-like recipes, next to PIL.

Two workloads on ``--batch`` random 375x500 RGB uint8 images (photo-like: smooth
content plus noise), output 224x224 float32 channels-first, normalised with the
ImageNet mean/std:

* ``train``: RandomResizedCrop boxes (torchvision's sampling: scale (0.08, 1),
  ratio (3/4, 4/3)) + random horizontal flip + ToDtype + Normalize. fastaug: one
  ``resized_crop`` call. PIL: per image ``crop().resize()`` (bilinear,
  antialiased as PIL always is), transpose on flip, then numpy normalise.
* ``eval``: Resize(256) + CenterCrop(224) + ToDtype + Normalize. fastaug: one
  ``resized_crop`` call (``resize_to=(256, 341)``: only the 224x224 window is
  computed). PIL: ``resize().crop()`` + numpy normalise.
* ``cifar``: 128 random 32x32x3 uint8 images, RandomCrop(32, padding=4,
  padding_mode="reflect") + random horizontal flip + ToDtype + Normalize to
  (128, 3, 32, 32) float32: ``resized_crop``'s copy path (no resampling).
  numpy: one ``np.pad`` of the batch, then per image slice, flip, normalise.

Every timing is the median of ``--repeats`` batches, one thread (``num_threads=1``)
unless ``--threads`` says otherwise; load from other processes shifts all rows::

    python bench/bench_resample.py --batch 32 --repeats 5
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

# Run from a checkout: this tree's fastaug, not an installed one.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastaug.resample import resized_crop

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def make_images(n: int, h: int = 375, w: int = 500, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.empty((n, h, w, 3), np.uint8)
    for i in range(n):
        ph = rng.random(3) * 6
        base = np.stack([128 + 90 * np.sin(xx / (7 + 5 * k) + ph[k]) * np.cos(yy / 11)
                         for k in range(3)], 2)
        out[i] = np.clip(base + rng.normal(0, 12, base.shape), 0, 255)
    return out


def rrc_boxes(n: int, h: int, w: int, seed: int = 1) -> np.ndarray:
    """torchvision RandomResizedCrop.get_params (scale (0.08, 1), ratio (3/4, 4/3))."""
    rng = np.random.default_rng(seed)
    boxes = []
    area = h * w
    log_r = (math.log(3 / 4), math.log(4 / 3))
    for _ in range(n):
        for _ in range(10):
            ta = area * rng.uniform(0.08, 1.0)
            ar = math.exp(rng.uniform(*log_r))
            bw = int(round(math.sqrt(ta * ar)))
            bh = int(round(math.sqrt(ta / ar)))
            if 0 < bw <= w and 0 < bh <= h:
                boxes.append((int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1)),
                              bh, bw))
                break
        else:
            s = min(h, w)
            boxes.append(((h - s) // 2, (w - s) // 2, s, s))
    return np.array(boxes, np.int64)


def median_time(fn, repeats: int) -> float:
    fn()  # warm: compiles / caches
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    n = args.batch
    imgs = make_images(n)
    h, w = imgs.shape[1:3]
    boxes = rrc_boxes(n, h, w)
    flips = np.random.default_rng(2).random(n) < 0.5
    mul = 1 / (255 * STD)
    add = -MEAN / STD
    out = np.empty((n, 3, 224, 224), np.float32)

    def fa_train() -> None:
        resized_crop(imgs, boxes, 224, hflip=flips, mul=mul, add=add, out_dtype=np.float32,
                     data_format="channels_first", out=out, num_threads=args.threads)

    rh, rw = 256, int(256 * w / h)  # torchvision Resize(256): shorter side 256
    ct, cl = (rh - 224) // 2, (rw - 224) // 2

    def fa_eval() -> None:
        # Resize(256) + CenterCrop(224): the 224 window of the (256, rw) resize, one pass.
        resized_crop(imgs, [0, 0, h, w], 224, resize_to=(rh, rw), mul=mul, add=add,
                     out_dtype=np.float32, data_format="channels_first", out=out,
                     num_threads=args.threads)

    nc = 128
    cifar = np.random.default_rng(3).integers(0, 256, (nc, 32, 32, 3), dtype=np.uint8)
    crng = np.random.default_rng(4)
    cboxes = np.stack([crng.integers(-4, 5, nc), crng.integers(-4, 5, nc),
                       np.full(nc, 32), np.full(nc, 32)], axis=1)
    cflips = crng.random(nc) < 0.5
    cout = np.empty((nc, 3, 32, 32), np.float32)

    def fa_cifar() -> None:
        resized_crop(cifar, cboxes, 32, hflip=cflips, padding_mode="reflect", mul=mul, add=add,
                     out_dtype=np.float32, data_format="channels_first", out=cout,
                     num_threads=args.threads)

    m32c, a32c = mul.astype(np.float32), add.astype(np.float32)

    def np_cifar() -> None:
        padded = np.pad(cifar, ((0, 0), (4, 4), (4, 4), (0, 0)), mode="reflect")
        for i, (t, lf, _, _) in enumerate(cboxes):
            im = padded[i, t + 4:t + 36, lf + 4:lf + 36]
            if cflips[i]:
                im = im[:, ::-1]
            cout[i] = (im.astype(np.float32) * m32c + a32c).transpose(2, 0, 1)

    rows = [("train fastaug", fa_train), ("eval fastaug", fa_eval)]
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        Image = None
    if Image is not None:
        pils = [Image.fromarray(im) for im in imgs]
        m32, a32 = mul.astype(np.float32), add.astype(np.float32)

        def norm(arr: np.ndarray, i: int) -> None:
            out[i] = (arr.astype(np.float32) * m32 + a32).transpose(2, 0, 1)

        def pil_train() -> None:
            for i, (p, (t, lf, bh, bw)) in enumerate(zip(pils, boxes)):
                r = p.crop((lf, t, lf + bw, t + bh)).resize((224, 224), Image.BILINEAR)
                if flips[i]:
                    r = r.transpose(Image.FLIP_LEFT_RIGHT)
                norm(np.asarray(r), i)

        def pil_eval() -> None:
            for i, p in enumerate(pils):
                r = p.resize((rw, rh), Image.BILINEAR).crop((cl, ct, cl + 224, ct + 224))
                norm(np.asarray(r), i)

        rows += [("train PIL+numpy", pil_train), ("eval PIL+numpy", pil_eval)]
    rows += [("cifar fastaug", fa_cifar), ("cifar numpy", np_cifar)]
    print(f"batch {n} of {h}x{w}x3 uint8 -> {n}x3x224x224 float32 (cifar: {nc} of 32x32x3 "
          f"-> {nc}x3x32x32), threads {args.threads}")
    for name, fn in rows:
        k = nc if name.startswith("cifar") else n
        t = median_time(fn, args.repeats * (20 if k == nc else 1))
        print(f"{name:18s} {t * 1e3:8.2f} ms/batch  {k / t:8.0f} images/s")


if __name__ == "__main__":
    main()
