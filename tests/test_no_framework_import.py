"""The drop-in's iterators import no framework unless the program already did (issue #15 item 4).

With Keras installed, the iterators used to subclass Keras's ``PyDataset`` at
import, so the first ``flow_from_directory`` imported Keras and, with it,
TensorFlow or JAX: seconds and hundreds of MiB for users who never use Keras.
Now the ``PyDataset`` base is used only when Keras is already in
``sys.modules`` (so ``model.fit`` still takes the iterators).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
from PIL import Image

CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    from fastaug.keras import ImageDataGenerator
    gen = ImageDataGenerator(rotation_range=10, horizontal_flip=True)
    it = gen.flow_from_directory(sys.argv[1], target_size=(16, 16), batch_size=4, seed=0)
    x, y = next(it)
    assert x.shape == (4, 16, 16, 3), x.shape
    bx, by = gen.flow(np.zeros((8, 8, 8, 3), np.uint8), np.arange(8), batch_size=4)[1]
    assert bx.shape == (4, 8, 8, 3)
    loaded = sorted(m for m in ("keras", "tensorflow", "jax", "torch") if m in sys.modules)
    print("LOADED:" + ",".join(loaded))
    """
)


def test_directory_and_flow_import_no_framework(tmp_path):
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            arr = np.random.default_rng(i).integers(0, 256, (20, 24, 3), dtype=np.uint8)
            Image.fromarray(arr).save(tmp_path / cls / f"{i}.jpg")
    env = dict(os.environ, KERAS_BACKEND="jax")
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], capture_output=True,
                         text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("LOADED:")][0]
    assert line == "LOADED:", line
