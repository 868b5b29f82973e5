"""Keras's ``Iterator`` and ``NumpyArrayIterator``: index order, seeding, batches.

The iterators reproduce Keras's (``keras.src.legacy.preprocessing.image``)
bookkeeping exactly (``total_batches_seen``, ``batch_index``, when the epoch
permutation is drawn) but draw every random number from the iterator's own
``numpy.random.RandomState``: with a seed it is reseeded with
``seed + total_batches_seen`` before each batch, as Keras reseeds the global RNG,
so seeded batches are the same as Keras's; numpy's global RNG is never touched.
Without a seed the state starts from fresh OS entropy.

The random part of a batch (reseed, permutation, parameter draws) happens under
the iterator's lock and costs microseconds; the pixel work happens outside it,
so several threads may produce batches at once. A batch goes: ``_draw`` (the
generator's configuration snapshot, ``_spec.spec_of``, and Keras's draws,
``_random.draw_batch``) -> ``_render`` (``_engine.augment_batch`` -> the core's
``warp_params`` -> the kernel); the generator's methods are never called.

When the program has imported Keras, instances are also
``keras.utils.PyDataset`` (Keras 3) so ``model.fit(iterator)`` accepts them.
fastaug never imports Keras (or, through it, TensorFlow) itself: import Keras
before creating the iterators you pass to ``model.fit``.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Iterator as _IteratorABC
from typing import Any

import numpy as np

from fastaug._validate import check_int
from fastaug.keras._engine import augment_batch
from fastaug.keras._image_io import array_to_img, default_data_format, default_floatx, pil_format
from fastaug.keras._random import draw_batch
from fastaug.keras._spec import spec_of

__all__ = ["Iterator", "NumpyArrayIterator"]

_UNSET = object()
_keras_base: Any = _UNSET
_mixed: dict[type, type] = {}
_mixed_lock = threading.Lock()


def _keras_pydataset() -> type | None:
    """Keras's ``PyDataset`` (or Keras 2's ``Sequence``) once the program imported Keras.

    Never imports Keras: with TensorFlow installed that would cost seconds and
    hundreds of MiB for programs that do not use Keras at all.
    """
    global _keras_base
    if _keras_base is _UNSET:
        if os.environ.get("FASTAUG_NO_KERAS_BASE", "") not in ("", "0"):
            _keras_base = None
            return None
        keras = sys.modules.get("keras")
        if keras is None:
            return None  # not yet: look again at the next iterator
        utils = getattr(keras, "utils", None)
        _keras_base = getattr(utils, "PyDataset", None) or getattr(utils, "Sequence", None)
    return _keras_base


def _with_keras_base(cls: type) -> type:
    base = _keras_pydataset()
    if base is None or issubclass(cls, base):
        return cls
    with _mixed_lock:
        mixed = _mixed.get(cls)
        if mixed is None:
            mixed = type(cls.__name__, (cls, base),
                         {"__module__": cls.__module__, "__qualname__": cls.__qualname__,
                          "__doc__": cls.__doc__})
            _mixed[cls] = mixed
    return mixed


class Iterator:
    """Base class for image data iterators (Keras's ``Iterator``).

    Subclasses implement ``_get_batches_of_transformed_samples(index_array)``;
    fastaug's own iterators instead split it into ``_draw`` (random part, under
    the lock) and ``_render`` (pixel work, outside it).

    Parameters
    ----------
    n : int
        Number of samples.
    batch_size : int
        Samples per batch; the last batch of an epoch may be smaller.
    shuffle : bool
        Draw a new permutation at every epoch start.
    seed : int, optional
        Seeds the iterator's own RNG with ``seed + total_batches_seen`` before
        each batch, as Keras seeds the global one. None: fresh entropy.
    **kwargs
        ``workers``, ``use_multiprocessing``, ``max_queue_size``: Keras
        ``PyDataset`` options read by ``model.fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.keras import Iterator
    >>> class Halves(Iterator):
    ...     def _get_batches_of_transformed_samples(self, index_array):
    ...         return index_array / 2
    >>> it = Halves(5, batch_size=2, shuffle=False, seed=None)
    >>> len(it), it[2].tolist(), next(it).tolist()
    (3, [2.0], [0.0, 0.5])
    """

    white_list_formats = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")

    def __new__(cls, *args: Any, **kwargs: Any) -> Iterator:
        return object.__new__(_with_keras_base(cls))

    def __init__(self, n: int, batch_size: int, shuffle: bool, seed: int | None,
                 **kwargs: Any) -> None:
        workers = kwargs.pop("workers", 1)
        use_multiprocessing = kwargs.pop("use_multiprocessing", False)
        max_queue_size = kwargs.pop("max_queue_size", 10)
        if kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected keyword "
                            f"arguments: {sorted(kwargs)}")
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size
        self.n = n
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.batch_index = 0
        self.total_batches_seen = 0
        self.lock = threading.Lock()
        self.index_array: np.ndarray | None = None
        self.index_generator = self._flow_index()
        # Fresh OS entropy; replaced by reseeding when a seed is given.
        self._rng = np.random.RandomState()

    # -- Keras PyDataset surface (also present without Keras) -----------------
    @property
    def workers(self) -> int:
        return self._workers

    @workers.setter
    def workers(self, value: int) -> None:
        self._workers = value

    @property
    def use_multiprocessing(self) -> bool:
        return self._use_multiprocessing

    @use_multiprocessing.setter
    def use_multiprocessing(self, value: bool) -> None:
        self._use_multiprocessing = value

    @property
    def max_queue_size(self) -> int:
        return self._max_queue_size

    @max_queue_size.setter
    def max_queue_size(self, value: int) -> None:
        self._max_queue_size = value

    @property
    def num_batches(self) -> int:
        return len(self)

    def on_epoch_begin(self) -> None:
        """Called by Keras at the start of every epoch; nothing to do."""

    # -- sample order --------------------------------------------------------------
    def _reseed(self) -> None:
        if self.seed is not None:
            # Same call as Keras's np.random.seed(seed + total_batches_seen), on
            # our own state: same stream, same errors for a bad seed.
            self._rng.seed(self.seed + self.total_batches_seen)

    def _set_index_array(self) -> None:
        self.index_array = np.arange(self.n)
        if self.shuffle:
            self.index_array = self._rng.permutation(self.n)

    def __getitem__(self, idx: int) -> Any:
        index_array, params = self._draw_item(idx)
        return self._render(index_array, params)

    def _draw_item(self, idx: int) -> tuple[np.ndarray, Any]:
        """The random part of ``self[idx]`` (under the lock); the rest is ``_render``."""
        if idx >= len(self):
            raise ValueError(
                f"Asked to retrieve element {idx}, but the Sequence has length "
                f"{len(self)}")
        with self.lock:
            self._reseed()
            self.total_batches_seen += 1
            if self.index_array is None:
                self._set_index_array()
            index_array = self.index_array[self.batch_size * idx:
                                           self.batch_size * (idx + 1)]
            params = self._draw(index_array)
        return index_array, params

    def prefetch(self, workers: int = 1, depth: int = 2, epochs: int = 1) -> Any:
        """Produce batches ahead of the consumer on a background thread pool.

        Yields exactly what the synchronous ``PyDataset`` path yields, ``self[0]``,
        ``self[1]``, ..., ``self[len(self) - 1]`` then ``on_epoch_end()``, for
        ``epochs`` epochs: the random draws still happen in that order on the
        consumer's thread (so a seeded iterator gives the same batches), only the
        pixel work runs in the background. Prefetch follows this index path only,
        not ``next()``'s; the iterator's state afterwards is the same as after the
        synchronous loop (stopping early leaves up to ``depth`` batches drawn).

        Parameters
        ----------
        workers : int
            Background threads. On 2 cores use 1, with ``ImageDataGenerator(..., num_threads=1)``
            and one consumer (BLAS) thread: see :mod:`fastaug.stream`.
        depth : int
            Batches produced ahead of the consumer (memory: about ``depth + 1``
            batches in flight).
        epochs : int
            Epochs to run.

        Returns
        -------
        fastaug.stream.Stream
            Iterable with ``len()``; close it (or use ``with``) when stopping early.
            Keras 3's ``model.fit`` takes it as a generator:
            ``model.fit((b for b in s), steps_per_epoch=len(self), epochs=epochs)``
            (or pass the iterator itself and use Keras's own ``workers``).

        Examples
        --------
        >>> import numpy as np
        >>> from fastaug.keras import ImageDataGenerator
        >>> x = np.zeros((10, 8, 8, 3), np.uint8)
        >>> gen = ImageDataGenerator(rotation_range=10, num_threads=1)
        >>> it = gen.flow(x, np.arange(10), batch_size=4, seed=0)
        >>> with it.prefetch(workers=1, depth=2) as s:
        ...     [bx.shape[0] for bx, by in s]
        [4, 4, 2]
        """
        from fastaug.stream import Stream

        epochs = check_int("epochs", epochs, low=0)
        n_batches = len(self)

        def tasks() -> Any:
            for _ in range(epochs):
                for i in range(n_batches):
                    index_array, params = self._draw_item(i)
                    yield lambda a=index_array, p=params: self._render(a, p)
                self.on_epoch_end()

        return Stream(tasks(), workers=workers, depth=depth, length=epochs * n_batches)

    def __len__(self) -> int:
        return (self.n + self.batch_size - 1) // self.batch_size

    def on_epoch_end(self) -> None:
        """New epoch permutation, drawn (as in Keras) from the state the last batch left."""
        with self.lock:
            self._set_index_array()

    def reset(self) -> None:
        """Restart ``next()`` iteration at the beginning of an epoch."""
        self.batch_index = 0

    def _flow_index(self) -> _IteratorABC[np.ndarray]:
        self.reset()
        while True:
            self._reseed()
            if self.batch_index == 0:
                self._set_index_array()
            if self.n == 0:
                current_index = 0
            else:
                current_index = (self.batch_index * self.batch_size) % self.n
            if self.n > current_index + self.batch_size:
                self.batch_index += 1
            else:
                self.batch_index = 0
            self.total_batches_seen += 1
            yield self.index_array[current_index:current_index + self.batch_size]

    def __iter__(self) -> Iterator:
        return self

    def __next__(self) -> Any:
        with self.lock:
            index_array = next(self.index_generator)
            params = self._draw(index_array)
        return self._render(index_array, params)

    def next(self) -> Any:
        """The next batch (tf.keras 2's spelling of ``next(it)``)."""
        return self.__next__()

    # -- batch production -----------------------------------------------------
    def _draw(self, index_array: np.ndarray) -> Any:
        """Random part of a batch, called under the lock right after reseeding."""
        return None

    def _render(self, index_array: np.ndarray, params: Any) -> Any:
        """Pixel part of a batch (outside the lock), from ``_draw``'s result."""
        return self._get_batches_of_transformed_samples(index_array)

    def _get_batches_of_transformed_samples(self, index_array: np.ndarray) -> Any:
        """Gets a batch of transformed samples (subclasses implement it)."""
        raise NotImplementedError


def _save_batch(batch: np.ndarray, index_array: np.ndarray, data_format: str,
                save_to_dir: str, save_prefix: str, save_format: str,
                rng: np.random.Generator) -> None:
    """Write each image as Keras does, atomically (temp file + ``os.replace``)."""
    from fastaug.io import save_atomic

    fmt = pil_format(save_format)
    for i, j in enumerate(index_array):
        img = array_to_img(batch[i], data_format, scale=True)
        fname = f"{save_prefix}_{j}_{int(rng.integers(10000))}.{save_format}"
        save_atomic(img, os.path.join(save_to_dir, fname), fmt)


# Share of the available memory one dataset copy may take (see _kernel_layout).
_COPY_SHARE = 4
# Bound when the available memory cannot be read.
_COPY_CAP = 1 << 30


def _copy_budget() -> int:
    """Bytes a one-off dataset copy may take: a quarter of the available memory."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 // _COPY_SHARE
    except (OSError, ValueError, IndexError):
        pass
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return _COPY_CAP
    return avail // _COPY_SHARE if avail > 0 else _COPY_CAP


def _is_mapped(a: Any) -> bool:
    """True when ``a`` is (a view of) a memory map: its data stays on disk."""
    import mmap

    seen = 0
    while a is not None and seen < 64:  # bases form a short chain; bounded anyway
        if isinstance(a, (np.memmap, mmap.mmap)):
            return True
        a = a.obj if isinstance(a, memoryview) else getattr(a, "base", None)
        seen += 1
    return False


def _kernel_layout(x: np.ndarray, data_format: str) -> np.ndarray:
    """``x`` as the kernel reads it fastest: uint8 or float32, stored C-contiguous NHWC.

    The kernel gathers a batch's images straight out of such a dataset; any other
    layout (a transposed keras.datasets array, Fortran order, a strided slice,
    channels_first data stored NCHW) or dtype (float64, int) is gathered,
    transposed and converted batch by batch instead, at every epoch. One copy up
    front (uint8 stays uint8, every other dtype becomes float32, the cast each
    batch gets anyway: the same batches, bit for bit) is cheaper whenever it
    fits in memory. Never for a memory map: its data stays on disk and each batch
    reads only its own images. The caller's array is never written. The result
    has ``x``'s shape (channels_first data is returned as an NCHW view of NHWC
    memory).
    """
    cf = data_format == "channels_first"
    nhwc = x.transpose(0, 2, 3, 1) if cf else x
    kernel_ready = x.dtype == np.uint8 or x.dtype == np.float32
    if kernel_ready and nhwc.flags.c_contiguous:
        return x
    if _is_mapped(x):
        return x
    target = x.dtype if kernel_ready else np.dtype(np.float32)
    if x.size * target.itemsize > _copy_budget():
        return x
    dense = np.ascontiguousarray(nhwc, dtype=target)
    return dense.transpose(0, 3, 1, 2) if cf else dense


def _spec_of(gen: Any) -> Any:
    """The generator's configuration snapshot: its cached one when it keeps one."""
    cached = getattr(gen, "_spec", None)
    return cached() if cached is not None else spec_of(gen)


class _DrawRenderIterator(Iterator):
    """fastaug's own iterators: Keras's per-batch entry point on ``_draw`` + ``_render``."""

    def _get_batches_of_transformed_samples(self, index_array: np.ndarray) -> Any:
        # Keras's entry point: draws from the iterator's current state.
        with self.lock:
            params = self._draw(index_array)
        return self._render(index_array, params)


class NumpyArrayIterator(_DrawRenderIterator):
    """Iterator yielding augmented batches from a numpy array (Keras's class).

    The dataset is not converted to ``dtype`` (a uint8 array stays uint8, a
    memmap is not loaded); each batch is gathered, its parameters drawn in one
    vectorised step, warped by the fused kernel straight to ``dtype`` and
    standardized as a batch. The kernel gathers straight from a C-contiguous
    uint8 or float32 dataset, which is used as it is; any other layout
    (keras.datasets' transposed arrays, Fortran order, strided slices) or dtype
    (read as float32, as each batch would be) gets one such copy when
    constructed, if it takes under a quarter of the available memory (never for
    a memmap, which is read batch by batch): the same batches, faster. The
    caller's array is never modified; ``x`` is the array the iterator reads.

    Parameters
    ----------
    x : array_like or tuple
        Images, rank 4, or ``(images, misc)`` where misc is an array or a list of
        arrays passed through (indexed like the images).
    y : array_like, optional
        Labels; None yields the images alone.
    image_data_generator : fastaug.keras.ImageDataGenerator
        Supplies the transformations and standardization.
    batch_size, shuffle, sample_weight, seed, data_format, save_to_dir,
    save_prefix, save_format, subset, ignore_class_split, dtype
        As in Keras.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.keras import ImageDataGenerator
    >>> x = np.zeros((10, 8, 8, 3), np.uint8)
    >>> it = ImageDataGenerator(rotation_range=10).flow(x, np.arange(10), batch_size=4, seed=0)
    >>> bx, by = it[0]
    >>> bx.shape, bx.dtype, len(it)
    ((4, 8, 8, 3), dtype('float32'), 3)
    """

    def __init__(
        self,
        x: Any,
        y: Any,
        image_data_generator: Any,
        batch_size: int = 32,
        shuffle: bool = False,
        sample_weight: Any = None,
        seed: int | None = None,
        data_format: str | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        subset: str | None = None,
        ignore_class_split: bool = False,
        dtype: Any = None,
    ) -> None:
        if data_format is None:
            data_format = default_data_format()
        if dtype is None:
            dtype = default_floatx()
        np.dtype(dtype)  # a bad dtype fails here, as Keras's asarray(x, dtype) would
        self.dtype = dtype
        if isinstance(x, (tuple, list)):
            if not isinstance(x[1], list):
                x_misc = [np.asarray(x[1])]
            else:
                x_misc = [np.asarray(xx) for xx in x[1]]
            x = x[0]
            for xx in x_misc:
                if len(x) != len(xx):
                    raise ValueError(
                        "All of the arrays in `x` should have the same length. "
                        "Found a pair with: "
                        f"len(x[0]) = {len(x)}, len(x[?]) = {len(xx)}")
        else:
            x_misc = []

        if y is not None and len(x) != len(y):
            raise ValueError(
                "`x` (images tensor) and `y` (labels) should have the same length. "
                f"Found: x.shape = {np.asarray(x).shape}, y.shape = {np.asarray(y).shape}")
        if sample_weight is not None and len(x) != len(sample_weight):
            raise ValueError(
                "`x` (images tensor) and `sample_weight` should have the same length. "
                f"Found: x.shape = {np.asarray(x).shape}, "
                f"sample_weight.shape = {np.asarray(sample_weight).shape}")
        if subset is not None:
            if subset not in {"training", "validation"}:
                raise ValueError(f"Invalid subset name: {subset}"
                                 '; expected "training" or "validation".')
            split_idx = int(len(x) * image_data_generator._validation_split)
            if (y is not None and not ignore_class_split
                    and not np.array_equal(np.unique(y[:split_idx]),
                                           np.unique(y[split_idx:]))):
                raise ValueError(
                    "Training and validation subsets have different number of classes "
                    "after the split. If your numpy arrays are sorted by the label, "
                    "you might want to shuffle them.")
            if subset == "validation":
                x = x[:split_idx]
                x_misc = [np.asarray(xx[:split_idx]) for xx in x_misc]
                if y is not None:
                    y = y[:split_idx]
            else:
                x = x[split_idx:]
                x_misc = [np.asarray(xx[split_idx:]) for xx in x_misc]
                if y is not None:
                    y = y[split_idx:]

        # No conversion to floatx: a uint8 dataset stays uint8 (a memmap stays
        # on disk) and each batch is converted as it is warped. Other layouts and
        # dtypes get one kernel-ready copy when it fits (see _kernel_layout).
        xa = x if isinstance(x, np.ndarray) else np.asarray(x)
        if xa.dtype.kind not in "biuf":
            xa = np.asarray(xa, dtype=self.dtype)
        if xa.ndim == 4:
            xa = _kernel_layout(xa, data_format)
        self.x = xa
        self.x_misc = x_misc
        if self.x.ndim != 4:
            raise ValueError(
                "Input data in `NumpyArrayIterator` should have rank 4. "
                f"You passed an array with shape {self.x.shape}")
        channels_axis = 3 if data_format == "channels_last" else 1
        if self.x.shape[channels_axis] not in {1, 3, 4}:
            warnings.warn(
                f"NumpyArrayIterator is set to use the data format convention"
                f' "{data_format}" (channels on axis {channels_axis})'
                ", i.e. expected either 1, 3, or 4 channels "
                f"on axis {channels_axis}. "
                f"However, it was passed an array with shape {self.x.shape}"
                f" ({self.x.shape[channels_axis]} channels).", stacklevel=2)
        self.y = np.asarray(y) if y is not None else None
        self.sample_weight = np.asarray(sample_weight) if sample_weight is not None else None
        self.image_data_generator = image_data_generator
        self.data_format = data_format
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        # File names' random part: its own RNG, so saving never shifts the
        # augmentation stream (Keras draws it from the global RNG).
        self._save_rng = np.random.default_rng()
        super().__init__(self.x.shape[0], batch_size, shuffle, seed)

    def _draw(self, index_array: np.ndarray) -> Any:
        spec = _spec_of(self.image_data_generator)
        return spec, draw_batch(spec, len(index_array), self.x.shape[1:], self._rng)

    def _render(self, index_array: np.ndarray, params: Any) -> Any:
        spec, p = params
        batch_x = augment_batch(spec, self.x, p, self.dtype, index=index_array)
        if self.save_to_dir:
            _save_batch(batch_x, index_array, self.data_format, self.save_to_dir,
                        self.save_prefix, self.save_format, self._save_rng)
        batch_x_miscs = [xx[index_array] for xx in self.x_misc]
        output: tuple[Any, ...] = (batch_x if not batch_x_miscs
                                   else [batch_x] + batch_x_miscs,)
        if self.y is None:
            return output[0]
        output += (self.y[index_array],)
        if self.sample_weight is not None:
            output += (self.sample_weight[index_array],)
        return output

