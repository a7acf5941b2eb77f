"""Project-level reads from the store: which version of every table belongs to one moment.

Three store objects are *commit points*, each written after the table mirrors it names, so each is a
state git really had: the manifest (``.metadata/manifest.json``, the project now, written last by
every writer, R included), the commit log (``.metadata/commits.json``, the states after each commit,
written after the manifest by this implementation) and a tag record. A snapshot "now" is the
manifest; one ``as_of`` a time comes from the log, so the tables of one transaction (one commit) are
seen all before or all after, never mixed.

Tables whose current version the log does not know yet (written by R, or by a publish still under
way) are taken from their own history ``as_of`` that time. That stays consistent: a transaction's
versions share one ``created_at``, and R writes one table per commit.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from ..core.snapshots import LogEntry, LogPart, SnapshotEntry
from ..core.versions import check_selection, select_state, select_version
from ..errors import VersionNotFoundError
from ..storage.objectstore import ObjectStore
from .reading import list_tables, read_history, read_log, read_log_part, read_tag
from .results import ProjectSnapshot

_THREADS = 8


def _select(
    store: ObjectStore, head: LogPart, as_of: datetime | str, project: str
) -> tuple[LogEntry, dict[str, SnapshotEntry]]:
    """The newest logged commit at or before ``as_of``, looking into older parts as needed."""
    part = head
    while True:
        try:
            index, state = select_state(part.entries, as_of, base=part.base, project=project)
            return part.entries[index], state
        except VersionNotFoundError:
            older = read_log_part(store, part.older) if part.older else None
            if older is None:
                raise
            part = older


def _pick_from_histories(
    store: ObjectStore, project: str, names: list[str], as_of: datetime | str
) -> dict[str, SnapshotEntry]:
    """Each table's version ``as_of`` a time from its own history (tables that did not exist are left out)."""

    def pick(name: str) -> SnapshotEntry | None:
        try:
            entry = select_version(read_history(store, project, name), as_of=as_of, table=f"{project}.{name}")
        except VersionNotFoundError:
            return None  # the table did not exist yet
        return SnapshotEntry(str(entry["version"]), str(entry["data_sha"]))

    if not names:
        return {}
    with ThreadPoolExecutor(min(len(names), _THREADS), thread_name_prefix="datom-snap") as pool:
        picked = list(pool.map(pick, names))
    return {n: e for n, e in zip(names, picked, strict=True) if e is not None}


def _manifest_state(store: ObjectStore) -> dict[str, SnapshotEntry]:
    return {
        i.name: SnapshotEntry(i.current_version, i.current_data_sha)
        for i in list_tables(store)
        if i.current_version and i.current_data_sha
    }


def project_snapshot(
    store: ObjectStore, project: str, *, tag: str | None = None, as_of: datetime | str | None = None
) -> ProjectSnapshot:
    """The versions of the project's tables in tag ``tag``, at ``as_of``, or now (neither given).

    See the module docstring. ``source`` of the result: ``tag``; ``log`` (exactly the state after
    ``commit``); ``manifest`` (now, including changes the log has not recorded yet); ``histories``
    (``as_of``, some tables read from their histories).
    """
    check_selection(None, as_of, tag)
    if tag is not None:
        found = read_tag(store, project, tag)
        return ProjectSnapshot(project, found.tables, found.commit, found.created_at, found.name, "tag")
    log = read_log(store)
    now = _manifest_state(store)
    head = select_state(log.entries, base=log.base)[1] if log and log.entries else {}
    unlogged = [t for t in dict.fromkeys([*now, *head]) if now.get(t) != head.get(t)]
    if as_of is None:
        if log and log.entries and not unlogged:
            first = log.entries[0]
            return ProjectSnapshot(project, now, first.commit, first.created_at, None, "log")
        return ProjectSnapshot(project, now, source="manifest")
    if not (log and log.entries) and not unlogged:
        return ProjectSnapshot(project, {}, source="log")  # no table written yet
    state: dict[str, SnapshotEntry] = {}
    if log and log.entries:
        try:
            entry, state = _select(store, log, as_of, project)
        except VersionNotFoundError:
            if not unlogged:
                raise
        else:
            if not unlogged:
                return ProjectSnapshot(project, state, entry.commit, entry.created_at, None, "log")
    for table in unlogged:
        state.pop(table, None)
    state.update(_pick_from_histories(store, project, unlogged, as_of))
    if not state:
        raise VersionNotFoundError(
            f"no table of project {project!r} existed at {as_of}", hint="pass a later as_of, or check the project"
        )
    order = {name: i for i, name in enumerate([*now, *head])}
    tables = dict(sorted(state.items(), key=lambda item: order.get(item[0], len(order))))
    return ProjectSnapshot(project, tables, source="histories")
