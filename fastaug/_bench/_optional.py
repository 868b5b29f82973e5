"""The one door for the benchmark's optional imports (competitors, matplotlib, threadpoolctl).

Every optional import goes through :func:`import_module`, looked up on this module at
call time, so a test can make one fail by replacing it here.
"""

from __future__ import annotations

import importlib

__all__ = ["import_module"]

import_module = importlib.import_module
