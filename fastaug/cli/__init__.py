"""The ``fastaug`` command: ``fastaug demo``, ``fastaug bench``, ``fastaug augment``.

Each subcommand lives in its own module (``_demo``, the ``fastaug._bench``
package, ``_augment``) and is imported only when the parser is built.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from fastaug.cli._demo import test_card

__all__ = ["main", "test_card"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fastaug`` command."""
    from fastaug import _bench
    from fastaug.cli import _augment, _demo

    parser = argparse.ArgumentParser(prog="fastaug", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _demo.add_parser(sub)
    _bench.add_arguments(sub.add_parser(
        "bench", help="compare fastaug's throughput with Keras, OpenCV, albumentations, "
                      "torchvision and scipy (those installed)",
        description=_bench.DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter))
    _augment.add_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "augment":
        return _augment.run(args)
    if args.command == "bench":
        return _bench.run(args, argv)
    return _demo.run(args, parser)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
