"""Turn a user's frame into what a write needs: its datom-cv1 digest and a parquet file with its SHA-256.

Eager frames are hashed and serialised at the same time on two threads (hashlib, numpy and the
parquet writer all release the GIL). A Polars LazyFrame is sunk to parquet by Polars and then hashed
from the file in batches. A pyarrow ``RecordBatchReader`` (what DuckDB, Spark and Dask writes stream)
is hashed batch by batch as it is written, so only its string columns are read back. Neither is ever
collected in memory, so tables larger than memory can be written.

The parquet layout (an encoding and a codec per column) is chosen by :mod:`.layout` from a sample of
the rows (for a stream: of its first row group), unless ``compression=`` names a codec. A LazyFrame is
written by Polars' own streaming sink, which takes one codec for the whole file: ``auto`` means ZSTD
there, and a per-column mapping is refused.
"""

from __future__ import annotations

import hashlib
import io
import os
import queue
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..core import cv1
from ..core.codecs import AUTO, Compression, normalize_compression
from ..core.frames import check_column_names, is_lazy, to_arrow
from ..errors import InvalidArgumentError
from ..progress import Progress, stage
from ..storage import fastcheck
from ..storage.integrity import sha256_file
from .layout import ROW_GROUP_SIZE, ParquetLayout, choose_layout

LAZY_DEFAULT_CODEC = "zstd"
IN_MEMORY_BYTES = 8 * 2**20
"""Tables up to this size (in memory) are hashed and serialised on the calling thread, the parquet in
memory first: starting threads and streaming through a hashing file would cost more than the work."""


@dataclass(frozen=True, slots=True)
class PreparedData:
    """A frame ready to be written: its digest and a local parquet file."""

    digest: cv1.Cv1Digest
    path: str
    parquet_sha: str
    size: int
    colnames: tuple[str, ...]
    blake3: str | None = None  # the second hash of the file (storage/fastcheck.py), for large files


class _HashingWriter(io.RawIOBase):
    """A write-only file that also hashes what passes through it, on a helper thread.

    The parquet writer runs on one core; hashing its output there would add to the wall time, so each
    chunk is handed (as a copy, which is far cheaper than SHA-256) to a thread that hashes in parallel.
    """

    def __init__(self, fh: io.BufferedWriter) -> None:
        super().__init__()
        self._fh = fh
        self._sha = hashlib.sha256()
        self._fast = fastcheck.new_hasher()  # a second hash of the same bytes, checkable on every core
        self.size = 0
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=64)
        self._thread = threading.Thread(target=self._hash_loop, name="datom-parquet-sha", daemon=True)
        self._thread.start()

    def _hash_loop(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._sha.update(chunk)
            self._fast.update(chunk)

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

    def fast_digest(self) -> str | None:
        """The BLAKE3 of everything written (after :meth:`hexdigest`), None for a small file."""
        return str(self._fast.hexdigest()) if self.size >= fastcheck.MIN_SIZE else None


def write_parquet(
    data: pa.Table | pa.RecordBatchReader, path: str, compression: Compression = None
) -> tuple[str, int, str | None]:
    """Write a table or a stream of batches as parquet (a layout per column, ~1M-row groups); return
    ``(sha256, size, blake3)`` (BLAKE3 only for a file of at least ``fastcheck.MIN_SIZE`` bytes).

    A stream is buffered up to one row group at a time, so memory stays bounded by the row-group size
    whatever batch sizes the source yields; its layout is chosen from its first row group.
    """
    if isinstance(data, pa.Table) and data.nbytes <= IN_MEMORY_BYTES:
        buf = pa.BufferOutputStream()  # a small table: serialise in memory, hash the bytes, write them once
        pq.write_table(data, buf, row_group_size=ROW_GROUP_SIZE, **choose_layout(data, compression).writer_options())
        body = buf.getvalue()
        with open(path, "wb") as fh:
            fh.write(body)
        return hashlib.sha256(body).hexdigest(), body.size, None
    with open(path, "wb") as raw:
        sink = _HashingWriter(raw)
        try:
            if isinstance(data, pa.Table):
                options = choose_layout(data, compression).writer_options()
                pq.write_table(data, sink, row_group_size=ROW_GROUP_SIZE, **options)
            else:
                _write_stream(data, sink, compression)
        finally:
            digest = sink.hexdigest()
    return digest, sink.size, sink.fast_digest()


def _write_stream(reader: pa.RecordBatchReader, sink: _HashingWriter, compression: Compression) -> None:
    writer: pq.ParquetWriter | None = None

    def open_writer(first: pa.Table) -> pq.ParquetWriter:
        layout: ParquetLayout = choose_layout(first, compression)
        return pq.ParquetWriter(sink, reader.schema, **layout.writer_options())

    def emit(table: pa.Table) -> None:
        nonlocal writer
        writer = writer or open_writer(table)
        writer.write_table(table, row_group_size=ROW_GROUP_SIZE)

    try:
        pending: list[pa.RecordBatch] = []
        rows = 0
        for batch in reader:
            pending.append(batch)
            rows += batch.num_rows
            if rows >= ROW_GROUP_SIZE:
                buffered = pa.Table.from_batches(pending, reader.schema)
                full = rows - rows % ROW_GROUP_SIZE
                emit(buffered.slice(0, full))
                pending = buffered.slice(full).to_batches()
                rows -= full
        if rows:
            emit(pa.Table.from_batches(pending, reader.schema))
        elif writer is None:  # an empty stream: a file with the schema and no row group
            writer = open_writer(reader.schema.empty_table())
    finally:
        if writer is not None:
            writer.close()


def prepare(
    data: Any, workdir: str | None = None, progress: Progress | None = None, compression: Compression = None
) -> PreparedData:
    """Hash and serialise ``data`` into a parquet file in ``workdir`` (a temp dir by default).

    ``compression`` is ``None``/``"auto"`` (a codec per column, measured), one codec name for every
    column, or ``{column: codec}`` (see :mod:`.layout`). Nothing is written when the frame is empty,
    has unsupported columns or a bad ``compression``: those errors are raised before the parquet file
    is started. The choice never changes ``data_sha``.
    """
    setting = normalize_compression(compression)
    workdir = workdir or tempfile.mkdtemp(prefix="datom-write-")
    path = os.path.join(workdir, "data.parquet")
    if is_lazy(data):
        return _prepare_lazy(data, path, progress, setting)
    if isinstance(data, pa.RecordBatchReader):
        return _prepare_stream(data, path, progress, setting)
    table = to_arrow(data)
    check_column_names(table.column_names)
    cv1.check_hashable(table)
    choose_layout(table.slice(0, 0), setting)  # a mapping naming unknown columns fails before any work
    if table.nbytes <= IN_MEMORY_BYTES:  # threads cost more than they save on a small table
        with stage(progress, "hash", table.nbytes):
            digest = cv1.hash_table(table, threads=1)
            parquet_sha, size, fast = write_parquet(table, path, setting)
        return PreparedData(digest, path, parquet_sha, size, tuple(table.column_names), fast)
    with stage(progress, "hash", table.nbytes), ThreadPoolExecutor(2, thread_name_prefix="datom-prepare") as pool:
        # the parquet writer is single-threaded: leave it a core of its own
        hashing = pool.submit(cv1.hash_table, table, threads=max(1, (os.cpu_count() or 2) - 1))
        writing = pool.submit(write_parquet, table, path, setting)
        digest = hashing.result()
        parquet_sha, size, fast = writing.result()
    return PreparedData(digest, path, parquet_sha, size, tuple(table.column_names), fast)


def _prepare_lazy(lf: Any, path: str, progress: Progress | None, setting: str | dict[str, str]) -> PreparedData:
    """Stream a LazyFrame to parquet, then hash it from the file (two passes when there are strings)."""
    import polars as pl

    if isinstance(setting, dict):
        raise InvalidArgumentError(
            "a LazyFrame is written by Polars' streaming parquet sink, which takes one codec for the whole file",
            hint="pass one codec name, or collect the frame first to set codecs per column",
        )
    schema = lf.collect_schema()
    check_column_names(list(schema.names()))
    # the dtypes come from the schema alone: nothing of the plan is executed before the sink
    cv1.check_hashable(to_arrow(pl.DataFrame(schema=schema)), allow_empty=True)
    codec = LAZY_DEFAULT_CODEC if setting == AUTO else ("uncompressed" if setting == "none" else setting)
    with stage(progress, "write", None):
        lf.sink_parquet(path, compression=codec, row_group_size=ROW_GROUP_SIZE)
    size = os.path.getsize(path)
    with stage(progress, "hash", size):
        digest = cv1.hash_parquet(path)
    fast = fastcheck.file_digest(path) if size >= fastcheck.MIN_SIZE else None
    return PreparedData(digest, path, sha256_file(path), size, tuple(schema.names()), fast)


def _prepare_stream(
    reader: pa.RecordBatchReader, path: str, progress: Progress | None, setting: str | dict[str, str]
) -> PreparedData:
    """Write a stream of record batches to parquet, hashing each batch as it passes (see ``StreamHasher``).

    The datom-cv1 digest of every column except the string bytes is computed while the stream is
    written; string columns (and Int64 columns whose values turn out to need ``i64``) are then read
    back from the file just written, only those columns. Memory stays bounded by a row group.
    """
    schema = reader.schema
    check_column_names(list(schema.names))
    cv1.check_hashable(schema)
    choose_layout(schema.empty_table(), setting)  # a mapping naming unknown columns fails before any work
    with cv1.StreamHasher(schema) as hasher:

        def hashed() -> Iterator[pa.RecordBatch]:
            for batch in reader:
                if batch.num_rows:
                    hasher.update(batch)
                    yield batch

        with stage(progress, "write", None):
            parquet_sha, size, fast = write_parquet(pa.RecordBatchReader.from_batches(schema, hashed()), path, setting)
        with stage(progress, "hash", size):
            digest = hasher.finish(lambda columns: _reread(path, columns))
    return PreparedData(digest, path, parquet_sha, size, tuple(schema.names), fast)


def _reread(path: str, columns: list[str]) -> Iterator[pa.RecordBatch]:
    with pq.ParquetFile(path) as pf:
        yield from pf.iter_batches(columns=columns, batch_size=cv1.parquet_batch_size(pf))
