"""Comparing what an engine returns with what ``datom_engines.read`` returns, value for value.

Engines type some columns differently from the stored Arrow type (DuckDB and Spark have no large or
dictionary strings, no zone names per column, ...): ``engine_type(stored)`` says what the engine
returns for a stored type (None: the same type). The values are then compared after casting back,
floats as bit patterns so NaN, -0.0 and null compare exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

EngineType = Callable[[pa.DataType], pa.DataType | None]


def bits(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Floats as their bit patterns, so NaN, -0.0 and null compare exactly."""
    if pa.types.is_float64(column.type):
        return pa.chunked_array([c.view(pa.int64()) for c in column.chunks], pa.int64())
    if pa.types.is_float32(column.type):
        return pa.chunked_array([c.view(pa.int32()) for c in column.chunks], pa.int32())
    return column


def assert_same_values(got: pa.Table, expected: pa.Table, engine_type: EngineType) -> None:
    """``got`` (from an engine) holds exactly the values of ``expected`` (from datom_engines.read)."""
    assert got.column_names == expected.column_names
    assert got.num_rows == expected.num_rows
    for name in expected.column_names:
        want, have = expected.column(name), got.column(name)
        assert have.type == (engine_type(want.type) or want.type), name
        if pa.types.is_duration(want.type):
            have = have.cast(want.type)
        elif pa.types.is_dictionary(want.type):
            want = want.cast(want.type.value_type)
        have = have.cast(want.type)
        assert have.null_count == want.null_count, name
        assert bits(have).equals(bits(want)), name
