"""Framework adapters: PyTorch, TensorFlow, JAX and Keras 3, each imported lazily.

Importing this module imports no framework; each function imports its own when
called, and ``TorchIterableDataset`` is built on first access (so
``from fastaug.adapters import TorchIterableDataset`` needs torch, nothing else
does).

Every adapter works on batches that are numpy arrays or (nested) tuples/lists of
them, the shape :func:`fastaug.stream.batches` and the Keras iterators yield.

Scale-out
---------
:func:`fastaug.stream.make_batch` is a picklable function of
``(x, y, augment, batch_size, seed, epoch, k)``, so any engine can run it and get
the same bytes as the in-process stream:

* Dask: ``client.map(make_batch, [x] * nb, [y] * nb, [aug] * nb, [bs] * nb,
  [seed] * nb, [epoch] * nb, range(nb))`` (scatter ``x`` first; warm Numba's cache
  in the parent before starting worker processes: several processes writing it
  at once can crash).
* Ray Data (same pattern, not tested here): one Ray row per fastaug batch::

      def augment_rows(rows):            # rows["id"]: batch indices k
          xs = [make_batch(x, None, aug, bs, seed, epoch, int(k)) for k in rows["id"]]
          return {"k": rows["id"], "images": np.stack(xs)}

      nb = len(x) // bs                  # whole batches: equal shapes per row
      ds = ray.data.range(nb).map_batches(augment_rows, batch_size=1)

  Row ``k`` equals the in-process ``make_batch(..., k)`` on any Ray worker; pass
  ``x`` by ``ray.put`` (or read it from a shared ``np.memmap``) rather than
  capturing a large array in the function.
* PyTorch ``DataLoader`` workers: :class:`TorchIterableDataset`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from fastaug._validate import check_int

# TorchIterableDataset is provided by the module __getattr__ (built when torch is).
__all__ = ["TorchIterableDataset", "to_jax", "to_keras", "to_tf_dataset", "to_torch",  # noqa: F822
           "worker_batch_indices"]


def _map_arrays(fn: Callable[[np.ndarray], Any], batch: Any) -> Any:
    if isinstance(batch, tuple):
        return tuple(_map_arrays(fn, b) for b in batch)
    if isinstance(batch, list):
        return [_map_arrays(fn, b) for b in batch]
    if isinstance(batch, dict):
        return {k: _map_arrays(fn, v) for k, v in batch.items()}
    return fn(np.asarray(batch))


def worker_batch_indices(n_batches: int, worker_id: int, num_workers: int) -> range:
    """The batch indices worker ``worker_id`` of ``num_workers`` produces.

    Worker ``w`` takes batches ``k`` with ``k % num_workers == w``: the shares are
    disjoint and together cover the epoch, and each batch is still keyed by
    ``(seed, epoch, k)``, so no two workers repeat an augmentation.

    Examples
    --------
    >>> from fastaug.adapters import worker_batch_indices
    >>> list(worker_batch_indices(7, 1, 3))
    [1, 4]
    """
    n_batches = check_int("n_batches", n_batches, low=0)
    num_workers = check_int("num_workers", num_workers, low=1)
    worker_id = check_int("worker_id", worker_id, low=0, high=num_workers - 1)
    return range(worker_id, n_batches, num_workers)


# -- PyTorch -------------------------------------------------------------------------
def to_torch(stream: Iterable[Any], pin_memory: bool = False,
             device: Any = None) -> Iterator[Any]:
    """Yield the batches of ``stream`` as torch tensors (zero-copy from numpy).

    Parameters
    ----------
    stream : iterable
        E.g. :func:`fastaug.stream.batches` or ``iterator.prefetch()``.
    pin_memory : bool
        Page-lock each tensor (needs a CUDA build of torch) so that a later
        ``.to("cuda", non_blocking=True)`` overlaps with compute.
    device : torch.device or str, optional
        Move each tensor there (``non_blocking`` when pinned).

    Yields
    ------
    torch.Tensor or tuple of them

    Notes
    -----
    Feeding a ``DataLoader`` instead: ``DataLoader(stream, batch_size=None)`` takes
    the batches as they are (no re-batching); for worker processes use
    :class:`TorchIterableDataset`.
    """
    import torch

    def convert(a: np.ndarray) -> Any:
        t = torch.from_numpy(np.ascontiguousarray(a))
        if pin_memory:
            t = t.pin_memory()
        if device is not None:
            t = t.to(device, non_blocking=pin_memory)
        return t

    try:
        for batch in stream:
            yield _map_arrays(convert, batch)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


def _make_torch_dataset_class() -> type:
    import torch.utils.data

    from fastaug.stream import batches, num_batches

    class TorchIterableDataset(torch.utils.data.IterableDataset):  # type: ignore[misc]
        """A PyTorch ``IterableDataset`` of fastaug batches, worker-aware.

        In a ``DataLoader`` with ``num_workers=W``, worker ``w`` produces the
        batches ``k`` with ``k % W == w``, each keyed by ``(seed, epoch, k)``:
        workers never repeat each other, and the union over workers is exactly the
        single-process epoch. Use ``DataLoader(ds, batch_size=None, ...)`` (the
        dataset already yields batches) and call :meth:`set_epoch` before each epoch.

        Parameters
        ----------
        x, y, augment, batch_size, seed, epoch, shuffle, drop_last
            As in :func:`fastaug.stream.batches`.
        prefetch, workers : int
            Background prefetch inside each process (default off: the
            ``DataLoader`` workers already run ahead).
        as_tensor : bool
            Yield torch tensors (default) or numpy arrays.
        """

        def __init__(self, x: Any, y: Any = None, augment: Any = None,
                     batch_size: int = 32, seed: int = 0, epoch: int = 0, *,
                     shuffle: bool = True, drop_last: bool = False, prefetch: int = 0,
                     workers: int = 1, as_tensor: bool = True) -> None:
            super().__init__()
            # Validate everything now, in the parent, not in a worker.
            batches(x, y, augment, batch_size, seed, epoch, shuffle=shuffle,
                    drop_last=drop_last, prefetch=0, workers=workers).close()
            check_int("prefetch", prefetch, low=0)
            self.x, self.y, self.augment = x, y, augment
            self.batch_size, self.seed, self.epoch = batch_size, seed, epoch
            self.shuffle, self.drop_last = shuffle, drop_last
            self.prefetch, self.workers, self.as_tensor = prefetch, workers, as_tensor

        def set_epoch(self, epoch: int) -> None:
            """Use epoch ``epoch``'s plan and keys from the next ``iter()`` on."""
            self.epoch = check_int("epoch", epoch, low=0)

        def __len__(self) -> int:
            return num_batches(len(self.x), self.batch_size, self.drop_last)

        def __iter__(self) -> Iterator[Any]:
            info = torch.utils.data.get_worker_info()
            wid, nw = (0, 1) if info is None else (info.id, info.num_workers)
            ks = worker_batch_indices(len(self), wid, nw)
            s = batches(self.x, self.y, self.augment, self.batch_size, self.seed,
                        self.epoch, shuffle=self.shuffle, drop_last=self.drop_last,
                        prefetch=self.prefetch, workers=self.workers, indices=ks)
            return to_torch(s) if self.as_tensor else iter(s)

    TorchIterableDataset.__module__ = __name__
    TorchIterableDataset.__qualname__ = "TorchIterableDataset"
    return TorchIterableDataset


def __getattr__(name: str) -> Any:
    # PEP 562: build the torch class on first access, and keep it as a module
    # attribute so pickling (DataLoader workers under spawn) finds it by name.
    if name == "TorchIterableDataset":
        cls = _make_torch_dataset_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- JAX -----------------------------------------------------------------------------
def to_jax(stream: Iterable[Any], device: Any = None) -> Iterator[Any]:
    """Yield the batches of ``stream`` as JAX arrays placed with ``jax.device_put``.

    ``device_put`` is asynchronous, so the transfer of batch k overlaps with the
    consumer's work on batch k - 1 when the stream prefetches.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.adapters import to_jax
    >>> out = list(to_jax([(np.zeros((2, 3), np.float32), np.arange(2))]))
    >>> type(out[0][0]).__name__, out[0][0].shape
    ('ArrayImpl', (2, 3))
    """
    import jax

    try:
        for batch in stream:
            yield jax.device_put(_map_arrays(lambda a: a, batch), device)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


# -- TensorFlow ----------------------------------------------------------------------
def _spec_of(batch: Any, tf: Any) -> Any:
    if isinstance(batch, (tuple, list)):
        return tuple(_spec_of(b, tf) for b in batch)
    a = np.asarray(batch)
    # The leading (batch) dimension varies: the last batch may be smaller.
    return tf.TensorSpec(shape=(None,) + a.shape[1:], dtype=tf.as_dtype(a.dtype))


def to_tf_dataset(stream_factory: Callable[[], Iterable[Any]],
                  output_signature: Any = None) -> Any:
    """A ``tf.data.Dataset`` over fastaug batches (``from_generator``).

    Parameters
    ----------
    stream_factory : callable
        Returns a fresh iterable of batches each time TensorFlow iterates (each
        epoch), e.g. ``lambda: batches(x, y, aug, 128, seed, epoch=...)``.
    output_signature : tf.TensorSpec or tuple of them, optional
        Default: inferred from the first batch of one call to ``stream_factory``
        (batch dimension left as None).

    Returns
    -------
    tf.data.Dataset
    """
    if not callable(stream_factory):
        raise TypeError(f"stream_factory must be a callable returning an iterable, "
                        f"got {stream_factory!r}")
    import tensorflow as tf

    if output_signature is None:
        probe = stream_factory()
        try:
            first = next(iter(probe))
        finally:
            close = getattr(probe, "close", None)
            if close is not None:
                close()
        output_signature = _spec_of(first, tf)

    def gen() -> Iterator[Any]:
        s = stream_factory()
        try:
            for b in s:
                yield tuple(b) if isinstance(b, list) else b
        finally:
            close = getattr(s, "close", None)
            if close is not None:
                close()

    return tf.data.Dataset.from_generator(gen, output_signature=output_signature)


# -- Keras 3 -------------------------------------------------------------------------
_keras_cls: type | None = None


def _keras_dataset_class() -> type:
    global _keras_cls
    if _keras_cls is None:
        import keras

        from fastaug.stream import make_batch, num_batches

        class FastaugPyDataset(keras.utils.PyDataset):  # type: ignore[misc]
            """Batches keyed by (seed, epoch, k) as a Keras ``PyDataset``."""

            def __init__(self, x: Any, y: Any, augment: Any, batch_size: int,
                         seed: int, epoch: int, shuffle: bool, **kwargs: Any) -> None:
                super().__init__(**kwargs)
                self.x, self.y, self.augment = x, y, augment
                self.batch_size, self.seed, self.epoch = batch_size, seed, epoch
                self.shuffle = shuffle

            def __len__(self) -> int:
                return num_batches(len(self.x), self.batch_size)

            def __getitem__(self, k: int) -> Any:
                if not 0 <= k < len(self):
                    raise IndexError(f"batch index {k} out of range [0, {len(self)})")
                return make_batch(self.x, self.y, self.augment, self.batch_size,
                                  self.seed, self.epoch, k, self.shuffle)

            def on_epoch_end(self) -> None:
                # The next epoch gets its own permutation and keys.
                self.epoch += 1

        FastaugPyDataset.__module__ = __name__
        FastaugPyDataset.__qualname__ = "FastaugPyDataset"
        _keras_cls = FastaugPyDataset
    return _keras_cls


def to_keras(x: Any, y: Any = None, augment: Any = None, batch_size: int = 32,
             seed: int = 0, epoch: int = 0, *, shuffle: bool = True, workers: int = 1,
             max_queue_size: int = 10) -> Any:
    """A Keras 3 ``PyDataset`` for ``model.fit``: batch k of epoch e is ``make_batch``'s.

    Keras runs ``__getitem__`` on ``workers`` threads ahead of training (its own
    prefetch; ``use_multiprocessing`` stays off, the kernels release the GIL), and
    ``on_epoch_end`` moves to the next epoch's plan and keys. The Keras-compatible
    iterators from ``fastaug.keras`` are ``PyDataset`` s already.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.adapters import to_keras
    >>> ds = to_keras(np.zeros((10, 4, 4, 1), np.uint8), np.arange(10), batch_size=4)
    >>> len(ds), ds[2][0].shape
    (3, (2, 4, 4, 1))
    """
    from fastaug.stream import batches

    batches(x, y, augment, batch_size, seed, epoch, shuffle=shuffle, prefetch=0).close()
    workers = check_int("workers", workers, low=1)
    return _keras_dataset_class()(x, y, augment, batch_size, seed, epoch, shuffle,
                                  workers=workers, use_multiprocessing=False,
                                  max_queue_size=max_queue_size)
