"""datom-cv1 kinds: how each Arrow type is classified for hashing, and the errors for types that cannot be.

Pure classification, no hashing: ``cv1`` (the hash) and ``frames`` (frame conversion) both use it.
The mapping is ``cv1-python.md``'s table; first match wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import pyarrow as pa

from ..errors import InvalidArgumentError, UnsupportedDataError

KIND_NUM = "num"
KIND_CHR = "chr"
KIND_DATE = "date"
KIND_TIME = "time"
KIND_DRTN = "drtn"
KIND_I64 = "i64"
KINDS = (KIND_NUM, KIND_CHR, KIND_DATE, KIND_TIME, KIND_DRTN, KIND_I64)
# Internal, pending kind of an Int64 column: "num" or "i64" depending on its values.
KIND_INT64 = "int64?"

INT32_MAX = 2**31 - 1


class Problem(NamedTuple):
    """An unsupported column: its name, its dtype as shown to the user and a remedy category."""

    name: str
    dtype: str
    category: str


_REMEDIES: dict[str, tuple[str, str]] = {
    "nested": ("list/struct/map columns", "flatten or serialise to a string"),
    "binary": ("binary columns", "hex-encode to a string"),
    "decimal": ("decimal columns", "cast to Float64 or String"),
    "float16": ("Float16 columns", "cast to Float32 or Float64"),
    "dictionary": ("non-string dictionary columns", "decode the dictionary (cast to its value type)"),
    "object": ("Object columns", "convert the values to String or a numeric dtype"),
    "int128": ("128-bit integer columns", "cast to Int64, Float64 or String"),
    "extension": ("extension-type columns", "cast to the extension's storage type"),
    "other": (
        "other columns",
        "cast to String, Boolean, an integer or float type, Date, Datetime, Duration or Time",
    ),
}


def is_string_type(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _is_nested(t: pa.DataType) -> bool:
    return (
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
        or pa.types.is_list_view(t)
        or pa.types.is_large_list_view(t)
        or pa.types.is_struct(t)
        or pa.types.is_map(t)
        or pa.types.is_union(t)
    )


def _is_binary(t: pa.DataType) -> bool:
    return (
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_binary_view(t)
        or pa.types.is_fixed_size_binary(t)
    )


def _is_plain_num(t: pa.DataType) -> bool:
    return (
        pa.types.is_boolean(t)
        or pa.types.is_integer(t)
        or pa.types.is_float32(t)
        or pa.types.is_float64(t)
        or pa.types.is_null(t)
    )


def kind_of_type(t: pa.DataType) -> str:
    """Return the kind of an Arrow type, ``KIND_INT64`` for int64, or ``"!<category>"`` if unsupported."""
    if isinstance(t, pa.ExtensionType):
        return "!extension"
    if pa.types.is_dictionary(t):
        return KIND_CHR if is_string_type(t.value_type) else "!dictionary"
    if is_string_type(t):
        return KIND_CHR
    if pa.types.is_int64(t):
        return KIND_INT64
    if pa.types.is_date(t):
        return KIND_DATE
    if pa.types.is_timestamp(t):
        return KIND_TIME
    if pa.types.is_duration(t) or pa.types.is_time(t):
        return KIND_DRTN
    if _is_plain_num(t):
        return KIND_NUM
    if _is_nested(t):
        return "!nested"
    if _is_binary(t):
        return "!binary"
    if pa.types.is_decimal(t):
        return "!decimal"
    if pa.types.is_float16(t):
        return "!float16"
    return "!other"


def problems_of(schema: pa.Schema) -> list[Problem]:
    """The unsupported columns of ``schema``, in column order."""
    problems: list[Problem] = []
    for field in schema:
        kind = kind_of_type(field.type)
        if kind.startswith("!"):
            problems.append(Problem(field.name, str(field.type), kind[1:]))
    return problems


def pending_kinds(schema: pa.Schema) -> list[str]:
    """Classify every field; raise one :class:`UnsupportedDataError` naming all unsupported columns."""
    problems = problems_of(schema)
    if problems:
        raise_unsupported(problems)
    return [kind_of_type(field.type) for field in schema]


def raise_unsupported(problems: Sequence[Problem]) -> None:
    """Raise the single error naming every unsupported column with per-category remedies."""
    count = len(problems)
    shown = ", ".join(f"{p.name!r} ({p.dtype})" for p in problems)
    verb = "column is" if count == 1 else "columns are"
    remedies: list[str] = []
    for category in dict.fromkeys(p.category for p in problems):
        label, remedy = _REMEDIES[category]
        names = ", ".join(repr(p.name) for p in problems if p.category == category)
        remedies.append(f"{label} ({names}): {remedy}")
    raise UnsupportedDataError(f"{count} {verb} not hashable: {shown}", hint="; ".join(remedies))


def classify_columns(schema: pa.Schema, int64_needs_i64: Mapping[str, bool]) -> list[str]:
    """Return the datom-cv1 kind tag of every column of ``schema``, in column order.

    Kinds are ``"num"``, ``"chr"``, ``"date"``, ``"time"``, ``"drtn"`` and ``"i64"``. An Int64 column is
    ``"i64"`` when ``int64_needs_i64[name]`` is true (some non-null value has ``abs(v) > 2**31 - 1``) and
    ``"num"`` otherwise; every Int64 column must be in the mapping. If any column is unsupported, one
    :class:`UnsupportedDataError` names all of them (with their dtypes and remedies).
    """
    kinds = pending_kinds(schema)
    missing = [f.name for f, k in zip(schema, kinds, strict=True) if k == KIND_INT64 and f.name not in int64_needs_i64]
    if missing:
        raise InvalidArgumentError(
            f"int64_needs_i64 has no entry for the Int64 column(s) {', '.join(map(repr, missing))}",
            hint="pass, for every Int64 column, whether some value has abs(v) > 2**31 - 1",
        )
    return [
        (KIND_I64 if int64_needs_i64[f.name] else KIND_NUM) if k == KIND_INT64 else k
        for f, k in zip(schema, kinds, strict=True)
    ]


def int64_needs_i64(minimum: int | None, maximum: int | None) -> bool:
    """Return True if an Int64 column with these min/max (None: all null) must be hashed as ``i64``."""
    if minimum is None or maximum is None:
        return False
    return minimum < -INT32_MAX or maximum > INT32_MAX


def check_dims(nrow: int, ncol: int) -> None:
    if nrow < 1 or ncol < 1:
        raise UnsupportedDataError(
            f"cannot hash a table with {nrow} row(s) and {ncol} column(s)",
            hint="datom-cv1 needs at least one row and one column",
        )


def check_hashable(data: pa.Table | pa.RecordBatch | pa.Schema, *, allow_empty: bool = False) -> None:
    """Raise :class:`UnsupportedDataError` unless ``data`` can be hashed, without hashing anything.

    Checks, in this order, that there is at least one row and one column (skipped with
    ``allow_empty=True``; only columns are counted for a bare schema) and that every column has a
    supported dtype (one error naming every offender, with remedies).
    """
    schema = data if isinstance(data, pa.Schema) else data.schema
    if not allow_empty:
        check_dims(1 if isinstance(data, pa.Schema) else data.num_rows, len(schema))
    pending_kinds(schema)


def raise_for_polars_unexportable(frame: Any, bad: Sequence[tuple[str, str]]) -> None:
    """Raise the single unsupported-columns error for a Polars DataFrame with Object/Int128 columns.

    ``bad`` are the ``(name, dtype)`` of the columns Arrow cannot take; the schema of the other
    columns is converted and classified too, so that every unsupported column is named, in order.
    """
    problems = {name: Problem(name, dtype, "object" if dtype.startswith("Object") else "int128") for name, dtype in bad}
    rest: pa.Table = frame.drop(list(problems)).head(0).to_arrow()
    problems.update((p.name, p) for p in problems_of(rest.schema))
    raise_unsupported([problems[name] for name in frame.columns if name in problems])


__all__ = [
    "INT32_MAX",
    "KINDS",
    "KIND_CHR",
    "KIND_DATE",
    "KIND_DRTN",
    "KIND_I64",
    "KIND_INT64",
    "KIND_NUM",
    "KIND_TIME",
    "check_dims",
    "check_hashable",
    "classify_columns",
    "int64_needs_i64",
    "kind_of_type",
    "pending_kinds",
    "raise_for_polars_unexportable",
]
