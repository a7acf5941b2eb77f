"""DuckDB adapter: datom tables in SQL, read by DuckDB's own parquet reader.

``register(con)`` installs a few Python functions that resolve a ``"project.table"`` reference to
the stored parquet object(s) of a version, checked against ``parquet_sha``, then runs
``sql/datom.sql``, which defines the table macros ``datom(ref, version := NULL, as_of := NULL,
tag := NULL, verify := NULL)``, ``datom_tables(project)`` and ``datom_history(ref)``. Because ``datom()``
expands to ``read_parquet(<resolved files>)``, DuckDB pushes filters and projections into the scan as
for any parquet file. ``attach(con, project)`` adds a schema with one view per table (``tag=`` /
``as_of=`` pin every view to one snapshot of the project); ``write(con, ref, query)`` streams a query
result into a new version through the core write path and records the ``datom()`` versions it read as
its parents.

Object stores are reached through fsspec filesystems registered on the database
(``register_filesystem``); S3 ones are created without read-ahead caching, which otherwise makes
DuckDB fetch many times the bytes a selective query needs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any, TypeVar

import duckdb
import fsspec

from . import api
from .core.codecs import Compression
from .core.cv1 import check_hashable
from .core.metadata import utc_timestamp
from .core.names import TableRef, validate_name
from .errors import InvalidArgumentError, NotFoundError, StoreError, UnsupportedDataError
from .progress import Progress
from .project import reading, registry, warm_reads
from .project.handle import ProjectHandle
from .project.prepare import ROW_GROUP_SIZE
from .project.results import ResolvedVersion, VerifiedObject, WriteResult
from .storage.location import StoreLocation
from .storage.objectstore import ObjectStore
from .storage.verify import check_mode

__all__ = ["attach", "register", "sql_text", "write"]

Connection = duckdb.DuckDBPyConnection

# Object-store protocols that get one DuckDB filesystem per store configuration (endpoint, credentials),
# registered under an alias such as "s3-datom1", so stores with different credentials can be mixed in
# one database. Other protocols are registered under their own name.
_ALIASED_PROTOCOLS = frozenset({"s3"})
_METADATA_THREADS = 8

_PARENT_TYPE = 'STRUCT(source VARCHAR, "table" VARCHAR, version VARCHAR, data_sha VARCHAR)'
_TABLE_ROW_TYPE = (
    "STRUCT(name VARCHAR, version VARCHAR, data_sha VARCHAR, nrow BIGINT, ncol BIGINT, updated VARCHAR, "
    "version_count BIGINT)"
)
_VERSION_ROW_TYPE = (
    f"STRUCT(version VARCHAR, data_sha VARCHAR, created_at VARCHAR, change VARCHAR, parents {_PARENT_TYPE}[], "
    "author VARCHAR, message VARCHAR)"
)

_lock = threading.RLock()
_aliases: dict[tuple[str, str], str] = {}

_recorder = threading.local()
_recordings: list[None] = []  # one item per _recording() in progress, in any thread

T = TypeVar("T")
R = TypeVar("R")


# ----- SQL text -----------------------------------------------------------------------------------
def sql_text() -> str:
    """The text of ``sql/datom.sql`` (installed as the package data ``datom_engines.sql``)."""
    return resources.files("datom_engines.sql").joinpath("datom.sql").read_text(encoding="utf-8")


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ----- registration ------------------------------------------------------------------------------
class _Owner:
    """The connection the Python functions were created on, held weakly.

    DuckDB ties a Python function to the connection that created it (it must stay open while the
    database is queried); holding it weakly keeps the function -> connection cycle from pinning the
    database, and its file lock, in memory. The resolver uses it to register object-store filesystems,
    which DuckDB shares between all connections of a database.
    """

    def __init__(self, con: Connection) -> None:
        self._ref = weakref.ref(con)

    def ensure_filesystem(self, name: str, make: Callable[[], fsspec.AbstractFileSystem]) -> None:
        """Register the filesystem ``name`` on the database unless it already is."""
        con = self._ref()
        if con is None:
            raise StoreError(
                "cannot reach an object store from DuckDB: the connection datom was registered on is gone",
                hint="call datom_engines.duckdb.register(con) on the connection you keep open",
            )
        if con.filesystem_is_registered(name):
            return
        try:
            con.register_filesystem(make())
        except duckdb.InvalidInputException:
            if not con.filesystem_is_registered(name):  # anything but losing a race to another thread
                raise


def _has_functions(cur: Connection) -> bool:
    row = cur.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'datom_file' AND database_name = 'system'"
    ).fetchone()
    return bool(row and row[0])


def _readonly(cur: Connection) -> bool:
    row = cur.execute("SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    return bool(row and row[0])


def register(con: Connection | None = None) -> Connection:
    """Install the datom functions and macros on ``con`` (default: DuckDB's default connection).

    After this, ``FROM datom('proj.table')``, ``datom_tables('proj')`` and ``datom_history('proj.t')``
    work on ``con`` and on every cursor of its database; registering again is harmless. Register the
    connection you keep open (not a short-lived cursor): DuckDB ties Python functions to the
    connection that created them. On a database opened read-only the macros can only be TEMP, so each
    cursor must then be registered too. Returns ``con``.
    """
    con = duckdb.default_connection() if con is None else con
    if not isinstance(con, Connection):
        raise InvalidArgumentError(
            f"expected a duckdb connection, got {type(con).__module__}.{type(con).__qualname__}",
            hint="pass the result of duckdb.connect() (or nothing, for DuckDB's default connection)",
        )
    with _lock, con.cursor() as cur:
        if not _has_functions(cur):
            _create_functions(con)
        text = sql_text()
        if _readonly(cur):
            con.execute(text.replace("CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO"))
        elif _macros_version(cur) != _sql_version(text):  # (re)create only when missing or out of date
            cur.execute(text)
            cur.execute(f"COMMENT ON MACRO TABLE datom IS {_quote_literal(_sql_version(text))}")
    return con


def _sql_version(text: str) -> str:
    return "datom_engines sql " + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _macros_version(cur: Connection) -> str | None:
    """The version comment of the ``datom`` macro of the current database (None: no such macro)."""
    row = cur.execute(
        "SELECT comment FROM duckdb_functions() WHERE function_name = 'datom' AND function_type = 'table_macro' "
        "AND database_name = current_database()"
    ).fetchone()
    return row[0] if row else None


def _create_functions(con: Connection) -> None:
    special = {"null_handling": "special"}
    resolver = _FileResolver(_Owner(con))
    con.create_function("datom_file", resolver, ["VARCHAR"] * 5, "VARCHAR", **special)
    con.create_function("datom_latest_file", resolver.latest, ["VARCHAR"], "VARCHAR", **special)
    con.create_function("datom_table_list", table_rows, ["VARCHAR"], f"{_TABLE_ROW_TYPE}[]", **special)
    con.create_function("datom_version_list", version_rows, ["VARCHAR"], f"{_VERSION_ROW_TYPE}[]", **special)


# ----- resolving a datom() reference ---------------------------------------------------------------
def _require(value: str | None, what: str, example: str) -> str:
    if value is None:
        raise InvalidArgumentError(f"{what} is NULL", hint=f"pass it as a string, e.g. {example}")
    return value


def _resolve(
    owner: _Owner, ref: str | None, version: str | None, as_of: str | None, tag: str | None, verify: str | None
) -> tuple[str, ProjectHandle, VerifiedObject]:
    """The parquet URL DuckDB should read for ``datom(ref, version, as_of, tag, verify)``, the project
    it resolved through, and the checked object.

    Resolves through the project (metadata only), checks the stored bytes against ``parquet_sha``
    (:func:`~datom_engines.project.reading.verified_object`: a corrupted object raises the datom
    :class:`IntegrityError`, which DuckDB reports as an ``InvalidInputException``, so the query returns
    no rows), and registers the store's filesystem on the database when the object is read in place
    from an object store.
    """
    parsed = _parse_ref(_require(ref, "the table reference of datom()", "datom('STUDY1.lb')"))
    proj = registry.lookup(parsed.project) or api.project(parsed.project)
    mode = "once" if verify is None else check_mode(verify)
    source = proj.verified_object(parsed.table, version=version, as_of=as_of, tag=tag, verify=mode)
    _record(source.resolved)
    return _engine_url(owner, source), proj, source


@dataclass(frozen=True, slots=True)
class _Warm:
    """A ``datom_file`` answer kept by :class:`_FileResolver`, and what it holds for."""

    project: ProjectHandle
    entry: warm_reads.WarmEntry
    url: str

    def current(self) -> bool:
        """True while the name still means this project and the warm entry still holds."""
        return registry.lookup(self.project.name) is self.project and self.entry.current()


class _FileResolver:
    """The ``datom_file(ref, version, as_of, tag, verify)`` and ``datom_latest_file(ref)`` UDFs of one
    connection: :func:`_resolve`, with the warm answers of local stores (see
    :mod:`datom_engines.project.warm_reads`) kept here too.

    DuckDB calls it once per ``datom()`` in a query, while binding; a short query (a selective filter
    takes about 2.5 ms) showed the Python it ran, so a repeated call with the same arguments is a dict
    lookup, the project registry lookup and the ``stat`` calls of the warm entry, nothing else. (Each
    argument of a Python UDF costs DuckDB time too, hence the one-argument function for the latest
    version, which ``datom(ref)`` calls.)
    """

    def __init__(self, owner: _Owner) -> None:
        self._owner = owner
        self._warm: dict[str | tuple[str | None, ...] | None, _Warm] = {}  # the latest version: by ref alone

    def __call__(
        self,
        ref: str | None,
        version: str | None = None,
        as_of: str | None = None,
        tag: str | None = None,
        verify: str | None = None,
    ) -> str:
        plain = version is None and as_of is None and tag is None and verify is None
        key: str | tuple[str | None, ...] | None = ref if plain else (ref, version, as_of, tag, verify)
        warm = self._warm.get(key)
        if warm is not None and warm.current():
            _record(warm.entry.found.resolved)
            return warm.url
        url, proj, source = _resolve(self._owner, ref, version, as_of, tag, verify)
        if verify is None or verify == "once":
            found = warm_reads.entry(
                proj.store, proj.name, source.resolved.ref.table, version=version, as_of=as_of, tag=tag
            )
            if found is not None and found.found is source and registry.lookup(proj.name) is proj:
                if len(self._warm) >= warm_reads.MEMO_SIZE:
                    self._warm.clear()
                self._warm[key] = _Warm(proj, found, url)
        return url

    def latest(self, ref: str | None) -> str:
        """``datom_latest_file(ref)``: the latest version's URL (``datom(ref)`` with no other argument)."""
        return self(ref)


def _record(resolved: ResolvedVersion) -> None:
    if not _recordings:  # nobody records (the usual case): skip the thread-local lookup
        return
    seen: list[ResolvedVersion] | None = getattr(_recorder, "seen", None)
    if seen is not None:
        seen.append(resolved)


@functools.lru_cache(maxsize=1024)
def _parse_ref(ref: str) -> TableRef:
    """``TableRef.parse`` (pure), remembered: a warm ``datom()`` query runs as little Python as it can."""
    return TableRef.parse(ref)


def _engine_url(owner: _Owner, source: VerifiedObject) -> str:
    if source.is_local_file:
        return source.url
    location = source.resolved.location
    name, make = _filesystem(location)
    owner.ensure_filesystem(name, make)
    return f"{name}://{location.fs_path(source.resolved.key)}"


def _filesystem(location: StoreLocation) -> tuple[str, Callable[[], fsspec.AbstractFileSystem]]:
    """The name DuckDB knows a store's filesystem by (the URL scheme to use), and how to create it."""
    if location.protocol not in _ALIASED_PROTOCOLS:
        fs = ObjectStore(location).fs  # DuckDB registers it under its first protocol name
        return (fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]), lambda: fs
    # no read-ahead: DuckDB asks for the byte ranges it needs (column chunks after the footer)
    uncached = StoreLocation.parse(location, storage_options={**location.storage_options, "default_cache_type": "none"})
    options = uncached.fsspec_options()
    key = (location.protocol, json.dumps(options, sort_keys=True, default=repr))
    with _lock:
        name = _aliases.setdefault(key, f"{location.protocol}-datom{len(_aliases) + 1}")

    def make() -> fsspec.AbstractFileSystem:
        base = type(ObjectStore(uncached).fs)
        aliased = type(f"DuckDB{base.__name__}", (base,), {"protocol": (name,)})
        return aliased(**options)

    return name, make


@contextmanager
def _recording() -> Iterator[list[ResolvedVersion]]:
    """Collect the versions that ``datom()`` resolves in this thread (DuckDB binds on the caller's thread)."""
    previous = getattr(_recorder, "seen", None)
    seen: list[ResolvedVersion] = []
    _recorder.seen = seen
    _recordings.append(None)
    try:
        yield seen
    finally:
        _recordings.pop()
        _recorder.seen = previous


# ----- metadata table functions --------------------------------------------------------------------
def _parallel(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    if len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(min(len(items), _METADATA_THREADS), thread_name_prefix="datom-meta") as pool:
        return list(pool.map(fn, items))


def _timestamp(value: Any) -> str | None:
    return utc_timestamp(value) if value is not None else None


def table_rows(project: str | None) -> list[dict[str, Any]]:
    """Rows of ``datom_tables(project)``: the manifest entries plus each table's row and column counts."""
    proj = api.project(validate_name(_require(project, "the project of datom_tables()", "'STUDY1'"), "project name"))
    infos = proj.tables()
    metas = _parallel(lambda info: proj.metadata(info.name), infos)
    return [
        {
            "name": info.name,
            "version": info.current_version,
            "data_sha": info.current_data_sha,
            "nrow": meta.get("nrow"),
            "ncol": meta.get("ncol"),
            "updated": _timestamp(info.last_updated),
            "version_count": info.version_count,
        }
        for info, meta in zip(infos, metas, strict=True)
    ]


def version_rows(ref: str | None) -> list[dict[str, Any]]:
    """Rows of ``datom_history(ref)``: the version history, newest first, with change kind and parents."""
    parsed = TableRef.parse(_require(ref, "the table reference of datom_history()", "'STUDY1.lb'"))
    proj = api.project(parsed.project)
    versions = proj.history(parsed.table)

    def parents(version_id: str) -> list[dict[str, str]] | None:
        try:
            meta = reading.read_snapshot(proj.store, proj.name, parsed.table, version_id)
        except NotFoundError:
            return None  # snapshot missing from the mirror: parents unknown
        entries = meta.get("parents") or []
        return [
            {k: e.get(k) for k in ("source", "table", "version", "data_sha")} for e in entries if isinstance(e, dict)
        ]

    lineage = _parallel(parents, [v.id for v in versions])
    rows = []
    for i, (version, version_parents) in enumerate(zip(versions, lineage, strict=True)):
        older = versions[i + 1] if i + 1 < len(versions) else None
        same_data = older is not None and older.data_sha == version.data_sha
        rows.append(
            {
                "version": version.id,
                "data_sha": version.data_sha,
                "created_at": _timestamp(version.created_at),
                "change": "metadata_only" if same_data else "full",
                "parents": version_parents,
                "author": version.author,
                "message": version.message,
            }
        )
    return rows


# ----- views -------------------------------------------------------------------------------------
def attach(
    con: Connection | None,
    project: str,
    *,
    schema: str | None = None,
    tag: str | None = None,
    as_of: datetime | str | None = None,
) -> list[str]:
    """Create (or refresh) a schema named after ``project`` with one view per table.

    Without ``tag``/``as_of``, ``FROM STUDY1.lb`` reads the latest version of ``STUDY1.lb`` (each query
    resolves it again); run ``attach`` again to pick up tables written since. With ``tag`` (a named
    snapshot) or ``as_of`` (a time: the project after the newest commit made by then), every view is
    pinned to the version of that one snapshot, so a join across views reads tables that belong
    together, whatever is written later; tables not in the snapshot get no view (views a previous
    ``attach`` made for them are dropped). ``SHOW ALL TABLES`` / ``information_schema.tables`` list
    the tables. ``schema`` overrides the schema name. Returns the table names.
    """
    con = register(con)
    proj = api.project(validate_name(project, "project name"))
    schema_name = validate_name(schema, "schema name") if schema is not None else proj.name
    quoted = _quote_ident(schema_name)
    if tag is None and as_of is None:
        pinned: dict[str, str | None] = {info.name: None for info in proj.tables()}
    else:
        snapshot = proj.snapshot(tag=tag, as_of=as_of)
        pinned = {name: entry.version for name, entry in snapshot.tables.items()}
    # on ``con`` itself, not a cursor: a cursor's DDL stays invisible to ``con`` while ``con`` holds an
    # open transaction (a pending result), which would make a successful attach look like it did nothing
    with _lock:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
        for old in _attached_views(con, schema_name):
            if old not in pinned:
                con.execute(f"DROP VIEW {quoted}.{_quote_ident(old)}")
        for table, version in pinned.items():
            args = _quote_literal(f"{proj.name}.{table}")
            if version is not None:
                args += f", version := {_quote_literal(version)}"
            con.execute(f"CREATE OR REPLACE VIEW {quoted}.{_quote_ident(table)} AS SELECT * FROM datom({args})")
    return list(pinned)


def _attached_views(con: Connection, schema: str) -> list[str]:
    """Views of ``schema`` (current database) that read through ``datom(...)``."""
    rows = con.execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE schema_name = ? AND database_name = current_database()",
        [schema],
    ).fetchall()
    return [name for name, sql in rows if "datom(" in (sql or "")]


# ----- writing -----------------------------------------------------------------------------------
def write(
    con: Connection | None,
    ref: str | TableRef,
    query: str | duckdb.DuckDBPyRelation,
    *,
    message: str | None = None,
    custom: Mapping[str, Any] | None = None,
    parents: Sequence[Mapping[str, Any]] | None = None,
    progress: Progress | None = None,
    compression: Compression = None,
) -> WriteResult:
    """Write the result of a SQL query (or a relation) as a new version of ``"project.table"``.

    The result is streamed to parquet in Arrow batches (never collected in memory) and written through
    the same path as every other write. Unless ``parents`` is given, the table versions the query read
    through ``datom(...)`` (or through views made by :func:`attach`) are recorded as its parents.
    ``compression`` picks the parquet codecs (see :meth:`Project.write`).
    """
    con = register(con)
    target = TableRef.parse(ref)
    relation = _relation(con, query)
    with _recording() as seen:
        reader = relation.to_arrow_reader(ROW_GROUP_SIZE)  # binds the query again: datom() resolves here
    try:
        check_hashable(reader.schema)
    except UnsupportedDataError as exc:
        raise UnsupportedDataError(
            exc.message, hint=f"{exc.hint}; in SQL, cast them in the query (for example col::DOUBLE, col::VARCHAR)"
        ) from None
    if parents is None:
        parents = _parents(seen)
    return api.write(
        reader, target, message=message, custom=custom, parents=parents, progress=progress, compression=compression
    )


def _relation(con: Connection, query: str | duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    """The relation to write; a SQL string must be exactly one SELECT (nothing else is executed)."""
    if isinstance(query, duckdb.DuckDBPyRelation):
        return query
    if not isinstance(query, str):
        raise InvalidArgumentError(
            f"expected a SQL string or a duckdb relation, got {type(query).__name__}",
            hint="pass a query such as \"SELECT * FROM datom('STUDY1.lb') WHERE ...\"",
        )
    statements = con.extract_statements(query)
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        kinds = ", ".join(s.type.name for s in statements) or "nothing"
        raise InvalidArgumentError(
            f"the query to write must be a single SELECT, got {kinds}",
            hint="pass one query that returns the rows to write (SELECT, FROM ..., WITH ... SELECT, VALUES)",
        )
    return con.sql(query)


def _parents(seen: Sequence[ResolvedVersion]) -> list[dict[str, Any]] | None:
    unique = list({(r.ref.project, r.ref.table, r.version): r for r in seen}.values())
    if not unique:
        return None
    return [api.project(r.ref.project).parent(r.ref.table, version=r.version) for r in unique]
