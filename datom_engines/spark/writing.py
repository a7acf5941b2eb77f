"""Writing a Spark DataFrame as one datom version without collecting it on the driver.

The format needs one parquet object per version, with the rows in order, and its hash. The executors
turn each partition into compressed Arrow IPC blobs (``mapInArrow``, in parallel); the driver takes
the partitions in order (``toLocalIterator``, one partition ahead) and streams their batches into the
core write path, which writes the parquet file and hashes it batch by batch as it goes. The driver
holds at most the blobs of two partitions (on the JVM side, as ``toLocalIterator`` does) plus one
row group being written, never the table; file scans in the plan are split at 32 MiB while the write
runs (row-group boundaries, file order) so that a partition stays small.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession

from .. import api
from ..core.codecs import Compression
from ..core.names import TableRef
from ..errors import InvalidArgumentError
from ..progress import Progress
from ..project.results import WriteResult
from .lineage import lineage_of
from .types import write_schema

#: Rows per IPC blob sent from an executor to the driver (a blob is lz4-compressed).
BLOB_ROWS = 256 * 1024
#: Largest file split the scans of a written DataFrame are planned with (``spark.sql.files.maxPartitionBytes``).
SPLIT_BYTES = 32 << 20
_BLOB_SCHEMA = "ipc binary"

Encoder = Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]


def _blob(batches: list[pa.RecordBatch], schema: pa.Schema) -> pa.RecordBatch:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema, options=pa.ipc.IpcWriteOptions(compression="lz4")) as writer:
        for batch in batches:
            writer.write_batch(batch)
    data = sink.getvalue()
    offsets = pa.py_buffer(np.array([0, data.size], dtype=np.int32).tobytes())
    blob = pa.Array.from_buffers(pa.binary(), 1, [None, offsets, data])  # one value, no copy
    return pa.RecordBatch.from_arrays([blob], names=["ipc"])


def encoder(schema: pa.Schema, rows_per_blob: int = BLOB_ROWS) -> Encoder:
    """The executor-side function: a partition's batches, conformed to ``schema``, as IPC blobs."""

    def encode(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        pending: list[pa.RecordBatch] = []
        rows = 0
        for batch in batches:
            if not batch.num_rows:
                continue
            # the same values, labelled as the schema says (timestamps in UTC)
            pending.append(
                pa.RecordBatch.from_arrays(
                    [col.cast(f.type) for col, f in zip(batch.columns, schema, strict=True)], schema=schema
                )
            )
            rows += batch.num_rows
            if rows >= rows_per_blob:
                yield _blob(pending, schema)
                pending, rows = [], 0
        if pending:
            yield _blob(pending, schema)

    return encode


@contextmanager
def _small_file_splits(spark: SparkSession) -> Iterator[None]:
    """Plan file scans in splits of at most :data:`SPLIT_BYTES` while the write runs.

    ``toLocalIterator`` brings a whole partition to the driver at a time; a parquet file is split at
    row-group boundaries, in file order, so smaller splits bound what the driver holds without
    changing the rows' order.
    """
    key = "spark.sql.files.maxPartitionBytes"
    before = spark.conf.get(key, None)
    try:
        current = int(str(before).lower().removesuffix("b")) if before and str(before).strip().isdigit() else None
    except ValueError:
        current = None
    if current is not None and current <= SPLIT_BYTES:
        yield
        return
    spark.conf.set(key, str(SPLIT_BYTES))
    try:
        yield
    finally:
        if before is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, before)


def stream(df: DataFrame, schema: pa.Schema, *, rows_per_blob: int = BLOB_ROWS) -> pa.RecordBatchReader:
    """The rows of ``df``, partition after partition in order, as a stream of Arrow batches."""
    encoded = df.mapInArrow(encoder(schema, rows_per_blob), _BLOB_SCHEMA)

    def batches() -> Iterator[pa.RecordBatch]:
        with _small_file_splits(df.sparkSession):
            rows = encoded.toLocalIterator(prefetchPartitions=True)  # planned now, with the small splits
            for row in rows:
                with pa.ipc.open_stream(pa.py_buffer(row[0])) as reader:
                    yield from reader

    return pa.RecordBatchReader.from_batches(schema, batches())


def write(
    df: DataFrame,
    ref: str | TableRef,
    *,
    message: str | None = None,
    custom: Mapping[str, Any] | None = None,
    parents: Sequence[Mapping[str, Any]] | None = None,
    progress: Progress | None = None,
    compression: Compression = None,
) -> WriteResult:
    """Write a Spark DataFrame as a new version of ``"project.table"`` (the project must be a clone
    opened in this driver).

    The rows are written in the DataFrame's order (partition after partition): add ``orderBy`` after
    joins, aggregations or ``distinct``, whose order Spark does not fix, or every run makes a new
    version. ``parents`` defaults to the datom versions the plan reads (``parents=[]`` records none).
    Columns datom-cv1 cannot hash are refused before any Spark job runs. ``compression`` picks the
    parquet codecs (see :meth:`Project.write`).
    """
    if not isinstance(df, DataFrame):
        raise InvalidArgumentError(
            f"expected a Spark DataFrame, got {type(df).__module__}.{type(df).__qualname__}",
            hint="pass a pyspark.sql.DataFrame (for other frames use datom_engines.write)",
        )
    target = api.table_ref(ref)
    schema = write_schema(df.schema)
    if parents is None:
        parents = lineage_of(df) or None
    return api.write(
        stream(df, schema),
        target,
        message=message,
        custom=custom,
        parents=parents,
        progress=progress,
        compression=compression,
    )
