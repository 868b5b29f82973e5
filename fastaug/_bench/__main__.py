"""``python -m fastaug._bench``: the same as ``fastaug bench``."""

import sys

from fastaug._bench._command import main

if __name__ == "__main__":
    sys.exit(main())
