"""The ``fastaug.transforms`` configurations of ``fastaug bench``: single ops and recipes.

Opt-in with ``--configs`` (the default run times the ``ImageDataGenerator``
configurations only). Each configuration is one list of steps, written once per
library with equivalent arguments:

* ``colorjitter``: ``ColorJitter(0.4, 0.4, 0.4, 0.1)`` on uint8 images.
* ``trivialaugment``: ``TrivialAugmentWide()`` on uint8 images.
* ``randaugment``: ``RandAugment()`` (2 ops, magnitude 9 of 31) on uint8 images.
* ``erasing``: ``RandomErasing(p=1)`` on float32 images in [0, 1].
* ``crop-recipe``: CIFAR's ``RandomCrop(size, padding=size // 8, reflect)``, flip,
  ``ToDtype(float32, scale=True)``, ``Normalize``; channels-first float32 out.
* ``rrc-recipe``: ImageNet's ``RandomResizedCrop(size)``, flip, ToDtype, Normalize.
* ``cj-recipe``: ``rrc-recipe`` with ``ColorJitter(0.4, 0.4, 0.4, 0.1)`` after the flip.
* ``taw-erasing-recipe``: ``TrivialAugmentWide()``, flip, ToDtype, Normalize,
  ``RandomErasing(p=0.25)``.

The contenders: fastaug (``fastaug.transforms.Compose`` on the batch), torchvision
v2 per image on CHW tensors (then ``torch.stack``), albumentations per image on
HWC arrays (then ``np.stack``; recipes transposed to CHW first) and
``kornia.augmentation`` on the NCHW batch (uint8 -> float in [0, 1] inside the
timed call, as its users convert). albumentations has no TrivialAugment or
RandAugment: those cells are skipped with a note. kornia has no
TrivialAugmentWide: its rows run ``kornia.augmentation.auto.TrivialAugment()``
and ``RandAugment(n=2, m=9)``, which draw the op once per call for the whole batch
and use their own op lists, so they are a rough comparison; :data:`NOTES` says so
in the report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fastaug._bench._libraries import Setup, Skip, require

__all__ = ["COMPETITORS", "NOTES", "OPS", "RECIPES", "RUNNERS", "TRANSFORM_CONFIGS"]

OPS = ("colorjitter", "trivialaugment", "randaugment", "erasing")
RECIPES = ("crop-recipe", "rrc-recipe", "cj-recipe", "taw-erasing-recipe")
TRANSFORM_CONFIGS = (*OPS, *RECIPES)
# The libraries these configurations are compared with (the default --competitors
# when only they are chosen).
COMPETITORS = ("albumentations", "torchvision", "kornia")
_POLICIES = ("trivialaugment", "randaugment", "taw-erasing-recipe")
CJ = (0.4, 0.4, 0.4, 0.1)  # brightness, contrast, saturation, hue

NOTES = {
    "colorjitter": "colorjitter: `ColorJitter(0.4, 0.4, 0.4, 0.1)` on uint8 images "
                   "(albumentations `A.ColorJitter(..., p=1)`, its hue through OpenCV's HSV; "
                   "kornia `K.ColorJitter(..., p=1)` on floats, one order of the four "
                   "adjustments per call instead of per image).",
    "trivialaugment": "trivialaugment: `TrivialAugmentWide()` on uint8 images; kornia has no "
                      "Wide variant: `kornia.augmentation.auto.TrivialAugment()` (its own 12 "
                      "ops, one op per call for the whole batch); albumentations has none.",
    "randaugment": "randaugment: `RandAugment()` (2 ops, magnitude 9) on uint8 images; kornia "
                   "`RandAugment(n=2, m=9)` (its own op list, the ops drawn once per call); "
                   "albumentations has none.",
    "erasing": "erasing: `RandomErasing(p=1)` on float32 images in [0, 1] (albumentations "
               "`A.Erasing(p=1)`, kornia `K.RandomErasing(p=1)`).",
    "crop-recipe": "crop-recipe: `RandomCrop(size, padding=size // 8, reflect)`, flip, "
                   "`ToDtype(float32, scale=True)`, `Normalize`, channels first "
                   "(albumentations `Pad` with BORDER_REFLECT_101 + `RandomCrop`, kornia "
                   "`RandomCrop(padding, reflect)`).",
    "rrc-recipe": "rrc-recipe: `RandomResizedCrop(size)`, flip, `ToDtype(float32, "
                  "scale=True)`, `Normalize`, channels first (albumentations: OpenCV's "
                  "bilinear resize without antialiasing).",
    "cj-recipe": "cj-recipe: `RandomResizedCrop(size)`, flip, `ColorJitter(0.4, 0.4, 0.4, 0.1)`, "
                 "`ToDtype(float32, scale=True)`, `Normalize`, channels first (albumentations: "
                 "OpenCV's bilinear resize without antialiasing; kornia's ColorJitter as in "
                 "colorjitter).",
    "taw-erasing-recipe": "taw-erasing-recipe: `TrivialAugmentWide()`, flip, `ToDtype(float32, "
                          "scale=True)`, `Normalize`, `RandomErasing(p=0.25)`, channels first "
                          "(kornia with its TrivialAugment; albumentations has none).",
}


def _norm(c: int) -> tuple[list[float], list[float]]:
    return [0.5] * c, [0.25] * c


def _images(setup: Setup, k: int) -> np.ndarray:
    """The first ``k`` images as every contender gets them: float32 in [0, 1] for erasing."""
    x = setup.x[:k]
    return x.astype(np.float32) / np.float32(255) if setup.config == "erasing" else x


def _tried(library: str, run: Callable[[], Any]) -> Callable[[], Any]:
    """``run`` after one trial call; a library that fails on this cell is skipped, not fatal."""
    try:
        run()
    except Exception as e:  # e.g. a colour op on one channel
        raise Skip(f"{library} failed here: {type(e).__name__}: {e}") from None
    return run


def _fastaug_runner(setup: Setup) -> tuple[Callable[[], Any], int]:
    from fastaug import transforms as T

    _, h, w, c = setup.x.shape
    mean, std = _norm(c)
    tail = [T.ToDtype(np.float32, scale=True), T.Normalize(mean, std)]
    steps = {
        "colorjitter": lambda: [T.ColorJitter(*CJ)],
        "trivialaugment": lambda: [T.TrivialAugmentWide()],
        "randaugment": lambda: [T.RandAugment()],
        "erasing": lambda: [T.RandomErasing(p=1.0)],
        "crop-recipe": lambda: [T.RandomCrop((h, w), padding=max(1, h // 8),
                                             padding_mode="reflect"),
                                T.RandomHorizontalFlip(), *tail],
        "rrc-recipe": lambda: [T.RandomResizedCrop((h, w)), T.RandomHorizontalFlip(), *tail],
        "cj-recipe": lambda: [T.RandomResizedCrop((h, w)), T.RandomHorizontalFlip(),
                              T.ColorJitter(*CJ), *tail],
        "taw-erasing-recipe": lambda: [T.TrivialAugmentWide(), T.RandomHorizontalFlip(), *tail,
                                       T.RandomErasing(p=0.25)],
    }[setup.config]()
    layout = "channels_first" if setup.config in RECIPES else "channels_last"
    tf = T.Compose(steps, data_format=layout, seed=0, num_threads=setup.threads)
    batch = _images(setup, setup.batch)
    return lambda: tf(batch), setup.batch


def _torchvision_runner(setup: Setup) -> tuple[Callable[[], Any], int]:
    torch, v2 = require("torchvision", "torch", "torchvision.transforms.v2")
    torch.set_num_threads(setup.threads)
    _, h, w, c = setup.x.shape
    mean, std = _norm(c)
    tail = [v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]
    rrc = [v2.RandomResizedCrop((h, w), antialias=True), v2.RandomHorizontalFlip()]
    steps = {
        "colorjitter": lambda: [v2.ColorJitter(*CJ)],
        "trivialaugment": lambda: [v2.TrivialAugmentWide()],
        "randaugment": lambda: [v2.RandAugment()],
        "erasing": lambda: [v2.RandomErasing(p=1.0)],
        "crop-recipe": lambda: [v2.RandomCrop((h, w), padding=max(1, h // 8),
                                              padding_mode="reflect"),
                                v2.RandomHorizontalFlip(), *tail],
        "rrc-recipe": lambda: [*rrc, *tail],
        "cj-recipe": lambda: [*rrc, v2.ColorJitter(*CJ), *tail],
        "taw-erasing-recipe": lambda: [v2.TrivialAugmentWide(), v2.RandomHorizontalFlip(), *tail,
                                       v2.RandomErasing(p=0.25)],
    }[setup.config]()
    tf = v2.Compose(steps)
    k = setup.count("torchvision")
    # CHW tensors made up front: a torch pipeline would decode to them. One image
    # per call: a batched call shares one random draw.
    tensors = [torch.from_numpy(np.ascontiguousarray(im.transpose(2, 0, 1)))
               for im in _images(setup, k)]
    return _tried("torchvision", lambda: torch.stack([tf(t) for t in tensors])), k


def _albumentations_runner(setup: Setup) -> tuple[Callable[[], Any], int]:
    if setup.config in _POLICIES:
        raise Skip("albumentations has no TrivialAugment or RandAugment")
    A, cv2 = require("albumentations", "albumentations", "cv2")
    cv2.setNumThreads(setup.threads)
    _, h, w, c = setup.x.shape
    mean, std = _norm(c)
    cj = A.ColorJitter(brightness=CJ[0], contrast=CJ[1], saturation=CJ[2], hue=CJ[3], p=1.0)
    norm = A.Normalize(mean, std)  # (x / 255 - mean) / std in float32, as ToDtype + Normalize
    rrc = [A.RandomResizedCrop(size=(h, w)), A.HorizontalFlip()]
    pad = max(1, h // 8)
    steps = {
        "colorjitter": lambda: [cj],
        "erasing": lambda: [A.Erasing(p=1.0)],
        # torchvision's "reflect" padding does not repeat the edge: BORDER_REFLECT_101.
        "crop-recipe": lambda: [A.Pad(pad, border_mode=cv2.BORDER_REFLECT_101),
                                A.RandomCrop(h, w), A.HorizontalFlip(), norm],
        "rrc-recipe": lambda: [*rrc, norm],
        "cj-recipe": lambda: [*rrc, cj, norm],
    }[setup.config]()
    tf = A.Compose(steps)
    k = setup.count("albumentations")
    images = list(_images(setup, k))
    if setup.config in RECIPES:
        def run() -> np.ndarray:
            return np.stack([tf(image=im)["image"].reshape(h, w, c).transpose(2, 0, 1)
                             for im in images])
    else:
        def run() -> np.ndarray:
            return np.stack([tf(image=im)["image"].reshape(h, w, c) for im in images])
    return _tried("albumentations", run), k


def _kornia_runner(setup: Setup) -> tuple[Callable[[], Any], int]:
    torch, K, KA = require("kornia", "torch", "kornia.augmentation", "kornia.augmentation.auto")
    torch.set_num_threads(setup.threads)
    _, h, w, c = setup.x.shape
    mean, std = _norm(c)
    norm = K.Normalize(torch.tensor(mean), torch.tensor(std))
    rrc = [K.RandomResizedCrop((h, w)), K.RandomHorizontalFlip()]
    cj = K.ColorJitter(*CJ, p=1.0)
    steps = {
        "colorjitter": lambda: [cj],
        "trivialaugment": lambda: [KA.TrivialAugment()],
        "randaugment": lambda: [KA.RandAugment(n=2, m=9)],
        "erasing": lambda: [K.RandomErasing(p=1.0)],
        "crop-recipe": lambda: [K.RandomCrop((h, w), padding=max(1, h // 8),
                                             padding_mode="reflect"),
                                K.RandomHorizontalFlip(), norm],
        "rrc-recipe": lambda: [*rrc, norm],
        "cj-recipe": lambda: [*rrc, cj, norm],
        "taw-erasing-recipe": lambda: [KA.TrivialAugment(), K.RandomHorizontalFlip(), norm,
                                       K.RandomErasing(p=0.25)],
    }[setup.config]()
    tf = torch.nn.Sequential(*steps)
    k = setup.batch
    x = _images(setup, k)
    batch = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    if x.dtype == np.uint8:
        def run() -> Any:
            return tf(batch.float() / 255)
    else:
        def run() -> Any:
            return tf(batch)
    return _tried("kornia", run), k


def _elsewhere(setup: Setup) -> tuple[Callable[[], Any], int]:
    raise Skip("the fastaug.transforms configs are compared with "
               f"{', '.join(COMPETITORS)} only")


RUNNERS: dict[str, Callable[[Setup], tuple[Callable[[], Any], int]]] = {
    "fastaug": _fastaug_runner,
    "keras": _elsewhere,
    "cv2": _elsewhere,
    "albumentations": _albumentations_runner,
    "torchvision": _torchvision_runner,
    "scipy": _elsewhere,
    "kornia": _kornia_runner,
}
