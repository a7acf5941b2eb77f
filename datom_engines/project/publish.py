"""The store mirror of git's metadata: publishing it after a push, and finding and repairing staleness.

Order per table is snapshot, history, then ``metadata.json`` (the "current" pointer readers use), then the
manifest, and the commit log last (the commit point of project-level readers, see
:mod:`.snapshot_mirror`); a crash part-way leaves readers on the previous version, and the stale manifest
entry (or log) tells the next writer what to repair. After publishing, the writer fetches again and
republishes whatever a newer head changed, so concurrent publishers converge on the newest head; tag
records the store lacks are written last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core import jsonfmt, keys
from ..core.metadata import metadata_sha
from ..core.names import is_hex_sha
from ..errors import DatomError, NotFoundError
from ..gitrepo import GitRepo
from ..storage.objectstore import ObjectStore
from .snapshot_mirror import mirror_tags, publish_log, read_log_json

MAX_CONVERGE_ROUNDS = 5


def _mirror_bytes(store: ObjectStore, data: bytes) -> bytes:
    """Local mirror files keep git's trailing newline; object-store mirrors have none (as R writes)."""
    return data if store.location.is_local else data.rstrip(b"\n")


def _json(data: bytes | None) -> Any:
    return None if data is None else jsonfmt.parse(data)


def tables_in_manifest(repo: GitRepo, commit: str) -> dict[str, Any]:
    """``tables`` of the git manifest at a commit."""
    manifest = _json(repo.objects.read_file(commit, keys.MANIFEST_PATH)) or {}
    return dict(manifest.get("tables") or {})


def publish_table(repo: GitRepo, store: ObjectStore, commit: str, table: str) -> bool:
    """Mirror one table's metadata at ``commit``: snapshot, history, then metadata.json."""
    meta_bytes = repo.objects.read_file(commit, keys.table_metadata_path(table))
    if meta_bytes is None:
        return False
    hist_bytes = repo.objects.read_file(commit, keys.table_history_path(table))
    version = metadata_sha(jsonfmt.parse(meta_bytes))
    store.put_bytes(
        keys.snapshot_key(table, version), _mirror_bytes(store, meta_bytes), content_type="application/json"
    )
    if hist_bytes is not None:
        store.put_bytes(keys.history_key(table), _mirror_bytes(store, hist_bytes), content_type="application/json")
    store.put_bytes(keys.metadata_key(table), _mirror_bytes(store, meta_bytes), content_type="application/json")
    return True


def publish_manifest(repo: GitRepo, store: ObjectStore, commit: str) -> None:
    """Mirror ``.datom/manifest.json`` at ``commit`` to ``.metadata/manifest.json``."""
    data = repo.objects.read_file(commit, keys.MANIFEST_PATH)
    if data is not None:
        store.put_bytes(keys.MANIFEST_KEY, _mirror_bytes(store, data), content_type="application/json")


def stale_tables(repo: GitRepo, store: ObjectStore, commit: str) -> tuple[list[str], bool]:
    """Tables whose store mirror lags git at ``commit``, and whether the manifest mirror lags."""
    git_manifest = _json(repo.objects.read_file(commit, keys.MANIFEST_PATH)) or {}
    try:
        store_manifest = store.read_json_or_none(keys.MANIFEST_KEY)
    except DatomError:
        store_manifest = None
    git_tables = git_manifest.get("tables") or {}
    store_tables = (store_manifest or {}).get("tables") or {} if isinstance(store_manifest, dict) else {}
    stale = [
        t
        for t, entry in git_tables.items()
        if (store_tables.get(t) or {}).get("current_version") != (entry or {}).get("current_version")
    ]
    return stale, store_manifest != git_manifest


def _changed_tables(repo: GitRepo, old: str, new: str) -> list[str]:
    tables = []
    for path in repo.objects.changed_paths(old, new):
        top, _, rest = path.partition("/")
        if rest in ("metadata.json", "version_history.json") and top not in tables:
            tables.append(top)
    return tables


def publish(repo: GitRepo, store: ObjectStore, commit: str, tables: list[str], *, converge: bool = True) -> str:
    """Publish ``tables``, the manifest and the commit log at ``commit``; then follow newer remote heads.

    Returns the newest head that was published.
    """
    log = read_log_json(store)
    if log is None:
        # no commit log yet (a project written before logs, or by R): first record the state before this
        # commit, so project-level readers never see this commit's tables half-published
        parents = repo.objects.commit_info(commit).parents
        if parents:
            log = publish_log(repo, store, parents[0], None)
    for table in dict.fromkeys(tables):
        publish_table(repo, store, commit, table)
    publish_manifest(repo, store, commit)
    log = publish_log(repo, store, commit, log)
    seen = commit
    for _ in range(MAX_CONVERGE_ROUNDS if converge else 0):
        try:
            if not repo.remote_moved_from(seen):
                break  # (a remote on this machine, read directly: still at what was just published)
            remote = repo.fetch()
        except DatomError:
            break  # offline now: our own publish is complete, the next writer repairs the rest
        if remote is None or remote == seen or not repo.objects.is_ancestor(seen, remote):
            break
        for table in _changed_tables(repo, seen, remote):
            publish_table(repo, store, remote, table)
        publish_manifest(repo, store, remote)
        log = publish_log(repo, store, remote, log)
        seen = remote
    mirror_tags(repo, store)
    return seen


def missing_snapshots(repo: GitRepo, store: ObjectStore, commit: str, table: str) -> list[str]:
    """Versions in git's history of ``table`` whose immutable snapshot is not in the store."""
    history = _json(repo.objects.read_file(commit, keys.table_history_path(table))) or []
    versions = [e.get("version") for e in history if isinstance(e, dict)]
    return [v for v in versions if is_hex_sha(v) and not store.exists(keys.snapshot_key(table, v))]


def restore_snapshots(repo: GitRepo, store: ObjectStore, commit: str, table: str, versions: list[str]) -> list[str]:
    """Rebuild missing snapshots from the versions of ``metadata.json`` in git history (R never can, item 13)."""
    wanted = set(versions)
    restored = []
    for data in repo.objects.file_versions(commit, keys.table_metadata_path(table)):
        if not wanted:
            break
        version = metadata_sha(jsonfmt.parse(data))
        if version in wanted:
            store.put_bytes(
                keys.snapshot_key(table, version), _mirror_bytes(store, data), content_type="application/json"
            )
            wanted.discard(version)
            restored.append(version)
    return restored


@dataclass(frozen=True, slots=True)
class MirrorState:
    """What the store holds for one table compared with git.

    ``metadata`` / ``history`` are True when the mirror object exists and parses; ``*_corrupt`` when it
    exists but is not valid JSON (so it cannot be used either).
    """

    metadata: bool
    history: bool
    snapshot: bool
    data: bool
    current: bool
    missing_snapshots: tuple[str, ...] = ()
    metadata_corrupt: bool = False
    history_corrupt: bool = False

    @property
    def complete(self) -> bool:
        """True when every mirror object exists and matches git."""
        return self.metadata and self.history and self.snapshot and self.data and self.current


def read_mirror(store: ObjectStore, key: str) -> tuple[Any, str]:
    """A JSON mirror object and its state: ``(value, "ok")``, ``(None, "missing")`` or ``(None, "corrupt")``."""
    try:
        data = store.get_bytes(key)
    except NotFoundError:
        return None, "missing"
    try:
        return jsonfmt.parse(data), "ok"
    except ValueError:
        return None, "corrupt"


def inspect_table(repo: GitRepo, store: ObjectStore, commit: str, table: str) -> MirrorState:
    """Compare a table's store mirror with git at ``commit`` (existence, parsability and currency)."""
    meta = _json(repo.objects.read_file(commit, keys.table_metadata_path(table))) or {}
    hist = _json(repo.objects.read_file(commit, keys.table_history_path(table))) or []
    version = metadata_sha(meta) if meta else ""
    store_meta, meta_state = read_mirror(store, keys.metadata_key(table))
    store_hist, hist_state = read_mirror(store, keys.history_key(table))
    data_sha = meta.get("data_sha")
    current = (
        isinstance(store_meta, dict) and bool(version) and metadata_sha(store_meta) == version and store_hist == hist
    )
    missing = tuple(missing_snapshots(repo, store, commit, table))
    return MirrorState(
        metadata=meta_state == "ok",
        history=hist_state == "ok",
        snapshot=bool(version) and not missing and store.exists(keys.snapshot_key(table, version)),
        data=bool(data_sha) and store.exists(keys.parquet_key(table, data_sha)),
        current=current,
        missing_snapshots=missing,
        metadata_corrupt=meta_state == "corrupt",
        history_corrupt=hist_state == "corrupt",
    )
