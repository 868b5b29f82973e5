"""The per-image affine parameter record and its matrices, vectorised over a batch.

:class:`AffineParams` is the one record of a batch's geometric and photometric
parameters that both the native API (:class:`fastaug.RandomAffine`) and the
Keras drop-in (``fastaug.keras``) draw into and the warp consumes.
:func:`affine_matrices` turns its geometric part into inverse matrices.

The convention is Keras's ``apply_affine_transform`` (documented quirks included):
the matrix is ``R(theta) @ Shift(tx, ty) @ Shear(shear) @ Zoom(zx, zy)`` in Keras's
"x, y" frame, re-centred on ``(h/2 - 0.5, w/2 - 0.5)``, then rows and columns 0/1
are swapped into scipy's (row, col) frame. So ``tx`` moves the image sideways
(Keras draws it from ``height_shift_range``), ``ty`` vertically, ``zx`` scales
columns, positive ``theta`` rotates counter-clockwise, and ``shear`` is in degrees.

Flips are folded into the matrix: flipping the warped output is a substitution of
the output coordinate, so no extra pass over the pixels is needed. No random
numbers are drawn here; this module never touches pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fastaug._kernels.matrices import keras_matrices

__all__ = ["AffineParams", "affine_matrices"]


@dataclass(frozen=True)
class AffineParams:
    """Per-image parameters of one batch, arrays of length N.

    Angles are in degrees and shifts in pixels, in the convention of
    :func:`affine_matrices`: ``tx`` moves the image along columns, ``ty`` along
    rows, zoom factors belong to the inverse map (above 1 shows a smaller image).
    ``channel_shift`` (added to every channel, then clipped to the warped image's
    own range) and ``brightness`` (a factor, clipped to the data's value range)
    are None when that augmentation is off for the whole batch.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.params import AffineParams
    >>> p = AffineParams.identity(2)
    >>> p.n, (p.matrices(4, 4)[0] + 0.0).tolist()  # + 0.0 drops -0.0
    (2, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    """

    theta: np.ndarray
    tx: np.ndarray
    ty: np.ndarray
    shear: np.ndarray
    zx: np.ndarray
    zy: np.ndarray
    flip_horizontal: np.ndarray
    flip_vertical: np.ndarray
    channel_shift: np.ndarray | None = None
    brightness: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of images."""
        return int(self.theta.shape[0])

    @classmethod
    def identity(cls, n: int) -> AffineParams:
        """Parameters that leave ``n`` images as they are."""
        zeros = np.zeros(n)
        return cls(theta=zeros, tx=zeros, ty=zeros, shear=zeros, zx=np.ones(n),
                   zy=np.ones(n), flip_horizontal=np.zeros(n, bool),
                   flip_vertical=np.zeros(n, bool))

    def matrices(self, h: int, w: int) -> np.ndarray:
        """The (N, 2, 3) inverse matrices for ``h`` x ``w`` images (scipy's frame)."""
        return affine_matrices(h, w, self.theta, self.tx, self.ty, self.shear, self.zx,
                               self.zy, self.flip_horizontal, self.flip_vertical)


def affine_matrices(
    h: int,
    w: int,
    theta: np.ndarray | float = 0.0,
    tx: np.ndarray | float = 0.0,
    ty: np.ndarray | float = 0.0,
    shear: np.ndarray | float = 0.0,
    zx: np.ndarray | float = 1.0,
    zy: np.ndarray | float = 1.0,
    flip_horizontal: np.ndarray | bool = False,
    flip_vertical: np.ndarray | bool = False,
) -> np.ndarray:
    """Build scipy-convention inverse matrices from Keras-convention parameters.

    Parameters
    ----------
    h, w : int
        Image height (rows) and width (columns).
    theta, shear : array_like
        Rotation and shear angles in degrees (Keras's units).
    tx, ty : array_like
        Keras's shifts in pixels: ``tx`` moves the image along columns, ``ty``
        along rows (the inverse map adds them to the sampled coordinate).
    zx, zy : array_like
        Keras's zoom factors (of the inverse map: > 1 shows a smaller image).
    flip_horizontal, flip_vertical : array_like of bool
        Flip the warped image left-right / top-bottom, after the affine (Keras's
        order), folded into the matrix.

    Returns
    -------
    ndarray, shape (N, 2, 3), float64
        For ``fastaug.warp_affine``: output (r, c) samples input
        ``M[:, :2] @ (r, c) + M[:, 2]``. N is the broadcast length of the inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.params import affine_matrices
    >>> affine_matrices(4, 4, theta=[0.0, 90.0]).round(6)[1] + 0.0  # + 0.0 drops -0.0
    array([[ 0.,  1.,  0.],
           [-1.,  0.,  3.]])
    """
    args = [_vector(a) for a in (theta, tx, ty, shear, zx, zy, flip_horizontal, flip_vertical)]
    n = max(a.shape[0] for a in args)
    for i, a in enumerate(args):
        if a.shape[0] != n:
            # Scalars (and length-1 arrays) broadcast; other lengths must agree.
            args[i] = np.ascontiguousarray(np.broadcast_to(a, (n,)))
    m = np.empty((n, 2, 3))
    keras_matrices(*args, float(h), float(w), m)
    return m


def _vector(a: np.ndarray | float | bool) -> np.ndarray:
    """``a`` as a 1-D float64 array; C-contiguous float64 vectors (what the drop-in
    draws) as they are, which spares a batch several microseconds of numpy calls."""
    if type(a) is np.ndarray and a.dtype == np.float64 and a.ndim == 1 and a.flags.c_contiguous:
        return a
    return np.asarray(a, dtype=np.float64).reshape(-1)
