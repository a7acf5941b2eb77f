"""What the catalog shows of a table version, built from its history entry and metadata snapshot.

:class:`VersionRecord` is the lean, JSON-round-trippable form the site keeps in its build state (so an
incremental build does not re-read every snapshot); :class:`TableModel` is one table's versions in
history order with its manifest entry. No I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.metadata import optional_timestamp, utc_timestamp
from ..core.values import Version


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 else None


def _iso(value: Any) -> str | None:
    parsed = optional_timestamp(value)
    return utc_timestamp(parsed) if parsed else None


def colnames(meta: Mapping[str, Any]) -> tuple[str, ...]:
    """``colnames`` of a metadata object (a bare string for one column, reference section 1.1.4)."""
    names = meta.get("colnames")
    if isinstance(names, str):
        return (names,)
    return tuple(str(n) for n in names) if isinstance(names, list | tuple) else ()


@dataclass(frozen=True, slots=True)
class ParentRef:
    """One recorded parent: a version of a table of some project (``source`` in the metadata)."""

    project: str
    table: str
    version: str
    data_sha: str


@dataclass(frozen=True, slots=True)
class SourceRef:
    """One ``source_lineage`` entry: a raw source, named by its content (``version_sha`` is a data_sha)."""

    project: str
    table: str
    data_sha: str


def _parents(value: Any) -> tuple[ParentRef, ...] | None:
    if not isinstance(value, list | tuple):
        return None
    fields = ("source", "table", "version", "data_sha")
    return tuple(ParentRef(*(str(p.get(f, "")) for f in fields)) for p in value if isinstance(p, Mapping))


def _sources(value: Any) -> tuple[SourceRef, ...] | None:
    if not isinstance(value, list | tuple):
        return None
    fields = ("project", "table", "version_sha")
    return tuple(SourceRef(*(str(s.get(f, "")) for f in fields)) for s in value if isinstance(s, Mapping))


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One version as the catalog shows it (``parents``/``sources`` None: not recorded)."""

    id: str
    data_sha: str
    parquet_sha: str | None
    created_at: str | None
    author: str
    message: str
    nrow: int | None
    ncol: int | None
    colnames: tuple[str, ...]
    table_type: str | None
    original_file_sha: str | None
    size_bytes: int | None
    parents: tuple[ParentRef, ...] | None
    sources: tuple[SourceRef, ...] | None
    custom: Mapping[str, Any] | None = None

    @property
    def short(self) -> str:
        """The 8-character display id."""
        return self.id[:8]

    @classmethod
    def from_metadata(
        cls, version: str, meta: Mapping[str, Any], entry: Mapping[str, Any] | None = None
    ) -> VersionRecord:
        """Build from a version's metadata snapshot and (when known) its history entry."""
        hist = Version.from_entry(entry) if entry is not None else None
        custom = meta.get("custom")
        return cls(
            id=version,
            data_sha=str(meta.get("data_sha") or (hist.data_sha if hist else "")),
            parquet_sha=_text(meta.get("parquet_sha")) or (hist.parquet_sha if hist else None),
            created_at=_iso(entry.get("timestamp") if entry else None) or _iso(meta.get("created_at")),
            author=hist.author if hist else "unknown",
            message=hist.message if hist else "",
            nrow=_count(meta.get("nrow")),
            ncol=_count(meta.get("ncol")),
            colnames=colnames(meta),
            table_type=_text(meta.get("table_type")),
            original_file_sha=_text(meta.get("original_file_sha")),
            size_bytes=_count(meta.get("size_bytes")),
            parents=_parents(meta.get("parents")),
            sources=_sources(meta.get("source_lineage")),
            custom=custom if isinstance(custom, Mapping) else None,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON object (the site's build state); :meth:`from_json` reads it back."""
        parents = None if self.parents is None else [[p.project, p.table, p.version, p.data_sha] for p in self.parents]
        sources = None if self.sources is None else [[s.project, s.table, s.data_sha] for s in self.sources]
        return {
            "id": self.id,
            "data_sha": self.data_sha,
            "parquet_sha": self.parquet_sha,
            "created_at": self.created_at,
            "author": self.author,
            "message": self.message,
            "nrow": self.nrow,
            "ncol": self.ncol,
            "colnames": list(self.colnames),
            "table_type": self.table_type,
            "original_file_sha": self.original_file_sha,
            "size_bytes": self.size_bytes,
            "parents": parents,
            "sources": sources,
            "custom": self.custom,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> VersionRecord:
        """The inverse of :meth:`to_json`."""
        parents = obj.get("parents")
        sources = obj.get("sources")
        return cls(
            id=str(obj["id"]),
            data_sha=str(obj.get("data_sha") or ""),
            parquet_sha=obj.get("parquet_sha"),
            created_at=obj.get("created_at"),
            author=str(obj.get("author") or "unknown"),
            message=str(obj.get("message") or ""),
            nrow=obj.get("nrow"),
            ncol=obj.get("ncol"),
            colnames=tuple(obj.get("colnames") or ()),
            table_type=obj.get("table_type"),
            original_file_sha=obj.get("original_file_sha"),
            size_bytes=obj.get("size_bytes"),
            parents=None if parents is None else tuple(ParentRef(*p) for p in parents),
            sources=None if sources is None else tuple(SourceRef(*s) for s in sources),
            custom=obj.get("custom"),
        )


@dataclass(frozen=True, slots=True)
class TableModel:
    """One table: its manifest entry and its versions, newest first (history order)."""

    name: str
    entry: Mapping[str, Any]
    versions: tuple[VersionRecord, ...]
    _by_id: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {v.id: i for i, v in enumerate(self.versions)})

    @property
    def current_id(self) -> str | None:
        """The current version id (the manifest's ``current_version``, else the newest entry)."""
        current = _text(self.entry.get("current_version"))
        return current or (self.versions[0].id if self.versions else None)

    @property
    def current(self) -> VersionRecord | None:
        """The current version's record (None for a table with no readable version)."""
        found = self.record(self.current_id or "")
        return found or (self.versions[0] if self.versions else None)

    def record(self, version: str) -> VersionRecord | None:
        """The record of ``version`` (a full id), if the table has it."""
        i = self._by_id.get(version)
        return self.versions[i] if i is not None else None

    def first_with_data(self, data_sha: str) -> VersionRecord | None:
        """The oldest version holding the content ``data_sha`` (stable as the history grows)."""
        return next((v for v in reversed(self.versions) if v.data_sha == data_sha), None)


def change_of(version: VersionRecord, previous: VersionRecord | None) -> str:
    """``first``, ``metadata_only`` (same content as the version before) or ``full``."""
    if previous is None:
        return "first"
    return "metadata_only" if previous.data_sha == version.data_sha else "full"
