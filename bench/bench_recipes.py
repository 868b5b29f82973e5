"""Training and evaluation recipes: fastaug.transforms against per-image libraries.

Side by side in one process, interleaved rounds, medians; ratios are what to
read (the machine is shared). Recipes (torchvision.transforms.v2 names):

* imagenet: ``RandomResizedCrop(224)``, ``RandomHorizontalFlip()``,
  ``ToDtype(float32, scale=True)``, ``Normalize(mean, std)`` on 32 decoded
  500x375 / 375x500 uint8 images (a ragged batch) -> (32, 3, 224, 224) float32.
* cifar: ``RandomCrop(32, padding=4, padding_mode="reflect")``, flip, ToDtype,
  Normalize on 128 images 32x32x3 -> (128, 3, 32, 32) float32.
* imagenet-colorjitter: the imagenet recipe with ``ColorJitter(0.4, 0.4, 0.4, 0.1)``
  after the flip (selected with ``--recipes``).
* cifar-taw-erasing: ``TrivialAugmentWide()``, ``RandomHorizontalFlip()``,
  ``ToDtype(float32, scale=True)``, ``Normalize(mean, std)``,
  ``RandomErasing(p=0.25)`` on the 128 CIFAR-sized images -> (128, 3, 32, 32)
  float32 (selected with ``--recipes``).
* eval: ``Resize(256)`` (antialias), ``CenterCrop(224)`` on the imagenet images,
  uint8 out, against Pillow's resize + crop per image.

Contenders (those installed): fastaug (one call per batch), torchvision v2 per
image on a CHW uint8 tensor view of the decoded image (then ``torch.stack``;
for imagenet also on a contiguous CHW tensor and on a PIL image),
albumentations per image on the HWC uint8 image (imagenet, imagenet-colorjitter:
``A.RandomResizedCrop(size=(224, 224))``, ``A.HorizontalFlip()``,
``A.ColorJitter(0.4, 0.4, 0.4, 0.1, p=1)``, ``A.Normalize(mean, std)``, then a
CHW transpose and ``np.stack``; OpenCV's bilinear resize without antialiasing),
``kornia.augmentation`` on one float batch (it needs one size: the landscape
images turned upright; CIFAR's reflect padding as ``PadTo`` + ``RandomCrop``;
uint8 -> float in [0, 1] inside the timed call), Pillow per image (eval). One
thread each (``torch.set_num_threads(1)``, ``cv2.setNumThreads(1)``,
``num_threads=1``) unless ``--threads``.

kornia's ColorJitter draws one order of the four adjustments per call (per
image elsewhere); kornia has no TrivialAugmentWide: cifar-taw-erasing's kornia
row runs ``kornia.augmentation.auto.TrivialAugment()`` (its own 12-op policy,
one op per call for the whole batch), so it is a rough comparison only.
albumentations has no TrivialAugment: no albumentations row there.

    PYTHONPATH=. python bench/bench_recipes.py [--recipes imagenet,cifar,eval,
        imagenet-colorjitter,cifar-taw-erasing]
        [--rounds 7] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastaug import transforms as T

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def _images(n: int, seed: int = 0) -> list[np.ndarray]:
    """Photo-like uint8 images, 500x375 and 375x500 (smooth gradients + noise)."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        h, w = (375, 500) if k % 2 == 0 else (500, 375)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        base = np.stack([xx / w, yy / h, (xx + yy) / (h + w)], axis=2) * 200
        noise = rng.normal(0, 12, (h, w, 3))
        out.append(np.clip(base + noise, 0, 255).astype(np.uint8))
    return out


def _torch():
    try:
        import torch
        from torchvision.transforms import v2
    except ImportError:
        return None, None
    return torch, v2


def _recipes(threads: int):
    torch, v2 = _torch()
    if torch is not None:
        torch.set_num_threads(threads)
    try:
        import cv2

        cv2.setNumThreads(threads)
    except ImportError:
        pass  # no OpenCV: no albumentations either
    big = _images(32)
    cifar = list(np.random.default_rng(1).integers(0, 256, (128, 32, 32, 3), dtype=np.uint8))
    cifar_arr = np.stack(cifar)
    rec: dict[str, dict[str, Callable[[], object]]] = {}

    fa_imnet = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(),
                          T.ToDtype(np.float32, scale=True), T.Normalize(MEAN, STD)],
                         data_format="channels_first", seed=0, num_threads=threads)
    rec["imagenet"] = {"fastaug": lambda: fa_imnet(big)}
    fa_imnet_cj = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(),
                             T.ColorJitter(0.4, 0.4, 0.4, 0.1),
                             T.ToDtype(np.float32, scale=True), T.Normalize(MEAN, STD)],
                            data_format="channels_first", seed=0, num_threads=threads)
    rec["imagenet-colorjitter"] = {"fastaug": lambda: fa_imnet_cj(big)}
    fa_cifar = T.Compose([T.RandomCrop(32, padding=4, padding_mode="reflect"),
                          T.RandomHorizontalFlip(), T.ToDtype(np.float32, scale=True),
                          T.Normalize(MEAN, STD)],
                         data_format="channels_first", seed=0, num_threads=threads)
    rec["cifar"] = {"fastaug": lambda: fa_cifar(cifar_arr)}
    fa_taw = T.Compose([T.TrivialAugmentWide(), T.RandomHorizontalFlip(),
                        T.ToDtype(np.float32, scale=True), T.Normalize(MEAN, STD),
                        T.RandomErasing(p=0.25)],
                       data_format="channels_first", seed=0, num_threads=threads)
    rec["cifar-taw-erasing"] = {"fastaug": lambda: fa_taw(cifar_arr)}
    fa_eval = T.Compose([T.Resize(256), T.CenterCrop(224)], num_threads=threads)
    rec["eval"] = {"fastaug": lambda: fa_eval(big)}

    from PIL import Image

    pil_big = [Image.fromarray(im) for im in big]

    def pil_eval():
        out = []
        for im in pil_big:
            w, h = im.size
            nw, nh = (256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256)
            r = im.resize((nw, nh), Image.BILINEAR)
            left, top = int(round((nw - 224) / 2)), int(round((nh - 224) / 2))
            out.append(np.asarray(r.crop((left, top, left + 224, top + 224))))
        return np.stack(out)

    rec["eval"]["Pillow per image"] = pil_eval

    if torch is not None:
        tv_big = [torch.from_numpy(im).permute(2, 0, 1) for im in big]
        tv_cifar = [torch.from_numpy(im).permute(2, 0, 1) for im in cifar]
        tv_imnet = v2.Compose([v2.RandomResizedCrop(224, antialias=True),
                               v2.RandomHorizontalFlip(), v2.ToDtype(torch.float32, scale=True),
                               v2.Normalize(MEAN, STD)])
        tv_cif = v2.Compose([v2.RandomCrop(32, padding=4, padding_mode="reflect"),
                             v2.RandomHorizontalFlip(), v2.ToDtype(torch.float32, scale=True),
                             v2.Normalize(MEAN, STD)])
        tv_ev = v2.Compose([v2.Resize(256, antialias=True), v2.CenterCrop(224)])
        rec["imagenet"]["torchvision v2 per image"] = lambda: torch.stack(
            [tv_imnet(t) for t in tv_big])
        # The same recipe on the other inputs torchvision users hold: a contiguous
        # CHW tensor (torchvision.io's decoders, .contiguous()) and a PIL image
        # (ImageFolder's default loader, torchvision's ImageNet reference script).
        # The view above (channels-last strides) is the fastest of the three.
        from PIL import Image

        tv_contig = [t.contiguous() for t in tv_big]
        pil_big = [Image.fromarray(im) for im in big]
        tv_imnet_pil = v2.Compose([v2.RandomResizedCrop(224, antialias=True),
                                   v2.RandomHorizontalFlip(), v2.ToImage(),
                                   v2.ToDtype(torch.float32, scale=True),
                                   v2.Normalize(MEAN, STD)])
        rec["imagenet"]["torchvision v2 per image (contiguous CHW tensor)"] = (
            lambda: torch.stack([tv_imnet(t) for t in tv_contig]))
        rec["imagenet"]["torchvision v2 per image (PIL image)"] = lambda: torch.stack(
            [tv_imnet_pil(im) for im in pil_big])
        tv_imnet_cj = v2.Compose([v2.RandomResizedCrop(224, antialias=True),
                                  v2.RandomHorizontalFlip(),
                                  v2.ColorJitter(0.4, 0.4, 0.4, 0.1),
                                  v2.ToDtype(torch.float32, scale=True),
                                  v2.Normalize(MEAN, STD)])
        rec["imagenet-colorjitter"]["torchvision v2 per image"] = lambda: torch.stack(
            [tv_imnet_cj(t) for t in tv_big])
        rec["cifar"]["torchvision v2 per image"] = lambda: torch.stack(
            [tv_cif(t) for t in tv_cifar])
        tv_taw = v2.Compose([v2.TrivialAugmentWide(), v2.RandomHorizontalFlip(),
                             v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD),
                             v2.RandomErasing(p=0.25)])
        rec["cifar-taw-erasing"]["torchvision v2 per image"] = lambda: torch.stack(
            [tv_taw(t) for t in tv_cifar])
        rec["eval"]["torchvision v2 per image"] = lambda: torch.stack(
            [tv_ev(t) for t in tv_big])
        try:
            import kornia.augmentation as K
        except ImportError:
            K = None
        if K is not None:
            # kornia takes one (N, C, H, W) float batch of one size: the 500x375 images
            # (landscape ones turned), uint8 -> float on the way in, as its users do.
            same = torch.from_numpy(np.stack([im if im.shape[0] == 375 else im.transpose(1, 0, 2)
                                              for im in big])).permute(0, 3, 1, 2)
            k_imnet = torch.nn.Sequential(
                K.RandomResizedCrop((224, 224)), K.RandomHorizontalFlip(),
                K.Normalize(torch.tensor(MEAN), torch.tensor(STD)))
            k_cifar = torch.nn.Sequential(
                K.PadTo((40, 40), pad_mode="reflect"), K.RandomCrop((32, 32)),
                K.RandomHorizontalFlip(), K.Normalize(torch.tensor(MEAN), torch.tensor(STD)))
            cifar_t = torch.from_numpy(cifar_arr).permute(0, 3, 1, 2)
            rec["imagenet"]["kornia.augmentation (batch)"] = lambda: k_imnet(
                same.float() / 255)
            rec["cifar"]["kornia.augmentation (batch)"] = lambda: k_cifar(cifar_t.float() / 255)
            k_imnet_cj = torch.nn.Sequential(
                K.RandomResizedCrop((224, 224)), K.RandomHorizontalFlip(),
                K.ColorJitter(0.4, 0.4, 0.4, 0.1, p=1.0),
                K.Normalize(torch.tensor(MEAN), torch.tensor(STD)))
            rec["imagenet-colorjitter"]["kornia.augmentation (batch)"] = lambda: k_imnet_cj(
                same.float() / 255)
            try:
                from kornia.augmentation.auto import TrivialAugment
            except ImportError:
                TrivialAugment = None
            if TrivialAugment is not None:
                k_taw = torch.nn.Sequential(
                    TrivialAugment(), K.RandomHorizontalFlip(),
                    K.Normalize(torch.tensor(MEAN), torch.tensor(STD)), K.RandomErasing(p=0.25))
                rec["cifar-taw-erasing"]["kornia.augmentation (batch, TrivialAugment)"] = (
                    lambda: k_taw(cifar_t.float() / 255))
    try:
        import albumentations as A
    except ImportError:
        A = None
        print("(albumentations not installed: no albumentations rows)")
    if A is not None:
        def albu(steps: list) -> Callable[[], object]:
            tf = A.Compose(steps)
            return lambda: np.stack([tf(image=im)["image"].transpose(2, 0, 1) for im in big])

        rrc = [A.RandomResizedCrop(size=(224, 224)), A.HorizontalFlip()]
        norm = A.Normalize(MEAN, STD)  # (x / 255 - mean) / std, float32
        rec["imagenet"]["albumentations per image"] = albu([*rrc, norm])
        rec["imagenet-colorjitter"]["albumentations per image"] = albu(
            [*rrc, A.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p=1.0),
             norm])
    counts = {"imagenet": len(big), "imagenet-colorjitter": len(big), "cifar": len(cifar),
              "cifar-taw-erasing": len(cifar), "eval": len(big)}
    return rec, counts, torch is not None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--recipes", default="imagenet,cifar,eval")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    rec, counts, have_torch = _recipes(args.threads)
    names = [r for r in args.recipes.split(",") if r]
    for name in names:
        fns = rec[name]
        for fn in fns.values():  # warm-up: compile, caches
            fn()
        times: dict[str, list[float]] = {k: [] for k in fns}
        for _ in range(args.rounds):
            for lib, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                times[lib].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"\n{name}: {counts[name]} images per batch, {args.threads} thread(s), "
              f"median of {args.rounds} interleaved rounds")
        print("| library | images/s | fastaug speed-up |")
        print("|---|--:|--:|")
        for lib, t in med.items():
            print(f"| {lib} | {counts[name] / t:,.0f} | {t / med['fastaug']:.2f}x |")
    if not have_torch:
        print("\n(torch/torchvision not installed: no torchvision rows)")


if __name__ == "__main__":
    main()
