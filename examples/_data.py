"""Dataset loading for the examples: the standard files when present, else synthetic.

* Fashion-MNIST: the four idx files as distributed
  (``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
  ``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``; plain or gzipped)
  in ``--data-dir``.
* CIFAR-10: the python version (``cifar-10-batches-py/data_batch_1..5`` and
  ``test_batch``), in ``--data-dir`` or ``--data-dir/cifar-10-batches-py``.

Everything comes back as uint8 NHWC images and int64 labels; nothing is converted
to float (fastaug does that per batch).
"""

from __future__ import annotations

import argparse
import gzip
import os
import pickle
import struct

import numpy as np

SHAPES = {"fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3)}


def _open(path: str):
    if os.path.exists(path):
        return open(path, "rb")
    if os.path.exists(path + ".gz"):
        return gzip.open(path + ".gz", "rb")
    raise FileNotFoundError(path)


def _idx(path: str) -> np.ndarray:
    with _open(path) as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not a uint8 idx file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion_mnist(data_dir: str):
    def part(prefix: str):
        x = _idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte"))
        y = _idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte"))
        return x[..., None].copy(), y.astype(np.int64)

    return part("train"), part("t10k")


def load_cifar10(data_dir: str):
    sub = os.path.join(data_dir, "cifar-10-batches-py")
    root = sub if os.path.isdir(sub) else data_dir

    def read(name: str):
        with open(os.path.join(root, name), "rb") as f:
            d = pickle.load(f, encoding="bytes")
        x = np.asarray(d[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return np.ascontiguousarray(x), np.asarray(d[b"labels"], np.int64)

    parts = [read(f"data_batch_{i}") for i in range(1, 6)]
    train = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    return train, read("test_batch")


def synthetic(dataset: str, n_train: int, n_test: int, seed: int = 0):
    """Learnable stand-in data: each class is a bright blob at its own place."""
    h, w, c = SHAPES[dataset]
    rng = np.random.default_rng(seed)

    def make(n: int):
        y = rng.integers(0, 10, n)
        x = rng.normal(60, 25, (n, h, w, c))
        cy = (y // 5 + 1) * h // 3
        cx = (y % 5 + 1) * w // 6
        rows = np.arange(h)[None, :, None]
        cols = np.arange(w)[None, None, :]
        blob = ((rows - cy[:, None, None]) ** 2 + (cols - cx[:, None, None]) ** 2
                < (h // 7) ** 2)
        x[blob] += 150
        return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.int64)

    return make(n_train), make(n_test)


def load(dataset: str, data_dir: str | None, limit: int | None, synthetic_size: int):
    """``((x_train, y_train), (x_test, y_test))`` and where they came from."""
    if dataset not in SHAPES:
        raise ValueError(f"dataset must be one of {sorted(SHAPES)}, got {dataset!r}")
    if data_dir:
        loader = load_fashion_mnist if dataset == "fashion_mnist" else load_cifar10
        (xt, yt), (xv, yv) = loader(data_dir)
        source = f"files in {data_dir}"
    else:
        (xt, yt), (xv, yv) = synthetic(dataset, synthetic_size, synthetic_size // 4)
        source = "synthetic"
    if limit:
        xt, yt, xv, yv = xt[:limit], yt[:limit], xv[:limit // 4 or 1], yv[:limit // 4 or 1]
    return (xt, yt), (xv, yv), source


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    """The options both training examples share (data, epochs, batches, threads)."""
    p.add_argument("--dataset", choices=["fashion_mnist", "cifar10"], default="fashion_mnist")
    p.add_argument("--data-dir", default=None, help="folder with the standard files")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--limit", type=int, default=None, help="use only this many samples")
    p.add_argument("--synthetic-size", type=int, default=2048)
    p.add_argument("--threads", type=int, default=1, help="augmentation threads per batch")
    p.add_argument("--seed", type=int, default=0)
