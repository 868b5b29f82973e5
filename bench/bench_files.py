"""Images from files: fastaug's loaders against a PyTorch DataLoader and Keras, on JPEGs.

A folder of photo-like JPEGs (``bench/make_jpeg_folder.py``: mostly 500x375 and
375x500, some 1024x768) is read for a number of batches of 32 by each contender,
one after the other, repeated ``--rounds`` times in alternation; images/s over
the whole run (decode included) and ratios are printed. Contenders (those
installed):

* ``fastaug flow_from_directory``: Keras-style ``ImageDataGenerator`` with the
  augmentation of the issue (rotation 20, shifts 0.1, zoom 0.1, horizontal flip),
  224x224 float32, ``.prefetch(workers=2)``, all defaults otherwise.
* ``fastaug RRC recipe``: file paths through ``fastaug.batches`` with
  ``prefetch=2, workers=2`` (as the DataLoader's two workers) straight into the
  recipe ``RandomResizedCrop(224)``, flip, ``ToDtype``, ``Normalize`` (channels
  first, one pass): it reads the headers, draws the crops, and decodes only the
  crop boxes when libjpeg-turbo 3 is found (``fastaug._turbojpeg``; point
  ``FASTAUG_LIBTURBOJPEG`` at one), else whole files (fastaug.io), on the io
  thread pool. The row ``..., whole-file decode`` always decodes whole files
  (``fastaug.io.load_array``) and runs the same recipe on the arrays.

With one worker, fastaug's default thread rule gives that worker ``cores - 1``
kernel and decode threads (a core for the training step): on 2 cores that is one
thread, about 550 images/s here, for a consumer that computes on the CPU.
* ``torch DataLoader (2 workers)``: ``torchvision.io.decode_jpeg`` +
  v2 ``RandomResizedCrop(224)``, flip, ``ToDtype``, ``Normalize`` per image,
  ``batch_size=32``, ``num_workers=2``.
* ``Keras ImageDataGenerator``: Keras's own ``flow_from_directory`` (few batches).
* tf.data and DALI (CPU only), built in ``bench/_dali_tf.py`` (see its docstring):
  the RRC recipe with ``decode_and_crop_jpeg`` (libjpeg's fast integer IDCT
  ``INTEGER_FAST``, which TF's default "" also selects, and ``INTEGER_ACCURATE``,
  the IDCT of Pillow and fastaug; antialiased resize as torchvision and fastaug,
  and once without, TF's default, compared with fastaug's recipe with
  ``RandomResizedCrop(224, antialias=False)``) and with DALI's ``decoders.image_random_crop``;
  the Keras-style augmentation as one ``ImageProjectiveTransformV3`` per batch
  (tf.data) and as ``fn.warp_affine`` (DALI). Two threads each
  (``private_threadpool_size=2``, ``num_threads=2``).

Every contender reads the same files: the paths listed here (Keras and fastaug's
``flow_from_directory`` list the folder themselves; the lists are checked equal).
Ratios are against the fastaug row of the same work: the Keras-style rows against
``flow_from_directory`` (float32 HWC 0-255 out), the RRC rows against the RRC
recipe ((32, 3, 224, 224) normalized float32 out). The tf.data iterators are made
afresh for each timed run (as fastaug's rows), so none starts with a full buffer;
DALI runs one synchronous pipeline (nothing computed ahead or between runs); the
torch DataLoader keeps its workers (``persistent_workers``),
and a new epoch discards what they made ahead, so it does not either. The workers
still finish the up to 4 batches in flight (2 workers x prefetch_factor 2) after
a run breaks off: ``--pause`` seconds between contenders keep that, and any
background work of the others, out of the next contender's time.

TensorFlow and torch do not load in one process here (a segfault), so the torch
row runs in another environment; the fastaug rows, in both, join the two tables.

    PYTHONPATH=. python bench/bench_files.py [--root /tmp/fastaug-jpeg] [--batches 20]
        [--rounds 3] [--pause 0.5] [--only tf.data,DALI]
    PYTHONPATH=. python bench/bench_files.py --first-batch   # import to first batch
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
KERAS_AUG = dict(rotation_range=20, width_shift_range=0.1, height_shift_range=0.1,
                 zoom_range=0.1, horizontal_flip=True)


def _list(root: str) -> tuple[list[str], np.ndarray]:
    paths, labels = [], []
    for i, cls in enumerate(sorted(d for d in os.listdir(root)
                                   if os.path.isdir(os.path.join(root, d)))):
        for f in sorted(os.listdir(os.path.join(root, cls))):
            paths.append(os.path.join(root, cls, f))
            labels.append(i)
    return paths, np.array(labels)


def _same_files(found: list[str], root: str) -> None:
    if sorted(map(os.path.abspath, found)) != sorted(map(os.path.abspath, _list(root)[0])):
        raise RuntimeError(f"{root}: a contender lists other files than the benchmark")


def _fastaug_directory(root: str, nb: int):
    from fastaug.keras import ImageDataGenerator

    _same_files(ImageDataGenerator().flow_from_directory(root).filepaths, root)

    def run() -> int:
        it = ImageDataGenerator(**KERAS_AUG).flow_from_directory(
            root, target_size=(224, 224), batch_size=32, seed=0)
        done = 0
        while done < nb:  # a stream ends with its epoch: more batches take another one
            with it.prefetch(workers=2) as s:
                for x, _ in s:
                    done += len(x) == 32
                    if done >= nb:
                        break
        return 32 * nb
    return run


def _fastaug_recipe(root: str, nb: int, antialias: bool = True, region: bool = True):
    from fastaug import _pool, batches
    from fastaug import transforms as T
    from fastaug.io import load_array

    paths, labels = _list(root)
    per_epoch = len(paths) // 32  # more batches than an epoch wrap around
    recipe = T.Compose([T.RandomResizedCrop(224, antialias=antialias), T.RandomHorizontalFlip(),
                        T.ToDtype(np.float32, scale=True), T.Normalize(MEAN, STD)],
                       data_format="channels_first")
    # The recipe takes the paths: it reads the headers, draws, and decodes (only
    # the crop boxes when libjpeg-turbo 3 is there, see fastaug._turbojpeg).
    # region=False: the files decoded whole (fastaug.io), then the recipe.

    def whole(batch_paths: list[str], rng: object = None) -> np.ndarray:
        imgs: list[np.ndarray] = [None] * len(batch_paths)  # type: ignore[list-item]

        def one(i: int) -> None:
            imgs[i] = load_array(batch_paths[i], "rgb")

        _pool.run_each(one, len(batch_paths), _pool.resolve_threads(None), pool="io")
        return recipe(imgs, rng=rng)

    fn = recipe if region else whole

    def run() -> int:
        with batches(paths, labels, fn, batch_size=32, seed=0, prefetch=2,
                     workers=2, indices=[k % per_epoch for k in range(nb)]) as s:
            for _ in s:
                pass
        return 32 * nb
    return run


def _torch_loader(root: str, nb: int):
    import torch
    from torchvision.io import decode_jpeg, read_file
    from torchvision.transforms import v2

    paths, labels = _list(root)
    tf = v2.Compose([v2.RandomResizedCrop(224, antialias=True), v2.RandomHorizontalFlip(),
                     v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)])

    class Files(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(paths)

        def __getitem__(self, i: int):
            return tf(decode_jpeg(read_file(paths[i]))), int(labels[i])

    loader = torch.utils.data.DataLoader(Files(), batch_size=32, shuffle=True,
                                         num_workers=2, persistent_workers=True)

    def run() -> int:
        done = 0
        while done < nb:  # an epoch is 30 batches of the 960 files: more take another
            for x, _ in loader:
                done += len(x) == 32
                if done >= nb:
                    break
        return 32 * nb
    return run


def _keras(root: str, nb: int):
    import importlib.util

    if (importlib.util.find_spec("tensorflow") is None
            and importlib.util.find_spec("torch") is not None):
        os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 defaults to TF
    from keras.src.legacy.preprocessing.image import ImageDataGenerator

    n = max(2, nb // 5)
    _same_files(ImageDataGenerator().flow_from_directory(root).filepaths, root)

    def run() -> int:
        it = ImageDataGenerator(**KERAS_AUG).flow_from_directory(
            root, target_size=(224, 224), batch_size=32, seed=0)
        for k in range(n):
            it[k]
        return 32 * n
    return run


def _other(builder: str, **kw):
    """A row from bench/_dali_tf.py on this benchmark's file list."""
    def make(root: str, nb: int):
        sys.path.insert(0, str(HERE))
        import _dali_tf

        paths, labels = _list(root)
        run = getattr(_dali_tf, builder)(paths, labels, threads=2, **kw)
        return lambda: run(nb)
    return make


FA_DIR = "fastaug flow_from_directory (Keras-style, prefetch, 2 workers)"
FA_RRC = "fastaug RRC recipe from files (batches, 2 workers)"
FA_RRC_NOAA = "fastaug RRC recipe from files, antialias=False (batches, 2 workers)"
FA_RRC_WHOLE = "fastaug RRC recipe from files, whole-file decode (batches, 2 workers)"


def _load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


FIRST_BATCH = r"""
import sys, time
t0 = time.perf_counter()
from fastaug.keras import ImageDataGenerator
it = ImageDataGenerator(rotation_range=30, width_shift_range=0.1, height_shift_range=0.1,
                        zoom_range=0.2, shear_range=0.2, horizontal_flip=True,
                        vertical_flip=True).flow_from_directory(
    sys.argv[1], target_size=(224, 224), batch_size=32, seed=0)
x, y = it[0]
t = time.perf_counter() - t0
loaded = [m for m in ("keras", "tensorflow", "torch", "jax") if m in sys.modules]
print(f"first batch {t:.2f} s from the import of fastaug.keras; frameworks imported: "
      f"{loaded or 'none'}")
"""


def first_batch(root: str, runs: int = 3) -> None:
    """Issue #15's third must-show: a fresh process, import to first batch (the Numba
    cache warm from a first run), and which frameworks got imported on the way."""
    for k in range(runs + 1):
        out = subprocess.run([sys.executable, "-c", FIRST_BATCH, root], capture_output=True,
                             text=True, check=True).stdout.strip()
        if k:  # the first run may compile
            print(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", default="/tmp/fastaug-jpeg")
    p.add_argument("--n", type=int, default=960, help="files to generate (if missing)")
    p.add_argument("--batches", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--pause", type=float, default=0.5, help="seconds between contenders")
    p.add_argument("--only", default="",
                   help="comma-separated parts of row names to run (the fastaug rows always run)")
    p.add_argument("--first-batch", action="store_true",
                   help="only time flow_from_directory's first batch in fresh processes")
    args = p.parse_args()
    if args.first_batch:
        first_batch(args.root)
        return
    try:  # TensorFlow's thread pools are fixed at its first use: 2 threads, before Keras
        sys.path.insert(0, str(HERE))
        from _dali_tf import configure_tf

        configure_tf(2)
    except ImportError:
        pass
    subprocess.run([sys.executable, str(HERE / "make_jpeg_folder.py"), "--root", args.root,
                    "--n", str(args.n)], check=True)
    # name: (maker, the fastaug row doing the same work)
    makers = {
        FA_DIR: (_fastaug_directory, FA_DIR),
        "tf.data Keras-style: decode, resize, batched ImageProjectiveTransformV3":
            (_other("tf_affine_files"), FA_DIR),
        "DALI CPU Keras-style: decoders.image, resize, warp_affine (2 threads)":
            (_other("dali_affine_files"), FA_DIR),
        "Keras ImageDataGenerator.flow_from_directory": (_keras, FA_DIR),
        FA_RRC: (_fastaug_recipe, FA_RRC),
        "torch DataLoader (2 workers) + torchvision v2 RRC": (_torch_loader, FA_RRC),
        "tf.data RRC: decode_and_crop_jpeg INTEGER_FAST, antialias":
            (_other("tf_rrc_files", dct_method="INTEGER_FAST"), FA_RRC),
        "tf.data RRC: decode_and_crop_jpeg INTEGER_ACCURATE, antialias":
            (_other("tf_rrc_files", dct_method="INTEGER_ACCURATE"), FA_RRC),
        # tf.image.resize's default: no antialiasing; against fastaug doing the same.
        FA_RRC_NOAA: (lambda root, nb: _fastaug_recipe(root, nb, antialias=False), FA_RRC_NOAA),
        FA_RRC_WHOLE: (lambda root, nb: _fastaug_recipe(root, nb, region=False), FA_RRC),
        "tf.data RRC: decode_and_crop_jpeg INTEGER_FAST, no antialias":
            (_other("tf_rrc_files", dct_method="INTEGER_FAST", antialias=False), FA_RRC_NOAA),
        "DALI CPU RRC: decoders.image_random_crop (2 threads)":
            (_other("dali_rrc_files"), FA_RRC),
    }
    only = [w.strip() for w in args.only.split(",") if w.strip()]
    runs, refs = {}, {}
    for name, (make, ref) in makers.items():
        if only and name not in (FA_DIR, FA_RRC, FA_RRC_NOAA) and not any(w in name for w in only):
            continue
        try:
            runs[name] = make(args.root, args.batches)
            refs[name] = ref
            runs[name]()  # warm up: compile, worker start, page cache
        except ImportError as exc:
            print(f"skipped {name}: {exc}")
    load = _load()
    rates: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            t = time.perf_counter()
            n = run()
            rates[name].append(n / (time.perf_counter() - t))
            time.sleep(args.pause)
    print(f"\n{args.batches} batches of 32 (Keras: fewer), {os.cpu_count()} cores, median of "
          f"{args.rounds} rounds, images/s; load average before: {load}, after: "
          f"{os.getloadavg()[0]:.2f}")
    for name, r in rates.items():
        m = statistics.median(r)
        ref = statistics.median(rates[refs[name]]) if refs[name] in rates else float("nan")
        print(f"  {name:72s} {m:8,.0f}   (fastaug / this: {ref / m:.2f}x)"
              f"   [min {min(r):,.0f}, max {max(r):,.0f}]")


if __name__ == "__main__":
    main()
