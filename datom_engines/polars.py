"""Polars adapter: ``pl.scan_datom`` / ``pl.read_datom`` and the ``.datom`` frame namespaces.

Importing :mod:`datom_engines` imports this module, which registers::

    pl.scan_datom("STUDY1.lb", version="a793e7")   # a native lazy parquet scan of that version
    pl.scan_datom("STUDY1.lb", tag="dblock-1")     # the version a tag (named snapshot) pins
    pl.read_datom("STUDY1.lb", as_of="2026-02-01")  # eager, the stored bytes verified first
    df.datom.write("STUDY1.lb", message="...")      # DataFrame or LazyFrame (streamed, not collected)

The adapter only turns a resolved version into Polars calls: the metadata is resolved once, when
``scan_datom`` is called, and the result is ``pl.scan_parquet`` over the version's object URL(s), so
projection and predicate pushdown and row-group skipping are Polars' own. Polars reads local paths and
``s3://`` (and GCS/Azure) natively; for a store Polars cannot reach (fsspec ``memory://``, ...) the
object is copied once per process into a temporary directory, verified against ``parquet_sha``, and
that file is scanned. Every scan first checks the stored bytes through
:func:`datom_engines.project.reading.verified_object` (``verify=``), so no plan is ever built over
bytes that differ from ``parquet_sha``.

Lineage: every URL ``scan_datom`` hands to Polars is remembered with the version it holds. When
``lf.datom.write`` writes a plan, the plan's sources (read from ``LazyFrame.serialize()``, or from
``explain()`` when the plan holds Python functions that cannot be serialised) are matched against those
URLs and the matched versions are recorded as ``parents``, in plan order. Passing ``parents=``
(even ``[]``) overrides this.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import polars as pl

from . import api, engine_reads
from .core.codecs import Compression
from .core.names import TableRef
from .progress import Progress
from .project.project import Project
from .project.results import ResolvedVersion, VerifiedObject, WriteResult
from .storage.location import StoreLocation, polars_options

__all__ = ["DatomDataFrame", "DatomLazyFrame", "lineage_of", "read_datom", "scan_datom"]

#: Store protocols Polars' own (object_store) readers handle; anything else is copied locally first.
POLARS_NATIVE_PROTOCOLS = frozenset({"file", "s3", "gs", "gcs", "az", "azure", "abfs", "abfss", "adl"})

#: Polars' own storage settings (``polars.io.cloud._utils.POLARS_STORAGE_CONFIG_KEYS`` in Polars 2.1).
POLARS_CONFIG_KEYS = frozenset(
    {
        "file_cache_ttl",
        "max_retries",
        "retry_timeout_ms",
        "retry_init_backoff_ms",
        "retry_max_backoff_ms",
        "retry_base_multiplier",
        "rate_read_init",
        "rate_read_floor",
        "rate_read_ceiling",
        "rate_write_init",
        "rate_write_floor",
        "rate_write_ceiling",
    }
)


# ----- process-level record of what scan_datom resolved (for automatic lineage) -------------------
@dataclass(frozen=True, slots=True)
class _Scanned:
    """A version handed to Polars by :func:`scan_datom`, and the project it came from."""

    project: Project
    resolved: ResolvedVersion


_scans: dict[str, _Scanned] = {}
_lock = threading.Lock()


def _remember(sources: Sequence[str], project: Project, resolved: ResolvedVersion) -> None:
    """Record that ``sources`` hold ``resolved`` (the latest scan of a URL wins: its data is the same)."""
    with _lock:
        for source in sources:
            _scans[source] = _Scanned(project, resolved)


# ----- scanning ----------------------------------------------------------------------------------
def _project_and_table(ref: api.Ref, storage_options: Mapping[str, Any] | None) -> tuple[Project, str]:
    parsed = api.table_ref(ref)
    return api.project(parsed.project, storage_options=storage_options), parsed.table


def scan_options(location: StoreLocation, storage_options: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Polars ``storage_options`` for a scan: the project's own, overridden by the caller's.

    Credentials and endpoints may be given in Polars or fsspec keys; Polars' own settings
    (``max_retries``, ``file_cache_ttl``...) pass through unchanged.
    """
    merged = dict(location.polars_options() or {})
    if storage_options:
        merged.update(polars_options(location.protocol, storage_options, region=location.region) or {})
        merged.update({k: v for k, v in storage_options.items() if k in POLARS_CONFIG_KEYS})
    return merged or None


def _scan_source(
    project: Project,
    table: str,
    version: str | None,
    as_of: datetime | str | None,
    tag: str | None,
    verify: str,
) -> VerifiedObject:
    """The verified bytes to scan: the store object in place, or a local copy Polars can read.

    Polars cannot read fsspec-only stores (``memory://``, ...): their object is copied once per process
    into a temporary directory (hashed on the way) and that file is scanned.
    """
    if project.location.protocol in POLARS_NATIVE_PROTOCOLS:
        return project.verified_object(table, version=version, as_of=as_of, tag=tag, verify=verify)
    resolved = project.resolve(table, version=version, as_of=as_of, tag=tag)
    return engine_reads.local_copy(project.store, resolved, verify)


def scan_datom(
    ref: str | TableRef,
    *,
    version: str | None = None,
    as_of: datetime | str | None = None,
    tag: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    verify: str = "once",
) -> pl.LazyFrame:
    """Lazily scan a version of ``"project.table"``: a native ``pl.scan_parquet`` of its stored object.

    ``version`` is a full version id or a unique prefix of one; ``as_of`` (a datetime or ISO string)
    picks the newest version created at or before that time; ``tag`` the version a tag (named
    snapshot, :meth:`Project.tag`) pins; none of them means the latest version. The
    metadata is resolved once, now: later writes do not change what this frame reads. ``storage_options``
    (Polars or fsspec keys) are used to find the project and are passed to the scan, over the project's
    own.

    The stored bytes are checked against ``parquet_sha`` now, before the plan is built (see
    :func:`datom_engines.project.reading.verified_object`): ``verify="once"`` (default) hashes an object
    once per machine and then trusts the verdict while the object is unchanged (a ``stat`` or ``HEAD``
    per call), ``"always"`` hashes it on every call, ``"never"`` checks existence and size only.
    Corrupted bytes raise :class:`~datom_engines.IntegrityError` here, so no frame over them exists.
    """
    project, table = _project_and_table(ref, storage_options)
    source = _scan_source(project, table, version, as_of, tag, verify)
    _remember(source.urls, project, source.resolved)
    return pl.scan_parquet(
        list(source.urls) if len(source.urls) > 1 else source.url,
        storage_options=scan_options(project.location, storage_options) if not source.is_local_file else None,
        glob=False,
        hive_partitioning=False,
    )


def read_datom(
    ref: str | TableRef,
    *,
    version: str | None = None,
    as_of: datetime | str | None = None,
    tag: str | None = None,
    columns: Sequence[str] | None = None,
    storage_options: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    verify: str = "once",
) -> pl.DataFrame:
    """Read a version of ``"project.table"`` eagerly, verifying the stored bytes (``parquet_sha``) first.

    Selection and ``verify`` work as in :func:`scan_datom`; ``columns`` limits the columns read. Raises
    :class:`~datom_engines.IntegrityError` (and returns nothing) when the object does not match its hash.
    """
    project, table = _project_and_table(ref, storage_options)
    arrow = project.read(
        table,
        version=version,
        as_of=as_of,
        tag=tag,
        columns=list(columns) if columns is not None else None,
        progress=progress,
        verify=verify,
    )
    return cast(pl.DataFrame, pl.from_arrow(arrow, rechunk=False))


# ----- lineage -----------------------------------------------------------------------------------
def _msgpack_str(n: int) -> bytes:
    """The MessagePack header of an ``n``-byte string (the encoding of ``LazyFrame.serialize()``)."""
    if n < 32:
        return bytes([0xA0 | n])
    if n < 0x100:
        return b"\xd9" + n.to_bytes(1, "big")
    if n < 0x10000:
        return b"\xda" + n.to_bytes(2, "big")
    return b"\xdb" + n.to_bytes(4, "big")


def _plan_text(lf: pl.LazyFrame) -> bytes:
    """The plan with every source path spelled out in full."""
    try:
        return lf.serialize()
    except Exception:  # plans holding Python functions need cloudpickle to serialise
        try:
            return lf.explain(optimized=False).encode("utf-8")
        except Exception as exc:
            warnings.warn(
                f"could not inspect the query plan for datom sources ({exc}); no parents were recorded. "
                "Pass parents=[...] to record them.",
                stacklevel=4,
            )
            return b""


def _position(plan: bytes, source: str) -> int:
    """Where ``source`` occurs in ``plan`` as a whole path, or -1."""
    raw = source.encode("utf-8")
    pos = plan.find(_msgpack_str(len(raw)) + raw)  # serialised plan: an exact string
    if pos >= 0:
        return pos
    for opener in (b"[", b", "):  # explain(): "SCAN [a, b]"
        start = plan.find(opener + raw)
        while start >= 0:
            end = start + len(opener) + len(raw)
            if plan[end : end + 1] in (b"]", b","):
                return start
            start = plan.find(opener + raw, start + 1)
    return -1


def _scans_in(lf: pl.LazyFrame) -> list[_Scanned]:
    with _lock:
        known = dict(_scans)
    if not known:
        return []
    plan = _plan_text(lf)
    hits = sorted((pos, source) for source in known if (pos := _position(plan, source)) >= 0)
    out: list[_Scanned] = []
    seen: set[tuple[str, str]] = set()
    for _, source in hits:
        scanned = known[source]
        key = (str(scanned.resolved.ref), scanned.resolved.version)
        if key not in seen:
            seen.add(key)
            out.append(scanned)
    return out


def lineage_of(lf: pl.LazyFrame) -> list[dict[str, Any]]:
    """The ``parents`` entries ``lf.datom.write`` records for this plan: the datom versions it scans.

    Each entry is what :meth:`Project.parent` returns (``source``, ``table``, ``version``,
    ``data_sha`` and the parent's ``source_lineage`` when it has one), in the order the plan scans them.
    """
    return [s.project.parent(s.resolved.ref.table, s.resolved.version) for s in _scans_in(lf)]


# ----- namespaces --------------------------------------------------------------------------------
class _DatomWriter:
    """The ``write`` shared by the DataFrame and LazyFrame namespaces."""

    def __init__(self, frame: pl.DataFrame | pl.LazyFrame) -> None:
        self._frame = frame

    def _default_parents(self) -> list[dict[str, Any]] | None:
        return None

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
        """Write this frame as a new version of ``"project.table"``; returns the version written.

        ``result.version`` is the version id, ``result.data_sha`` the content hash and ``result.change``
        ``full``, ``metadata_only`` or ``none`` (identical data and metadata: nothing written).
        ``parents`` (entries from :meth:`Project.parent`) records the versions this one derives from; for
        a LazyFrame it defaults to the datom tables the plan scans (``parents=[]`` records none). A
        LazyFrame is streamed to parquet and hashed from the file, never collected in memory.
        ``compression`` picks the parquet codecs (see :meth:`Project.write`; a LazyFrame takes one codec).
        """
        if parents is None:
            parents = self._default_parents()
        return api.write(
            self._frame,
            ref,
            message=message,
            custom=custom,
            parents=parents,
            progress=progress,
            compression=compression,
        )


@pl.api.register_dataframe_namespace("datom")
class DatomDataFrame(_DatomWriter):
    """``df.datom``: write a DataFrame as a version of a datom table."""

    def __init__(self, df: pl.DataFrame) -> None:
        super().__init__(df)


@pl.api.register_lazyframe_namespace("datom")
class DatomLazyFrame(_DatomWriter):
    """``lf.datom``: write a lazy query as a version of a datom table, with automatic lineage."""

    def __init__(self, lf: pl.LazyFrame) -> None:
        super().__init__(lf)
        self._lf = lf

    def parents(self) -> list[dict[str, Any]]:
        """The datom versions this plan scans (what :meth:`write` records as ``parents``)."""
        return lineage_of(self._lf)

    def _default_parents(self) -> list[dict[str, Any]] | None:
        return self.parents() or None


pl.scan_datom = scan_datom  # type: ignore[attr-defined]
pl.read_datom = read_datom  # type: ignore[attr-defined]
