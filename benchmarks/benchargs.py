"""Command-line arguments of the benchmarks: optional positional counts, ``--help`` from the docstring."""

from __future__ import annotations

import argparse
import sys


def counts(doc: str | None, *specs: tuple[str, int]) -> list[int]:
    """Parse optional positional integers ``(name, default)`` in order; ``--help`` prints ``doc``.

    A value that is not a positive integer exits with a usage message naming it.
    """

    def positive(text: str) -> int:
        try:
            value = int(text.replace("_", "").replace(",", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
        return value

    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter, prog=sys.argv[0]
    )
    for name, default in specs:
        parser.add_argument(name, nargs="?", type=positive, default=default, help=f"default {default:,}")
    parsed = parser.parse_args()
    return [getattr(parsed, name) for name, _ in specs]
