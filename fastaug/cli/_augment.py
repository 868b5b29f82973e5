"""``fastaug augment IMAGE... --count N --out DIR``: write augmented copies of pictures.

Each input is decoded once with Pillow, and its ``--count`` copies go through
``fastaug.keras.ImageDataGenerator`` (the generator's options, Keras's
meanings) in batches, as uint8, so a copy keeps the picture's own contrast
(Keras's ``save_to_dir`` min-max stretches every image). Files are named
Keras-style ``{prefix}_{index}_{random}.{format}``, ``index`` counting the copies
of this run over all inputs in order (copies ``k*N .. k*N+N-1`` come from the
k-th input); a name already present in the folder is never overwritten. Each
file is written to a temporary name and renamed, so an interrupted run leaves
no half-written image.

Pictures keep their bit depth: single-channel 16-bit PNG/TIFF, 32-bit integer
and float TIFF pictures are augmented in float32 and written back at their own
depth, and a ``--format`` that cannot store that depth is an error (exit 2)
rather than a clipped or black copy.

The output folder is created when its parent exists (like ``mkdir``, not
``mkdir -p``: a typo in a parent path is an error, not a new tree). A missing
or unreadable input (a decompression bomb included), an unknown format, an
output folder that is missing (with its parent), not a folder, or not
writable, a prefix that is not a plain file-name fragment (it could write
outside the folder) or a negative seed exits with
status 2 and a one-line message naming the path or option; every input is
checked before anything is written.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import numpy as np

from fastaug.io import save_atomic

__all__ = ["add_parser", "augment_images", "main", "run"]

_MAX_CHUNK_BYTES = 256 * 2**20  # bounds memory for large pictures


class CLIError(Exception):
    """A user error: printed as ``fastaug augment: error: ...``, exit status 2."""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the ``augment`` sub-command on an ``add_subparsers()`` object."""
    p = sub.add_parser(
        "augment", help="write N augmented copies of each input image into a folder",
        description="Write --count augmented copies of each IMAGE into --out, with "
                    "ImageDataGenerator's options. The output folder is created if its "
                    "parent exists.")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="input image file(s)")
    p.add_argument("--count", "-n", type=int, required=True,
                   help="augmented copies per input image")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output folder")
    p.add_argument("--rotation-range", type=float, default=0.0, metavar="DEG")
    p.add_argument("--width-shift-range", type=float, default=0.0, metavar="F")
    p.add_argument("--height-shift-range", type=float, default=0.0, metavar="F")
    p.add_argument("--shear-range", type=float, default=0.0, metavar="DEG")
    p.add_argument("--zoom-range", type=float, nargs="+", default=[0.0], metavar="Z",
                   help="Z (meaning [1-Z, 1+Z]) or LO HI")
    p.add_argument("--channel-shift-range", type=float, default=0.0, metavar="V")
    p.add_argument("--brightness-range", type=float, nargs=2, default=None,
                   metavar=("LO", "HI"))
    p.add_argument("--horizontal-flip", action="store_true")
    p.add_argument("--vertical-flip", action="store_true")
    p.add_argument("--fill-mode", default="nearest",
                   choices=["constant", "nearest", "reflect", "wrap"])
    p.add_argument("--cval", type=float, default=0.0, help="fill value for --fill-mode constant")
    p.add_argument("--prefix", default="aug", help="file name prefix (default: %(default)s)")
    p.add_argument("--format", default="png", dest="save_format",
                   help="file format / extension, e.g. png, jpg, webp (default: %(default)s)")
    p.add_argument("--seed", type=int, default=None, help="make the copies reproducible")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    return p


def _progress(done: int, total: int, stream: TextIO, width: int = 30) -> None:
    filled = width * done // max(total, 1)
    stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} images")
    if done == total:
        stream.write("\n")
    stream.flush()


def _check_out_dir(out: str) -> None:
    if os.path.exists(out) and not os.path.isdir(out):
        raise CLIError(f"output path is not a folder: {out}")
    if not os.path.isdir(out):
        parent = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(parent):
            raise CLIError(f"output folder {out} does not exist, nor does its parent "
                           f"{parent}")
        try:
            os.mkdir(out)
        except OSError as exc:
            raise CLIError(f"cannot create output folder {out}: {exc.strerror}") from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise CLIError(f"output folder is not writable: {out}")


# Pillow modes kept at their depth: (numpy dtype, description, formats that store it).
_DEEP_MODES = {
    "I;16": (np.uint16, "16-bit", ("PNG", "TIFF")),
    "I;16L": (np.uint16, "16-bit", ("PNG", "TIFF")),
    "I;16B": (np.uint16, "16-bit", ("PNG", "TIFF")),
    "I;16N": (np.uint16, "16-bit", ("PNG", "TIFF")),
    "I": (np.int32, "32-bit integer", ("TIFF",)),
    "F": (np.float32, "32-bit float", ("TIFF",)),
}
# float32 holds every integer up to 2**24 exactly: the warp runs in float32.
_EXACT_INT = 2**24


def _open_image(path: str, fmt: str | None = None) -> np.ndarray:
    """The decoded picture as an (H, W, C) array at its own bit depth.

    8-bit pictures come back as uint8 L, RGB or RGBA. Single-channel 16-bit,
    32-bit integer and float pictures keep their values (uint16, int32,
    float32); when ``fmt`` (Pillow's format name) cannot store that depth, or
    the values cannot be processed exactly, this is an error rather than a
    silently clipped or blackened copy. (Pillow itself reduces 16-bit RGB PNGs
    to 8 bits per channel when it decodes them, scaling, not clipping.)
    """
    from PIL import Image

    if not os.path.exists(path):
        raise CLIError(f"input image not found: {path}")
    if os.path.isdir(path):
        raise CLIError(f"input is a folder, not an image: {path}")
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in _DEEP_MODES:
                dtype, what, formats = _DEEP_MODES[img.mode]
                arr = np.asarray(img).astype(dtype)  # native byte order
            else:
                has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
                mode = "RGBA" if has_alpha else ("L" if img.mode in ("1", "L") else "RGB")
                arr = np.asarray(img.convert(mode) if img.mode != mode else img)
                what, formats = "8-bit", None
    except Image.DecompressionBombError as exc:
        raise CLIError(f"cannot read input image {path}: {exc}") from exc
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CLIError(f"cannot read input image {path}: {reason}") from exc
    if formats is not None:
        if fmt is not None and fmt not in formats:
            raise CLIError(f"input image {path} is {what} ({img.mode}); --format "
                           f"{fmt.lower()} cannot store it without losing values: use "
                           + " or ".join(f"--format {f.lower()}" for f in formats))
        if arr.dtype == np.int32 and np.abs(arr).max(initial=0) > _EXACT_INT:
            raise CLIError(f"input image {path} is {what} with values beyond +-2**24, "
                           "which the float32 warp cannot keep exactly")
        if arr.dtype == np.float32 and not np.isfinite(arr).all():
            raise CLIError(f"input image {path} has NaN or infinite pixel values")
    return arr[:, :, None] if arr.ndim == 2 else arr


def _to_file_dtype(batch: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round and clip augmented float pixels back to the input's own type."""
    if dtype == np.float32:
        return batch.astype(np.float32)
    info = np.iinfo(dtype)
    return np.clip(np.rint(batch), info.min, info.max).astype(dtype)


def augment_images(images: Sequence[str], count: int, out: str, generator: Any,
                   prefix: str = "aug", save_format: str = "png", seed: int | None = None,
                   progress: TextIO | None = None) -> list[str]:
    """Write ``count`` augmented copies of each image into ``out``; return the paths.

    Parameters
    ----------
    images : sequence of str
        Input image files (checked before anything is written).
    count : int
        Copies per input.
    out : str
        Output folder; created if its parent exists.
    generator : fastaug.keras.ImageDataGenerator
        The augmentation; ``dtype="uint8"`` (what the command uses) is fastest,
        float output is rounded and clipped to [0, 255].
    prefix, save_format : str
        File names ``{prefix}_{index}_{random}.{save_format}``.
    seed : int, optional
        Reproducible copies (the random part of the names is not seeded).
    progress : text stream, optional
        Where to draw the progress bar (None: no bar).

    Raises
    ------
    CLIError
        Missing/unreadable input, bad format, unusable output folder.

    Examples
    --------
    >>> import os, tempfile
    >>> from PIL import Image
    >>> from fastaug.keras import ImageDataGenerator
    >>> from fastaug.cli._augment import augment_images
    >>> with tempfile.TemporaryDirectory() as d:
    ...     Image.new("RGB", (16, 12), (200, 10, 10)).save(os.path.join(d, "in.png"))
    ...     paths = augment_images([os.path.join(d, "in.png")], 3, os.path.join(d, "out"),
    ...                            ImageDataGenerator(rotation_range=30), seed=0)
    ...     print(len(paths), sorted(os.listdir(os.path.join(d, "out")))[0][:6])
    3 aug_0_
    """
    from PIL import Image

    from fastaug.keras._image_io import pil_format

    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise CLIError(f"--count must be a positive integer, got {count!r}")
    try:
        fmt = pil_format(save_format)
    except ValueError as exc:
        raise CLIError(str(exc).replace("save_format", "--format")) from exc
    if not isinstance(prefix, str) or any(ch in prefix for ch in ("/", "\\", "\0", os.sep)):
        # Names are joined to ``out``: a separator ("../x", an absolute path)
        # would write outside it.
        raise CLIError(f"--prefix must be a plain file-name fragment (no path separators), "
                       f"got {prefix!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                             or not 0 <= seed < 2**32):
        raise CLIError(f"--seed must be an integer in [0, 2**32), got {seed!r}")
    for path in images:  # fail before writing anything
        _open_image(path, fmt)
    _check_out_dir(out)
    names_rng = np.random.default_rng()
    taken = set(os.listdir(out))
    written: list[str] = []
    total = count * len(images)
    if progress is not None:
        _progress(0, total, progress)
    for k, path in enumerate(images):
        x = _open_image(path, fmt)
        file_dtype = x.dtype
        gen = generator
        if file_dtype != np.uint8:
            # Deeper pictures are warped in float32, exact for their values.
            x = x.astype(np.float32)
            gen = copy.copy(generator)
            gen.dtype = "float32"
        chunk = int(max(1, min(count, 32, _MAX_CHUNK_BYTES // max(x.nbytes, 1))))
        # One independent stream per input, so inputs never share parameters.
        img_seed = (None if seed is None else
                    int(np.random.SeedSequence([seed, k]).generate_state(1)[0]))
        it = gen.flow(np.broadcast_to(x, (chunk,) + x.shape).copy(),
                            batch_size=chunk, shuffle=False, seed=img_seed)
        done = 0
        while done < count:
            batch = np.asarray(next(it))[: count - done]
            batch = _to_file_dtype(batch, file_dtype)
            for arr in batch:
                index = k * count + done
                while True:
                    name = f"{prefix}_{index}_{int(names_rng.integers(10000))}.{save_format}"
                    if name not in taken:
                        break
                taken.add(name)
                img = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)
                if fmt == "JPEG" and img.mode == "RGBA":
                    img = img.convert("RGB")
                target = os.path.join(out, name)
                try:
                    save_atomic(img, target, fmt)
                except OSError as exc:
                    raise CLIError(f"cannot write {target}: {exc}") from exc
                written.append(target)
                done += 1
                if progress is not None:
                    _progress(len(written), total, progress)
    return written


def run(args: argparse.Namespace) -> int:
    """Execute a parsed ``augment`` command; 0 on success, 2 on a user error."""
    from fastaug.keras import ImageDataGenerator

    zoom = args.zoom_range
    try:
        if len(zoom) not in (1, 2):
            raise CLIError(f"--zoom-range takes one or two values, got {len(zoom)}")
        try:
            gen = ImageDataGenerator(
                rotation_range=args.rotation_range,
                width_shift_range=args.width_shift_range,
                height_shift_range=args.height_shift_range,
                shear_range=args.shear_range,
                zoom_range=zoom[0] if len(zoom) == 1 else list(zoom),
                channel_shift_range=args.channel_shift_range,
                brightness_range=args.brightness_range,
                horizontal_flip=args.horizontal_flip, vertical_flip=args.vertical_flip,
                fill_mode=args.fill_mode, cval=args.cval, dtype="uint8")
        except ValueError as exc:
            raise CLIError(str(exc)) from exc
        written = augment_images(args.images, args.count, args.out, gen, args.prefix,
                                 args.save_format, args.seed,
                                 None if args.quiet else sys.stderr)
    except CLIError as exc:
        print(f"fastaug augment: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} images to {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fastaug.cli._augment IMAGE... --count N --out DIR`` (same as the command)."""
    parser = argparse.ArgumentParser(prog="fastaug")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(["augment", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
