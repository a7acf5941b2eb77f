"""Per-column summaries of a version (type, missing count, min and max) from its parquet footer.

The footer's column statistics give the null count and the minimum and maximum of every row group, so
a summary never reads the data pages. The object is obtained through the project's verified read
(:func:`~datom_engines.project.reading.fetch_parquet`, which goes through ``verified_object``): a
summary is never made from bytes that do not match the recorded ``parquet_sha``. Summaries are keyed
by ``parquet_sha`` (same bytes, same footer) so the site computes each one once.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import DatomError, IntegrityError, NotFoundError
from ..project.diff import type_names
from ..project.reading import fetch_parquet
from ..project.results import ResolvedVersion
from ..storage.objectstore import ObjectStore

MAX_VALUE_CHARS = 40


@dataclass(frozen=True, slots=True)
class ColumnSummary:
    """One column: its type, how many values are missing, and its smallest and largest value.

    ``nulls``/``min``/``max`` are None when the file carries no statistics for the column; ``min`` and
    ``max`` are display text (long values cut to :data:`MAX_VALUE_CHARS` characters).
    """

    name: str
    type: str
    nulls: int | None
    min: str | None
    max: str | None


@dataclass(frozen=True, slots=True)
class TableSummary:
    """The summary of one stored object; ``error`` says why there is none (object missing, bad bytes)."""

    rows: int | None
    row_groups: int | None
    columns: tuple[ColumnSummary, ...] = ()
    error: str | None = None

    def types(self) -> dict[str, str]:
        """Column name -> type text (empty when the summary failed)."""
        return {c.name: c.type for c in self.columns}

    def to_json(self) -> dict[str, Any]:
        """A JSON object (kept in the site's build state)."""
        return {
            "rows": self.rows,
            "row_groups": self.row_groups,
            "columns": [[c.name, c.type, c.nulls, c.min, c.max] for c in self.columns],
            "error": self.error,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> TableSummary:
        """The inverse of :meth:`to_json`."""
        cols = tuple(ColumnSummary(*c) for c in obj.get("columns") or ())
        return cls(obj.get("rows"), obj.get("row_groups"), cols, obj.get("error"))


def _display(value: Any) -> str:
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return f"0x{value[:16].hex()}" + ("…" if len(value) > 16 else "")
    if isinstance(value, _dt.datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _column_stats(groups: list[pq.RowGroupMetaData], index: int) -> tuple[int | None, Any, Any]:
    """Null count, min and max of leaf column ``index`` over all row groups (None when not recorded)."""
    nulls: int | None = 0
    low: Any = None
    high: Any = None
    have_range = True
    for group in groups:
        if group.num_rows == 0:
            continue
        chunk = group.column(index)
        stats = chunk.statistics
        if stats is None:
            return None, None, None
        nulls = nulls + stats.null_count if nulls is not None and stats.has_null_count else None
        if stats.has_min_max:
            try:
                low = stats.min if low is None or stats.min < low else low
                high = stats.max if high is None or stats.max > high else high
            except TypeError:
                have_range = False
        elif stats.null_count != chunk.num_values:  # values present but no range recorded
            have_range = False
    return nulls, (low if have_range else None), (high if have_range else None)


_TYPES: dict[pa.Schema, dict[str, str]] = {}


def _type_names(schema: pa.Schema) -> dict[str, str]:
    """:func:`type_names`, remembered per schema (the versions of a table mostly share one)."""
    found = _TYPES.get(schema)
    if found is None:
        if len(_TYPES) > 4096:
            _TYPES.clear()
        found = _TYPES[schema] = type_names(schema)
    return found


def summarize_file(path: str) -> TableSummary:
    """The summary of a local parquet file, from its footer only."""
    with open(path, "rb") as fh:  # a file object: no file-system lookup by Arrow
        meta = pq.read_metadata(fh)
    types = _type_names(meta.schema.to_arrow_schema())
    leaves = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
    groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
    columns = []
    for name, kind in types.items():
        index = leaves.get(name)
        nulls, low, high = _column_stats(groups, index) if index is not None else (None, None, None)
        columns.append(
            ColumnSummary(
                name,
                kind,
                nulls,
                None if low is None else _display(low),
                None if high is None else _display(high),
            )
        )
    return TableSummary(meta.num_rows, meta.num_row_groups, tuple(columns))


def summarize_version(store: ObjectStore, resolved: ResolvedVersion) -> TableSummary:
    """The summary of a version's stored object, verified against ``parquet_sha`` first.

    A missing object or bytes that do not match give a summary whose ``error`` says so (the site shows
    it instead of any statistics).
    """
    try:
        path, temporary = fetch_parquet(store, resolved)
    except IntegrityError:
        return TableSummary(None, None, error="the stored object does not match its recorded parquet_sha")
    except NotFoundError:
        return TableSummary(None, None, error="the parquet object is missing from the store")
    except DatomError as exc:
        return TableSummary(None, None, error=exc.message.splitlines()[0])
    try:
        return summarize_file(path)
    except (OSError, ValueError) as exc:
        return TableSummary(None, None, error=f"the parquet footer could not be read: {exc}")
    finally:
        if temporary:
            shutil.rmtree(os.path.dirname(path), ignore_errors=True)
