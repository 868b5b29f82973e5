"""Train a small CNN with PyTorch, fed by fastaug.

The data stays uint8 NCHW; :class:`fastaug.adapters.TorchIterableDataset` yields
whole augmented float32 batches (``DataLoader(batch_size=None)``). With
``--loader-workers W`` the ``DataLoader`` runs W processes, worker w making the
batches k with k % W == w, each keyed by (seed, epoch, k): no worker repeats
another's augmentation and the epoch is the same as with 0 workers. With 0 loader
workers, ``--prefetch`` produces batches ahead on a background thread instead.

    python examples/train_torch.py                       # synthetic Fashion-MNIST-shaped data
    python examples/train_torch.py --dataset cifar10     # synthetic CIFAR-10-shaped data
    python examples/train_torch.py --dataset fashion_mnist --data-dir ~/data/fashion-mnist
    python examples/train_torch.py --dataset cifar10 --data-dir ~/data/cifar-10-batches-py
    python examples/train_torch.py --dataset cifar10 --recipe torchvision   # the CIFAR recipe

Cores: torch trains on ``--torch-threads``; augmentation uses ``--threads`` per
batch on each producer. On 2 cores, 1 + 1.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _data import add_common_arguments, load
from torch import nn

import fastaug
from fastaug import transforms as T
from fastaug.adapters import TorchIterableDataset


def build_model(channels: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(channels, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3), nn.ReLU(), nn.AdaptiveMaxPool2d(4), nn.Flatten(),
        nn.Linear(32 * 16, 10),
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(p)
    p.add_argument("--loader-workers", type=int, default=0, help="DataLoader processes")
    p.add_argument("--prefetch", type=int, default=2, help="batches ahead (0 loader workers)")
    p.add_argument("--torch-threads", type=int, default=1)
    p.add_argument("--recipe", choices=["affine", "torchvision"], default="affine",
                   help="fastaug.RandomAffine (Keras-style), or the torchvision CIFAR recipe "
                        "(RandomCrop(padding=4, reflect), flip, ToDtype, Normalize) from "
                        "fastaug.transforms")
    args = p.parse_args()

    torch.set_num_threads(args.torch_threads)
    torch.manual_seed(args.seed)
    (x, y), (xv, yv), source = load(args.dataset, args.data_dir, args.limit,
                                    args.synthetic_size)
    print(f"{args.dataset}: {len(x)} train / {len(xv)} test images {x.shape[1:]} ({source})")
    channels = x.shape[3]
    if args.recipe == "torchvision":
        # Channels-last uint8 in, (N, C, H, W) float32 out, one pass per batch.
        mean, std = [0.5] * channels, [0.25] * channels
        aug = T.Compose([T.RandomCrop(x.shape[1], padding=4, padding_mode="reflect"),
                         T.RandomHorizontalFlip(), T.ToDtype(np.float32, scale=True),
                         T.Normalize(mean, std)],
                        data_format="channels_first", num_threads=args.threads)
        test_recipe = T.Compose([T.ToDtype(np.float32, scale=True), T.Normalize(mean, std)],
                                data_format="channels_first")
    else:
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # NCHW, still uint8
        aug = fastaug.RandomAffine(rotation_range=10, width_shift_range=0.1,
                                   height_shift_range=0.1, zoom_range=0.1,
                                   horizontal_flip=args.dataset == "cifar10",
                                   out_dtype=np.float32, scale=1 / 255,
                                   data_format="channels_first", num_threads=args.threads)
        test_recipe = T.Compose([T.ToDtype(np.float32, scale=True)],
                                data_format="channels_first")
    ds = TorchIterableDataset(x, y, aug, batch_size=args.batch_size, seed=args.seed,
                              prefetch=args.prefetch if args.loader_workers == 0 else 0)
    loader = torch.utils.data.DataLoader(ds, batch_size=None,
                                         num_workers=args.loader_workers)
    model = build_model(channels)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        ds.set_epoch(epoch)  # a new plan and new augmentations every epoch
        model.train()
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
    model.eval()
    with torch.no_grad():
        xt = torch.from_numpy(test_recipe(np.ascontiguousarray(xv)))
        acc = (model(xt).argmax(1).numpy() == yv).mean()
    print(f"test accuracy {acc:.3f}")


if __name__ == "__main__":
    main()
