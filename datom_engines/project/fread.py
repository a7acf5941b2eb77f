"""Column typing of delimited text the way R's ``data.table::fread`` does it (reference section 8 item 30).

R datom imports a CSV through ``rio::import`` -> ``fread``, so the ``data_sha`` of an imported CSV depends
on fread's type inference. To give the same ``data_sha`` as R for the same file, every field is first read
as text (Polars, no inference) and then each column is typed by this rule, first match wins:

* missing values: ``NA`` (fread's ``na.strings``), and in non-text columns also empty fields;
  surrounding spaces and tabs are ignored when typing (fread's ``strip.white``);
* a column with no values at all -> all-null Boolean (R logical ``NA``, hashed as ``num``);
* ``TRUE``/``FALSE``, ``True``/``False`` or ``true``/``false`` (one spelling per column) -> Boolean;
* integers (optional sign, leading zeros allowed, so ``"001"`` is 1) -> Int64; R's int32 and
  ``integer64`` both hash like Polars Int64 (``num`` below 2^31, ``i64`` above);
* decimals with optional exponent, ``NaN``, ``Inf``, ``-Inf``, ``Infinity`` -> Float64;
* ``YYYY-MM-DD`` -> Date (R ``IDate``);
* ``YYYY-MM-DD[T ]HH:MM[:SS[.fff]]`` with optional ``Z`` or ``+hh:mm`` -> Datetime in UTC (fread reads
  zone-less times as UTC);
* anything else -> String: values are kept verbatim, empty fields stay ``""``, only ``NA`` becomes null.

Quoting does not matter for typing (``"001"`` in quotes is still the number 1, as in fread). The rule
reproduces the fread ``data_sha`` of the four clinical CSVs of reference section 7.4 (tests check it).
Not emulated: fread's header and separator guessing for odd files, ``dec=","``, hex floats, and its
stripping of spaces inside unquoted text fields.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

import polars as pl

NA_STRINGS = ("NA",)
_BLANKS = " \t"

_INT = r"^[+-]?[0-9]+$"
_FLOAT = r"^[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|NaN|Inf|Infinity)$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DATETIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$"
_BOOL_SPELLINGS = (("TRUE", "FALSE"), ("True", "False"), ("true", "false"))
_INT64_MIN, _INT64_MAX = -(2**63) + 1, 2**63 - 1  # fread keeps INT64_MIN for NA


def _all(values: pl.Series, pattern: str) -> bool:
    return bool(values.str.contains(pattern).all())


def _typed(values: pl.Series, present: pl.Series, converted: pl.Series) -> pl.Series | None:
    """``converted`` where a value is present, null elsewhere; None if a present value did not convert."""
    out = pl.DataFrame({"v": converted, "p": present}).select(pl.when(pl.col("p")).then(pl.col("v"))).to_series()
    if out.null_count() != len(values) - int(present.sum()):
        return None
    return out


def _as_bool(text: pl.Series, present: pl.Series, values: pl.Series) -> pl.Series | None:
    for true, false in _BOOL_SPELLINGS:
        if bool(values.is_in([true, false]).all()):
            return _typed(text, present, text == true)
    return None


def _unsigned(text: pl.Series) -> pl.Series:
    return text.str.strip_prefix("+") if bool(text.str.starts_with("+").any()) else text


def _as_int(text: pl.Series, present: pl.Series, values: pl.Series) -> pl.Series | None:
    ints = _unsigned(text).cast(pl.Int64, strict=False)
    out = _typed(text, present, ints)  # the cast fails fast on most non-integer columns...
    if out is None or out.min() == -(2**63) or not _all(values, _INT):  # type: ignore[operator]
        return None  # ...and the pattern then rejects what Polars accepts but fread does not
    return out


def _as_float(text: pl.Series, present: pl.Series, values: pl.Series) -> pl.Series | None:
    cleaned = _unsigned(text)
    if bool(values.str.contains("Inf", literal=True).any()):
        cleaned = cleaned.str.replace(r"^(-?)Inf(inity)?$", "${1}inf")
    out = _typed(text, present, cleaned.cast(pl.Float64, strict=False))
    return out if out is not None and _all(values, _FLOAT) else None


def _as_date(text: pl.Series, present: pl.Series) -> pl.Series | None:
    return _typed(text, present, text.str.to_date("%Y-%m-%d", strict=False))


def _as_datetime(text: pl.Series, present: pl.Series) -> pl.Series | None:
    iso = (
        pl.col("t")
        .str.replace(" ", "T", literal=True)
        .str.replace(r"T([0-9]{2}:[0-9]{2})(Z|[+-]|$)", "T${1}:00${2}")  # HH:MM -> HH:MM:00
        .str.replace(r"Z$", "+00:00")
        .str.replace(r"([+-][0-9]{2})$", "${1}:00")
        .str.replace(r"([+-][0-9]{2})([0-9]{2})$", "${1}:${2}")
    )
    zoned = pl.when(iso.str.contains(r"[+-][0-9]{2}:[0-9]{2}$")).then(iso).otherwise(iso + "+00:00")  # naive: UTC
    parsed = (
        pl.DataFrame({"t": text})
        .select(zoned.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_unit="us", strict=False))
        .to_series()
    )
    return _typed(text, present, parsed.dt.convert_time_zone("UTC"))


def _as_text(column: pl.Series) -> pl.Series:
    na = pl.col("c").is_in(NA_STRINGS)
    return pl.DataFrame({"c": column}).select(pl.when(~na).then(pl.col("c"))).to_series().rename(column.name)


def _first_value(column: pl.Series) -> str | None:
    """The first present value (stripped), looking at a growing head of the column."""
    n = 64
    while True:
        head = column.head(n).str.strip_chars(_BLANKS)
        for value in head:
            if value is not None and value != "" and value not in NA_STRINGS:
                return value
        if n >= len(column):
            return None
        n *= 16


_PATTERNS = {
    "bool": re.compile(r"^(TRUE|FALSE|True|False|true|false)$"),
    "int": re.compile(_INT),
    "float": re.compile(_FLOAT),
    "date": re.compile(_DATE),
    "datetime": re.compile(_DATETIME),
}


def type_column(column: pl.Series) -> pl.Series:
    """Type one all-text column by the fread rule of this module's docstring."""
    name = column.name
    first = _first_value(column)
    if first is None:  # nothing but missing values: R logical NA
        return pl.repeat(None, len(column), dtype=pl.Boolean, eager=True).rename(name)
    kinds = [kind for kind, pattern in _PATTERNS.items() if pattern.match(first)]
    if not kinds:  # the usual text column: decided by its first value, without scanning it
        return _as_text(column)
    text = column.str.strip_chars(_BLANKS)
    present = ~(text.is_in(NA_STRINGS) | (text == "")).fill_null(False) & text.is_not_null()
    values = text.filter(present)
    attempts = {
        "bool": lambda: _as_bool(text, present, values),
        "int": lambda: _as_int(text, present, values),
        "float": lambda: _as_float(text, present, values),
        "date": lambda: _as_date(text, present) if _all(values, _DATE) else None,
        "datetime": lambda: _as_datetime(text, present) if _all(values, _DATETIME) else None,
    }
    if "int" in kinds:
        kinds.append("float")  # integers first, then a column of mixed integers and decimals
    for kind in dict.fromkeys(kinds):
        typed = attempts[kind]()
        if typed is not None:
            return typed.rename(name)
    return _as_text(column)


def type_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Type every column of an all-text frame (as read with ``infer_schema=False``) like fread."""
    columns = [frame.get_column(name) for name in frame.columns]
    if frame.height < 100_000 or len(columns) < 2:
        return pl.DataFrame([type_column(c) for c in columns])
    with ThreadPoolExecutor(max(1, min(len(columns), os.cpu_count() or 1))) as pool:  # Polars releases the GIL
        return pl.DataFrame(list(pool.map(type_column, columns)))
