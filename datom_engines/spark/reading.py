"""``read``: a version as a Spark DataFrame (the native parquet scan where Spark can reach the store,
else the ``datom`` data source), and ``register``: the data source on a session."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from .. import engine_reads
from ..core.names import TableRef
from ..errors import InvalidArgumentError
from ..project import governance, registry
from ..project.results import ResolvedVersion
from ..storage.location import StoreLocation
from ..storage.objectstore import ObjectStore
from .session import PUSHDOWN_CONF, active_session, conf_enabled, has_hadoop_aws
from .source import Context, data_source_class, lineage_metadata, memory_files
from .types import TIME_TYPE_CONF, ColumnPlan, plan_columns, spark_schema

_lock = threading.Lock()
_schemas: dict[tuple[str, str], pa.Schema] = {}


# ----- register ----------------------------------------------------------------------------------
def registered_context(*, time_enabled: bool = False) -> Context:
    """What :func:`register` gives the workers now: the projects open in this process (with their
    stores and credentials), the governance store in use, and the contents of ``memory://`` stores."""
    projects = {name: p.location for name in registry.registered() if (p := registry.lookup(name)) is not None}
    gov = governance.active_governance()
    locations = [*projects.values(), *([gov.location] if gov is not None else [])]
    return Context(projects, gov.location if gov is not None else None, memory_files(locations), time_enabled)


def register(spark: SparkSession | None = None, *, filter_pushdown: bool | None = None) -> SparkSession:
    """Register the ``datom`` data source on ``spark`` (default: the active session); returns the session.

    The workers get a snapshot of this process's view (see :func:`registered_context`): call it again
    after opening more projects or writing to a ``memory://`` store. Filter pushdown into the data
    source needs ``spark.sql.python.filterPushdown.enabled``; it is switched on when the session
    leaves it unset, unless ``filter_pushdown=False``.
    """
    session = active_session(spark)
    pushdown = conf_enabled(session, PUSHDOWN_CONF) if filter_pushdown is None else filter_pushdown
    if pushdown is None or (pushdown and not conf_enabled(session, PUSHDOWN_CONF)):
        session.conf.set(PUSHDOWN_CONF, "true")
        pushdown = True
    context = registered_context(time_enabled=bool(conf_enabled(session, TIME_TYPE_CONF)))
    session.dataSource.register(data_source_class(context, bool(pushdown)))
    return session


# ----- read --------------------------------------------------------------------------------------
def _stored_schema(store: ObjectStore, resolved: ResolvedVersion) -> pa.Schema:
    """The Arrow schema of a version's object (its footer), read once per process."""
    key = (resolved.url, resolved.parquet_sha or resolved.data_sha)
    with _lock:
        cached = _schemas.get(key)
    if cached is not None:
        return cached
    location = resolved.location
    if location.is_local:
        schema = pq.read_schema(location.fs_path(resolved.key))
    else:
        with store.fs.open(location.fs_path(resolved.key), "rb") as fh:
            schema = pq.read_schema(fh)
    with _lock:
        _schemas[key] = schema
    return schema


def _selected(schema: pa.Schema, columns: Sequence[str] | None, ref: TableRef) -> pa.Schema:
    if columns is None:
        return schema
    if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
        raise InvalidArgumentError(f"columns must be a list of names, got {columns!r}", hint='e.g. columns=["USUBJID"]')
    unknown = [c for c in columns if c not in schema.names]
    if unknown:
        raise InvalidArgumentError(
            f"{ref} has no column(s) {', '.join(map(repr, unknown))}",
            hint=f"its columns are: {', '.join(schema.names)}",
        )
    return pa.schema([schema.field(c) for c in columns])


def _quoted(name: str) -> Column:
    return F.col("`" + name.replace("`", "``") + "`")


def _interval(plan: ColumnPlan, metadata: dict[str, Any]) -> Column:
    """A duration stored in ms or s (read as bigint) as an exact ``interval day to second``."""
    micros = plan.scale_us or 1
    seconds = f"{micros // 10**6}.{micros % 10**6:06d}"
    scaled = (_quoted(plan.name) * F.expr(f"INTERVAL '{seconds}' SECOND")).cast(plan.spark_type)
    return scaled.alias(plan.name, metadata=metadata)


def _glob_escaped(url: str) -> str:
    """Spark globs the paths it is given: escape Hadoop's glob characters."""
    return "".join("\\" + c if c in "\\[]{}*?^" else c for c in url)


def _can_read_natively(spark: SparkSession, location: StoreLocation) -> bool:
    if location.is_local:
        return True
    if location.protocol == "s3":
        return has_hadoop_aws(spark) is not False  # unknown (Spark Connect): assume the cluster has it
    return False


def _native(
    spark: SparkSession, resolved: ResolvedVersion, plans: list[ColumnPlan], location: StoreLocation
) -> DataFrame:
    metadata = lineage_metadata(resolved)
    scan = T.StructType([T.StructField(f.name, f.dataType, True, metadata) for f in spark_schema(plans, scan=True)])
    url = location.hadoop_url(resolved.key)
    assert url is not None  # _can_read_natively
    df = spark.read.schema(scan).options(**location.hadoop_options()).parquet(_glob_escaped(url))
    if any(p.scale_us for p in plans):
        df = df.select(*[_interval(p, metadata) if p.scale_us else _quoted(p.name) for p in plans])
    return df


def _through_source(
    spark: SparkSession,
    resolved: ResolvedVersion,
    plans: list[ColumnPlan] | None,
    verify: str,
    storage_options: Mapping[str, Any] | None,
) -> DataFrame:
    session = register(spark)  # a fresh snapshot: the project (and a memory store's contents) as they are now
    reader = session.read.format("datom").option("version", resolved.version).option("verify", verify)
    if storage_options:
        reader = reader.option("storage_options", json.dumps(dict(storage_options), default=str))
    if plans is not None:  # a subset of the columns: the data source reads only these
        reader = reader.schema(spark_schema(plans))
    return reader.load(str(resolved.ref))


def read(
    spark: SparkSession | None,
    ref: str | TableRef,
    *,
    version: str | None = None,
    as_of: datetime | str | None = None,
    tag: str | None = None,
    columns: Sequence[str] | None = None,
    storage_options: Mapping[str, Any] | None = None,
    verify: str = "once",
    native: bool | None = None,
) -> DataFrame:
    """A version of ``"project.table"`` as a Spark DataFrame (``spark=None``: the active session).

    ``version`` is a full id or a unique prefix; ``as_of`` picks the newest version created at or
    before that time; ``tag`` the version a tag (named snapshot) pins; none means the latest.
    The version is resolved now (the frame is pinned to
    it) and its object checked against ``parquet_sha`` as ``verify`` says (``once``: the first time
    this machine reads it; ``always``; ``never``). ``columns`` limits the columns read.

    ``native`` (default: when possible) returns Spark's own parquet scan of the object, with its
    filter pushdown and row-group skipping: local paths, and ``s3a://`` when the session has
    hadoop-aws. ``native=False``, and stores Spark cannot read, use the ``datom`` data source.
    Types are mapped as :mod:`datom_engines.spark.types` says; columns Spark cannot hold exactly
    (nanosecond times) are refused, naming each.
    """
    session = active_session(spark)
    policy = engine_reads.check_verify(verify)
    project, resolved = engine_reads.resolve(
        ref, version=version, as_of=as_of, tag=tag, storage_options=storage_options
    )
    location = engine_reads.read_location(resolved, storage_options)
    possible = _can_read_natively(session, location)
    if native and not possible:
        raise InvalidArgumentError(
            f"Spark cannot read {location.protocol}:// stores with its own parquet reader"
            + (" (this session has no hadoop-aws for s3a://)" if location.protocol == "s3" else ""),
            hint="leave native= unset (the datom data source reads any fsspec store), or add hadoop-aws to the session",
        )
    use_native = possible if native is None else native
    if use_native:
        engine_reads.verify_object(project.store, resolved, policy)  # on the driver, before the scan is planned
    schema = _selected(_stored_schema(project.store, resolved), columns, resolved.ref)
    # the columns are planned here too, so a column Spark cannot hold is a datom error on either path
    plans = plan_columns(schema, time_enabled=bool(conf_enabled(session, TIME_TYPE_CONF)), table=str(resolved.ref))
    if use_native:
        return _native(session, resolved, plans, location)
    return _through_source(session, resolved, plans if columns is not None else None, policy, storage_options)
