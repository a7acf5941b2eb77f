"""How the columns of a stored version map onto Spark types, and Spark frames onto Arrow for writing.

Reading: every datom-cv1 dtype Spark can hold exactly gets a Spark type (one mapping for the native
parquet scan and the Python data source, so both give the same frame):

==========================================  ========================================================
stored (Arrow)                              Spark
==========================================  ========================================================
Boolean, Int8/16/32/64, Float32/64          boolean, tinyint, smallint, int, bigint, float, double
UInt8, UInt16, UInt32                       smallint, int, bigint (the next wider signed type)
UInt64                                      decimal(20,0)
String, Categorical, Enum                   string
Date                                        date
Datetime ms/us, no time zone                timestamp_ntz
Datetime ms/us with a time zone             timestamp (an instant; Spark shows it in the session zone)
Duration s/ms/us                            interval day to second
Time                                        time(p) (needs ``spark.sql.timeType.enabled``)
Null                                        void
==========================================  ========================================================

Spark keeps microseconds, so nanosecond Datetime and Duration columns cannot be held exactly: they
are refused (all of them named in one error) rather than truncated.

Writing: a Spark schema becomes the Arrow schema Spark's own Arrow conversion produces, with
timestamps labelled UTC (a Spark ``timestamp`` is an instant; the session time zone is a display
setting). Types datom-cv1 cannot hash (decimal, binary, arrays, maps, structs, year-month intervals)
are refused before any job runs, with a hint to cast them in Spark.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from ..core.kinds import check_hashable
from ..errors import UnsupportedDataError

#: Spark conf that enables the TIME type (Spark 4.1+).
TIME_TYPE_CONF = "spark.sql.timeType.enabled"

_TIME_PRECISION = {"s": 0, "ms": 3, "us": 6, "ns": 9}


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """How one stored column is read into Spark.

    ``spark_type`` is the column's type in the DataFrame; ``scan_type`` the type the native parquet
    reader is asked for (it differs for durations, whose parquet column is a plain INT64: a count of
    microseconds is read as an interval directly, other units as bigint then scaled by ``scale_us``).
    """

    name: str
    stored: pa.DataType
    spark_type: T.DataType
    scan_type: T.DataType
    scale_us: int | None = None


@dataclass(frozen=True, slots=True)
class _Refusal:
    name: str
    stored: pa.DataType
    why: str


def _plan(field: pa.Field, time_enabled: bool) -> ColumnPlan | _Refusal:
    t = field.type
    name = field.name
    if pa.types.is_dictionary(t):
        t = t.value_type
    simple: T.DataType | None = None
    if pa.types.is_boolean(t):
        simple = T.BooleanType()
    elif pa.types.is_int8(t):
        simple = T.ByteType()
    elif pa.types.is_int16(t) or pa.types.is_uint8(t):
        simple = T.ShortType()
    elif pa.types.is_int32(t) or pa.types.is_uint16(t):
        simple = T.IntegerType()
    elif pa.types.is_int64(t) or pa.types.is_uint32(t):
        simple = T.LongType()
    elif pa.types.is_uint64(t):
        simple = T.DecimalType(20, 0)
    elif pa.types.is_float32(t):
        simple = T.FloatType()
    elif pa.types.is_float64(t):
        simple = T.DoubleType()
    elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        simple = T.StringType()
    elif pa.types.is_date(t):
        simple = T.DateType()
    elif pa.types.is_null(t):
        simple = T.NullType()
    if simple is not None:
        return ColumnPlan(name, field.type, simple, simple)
    if pa.types.is_timestamp(t):
        if t.unit == "ns":
            return _Refusal(name, field.type, "nanosecond timestamps (Spark holds microseconds)")
        spark: T.DataType = T.TimestampType() if t.tz else T.TimestampNTZType()
        return ColumnPlan(name, field.type, spark, spark)
    if pa.types.is_duration(t):
        if t.unit == "ns":
            return _Refusal(name, field.type, "nanosecond durations (Spark holds microseconds)")
        interval = T.DayTimeIntervalType(T.DayTimeIntervalType.DAY, T.DayTimeIntervalType.SECOND)
        if t.unit == "us":
            return ColumnPlan(name, field.type, interval, interval)
        return ColumnPlan(name, field.type, interval, T.LongType(), scale_us=10 ** (6 - _TIME_PRECISION[t.unit]))
    if pa.types.is_time(t):
        if not time_enabled:
            return _Refusal(
                name, field.type, f"time of day (enable it with spark.conf.set('{TIME_TYPE_CONF}', 'true'))"
            )
        time_type = T.TimeType(_TIME_PRECISION[t.unit])
        return ColumnPlan(name, field.type, time_type, time_type)
    return _Refusal(name, field.type, "a type this adapter does not read")


def plan_columns(schema: pa.Schema, *, time_enabled: bool, table: str = "the table") -> list[ColumnPlan]:
    """The Spark plan of every column, or one :class:`UnsupportedDataError` naming every column Spark cannot hold."""
    plans = [_plan(field, time_enabled) for field in schema]
    refused = [p for p in plans if isinstance(p, _Refusal)]
    if refused:
        shown = "; ".join(f"{r.name!r} ({r.stored}): {r.why}" for r in refused)
        names = ", ".join(repr(r.name) for r in refused)
        raise UnsupportedDataError(
            f"Spark cannot hold {len(refused)} column(s) of {table} exactly: {shown}",
            hint=f"read the other columns with columns=[...] (leaving out {names}), read this version with "
            "Polars or DuckDB, or write the table again with microsecond precision "
            "(e.g. pl.col(c).dt.cast_time_unit('us'))",
        )
    return [p for p in plans if isinstance(p, ColumnPlan)]


def spark_schema(plans: list[ColumnPlan], *, scan: bool = False) -> T.StructType:
    """The Spark schema of the DataFrame (or, with ``scan``, the one to ask the parquet reader for)."""
    return T.StructType([T.StructField(p.name, p.scan_type if scan else p.spark_type, True) for p in plans])


def arrow_target(schema: T.StructType) -> pa.Schema:
    """The exact Arrow schema Spark expects from a Python data source for ``schema`` (timestamps in UTC)."""
    return to_arrow_schema(schema, timezone="UTC")


# ----- writing -------------------------------------------------------------------------------------
_SPARK_CASTS = (
    "cast them in Spark first: decimals to double or string (F.col(c).cast('double')), binary to a hex "
    "string (F.hex(c)), arrays, maps and structs to JSON strings (F.to_json(c)), year-month intervals to "
    "an integer count of months"
)


def write_schema(schema: T.StructType) -> pa.Schema:
    """The Arrow schema a Spark DataFrame is written with; refuses columns datom-cv1 cannot hash."""
    for field in schema.fields:
        if isinstance(field.dataType, T.YearMonthIntervalType | T.CalendarIntervalType | T.VariantType):
            raise UnsupportedDataError(
                f"column {field.name!r} ({field.dataType.simpleString()}) cannot be hashed", hint=_SPARK_CASTS
            )
    try:
        arrow = to_arrow_schema(schema, timezone="UTC", error_on_duplicated_field_names_in_struct=True)
    except Exception as exc:  # pyspark refuses types it has no Arrow form for
        raise UnsupportedDataError(f"the DataFrame's schema has no Arrow form: {exc}", hint=_SPARK_CASTS) from None
    try:
        check_hashable(arrow, allow_empty=True)
    except UnsupportedDataError as exc:
        raise UnsupportedDataError(exc.message, hint=f"{exc.hint}; in Spark, {_SPARK_CASTS}") from None
    return arrow
