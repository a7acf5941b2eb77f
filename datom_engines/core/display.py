"""How values are shown to people (command line, static site): sizes and short hashes. Pure, no I/O."""

from __future__ import annotations

SHORT_SHA = 8  # display abbreviation of version ids and hashes (reference section 2.5)


def human_size(n: float | int | None) -> str:
    """Bytes in human units (``4.1 KiB``); ``-`` for None."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def short(sha: str | None) -> str | None:
    """The 8-character display form of a hash (None stays None)."""
    return sha[:SHORT_SHA] if sha else None
