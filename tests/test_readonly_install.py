"""A read-only install: no writable package directory, home, or NUMBA_CACHE_DIR.

Containers, system packages and CI sandboxes install fastaug where nothing can
be written. Numba's ``cache=True`` then raised ``RuntimeError: cannot cache
function ...: no locator available`` at ``import fastaug``. The kernels must
compile uncached instead (with one warning saying how to get the cache back).

Read-only is real here, not simulated: as root (who may write anywhere) the
copy of the package and the home directory are bind-mounted read-only in a
private mount namespace (``unshare -m``); as another user they are chmod'ed.
The child checks that it really cannot write before it imports fastaug.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import fastaug

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="mount namespaces / POSIX modes")

CHILD = textwrap.dedent(
    """
    import os, sys, warnings
    import numpy as np
    site, home, out = sys.argv[1:4]
    for d in (os.path.join(site, "fastaug", "_kernels"), home):
        try:
            open(os.path.join(d, "probe"), "w").close()
        except OSError:
            pass
        else:
            sys.exit("setup error: %s is writable" % d)
    # An editable install of the checkout (pip install -e) maps "fastaug" to it
    # ahead of sys.path: import the read-only copy instead.
    sys.meta_path = [f for f in sys.meta_path
                     if not getattr(f, "__module__", "").startswith("__editable__")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import fastaug
        from fastaug._kernels import _jit
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, size=(3, 9, 7, 3), dtype=np.uint8)
        m = np.tile(np.array([[0.9, 0.2, 0.5], [-0.1, 1.1, -0.7]]), (3, 1, 1))
        y = fastaug.warp_affine(x, m, order=1, fill_mode="reflect")
    assert fastaug.__file__.startswith(site), fastaug.__file__
    kinds = [w.category.__name__ for w in caught]
    assert kinds.count("CacheUnavailableWarning") == 1, kinds
    assert _jit.uncached, "expected the kernels to compile uncached"
    np.save(out, y)
    """
)


def _copy_package(site: Path) -> None:
    src = Path(fastaug.__file__).parent
    shutil.copytree(src, site / "fastaug", ignore=shutil.ignore_patterns("__pycache__"))


def _can_unshare() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount --bind -o ro / /"],
                           capture_output=True)
    return probe.returncode == 0


def _make_read_only(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        mode = p.stat().st_mode
        p.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _make_writable(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        p.chmod(p.stat().st_mode | stat.S_IWUSR)


def test_import_and_first_batch_on_read_only_install(tmp_path: Path) -> None:
    site = tmp_path / "site"
    home = tmp_path / "home"
    site.mkdir()
    home.mkdir()
    _copy_package(site)
    out = tmp_path / "out" / "y.npy"
    out.parent.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "PYTHONPATH")}
    env.update(HOME=str(home), PYTHONPATH=str(site), PYTHONDONTWRITEBYTECODE="")
    child = [sys.executable, "-c", CHILD, str(site), str(home), str(out)]
    if os.geteuid() == 0:
        if not _can_unshare():
            pytest.skip("running as root without mount namespaces: cannot make a directory "
                        "read-only for root")
        script = (f"mount --bind -o ro '{site}' '{site}' && mount --bind -o ro '{home}' "
                  f"'{home}' && exec \"$@\"")
        cmd = ["unshare", "-m", "sh", "-c", script, "sh", *child]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300,
                                  cwd=tmp_path)
    else:
        _make_read_only(site)
        _make_read_only(home)
        try:
            proc = subprocess.run(child, env=env, capture_output=True, text=True, timeout=300,
                                  cwd=tmp_path)
        finally:
            _make_writable(site)
            _make_writable(home)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # The uncached kernels compute what the cached ones do.
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(3, 9, 7, 3), dtype=np.uint8)
    m = np.tile(np.array([[0.9, 0.2, 0.5], [-0.1, 1.1, -0.7]]), (3, 1, 1))
    np.testing.assert_array_equal(np.load(out), fastaug.warp_affine(x, m, order=1,
                                                                     fill_mode="reflect"))


def test_lanes_digest_matches_lanes_source() -> None:
    # warp.py's cached kernels inline lanes.py; Numba only sees warp.py change.
    import hashlib

    from fastaug._kernels import warp

    lanes = Path(warp.__file__).with_name("lanes.py").read_bytes()
    digest = hashlib.sha256(lanes).hexdigest()[:16]
    assert digest == warp.LANES_DIGEST, (
        "lanes.py changed: set LANES_DIGEST in fastaug/_kernels/warp.py to "
        f"{digest!r} (editing warp.py is what makes Numba drop its stale cached kernels)")
