"""tf.data and NVIDIA DALI (CPU only) pipelines shared by the file and recipe benchmarks.

Each builder returns ``run(nb) -> images``: it pulls ``nb`` batches of 32 from a
pipeline built once (iterators and DALI pipelines persist between calls, as a
DataLoader with ``persistent_workers``), so a first call is the warm-up. A
missing library raises ImportError, which the scripts treat as "skip this row".

tf.data (``configure_tf`` first: 2 intra-op and 2 inter-op threads, and every
dataset gets ``private_threadpool_size=threads``):

* ``tf_rrc_files``: ``read_file`` -> ``extract_jpeg_shape`` +
  ``sample_distorted_bounding_box`` (area 0.08-1, aspect 3/4-4/3, 10 attempts,
  whole image when none fits) -> ``decode_and_crop_jpeg`` (only the crop's
  blocks are decoded) -> ``resize`` 224x224 bilinear (``antialias`` as given)
  -> random flip -> scale to [0, 1] and normalize -> ``batch(32)`` -> CHW ->
  ``prefetch(AUTOTUNE)``; maps with ``num_parallel_calls=AUTOTUNE``.
  ``dct_method="INTEGER_FAST"`` is libjpeg's fast integer IDCT (JDCT_IFAST,
  less accurate) and is also what TF's default "" selects (checked: the same
  pixels); ``"INTEGER_ACCURATE"`` is JDCT_ISLOW, Pillow's (and fastaug's) IDCT.
* ``tf_affine_files``: ``decode_jpeg`` -> ``resize`` 224x224 nearest (Keras's
  ``load_img`` default) -> float32 -> ``batch(32)`` -> one
  ``ImageProjectiveTransformV3`` per batch (bilinear, edge replicated: Keras's
  ``fill_mode="nearest"``) with Keras ``ImageDataGenerator`` draws for rotation
  20, shifts 0.1, zoom 0.1 and a horizontal flip folded into the matrix.

DALI, CPU only (``device_id=None``, every operator ``device="cpu"``), by default
one synchronous pipeline for all calls (``exec_pipelined=False,
exec_async=False``: about 5-10 % faster here than a fresh pipelined one per
call, which ``pipelined=True`` gives):

* ``dali_rrc_files``: ``readers.file`` -> ``decoders.image_random_crop``
  (decodes the crop only) -> ``resize`` 224x224 (linear, DALI antialiases by
  default) -> ``crop_mirror_normalize`` (coin-flip mirror, mean/std * 255, CHW,
  float32).
* ``dali_affine_files``: ``readers.file`` -> ``decoders.image`` -> ``resize``
  224x224 nearest -> ``warp_affine`` (linear, edge clamped, float32 out) with
  the same draws as ``tf_affine_files`` composed by ``fn.transforms``.
* ``dali_rrc_arrays``: ``external_source`` of decoded HWC uint8 arrays (a
  ragged batch) -> ``random_resized_crop(224)`` -> ``crop_mirror_normalize``.

Outputs are left where each library produces them (EagerTensor, DALI
TensorListCPU): computed, not copied to numpy. ``run.last`` keeps the last
batch (for checks).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
SIZE = 224
BATCH = 32
# Keras ImageDataGenerator arguments of the file benchmarks (rotation degrees,
# shift as a fraction of the side, zoom range around 1).
ROTATION, SHIFT, ZOOM = 20.0, 0.1, 0.1

_TF_THREADS: int | None = None


def configure_tf(threads: int = 2):
    """Import TensorFlow with ``threads`` intra- and inter-op threads; return the module.

    The thread counts can only be set before TensorFlow's runtime starts, so
    this is called before any other TF use in the process.
    """
    global _TF_THREADS
    import tensorflow as tf

    if _TF_THREADS is None:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # runtime already started (by Keras, say): keep its pools
            pass
        _TF_THREADS = threads
    return tf


def _tf_options(tf, threads: int):
    opt = tf.data.Options()
    opt.threading.private_threadpool_size = threads
    opt.threading.max_intra_op_parallelism = 1
    return opt


def _tf_runner(ds) -> Callable[[int], int]:
    def run(nb: int) -> int:
        # A fresh iterator per call, dropped at the end: no batches made ahead while
        # another contender is timed, no head start from a full buffer (as fastaug's rows).
        it = iter(ds)
        for _ in range(nb):
            run.last = next(it)
        del it
        return BATCH * nb
    return run


def tf_rrc_files(paths: Sequence[str], labels: np.ndarray, *, dct_method: str = "INTEGER_FAST",
                 antialias: bool = True, threads: int = 2, seed: int = 0
                 ) -> Callable[[int], int]:
    """tf.data random-resized-crop recipe from JPEG files, (32, 3, 224, 224) float32."""
    tf = configure_tf(threads)
    tf.random.set_seed(seed)
    mean = tf.constant(MEAN, tf.float32) * 255.0
    inv_std = 1.0 / (tf.constant(STD, tf.float32) * 255.0)

    def load(path, label):
        data = tf.io.read_file(path)
        shape = tf.image.extract_jpeg_shape(data)
        begin, size, _ = tf.image.sample_distorted_bounding_box(
            shape, bounding_boxes=tf.zeros([1, 0, 4], tf.float32), min_object_covered=0.0,
            aspect_ratio_range=(3 / 4, 4 / 3), area_range=(0.08, 1.0), max_attempts=10,
            use_image_if_no_bounding_boxes=True)
        oy, ox, _ = tf.unstack(begin)
        h, w, _ = tf.unstack(size)
        img = tf.image.decode_and_crop_jpeg(data, tf.stack([oy, ox, h, w]), channels=3,
                                            dct_method=dct_method)
        img = tf.image.resize(img, [SIZE, SIZE], method="bilinear", antialias=antialias)
        img = tf.image.random_flip_left_right(img)
        return (img - mean) * inv_std, label

    ds = (tf.data.Dataset.from_tensor_slices((list(paths), labels.astype(np.int32)))
          .shuffle(len(paths), seed=seed, reshuffle_each_iteration=True).repeat()
          .map(load, num_parallel_calls=tf.data.AUTOTUNE)
          .batch(BATCH, drop_remainder=True)
          .map(lambda x, y: (tf.transpose(x, [0, 3, 1, 2]), y),
               num_parallel_calls=tf.data.AUTOTUNE)
          .prefetch(tf.data.AUTOTUNE)
          .with_options(_tf_options(tf, threads)))
    return _tf_runner(ds)


def _tf_keras_transforms(tf, n, h: float, w: float):
    """(n, 8) output->input projective transforms with Keras's draws (about the centre)."""
    u = lambda lo, hi: tf.random.uniform([n], lo, hi)  # noqa: E731
    theta = u(-ROTATION, ROTATION) * (math.pi / 180.0)
    tx = u(-SHIFT, SHIFT) * h  # Keras draws the row shift from height_shift_range
    ty = u(-SHIFT, SHIFT) * w
    zx, zy = u(1 - ZOOM, 1 + ZOOM), u(1 - ZOOM, 1 + ZOOM)
    flip = tf.where(tf.random.uniform([n]) < 0.5, -1.0, 1.0)
    c, s = tf.cos(theta), tf.sin(theta)
    # input = Cen + R(theta) Z (F(out) - Cen) + shift, in (x, y); F mirrors x about the centre.
    cx, cy = (w - 1) / 2, (h - 1) / 2
    a0, a1 = c * zx * flip, -s * zy
    b0, b1 = s * zx * flip, c * zy
    a2 = cx - a0 * cx - a1 * cy + ty
    b2 = cy - b0 * cx - b1 * cy + tx
    z = tf.zeros([n])
    return tf.stack([a0, a1, a2, b0, b1, b2, z, z], axis=1)


def tf_affine_files(paths: Sequence[str], labels: np.ndarray, *,
                    dct_method: str = "INTEGER_FAST", threads: int = 2, seed: int = 0
                    ) -> Callable[[int], int]:
    """tf.data Keras-style batch: decode, resize 224 nearest, one batched affine warp."""
    tf = configure_tf(threads)
    tf.random.set_seed(seed)

    def load(path, label):
        img = tf.io.decode_jpeg(tf.io.read_file(path), channels=3, dct_method=dct_method)
        img = tf.image.resize(img, [SIZE, SIZE], method="nearest")
        return tf.cast(img, tf.float32), label

    def warp(x, y):
        m = _tf_keras_transforms(tf, tf.shape(x)[0], float(SIZE), float(SIZE))
        x = tf.raw_ops.ImageProjectiveTransformV3(
            images=x, transforms=m, output_shape=tf.constant([SIZE, SIZE]),
            fill_value=0.0, interpolation="BILINEAR", fill_mode="NEAREST")
        return x, y

    ds = (tf.data.Dataset.from_tensor_slices((list(paths), labels.astype(np.int32)))
          .shuffle(len(paths), seed=seed, reshuffle_each_iteration=True).repeat()
          .map(load, num_parallel_calls=tf.data.AUTOTUNE)
          .batch(BATCH, drop_remainder=True)
          .map(warp, num_parallel_calls=tf.data.AUTOTUNE)
          .prefetch(tf.data.AUTOTUNE)
          .with_options(_tf_options(tf, threads)))
    return _tf_runner(ds)


def _dali():
    from nvidia.dali import fn, pipeline_def, types

    return fn, pipeline_def, types


def _dali_runner(make, pipelined: bool) -> Callable[[int], int]:
    if not pipelined:
        # One synchronous pipeline for all calls: no build per call, nothing computed
        # between calls (DALI's file reader still reads ahead in its own thread).
        pipe = make(exec_pipelined=False, exec_async=False)
        pipe.build()

        def run(nb: int) -> int:
            for _ in range(nb):
                run.last = pipe.run()
            return BATCH * nb
        return run

    def run(nb: int) -> int:
        # DALI's default executor computes batches ahead, also while another contender
        # is timed: a fresh pipeline per call (build about 0.1 s), dropped at the end.
        pipe = make()
        pipe.build()
        for _ in range(nb):
            run.last = pipe.run()
        del pipe
        return BATCH * nb
    return run


def _cmn(fn, types, images):
    return fn.crop_mirror_normalize(
        images, device="cpu", mirror=fn.random.coin_flip(), dtype=types.FLOAT,
        output_layout="CHW", mean=[m * 255 for m in MEAN], std=[s * 255 for s in STD])


def dali_rrc_files(paths: Sequence[str], labels: np.ndarray, *, threads: int = 2,
                   seed: int = 0, pipelined: bool = False) -> Callable[[int], int]:
    """DALI CPU random-resized-crop recipe from JPEG files, (32, 3, 224, 224) float32."""
    fn, pipeline_def, types = _dali()

    @pipeline_def(batch_size=BATCH, num_threads=threads, device_id=None, seed=seed)
    def pipe():
        jpegs, lab = fn.readers.file(files=list(paths), labels=[int(v) for v in labels],
                                     random_shuffle=True, name="reader")
        img = fn.decoders.image_random_crop(
            jpegs, device="cpu", output_type=types.RGB, random_area=[0.08, 1.0],
            random_aspect_ratio=[3 / 4, 4 / 3], num_attempts=10)
        img = fn.resize(img, device="cpu", resize_x=SIZE, resize_y=SIZE,
                        interp_type=types.INTERP_LINEAR)
        return _cmn(fn, types, img), lab

    return _dali_runner(pipe, pipelined)


def dali_affine_files(paths: Sequence[str], labels: np.ndarray, *, threads: int = 2,
                      seed: int = 0, pipelined: bool = False) -> Callable[[int], int]:
    """DALI CPU Keras-style batch: decode, resize 224 nearest, warp_affine, float32 HWC."""
    fn, pipeline_def, types = _dali()
    centre = [SIZE / 2, SIZE / 2]

    @pipeline_def(batch_size=BATCH, num_threads=threads, device_id=None, seed=seed)
    def pipe():
        jpegs, lab = fn.readers.file(files=list(paths), labels=[int(v) for v in labels],
                                     random_shuffle=True, name="reader")
        img = fn.decoders.image(jpegs, device="cpu", output_type=types.RGB)
        img = fn.resize(img, device="cpu", resize_x=SIZE, resize_y=SIZE,
                        interp_type=types.INTERP_NN)
        flip = 1.0 - 2.0 * fn.cast(fn.random.coin_flip(), dtype=types.FLOAT)
        zoom = fn.random.uniform(range=[1 - ZOOM, 1 + ZOOM], shape=[2])
        mt = fn.transforms.scale(scale=zoom * fn.stack(flip, 1.0), center=centre)
        mt = fn.transforms.rotation(mt, angle=fn.random.uniform(range=[-ROTATION, ROTATION]),
                                    center=centre)
        mt = fn.transforms.translation(
            mt, offset=fn.random.uniform(range=[-SHIFT * SIZE, SHIFT * SIZE], shape=[2]))
        # no fill_value: source coordinates are clamped (Keras's fill_mode="nearest")
        out = fn.warp_affine(img, matrix=mt, device="cpu", interp_type=types.INTERP_LINEAR,
                             dtype=types.FLOAT)
        return out, lab

    return _dali_runner(pipe, pipelined)


def dali_rrc_arrays(images: list[np.ndarray], *, threads: int = 2, seed: int = 0,
                    pipelined: bool = False) -> Callable[[int], int]:
    """DALI CPU ImageNet recipe on decoded HWC uint8 arrays (the same list every batch).

    One pipeline for all calls. ``pipelined=False`` runs DALI synchronously
    (``exec_pipelined=False, exec_async=False``): each ``run()`` computes one
    batch on the ``threads`` workers, as one fastaug call does, and nothing runs
    between calls. ``pipelined=True`` is DALI's default executor, which computes
    up to two batches ahead in the background (also between calls).
    """
    fn, pipeline_def, types = _dali()
    n = len(images)

    @pipeline_def(batch_size=n, num_threads=threads, device_id=None, seed=seed,
                  exec_pipelined=pipelined, exec_async=pipelined)
    def pipe():
        # no_copy: DALI reads the caller's arrays in place (they never change), as fastaug does
        img = fn.external_source(source=lambda: images, batch=True, layout="HWC", no_copy=True)
        img = fn.random_resized_crop(img, device="cpu", size=[SIZE, SIZE],
                                     random_area=[0.08, 1.0],
                                     random_aspect_ratio=[3 / 4, 4 / 3], num_attempts=10,
                                     interp_type=types.INTERP_LINEAR)
        return _cmn(fn, types, img)

    p = pipe()
    p.build()

    def run(nb: int) -> int:
        for _ in range(nb):
            run.last = p.run()
        return n * nb
    return run
