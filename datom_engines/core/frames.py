"""Turning the data frames users pass in into Arrow tables.

Accepted inputs: a Polars ``DataFrame`` or ``LazyFrame`` (collected), a pyarrow ``Table`` or
``RecordBatch`` and a pandas ``DataFrame``. Pandas is only imported when the object already is a pandas
object, so the package works without it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa

from ..errors import UnsupportedDataError
from .kinds import raise_for_polars_unexportable

ACCEPTED_TYPES = "polars.DataFrame, polars.LazyFrame, pyarrow.Table, pyarrow.RecordBatch or pandas.DataFrame"

# Polars dtypes that have no Arrow equivalent (or, for Object, only an opaque pointer column).
_POLARS_UNEXPORTABLE = ("Object", "Int128", "UInt128")


def _module_root(obj: object) -> str:
    """Return the top-level package name of ``obj``'s class (``"polars"``, ``"pandas"``...)."""
    return type(obj).__module__.partition(".")[0]


def is_polars(frame: object) -> bool:
    """Return True for a Polars ``DataFrame`` or ``LazyFrame``."""
    if _module_root(frame) != "polars":
        return False
    import polars as pl

    return isinstance(frame, pl.DataFrame | pl.LazyFrame)


def is_lazy(frame: object) -> bool:
    """Return True if ``frame`` is a Polars ``LazyFrame``."""
    if _module_root(frame) != "polars":
        return False
    import polars as pl

    return isinstance(frame, pl.LazyFrame)


def is_pandas(frame: object) -> bool:
    """Return True for a pandas ``DataFrame`` (imports pandas only if the object comes from pandas)."""
    if _module_root(frame) != "pandas":
        return False
    import pandas as pd

    return isinstance(frame, pd.DataFrame)


def polars_unexportable_columns(frame: Any) -> list[tuple[str, str]]:
    """Return ``(name, dtype)`` of the columns of a Polars frame that cannot be converted to Arrow.

    These are ``Object`` (exported as opaque pointers), ``Int128`` and ``UInt128``.
    """
    schema = frame.collect_schema() if is_lazy(frame) else frame.schema
    out: list[tuple[str, str]] = []
    for name, dtype in schema.items():
        if str(dtype.base_type()) in _POLARS_UNEXPORTABLE:
            out.append((name, str(dtype)))
    return out


def _polars_to_arrow(frame: Any, *, string_view: bool) -> pa.Table:
    """Convert a Polars DataFrame (or collected LazyFrame) to Arrow.

    Columns Arrow cannot hold (Object, Int128, UInt128) raise the same single "not hashable" error
    as every other unsupported column, naming all of them.
    """
    import polars as pl

    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    bad = polars_unexportable_columns(frame)
    if bad:
        raise_for_polars_unexportable(frame, bad)
    compat = pl.CompatLevel.newest() if string_view else pl.CompatLevel.oldest()
    table: pa.Table = frame.to_arrow(compat_level=compat)
    return table


def check_column_names(names: list[Any]) -> None:
    """Raise :class:`UnsupportedDataError` for duplicate, empty or non-string column names."""
    dupes = sorted(str(n) for n, count in Counter(names).items() if count > 1)
    if dupes:
        raise UnsupportedDataError(
            f"duplicate column names: {', '.join(repr(d) for d in dupes)}",
            hint="rename the columns so every name is unique",
        )
    bad = [n for n in names if not isinstance(n, str) or n == ""]
    if bad:
        raise UnsupportedDataError(f"column names must be non-empty strings, got {bad!r}", hint="rename the columns")


def _pandas_to_arrow(frame: Any) -> pa.Table:
    """Convert a pandas DataFrame to Arrow without its index (Arrow names the columns with ``str``)."""
    check_column_names([str(c) for c in frame.columns])
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise UnsupportedDataError(
            f"the pandas DataFrame cannot be converted to Arrow: {exc}",
            hint="give every column a single type (e.g. cast mixed object columns to str)",
        ) from exc


def to_arrow(frame: object, *, string_view: bool = False) -> pa.Table:
    """Return ``frame`` as a :class:`pyarrow.Table`.

    Accepts a Polars ``DataFrame``/``LazyFrame`` (a LazyFrame is collected), a pyarrow ``Table`` or
    ``RecordBatch`` and a pandas ``DataFrame`` (converted with ``preserve_index=False``). With
    ``string_view=True`` Polars strings are exported zero-copy as ``string_view`` instead of being
    copied into ``large_string``. Anything else raises :class:`UnsupportedDataError`.
    """
    if isinstance(frame, pa.Table):
        return frame
    if isinstance(frame, pa.RecordBatch):
        return pa.Table.from_batches([frame])
    if is_polars(frame):
        return _polars_to_arrow(frame, string_view=string_view)
    if is_pandas(frame):
        return _pandas_to_arrow(frame)
    raise UnsupportedDataError(
        f"expected a data frame, got {type(frame).__module__}.{type(frame).__qualname__}",
        hint=f"pass a {ACCEPTED_TYPES}",
    )


__all__ = [
    "ACCEPTED_TYPES",
    "check_column_names",
    "is_lazy",
    "is_pandas",
    "is_polars",
    "polars_unexportable_columns",
    "to_arrow",
]
