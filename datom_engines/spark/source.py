"""The ``datom`` Python data source: ``spark.read.format("datom").option("version", v).load("P.t")``.

It reads any store fsspec reaches (S3 without hadoop-aws, GCS, Azure, ``memory://``...), streaming
Arrow batches from the parquet object with pyarrow. Planning (resolving the reference, reading the
footer) runs in a Python worker on the driver; each task reads a run of row groups on an executor.
Filters Spark offers (``spark.sql.python.filterPushdown.enabled``) on integer, string, boolean and
date columns skip row groups by their statistics and rows inside them; Spark still evaluates every
filter again, so pushdown can never change a result.

Options (all strings): ``version``, ``as_of``, ``tag``, ``store`` (a store URL, to read without the project
being known), ``storage_options`` (a JSON object of credentials), ``verify`` (``once``, ``always``
or ``never``). A user-specified schema (``.schema(...)``) may name a subset of the columns: only
those are read.

Workers are other processes than the driver, so they know only what :func:`register` captured when
it was called: the projects opened in the driver (their stores and credentials), the governance store
in use, and the contents of process-local ``memory://`` stores (copied into the workers). Projects
registered in a governance store are also found through ``DATOM_GOVERNANCE`` in the workers'
environment.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
from pyspark.sql import types as T
from pyspark.sql.datasource import (
    DataSource,
    DataSourceReader,
    EqualTo,
    Filter,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    InputPartition,
    IsNotNull,
    IsNull,
    LessThan,
    LessThanOrEqual,
    Not,
)

from .. import engine_reads
from ..core.names import TableRef
from ..errors import InvalidArgumentError, NotFoundError
from ..project import governance, lifecycle
from ..project.project import Project
from ..project.results import ResolvedVersion
from ..storage.location import StoreLocation
from ..storage.objectstore import ObjectStore
from .types import ColumnPlan, arrow_target, plan_columns, spark_schema

NAME = "datom"

#: Field-metadata key that names the datom version a column comes from (read back for lineage).
LINEAGE_KEY = "datom_source"

#: Uncompressed bytes of row groups per Spark task.
PARTITION_BYTES = 128 << 20
#: Rows per Arrow batch handed to Spark.
BATCH_ROWS = 64 * 1024
#: Largest process-local store :func:`snapshot` copies into the workers.
MAX_SNAPSHOT_BYTES = 512 << 20


# ----- what register() captures -------------------------------------------------------------------
@dataclass(frozen=True)
class Context:
    """The driver's view the workers need: known projects, governance, process-local store contents."""

    projects: Mapping[str, StoreLocation] = field(default_factory=dict)
    governance: StoreLocation | None = None
    memory_files: Mapping[str, bytes] = field(default_factory=dict)
    time_enabled: bool = False


_restored: set[tuple[str, int]] = set()


def _restore_memory(files: Mapping[str, bytes]) -> None:
    """Put the captured files of ``memory://`` stores into this worker process's memory filesystem."""
    if not files:
        return
    fs = fsspec.filesystem("memory")
    for path, data in files.items():
        key = (path, hash(data))
        if key in _restored:
            continue
        fs.pipe_file(path, data)
        _restored.add(key)


def memory_files(locations: Sequence[StoreLocation]) -> dict[str, bytes]:
    """Every file of the ``memory://`` namespaces among ``locations`` (what :class:`Context` ships)."""
    out: dict[str, bytes] = {}
    for location in locations:
        if location.protocol not in engine_reads.PROCESS_LOCAL_PROTOCOLS:
            continue
        fs = ObjectStore(location).fs
        root = location.fs_path()
        for path in fs.find(root):
            out[path] = fs.cat_file(path)
    total = sum(len(v) for v in out.values())
    if total > MAX_SNAPSHOT_BYTES:
        raise InvalidArgumentError(
            f"the memory:// stores to copy into Spark's workers hold {total / 2**20:.0f} MiB",
            hint="memory:// stores live inside one process; put large projects in a directory or an object store",
        )
    return out


# ----- planning ------------------------------------------------------------------------------------
def _option(options: Mapping[str, str], name: str) -> str | None:
    value = options.get(name)
    return value if value not in (None, "") else None


def _storage_options(options: Mapping[str, str]) -> dict[str, Any]:
    text = _option(options, "storage_options")
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise InvalidArgumentError(
            "the storage_options option must be a JSON object",
            hint='e.g. .option("storage_options", json.dumps({"aws_region": "eu-west-1"}))',
        )
    return value


def _find_project(name: str, options: Mapping[str, str], context: Context) -> Project:
    """The project in this worker: the ``store`` option, else the driver's projects, else governance."""
    _restore_memory(context.memory_files)
    opts = _storage_options(options)
    store = _option(options, "store")
    if store is not None:
        location = StoreLocation.parse(store, storage_options=opts)
        if location.protocol in engine_reads.PROCESS_LOCAL_PROTOCOLS and not any(
            p.startswith(f"{location.root}/") for p in context.memory_files
        ):
            raise NotFoundError(
                f"the store {store} lives inside the driver process; Spark's workers cannot see it",
                hint="call datom_engines.spark.register(spark) after writing, so its contents are copied to them",
            )
        return lifecycle.connect(location, project=name)
    known = context.projects.get(name)
    if known is not None:
        location = StoreLocation.parse(known, storage_options={**known.storage_options, **opts}) if opts else known
        return lifecycle.connect(location, project=name)
    if context.governance is not None:
        found = governance.open_governance(context.governance).connect(name, opts or None)
        if found is not None:
            return found
    found, where = governance.resolve_through_governance(name, opts or None)  # DATOM_GOVERNANCE of the workers
    if found is not None:
        return found
    opened = ", ".join(sorted(context.projects)) or "none"
    raise NotFoundError(
        f"unknown project {name!r} in a Spark worker; it knows the projects open in the driver when "
        f"datom_engines.spark.register(spark) ran ({opened}), and looked in: {where}",
        hint="open the project, then call register(spark) again; or pass .option('store', url); or set "
        "DATOM_GOVERNANCE in the executors' environment (spark.executorEnv.DATOM_GOVERNANCE)",
    )


@dataclass(frozen=True)
class Source:
    """A resolved version as the reader tasks need it (pickled to the executors)."""

    resolved: ResolvedVersion
    stored: pa.Schema  # the object's Arrow schema
    row_groups: tuple[int, ...]  # uncompressed bytes of each row group
    verify: str
    context: Context

    @property
    def location(self) -> StoreLocation:
        return self.resolved.location

    def plans(self, names: Sequence[str] | None = None) -> list[ColumnPlan]:
        """The Spark plans of ``names`` (default: every column); refuses columns Spark cannot hold."""
        schema = self.stored if names is None else pa.schema([self.stored.field(n) for n in names])
        return plan_columns(schema, time_enabled=self.context.time_enabled, table=str(self.resolved.ref))


def lineage_metadata(resolved: ResolvedVersion) -> dict[str, Any]:
    """The column metadata that records which datom version a column was read from."""
    ref = resolved.ref
    return {LINEAGE_KEY: {"project": ref.project, "table": ref.table, "version": resolved.version}}


def _arrow_filesystem(location: StoreLocation) -> tuple[pafs.FileSystem, str]:
    if location.is_local:
        return pafs.LocalFileSystem(), ""
    return pafs.PyFileSystem(pafs.FSSpecHandler(ObjectStore(location).fs)), ""


def _fragment(source: Source) -> ds.ParquetFileFragment:
    _restore_memory(source.context.memory_files)  # planning and reading may run in other workers
    fs, _ = _arrow_filesystem(source.location)
    return ds.ParquetFileFormat().make_fragment(source.location.fs_path(source.resolved.key), filesystem=fs)


def plan_source(ref: str, options: Mapping[str, str], context: Context) -> Source:
    """Resolve ``ref`` with the reader options and read the object's footer (runs in a Python worker)."""
    parsed = TableRef.parse(ref)
    verify = engine_reads.check_verify(_option(options, "verify") or "once")
    project = _find_project(parsed.project, options, context)
    resolved = project.resolve(
        parsed.table, version=_option(options, "version"), as_of=_option(options, "as_of"), tag=_option(options, "tag")
    )
    engine_reads.verify_object(project.store, resolved, "never")  # exists? (the bytes are checked by the tasks)
    fs, _ = _arrow_filesystem(resolved.location)
    fragment = ds.ParquetFileFormat().make_fragment(resolved.location.fs_path(resolved.key), filesystem=fs)
    meta = fragment.metadata
    sizes = tuple(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return Source(resolved, fragment.physical_schema, sizes, verify, context)


def _schema_of(source: Source, plans: Sequence[ColumnPlan]) -> T.StructType:
    meta = lineage_metadata(source.resolved)
    fields = spark_schema(list(plans)).fields
    return T.StructType([T.StructField(f.name, f.dataType, True, meta) for f in fields])


def _requested(source: Source, schema: T.StructType) -> list[ColumnPlan]:
    """The plans of the columns a (user-specified) schema asks for, checking their types."""
    names = source.stored.names
    unknown = [f.name for f in schema.fields if f.name not in names]
    if unknown:
        raise InvalidArgumentError(
            f"{source.resolved.ref} has no column(s) {', '.join(map(repr, unknown))}",
            hint=f"its columns are: {', '.join(names)}",
        )
    out = source.plans([f.name for f in schema.fields])
    for f, plan in zip(schema.fields, out, strict=True):
        if f.dataType != plan.spark_type:
            raise InvalidArgumentError(
                f"column {f.name!r} of {source.resolved.ref} reads as {plan.spark_type.simpleString()}, "
                f"not {f.dataType.simpleString()}",
                hint="leave .schema() out, or give that type; cast after loading to change it",
            )
    return out


# ----- filters -------------------------------------------------------------------------------------
def _filterable(stored: pa.DataType) -> bool:
    """Types whose Spark filter semantics pyarrow reproduces exactly (no NaN, time zone or widening)."""
    t = stored.value_type if pa.types.is_dictionary(stored) else stored
    return (
        pa.types.is_boolean(t)
        or pa.types.is_signed_integer(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_date32(t)
    )


def to_expression(flt: Filter, plans: Mapping[str, ColumnPlan]) -> ds.Expression | None:
    """A pyarrow expression keeping (at least) the rows ``flt`` keeps, or None when it cannot be pushed."""
    if isinstance(flt, Not):
        inner = to_expression(flt.child, plans)
        return None if inner is None else ~inner
    column = getattr(flt, "attribute", ())
    if len(column) != 1 or column[0] not in plans or not _filterable(plans[column[0]].stored):
        return None
    ref = pc.field(column[0])
    if isinstance(flt, IsNull):
        return ref.is_null()
    if isinstance(flt, IsNotNull):
        return ref.is_valid()
    if isinstance(flt, In):
        values = list(flt.value)
        if not values or any(v is None for v in values):
            return None
        return ref.isin(values)
    value = getattr(flt, "value", None)
    if value is None or isinstance(value, list | tuple | dict | float):
        return None
    compare = {
        EqualTo: ref.__eq__,
        GreaterThan: ref.__gt__,
        GreaterThanOrEqual: ref.__ge__,
        LessThan: ref.__lt__,
        LessThanOrEqual: ref.__le__,
    }.get(type(flt))
    return None if compare is None else compare(value)


# ----- the data source -------------------------------------------------------------------------------
class RowGroups(InputPartition):
    """One task: a run of row groups of the object."""

    def __init__(self, ids: Sequence[int]) -> None:
        super().__init__(tuple(ids))

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(self.value)


class DatomReader(DataSourceReader):
    """Streams the requested columns of a run of row groups as Arrow batches, in file order."""

    def __init__(self, source: Source, plans: Sequence[ColumnPlan], schema: T.StructType) -> None:
        self.source = source
        self.plans = tuple(plans)
        self.target = arrow_target(schema)
        self.filter: ds.Expression | None = None

    def partitions(self) -> Sequence[InputPartition]:
        ids = list(range(len(self.source.row_groups)))
        if self.filter is not None:
            kept = _fragment(self.source).split_by_row_group(self.filter)
            ids = [rg.id for piece in kept for rg in piece.row_groups]
        parts: list[list[int]] = []
        size = 0
        for rg in ids:
            if not parts or size + self.source.row_groups[rg] > PARTITION_BYTES:
                parts.append([])
                size = 0
            parts[-1].append(rg)
            size += self.source.row_groups[rg]
        return [RowGroups(p) for p in parts] or [RowGroups([])]

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        ids = partition.ids if isinstance(partition, RowGroups) else ()
        if not ids:
            return
        source = self.source
        _restore_memory(source.context.memory_files)
        store = ObjectStore(source.location)
        engine_reads.verify_object(store, source.resolved, source.verify)  # verified before anything streams
        fragment = _fragment(source).subset(row_group_ids=list(ids))
        columns = [p.name for p in self.plans]
        for batch in fragment.to_batches(columns=columns, filter=self.filter, batch_size=BATCH_ROWS):
            if batch.num_rows:
                yield pa.RecordBatch.from_arrays(
                    [col.cast(f.type) for col, f in zip(batch.columns, self.target, strict=True)], schema=self.target
                )


class FilteringReader(DatomReader):
    """:class:`DatomReader` that takes the filters Spark pushes (when the session enables it)."""

    def pushFilters(self, filters: list[Filter]) -> Iterator[Filter]:
        plans = {p.name: p for p in self.plans}
        for flt in filters:
            expression = to_expression(flt, plans)
            if expression is not None:
                self.filter = expression if self.filter is None else self.filter & expression
            yield flt  # Spark evaluates every filter again: pushdown only skips what cannot match


class DatomDataSource(DataSource):
    """``format("datom")``: a version of a datom table, read from its store by the executors."""

    context: ClassVar[Context] = Context()
    pushdown: ClassVar[bool] = False

    @classmethod
    def name(cls) -> str:
        return NAME

    def _source(self) -> Source:
        cached = getattr(self, "_planned", None)
        if cached is None:
            ref = self.options.get("path")
            if not ref:
                raise InvalidArgumentError(
                    "no table given to the datom data source", hint='spark.read.format("datom").load("PROJECT.table")'
                )
            cached = plan_source(ref, self.options, self.context)
            self._planned = cached
        return cached

    def schema(self) -> T.StructType:
        source = self._source()
        return _schema_of(source, source.plans())

    def reader(self, schema: T.StructType) -> DataSourceReader:
        source = self._source()
        plans = _requested(source, schema)
        cls = FilteringReader if self.pushdown else DatomReader
        return cls(source, plans, T.StructType([T.StructField(p.name, p.spark_type, True) for p in plans]))


def data_source_class(context: Context, pushdown: bool) -> type[DatomDataSource]:
    """A :class:`DatomDataSource` subclass carrying ``context`` (pickled by value to the workers)."""
    return type(
        "DatomDataSource",
        (DatomDataSource,),
        {
            "context": context,
            "pushdown": pushdown,
            "__qualname__": "DatomDataSource.registered",
            "__module__": __name__,
        },
    )
