"""Argument checks shared by every public entry point: one rule, one wording.

The rule: **TypeError** when an argument has the wrong type (a string where a
number goes, a float where an int goes, a list where an array goes, an array of
an unsupported dtype); **ValueError** when the type is right but the value is
not allowed (negative, out of range, NaN, an unknown name, a wrong shape). Every
message names the argument, shows the value it got and says what is allowed:
``"{name} must be {allowed}, got {value!r}"``.

``bool`` is never accepted as a number (``True`` is an ``int`` to Python but
almost always a slip), and numpy integer and float scalars are accepted wherever
Python ones are.

Examples
--------
>>> from fastaug._validate import check_int
>>> check_int("workers", 2, low=1)
2
>>> check_int("workers", 0, low=1)
Traceback (most recent call last):
    ...
ValueError: workers must be an int >= 1, got 0
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_bool",
    "check_choice",
    "check_dtype",
    "check_int",
    "check_out",
    "check_pair",
    "check_real",
    "check_seed",
]


def _int_bounds(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"an int in [{low}, {high}]"
    if low is not None:
        return f"an int >= {low}"
    if high is not None:
        return f"an int <= {high}"
    return "an int"


def check_int(name: str, value: Any, *, low: int | None = None,
              high: int | None = None) -> int:
    """``value`` as a Python int, checked against ``[low, high]``."""
    # (Messages are built only on failure: these checks run on every batch.)
    if type(value) is int:
        v = value
    elif isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {_int_bounds(low, high)}, got {value!r}")
    else:
        v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{name} must be {_int_bounds(low, high)}, got {value!r}")
    return v


def check_real(name: str, value: Any, *, low: float | None = None,
               high: float | None = None, low_open: bool = False,
               finite: bool = True) -> float:
    """``value`` as a Python float: finite (unless ``finite=False``) and in range.

    ``low_open`` makes the lower bound exclusive (``> low`` instead of ``>= low``).
    """
    def allowed() -> str:
        text = "a finite real number" if finite else "a real number"
        if low is not None and high is not None:
            text += f" in {'(' if low_open else '['}{low:g}, {high:g}]"
        elif low is not None:
            text += f" {'>' if low_open else '>='} {low:g}"
        elif high is not None:
            text += f" <= {high:g}"
        return text

    if type(value) is not float and (isinstance(value, (bool, np.bool_))
                                     or not isinstance(value, numbers.Real)):
        raise TypeError(f"{name} must be {allowed()}, got {value!r}")
    v = float(value)
    if ((finite and not math.isfinite(v)) or math.isnan(v)
            or (low is not None and (v <= low if low_open else v < low))
            or (high is not None and v > high)):
        raise ValueError(f"{name} must be {allowed()}, got {value!r}")
    return v


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a Python bool (a numpy bool is fine, 0 and 1 are not)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    """``value``, one of the strings ``allowed``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {list(allowed)}, got {value!r}")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return value


def check_seed(name: str, value: Any) -> int:
    """A non-negative int seed (numpy's ``SeedSequence`` rejects negative ones)."""
    return check_int(name, value, low=0)


def check_pair(name: str, value: Any, *, low: float | None = None,
               low_open: bool = False, ordered: bool = True) -> tuple[float, float]:
    """A pair of finite reals ``(a, b)``, each ``>= low`` (``> low``), ``a <= b``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) and not (
            isinstance(value, np.ndarray) and value.ndim == 1):
        raise TypeError(f"{name} must be a pair (low, high) of real numbers, got {value!r}")
    if len(value) != 2:
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}")
    a = check_real(f"{name}[0]", value[0], low=low, low_open=low_open)
    b = check_real(f"{name}[1]", value[1], low=low, low_open=low_open)
    if ordered and a > b:
        raise ValueError(f"{name} must satisfy low <= high, got {value!r}")
    return a, b


def check_dtype(name: str, value: Any, allowed: Sequence[Any], *,
                none_ok: bool = True) -> np.dtype | None:
    """A numpy dtype among ``allowed`` (or None when ``none_ok``).

    A dtype outside ``allowed`` is a TypeError: it is the type of the data, as
    numpy itself reports unsupported dtypes.
    """
    if value is None and none_ok:
        return None
    try:
        dt = np.dtype(value)
    except TypeError:
        dt = None
    if value is None or dt not in [np.dtype(d) for d in allowed]:
        # Names only for the message: formatting them costs more than the check.
        names = ["None"] * none_ok + [f"numpy.{np.dtype(d).name}" for d in allowed]
        raise TypeError(f"{name} must be {', '.join(names[:-1])} or {names[-1]}, "
                        f"got {value!r}")
    return dt


def check_out(out: Any, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A writeable output buffer of exactly ``shape`` and ``dtype``."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy array or None, got {type(out).__name__}")
    if out.shape != tuple(shape) or out.dtype != dtype or not out.flags.writeable:
        raise ValueError(f"out must be a writeable array of shape {tuple(shape)} and dtype "
                         f"{np.dtype(dtype).name}, got shape {out.shape}, dtype "
                         f"{out.dtype.name}{'' if out.flags.writeable else ', read-only'}")
    return out
