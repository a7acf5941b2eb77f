"""Plain values read from metadata: a table's versions and its catalog entry. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from .metadata import optional_timestamp as _ts
from .metadata import utc_timestamp

ChangeKind = Literal["none", "metadata_only", "full"]


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class Version:
    """One entry of a table's version history (newest first in :meth:`Project.history`)."""

    id: str
    data_sha: str
    created_at: datetime | None
    author: str
    message: str
    parquet_sha: str | None = None
    original_file_sha: str | None = None

    @property
    def short_id(self) -> str:
        """The 8-character display form of the version id."""
        return self.id[:8]

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> Version:
        """Build from a ``version_history.json`` entry."""
        author = entry.get("author")
        if isinstance(author, Mapping):
            who = f"{author.get('name', '')} <{author.get('email', '')}>"
        else:
            who = str(author) if author else "unknown"
        return cls(
            id=str(entry.get("version", "")),
            data_sha=str(entry.get("data_sha", "")),
            created_at=_ts(entry.get("timestamp")),
            author=who,
            message=str(entry.get("commit_message", "")),
            parquet_sha=_str_or_none(entry.get("parquet_sha")),
            original_file_sha=_str_or_none(entry.get("original_file_sha")),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (timestamps as ISO strings)."""
        return {
            "version": self.id,
            "data_sha": self.data_sha,
            "created_at": utc_timestamp(self.created_at) if self.created_at else None,
            "author": self.author,
            "message": self.message,
            "parquet_sha": self.parquet_sha,
            "original_file_sha": self.original_file_sha,
        }


@dataclass(frozen=True, slots=True)
class TableInfo:
    """A table's entry in the project manifest."""

    name: str
    current_version: str | None
    current_data_sha: str | None
    last_updated: datetime | None
    version_count: int
    size_bytes: float
    original_file_sha: str | None = None
    original_format: str | None = None

    @classmethod
    def from_manifest(cls, name: str, entry: Mapping[str, Any]) -> TableInfo:
        """Build from ``manifest.json`` ``tables.<name>``."""
        count = entry.get("version_count")
        size = entry.get("size_bytes")
        return cls(
            name=name,
            current_version=_str_or_none(entry.get("current_version")),
            current_data_sha=_str_or_none(entry.get("current_data_sha")),
            last_updated=_ts(entry.get("last_updated")),
            version_count=int(count) if isinstance(count, int | float) else 0,
            size_bytes=float(size) if isinstance(size, int | float) else 0.0,
            original_file_sha=_str_or_none(entry.get("original_file_sha")),
            original_format=_str_or_none(entry.get("original_format")),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (timestamps as ISO strings)."""
        return {
            "name": self.name,
            "current_version": self.current_version,
            "current_data_sha": self.current_data_sha,
            "last_updated": utc_timestamp(self.last_updated) if self.last_updated else None,
            "version_count": self.version_count,
            "size_bytes": self.size_bytes,
            "original_file_sha": self.original_file_sha,
            "original_format": self.original_format,
        }
