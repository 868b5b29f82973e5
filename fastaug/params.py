"""Per-image transform parameters -> inverse affine matrices, vectorised over a batch.

The convention is Keras's ``apply_affine_transform`` (documented quirks included):
the matrix is ``R(theta) @ Shift(tx, ty) @ Shear(shear) @ Zoom(zx, zy)`` in Keras's
"x, y" frame, re-centred on ``(h/2 - 0.5, w/2 - 0.5)``, then rows and columns 0/1
are swapped into scipy's (row, col) frame. So ``tx`` (Keras draws it from
``height_shift_range``) moves the image sideways, ``ty`` vertically, ``zx`` scales
columns, positive ``theta`` rotates counter-clockwise, and ``shear`` is in degrees.

Flips are folded into the matrix: flipping the warped output is a substitution of
the output coordinate, so no extra pass over the pixels is needed. No random
numbers are drawn here; this module never touches pixels.
"""

from __future__ import annotations

import numpy as np

__all__ = ["affine_matrices"]


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
    theta, tx, ty, shear, zx, zy, fh, fv = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64).reshape(-1) for a in
          (theta, tx, ty, shear, zx, zy, flip_horizontal, flip_vertical))
    )
    t = np.deg2rad(theta)
    s = np.deg2rad(shear)
    cos_t, sin_t = np.cos(t), np.sin(t)
    sin_s, cos_s = np.sin(s), np.cos(s)
    # R @ Shift @ Shear @ Zoom, written out in Keras's (x, y) frame:
    #   A = [[cos, -sin], [sin, cos]] @ [[1, -sin s], [0, cos s]] @ diag(zx, zy)
    #   b = R @ (tx, ty)
    a00 = cos_t * zx
    a01 = (-cos_t * sin_s - sin_t * cos_s) * zy
    a10 = sin_t * zx
    a11 = (-sin_t * sin_s + cos_t * cos_s) * zy
    b0 = cos_t * tx - sin_t * ty
    b1 = sin_t * tx + cos_t * ty
    # Keras centres with o_x = h/2 - 0.5 on its first axis and o_y = w/2 - 0.5 on
    # its second, in its own frame.
    ox = h / 2.0 - 0.5
    oy = w / 2.0 - 0.5
    c0 = ox + b0 - a00 * ox - a01 * oy
    c1 = oy + b1 - a10 * ox - a11 * oy
    # Keras then swaps both axes (M' = P M P): scipy's row is Keras's second axis.
    # Hence the quirk that, on non-square images, the rotation centre's offsets are
    # swapped too.
    m = np.empty((theta.shape[0], 2, 3))
    m[:, 0, 0] = a11
    m[:, 0, 1] = a10
    m[:, 0, 2] = c1
    m[:, 1, 0] = a01
    m[:, 1, 1] = a00
    m[:, 1, 2] = c0
    # Output (r, c) -> (r, w-1-c) for a horizontal flip, (h-1-r, c) for vertical:
    # as arithmetic on the 0/1 flags, cheaper than masked indexing.
    sh = 1.0 - 2.0 * (fh != 0)
    sv = 1.0 - 2.0 * (fv != 0)
    m[:, :, 2] += ((w - 1) * (fh != 0))[:, None] * m[:, :, 1]
    m[:, :, 1] *= sh[:, None]
    m[:, :, 2] += ((h - 1) * (fv != 0))[:, None] * m[:, :, 0]
    m[:, :, 0] *= sv[:, None]
    return m
