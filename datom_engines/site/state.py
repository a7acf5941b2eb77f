"""The build state a site keeps next to its pages (``_state/``), so a later build redoes only what changed.

``_state/site.json`` holds, per table, the manifest entry the pages were built from, the index row and
a fingerprint of everything else its table and lineage pages show (who uses it, its tags), plus the
hash of every project-level page. ``_state/t/<table>.json`` holds that table's version records, the
column summaries by ``parquet_sha`` and the hashes of its pages. A build compares the manifest with
this state, re-reads only the tables whose entry moved, renders the pages whose inputs changed and
writes only those whose bytes differ; the state is written last, so a build cut short is redone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import VersionRecord
from .pages import TableRow
from .summary import TableSummary
from .target import DirTarget, StoreTarget

#: bump when pages or state change shape: every page is then rendered again
FORMAT = 1
SITE_STATE = "_state/site.json"


def table_state_path(table: str) -> str:
    """Where one table's state lives."""
    return f"_state/t/{table}.json"


def digest(data: bytes) -> str:
    """The SHA-256 of a page's bytes (how the state remembers what was written)."""
    return hashlib.sha256(data).hexdigest()


def fingerprint(value: Any) -> str:
    """A stable hash of a JSON-able value."""
    return digest(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))


def _load(target: StoreTarget | DirTarget, path: str) -> dict[str, Any] | None:
    data = target.read(path)
    if data is None:
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None  # a damaged state only costs a fuller rebuild
    return value if isinstance(value, dict) and value.get("format") == FORMAT else None


def _dump(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass
class TableState:
    """One table's part of the state."""

    versions: list[VersionRecord] = field(default_factory=list)
    summaries: dict[str, TableSummary] = field(default_factory=dict)
    pages: dict[str, str] = field(default_factory=dict)
    origin: str | None = None  # digest of the state as loaded: unchanged states are not written again

    @classmethod
    def load(cls, target: StoreTarget | DirTarget, table: str) -> TableState | None:
        """The stored state of ``table`` (None when absent or from another format)."""
        raw = _load(target, table_state_path(table))
        if raw is None:
            return None
        try:
            state = cls(
                [VersionRecord.from_json(v) for v in raw.get("versions") or ()],
                {k: TableSummary.from_json(v) for k, v in (raw.get("summaries") or {}).items()},
                dict(raw.get("pages") or {}),
            )
        except (KeyError, TypeError, ValueError):
            return None
        state.origin = digest(state._bytes(table))
        return state

    def _bytes(self, table: str) -> bytes:
        value = {
            "format": FORMAT,
            "table": table,
            "versions": [v.to_json() for v in self.versions],
            "summaries": {k: v.to_json() for k, v in self.summaries.items()},
            "pages": self.pages,
        }
        return _dump(value)

    def save(self, target: StoreTarget | DirTarget, table: str) -> bool:
        """Write this state unless it is what was loaded; True when it was written."""
        data = self._bytes(table)
        if self.origin == digest(data):
            return False
        target.write(table_state_path(table), data)
        self.origin = digest(data)
        return True


@dataclass
class TableEntry:
    """What the site state remembers of one table."""

    entry: dict[str, Any]
    row: TableRow
    fingerprint: str


@dataclass
class SiteState:
    """The project-level state."""

    project: str
    auto: bool = False
    tables: dict[str, TableEntry] = field(default_factory=dict)
    pages: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, target: StoreTarget | DirTarget) -> SiteState | None:
        """The stored state, or None when there is none (or it is unreadable)."""
        raw = _load(target, SITE_STATE)
        if raw is None or not isinstance(raw.get("project"), str):
            return None
        try:
            tables = {
                name: TableEntry(dict(t["entry"]), TableRow.from_json(t["row"]), str(t["fingerprint"]))
                for name, t in (raw.get("tables") or {}).items()
            }
        except (KeyError, TypeError, ValueError):
            tables = {}
        return cls(raw["project"], bool(raw.get("auto")), tables, dict(raw.get("pages") or {}))

    def save(self, target: StoreTarget | DirTarget) -> None:
        """Write this state (after every page and table state)."""
        value = {
            "format": FORMAT,
            "project": self.project,
            "auto": self.auto,
            "tables": {
                name: {"entry": t.entry, "row": t.row.to_json(), "fingerprint": t.fingerprint}
                for name, t in self.tables.items()
            },
            "pages": self.pages,
        }
        target.write(SITE_STATE, _dump(value))


def auto_enabled(target: StoreTarget | DirTarget) -> bool:
    """True when the site at ``target`` asks to be updated after every write."""
    state = SiteState.load(target)
    return state is not None and state.auto
