"""torchvision's ``affine``/``rotate`` conventions on top of :func:`fastaug.warp_affine`.

torchvision builds the inverse matrix about the image centre
(``_get_inverse_affine_matrix``) and samples with ``grid_sample``
(``align_corners=False``): output pixel ``(x, y)`` reads the input at
``theta @ (x - cx, y - cy, 1) + (cx, cy)`` with ``c = (size - 1) / 2``, and a
tap outside the image takes the ``fill`` value (its mask trick blends the fill
in at the border). That is scipy's ``grid-constant`` mode; the fused kernel's
``constant`` mode equals it on the image padded by one pixel of ``fill``
(a sample between the last pixel and the pad blends them, anything further
out is ``fill``). A per-channel fill rides along as a mask channel.
"""

from __future__ import annotations

import numpy as np

from fastaug.warp import warp_affine

__all__ = ["inverse_affine_theta", "tv_affine"]


def inverse_affine_theta(angle: np.ndarray, tx: np.ndarray, ty: np.ndarray, scale: np.ndarray,
                         shear_x: np.ndarray, shear_y: np.ndarray, cx: float = 0.0,
                         cy: float = 0.0) -> np.ndarray:
    """(N, 2, 3) inverse matrices, torchvision ``_get_inverse_affine_matrix``, vectorised.

    Angles and shears in degrees; ``(cx, cy)`` the centre relative to the image
    centre (torchvision passes ``[0, 0]`` when ``center`` is None).
    """
    rot = np.radians(angle)
    sx = np.radians(shear_x)
    sy = np.radians(shear_y)
    cos_sy = np.cos(sy)
    tan_sx = np.tan(sx)
    rot_minus_sy = rot - sy
    cx_plus_tx = cx + tx
    cy_plus_ty = cy + ty
    a = np.cos(rot_minus_sy) / cos_sy
    b = -(a * tan_sx + np.sin(rot))
    c = np.sin(rot_minus_sy) / cos_sy
    d = np.cos(rot) - c * tan_sx
    m = np.empty((len(rot), 2, 3))
    m[:, 0, 0] = d / scale
    m[:, 0, 1] = -b / scale
    m[:, 1, 0] = -c / scale
    m[:, 1, 1] = a / scale
    m[:, 0, 2] = m[:, 0, 0] * (-cx_plus_tx) + m[:, 0, 1] * (-cy_plus_ty) + cx
    m[:, 1, 2] = m[:, 1, 0] * (-cx_plus_tx) + m[:, 1, 1] * (-cy_plus_ty) + cy
    return m


def _scipy_matrices(theta: np.ndarray, h: int, w: int, pad: int) -> np.ndarray:
    """torchvision (x, y) thetas about the centre -> scipy (row, col) matrices.

    ``pad``: the input was padded by this many pixels on every side.
    """
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    t00, t01, t02 = theta[:, 0, 0], theta[:, 0, 1], theta[:, 0, 2]
    t10, t11, t12 = theta[:, 1, 0], theta[:, 1, 1], theta[:, 1, 2]
    m = np.empty((len(theta), 2, 3))
    m[:, 0, 0], m[:, 0, 1] = t11, t10
    m[:, 0, 2] = t12 + cy - t10 * cx - t11 * cy + pad
    m[:, 1, 0], m[:, 1, 1] = t01, t00
    m[:, 1, 2] = t02 + cx - t00 * cx - t01 * cy + pad
    return m


def tv_affine(images: np.ndarray, theta: np.ndarray, interpolation: str,
              fill: tuple[float, ...], num_threads: int | None) -> np.ndarray:
    """Warp an (N, H, W, C) batch as torchvision's ``affine`` does, output size = input size.

    Nearest: a sample outside the image is ``fill``. Bilinear: torchvision
    samples the image and a ones mask with zero padding (``S``, ``m``) and
    returns ``m * S + (1 - m) * fill`` (its ``mask * (img - fill) + fill``), so
    border pixels are weighted by the mask twice; this does the same. uint8
    images are computed in float32 and rounded half to even, as torchvision's
    ``round_()``.
    """
    n, h, w, c = images.shape
    fillv = np.broadcast_to(np.asarray(fill, np.float64), (c,))
    mats = _scipy_matrices(theta, h, w, 1)
    if interpolation == "nearest":
        if images.dtype == np.uint8:
            fillv = np.clip(np.rint(fillv), 0, 255)
        src = np.concatenate([images, np.ones((n, h, w, 1), images.dtype)], axis=3)
        padded = np.zeros((n, h + 2, w + 2, c + 1), src.dtype)
        padded[:, 1:-1, 1:-1] = src
        out = warp_affine(padded, mats, order=0, fill_mode="constant", cval=0.0,
                          num_threads=num_threads)[:, :h, :w]
        inside = out[..., c:] != 0
        return np.ascontiguousarray(
            np.where(inside, out[..., :c], fillv.astype(images.dtype)))
    # Bilinear: zero padding and a ones mask channel, in float32.
    src = np.concatenate([images.astype(np.float32, copy=False),
                          np.ones((n, h, w, 1), np.float32)], axis=3)
    padded = np.zeros((n, h + 2, w + 2, c + 1), np.float32)
    padded[:, 1:-1, 1:-1] = src
    out = warp_affine(padded, mats, order=1, fill_mode="constant", cval=0.0,
                      num_threads=num_threads)[:, :h, :w]
    m = out[..., c:]
    f = fillv.astype(np.float32)
    res = (out[..., :c] - f) * m + f
    if images.dtype == np.uint8:
        return np.clip(np.rint(res), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(res)
