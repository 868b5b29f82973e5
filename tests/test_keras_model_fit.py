"""``model.fit(datagen.flow(x, y))`` trains a Keras 3 model (JAX backend)."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from fastaug.keras import ImageDataGenerator


def test_model_fit_on_flow():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 16, 16, 3), dtype=np.uint8)
    y = rng.integers(0, 10, 64)
    datagen = ImageDataGenerator(rotation_range=20, width_shift_range=0.1,
                                 height_shift_range=0.1, horizontal_flip=True,
                                 rescale=1 / 255)
    model = keras.Sequential([
        keras.Input((16, 16, 3)),
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    history = model.fit(datagen.flow(x, y, batch_size=32, seed=1), epochs=2,
                        steps_per_epoch=2, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 2 and all(np.isfinite(losses))
