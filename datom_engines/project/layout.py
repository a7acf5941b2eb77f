"""How a table's parquet object is laid out: an encoding and a codec per column, chosen from a sample.

The object stays one ``<table>/<data_sha>.parquet`` file that every reader of the project understands
(Polars, DuckDB, pyarrow, and R's arrow package from CRAN: see :data:`CODECS`). ``data_sha`` is computed
from the values, never from the bytes, so the layout changes only ``parquet_sha`` and the size.

``compression="auto"`` (the default) measures a sample of the rows (a few slices spread over the table,
:data:`SAMPLE_ROWS` in all) once per write of at least :data:`SMALL_TABLE_ROWS` rows:

* encoding: the smallest of PLAIN, dictionary (RLE_DICTIONARY) and, for integer-like columns (integers,
  dates, times, timestamps, durations), DELTA_BINARY_PACKED; PLAIN unless another saves at least
  :data:`MIN_ENCODING_SAVING` (it is the cheapest to decode);
* codec: ZSTD when it makes the column at least :data:`ZSTD_MIN_SAVING` smaller than uncompressed *and*
  at least :data:`ZSTD_OVER_SNAPPY` smaller than SNAPPY would (zstd decodes slower, so it must earn it);
  else SNAPPY when that saves at least :data:`SNAPPY_MIN_SAVING`; else none (random floats, bit-packed
  dictionary indices and delta-packed integers usually do not compress, and decoding them is then free).

A named codec (``compression="zstd"``, or a mapping ``{column: codec}`` where unnamed columns stay
automatic) replaces the measured codec; the encodings are still chosen from the sample.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..core.codecs import AUTO, Compression, normalize_compression
from ..core.kinds import is_string_type
from ..errors import InvalidArgumentError

ROW_GROUP_SIZE = 1_000_000
"""Rows per row group: statistics of 1M-row groups let a selective filter skip the rest of the table."""

PAGE_ROWS = 32_768
"""Rows per data page at most (pyarrow's default is 20,000). A multiple of DuckDB's 2,048-row vectors, so
no vector straddles two pages and DuckDB keeps a dictionary column's values as dictionary vectors (measured
on 10M rows: a GROUP BY over a 1,000-value string column in 0.8x the time it takes with 20,000-row pages). Written
with a page index (column and offset index) in the footer: a reader that uses it (DuckDB) fetches and
decodes only the pages a selective filter needs inside a row group (a 1,000-row filter in 0.3x the time,
0.5 MB read instead of the row group's 12 MB). Standard parquet: readers that do not use the index skip it."""

SAMPLE_ROWS = 32_768
SAMPLE_SLICES = 8
SMALL_TABLE_ROWS = 32_768
"""Below this many rows nothing is measured (it would cost more than it saves): strings are dictionary
encoded and every column is ZSTD (or the codec asked for)."""
MIN_ENCODING_SAVING = 0.05
ZSTD_MIN_SAVING = 0.20
ZSTD_OVER_SNAPPY = 0.25
SNAPPY_MIN_SAVING = 0.10


@dataclass(frozen=True, slots=True)
class ParquetLayout:
    """Writer settings for one table: a codec per column, the dictionary and DELTA columns."""

    compression: dict[str, str] = field(default_factory=dict)
    dictionary: tuple[str, ...] = ()
    delta: tuple[str, ...] = ()

    def writer_options(self) -> dict[str, Any]:
        """Keyword arguments for ``pyarrow.parquet.write_table`` / ``ParquetWriter``."""
        options: dict[str, Any] = {
            "compression": dict(self.compression) or "none",
            "use_dictionary": list(self.dictionary),
            "write_statistics": True,
            "write_page_index": True,
            "max_rows_per_page": PAGE_ROWS,
        }
        if self.delta:
            options["column_encoding"] = dict.fromkeys(self.delta, "DELTA_BINARY_PACKED")
        return options


def _integer_like(t: pa.DataType) -> bool:
    return (
        pa.types.is_integer(t)
        or pa.types.is_date(t)
        or pa.types.is_time(t)
        or pa.types.is_timestamp(t)
        or pa.types.is_duration(t)
    )


def _sizes(
    sample: pa.Table, scale: float = 1.0, growth: Mapping[str, float] | None = None, **options: Any
) -> dict[str, float]:
    """Estimated bytes per column of a row group when ``sample`` (one row group here) stands for ``scale``
    times as many rows: data pages grow with the rows, a dictionary page by ``growth[column]``."""
    buf = io.BytesIO()
    options = {**options, "write_statistics": False}
    pq.write_table(sample, buf, row_group_size=max(sample.num_rows, 1), **options)
    meta = pq.read_metadata(io.BytesIO(buf.getvalue()))
    out: dict[str, float] = {}
    for rg in range(meta.num_row_groups):
        group = meta.row_group(rg)
        for i in range(group.num_columns):
            col = group.column(i)
            top = col.path_in_schema.split(".", 1)[0] if col.path_in_schema not in sample.column_names else ""
            name = top or col.path_in_schema
            total = col.total_compressed_size
            dict_bytes = 0
            if col.has_dictionary_page and col.dictionary_page_offset is not None:
                dict_bytes = max(0, min(total, col.data_page_offset - col.dictionary_page_offset))
            grow = (growth or {}).get(name, 1.0)
            out[name] = out.get(name, 0.0) + dict_bytes * grow + (total - dict_bytes) * scale
    return out


def sample_rows(table: pa.Table, rows: int = SAMPLE_ROWS, slices: int = SAMPLE_SLICES) -> pa.Table:
    """About ``rows`` rows of ``table`` in ``slices`` contiguous runs spread over it (runs keep the local
    order that DELTA and run-length encodings depend on)."""
    if table.num_rows <= rows:
        return table
    run = rows // slices
    step = (table.num_rows - run) / max(slices - 1, 1)
    return pa.concat_tables([table.slice(int(i * step), run) for i in range(slices)])


def _dictionary_growth(sample: pa.Table, scale: float) -> dict[str, float]:
    """How much larger each column's dictionary gets in a full row group: a column whose sample values
    are nearly all distinct grows with the rows, one with few distinct values hardly at all."""
    out = {}
    rows = max(sample.num_rows, 1)
    for name, column in zip(sample.column_names, sample.columns, strict=True):
        try:
            distinct = pc.count_distinct(column, mode="all").as_py()
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            distinct = rows
        out[name] = 1 + (scale - 1) * min(1.0, distinct / rows)
    return out


def choose_layout(table: pa.Table, compression: Compression = None) -> ParquetLayout:
    """The layout for ``table`` (or for a stream whose first rows ``table`` holds): see the module docstring."""
    setting = normalize_compression(compression)
    unknown = sorted(set(setting) - set(table.column_names)) if isinstance(setting, dict) else []
    if unknown:
        raise InvalidArgumentError(
            f"compression names columns the table does not have: {', '.join(map(repr, unknown))}",
            hint=f"the columns are {', '.join(map(repr, table.column_names))}",
        )
    schema = table.schema
    names = schema.names
    if table.num_rows < SMALL_TABLE_ROWS:
        return _small_layout(schema, setting)
    sample = sample_rows(table)
    scale = min(table.num_rows, ROW_GROUP_SIZE) / sample.num_rows
    growth = _dictionary_growth(sample, scale)
    dict_typed = [n for n in names if pa.types.is_dictionary(schema.field(n).type)]
    ints = [n for n in names if n not in dict_typed and _integer_like(schema.field(n).type)]
    # one write each: integer-like columns DELTA (the rest PLAIN), everything dictionary, integers PLAIN
    first = _sizes(
        sample,
        scale,
        use_dictionary=dict_typed,
        compression="none",
        column_encoding=dict.fromkeys(ints, "DELTA_BINARY_PACKED"),
    )
    dicts = _sizes(sample, scale, growth, use_dictionary=True, compression="none")
    plain = {**first, **(_sizes(sample.select(ints), scale, use_dictionary=False, compression="none") if ints else {})}
    deltas = {n: first[n] for n in ints if n in first}
    dictionary, delta = list(dict_typed), []
    encoded: dict[str, float] = {n: dicts.get(n, 0) for n in dict_typed}
    for name in names:
        if name in dict_typed:
            continue
        best, size = "plain", plain.get(name, 0)
        for kind, sizes in (("dict", dicts), ("delta", deltas)):
            if name in sizes and sizes[name] < min(size, plain.get(name, 0) * (1 - MIN_ENCODING_SAVING)):
                best, size = kind, sizes[name]
        encoded[name] = size
        if best == "dict":
            dictionary.append(name)
        elif best == "delta":
            delta.append(name)
    layout = ParquetLayout({}, tuple(dictionary), tuple(delta))
    wanted = {n: (setting.get(n, AUTO) if isinstance(setting, dict) else setting) for n in names}
    codecs = {n: wanted[n] for n in names if wanted[n] != AUTO}
    auto = [n for n in names if n not in codecs]
    if auto:
        options = layout.writer_options()
        zstd = _sizes(sample, scale, growth, **{**options, "compression": "zstd"})
        snappy = _sizes(sample, scale, growth, **{**options, "compression": "snappy"})
        for name in auto:
            codecs[name] = _pick_codec(encoded.get(name, 0), zstd.get(name, 0), snappy.get(name, 0))
    return ParquetLayout({n: codecs[n] for n in names}, layout.dictionary, layout.delta)


def _small_layout(schema: pa.Schema, setting: str | dict[str, str]) -> ParquetLayout:
    def codec(name: str) -> str:
        value = setting.get(name, AUTO) if isinstance(setting, dict) else setting
        return "zstd" if value == AUTO else value

    dictionary = tuple(f.name for f in schema if pa.types.is_dictionary(f.type) or is_string_type(f.type))
    return ParquetLayout({n: codec(n) for n in schema.names}, dictionary, ())


def _pick_codec(none: float, zstd: float, snappy: float) -> str:
    if none == 0:
        return "none"
    if zstd <= none * (1 - ZSTD_MIN_SAVING) and zstd <= snappy * (1 - ZSTD_OVER_SNAPPY):
        return "zstd"
    if snappy <= none * (1 - SNAPPY_MIN_SAVING):
        return "snappy"
    return "none"
