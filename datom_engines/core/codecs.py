"""Parquet codec settings a user may give (``compression=``): pure values, checked before any work."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgumentError

CODECS = ("zstd", "snappy", "lz4", "gzip", "none")
"""Codecs a ``compression=`` setting may name. Every R arrow build from CRAN (the prebuilt libarrow of
Windows, macOS and Linux, and default source builds) reads all of them; LZ4 is written as LZ4_RAW (R
arrow >= 10). ``none`` is readable even by a minimal (``LIBARROW_MINIMAL=true``) source build."""

AUTO = "auto"
"""Choose a codec per column from a sample of the data (the default)."""

Compression = str | Mapping[str, str] | None
"""``None``/``"auto"``, one codec for every column, or ``{column: codec}`` (other columns automatic)."""


def normalize_compression(value: Compression) -> str | dict[str, str]:
    """Check a ``compression=`` setting; returns ``"auto"``, a codec, or ``{column: codec}``."""
    if value is None:
        return AUTO
    if isinstance(value, str):
        return _codec(value, allow_auto=True)
    if isinstance(value, Mapping):
        out = {}
        for column, codec in value.items():
            if not isinstance(column, str):
                raise InvalidArgumentError(f"compression keys must be column names, got {column!r}")
            out[column] = _codec(codec, allow_auto=True)
        return out
    raise InvalidArgumentError(
        f"compression must be a codec name or a mapping of column to codec, got {type(value).__name__}",
        hint=f"use one of {', '.join((AUTO, *CODECS))}",
    )


def _codec(value: Any, *, allow_auto: bool) -> str:
    name = value.lower().strip() if isinstance(value, str) else value
    if name == "uncompressed":
        name = "none"
    if name in CODECS or (allow_auto and name == AUTO):
        return str(name)
    raise InvalidArgumentError(
        f"unknown parquet compression {value!r}",
        hint=f"use one of {', '.join((AUTO, *CODECS))} (every R arrow build from CRAN reads them)",
    )
