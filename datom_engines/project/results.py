"""Values returned by project operations (frozen dataclasses)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..core.metadata import utc_timestamp
from ..core.names import TableRef
from ..core.snapshots import SnapshotEntry, tables_json
from ..core.values import ChangeKind
from ..errors import NotFoundError
from ..storage.location import StoreLocation


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write did. ``change`` is ``none`` (nothing written), ``metadata_only`` or ``full``."""

    ref: TableRef
    version: str
    data_sha: str
    change: ChangeKind
    commit: str | None
    uploaded: bool
    nrow: int
    ncol: int
    parquet_sha: str | None = None

    @property
    def short_version(self) -> str:
        """The 8-character display form of the version id."""
        return self.version[:8]

    def __str__(self) -> str:
        return f"{self.ref} {self.change}: version {self.short_version} ({self.nrow} x {self.ncol})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "project": self.ref.project,
            "table": self.ref.table,
            "version": self.version,
            "data_sha": self.data_sha,
            "change": self.change,
            "commit": self.commit,
            "uploaded": self.uploaded,
            "nrow": self.nrow,
            "ncol": self.ncol,
            "parquet_sha": self.parquet_sha,
        }


@dataclass(frozen=True, slots=True)
class TransactionResult:
    """What a transaction (several tables, one commit) did: the commit and one result per table."""

    commit: str | None
    results: tuple[WriteResult, ...]

    def __getitem__(self, table: str) -> WriteResult:
        for result in self.results:
            if result.ref.table == table:
                return result
        raise KeyError(table)

    def __iter__(self) -> Iterator[WriteResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {"commit": self.commit, "results": [r.to_dict() for r in self.results]}


@dataclass(frozen=True, slots=True)
class ProjectSnapshot:
    """The versions of a project's tables that belong together: a tag, or the project after one commit.

    ``source`` says where it came from: ``tag``, ``log`` (the commit log: the state after ``commit``),
    ``manifest`` (the project now, with changes the log has not recorded yet, such as R's) or
    ``histories`` (``as_of`` a time, some tables read from their own version histories).
    """

    project: str
    tables: Mapping[str, SnapshotEntry]
    commit: str | None = None
    created_at: datetime | None = None
    tag: str | None = None
    source: str = "log"

    def version(self, table: str) -> str:
        """The version of ``table`` in this snapshot; :class:`NotFoundError` if it has none."""
        entry = self.tables.get(table)
        if entry is None:
            what = f"tag {self.tag!r}" if self.tag else "this snapshot"
            raise NotFoundError(
                f"table {table!r} of project {self.project!r} is not in {what}",
                hint=f"its tables: {', '.join(self.tables) or 'none'}",
            )
        return entry.version

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "project": self.project,
            "tag": self.tag,
            "commit": self.commit,
            "created_at": utc_timestamp(self.created_at) if self.created_at else None,
            "source": self.source,
            "tables": tables_json(self.tables),
        }


@dataclass(frozen=True, slots=True)
class ResolvedVersion:
    """A table version resolved to the stored parquet object that holds it.

    ``urls`` are plain parquet URIs (local paths or ``s3://...``) that any engine can read with
    ``storage_options``; ``accepted_parquet_shas`` are the byte hashes recorded for this content;
    ``size_bytes`` is the object's size as the metadata records it (None when the resolution did not
    read it: the history has no sizes). Resolving reads metadata only: before handing the object to an
    engine, check its bytes with :func:`~datom_engines.project.reading.verified_object`.
    """

    ref: TableRef
    version: str
    data_sha: str
    parquet_sha: str | None
    created_at: datetime | None
    key: str
    location: StoreLocation
    accepted_parquet_shas: frozenset[str] = field(default_factory=frozenset)
    size_bytes: int | None = None

    @property
    def url(self) -> str:
        """URL of the parquet object."""
        return self.location.url(self.key)

    @property
    def urls(self) -> tuple[str, ...]:
        """All parquet URIs of this version (one object per version today)."""
        return (self.url,)

    @property
    def storage_options(self) -> dict[str, Any] | None:
        """Options for Polars' native readers (None for local stores)."""
        return self.location.polars_options()


@dataclass(frozen=True, slots=True)
class VerifiedObject:
    """A version's stored bytes, checked against ``parquet_sha`` as ``verify=`` asked, ready for an engine.

    Read ``url``: either the store object itself (``in_store``; Polars-style ``storage_options`` for
    object stores) or a verified local copy (``in_store`` False: a file in the read cache, or a copy made
    for the caller). A ``temporary`` copy belongs to the caller, who removes its directory when done.
    ``how`` says what vouched for the bytes: ``hashed`` (read and hashed by this call), ``recorded`` (a
    verdict for the object's current identity), ``attested`` (the store's own full-object SHA-256),
    ``copy`` (a local copy verified earlier), ``unchecked`` (``verify="never"``: existence and size only)
    or ``unpinned`` (the metadata records no ``parquet_sha``, reference section 2.3). ``sha256`` is the
    hash the bytes were found to have (None when unchecked or unpinned).
    """

    resolved: ResolvedVersion
    url: str
    in_store: bool
    how: str
    sha256: str | None = None
    temporary: bool = False

    @property
    def urls(self) -> tuple[str, ...]:
        """The URL(s) to read (one object per version today)."""
        return (self.url,)

    @property
    def is_local_file(self) -> bool:
        """True when ``url`` is a path on this machine (a local store, or a local copy)."""
        return not self.in_store or self.resolved.location.is_local

    @property
    def storage_options(self) -> dict[str, Any] | None:
        """Options for Polars' native readers (None for local files)."""
        return None if self.is_local_file else self.resolved.storage_options


@dataclass(frozen=True, slots=True)
class PullResult:
    """Outcome of :meth:`Project.pull`."""

    commits_pulled: int
    branch: str
    head: str | None


@dataclass(frozen=True, slots=True)
class TableCheck:
    """Validation of one table: git versus the store mirror.

    ``problems`` are labels: ``{metadata,history,snapshot,data}_missing_in_store``,
    ``{metadata,history,snapshot,data}_corrupt_in_store`` (unparsable JSON, a snapshot whose content is
    not its version, parquet bytes that do not hash to ``parquet_sha``) and ``mirror_stale``. The
    ``*_versions`` and ``*_snapshots`` fields name the versions concerned (a deep validation checks the
    object of every version; a quick one, the current version's object exists).
    """

    table: str
    metadata_in_store: bool
    history_in_store: bool
    snapshot_in_store: bool
    data_in_store: bool
    mirror_current: bool
    problems: tuple[str, ...]
    missing_snapshots: tuple[str, ...] = ()
    corrupt_snapshots: tuple[str, ...] = ()
    missing_versions: tuple[str, ...] = ()
    corrupt_versions: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Outcome of :meth:`Project.validate`; ``repaired`` lists what a repair run rewrote.

    ``manifest_corrupt``: the store's manifest exists but is not valid JSON. ``deep``: every stored
    object was hashed and every JSON mirror object parsed.
    """

    valid: bool
    project_name_ok: bool
    manifest_in_store: bool
    manifest_current: bool
    tables: tuple[TableCheck, ...]
    repaired: tuple[str, ...] = ()
    unrepairable: tuple[str, ...] = ()
    #: the commit log (``.metadata/commits.json``) covers the clone's head
    log_current: bool = True
    #: tags of the clone whose store record (``.metadata/tags/<name>.json``) is missing
    tags_missing: tuple[str, ...] = ()
    manifest_corrupt: bool = False
    deep: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "valid": self.valid,
            "deep": self.deep,
            "project_name_ok": self.project_name_ok,
            "manifest_in_store": self.manifest_in_store,
            "manifest_current": self.manifest_current,
            "log_current": self.log_current,
            "tags_missing": list(self.tags_missing),
            "manifest_corrupt": self.manifest_corrupt,
            "tables": [
                {
                    "table": t.table,
                    "ok": t.ok,
                    "problems": list(t.problems),
                    "missing_versions": list(t.missing_versions),
                    "corrupt_versions": list(t.corrupt_versions),
                    "missing_snapshots": list(t.missing_snapshots),
                    "corrupt_snapshots": list(t.corrupt_snapshots),
                }
                for t in self.tables
            ],
            "repaired": list(self.repaired),
            "unrepairable": list(self.unrepairable),
        }


@dataclass(frozen=True, slots=True)
class ProjectStatus:
    """Outcome of :meth:`Project.status`."""

    project: str
    store: str
    role: str
    tables: int | None
    store_error: str | None
    branch: str | None = None
    ahead: int | None = None
    behind: int | None = None
    uncommitted: tuple[str, ...] = ()
    input_files: dict[str, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "project": self.project,
            "store": self.store,
            "role": self.role,
            "tables": self.tables,
            "store_error": self.store_error,
            "branch": self.branch,
            "ahead": self.ahead,
            "behind": self.behind,
            "uncommitted": list(self.uncommitted),
            "input_files": self.input_files,
        }
