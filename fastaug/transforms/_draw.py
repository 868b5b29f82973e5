"""torchvision.transforms.v2's parameter rules, vectorised over a batch of image sizes.

Pure functions of sizes and a ``numpy.random.Generator``: no pixels here. Each
follows the torchvision function named in its docstring, rule for rule (the
random numbers come from numpy, so the draws are torchvision's distribution,
not its exact stream).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["center_crop_boxes", "random_crop_boxes", "random_resized_crop_boxes",
           "resized_sizes"]


def resized_sizes(sizes: np.ndarray, size: tuple[int, ...] | None,
                  max_size: int | None) -> np.ndarray:
    """Output (h, w) per image of ``Resize(size, max_size=...)``.

    torchvision ``_compute_resized_output_size``: a pair is used as given; one
    int sets the shorter edge and the longer becomes ``int(size * long / short)``
    (truncated); ``max_size`` then caps the longer edge, scaling the shorter as
    ``int(max_size * short / long)``; ``size=None`` with ``max_size`` makes the
    longer edge ``max_size``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms._draw import resized_sizes
    >>> resized_sizes(np.array([[375, 500], [500, 375]]), (256,), None).tolist()
    [[256, 341], [341, 256]]
    >>> resized_sizes(np.array([[100, 400]]), (256,), 512).tolist()
    [[128, 512]]
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    out = np.empty_like(sizes)
    if size is not None and len(size) == 2:
        out[:, 0], out[:, 1] = size
        return out
    for k, (h, w) in enumerate(sizes.tolist()):
        short, long = (w, h) if w <= h else (h, w)
        if size is None:
            new_short, new_long = int(max_size * short / long), max_size
        else:
            new_short, new_long = size[0], int(size[0] * long / short)
            if max_size is not None and new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        out[k] = (new_long, new_short) if w <= h else (new_short, new_long)
    return out


def center_crop_boxes(sizes: np.ndarray, crop: tuple[int, int]) -> np.ndarray:
    """``(top, left, height, width)`` per image of ``CenterCrop(crop)``.

    torchvision ``center_crop``: a crop larger than the image pads it with zeros,
    ``(crop - size) // 2`` before and the rest after, and is then the whole
    padded image; otherwise ``top = int(round((h - ch) / 2))`` (Python's round:
    halves to even), likewise ``left``. Negative offsets mean padding.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms._draw import center_crop_boxes
    >>> center_crop_boxes(np.array([[256, 341], [5, 9]]), (224, 224)).tolist()
    [[16, 58, 224, 224], [-109, -107, 224, 224]]
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    ch, cw = crop
    out = np.empty((len(sizes), 4), np.int64)
    out[:, 2], out[:, 3] = ch, cw
    for k, (h, w) in enumerate(sizes.tolist()):
        top = -((ch - h) // 2) if ch > h else int(round((h - ch) / 2.0))
        left = -((cw - w) // 2) if cw > w else int(round((w - cw) / 2.0))
        out[k, 0], out[k, 1] = top, left
    return out


def random_crop_boxes(sizes: np.ndarray, crop: tuple[int, int],
                      padding: tuple[int, int, int, int], pad_if_needed: bool,
                      g: np.random.Generator) -> np.ndarray:
    """``(top, left, height, width)`` per image of ``RandomCrop``, in unpadded coordinates.

    torchvision ``RandomCrop.make_params``: ``padding`` is (left, right, top,
    bottom); ``pad_if_needed`` adds ``crop - padded`` on *both* sides of a
    dimension still too small; the offset is uniform over the padded image,
    drawn only where the padded image is larger than the crop (top first, then
    left). A crop larger than the padded image is a ValueError.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    n = len(sizes)
    ch, cw = crop
    pl, pr, pt, pb = padding
    pad_top = np.full(n, pt, np.int64)
    pad_left = np.full(n, pl, np.int64)
    ph = sizes[:, 0] + pt + pb
    pw = sizes[:, 1] + pl + pr
    if pad_if_needed:
        dh = np.maximum(ch - ph, 0)
        dw = np.maximum(cw - pw, 0)
        pad_top += dh
        ph = ph + 2 * dh
        pad_left += dw
        pw = pw + 2 * dw
    small = (ph < ch) | (pw < cw)
    if small.any():
        k = int(np.argmax(small))
        raise ValueError(f"RandomCrop: the crop size {crop} is larger than image {k}'s "
                         f"padded size ({int(ph[k])}, {int(pw[k])}); pass pad_if_needed=True "
                         "or more padding")
    # Uniform integers in [0, padded - crop]; 0 without a draw where they are equal.
    top = np.floor(g.random(n) * (ph - ch + 1)).astype(np.int64)
    left = np.floor(g.random(n) * (pw - cw + 1)).astype(np.int64)
    out = np.empty((n, 4), np.int64)
    out[:, 0] = top - pad_top
    out[:, 1] = left - pad_left
    out[:, 2], out[:, 3] = ch, cw
    return out


_ATTEMPTS = 10


def random_resized_crop_boxes(sizes: np.ndarray, scale: tuple[float, float],
                              ratio: tuple[float, float],
                              g: np.random.Generator) -> np.ndarray:
    """``(top, left, height, width)`` per image of ``RandomResizedCrop``.

    torchvision ``RandomResizedCrop.make_params``: up to ten attempts of
    ``target_area = area * U(scale)``, ``aspect = exp(U(log ratio))``,
    ``w = int(round(sqrt(target_area * aspect)))``,
    ``h = int(round(sqrt(target_area / aspect)))``; the first with
    ``0 < w <= width`` and ``0 < h <= height`` wins, at a uniform position.
    Otherwise the central crop: the whole image with its aspect ratio clamped
    to ``ratio`` (``w = width, h = int(round(w / min(ratio)))`` when the image is
    narrower than ``min(ratio)``, ``h = height, w = int(round(h * max(ratio)))``
    when wider than ``max(ratio)``), centred with ``(size - crop) // 2``.
    All ten attempts are drawn for every image, in one call.

    Examples
    --------
    >>> import numpy as np
    >>> from fastaug.transforms._draw import random_resized_crop_boxes
    >>> b = random_resized_crop_boxes(np.array([[375, 500]] * 1000), (0.08, 1.0),
    ...                               (3 / 4, 4 / 3), np.random.default_rng(0))
    >>> bool((b[:, 0] >= 0).all() and (b[:, 0] + b[:, 2] <= 375).all())
    True
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    n = len(sizes)
    h_img = sizes[:, 0:1].astype(np.float64)
    w_img = sizes[:, 1:2].astype(np.float64)
    area = h_img * w_img
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    u = g.random((n, _ATTEMPTS, 2))
    target = area * (scale[0] + (scale[1] - scale[0]) * u[:, :, 0])
    aspect = np.exp(log_lo + (log_hi - log_lo) * u[:, :, 1])
    # Python's round() is half-to-even, as np.rint.
    w = np.rint(np.sqrt(target * aspect))
    h = np.rint(np.sqrt(target / aspect))
    ok = (w > 0) & (w <= w_img) & (h > 0) & (h <= h_img)
    found = ok.any(axis=1)
    first = np.argmax(ok, axis=1)
    rows = np.arange(n)
    bh = h[rows, first].astype(np.int64)
    bw = w[rows, first].astype(np.int64)
    hi, wi = sizes[:, 0], sizes[:, 1]
    pos = g.random((n, 2))
    top = np.floor(pos[:, 0] * (hi - bh + 1)).astype(np.int64)
    left = np.floor(pos[:, 1] * (wi - bw + 1)).astype(np.int64)
    if not found.all():
        for k in np.flatnonzero(~found).tolist():
            height, width = int(hi[k]), int(wi[k])
            in_ratio = width / height
            if in_ratio < min(ratio):
                cw_, ch_ = width, int(round(width / min(ratio)))
            elif in_ratio > max(ratio):
                ch_, cw_ = height, int(round(height * max(ratio)))
            else:
                cw_, ch_ = width, height
            bh[k], bw[k] = ch_, cw_
            top[k], left[k] = (height - ch_) // 2, (width - cw_) // 2
    return np.stack([top, left, bh, bw], axis=1)
