"""Project-level reads from the store: which version of every table belongs to one moment.

A snapshot comes from a tag record, or from the commit log (``.metadata/commits.json``, written by
:mod:`.snapshot_mirror` after the tables it names are published), so the tables of one transaction are
seen all before or all after, never mixed. A project no writer of this version has published yet has
no log; there the versions come from each table's own history (such a project has no transactions).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from ..core import keys
from ..core.snapshots import LogEntry, SnapshotEntry, parse_log
from ..core.versions import check_selection, select_state, select_version
from ..errors import DatomError, InvalidArgumentError, StoreError, VersionNotFoundError
from ..storage.objectstore import ObjectStore
from .reading import list_tables, read_history, read_tag
from .results import ProjectSnapshot

_THREADS = 8


def read_log(store: ObjectStore) -> list[LogEntry] | None:
    """The commit log, newest first; None when the project has none (an unreadable one raises)."""
    try:
        raw = store.read_json_or_none(keys.COMMIT_LOG_KEY)
    except DatomError as exc:
        raise StoreError(
            f"the commit log at {store.location.url(keys.COMMIT_LOG_KEY)} is unreadable: {exc}",
            hint="a writer can rebuild it from git with validate(repair=True)",
        ) from None
    if raw is None:
        return None
    try:
        return parse_log(raw, store.location.url(keys.COMMIT_LOG_KEY))
    except InvalidArgumentError as exc:
        raise StoreError(exc.message, hint="a writer can rebuild it from git with validate(repair=True)") from None


def _from_histories(store: ObjectStore, project: str, as_of: datetime | str | None) -> ProjectSnapshot:
    infos = list_tables(store)
    if as_of is None:
        tables = {
            i.name: SnapshotEntry(i.current_version, i.current_data_sha)
            for i in infos
            if i.current_version and i.current_data_sha
        }
        return ProjectSnapshot(project, tables, source="histories")

    def pick(name: str) -> SnapshotEntry | None:
        try:
            entry = select_version(read_history(store, project, name), as_of=as_of, table=f"{project}.{name}")
        except VersionNotFoundError:
            return None  # the table did not exist yet
        return SnapshotEntry(str(entry["version"]), str(entry["data_sha"]))

    names = [i.name for i in infos]
    with ThreadPoolExecutor(max(1, min(len(names), _THREADS)), thread_name_prefix="datom-snap") as pool:
        picked = list(pool.map(pick, names))
    tables = {n: e for n, e in zip(names, picked, strict=True) if e is not None}
    if names and not tables:
        raise VersionNotFoundError(f"no table of project {project!r} existed at {as_of}")
    return ProjectSnapshot(project, tables, source="histories")


def project_snapshot(
    store: ObjectStore, project: str, *, tag: str | None = None, as_of: datetime | str | None = None
) -> ProjectSnapshot:
    """The versions of the project's tables in tag ``tag``, at ``as_of``, or now (neither given).

    With ``as_of`` it is the project after the newest commit made at or before that time, so a
    transaction's tables are all in or all out. "Now" is the newest fully published commit.
    """
    check_selection(None, as_of, tag)
    if tag is not None:
        found = read_tag(store, project, tag)
        return ProjectSnapshot(project, found.tables, found.commit, found.created_at, found.name, "tag")
    log = read_log(store)
    if log is None:
        return _from_histories(store, project, as_of)
    if not log:
        return ProjectSnapshot(project, {}, source="log")
    index, state = select_state(log, as_of, project=project)
    return ProjectSnapshot(project, state, log[index].commit, log[index].created_at, None, "log")
