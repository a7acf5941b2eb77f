"""The datom-cv1 content hash (``data_sha``) of Arrow / Polars / pandas tables.

The encoding is defined in ``reference-format.md`` section 2.1 and its Arrow mapping in
``cv1-python.md``. In short, every column is classified into a *kind* (``num``, ``chr``, ``date``,
``time``, ``drtn``, ``i64``), its values are encoded into a byte *payload*, and

* column digest = ``sha256(kind ‖ name_utf8 ‖ 0x00 ‖ payload)`` (lowercase hex);
* ``data_sha`` = ``sha256("datom-cv1" ‖ f64le(nrow) ‖ f64le(ncol) ‖ hex_1 ‖ hex_2 ‖ …)``.

Everything here is vectorised (numpy and Arrow compute, no per-row Python) and columns are hashed
concurrently in threads (hashlib, numpy and Arrow release the GIL). Columns are processed in pieces
of a few megabytes, so the extra memory stays bounded whatever the table size.
"""

from __future__ import annotations

import hashlib
import os
import struct
import threading
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import InvalidArgumentError
from .frames import is_lazy, is_polars, to_arrow
from .kinds import (
    KIND_CHR,
    KIND_DRTN,
    KIND_I64,
    KIND_INT64,
    KIND_NUM,
    KINDS,
    check_dims,
    check_hashable,
    classify_columns,
    int64_needs_i64,
    pending_kinds,
)

HASH_ALGO = "datom-cv1"

NA_BITS = 0x7FF00000000007A2  # R's NA_real_: bytes a2 07 00 00 00 00 f0 7f
NAN_BITS = 0x7FF8000000000000  # canonical quiet NaN: bytes 00 00 00 00 00 00 f8 7f
INT64_NA = -(2**63)  # bit64's NA_integer64_
SECS_SUFFIX = b"\x00secs"

# Size of the pieces a column is cut into (input bytes); keeps temporaries small and cache-friendly.
PIECE_BYTES = 8 << 20
# Below this estimated size a table is hashed on the calling thread (threads would cost more).
SMALL_TABLE_BYTES = 1 << 20
# Target size of a record batch when streaming a parquet file.
BATCH_BYTES = 16 << 20

_ZEROS = bytes(1 << 20)
_UNIT_DIGITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}
_DAY_MS = 86_400_000.0
_NUL = pa.scalar("\x00", pa.large_string())
_EMPTY = pa.scalar("", pa.large_string())


# --------------------------------------------------------------------------------------------------
# Result type


@dataclass(frozen=True, slots=True)
class Cv1Digest:
    """The datom-cv1 identity of a table: ``data_sha``, per-column digests and dimensions."""

    data_sha: str
    column_hashes: tuple[tuple[str, str], ...]
    nrow: int
    ncol: int

    def column_hashes_json(self) -> list[dict[str, str]]:
        """Return the column digests as stored in ``metadata.json``: ``[{"name": ..., "sha": ...}]``."""
        return [{"name": name, "sha": sha} for name, sha in self.column_hashes]


def _column_needs_i64(column: pa.Array | pa.ChunkedArray) -> bool:
    """Decide the ``i64`` rule for an Int64 column from its values."""
    minmax = pc.min_max(column)
    return int64_needs_i64(minmax["min"].as_py(), minmax["max"].as_py())


# --------------------------------------------------------------------------------------------------
# Arrow buffers -> numpy


def _bits(buf: pa.Buffer, offset: int, length: int) -> np.ndarray:
    """Unpack ``length`` bits of a little-endian bitmap starting at bit ``offset`` into uint8 0/1."""
    packed = np.frombuffer(buf, dtype=np.uint8)
    return np.unpackbits(packed, count=offset + length, bitorder="little")[offset:]


def _null_mask(arr: pa.Array) -> np.ndarray | None:
    """Return a uint8 array (1 = null, 0 = present) from the validity bitmap, or None if no nulls."""
    if arr.null_count == 0:
        return None
    if pa.types.is_null(arr.type):
        return np.ones(len(arr), dtype=np.uint8)
    validity = arr.buffers()[0]
    if validity is None:  # pragma: no cover - every null-bearing array we accept has a bitmap
        return np.asarray(arr.is_null(), dtype=np.uint8)
    mask = _bits(validity, arr.offset, len(arr))
    np.bitwise_xor(mask, 1, out=mask)
    return mask


def _values(arr: pa.Array, dtype: type[np.generic]) -> np.ndarray:
    """Zero-copy numpy view of the fixed-width values of ``arr`` (slice offset applied)."""
    itemsize = np.dtype(dtype).itemsize
    return np.frombuffer(arr.buffers()[1], dtype=dtype, count=len(arr), offset=arr.offset * itemsize)


def _as_float64(arr: pa.Array) -> np.ndarray:
    """Return the values of a num-like array as a fresh float64 array (garbage under nulls)."""
    t = arr.type
    if pa.types.is_float64(t):
        with np.errstate(all="ignore"):  # signalling NaNs
            return _values(arr, np.float64) + 0.0  # the copy also turns -0.0 into +0.0
    if pa.types.is_float32(t):
        out = _values(arr, np.float32).astype(np.float64)
        with np.errstate(all="ignore"):
            out += 0.0
        return out
    if pa.types.is_boolean(t):
        return _bits(arr.buffers()[1], arr.offset, len(arr)).astype(np.float64)
    if pa.types.is_integer(t):
        return _values(arr, t.to_pandas_dtype()).astype(np.float64)
    if pa.types.is_date32(t):
        return _values(arr, np.int32).astype(np.float64)
    if pa.types.is_date64(t):
        return _scaled(_values(arr, np.int64), _DAY_MS)
    if pa.types.is_time32(t):
        return _scaled(_values(arr, np.int32), 10.0 ** _UNIT_DIGITS[t.unit])
    if pa.types.is_timestamp(t) or pa.types.is_duration(t) or pa.types.is_time64(t):
        return _scaled(_values(arr, np.int64), 10.0 ** _UNIT_DIGITS[t.unit])
    raise AssertionError(f"not a num-like type: {t}")  # pragma: no cover - classification guards


def _scaled(ints: np.ndarray, divisor: float) -> np.ndarray:
    """``float64(int_value) / divisor`` (divide after converting, as the spec says)."""
    out = ints.astype(np.float64)
    if divisor != 1.0:
        out /= divisor
    return out


def _num_payload(arr: pa.Array) -> np.ndarray:
    """NUM encoding of one array piece: uint64 bit patterns, null -> NA, NaN -> canonical NaN."""
    if pa.types.is_null(arr.type):
        return np.full(len(arr), NA_BITS, dtype=np.uint64)
    values = _as_float64(arr)
    bits = values.view(np.uint64)
    if pa.types.is_floating(arr.type):
        with np.errstate(all="ignore"):
            has_nan = np.isnan(np.add.reduce(values))  # NaN propagates through the sum (cheap test)
        if has_nan:
            bits[np.isnan(values)] = NAN_BITS
    nulls = _null_mask(arr)
    if nulls is not None:
        bits[nulls.view(np.bool_)] = NA_BITS
    return bits


def _i64_payload(arr: pa.Array) -> np.ndarray:
    """i64 encoding: the raw little-endian int64 values, null -> INT64_MIN."""
    nulls = _null_mask(arr)
    values = _values(arr, np.int64)
    if nulls is None:
        return values
    values = values.copy()
    values[nulls.view(np.bool_)] = INT64_NA
    return values


def _chr_null_mask(arr: pa.Array) -> np.ndarray | None:
    """Null mask of a string or dictionary<string> array (a null dictionary entry counts as null)."""
    if pa.types.is_dictionary(arr.type) and arr.dictionary.null_count:
        return _null_mask(arr.dictionary_decode())
    return _null_mask(arr)


def _large_string_dictionary(arr: pa.Array) -> pa.Array:
    """Give a dictionary array large_string values (once per chunk, not per piece); else no-op."""
    if pa.types.is_dictionary(arr.type) and not pa.types.is_large_string(arr.type.value_type):
        return pa.DictionaryArray.from_arrays(arr.indices, arr.dictionary.cast(pa.large_string()))
    return arr


def _as_large_string(arr: pa.Array) -> pa.Array:
    """Decode dictionaries and cast string / string_view to large_string."""
    if pa.types.is_dictionary(arr.type):
        arr = _large_string_dictionary(arr).dictionary_decode()
    if pa.types.is_large_string(arr.type):
        return arr
    return arr.cast(pa.large_string())


def _blank_nulls(arr: pa.Array) -> pa.Array:
    """Return ``arr`` (large_string) with nulls turned into empty strings, zero-copy when possible."""
    nulls = _null_mask(arr)
    if nulls is None:
        return arr
    n = len(arr)
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64, count=n + 1, offset=arr.offset * 8)
    lengths = np.diff(offsets)
    if not lengths[nulls.view(np.bool_)].any():
        return pa.Array.from_buffers(pa.large_string(), n, [None, offsets_buf, data_buf], offset=arr.offset)
    return pc.fill_null(arr, _EMPTY)


def _string_payload(arr: pa.Array) -> list[Any]:
    """Each value's UTF-8 bytes followed by 0x00 (null: just 0x00), as buffer blocks."""
    n = len(arr)
    strings = _blank_nulls(_as_large_string(arr))
    wrapped = pa.LargeListArray.from_arrays(pa.array([0, n], pa.int64()), strings)
    joined = pc.binary_join(wrapped, _NUL)  # values separated by 0x00, no trailing 0x00
    _, offsets_buf, data_buf = joined.buffers()
    start, end = np.frombuffer(offsets_buf, dtype=np.int64, count=2, offset=joined.offset * 8)
    if end > start:
        return [memoryview(data_buf)[start:end], b"\x00"]
    return [b"\x00"]


def _zeros(count: int) -> list[Any]:
    """``count`` zero bytes as buffer blocks (no allocation)."""
    block = memoryview(_ZEROS)
    size = len(_ZEROS)
    return [block[: min(size, count - start)] for start in range(0, count, size)]


def _primary_payload(kind: str, arr: pa.Array) -> list[Any]:
    """The payload blocks of one piece: mask bytes for chr, NUM or i64 encoding otherwise."""
    if kind == KIND_CHR:
        mask = _chr_null_mask(arr)
        return _zeros(len(arr)) if mask is None else [mask.data]
    if kind == KIND_I64:
        return [_i64_payload(arr).data]
    return [_num_payload(arr).data]


def _feed(hasher: Any, jobs: Sequence[Callable[[], list[Any]]], pipelined: bool) -> None:
    """Hash the blocks of every job in order.

    ``pipelined``: compute the next job on a helper thread while hashing the current one; worth it
    only when cores would otherwise idle (fewer columns than cores), else it just oversubscribes.
    """
    if len(jobs) <= 1 or not pipelined:
        for job in jobs:
            for block in job():
                hasher.update(block)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cv1-prep") as prep:
        upcoming = prep.submit(jobs[0])
        for index in range(len(jobs)):
            blocks = upcoming.result()
            if index + 1 < len(jobs):
                upcoming = prep.submit(jobs[index + 1])
            for block in blocks:
                hasher.update(block)


# --------------------------------------------------------------------------------------------------
# Per-column hashing


def _string_bytes_per_row(arr: pa.Array) -> int:
    """Average bytes per row of a string or dictionary<string> array (at least 1)."""
    n = max(1, len(arr))
    if pa.types.is_dictionary(arr.type):
        dictionary = arr.dictionary
        per_value = dictionary.nbytes // max(1, len(dictionary))
        return max(1, arr.indices.nbytes // n + per_value)
    return max(1, arr.nbytes // n)


def _pieces(arr: pa.Array, kind: str) -> Iterator[pa.Array]:
    """Cut ``arr`` into zero-copy slices of about :data:`PIECE_BYTES` input bytes each."""
    n = len(arr)
    width = _string_bytes_per_row(arr) if kind == KIND_CHR else 8
    step = max(1, PIECE_BYTES // width)
    if n <= step:
        if n:
            yield arr
        return
    for start in range(0, n, step):
        yield arr.slice(start, step)


class _ColumnHasher:
    """Incremental digest of one column: ``sha256(kind ‖ name ‖ 0x00 ‖ payload)``.

    Non-chr columns take all their payload through :meth:`update_primary`. A chr column takes its
    mask bytes through :meth:`update_primary` (every row, first) and then its string bytes through
    :meth:`update_strings` (every row again, in the same order).
    """

    __slots__ = ("_hasher", "kind", "name", "pipelined")

    def __init__(self, name: str, kind: str, pipelined: bool = False) -> None:
        self.name = name
        self.kind = kind
        self.pipelined = pipelined
        self._hasher = hashlib.sha256(kind.encode("ascii") + name.encode("utf-8") + b"\x00")

    def primary_jobs(self, arr: pa.Array) -> list[Callable[[], list[Any]]]:
        """Jobs computing the payload of ``arr`` piece by piece (mask bytes for chr)."""
        return [partial(_primary_payload, self.kind, piece) for piece in _pieces(arr, self.kind)]

    def string_jobs(self, arr: pa.Array) -> list[Callable[[], list[Any]]]:
        """Jobs computing the string bytes of a chr array piece by piece."""
        return [partial(_string_payload, piece) for piece in _pieces(_large_string_dictionary(arr), KIND_CHR)]

    def feed_jobs(self, jobs: Sequence[Callable[[], list[Any]]]) -> None:
        """Hash the payload blocks of ``jobs`` in order."""
        _feed(self._hasher, jobs, self.pipelined)

    def update_primary(self, arr: pa.Array) -> None:
        """Feed one array (any length) of this column's values: payload, or mask bytes for chr."""
        _feed(self._hasher, self.primary_jobs(arr), self.pipelined)

    def update_strings(self, arr: pa.Array) -> None:
        """Feed one array of a chr column's values (after all its mask bytes were fed)."""
        _feed(self._hasher, self.string_jobs(arr), self.pipelined)

    def update_zeros(self, count: int) -> None:
        """Feed ``count`` zero bytes (the mask of a chr column known to hold no null)."""
        for block in _zeros(count):
            self._hasher.update(block)

    def hexdigest(self) -> str:
        """Finish the digest (appending the ``secs`` unit for drtn columns) as lowercase hex."""
        if self.kind == KIND_DRTN:
            self._hasher.update(SECS_SUFFIX)
        return self._hasher.hexdigest()


def _chunks(column: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return list(column.chunks) if isinstance(column, pa.ChunkedArray) else [column]


def _digest_column(name: str, column: pa.Array | pa.ChunkedArray, kind: str, pipelined: bool = False) -> str:
    """Hash a whole in-memory column (resolving a pending Int64 kind from its values)."""
    if kind == KIND_INT64:
        kind = KIND_I64 if _column_needs_i64(column) else KIND_NUM
    hasher = _ColumnHasher(name, kind, pipelined)
    chunks = _chunks(column)
    hasher.feed_jobs([job for chunk in chunks for job in hasher.primary_jobs(chunk)])
    if kind == KIND_CHR:
        hasher.feed_jobs([job for chunk in chunks for job in hasher.string_jobs(chunk)])
    return hasher.hexdigest()


def hash_column(name: str, column: pa.Array | pa.ChunkedArray, kind: str | None = None) -> str:
    """Return the datom-cv1 digest (lowercase hex) of one column named ``name``.

    ``kind`` is normally inferred like :func:`classify_columns` (Int64: from the values). It may be
    forced to ``"num"`` or ``"i64"`` for an Int64 column (e.g. to mirror an R ``integer64`` column of
    small values); any other disagreement with the column's type raises :class:`InvalidArgumentError`.
    """
    auto = pending_kinds(pa.schema([pa.field(name, column.type)]))[0]
    if kind is not None and kind != auto and not (auto == KIND_INT64 and kind in (KIND_NUM, KIND_I64)):
        raise InvalidArgumentError(f"a {column.type} column cannot be hashed as kind {kind!r}")
    return _digest_column(name, column, auto if kind is None else kind)


# --------------------------------------------------------------------------------------------------
# Tables


def _worker_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _run_all(tasks: Sequence[Callable[[], str]], costs: Sequence[int], threads: int) -> list[str]:
    """Run ``tasks`` on a thread pool (biggest first, for balance) and return results in order."""
    workers = min(len(tasks), threads)
    if workers <= 1 or sum(costs) < SMALL_TABLE_BYTES:
        return [task() for task in tasks]
    order = sorted(range(len(tasks)), key=lambda i: -costs[i])
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cv1") as pool:
        futures = {i: pool.submit(tasks[i]) for i in order}
        return [futures[i].result() for i in range(len(tasks))]


def data_sha_from_column_hashes(nrow: int, ncol: int, hexes: Iterable[str]) -> str:
    """Return ``data_sha`` from the dimensions and the column digests (hex, in column order).

    ``sha256("datom-cv1" ‖ f64le(nrow) ‖ f64le(ncol) ‖ hex_1 ‖ hex_2 ‖ …)``; lets a reader check a
    table's identity from ``metadata.json`` without downloading the data.
    """
    hexes = list(hexes)
    if len(hexes) != ncol:
        raise InvalidArgumentError(f"got {len(hexes)} column digests for {ncol} columns")
    for value in hexes:
        if not isinstance(value, str) or len(value) != 64 or value.strip("0123456789abcdef"):
            raise InvalidArgumentError(f"{value!r} is not a 64-character lowercase hex digest")
    hasher = hashlib.sha256(HASH_ALGO.encode("ascii") + struct.pack("<dd", float(nrow), float(ncol)))
    for value in hexes:
        hasher.update(value.encode("ascii"))
    return hasher.hexdigest()


def _make_digest(names: Sequence[str], hexes: Sequence[str], nrow: int) -> Cv1Digest:
    return Cv1Digest(
        data_sha=data_sha_from_column_hashes(nrow, len(names), hexes),
        column_hashes=tuple(zip(names, hexes, strict=True)),
        nrow=nrow,
        ncol=len(names),
    )


def _hash_arrow_table(table: pa.Table, threads: int | None = None) -> Cv1Digest:
    threads = threads or _worker_count()
    check_dims(table.num_rows, table.num_columns)
    kinds = pending_kinds(table.schema)
    names = table.schema.names
    columns = table.columns
    costs = [_cost(col, kind) for col, kind in zip(columns, kinds, strict=True)]
    pipelined = _critical_columns(costs, threads)

    def task(i: int) -> Callable[[], str]:
        return lambda: _digest_column(names[i], columns[i], kinds[i], pipelined[i])

    hexes = _run_all([task(i) for i in range(len(names))], costs, threads)
    return _make_digest(names, hexes, table.num_rows)


def _cost(column: pa.Array | pa.ChunkedArray, kind: str) -> int:
    """Rough relative time to hash a column (string columns cost ~1.6x per input byte)."""
    if kind == KIND_CHR:
        return int(column.nbytes * 1.65)
    return len(column) * 8


def _critical_columns(costs: Sequence[int], workers: int) -> list[bool]:
    """Which columns to hash with a helper thread: those that would otherwise set the wall time.

    A column whose cost exceeds its fair share of the cores (with some margin) leaves cores idle at
    the end; preparing its next piece on a helper thread while hashing the current one uses them.
    Pipelining every column would just oversubscribe the cores.
    """
    total = sum(costs)
    return [workers > 1 and cost * workers > 1.15 * total for cost in costs]


def hash_table(table: pa.Table, *, threads: int | None = None) -> Cv1Digest:
    """Return the datom-cv1 digest of an in-memory Arrow table.

    Any chunk layout, sliced arrays and validity bitmaps with offsets are handled. Raises
    :class:`UnsupportedDataError` for a table with no rows or no columns, and (once, naming every
    offender) for unsupported columns, before anything is hashed. ``threads`` caps the hashing
    threads (default: every core this process may use).
    """
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    return _hash_arrow_table(table, threads)


def hash_frame(frame: object) -> Cv1Digest:
    """Return the datom-cv1 digest of any frame :func:`~datom_engines.core.frames.to_arrow` accepts.

    A Polars LazyFrame is collected. Polars columns that cannot even be converted to Arrow (Object,
    Int128) are reported in the same single error as the other unsupported columns.
    """
    if is_lazy(frame):
        frame = frame.collect()  # type: ignore[attr-defined]
    if is_polars(frame):
        check_dims(frame.height, frame.width)  # type: ignore[attr-defined]
    return _hash_arrow_table(to_arrow(frame, string_view=True))


def data_sha(frame: object) -> str:
    """Return the datom-cv1 ``data_sha`` (64 lowercase hex characters) of a data frame.

    Accepts a Polars DataFrame or LazyFrame, a pyarrow Table or RecordBatch, or a pandas DataFrame.
    """
    return hash_frame(frame).data_sha


def column_hashes(frame: object) -> dict[str, str]:
    """Return ``{column name: datom-cv1 column digest}`` of a data frame, in column order."""
    return dict(hash_frame(frame).column_hashes)


# --------------------------------------------------------------------------------------------------
# Streaming


BatchSource = Callable[[list[str] | None], Iterable[pa.RecordBatch]]
_Update = Callable[[pa.Array], None]


def _chr_has_nulls(arr: pa.Array) -> bool:
    """True if a string / dictionary<string> array has a null value (incl. a null dictionary entry)."""
    if arr.null_count:
        return True
    return pa.types.is_dictionary(arr.type) and bool(arr.dictionary.null_count) and (_chr_null_mask(arr) is not None)


def _null_free_strings(hasher: _ColumnHasher) -> _Update:
    """Update function hashing string bytes of a column whose (all-zero) mask was already hashed."""

    def update(arr: pa.Array) -> None:
        if _chr_has_nulls(arr):
            # its all-zero mask was already hashed: the digest cannot be finished this way
            raise InvalidArgumentError(f"column {hasher.name!r} was announced without nulls but has some")
        hasher.update_strings(arr)

    return update


class _Int64Range:
    """Running min/max of an Int64 column whose ``i64`` rule is decided from its values."""

    __slots__ = ("high", "low")

    def __init__(self) -> None:
        self.low: int | None = None
        self.high: int | None = None

    def update(self, arr: pa.Array) -> None:
        minmax = pc.min_max(arr)
        lo, hi = minmax["min"].as_py(), minmax["max"].as_py()
        if lo is not None:
            self.low = lo if self.low is None else min(self.low, lo)
            self.high = hi if self.high is None else max(self.high, hi)

    @property
    def needs_i64(self) -> bool:
        return int64_needs_i64(self.low, self.high)


class _Lanes:
    """One ordered queue per column, drained by one task at a time on a shared thread pool.

    A column's arrays are hashed in the order they were pushed; different columns proceed
    independently, so a slow (string) column does not hold the others back at every batch. At most
    ``limit`` arrays wait in all queues together: :meth:`push` blocks beyond that.
    """

    def __init__(self, pool: ThreadPoolExecutor, limit: int) -> None:
        self._pool = pool
        self._limit = limit
        self._cond = threading.Condition()
        self._queues: dict[int, deque[tuple[_Update, pa.Array]]] = {}
        self._busy: set[int] = set()
        self._waiting = 0
        self._error: BaseException | None = None

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def push(self, key: int, update: _Update, arr: pa.Array) -> None:
        with self._cond:
            while self._waiting >= self._limit and self._error is None:
                self._cond.wait()
            self._check()
            self._queues.setdefault(key, deque()).append((update, arr))
            self._waiting += 1
            if key not in self._busy:
                self._busy.add(key)
                self._pool.submit(self._run, key)

    def _run(self, key: int) -> None:
        with self._cond:
            update, arr = self._queues[key].popleft()
        try:
            update(arr)
        except BaseException as exc:
            with self._cond:
                self._error = self._error or exc
        with self._cond:
            self._waiting -= 1
            queue = self._queues[key]
            if self._error is not None:
                self._waiting -= len(queue)
                queue.clear()
            if queue:
                self._pool.submit(self._run, key)
            else:
                self._busy.discard(key)
            self._cond.notify_all()

    def wait(self) -> None:
        """Block until every pushed array is hashed; re-raise the first error of a column."""
        with self._cond:
            while self._busy:
                self._cond.wait()
            self._check()

    def abort(self) -> None:
        """Drop what is queued and wait for the running tasks."""
        with self._cond:
            if self._error is None:
                self._error = InvalidArgumentError("the digest was abandoned before it was finished")
        with self._cond:
            while self._busy:
                self._cond.wait()


class StreamHasher:
    """The datom-cv1 digest of a table that arrives as record batches, in row order, hashed as it comes.

    :meth:`update` takes each batch: the columns are hashed concurrently on a thread pool (one task per
    column, so a wide table uses every core) while the caller produces the next batch. Everything the
    first pass can hash is hashed then: numeric, date, time and duration columns, and the null masks of
    string columns. :meth:`finish` completes the digest; what the encoding puts *after* data not yet
    seen needs a second pass, which ``reread(columns)`` supplies (for instance from the parquet file the
    batches were written to) for just those columns:

    * string (``chr``) columns: their bytes follow the mask of every row, so they come in a second
      pass, unless the row count is known up front and the column is announced null-free
      (``chr_without_nulls``), in which case its all-zero mask is hashed first and its strings stream;
    * Int64 columns not in ``int64_needs_i64``: hashed as ``num`` while their min/max is tracked; a
      column whose values turn out to need ``i64`` (some ``abs(v) > 2**31 - 1``) is hashed again.

    ``threads`` caps the hashing threads (default: every core this process may use).
    """

    def __init__(
        self,
        schema: pa.Schema,
        *,
        int64_needs_i64: Mapping[str, bool] | None = None,
        nrow: int | None = None,
        chr_without_nulls: Collection[str] = (),
        threads: int | None = None,
    ) -> None:
        decided = dict(int64_needs_i64 or {})
        pending = pending_kinds(schema)
        self.schema = schema
        self.names: list[str] = list(schema.names)
        self._nrow = nrow
        check_dims(1 if nrow is None else nrow, len(self.names))
        threads = threads or _worker_count()
        pipelined = len(self.names) < threads
        kinds = [
            (KIND_I64 if decided.get(name) else KIND_NUM) if kind == KIND_INT64 else kind
            for name, kind in zip(self.names, pending, strict=True)
        ]
        self._hashers = [_ColumnHasher(n, k, pipelined) for n, k in zip(self.names, kinds, strict=True)]
        self._ranges: dict[int, _Int64Range] = {
            i: _Int64Range() for i, kind in enumerate(pending) if kind == KIND_INT64 and self.names[i] not in decided
        }
        known = set(chr_without_nulls) if nrow is not None else set()
        self._updates: list[_Update] = []
        self._strings_later: list[int] = []
        for i, hasher in enumerate(self._hashers):
            if hasher.kind == KIND_CHR and self.names[i] in known:
                hasher.update_zeros(nrow or 0)
                self._updates.append(_null_free_strings(hasher))
            elif i in self._ranges:
                self._updates.append(_tracking(hasher, self._ranges[i]))
            else:
                self._updates.append(hasher.update_primary)
                if hasher.kind == KIND_CHR:
                    self._strings_later.append(i)
        self._threads = threads
        workers = min(len(self.names), threads)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cv1") if workers > 1 else None
        self._lanes = _Lanes(self._pool, limit=4 * len(self.names)) if self._pool is not None else None
        self.rows = 0

    def _wait(self) -> None:
        if self._lanes is not None:
            self._lanes.wait()

    def _feed(self, batch: pa.RecordBatch | pa.Table, updates: Sequence[_Update], keys: Sequence[int]) -> None:
        if batch.num_columns != len(updates):
            raise InvalidArgumentError(f"a batch has {batch.num_columns} columns where {len(updates)} were expected")
        for key, update, column in zip(keys, updates, batch.columns, strict=True):
            if self._lanes is None:
                update(column)
            else:  # each column in its own ordered lane: no barrier between batches
                for chunk in column.chunks if isinstance(column, pa.ChunkedArray) else [column]:
                    self._lanes.push(key, update, chunk)

    def update(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Hash the next batch (all columns, schema order); returns once its hashing has started."""
        self._feed(batch, self._updates, range(len(self.names)))
        self.rows += batch.num_rows

    def finish(self, reread: BatchSource | None = None) -> Cv1Digest:
        """Complete the digest; ``reread(columns)`` yields the same rows again holding just ``columns``.

        ``reread`` is called at most once, and only when some column needs a second pass (it may be
        None when none can: no string columns and every Int64 rule given).
        """
        try:
            self._wait()
            check_dims(self.rows, len(self.names))
            if self._nrow is not None and self.rows != self._nrow:
                raise InvalidArgumentError(f"the batches hold {self.rows} rows where nrow={self._nrow} was announced")
            again = [i for i, r in self._ranges.items() if r.needs_i64]
            for i in again:
                self._hashers[i] = _ColumnHasher(self.names[i], KIND_I64, self._hashers[i].pipelined)
            second = sorted([*self._strings_later, *again])
            if second:
                if reread is None:
                    raise InvalidArgumentError(
                        "this table needs a second pass over some columns, and no reread= was given"
                    )
                for i in second:  # fewer columns than cores: prepare each one's next piece on a helper thread
                    self._hashers[i].pipelined = len(second) < self._threads
                updates = [
                    self._hashers[i].update_primary if i in again else self._hashers[i].update_strings for i in second
                ]
                rows = 0
                for batch in reread([self.names[i] for i in second]):
                    self._feed(batch, updates, second)
                    rows += batch.num_rows
                self._wait()
                if rows != self.rows:
                    raise InvalidArgumentError(f"the second pass yielded {rows} rows, the first {self.rows}")
            return _make_digest(self.names, [h.hexdigest() for h in self._hashers], self.rows)
        finally:
            self.close()

    def close(self) -> None:
        """Stop the hashing threads (the digest can no longer be finished)."""
        if self._pool is not None:
            if self._lanes is not None:
                self._lanes.abort()
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> StreamHasher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _tracking(hasher: _ColumnHasher, seen: _Int64Range) -> _Update:
    """Update function hashing an Int64 column as ``num`` while tracking its range."""

    def update(arr: pa.Array) -> None:
        seen.update(arr)
        hasher.update_primary(arr)

    return update


def hash_batches(
    schema: pa.Schema,
    batches: BatchSource,
    int64_needs_i64: Mapping[str, bool],
    *,
    nrow: int | None = None,
    chr_without_nulls: Collection[str] = (),
    threads: int | None = None,
) -> Cv1Digest:
    """Return the datom-cv1 digest of a table given as a stream of record batches.

    ``batches(columns)`` must yield record batches holding just ``columns`` (``None``: all of them, in
    schema order) and may be called twice: a first pass hashes the non-chr columns and the chr mask
    bytes, a second pass over only the chr columns hashes their string bytes. ``int64_needs_i64``
    says for each Int64 column whether it is ``i64`` (see :func:`classify_columns`).

    When the row count ``nrow`` is known in advance, the chr columns named in ``chr_without_nulls``
    (known to hold no null, e.g. from parquet statistics) get their all-zero mask up front and their
    strings in the first pass, so the second pass is skipped when all chr columns are null-free. If
    one of them does hold a null, :class:`InvalidArgumentError` is raised. See :class:`StreamHasher`.
    """
    classify_columns(schema, int64_needs_i64)  # every Int64 rule must be given here
    with StreamHasher(
        schema, int64_needs_i64=int64_needs_i64, nrow=nrow, chr_without_nulls=chr_without_nulls, threads=threads
    ) as hasher:
        for batch in batches(None):
            hasher.update(batch)
        return hasher.finish(batches)


def _parquet_chr_without_nulls(pf: pq.ParquetFile, schema: pa.Schema, kinds: Sequence[str]) -> list[str]:
    """Names of the chr columns whose row-group statistics prove they hold no null."""
    meta = pf.metadata
    out: list[str] = []
    for index, (field, kind) in enumerate(zip(schema, kinds, strict=True)):
        if kind != KIND_CHR:
            continue
        proven = True
        for rg in range(meta.num_row_groups):
            chunk = meta.row_group(rg).column(index)
            stats = chunk.statistics
            if chunk.path_in_schema != field.name or stats is None or not stats.has_null_count:
                proven = False
                break
            if stats.null_count != 0:
                proven = False
                break
        if proven:
            out.append(field.name)
    return out


def _parquet_int64_from_stats(pf: pq.ParquetFile, index: int, name: str) -> bool | None:
    """Decide the i64 rule for leaf column ``index`` from row-group statistics (None: not enough)."""
    meta = pf.metadata
    lo: int | None = None
    hi: int | None = None
    for rg in range(meta.num_row_groups):
        group = meta.row_group(rg)
        chunk = group.column(index)
        if chunk.path_in_schema != name:
            return None
        stats = chunk.statistics
        if group.num_rows == 0:
            continue
        if stats is None or not stats.has_min_max:
            if stats is not None and stats.has_null_count and stats.null_count == group.num_rows:
                continue  # all null: no value to look at
            return None
        lo = stats.min if lo is None else min(lo, stats.min)
        hi = stats.max if hi is None else max(hi, stats.max)
    return int64_needs_i64(lo, hi)


def _parquet_int64_decisions(pf: pq.ParquetFile, schema: pa.Schema, batch_size: int) -> dict[str, bool]:
    """Decide the i64 rule of every Int64 column: statistics first, else one min/max pass."""
    decisions: dict[str, bool] = {}
    unknown: list[str] = []
    for index, field in enumerate(schema):
        if pa.types.is_int64(field.type):
            decided = _parquet_int64_from_stats(pf, index, field.name)
            if decided is None:
                unknown.append(field.name)
            else:
                decisions[field.name] = decided
    if unknown:
        lows: dict[str, int | None] = dict.fromkeys(unknown)
        highs: dict[str, int | None] = dict.fromkeys(unknown)
        for batch in pf.iter_batches(batch_size=batch_size, columns=unknown):
            for name, column in zip(unknown, batch.columns, strict=True):
                minmax = pc.min_max(column)
                lo, hi = minmax["min"].as_py(), minmax["max"].as_py()
                if lo is not None:
                    lows[name] = lo if lows[name] is None else min(lows[name], lo)  # type: ignore[type-var]
                    highs[name] = hi if highs[name] is None else max(highs[name], hi)  # type: ignore[type-var]
        for name in unknown:
            decisions[name] = int64_needs_i64(lows[name], highs[name])
    return decisions


def parquet_batch_size(pf: pq.ParquetFile) -> int:
    """Rows per batch so that a batch holds about :data:`BATCH_BYTES` of uncompressed data."""
    meta = pf.metadata
    total = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    per_row = max(1, total // max(1, meta.num_rows))
    return int(min(1 << 22, max(1 << 12, BATCH_BYTES // per_row)))


def hash_parquet(
    source: str | os.PathLike[str] | BinaryIO, *, batch_size: int | None = None, threads: int | None = None
) -> Cv1Digest:
    """Return the datom-cv1 digest of a parquet file, streaming it in record batches.

    The Int64 ``i64`` rule is decided from the row-group statistics when present, else from a
    min/max pass over those columns. Memory use is bounded by the batch size, not the file size. The
    columns of each batch are hashed concurrently (``threads`` caps the threads; default: every core)
    while the next batch is decoded.
    """
    with pq.ParquetFile(source) as pf:
        schema = pf.schema_arrow
        pending_kinds(schema)
        check_dims(pf.metadata.num_rows, len(schema))
        size = batch_size or parquet_batch_size(pf)
        decisions = _parquet_int64_decisions(pf, schema, size)
        null_free = _parquet_chr_without_nulls(pf, schema, classify_columns(schema, decisions))

        def batches(columns: list[str] | None) -> Iterator[pa.RecordBatch]:
            return pf.iter_batches(batch_size=size, columns=columns)

        try:
            return hash_batches(
                schema, batches, decisions, nrow=pf.metadata.num_rows, chr_without_nulls=null_free, threads=threads
            )
        except InvalidArgumentError:
            if not null_free:
                raise
            # Statistics that lie about nulls: fall back to the two-pass plan.
            return hash_batches(schema, batches, decisions, threads=threads)


__all__ = [
    "HASH_ALGO",
    "KINDS",
    "Cv1Digest",
    "StreamHasher",
    "check_hashable",
    "classify_columns",
    "column_hashes",
    "data_sha",
    "data_sha_from_column_hashes",
    "hash_batches",
    "hash_column",
    "hash_frame",
    "hash_parquet",
    "hash_table",
    "int64_needs_i64",
]
