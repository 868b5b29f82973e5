"""Featurewise statistics and ZCA whitening, fitted with bounded memory.

:class:`ZCA` computes what Keras's ``ImageDataGenerator`` computes in ``fit()``
for ``featurewise_center``, ``featurewise_std_normalization`` and
``zca_whitening``, and applies it to batches the way ``standardize()`` does,
with the same results (up to rounding) but without Keras's costs:

* ``fit`` streams over a uint8 or float array, a ``np.memmap`` or an iterable
  of chunks in bounded float64 chunks and never makes a full float copy of the
  data. The ZCA matrix comes from a symmetric eigensolver applied to either the
  d x d matrix ``X^T X`` (accumulated chunk by chunk, when n >= d) or the n x n
  Gram matrix ``X X^T`` (when n < d), instead of an SVD of the whole data.
* ``transform`` is one GEMM per batch (B x d times d x d), or two thin GEMMs
  through the factors when the rank is well below d, with centring fused into
  the unavoidable conversion to float.

The whitening formula is Keras 3's (``keras/src/legacy/preprocessing/image.py``)::

    u, s, _ = np.linalg.svd(flat_x.T, full_matrices=False)
    s_inv = np.sqrt(n) / (s + zca_epsilon)
    W = (u * s_inv) @ u.T

where ``flat_x`` is the rescaled data after the featurewise centring (by the
*per-channel* mean) and, if enabled, the featurewise std normalisation.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator
from typing import Any, Literal

import numpy as np

from fastaug._validate import check_bool, check_int, check_real

__all__ = ["ZCA", "STD_EPSILON"]

#: Keras adds this to the per-channel std before dividing, in fit and standardize.
STD_EPSILON = 1e-6

_MiB = 1 << 20
_FORMATS = ("channels_last", "channels_first")
# Order matters: Keras's standardize warns in this order.
_KERAS_FLAGS = (
    ("center", "featurewise_center"),
    ("std_normalization", "featurewise_std_normalization"),
    ("whiten", "zca_whitening"),
)


def _unfit_message(keras_flag: str) -> str:
    # Verbatim text of Keras's ImageDataGenerator.standardize warnings.
    return (
        f"This ImageDataGenerator specifies `{keras_flag}`, but it hasn't "
        "been fit on any training data. Fit it first by calling "
        "`.fit(numpy_data)`."
    )


def _check_real_dtype(arr: np.ndarray, what: str) -> None:
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{what} must hold real numbers (bool, integer or float dtype); "
            f"got dtype {arr.dtype}"
        )


class _Part:
    """One rank-4 array of samples (the whole input, or one chunk)."""

    __slots__ = ("arr", "start")

    def __init__(self, arr: np.ndarray, start: int) -> None:
        self.arr = arr
        self.start = start


class _Moments:
    """Per-feature shifted sums, accumulated in float64 over row pieces.

    The shift (the first piece's per-channel mean, rounded for integer data)
    keeps the sums of squares well conditioned for float data with a large
    offset; for integer data every sum stays an exactly representable integer.
    """

    def __init__(self, d: int, channels: int, channels_last: bool, squares: bool):
        self.d = d
        self.channels = channels
        self.channels_last = channels_last
        self.n = 0
        self.shift: np.ndarray | None = None  # per-channel, float64
        self.shift_flat: np.ndarray | None = None
        self.sums = np.zeros(d)
        self.squares = np.zeros(d) if squares else None

    def per_channel(self, v: np.ndarray) -> np.ndarray:
        if self.channels_last:
            return v.reshape(-1, self.channels).sum(axis=0)
        return v.reshape(self.channels, -1).sum(axis=1)

    def broadcast(self, v: np.ndarray) -> np.ndarray:
        per = self.d // self.channels
        if self.channels_last:
            return np.tile(v, per)
        return np.repeat(v, per)

    def add(self, piece: np.ndarray, start: int) -> np.ndarray:
        """Accumulate a (m, d) piece; return it shifted, as float64."""
        m = piece.shape[0]
        if self.shift is None:
            with np.errstate(all="ignore"):
                shift = self.per_channel(piece.sum(axis=0, dtype=np.float64))
                shift /= m * (self.d // self.channels)
            if piece.dtype.kind in "biu":
                shift = np.round(shift)
            # A non-finite first piece is reported by the check below.
            shift[~np.isfinite(shift)] = 0.0
            self.shift = shift
            self.shift_flat = self.broadcast(shift)
        y = np.empty((m, self.d))
        np.subtract(piece, self.shift_flat, out=y, dtype=np.float64, casting="unsafe")
        col = y.sum(axis=0)
        if piece.dtype.kind == "f" and not np.isfinite(col).all():
            # Any NaN or inf makes its column sum non-finite, so this costs no
            # extra pass over the data.
            bad = np.flatnonzero(~np.isfinite(y).all(axis=1))
            first = start + int(bad[0]) if bad.size else start
            raise ValueError(
                "x contains NaN or infinite values (first in sample "
                f"{first}); ZCA cannot be fitted on non-finite data"
            )
        self.sums += col
        if self.squares is not None:
            self.squares += np.einsum("ij,ij->j", y, y)
        self.n += m
        return y


class ZCA:
    """Featurewise mean/std and ZCA whitening with Keras's semantics.

    Fits the statistics of Keras's ``ImageDataGenerator.fit`` (per-channel
    mean and std after ``rescale``, and the ZCA whitening matrix of Keras 3's
    formula) with bounded memory, and applies them as ``standardize`` does,
    at BLAS speed.

    Parameters
    ----------
    center : bool, default True
        Subtract the per-channel mean (Keras's ``featurewise_center``). Keras
        centres the data by this per-channel mean, not the per-pixel mean,
        before computing ZCA, and so does this class.
    std_normalization : bool, default False
        Divide by ``std + 1e-6`` per channel (``featurewise_std_normalization``).
        If enabled at fit time, ZCA is fitted on the normalised data, as in
        Keras's ``fit``.
    whiten : bool, default True
        Fit and apply ZCA whitening (``zca_whitening``). Keras's generator
        forces ``featurewise_center`` on and ``featurewise_std_normalization``
        off when ZCA is on (with a warning); this class does not, so a caller
        can reproduce either behaviour.
    epsilon : float, default 1e-6
        Keras's ``zca_epsilon``: added to the singular values ``s`` of the
        centred n x d data matrix, ``gain = sqrt(n) / (s + epsilon)``. It is
        *not* added to the variances. Must be finite and >= 0.
    rescale : float or None, default None
        Multiply the data by this before anything else, in ``fit`` and (unless
        ``rescaled=True``) in ``transform``. ``None`` or ``0`` means no
        rescaling, as in Keras.
    data_format : {"channels_last", "channels_first"}
        Layout of samples: (H, W, C) or (C, H, W).
    chunk_bytes : int, default 128 MiB
        Upper bound on each float64 working chunk during ``fit``.
    max_matrix_bytes : int, default 2 GiB
        Largest float64 square matrix ``fit`` may form (d x d when n >= d,
        n x n when n < d). Fitting needs roughly five times this at its peak
        (the eigensolver's workspace). A fit that would exceed it raises
        ``MemoryError`` before forming the matrix.

    Attributes
    ----------
    n_samples_ : int
        Number of samples seen by ``fit``.
    image_shape_ : tuple of int
        Shape of one sample, in ``data_format`` order.
    channel_mean_, channel_std_ : ndarray of float64, shape (C,)
        Per-channel mean and (population) std of the rescaled data.
    mean_, std_ : ndarray of float32
        The same, in Keras's broadcast shape, (1, 1, C) or (C, 1, 1), and
        dtype: drop-in values for ``ImageDataGenerator.mean`` / ``.std``.
    singular_values_ : ndarray of float64, shape (r,)
        Singular values ``s`` of the centred data matrix, descending.
    scales_ : ndarray of float64, shape (r,)
        ``sqrt(n) / (s + epsilon)``, the gain along each component.
    components_ : ndarray, shape (d, r)
        Orthonormal directions ``u`` (float64 when it takes at most 256 MiB,
        else float32). ``W = components_ * scales_ @ components_.T``.
    n_components_ : int
        ``r``: ``min(n, d)``, less any numerically null directions dropped
        when n < d (see Notes).
    fit_method_ : {"covariance", "gram"}
        Which matrix the eigensolver saw: d x d ``X^T X`` or n x n ``X X^T``.

    Notes
    -----
    **Exactness.** The centred d x d (or n x n) matrix is accumulated in
    float64; for integer data every product and partial sum is an exactly
    representable integer, so the only rounding is in the mean correction and
    the eigensolver. Keras itself runs its SVD on float32 data (``np.linalg.svd``
    of float32 input computes in float32); only its matrix product with
    ``sqrt(n)`` makes ``W`` float64. This class's singular values and
    directions are therefore at least as accurate as Keras's; results agree
    with Keras to float32 precision on well-conditioned data.

    **Directions with (near) zero variance.** Keras's SVD returns
    ``min(n, d)`` directions and gives each the gain ``sqrt(n) / (s + epsilon)``.

    * When n >= d all d directions are kept, as in Keras. A direction with no
      variance has ``s`` at the rounding noise floor (about 1e-8 of the largest
      singular value here, about 1e-7 in Keras's float32 SVD), so its gain is
      large and noise-determined in both, bounded by ``sqrt(n) / epsilon``
      (2.2e8 for n = 50000 with the default epsilon). Any input component along
      such a direction, including float32 rounding, is amplified by that gain.
      With data that has such directions (constant borders, duplicated
      pixels), use a larger ``epsilon``.
    * When n < d, ``W`` has rank at most n and maps everything orthogonal to
      the span of the centred fit data to zero, as Keras's does. Directions of
      the n x n Gram matrix with eigenvalue below ``n * eps64 * largest`` are
      numerically null: Keras's vectors for them are arbitrary (whatever
      LAPACK returns orthogonal to the data), and this class drops them, so
      ``n_components_`` can be below n for rank-deficient data (duplicate
      samples, for example).

    **Non-finite data.** ``fit`` raises ``ValueError`` on NaN or infinity.
    ``transform`` does not check (it would cost a pass per batch): NaN in a
    sample propagates to that sample's output.

    **Cost.** With n >= d, ``fit`` reads the data once and does n*d*d/2
    multiply-adds in float64 (syrk) plus one d x d symmetric eigensolve
    (LAPACK ``syevd``, run on the cores idle at that moment, since its BLAS-2
    phase stalls badly on busy cores); memory is about five d x d float64
    matrices plus one chunk. With n < d it reads the data three times (stats,
    Gram matrix, then ``U = X^T V / s``) and holds ``U`` (d x n) besides.
    ``transform`` costs what one GEMM of the same shapes costs.

    Parameters ``epsilon``, ``rescale`` and ``data_format`` are read by
    ``fit``; changing them afterwards has no effect until the next fit. The
    flags ``center``, ``std_normalization`` and ``whiten`` are read by
    ``transform``, so a caller can switch steps on and off as Keras allows.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.whitening import ZCA
    >>> rng = np.random.default_rng(0)
    >>> x = rng.integers(0, 256, size=(500, 8, 8, 3), dtype=np.uint8)
    >>> zca = ZCA(epsilon=1e-6).fit(x)
    >>> zca.mean_.shape, zca.n_components_, zca.fit_method_
    ((1, 1, 3), 192, 'covariance')
    >>> y = zca.transform(x[:32])
    >>> y.shape, y.dtype
    ((32, 8, 8, 3), dtype('float32'))

    The whitened fit data has identity second moment (Keras centres by the
    per-channel mean, so it is the covariance up to that offset):

    >>> flat = zca.transform(x, dtype=np.float64).reshape(500, -1)
    >>> bool(np.allclose(flat.T @ flat / 500, np.eye(192), atol=1e-6))
    True

    Fewer samples than features: the factored form, rank n.

    >>> small = ZCA().fit(x[:50])
    >>> small.fit_method_, small.components_.shape
    ('gram', (192, 50))
    """

    def __init__(
        self,
        *,
        center: bool = True,
        std_normalization: bool = False,
        whiten: bool = True,
        epsilon: float = 1e-6,
        rescale: float | None = None,
        data_format: Literal["channels_last", "channels_first"] = "channels_last",
        chunk_bytes: int = 128 * _MiB,
        max_matrix_bytes: int = 2048 * _MiB,
    ) -> None:
        self.center = center
        self.std_normalization = std_normalization
        self.whiten = whiten
        self.epsilon = epsilon
        self.rescale = rescale
        self.data_format = data_format
        self.chunk_bytes = chunk_bytes
        self.max_matrix_bytes = max_matrix_bytes
        self._stats_fitted = False
        self._whiten_fitted = False
        self._cache64: dict[str, Any] = {}
        self._validate_params()

    # ------------------------------------------------------------------ params
    def __repr__(self) -> str:
        return (
            f"ZCA(center={self.center!r}, std_normalization={self.std_normalization!r}, "
            f"whiten={self.whiten!r}, epsilon={self.epsilon!r}, rescale={self.rescale!r}, "
            f"data_format={self.data_format!r})"
        )

    def _validate_params(self) -> None:
        for name in ("center", "std_normalization", "whiten"):
            check_bool(name, getattr(self, name))
        check_real("epsilon", self.epsilon, low=0.0)
        if self.rescale is not None:
            check_real("rescale", self.rescale)
        if self.data_format not in _FORMATS:
            # Keras's wording, as its generator reports it.
            raise ValueError(
                '`data_format` should be "channels_last" (channel after row and '
                'column) or "channels_first" (channel before row and column). '
                f"Received: {self.data_format!r}"
            )
        check_int("chunk_bytes", self.chunk_bytes, low=1)
        check_int("max_matrix_bytes", self.max_matrix_bytes, low=1)

    # ----------------------------------------------------------------- pickle
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_cache64"] = {}  # rebuilt on demand; no point shipping it
        return state

    # -------------------------------------------------------------- properties
    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` has run (statistics are available)."""
        return self._stats_fitted

    def _require_fitted(self, what: str) -> None:
        if not self._stats_fitted:
            raise RuntimeError(f"ZCA.{what} is not available before fit(); call ZCA.fit(x) first")

    def _keras_shape(self, channels: int) -> tuple[int, int, int]:
        if self._fit_format == "channels_last":
            return (1, 1, channels)
        return (channels, 1, 1)

    @property
    def mean_(self) -> np.ndarray:
        """Per-channel mean, float32, in Keras's broadcast shape."""
        self._require_fitted("mean_")
        c = self.channel_mean_
        return c.astype(np.float32).reshape(self._keras_shape(c.size))

    @property
    def std_(self) -> np.ndarray:
        """Per-channel std, float32, in Keras's broadcast shape."""
        self._require_fitted("std_")
        c = self.channel_std_
        return c.astype(np.float32).reshape(self._keras_shape(c.size))

    @property
    def whitening_matrix_(self) -> np.ndarray:
        """The d x d ZCA matrix ``W`` in float64, as Keras stores it.

        Materialised on each access from ``components_`` and ``scales_``
        (d * d * 8 bytes: 75 MB for 32x32x3, 181 GB for 224x224x3).
        """
        if not self._whiten_fitted:
            raise RuntimeError(
                "ZCA.whitening_matrix_ is not available: call ZCA.fit(x) with whiten=True first"
            )
        b = self.components_.astype(np.float64, copy=False) * np.sqrt(self.scales_)
        return b @ b.T  # = (u * scales_) @ u.T, as syrk

    # --------------------------------------------------------------------- fit
    def fit(self, x: Any) -> ZCA:
        """Compute per-channel mean and std and, if ``whiten``, the ZCA transform.

        Parameters
        ----------
        x : array_like, np.memmap or iterable of arrays
            Samples of rank 4, (n, H, W, C) or (n, C, H, W) per
            ``data_format``, of any real dtype (uint8 is read without a float
            copy). An iterable (generator, iterator, or list/tuple of rank-4
            arrays) is consumed chunk by chunk; chunks must share the image
            shape. With an iterable and ``d * d * 8 > max_matrix_bytes``
            (large images), the chunks are kept in memory, copied in their own
            dtype, because the n x n Gram matrix needs every pair of samples:
            pass an array or ``np.memmap`` to stream from disk instead.

        Returns
        -------
        ZCA
            ``self``.

        Raises
        ------
        ValueError
            Wrong rank, no samples, mismatched chunk shapes, or NaN/inf.
        TypeError
            Non-real dtype, or an ``x`` that is neither array-like nor iterable.
        MemoryError
            The eigenproblem would exceed ``max_matrix_bytes``.

        Examples
        --------
        >>> import numpy as np
        >>> from fastaug.whitening import ZCA
        >>> x = np.random.default_rng(1).random((300, 4, 4, 3), dtype=np.float32)
        >>> chunks = (x[i:i + 64] for i in range(0, 300, 64))
        >>> a, b = ZCA().fit(x), ZCA().fit(chunks)
        >>> bool(np.allclose(a.whitening_matrix_, b.whitening_matrix_, rtol=1e-8, atol=1e-8))
        True
        """
        self._validate_params()
        channels_last = self.data_format == "channels_last"
        parts, stream = _as_parts(x)
        first: _Part | None = None
        if stream:
            # Peek at the first chunk to learn the image shape.
            first = next(parts, None)
            if first is None:
                raise ValueError("cannot fit on empty data: the iterable yielded no samples")
        else:
            first = parts[0]
        image_shape = tuple(int(s) for s in first.arr.shape[1:])
        d = math.prod(image_shape)
        if d == 0:
            raise ValueError(f"cannot fit on empty images: sample shape {image_shape}")
        channels = image_shape[-1] if channels_last else image_shape[0]
        if channels not in (1, 3, 4):
            axis = 3 if channels_last else 1
            warnings.warn(
                "Expected input to be images (as Numpy array) following the data "
                f'format convention "{self.data_format}" (channels on axis {axis}), '
                f"i.e. expected either 1, 3 or 4 channels on axis {axis}. However, "
                f"it was passed an array with shape {first.arr.shape} "
                f"({channels} channels).",
                stacklevel=2,
            )

        def all_parts() -> Iterator[_Part]:
            if stream:
                yield first
                yield from parts
            else:
                yield from parts

        dense_bytes = 8 * d * d
        ctx = _FitContext(self, image_shape, d, channels, channels_last)
        if not self.whiten:
            ctx.stats_pass(all_parts())
        elif stream and dense_bytes <= self.max_matrix_bytes:
            ctx.covariance(all_parts())
        else:
            if stream:
                # One pass cannot build the n x n Gram matrix: keep the chunks,
                # copied because iterators often reuse their buffers.
                kept = [_Part(np.array(p.arr, copy=True), p.start) for p in all_parts()]
                parts = [p for p in kept if p.arr.shape[0]]
            n = sum(p.arr.shape[0] for p in parts)
            if n == 0:
                raise ValueError("cannot fit on empty data: x has 0 samples")
            if n >= d:
                if dense_bytes > self.max_matrix_bytes:
                    raise MemoryError(
                        f"ZCA with n={n} >= d={d} needs a d x d float64 matrix of "
                        f"{dense_bytes / 2**30:.1f} GiB (max_matrix_bytes="
                        f"{self.max_matrix_bytes}); use fewer samples than pixels, "
                        "smaller images, or raise max_matrix_bytes"
                    )
                ctx.covariance(iter(parts))
            else:
                gram_bytes = 8 * n * n
                if gram_bytes > self.max_matrix_bytes:
                    raise MemoryError(
                        f"ZCA with n={n} < d={d} needs an n x n float64 Gram matrix "
                        f"of {gram_bytes / 2**30:.1f} GiB (max_matrix_bytes="
                        f"{self.max_matrix_bytes}); fit on fewer samples or raise "
                        "max_matrix_bytes"
                    )
                ctx.gram(parts, n)
        self._adopt(ctx.result)
        return self

    # Every attribute a fit sets; a new fit replaces all of them at once.
    _FIT_ATTRS = ("n_samples_", "image_shape_", "channel_mean_", "channel_std_",
                  "_fit_rescale", "_fit_format", "_stats_fitted", "_whiten_fitted",
                  "singular_values_", "scales_", "components_", "n_components_",
                  "fit_method_", "_W32", "_U32", "_k32", "_apply_dense")

    def _adopt(self, result: dict[str, Any]) -> None:
        for name in self._FIT_ATTRS:
            self.__dict__.pop(name, None)
        self.__dict__.update(result)
        self._cache64 = {}

    # --------------------------------------------------------------- transform
    def transform(
        self,
        x: Any,
        *,
        out: np.ndarray | None = None,
        dtype: Any = np.float32,
        rescaled: bool = False,
        if_unfitted: Literal["raise", "warn"] = "raise",
    ) -> np.ndarray:
        """Standardize a batch (or one image) as Keras's ``standardize`` does.

        Applies, in Keras's order, ``rescale`` (unless ``rescaled``),
        featurewise centring, featurewise std normalisation and ZCA, each only
        if its flag is on. ``x`` is never modified (unless it is also ``out``).

        Parameters
        ----------
        x : array_like
            (B, H, W, C) / (B, C, H, W) batch or one (H, W, C) / (C, H, W)
            image, any real dtype. With ``whiten`` the sample shape must equal
            ``image_shape_``; otherwise only the channel count must match.
        out : ndarray, optional
            C-contiguous array of ``x``'s shape and ``dtype`` to write into;
            may be ``x`` itself.
        dtype : {np.float32, np.float64}, default np.float32
            Output and compute precision.
        rescaled : bool, default False
            ``x`` has already been multiplied by ``rescale`` (as Keras's
            ``standardize`` does before the samplewise steps): skip it.
        if_unfitted : {"raise", "warn"}, default "raise"
            What a step that needs fitted statistics does before ``fit``:
            raise ``RuntimeError``, or emit Keras's ``UserWarning`` and skip
            the step (the semantics of ``ImageDataGenerator.standardize``).

        Returns
        -------
        ndarray
            The standardized data, same shape as ``x``, dtype ``dtype``.

        Examples
        --------
        >>> import numpy as np
        >>> from fastaug.whitening import ZCA
        >>> x = np.random.default_rng(2).integers(0, 256, (200, 4, 4, 3), dtype=np.uint8)
        >>> zca = ZCA(rescale=1 / 255).fit(x)
        >>> batch = zca.transform(x[:8])
        >>> one = zca.transform(x[0])
        >>> bool(np.allclose(batch[0], one, rtol=1e-5, atol=1e-5))
        True
        >>> ZCA().transform(x)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        RuntimeError: ZCA.transform() needs fitted statistics for featurewise_center, ...
        """
        self._validate_params()
        dt = np.dtype(dtype)
        if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"dtype must be float32 or float64; got {dt}")
        if if_unfitted not in ("raise", "warn"):
            raise ValueError(f"if_unfitted must be 'raise' or 'warn'; got {if_unfitted!r}")
        x = np.asarray(x)
        _check_real_dtype(x, "x")
        fmt = self._fit_format if self._stats_fitted else self.data_format
        layout = "(H, W, C)" if fmt == "channels_last" else "(C, H, W)"
        if x.ndim not in (3, 4):
            raise ValueError(
                f"x must be one image of rank 3 {layout} or a batch of rank 4; "
                f"got shape {x.shape}"
            )
        single = x.ndim == 3
        xb = x[None] if single else x

        want = {"center": self.center, "std_normalization": self.std_normalization,
                "whiten": self.whiten}
        have = {"center": self._stats_fitted, "std_normalization": self._stats_fitted,
                "whiten": self._whiten_fitted}
        missing = [k for k, _ in _KERAS_FLAGS if want[k] and not have[k]]
        if missing:
            names = dict(_KERAS_FLAGS)
            if if_unfitted == "raise":
                raise RuntimeError(
                    "ZCA.transform() needs fitted statistics for "
                    + ", ".join(names[k] for k in missing)
                    + "; call ZCA.fit(x) first"
                )
            for k in missing:
                warnings.warn(_unfit_message(names[k]), UserWarning, stacklevel=2)
                want[k] = False

        sample_shape = tuple(xb.shape[1:])
        if want["whiten"] and sample_shape != self.image_shape_:
            raise ValueError(
                f"x has samples of shape {sample_shape} but ZCA was fitted on "
                f"{self.image_shape_} {layout}; whitening needs the same shape"
            )
        if want["center"] or want["std_normalization"]:
            c_axis = -1 if fmt == "channels_last" else 0
            fitted_c = self.channel_mean_.size
            if sample_shape[c_axis] != fitted_c:
                raise ValueError(
                    f"x has {sample_shape[c_axis]} channels (shape {x.shape}, "
                    f"{fmt}) but ZCA was fitted on {fitted_c}"
                )

        if out is not None:
            if not isinstance(out, np.ndarray):
                raise TypeError(f"out must be a numpy array; got {type(out).__name__}")
            if out.shape != x.shape or out.dtype != dt:
                raise ValueError(
                    f"out must have x's shape {x.shape} and dtype {dt}; got shape "
                    f"{out.shape}, dtype {out.dtype}"
                )
            if not (out.flags.c_contiguous and out.flags.writeable):
                raise ValueError("out must be C-contiguous and writeable")
        out_b = None if out is None else (out[None] if single else out)

        B = xb.shape[0]
        d = math.prod(sample_shape)
        buf = np.empty(xb.shape, dt) if (want["whiten"] or out_b is None) else out_b
        # The first step converts to float as it goes, so centring and scaling
        # cost one cheap elementwise pass each next to the GEMM. When the
        # sample shape is the fitted one, use flat per-feature vectors: numpy
        # broadcasts a (d,) vector far faster than a (1, 1, C) one.
        flat = sample_shape == getattr(self, "image_shape_", None)
        src: np.ndarray = xb
        if self._stats_fitted:
            r = self._fit_rescale
        else:
            r = self.rescale
        if r and not rescaled:
            np.multiply(src, dt.type(r), out=buf, dtype=dt, casting="unsafe")
            src = buf
        if want["center"]:
            m = self._vec("mean", dt, flat)
            np.subtract(
                src.reshape(B, d) if flat else src, m,
                out=buf.reshape(B, d) if flat else buf, dtype=dt, casting="unsafe",
            )
            src = buf
        if want["std_normalization"]:
            s = self._vec("stdeps", dt, flat)
            np.divide(
                src.reshape(B, d) if flat else src, s,
                out=buf.reshape(B, d) if flat else buf, dtype=dt, casting="unsafe",
            )
            src = buf
        if src is not buf:
            np.copyto(buf, src, casting="unsafe")

        if not want["whiten"]:
            result = buf
        else:
            res2d = np.empty((B, d), dt) if out_b is None else out_b.reshape(B, d)
            self._whiten_rows(buf.reshape(B, d), res2d)
            result = res2d.reshape(xb.shape)
        return result[0] if single else result

    def _whiten_rows(self, flat_in: np.ndarray, out: np.ndarray) -> None:
        """``out = flat_in @ W`` (rows are samples), through the factors when low-rank."""
        dt = out.dtype
        if self._apply_dense:
            np.matmul(flat_in, self._apply_factor("W", dt), out=out)
        else:
            u = self._apply_factor("U", dt)
            t = flat_in @ u
            t *= self._apply_factor("k", dt)
            np.matmul(t, u.T, out=out)

    def apply_whitening(self, x: Any, *, dtype: Any = np.float32) -> np.ndarray:
        """Apply only the whitening, ``flat @ W``, to data already centred and scaled.

        What Keras's ``standardize`` does last, when the centring and std steps
        come from elsewhere (the Keras drop-in keeps them on the generator,
        where users may reassign them). One GEMM for the batch; ``x`` is never
        modified.

        Parameters
        ----------
        x : array_like
            A batch of rank 4 or one image of rank 3, with ``image_shape_`` samples.
        dtype : {np.float32, np.float64}, default np.float32

        Returns
        -------
        ndarray
            Same shape as ``x``.

        Examples
        --------
        >>> import numpy as np
        >>> from fastaug.whitening import ZCA
        >>> x = np.random.default_rng(0).random((100, 4, 4, 1), dtype=np.float32)
        >>> zca = ZCA().fit(x)
        >>> centred = x - zca.mean_
        >>> bool(np.allclose(zca.apply_whitening(centred), zca.transform(x), atol=1e-5))
        True
        """
        if not self._whiten_fitted:
            raise RuntimeError("ZCA.apply_whitening() needs a fitted whitening: call ZCA.fit(x) "
                               "with whiten=True first")
        dt = np.dtype(dtype)
        if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"dtype must be float32 or float64; got {dt}")
        x = np.asarray(x)
        _check_real_dtype(x, "x")
        xb = x[None] if x.ndim == 3 else x
        if xb.ndim != 4 or tuple(xb.shape[1:]) != self.image_shape_:
            raise ValueError(f"x must have samples of shape {self.image_shape_} (the "
                             f"fitted shape), got shape {x.shape}")
        d = math.prod(self.image_shape_)
        flat = np.ascontiguousarray(xb.reshape(xb.shape[0], d), dtype=dt)
        out = np.empty_like(flat)
        self._whiten_rows(flat, out)
        return out.reshape(x.shape)

    def _vec(self, which: str, dt: np.dtype, flat: bool) -> np.ndarray:
        key = (which, dt.char, flat)
        cache = self._cache64
        v = cache.get(key)
        if v is None:
            # Keras: mean/std are float32 when the data is float32, and it
            # adds STD_EPSILON in that dtype (x /= self.std + 1e-6).
            base = self.channel_mean_ if which == "mean" else self.channel_std_
            v = base.astype(dt)
            if which == "stdeps":
                v = v + dt.type(STD_EPSILON)
            if flat:
                per = math.prod(self.image_shape_) // v.size
                v = np.tile(v, per) if self._fit_format == "channels_last" else np.repeat(v, per)
            else:
                v = v.reshape(self._keras_shape(v.size))
            cache[key] = v
        return v

    def _apply_factor(self, which: str, dt: np.dtype) -> np.ndarray:
        if dt == np.float32:
            return getattr(self, "_" + which + "32")
        key = ("f64", which)
        v = self._cache64.get(key)
        if v is None:
            u = self.components_.astype(np.float64, copy=False)
            if which == "W":
                v = self.whitening_matrix_
            elif which == "U":
                v = u
            else:
                v = self.scales_
            self._cache64[key] = v
        return v


class _FitContext:
    """The passes of one fit over the data; collects the fitted attributes in ``result``.

    ``est`` is read for its parameters only; :meth:`ZCA.fit` adopts ``result``
    once every pass has succeeded, so a failed fit leaves the estimator as it was.
    """

    def __init__(self, est: ZCA, image_shape: tuple[int, ...], d: int, channels: int,
                 channels_last: bool) -> None:
        self.est = est
        self.result: dict[str, Any] = {}
        self.image_shape = image_shape
        self.d = d
        self.channels = channels
        self.channels_last = channels_last
        self.rows = max(1, est.chunk_bytes // (8 * d))

    # Row pieces of at most self.rows samples, flattened to (m, d).
    def pieces(self, parts: Iterable[_Part]) -> Iterator[tuple[np.ndarray, int]]:
        for p in parts:
            if p.arr.shape[1:] != self.image_shape:
                raise ValueError(
                    f"chunk starting at sample {p.start} has samples of shape "
                    f"{p.arr.shape[1:]}; expected {self.image_shape} like the first"
                )
            for i in range(0, p.arr.shape[0], self.rows):
                block = p.arr[i:i + self.rows]
                yield block.reshape(block.shape[0], self.d), p.start + i

    def moments(self, squares: bool) -> _Moments:
        return _Moments(self.d, self.channels, self.channels_last, squares)

    def finish_stats(self, mom: _Moments, squares: np.ndarray) -> None:
        """Per-channel mean/std from shifted sums; store them (rescaled)."""
        est = self.est
        if mom.n == 0:
            raise ValueError("cannot fit on empty data: x has 0 samples")
        count = mom.n * (self.d // self.channels)
        mean_y = mom.per_channel(mom.sums) / count
        var = mom.per_channel(squares) / count - mean_y * mean_y
        self.mean_raw = mom.shift + mean_y
        std_raw = np.sqrt(np.maximum(var, 0.0))
        r = est.rescale if est.rescale else 1.0
        channel_std = std_raw * abs(r)
        self.result.update(
            n_samples_=mom.n, image_shape_=self.image_shape, channel_mean_=self.mean_raw * r,
            channel_std_=channel_std, _fit_rescale=est.rescale if est.rescale else None,
            _fit_format=est.data_format, _stats_fitted=True, _whiten_fitted=False)
        # What ZCA sees, in raw units: (x - a) * g, Keras's fit order.
        self.a_flat = mom.broadcast(self.mean_raw) if est.center else np.zeros(self.d)
        g = np.full(self.channels, float(r))
        if est.std_normalization:
            g = g / (channel_std + STD_EPSILON)
        self.g_flat = mom.broadcast(g)
        self.g_is_one = bool(np.all(g == 1.0))

    def stats_pass(self, parts: Iterable[_Part]) -> None:
        mom = self.moments(squares=True)
        for piece, start in self.pieces(parts):
            mom.add(piece, start)
        self.finish_stats(mom, mom.squares)

    def covariance(self, parts: Iterable[_Part]) -> None:
        """One pass: G = sum of shifted Y^T Y in float64, then the mean correction."""
        d = self.d
        mom = self.moments(squares=False)
        G = np.zeros((d, d))
        T = np.empty((d, d))
        for piece, start in self.pieces(parts):
            y = mom.add(piece, start)
            np.matmul(y.T, y, out=T)  # numpy runs syrk for y.T @ y
            G += T
            del y
        self.finish_stats(mom, np.diagonal(G).copy())
        n = mom.n
        # (Y - 1 delta^T)^T (Y - 1 delta^T) = G - h delta^T - delta h^T with
        # h = s - n delta / 2: centres exactly on the per-channel mean without
        # a second pass, in float64 on shifted (well-conditioned) sums.
        delta = self.a_flat - mom.shift_flat
        h = mom.sums - 0.5 * n * delta
        np.outer(h, delta, out=T)
        G -= T
        G -= T.T
        del T
        if not self.g_is_one:
            G *= self.g_flat[:, None]
            G *= self.g_flat[None, :]
        lam, V = np.linalg.eigh(G)
        del G
        r = min(n, d)
        lam = lam[::-1][:r]
        V = V[:, ::-1][:, :r]
        s = np.sqrt(np.maximum(lam, 0.0))
        self.store(V, s, n, "covariance")

    def column_blocks(self, parts: list[_Part], n: int) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yield (j0, j1, Z) with Z = (X[:, j0:j1] - a) * g as float64 (n, j1 - j0).

        Blocks are slabs of the first one or two sample axes, so each is a
        strided view of any input array, memmap or not, and is read once.
        """
        A, Bd, Cd = self.image_shape
        S1, S2 = Bd * Cd, Cd
        width = max(S2, self.est.chunk_bytes // (8 * n))
        if width >= S1:
            step = width // S1
            plan = [((slice(i, min(i + step, A)),), i * S1, min(i + step, A) * S1)
                    for i in range(0, A, step)]
        else:
            step = max(1, width // S2)
            plan = [((i, slice(j, min(j + step, Bd))), i * S1 + j * S2,
                     i * S1 + min(j + step, Bd) * S2)
                    for i in range(A) for j in range(0, Bd, step)]
        maxw = max(j1 - j0 for _, j0, j1 in plan)
        buf = np.empty(n * maxw)
        for slab, j0, j1 in plan:
            w = j1 - j0
            Z = buf[: n * w].reshape(n, w)
            a = self.a_flat[j0:j1]
            row = 0
            for p in parts:
                src = p.arr[(slice(None),) + slab]
                m = src.shape[0]
                dst = Z[row:row + m]
                # numpy coalesces the slab's contiguous trailing axes, so this
                # runs as one long inner loop per sample.
                np.subtract(src, a.reshape(src.shape[1:]), out=dst.reshape(src.shape),
                            dtype=np.float64, casting="unsafe")
                row += m
            if not self.g_is_one:
                Z *= self.g_flat[j0:j1]
            yield j0, j1, Z

    def gram(self, parts: list[_Part], n: int) -> None:
        """Three passes: stats, K = Z Z^T by column blocks, U = Z^T V / s."""
        mom = self.moments(squares=True)
        for piece, start in self.pieces(parts):
            mom.add(piece, start)
        self.finish_stats(mom, mom.squares)
        K = np.zeros((n, n))
        T = np.empty((n, n))
        for _, _, Z in self.column_blocks(parts, n):
            np.matmul(Z, Z.T, out=T)  # syrk
            K += T
        del T
        lam, V = np.linalg.eigh(K)
        del K
        lam = lam[::-1]
        V = V[:, ::-1]
        # K was formed explicitly, so eigenvalues below ~n * eps * largest are
        # rounding noise: u = Z^T v / s would be garbage for them.
        top = lam[0] if lam.size else 0.0
        tol = top * n * np.finfo(np.float64).eps
        r = int(np.count_nonzero(lam > tol)) if top > 0 else 0
        s = np.sqrt(lam[:r])
        Vs = V[:, :r] / s
        store = np.float64 if self.d * r * 8 <= 256 * _MiB else np.float32
        U = np.empty((self.d, r), dtype=store)
        if r:
            tmp = None
            for j0, j1, Z in self.column_blocks(parts, n):
                w = j1 - j0
                if tmp is None or tmp.shape[0] < w:
                    tmp = np.empty((w, r))
                np.matmul(Z.T, Vs, out=tmp[:w])
                U[j0:j1] = tmp[:w]
        self.store(U, s, n, "gram", components_dtype=store)

    def store(self, U: np.ndarray, s: np.ndarray, n: int, method: str,
              components_dtype: Any = None) -> None:
        est = self.est
        d = self.d
        r = U.shape[1]
        with np.errstate(divide="ignore"):
            k = math.sqrt(n) / (s + est.epsilon)
        if not np.all(np.isfinite(k)):
            raise ValueError(
                "a direction has zero singular value and epsilon=0, so its ZCA gain "
                "sqrt(n)/(s + epsilon) is infinite; use epsilon > 0"
            )
        if components_dtype is None:
            components_dtype = np.float64 if d * r * 8 <= 256 * _MiB else np.float32
        dense = 2 * r >= d
        res = self.result
        if dense:
            # W = (U * k) @ U.T, Keras's float64 matrix; k > 0, so as
            # B @ B.T with B = U * sqrt(k), which numpy runs as syrk (half the
            # flops of a general GEMM).
            B = U * np.sqrt(k)
            res["_W32"] = (B @ B.T).astype(np.float32)
            del B
        components = np.ascontiguousarray(U, dtype=components_dtype)
        res.update(components_=components, singular_values_=s, scales_=k, n_components_=r,
                   fit_method_=method, _apply_dense=dense, _whiten_fitted=True)
        if not dense:
            res["_U32"] = (components if components.dtype == np.float32
                           else components.astype(np.float32))
            res["_k32"] = k.astype(np.float32)


def _as_parts(x: Any) -> tuple[Any, bool]:
    """Classify ``x``: (list of parts, False) for arrays, (iterator, True) for streams."""
    if isinstance(x, (str, bytes)):
        raise TypeError(f"x must be an array or an iterable of arrays; got {type(x).__name__}")
    if isinstance(x, (list, tuple)) and x and all(
        isinstance(c, np.ndarray) and c.ndim == 4 for c in x
    ):
        parts = []
        start = 0
        for i, c in enumerate(x):
            _check_real_dtype(c, f"chunk {i}")
            parts.append(_Part(c, start))
            start += c.shape[0]
        parts = [p for p in parts if p.arr.shape[0]] or parts[:1]
        if sum(p.arr.shape[0] for p in parts) == 0:
            raise ValueError("cannot fit on empty data: x has 0 samples")
        return parts, False
    if isinstance(x, np.ndarray) or hasattr(x, "__array__") or hasattr(
        x, "__array_interface__"
    ) or isinstance(x, (list, tuple)):
        arr = np.asarray(x)
        _check_real_dtype(arr, "x")
        if arr.ndim != 4:
            raise ValueError(
                "Input to `.fit()` should have rank 4. Got array with shape: "
                + str(arr.shape)
            )
        if arr.shape[0] == 0:
            raise ValueError("cannot fit on empty data: x has 0 samples")
        return [_Part(arr, 0)], False
    if isinstance(x, Iterable):
        return _stream(iter(x)), True
    raise TypeError(
        f"x must be an array, np.memmap or iterable of rank-4 arrays; got {type(x).__name__}"
    )


def _stream(it: Iterator[Any]) -> Iterator[_Part]:
    start = 0
    shape = None
    for i, c in enumerate(it):
        arr = np.asarray(c)
        _check_real_dtype(arr, f"chunk {i}")
        if arr.ndim != 4:
            raise ValueError(
                f"every chunk must have rank 4 (samples first); chunk {i} has shape {arr.shape}"
            )
        if shape is None:
            shape = arr.shape[1:]
        elif arr.shape[1:] != shape:
            raise ValueError(
                f"chunk {i} has samples of shape {arr.shape[1:]}; expected {shape} like chunk 0"
            )
        if arr.shape[0]:
            yield _Part(arr, start)
            start += arr.shape[0]
