"""The parameter record of a batch: what every step of a recipe drew for every image.

:meth:`Compose.draw` returns a :class:`BatchParams`; :meth:`Compose.apply`
replays it exactly. Tests and users can build or edit one by hand (for example
to reproduce torchvision given the same crop boxes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["BatchParams", "Step", "STEP_KINDS"]

STEP_KINDS = ("crop", "resize", "flip", "affine", "color", "erase", "auto", "elementwise")


@dataclass(frozen=True)
class Step:
    """One step's parameters for every image of a batch.

    ``kind`` says what ``values`` holds (arrays with one row per image) and
    ``options`` the step's constants:

    - ``"crop"``: ``values["boxes"]`` (N, 4) int64 ``(top, left, height, width)``
      in the coordinates of the image as it is at this step (negative or past
      the edge means padding); ``options``: ``padding_mode``, ``fill``.
    - ``"resize"``: ``values["sizes"]`` (N, 2) int64 new ``(height, width)``;
      ``options``: ``interpolation``, ``antialias``.
    - ``"flip"``: ``values["flip"]`` (N,) bool; ``options``: ``axis``
      (``"horizontal"`` or ``"vertical"``).
    - ``"affine"``: ``values["theta"]`` (N, 2, 3) torchvision inverse matrices
      (``_get_inverse_affine_matrix``) and the drawn ``angle``, ``translate``
      (N, 2), ``scale``, ``shear`` (N, 2); ``options``: ``interpolation``, ``fill``.
      The output keeps the size.
    - ``"color"``: per-image values of a colour operation (``options["op"]`` names
      it); run by ``fastaug.transforms._color.apply_color`` on a batch of one size.
    - ``"erase"``: per-image values of ``RandomErasing`` or ``GaussianBlur``
      (``options["op"]``: ``"erase"``, ``"blur"``); run by
      ``fastaug.transforms._erase_mix.apply_erase`` on a batch of one size.
    - ``"auto"``: ``values["ops"]`` (N, R) int64 operation codes and
      ``values["magnitudes"]`` (N, R) of an auto-augment policy; ``options``:
      ``interpolation``, ``fill``; run by ``fastaug.transforms._auto.apply_auto``
      on a batch of one size.
    - ``"elementwise"``: no values; ``options``: ``mul`` and ``add`` (per channel,
      ``v * mul + add``) and ``dtype`` (the dtype after the step).

    ``name`` is the transform that made the step (``RandomResizedCrop`` makes a
    crop and a resize).
    """

    name: str
    kind: str
    values: Mapping[str, np.ndarray] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in STEP_KINDS:
            raise ValueError(f"kind must be one of {STEP_KINDS}, got {self.kind!r}")


@dataclass(frozen=True)
class BatchParams:
    """Everything a recipe drew for one batch, in step order.

    Attributes
    ----------
    input_sizes : ndarray of int64, shape (N, 2)
        ``(height, width)`` of every input image.
    steps : tuple of Step
        The steps in order (see :class:`Step`).
    channels : int
        Channels of the images.
    """

    input_sizes: np.ndarray
    steps: tuple[Step, ...]
    channels: int

    @property
    def n(self) -> int:
        """Number of images."""
        return int(len(self.input_sizes))

    def sizes_after(self) -> np.ndarray:
        """(N, 2) image sizes after the last step."""
        cur = np.asarray(self.input_sizes, dtype=np.int64)
        for s in self.steps:
            if s.kind == "crop":
                cur = s.values["boxes"][:, 2:4]
            elif s.kind == "resize":
                cur = s.values["sizes"]
        return np.asarray(cur, dtype=np.int64)
