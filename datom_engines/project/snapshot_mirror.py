"""The store mirror of project snapshots: the commit log and the tag records (keys the reference does not define).

``.metadata/commits.json`` lists, newest first, every commit on the first-parent chain of the data
branch that changed a table's version, with the versions it made current (:mod:`..core.snapshots`).
Readers of the project at a point in time (``snapshot(as_of=...)``, DuckDB schemas pinned to one
moment) take its state from the log (:mod:`.snapshots`), so a publisher writes the tables' mirrors and
the manifest first and the log last: a crash in between leaves those readers on a real git state, and
the next publisher (or ``validate(repair=True)``) extends the log. Single-table readers use the tables'
own mirrors, as before.

Both the log and a tag's record are pure functions of git, so any writer can rebuild them and
concurrent publishers converge: the newest head's log contains every older head's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..core import jsonfmt, keys
from ..core.metadata import metadata_sha, utc_timestamp
from ..core.snapshots import (
    LogPart,
    SnapshotEntry,
    log_entry,
    parse_log_part,
    parse_tag_message,
    person,
    split_log,
    tag_record,
)
from ..errors import DatomError
from ..gitrepo import GitRepo
from ..gitrepo.values import TagInfo
from ..storage.objectstore import ObjectStore
from .reading import tag_names


def _json(data: bytes | None) -> Any:
    return None if data is None else jsonfmt.parse(data)


@dataclass(frozen=True, slots=True)
class StoredLog:
    """The head part of the commit log as stored: its JSON and, when it was read, its parse."""

    head: dict[str, Any]
    part: LogPart | None = None

    def parsed(self) -> LogPart:
        """The parsed head part."""
        return self.part if self.part is not None else parse_log_part(self.head, keys.COMMIT_LOG_KEY)


def read_log_json(store: ObjectStore) -> StoredLog | None:
    """The head of the commit log as stored (None when it is missing, unreadable or malformed)."""
    try:
        head = store.read_json_or_none(keys.COMMIT_LOG_KEY)
        part = parse_log_part(head, keys.COMMIT_LOG_KEY)
    except DatomError:
        return None
    return StoredLog(head, part)


def _table_of(path: str) -> str | None:
    top, _, rest = path.partition("/")
    return top if rest == "metadata.json" and not top.startswith(".") else None


def versions_at(repo: GitRepo, commit: str | None, tables: list[str]) -> dict[str, SnapshotEntry]:
    """``{table: (version, data_sha)}`` of ``tables`` as git has them at ``commit`` (absent ones left out)."""
    out = {}
    for table in tables:
        meta = _json(repo.objects.read_file(commit, keys.table_metadata_path(table))) if commit else None
        if isinstance(meta, dict) and isinstance(meta.get("data_sha"), str):
            out[table] = SnapshotEntry(metadata_sha(meta), meta["data_sha"])
    return out


def commit_entry(repo: GitRepo, commit: str, parent: str | None) -> dict[str, Any] | None:
    """The log entry of ``commit`` (its changes against ``parent``), or None when no version changed."""
    tables = sorted({t for p in repo.objects.changed_paths(parent, commit) if (t := _table_of(p))})
    if not tables:
        return None
    before = versions_at(repo, parent, tables)
    after = versions_at(repo, commit, tables)
    changed = {t: e for t, e in after.items() if before.get(t) != e}
    if not changed:
        return None  # a re-pin: same versions, other bytes recorded
    stamps = []
    for table in changed:
        meta = _json(repo.objects.read_file(commit, keys.table_metadata_path(table))) or {}
        if isinstance(meta.get("created_at"), str):
            stamps.append(meta["created_at"])
    info = repo.objects.commit_info(commit)
    return log_entry(
        commit=commit,
        created_at=max(stamps) if stamps else utc_timestamp_of(info.time),
        message=info.message.strip(),
        author=person(info.author.name, info.author.email),
        tables=changed,
    )


def utc_timestamp_of(seconds: int) -> str:
    """A unix time as datom writes timestamps."""
    return utc_timestamp(datetime.fromtimestamp(seconds, UTC))


def entries_since(repo: GitRepo, head: str, stop: str | None) -> tuple[list[dict[str, Any]], bool]:
    """Log entries of the first-parent chain from ``head`` back to ``stop`` (excluded), newest first.

    Returns ``(entries, found)``; when ``stop`` is not on the chain the entries go back to the first
    commit (a full rebuild) and ``found`` is False.
    """
    out: list[dict[str, Any]] = []
    sha: str | None = head
    while sha is not None:
        if sha == stop:
            return out, True
        parents = repo.objects.commit_info(sha).parents
        parent = parents[0] if parents else None
        entry = commit_entry(repo, sha, parent)
        if entry is not None:
            out.append(entry)
        sha = parent
    return out, stop is None


LogUpdate = tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]
"""A new head of the commit log and the new immutable older parts it refers to."""


def log_for(repo: GitRepo, head: str, current: StoredLog | None) -> LogUpdate | None:
    """The log at ``head`` given the stored head part ``current``; None when it needs no change.

    A stored log whose newest commit is not known here (pushed after our fetch) or descends from
    ``head`` is newer than ``head``: it is left alone. A stored log that does not lead back to ``head``
    (or none) is rebuilt from git.
    """
    part = current.parsed() if current is not None else None
    newest = part.newest if part else None
    if newest is not None and newest != head and (not repo.objects.has_object(newest) or _newer(repo, newest, head)):
        return None
    new, found = entries_since(repo, head, newest)
    if found and part is not None and current is not None:
        if not new:
            return None
        return split_log([*new, *current.head["entries"]], part.base, part.older, keys.log_segment_key)
    return split_log(new, {}, None, keys.log_segment_key)


def _newer(repo: GitRepo, newest: str, head: str) -> bool:
    """True when ``newest`` (a different commit) descends from ``head``.

    Asked first the other way round: a log being extended is the usual case (``newest`` is a near parent
    of ``head``, found in a step or two), and then ``head`` cannot descend from it, so the walk back
    from ``newest`` through the whole history is only made when ``head`` is not ahead of it.
    """
    return not repo.objects.is_ancestor(newest, head) and repo.objects.is_ancestor(head, newest)


def publish_log(repo: GitRepo, store: ObjectStore, head: str, current: StoredLog | None) -> StoredLog | None:
    """Bring the commit log up to ``head`` given its stored head part ``current`` (None: there is none, or
    it is unreadable); returns the head part now stored. New older parts are written before the head."""
    update = log_for(repo, head, current)
    if update is None:
        return current
    new_head, parts = update
    for key, part in parts:
        store.write_json(key, part)
    store.write_json(keys.COMMIT_LOG_KEY, new_head)
    return StoredLog(new_head)


def log_is_current(repo: GitRepo, store: ObjectStore, head: str) -> bool:
    """True when the stored log already covers ``head``."""
    stored = read_log_json(store)
    return stored is not None and log_for(repo, head, stored) is None


def rebuild_log(repo: GitRepo, store: ObjectStore, head: str) -> None:
    """Rewrite the log from git alone (``validate(repair=True)``)."""
    publish_log(repo, store, head, None)


# ----- tags ---------------------------------------------------------------------------------------


def record_of(info: TagInfo) -> dict[str, Any]:
    """The store record of a datom tag (:func:`..core.snapshots.tag_record`) from its git object."""
    message, _, tables = parse_tag_message(info.message, f"tag {info.name!r}")
    return tag_record(
        name=info.name,
        commit=info.commit,
        tag_object=info.sha,
        created_at=utc_timestamp_of(info.time),
        tagger=person(info.tagger.name, info.tagger.email),
        message=message,
        tables=tables,
        signed=info.signed,
        git_tag=info.raw.decode("utf-8", "replace"),
    )


def missing_tag_records(repo: GitRepo, store: ObjectStore, tags: dict[str, str] | None = None) -> dict[str, dict]:
    """``{name: record}`` of the datom tags in ``tags`` (default: the remote's, as last fetched) whose
    record the store lacks. Tags not made by datom (no snapshot block in their message) are skipped."""
    source = repo.tags.on_remote() if tags is None else tags
    if not source:
        return {}
    have = set(tag_names(store))
    out = {}
    for name in sorted(set(source) - have):
        try:
            out[name] = record_of(repo.tags.info(name, source[name]))
        except DatomError:
            continue  # an ordinary git tag (or a lightweight one): not a datom snapshot
    return out


def mirror_tags(repo: GitRepo, store: ObjectStore, tags: dict[str, str] | None = None) -> list[str]:
    """Write the store record of every datom tag of ``tags`` (default: the remote's) the store lacks."""
    missing = missing_tag_records(repo, store, tags)
    for name, record in missing.items():
        store.write_json(keys.tag_key(name), record)
    return list(missing)
