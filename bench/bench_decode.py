"""JPEG decoders side by side, one thread, in one process: images/s per core.

The folder comes from ``bench/make_jpeg_folder.py`` (made if missing). The files
are read into memory first, so the decoders are timed, not the disk. Every
contender decodes every file once per round; the rounds interleave the
contenders (so a busy neighbour slows them all alike) and each row reports the
median round. Rates are per CPU-second of the timing thread (``time.thread_time``):
images/s per core, much less disturbed by other processes than wall time on a
shared machine (a busy machine still inflates them somewhat: caches, clocks).
The last column is the largest difference in levels from Pillow's decode at
the same scale (full, or its draft at 1/2 or 1/4), over the first 20 files:
0 means identical pixels.

Rows, all RGB uint8 out:

* ``pillow full``: ``Image.open`` + ``np.asarray`` (``convert("RGB")`` for non-RGB files);
* ``pillow draft 1/2``, ``1/4``: the same after ``img.draft`` (libjpeg's DCT scaling);
* ``simplejpeg full``, ``... into buffer`` (``buffer=``, reused), ``1/2``, ``1/4``
  (``min_height``/``min_width`` at the 1/s size), ``N/8 >= 224`` (the smallest
  libjpeg scale covering 224x224, any N: 5/8 for 375 pixels);
* ``turbojpeg full``, ``into dst``, ``1/2`` (PyTurboJPEG ``scaling_factor``);
* ``tj3 full``, ``tj3 RRC region`` (``fastaug._turbojpeg``: libjpeg-turbo 3 through
  ctypes, when one is found, e.g. through ``FASTAUG_LIBTURBOJPEG``): the whole
  image, and only the box of a ``RandomResizedCrop`` draw per file (fixed seed);
* ``cv2 full``, ``1/2`` (``IMREAD_REDUCED_COLOR_2``), with
  ``IMREAD_IGNORE_ORIENTATION`` and the BGR-to-RGB swap a user would need;
* ``fastaug.io.load_array`` at the file's size ("full"), 224x224 and 112x112
  (nearest, draft on, so 112 decodes at 1/2), with ``FAST_JPEG`` on and off:
  the whole per-file path, file read included.

Missing packages' rows are skipped. The rows share one process, so one row's
allocations can speed up or slow down the next (glibc's mmap threshold moves,
Pillow's block cache); ``--rows load_array`` times the end-to-end rows alone.

    python bench/bench_decode.py [--root /tmp/fastaug-jpeg] [--rounds 5] [--sizes small|all]
                                 [--rows TEXT ...]
    python bench/bench_decode.py --check --sizes all   # pixels: fast path vs Pillow
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
# This checkout's fastaug, not another one installed in site-packages.
sys.path[:0] = [os.path.dirname(_HERE), _HERE]
from make_jpeg_folder import make_folder  # noqa: E402


def contenders(files: list[bytes], paths: list[str]) -> dict[str, Callable[[int], np.ndarray]]:
    """name -> fn(i) decoding file i; only those whose package imports."""
    from PIL import Image

    from fastaug import io as fio

    out: dict[str, Callable[[int], np.ndarray]] = {}

    def pil(i: int, s: int = 1) -> np.ndarray:
        with Image.open(io.BytesIO(files[i])) as img:
            if s > 1:
                img.draft("RGB", (img.size[0] // s, img.size[1] // s))
            # convert() of an RGB image is a copy: only non-RGB files need it.
            return np.asarray(img if img.mode == "RGB" else img.convert("RGB"))

    out["pillow full"] = pil
    out["pillow draft 1/2"] = lambda i: pil(i, 2)
    out["pillow draft 1/4"] = lambda i: pil(i, 4)

    try:
        import simplejpeg
    except ImportError:
        simplejpeg = None
    if simplejpeg is not None:
        hdr = [simplejpeg.decode_jpeg_header(d)[:2] for d in files]
        buf = np.empty(max(h * w for h, w in hdr) * 3, np.uint8)

        def sj(i: int, s: int = 1) -> np.ndarray:
            if s == 1:
                return simplejpeg.decode_jpeg(files[i])
            h, w = hdr[i]
            return simplejpeg.decode_jpeg(files[i], min_height=-(-h // s),
                                          min_width=-(-w // s))

        out["simplejpeg full"] = sj
        out["simplejpeg into buffer"] = lambda i: simplejpeg.decode_jpeg(files[i], buffer=buf)
        out["simplejpeg 1/2"] = lambda i: sj(i, 2)
        out["simplejpeg 1/4"] = lambda i: sj(i, 4)
        out["simplejpeg N/8 >= 224"] = lambda i: simplejpeg.decode_jpeg(
            files[i], min_height=224, min_width=224)

    try:
        import turbojpeg
        tj = turbojpeg.TurboJPEG()
    except (ImportError, RuntimeError, OSError, AttributeError):  # another turbojpeg module
        tj = None
    if tj is not None:
        rgb = turbojpeg.TJPF_RGB
        dst = np.empty(buf.size if simplejpeg else 1024 * 1024 * 3, np.uint8)

        def tj_dst(i: int) -> np.ndarray:
            w, h, _, _ = tj.decode_header(files[i])
            return tj.decode(files[i], rgb, dst=dst[:h * w * 3].reshape(h, w, 3))

        out["turbojpeg full"] = lambda i: tj.decode(files[i], rgb)
        out["turbojpeg into dst"] = tj_dst
        out["turbojpeg 1/2"] = lambda i: tj.decode(files[i], rgb, scaling_factor=(1, 2))

    from fastaug import _turbojpeg
    if _turbojpeg.available():
        from fastaug import transforms as T

        heads = [_turbojpeg.header(d) for d in files]
        ok = all(h is not None for h in heads)
        sizes = np.array([h[:2] for h in heads]) if ok else None
        if ok:
            boxes = T.RandomResizedCrop(224).make_steps(sizes, np.random.default_rng(0))[0]
            boxes = boxes.values["boxes"]
            out["tj3 full"] = lambda i: _turbojpeg.decode_region(
                files[i], heads[i], 0, 0, *heads[i][:2])[0]
            out["tj3 RRC region"] = lambda i: _turbojpeg.decode_region(
                files[i], heads[i], *map(int, boxes[i]))[0]

    try:
        import cv2
        cv2.setNumThreads(1)
    except ImportError:
        cv2 = None
    if cv2 is not None:
        arrs = [np.frombuffer(d, np.uint8) for d in files]
        full = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
        half = cv2.IMREAD_REDUCED_COLOR_2 | cv2.IMREAD_IGNORE_ORIENTATION
        out["cv2 full"] = lambda i: cv2.cvtColor(cv2.imdecode(arrs[i], full), cv2.COLOR_BGR2RGB)
        out["cv2 1/2"] = lambda i: cv2.cvtColor(cv2.imdecode(arrs[i], half), cv2.COLOR_BGR2RGB)

    def load(i: int, target: tuple[int, int] | None, fast: bool) -> np.ndarray:
        fio.FAST_JPEG = fast
        return fio.load_array(paths[i], "rgb", target)

    for t in (None, 224, 112):
        name = "full" if t is None else t
        tt = None if t is None else (t, t)
        out[f"load_array {name} fast"] = lambda i, tt=tt: load(i, tt, True)
        out[f"load_array {name} pillow"] = lambda i, tt=tt: load(i, tt, False)
    return out


def reference(name: str) -> str | None:
    """The Pillow row a contender's pixels are compared with (None: not comparable)."""
    if name.startswith("load_array") or "N/8" in name or "region" in name:
        return None
    if name.endswith("1/2"):
        return "pillow draft 1/2"
    if name.endswith("1/4"):
        return "pillow draft 1/4"
    return "pillow full"


def check_equal(paths: list[str]) -> None:
    """Print the max and mean difference, fast path vs Pillow path, over every file.

    Each file in 3 colour modes, 5 targets (none, 224, 112, 299, 48x64), with and
    without the aspect-ratio crop, nearest, draft on: ``fastaug._decode.load_jpeg``
    against ``fastaug.io.load_array`` with ``FAST_JPEG = False``.
    """
    from fastaug import _decode
    from fastaug import io as fio

    if not _decode.available():
        print("check: no fast decoder (simplejpeg missing or Pillow not on libjpeg-turbo)")
        return
    worst, total, count, n, declined = 0, 0, 0, 0, 0
    for p in paths:
        for mode in ("rgb", "grayscale", "rgba"):
            for t in (None, (224, 224), (112, 112), (299, 299), (64, 48)):
                for keep in (False, True):
                    fio.FAST_JPEG = False
                    ref = fio.load_array(p, mode, t, "nearest", keep)
                    size = None if t is None else (t[1], t[0])
                    got = _decode.load_jpeg(p, mode, size, "nearest", keep, True)
                    n += 1
                    if got is None:
                        declined += 1
                        continue
                    if got.shape != ref.shape:
                        raise AssertionError(f"{p} {mode} {t}: {got.shape} != {ref.shape}")
                    d = np.abs(got.astype(np.int16) - ref)
                    worst = max(worst, int(d.max()))
                    total += int(d.sum())
                    count += d.size
    fio.FAST_JPEG = True
    print(f"check: {n} decodes of {len(paths)} files, {declined} declined; fast path vs "
          f"Pillow: max diff {worst}, mean diff {total / max(count, 1):.4f} levels")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="/tmp/fastaug-jpeg")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sizes", choices=("small", "all"), default="small",
                    help="small: the 500x375 and 375x500 files only; all: with 1024x768")
    ap.add_argument("--rows", nargs="*", default=None, metavar="TEXT",
                    help="only the rows whose name contains one of these (pillow full "
                         "is always run, as the base); e.g. --rows load_array")
    ap.add_argument("--check", action="store_true",
                    help="only compare the fast path's pixels with Pillow's on every file")
    a = ap.parse_args(argv)

    from PIL import Image, features

    paths = make_folder(a.root, n=a.n)
    if a.sizes == "small":
        keep = []
        for p in paths:
            with Image.open(p) as img:
                if max(img.size) <= 500:
                    keep.append(p)
        paths = keep
    if a.check:
        check_equal(paths)
        return
    files = []
    for p in paths:
        with open(p, "rb") as f:
            files.append(f.read())
    runs = contenders(files, paths)
    if a.rows:
        runs = {k: v for k, v in runs.items()
                if k == "pillow full" or any(r in k for r in a.rows)}
    import fastaug
    print(f"fastaug from {os.path.dirname(fastaug.__file__)}")
    print(f"{len(files)} JPEGs ({a.sizes}), {a.rounds} rounds, 1 thread; Pillow "
          f"{Image.__version__} (libjpeg-turbo {features.version('libjpeg_turbo')})")

    k = min(20, len(files))
    # Warm-up, and the pixels to compare (copied: the buffer rows reuse one buffer).
    first = {name: [np.array(fn(i)) for i in range(k)] for name, fn in runs.items()}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(a.rounds):
        for name, fn in runs.items():
            t0 = time.thread_time()
            for i in range(len(files)):
                fn(i)
            times[name].append(len(files) / (time.thread_time() - t0))

    base = statistics.median(times["pillow full"])
    print("\n| decoder | images/s (median) | min-max | vs pillow full | max diff |")
    print("|---|---:|---:|---:|---:|")
    for name, ts in times.items():
        ref = reference(name)
        if ref is None or ref not in first:  # not comparable, or its row not run
            diff = "n/a"
        else:
            pairs = list(zip(first[name], first[ref]))
            same = all(x.shape == y.shape for x, y in pairs)
            diff = (str(max(int(np.abs(x.astype(np.int16) - y).max()) for x, y in pairs))
                    if same else "shape")
        med = statistics.median(ts)
        print(f"| {name} | {med:,.0f} | {min(ts):,.0f}-{max(ts):,.0f} | "
              f"{med / base:.2f}x | {diff} |")


if __name__ == "__main__":
    main()
