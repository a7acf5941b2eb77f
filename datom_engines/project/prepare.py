"""Turn a user's frame into what a write needs: its datom-cv1 digest and a parquet file with its SHA-256.

Eager frames are hashed and serialised at the same time on two threads (hashlib, numpy and the
parquet writer all release the GIL). A Polars LazyFrame, or a pyarrow ``RecordBatchReader`` (what
DuckDB and other engines stream), is written to parquet without being collected and then hashed from
the file in batches, so tables larger than memory can be written.
"""

from __future__ import annotations

import hashlib
import io
import os
import queue
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..core import cv1
from ..core.frames import check_column_names, is_lazy, to_arrow
from ..progress import Progress, stage
from ..storage.integrity import sha256_file

ROW_GROUP_SIZE = 1_000_000
COMPRESSION = "zstd"


@dataclass(frozen=True, slots=True)
class PreparedData:
    """A frame ready to be written: its digest and a local parquet file."""

    digest: cv1.Cv1Digest
    path: str
    parquet_sha: str
    size: int
    colnames: tuple[str, ...]


class _HashingWriter(io.RawIOBase):
    """A write-only file that also hashes what passes through it, on a helper thread.

    The parquet writer runs on one core; hashing its output there would add to the wall time, so each
    chunk is handed (as a copy, which is far cheaper than SHA-256) to a thread that hashes in parallel.
    """

    def __init__(self, fh: io.BufferedWriter) -> None:
        super().__init__()
        self._fh = fh
        self._sha = hashlib.sha256()
        self.size = 0
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=64)
        self._thread = threading.Thread(target=self._hash_loop, name="datom-parquet-sha", daemon=True)
        self._thread.start()

    def _hash_loop(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._sha.update(chunk)

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:  # type: ignore[override]
        view = memoryview(b)
        self._fh.write(view)
        self._queue.put(view.tobytes())
        self.size += view.nbytes
        return view.nbytes

    def hexdigest(self) -> str:
        """Finish hashing and return the SHA-256 of everything written."""
        self._queue.put(None)
        self._thread.join()
        return self._sha.hexdigest()


def write_parquet(data: pa.Table | pa.RecordBatchReader, path: str) -> tuple[str, int]:
    """Write a table or a stream of batches as parquet (zstd, ~1M-row groups); return ``(sha256, size)``.

    A stream is buffered up to one row group at a time, so memory stays bounded by the row-group size
    whatever batch sizes the source yields.
    """
    with open(path, "wb") as raw:
        sink = _HashingWriter(raw)
        try:
            if isinstance(data, pa.Table):
                pq.write_table(data, sink, compression=COMPRESSION, row_group_size=ROW_GROUP_SIZE)
            else:
                _write_stream(data, sink)
        finally:
            digest = sink.hexdigest()
    return digest, sink.size


def _write_stream(reader: pa.RecordBatchReader, sink: _HashingWriter) -> None:
    with pq.ParquetWriter(sink, reader.schema, compression=COMPRESSION) as writer:
        pending: list[pa.RecordBatch] = []
        rows = 0
        for batch in reader:
            pending.append(batch)
            rows += batch.num_rows
            if rows >= ROW_GROUP_SIZE:
                buffered = pa.Table.from_batches(pending, reader.schema)
                full = rows - rows % ROW_GROUP_SIZE
                writer.write_table(buffered.slice(0, full), row_group_size=ROW_GROUP_SIZE)
                pending = buffered.slice(full).to_batches()
                rows -= full
        if rows:
            writer.write_table(pa.Table.from_batches(pending, reader.schema), row_group_size=ROW_GROUP_SIZE)


def prepare(data: Any, workdir: str | None = None, progress: Progress | None = None) -> PreparedData:
    """Hash and serialise ``data`` into a parquet file in ``workdir`` (a temp dir by default).

    Nothing is written when the frame is empty or has unsupported columns: those errors are raised
    before the parquet file is started.
    """
    workdir = workdir or tempfile.mkdtemp(prefix="datom-write-")
    path = os.path.join(workdir, "data.parquet")
    if is_lazy(data):
        return _prepare_lazy(data, path, progress)
    if isinstance(data, pa.RecordBatchReader):
        return _prepare_stream(data, path, progress)
    table = to_arrow(data)
    check_column_names(table.column_names)
    cv1.check_hashable(table)
    with stage(progress, "hash", table.nbytes), ThreadPoolExecutor(2, thread_name_prefix="datom-prepare") as pool:
        # the parquet writer is single-threaded: leave it a core of its own
        hashing = pool.submit(cv1.hash_table, table, threads=max(1, (os.cpu_count() or 2) - 1))
        writing = pool.submit(write_parquet, table, path)
        digest = hashing.result()
        parquet_sha, size = writing.result()
    return PreparedData(digest, path, parquet_sha, size, tuple(table.column_names))


def _prepare_lazy(lf: Any, path: str, progress: Progress | None) -> PreparedData:
    """Stream a LazyFrame to parquet, then hash it from the file (two passes when there are strings)."""
    import polars as pl

    schema = lf.collect_schema()
    check_column_names(list(schema.names()))
    # the dtypes come from the schema alone: nothing of the plan is executed before the sink
    cv1.check_hashable(to_arrow(pl.DataFrame(schema=schema)), allow_empty=True)
    with stage(progress, "write", None):
        lf.sink_parquet(path, compression=COMPRESSION, row_group_size=ROW_GROUP_SIZE)
    with stage(progress, "hash", os.path.getsize(path)):
        digest = cv1.hash_parquet(path)
    return PreparedData(digest, path, sha256_file(path), os.path.getsize(path), tuple(schema.names()))


def _prepare_stream(reader: pa.RecordBatchReader, path: str, progress: Progress | None) -> PreparedData:
    """Write a stream of record batches to parquet, then hash it from the file (like a LazyFrame)."""
    schema = reader.schema
    check_column_names(list(schema.names))
    cv1.check_hashable(schema)
    with stage(progress, "write", None):
        parquet_sha, size = write_parquet(reader, path)
    with stage(progress, "hash", size):
        digest = cv1.hash_parquet(path)
    return PreparedData(digest, path, parquet_sha, size, tuple(schema.names))
