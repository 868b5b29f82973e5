"""Train a small CNN with Keras 3, fed by fastaug.

Batches come from :func:`fastaug.adapters.to_keras`: batch k of epoch e is
``make_batch(x, y, aug, batch_size, seed, e, k)`` (reproducible whatever the
threads), and Keras's own ``workers`` produce them ahead of training.

    python examples/train_keras.py                       # synthetic Fashion-MNIST-shaped data
    python examples/train_keras.py --dataset cifar10     # synthetic CIFAR-10-shaped data
    python examples/train_keras.py --dataset fashion_mnist --data-dir ~/data/fashion-mnist
    python examples/train_keras.py --dataset cifar10 --data-dir ~/data/cifar-10-batches-py

On 2 cores: one core augments (``num_threads=1``, one Keras worker), one trains
(for JAX, ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false``); on more cores raise both.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
from _data import add_common_arguments, load

import fastaug
from fastaug.adapters import to_keras


def build_model(keras, shape):
    return keras.Sequential([
        keras.Input(shape),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(10),
    ])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(p)
    p.add_argument("--workers", type=int, default=1, help="Keras PyDataset workers")
    args = p.parse_args()

    import keras

    (x, y), (xv, yv), source = load(args.dataset, args.data_dir, args.limit,
                                    args.synthetic_size)
    print(f"{args.dataset}: {len(x)} train / {len(xv)} test images {x.shape[1:]} ({source})")
    flips = args.dataset == "cifar10"  # mirrored clothes are fine too, digits would not be
    aug = fastaug.RandomAffine(rotation_range=10, width_shift_range=0.1,
                               height_shift_range=0.1, zoom_range=0.1, horizontal_flip=flips,
                               out_dtype=np.float32, scale=1 / 255, num_threads=args.threads)
    train = to_keras(x, y, aug, batch_size=args.batch_size, seed=args.seed,
                     workers=args.workers)
    model = build_model(keras, x.shape[1:])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    t0 = time.perf_counter()
    model.fit(train, epochs=args.epochs, verbose=2)
    print(f"trained {args.epochs} epochs in {time.perf_counter() - t0:.1f} s")
    _, acc = model.evaluate(xv.astype(np.float32) / 255, yv, verbose=0)
    print(f"test accuracy {acc:.3f}")


if __name__ == "__main__":
    main()
