"""Dask adapter: datom table versions as Dask DataFrames, and Dask DataFrames written as versions.

    import datom_engines.dask as ddt
    ddf = ddt.read_datom("STUDY1.lb", version="6c9b32", filters=[("LBTESTCD", "==", "ALT")])
    ddf[ddf.LBORRES > 10].datom.write("STUDY1.alt", message="high ALT")   # parents recorded

:func:`read_datom` resolves the version in the client, checks its object (``verify=``) and returns
``dd.read_parquet`` of it with ``filters=`` and the project's storage options (translated for
fsspec), so the workers read the store themselves and skip row groups by their statistics. Columns
come as pyarrow-backed pandas dtypes, which hold every datom-cv1 dtype exactly (integers with nulls,
nanosecond and zoned datetimes, durations, times, categoricals). Objects in process-local stores
(``memory://``) are copied once, verified, to a local file the workers read.

``ddf.datom.write(...)`` computes the partitions in order and streams them into the core write path,
which writes one parquet object and hashes it batch by batch as it goes; with a ``distributed``
client the workers compute the partitions in parallel and the client holds one at a time. The
datom versions the graph reads through :func:`read_datom` become the version's ``parents``.
Needs ``pip install 'datom_engines[dask]'``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

try:
    import dask
    import dask.dataframe as dd
    from dask.dataframe.extensions import register_dataframe_accessor
except ImportError as exc:  # pragma: no cover - depends on the environment
    from .errors import EngineUnavailableError

    raise EngineUnavailableError(
        "datom_engines.dask needs dask", hint="pip install 'datom_engines[dask]' (dask[dataframe] and distributed)"
    ) from exc

import numpy as np
import pyarrow as pa

from . import api, engine_reads
from .core.codecs import Compression
from .core.names import TableRef
from .errors import InvalidArgumentError, UnsupportedDataError
from .progress import Progress
from .project.project import Project
from .project.results import ResolvedVersion, WriteResult

__all__ = ["DatomAccessor", "arrow_schema", "lineage_of", "read_datom", "write"]


@dataclass(frozen=True, slots=True)
class _Read:
    project: Project
    resolved: ResolvedVersion


_lock = threading.Lock()
_reads: dict[str, _Read] = {}


# ----- reading -------------------------------------------------------------------------------------
def read_datom(
    ref: str | TableRef,
    *,
    version: str | None = None,
    as_of: datetime | str | None = None,
    tag: str | None = None,
    columns: Sequence[str] | None = None,
    filters: Any = None,
    storage_options: Mapping[str, Any] | None = None,
    verify: str = "once",
    **read_parquet_kwargs: Any,
) -> dd.DataFrame:
    """A version of ``"project.table"`` as a lazy Dask DataFrame (``dd.read_parquet`` of its object).

    ``version`` is a full id or a unique prefix; ``as_of`` picks the newest version created at or
    before that time; ``tag`` the version a tag (named snapshot) pins; none means the latest.
    The version is resolved now (the frame is pinned to
    it) and its object checked against ``parquet_sha`` as ``verify`` says (``once``: the first time
    this machine reads it; ``always``; ``never``). ``columns`` and ``filters`` (pyarrow DNF, e.g.
    ``[("AGE", ">", 60)]``) go to ``dd.read_parquet``, as do other keyword arguments
    (``dtype_backend`` defaults to ``"pyarrow"``, ``split_row_groups`` to one partition per row
    group). ``storage_options`` find the project and override
    its own for the read.
    """
    project, resolved = engine_reads.resolve(
        ref, version=version, as_of=as_of, tag=tag, storage_options=storage_options
    )
    location = engine_reads.read_location(resolved, storage_options)
    # checked in the client, before the graph is built
    if location.protocol in engine_reads.PROCESS_LOCAL_PROTOCOLS:
        path, options = engine_reads.local_copy(project.store, resolved, verify).url, None
    else:
        engine_reads.verify_object(project.store, resolved, verify)
        path, options = resolved.url, (None if location.is_local else location.fsspec_options())
    read_parquet_kwargs.setdefault("dtype_backend", "pyarrow")
    # one partition per row group (1M rows as datom writes them): a version is one object, which Dask
    # would otherwise read as a single partition (no parallelism; a writer would hold all of it)
    read_parquet_kwargs.setdefault("split_row_groups", True)
    frame = dd.read_parquet(
        path,
        columns=list(columns) if columns is not None else None,
        filters=filters,
        storage_options=options,
        **read_parquet_kwargs,
    )
    with _lock:
        _reads[path] = _Read(project, resolved)
    return frame


# ----- lineage -------------------------------------------------------------------------------------
def _paths_in(ddf: dd.DataFrame) -> list[str]:
    """The paths of the parquet reads in the expression tree, left to right (depth first)."""
    from dask.dataframe.dask_expr.io.parquet import ReadParquet

    out: list[str] = []
    seen: set[str] = set()
    stack = [ddf.expr]
    while stack:
        expr = stack.pop()
        if expr._name in seen:
            continue
        seen.add(expr._name)
        if isinstance(expr, ReadParquet):
            path = expr.operand("path")
            out.extend([path] if isinstance(path, str) else list(path))
        stack.extend(reversed(expr.dependencies()))
    return out


def lineage_of(ddf: dd.DataFrame) -> list[dict[str, Any]]:
    """The ``parents`` entries ``ddf.datom.write`` records: the datom versions the graph reads through
    :func:`read_datom`, in graph order (entries as :meth:`Project.parent` builds them)."""
    with _lock:
        known = dict(_reads)
    parents: dict[tuple[str, str], dict[str, Any]] = {}
    for path in _paths_in(ddf):
        hit = known.get(path)
        if hit is None:
            continue
        key = (str(hit.resolved.ref), hit.resolved.version)
        if key not in parents:
            parents[key] = hit.project.parent(hit.resolved.ref.table, hit.resolved.version)
    return list(parents.values())


# ----- writing -------------------------------------------------------------------------------------
def _client() -> Any:
    try:
        from distributed import get_client
    except ImportError:  # pragma: no cover - distributed is part of the extra
        return None
    try:
        return get_client()
    except ValueError:  # no client in this process
        return None


def _partitions(ddf: dd.DataFrame) -> Iterator[Any]:
    """The computed partitions of ``ddf`` (pandas frames), in order, one at a time in this process.

    With a ``distributed`` client the whole graph is submitted at once (the workers compute in
    parallel and keep finished partitions, spilling to disk if needed) and each result is released
    as soon as it has been taken. Without one, partitions are computed a few at a time.
    """
    parts = ddf.to_delayed()
    client = _client()
    if client is not None:
        futures = client.compute(parts)
        try:
            for i in range(len(futures)):
                future, futures[i] = futures[i], None
                yield future.result()
                del future
        finally:
            client.cancel([f for f in futures if f is not None])
        return
    window = max(2, 2 * (dask.system.CPU_COUNT or 1))
    for start in range(0, len(parts), window):
        yield from dask.compute(*parts[start : start + window])


def _as_arrow(frame: Any, schema: pa.Schema, index: int) -> pa.Table:
    try:
        return pa.Table.from_pandas(frame, schema=schema, preserve_index=False).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise UnsupportedDataError(
            f"partition {index} does not match the DataFrame's dtypes ({exc})",
            hint="give every column one dtype across partitions, e.g. ddf.astype({'col': 'string[pyarrow]'})",
        ) from None


def arrow_schema(ddf: dd.DataFrame) -> pa.Schema:
    """The Arrow schema a Dask DataFrame is written with (from its dtypes; nothing is computed)."""
    meta = ddf._meta
    untyped = [str(name) for name, dtype in meta.dtypes.items() if dtype == np.dtype(object)]
    if untyped:
        raise UnsupportedDataError(
            f"column(s) {', '.join(map(repr, untyped))} have dtype object, whose values Dask does not type",
            hint="convert them first, e.g. ddf.astype({'col': 'string[pyarrow]'}) (or another dtype)",
        )
    return pa.Schema.from_pandas(meta, preserve_index=False).remove_metadata()


def stream(ddf: dd.DataFrame) -> pa.RecordBatchReader:
    """The rows of ``ddf``, partition after partition in order, as a stream of Arrow batches.

    Nothing is computed until the stream is read. The index is not written (``reset_index()`` first
    to keep it as a column).
    """
    schema = arrow_schema(ddf)

    def batches() -> Iterator[pa.RecordBatch]:
        for i, frame in enumerate(_partitions(ddf)):
            if len(frame):
                yield from _as_arrow(frame, schema, i).to_batches()

    return pa.RecordBatchReader.from_batches(schema, batches())


def write(
    ddf: dd.DataFrame,
    ref: str | TableRef,
    *,
    message: str | None = None,
    custom: Mapping[str, Any] | None = None,
    parents: Sequence[Mapping[str, Any]] | None = None,
    progress: Progress | None = None,
    compression: Compression = None,
) -> WriteResult:
    """Write a Dask DataFrame as a new version of ``"project.table"`` (a clone opened in this process).

    The rows are written in partition order: sort (``sort_values``) after shuffles whose order Dask
    does not fix, or every run makes a new version. ``parents`` defaults to the datom versions the
    graph reads through :func:`read_datom` (``parents=[]`` records none). ``compression`` picks the
    parquet codecs (see :meth:`Project.write`).
    """
    if not isinstance(ddf, dd.DataFrame):
        raise InvalidArgumentError(
            f"expected a Dask DataFrame, got {type(ddf).__module__}.{type(ddf).__qualname__}",
            hint="pass a dask.dataframe.DataFrame (for other frames use datom_engines.write)",
        )
    target = api.table_ref(ref)
    if parents is None:
        parents = lineage_of(ddf) or None
    return api.write(
        stream(ddf),
        target,
        message=message,
        custom=custom,
        parents=parents,
        progress=progress,
        compression=compression,
    )


@register_dataframe_accessor("datom")
class DatomAccessor:
    """``ddf.datom``: write a Dask DataFrame as a version of a datom table, with automatic lineage."""

    def __init__(self, ddf: dd.DataFrame) -> None:
        self._ddf = ddf

    def parents(self) -> list[dict[str, Any]]:
        """The datom versions the graph reads (what :meth:`write` records as ``parents``)."""
        return lineage_of(self._ddf)

    def write(
        self,
        ref: str | TableRef,
        *,
        message: str | None = None,
        custom: Mapping[str, Any] | None = None,
        parents: Sequence[Mapping[str, Any]] | None = None,
        progress: Progress | None = None,
        compression: Compression = None,
    ) -> WriteResult:
        """Write this frame as a new version of ``"project.table"`` (see :func:`write`)."""
        return write(
            self._ddf, ref, message=message, custom=custom, parents=parents, progress=progress, compression=compression
        )
