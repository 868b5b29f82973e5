"""Train a small CNN with PyTorch on a folder of images, with the ImageNet-style recipe.

A folder in torchvision's ``ImageFolder`` layout (one sub-folder per class) is
read file by file: each batch's paths go straight into ``fastaug.transforms``'
ImageNet training recipe, which decodes the JPEGs (images of any size; only the
crop boxes when libjpeg-turbo 3 is found) and runs it in one native pass:
``RandomResizedCrop``, ``RandomHorizontalFlip``, ``ToDtype(float32, scale=True)``,
``Normalize``, channels first. Evaluation uses ``Resize`` + ``CenterCrop``.
Batches arrive through :class:`fastaug.adapters.TorchIterableDataset`, keyed by
(seed, epoch, k) as everywhere in fastaug, so DataLoader workers never repeat
each other.

    python examples/train_torch_folder.py                 # a generated folder of JPEGs
    python examples/train_torch_folder.py --data-dir ~/data/imagenette2-160/train

Without ``--data-dir`` a small folder of synthetic photos (two classes of
different content, random sizes) is written to a temporary directory first.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import torch
from torch import nn

from fastaug import transforms as T
from fastaug.adapters import TorchIterableDataset

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def make_folder(root: str, per_class: int = 48, seed: int = 0) -> str:
    """Two classes of synthetic photos (stripes vs blobs) of random sizes, as JPEGs."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for cls in ("stripes", "blobs"):
        os.makedirs(os.path.join(root, cls), exist_ok=True)
        for k in range(per_class):
            h, w = int(rng.integers(120, 260)), int(rng.integers(120, 260))
            yy, xx = np.mgrid[0:h, 0:w]
            if cls == "stripes":
                v = 127 + 100 * np.sin(xx / rng.uniform(3, 8))
            else:
                cy, cx = rng.uniform(0, h), rng.uniform(0, w)
                v = 255 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (h / 5) ** 2))
            img = np.clip(v[:, :, None] + rng.normal(0, 10, (h, w, 3)), 0, 255)
            Image.fromarray(img.astype(np.uint8)).save(os.path.join(root, cls, f"{k}.jpg"))
    return root


def list_folder(root: str) -> tuple[list[str], np.ndarray, list[str]]:
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    paths, labels = [], []
    for i, c in enumerate(classes):
        for name in sorted(os.listdir(os.path.join(root, c))):
            paths.append(os.path.join(root, c, name))
            labels.append(i)
    return paths, np.array(labels, np.int64), classes


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", help="ImageFolder layout (default: a generated folder)")
    p.add_argument("--size", type=int, default=96, help="training crop size")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--loader-workers", type=int, default=0)
    p.add_argument("--torch-threads", type=int, default=1)
    args = p.parse_args()

    torch.set_num_threads(args.torch_threads)
    torch.manual_seed(args.seed)
    root = args.data_dir or make_folder(tempfile.mkdtemp(prefix="fastaug-folder-"))
    paths, labels, classes = list_folder(root)
    print(f"{len(paths)} images in {len(classes)} classes under {root}")

    # A recipe takes file paths as well as arrays: it decodes them as RGB.
    train = T.Compose([T.RandomResizedCrop(args.size), T.RandomHorizontalFlip(),
                       T.ToDtype(np.float32, scale=True), T.Normalize(MEAN, STD)],
                      data_format="channels_first", num_threads=1)
    ds = TorchIterableDataset(paths, labels, train, batch_size=args.batch_size,
                              seed=args.seed, prefetch=2 if args.loader_workers == 0 else 0)
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=args.loader_workers)
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=2), nn.ReLU(), nn.Conv2d(16, 32, 3, stride=2), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, len(classes)))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        ds.set_epoch(epoch)
        total, n = 0.0, 0
        for bx, by in loader:
            opt.zero_grad()
            loss = loss_fn(model(bx), by)
            loss.backward()
            opt.step()
            total += loss.item() * len(by)
            n += len(by)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / n:.4f}")
    print(f"trained {args.epochs} epochs in {time.perf_counter() - t0:.1f} s")

    evaluate = T.Compose([T.Resize(int(args.size * 256 / 224)), T.CenterCrop(args.size),
                          T.ToDtype(np.float32, scale=True), T.Normalize(MEAN, STD)],
                         data_format="channels_first")
    model.eval()
    with torch.no_grad():
        correct = 0
        for k in range(0, len(paths), 64):
            xb = torch.from_numpy(evaluate(paths[k:k + 64]))
            correct += int((model(xb).argmax(1).numpy() == labels[k:k + 64]).sum())
    print(f"accuracy on the training folder (evaluation recipe): {correct / len(paths):.3f}")


if __name__ == "__main__":
    main()
