"""The write path (reference section 3) with the deliberate fixes of this implementation.

Order: hash + serialise (nothing touched yet) -> fetch and align with the remote -> classify against
git -> make sure the parquet object is in the store (put-if-absent, *before* the push, so pushed metadata
never points at a missing object) -> commit on top of the remote head and push -> publish the metadata
mirror. A push that loses a race is not an error: the version is re-derived from the new remote head
(history, manifest, change class) and pushed again, so neither writer's version is lost.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core import jsonfmt, keys
from ..core.cv1 import hash_parquet
from ..core.metadata import (
    add_history_entry,
    build_metadata,
    history_entry,
    metadata_sha,
    update_manifest,
    utc_timestamp,
    validate_custom,
    validate_parents,
    validate_source_lineage,
)
from ..core.names import TableRef, validate_name
from ..core.values import ChangeKind
from ..errors import ConflictError, InvalidArgumentError, ReadOnlyError, StoreAccessDeniedError
from ..gitrepo import GitRepo
from ..progress import Progress, stage
from ..storage.cache import active_verdicts, verified_copy
from ..storage.integrity import download_verified, sha256_object
from ..storage.location import StoreLocation
from ..storage.objectstore import ObjectStore
from ..storage.staging import make_tempdir, remove_tempdir
from ..storage.verify import object_sha, vouch_for_file
from .config import read_config, recorded_location
from .prepare import PreparedData, prepare
from .publish import inspect_table, publish, stale_tables
from .results import WriteResult

MAX_PUSH_ATTEMPTS = 30
MAX_REPAIR_ATTEMPTS = 5
DATOM_VERSION_FIELD = "datom_version"


@dataclass(frozen=True, slots=True)
class Provenance:
    """How a table was produced: derived by a program, or imported from a file (sync)."""

    table_type: str = "derived"
    original_file_sha: str | None = None
    original_format: str | None = None
    source_lineage: tuple[Mapping[str, Any], ...] | None = None


def _parse(data: bytes | None) -> Any:
    return None if data is None else jsonfmt.parse(data)


def _file(value: Any) -> bytes:
    return (jsonfmt.pretty(value) + "\n").encode("utf-8")


def align_with_remote(repo: GitRepo) -> str | None:
    """Fetch and bring the local branch to the remote head; return the commit to build on.

    A local branch behind the remote is fast-forwarded; one ahead (unpushed commits) is pushed first;
    a diverged one is a :class:`ConflictError` (run pull to merge).
    """
    remote = repo.fetch()
    local = repo.head()
    if remote is None or local == remote:
        return local if remote is None else remote
    if local is None or repo.is_ancestor(local, remote):
        repo.advance(remote)
        return remote
    if repo.is_ancestor(remote, local):
        if repo.push(local, expected_remote=remote):
            return local
        return align_with_remote(repo)
    ahead, behind = repo.ahead_behind(local, remote)
    raise ConflictError(
        f"the local branch of {repo.path} has {ahead} commit(s) that are not on the remote, which has {behind} "
        "other new commit(s)",
        hint="run pull() (or `datom pull`) to merge them, then write again",
    )


def _author(repo: GitRepo) -> dict[str, str] | str:
    ident = repo.identity()
    if ident is None:
        return "unknown"
    return {"name": ident.name, "email": ident.email}


def _classify(current: Mapping[str, Any] | None, new_version: str, data_sha: str) -> ChangeKind:
    if not current:
        return "full"
    if metadata_sha(current) == new_version:
        return "none"
    return "metadata_only" if current.get("data_sha") == data_sha else "full"


def _recorded_parquet_sha(
    change: ChangeKind, current: Mapping[str, Any] | None, history: Sequence[Mapping[str, Any]], data_sha: str
) -> str | None:
    if change == "metadata_only" and current and current.get("parquet_sha"):
        return str(current["parquet_sha"])
    for entry in history:
        if entry.get("data_sha") == data_sha and entry.get("parquet_sha"):
            return str(entry["parquet_sha"])
    return None


def ensure_parquet(
    store: ObjectStore, table: str, prepared: PreparedData, recorded: str | None, progress: Progress | None = None
) -> tuple[str, int, bool]:
    """Make sure ``<table>/<data_sha>.parquet`` exists and holds good bytes; return ``(parquet_sha, size, uploaded)``.

    A recorded hash is reused only when the object really exists (R reuses it blindly, section 8 item 12)
    and its bytes still hash to it (checked once per machine: a verdict, S3's own SHA-256, else a hash).
    A missing object is uploaded with put-if-absent (with its SHA-256 checksum on S3). A corrupted
    object is replaced, only if it is still the corrupted one (a compare-and-swap, so a concurrent
    repair is never clobbered), by a verified copy of the recorded bytes when this machine has one, else
    by this write's bytes (the caller then re-pins every version of this content). An object that exists
    with no recorded hash is pinned as stored when it holds this data, and replaced when it does not.
    """
    data_sha = prepared.digest.data_sha
    key = keys.parquet_key(table, data_sha)
    verdicts = active_verdicts()
    for _ in range(MAX_REPAIR_ATTEMPTS):
        try:
            stat = store.stat(key)
        except StoreAccessDeniedError:
            # S3 answers 403 to a HEAD of a missing object when the credentials lack s3:ListBucket (reference
            # section 8 item 25): the conditional PUT decides instead (a 412 means the object exists)
            return _upload_blind(store, key, prepared, progress)
        if stat is None:
            with stage(progress, "upload", prepared.size) as on_bytes:
                created = store.put_file_if_absent(key, prepared.path, progress=on_bytes, sha256=prepared.parquet_sha)
            if created:
                return prepared.parquet_sha, prepared.size, True
            continue  # another writer won the race: check what it stored
        with stage(progress, "verify", stat.size) as on_bytes:
            actual = object_sha(store, key, stat, verdicts, progress=on_bytes)
        if actual == (recorded or prepared.parquet_sha) or (recorded is None and _holds(store, key, data_sha)):
            return actual, stat.size, False
        source, sha = _replacement(recorded, prepared)
        with stage(progress, "upload", os.path.getsize(source)) as on_bytes:
            if store.replace_file(key, source, expected=stat, sha256=sha):
                return sha, os.path.getsize(source), True
    raise ConflictError(
        f"{store.location.url(key)} kept changing while this write tried to repair it",
        hint="another process is rewriting it; retry the write when it is done",
    )


def _upload_blind(
    store: ObjectStore, key: str, prepared: PreparedData, progress: Progress | None
) -> tuple[str, int, bool]:
    """Upload without being able to look first (HEAD refused): put-if-absent decides."""
    with stage(progress, "upload", prepared.size) as on_bytes:
        created = store.put_file_if_absent(key, prepared.path, progress=on_bytes, sha256=prepared.parquet_sha)
    if created:
        return prepared.parquet_sha, prepared.size, True
    return sha256_object(store, key), prepared.size, False


def _replacement(recorded: str | None, prepared: PreparedData) -> tuple[str, str]:
    """The file to restore a bad object from: a verified copy of the recorded bytes, else this write's."""
    if recorded is not None and recorded != prepared.parquet_sha:
        found = verified_copy([recorded])
        if found is not None:
            return found
    return prepared.path, prepared.parquet_sha


def _holds(store: ObjectStore, key: str, data_sha: str) -> bool:
    """True if a stored parquet object (whose bytes nothing pins) holds the content ``data_sha``."""
    with tempfile.TemporaryDirectory(prefix="datom-check-", dir=store.staging_dir()) as tmp:
        path = store.location.fs_path(key) if store.location.is_local else os.path.join(tmp, "object.parquet")
        if not store.location.is_local:
            download_verified(store, key, path, expected=None)
        try:
            return hash_parquet(path).data_sha == data_sha
        except Exception:  # not a readable parquet file: it cannot hold the data
            return False


def write_table(
    repo: GitRepo | None,
    store: ObjectStore,
    project: str,
    data: Any,
    table: str,
    *,
    message: str | None = None,
    custom: Mapping[str, Any] | None = None,
    parents: Sequence[Mapping[str, Any]] | None = None,
    provenance: Provenance = Provenance(),
    progress: Progress | None = None,
    prepared: PreparedData | None = None,
    expected_location: StoreLocation | None = None,
) -> WriteResult:
    """Write ``data`` as a new version of ``table`` (see the module docstring for the order of steps)."""
    validate_name(table)
    if repo is None:
        raise ReadOnlyError(f"project {project!r} was opened from its store only; it cannot be written")
    if message is not None and not isinstance(message, str):
        raise InvalidArgumentError(f"message must be a string, got {type(message).__name__}")
    custom_value = validate_custom(custom) if custom is not None else None
    if parents is not None:
        lean_parents, lineage = validate_parents(parents)
    else:
        lean_parents = None
        lineage = None
        if provenance.source_lineage is not None:
            lineage = validate_source_lineage(list(provenance.source_lineage))
    workdir = None
    result = None
    try:
        if prepared is None:
            workdir = make_tempdir(store.staging_dir())
            prepared = prepare(data, workdir, progress=progress)
        result = _commit_loop(
            repo,
            store,
            project,
            table,
            prepared,
            message=message,
            custom=custom_value,
            parents=lean_parents,
            lineage=lineage,
            provenance=provenance,
            progress=progress,
            expected_location=expected_location,
        )
        return result
    finally:
        remove_tempdir(workdir)
        if workdir and result is not None and result.uploaded and result.parquet_sha and store.location.is_local:
            # the object is the file this write hashed as it wrote it (linked into place): no need to hash it
            # again on the first read (done only now: unlinking the scratch copy changed its ctime)
            vouch_for_file(
                active_verdicts(), store.location.fs_path(keys.parquet_key(table, result.data_sha)), result.parquet_sha
            )


def _commit_loop(
    repo: GitRepo,
    store: ObjectStore,
    project: str,
    table: str,
    prepared: PreparedData,
    *,
    message: str | None,
    custom: dict[str, Any] | None,
    parents: list[dict[str, Any]] | None,
    lineage: list[dict[str, Any]] | None,
    provenance: Provenance,
    progress: Progress | None,
    expected_location: StoreLocation | None,
) -> WriteResult:
    from .._version import __version__

    digest = prepared.digest
    ref = TableRef(project, table)
    message = message or f"Update {table}"
    uploaded_any = False
    outcome: dict[str, Any] = {}

    def build_commit(base: str | None) -> str | None:
        """The commit of this write on top of ``base``; ``base`` itself when no commit is needed."""
        nonlocal uploaded_any
        outcome["base"] = base
        if expected_location is not None:
            _check_not_moved(repo, base, expected_location, project)
        current = _parse(repo.read_file(base, keys.table_metadata_path(table))) if base else None
        history = _parse(repo.read_file(base, keys.table_history_path(table))) if base else None
        manifest = _parse(repo.read_file(base, keys.MANIFEST_PATH)) if base else None
        history = [e for e in (history or []) if isinstance(e, dict)]
        created_at = utc_timestamp()

        def make(parquet_sha: str | None, size: int) -> dict[str, Any]:
            return build_metadata(
                data_sha=digest.data_sha,
                nrow=digest.nrow,
                ncol=digest.ncol,
                colnames=list(prepared.colnames),
                column_hashes=digest.column_hashes_json(),
                created_at=created_at,
                datom_version=__version__,
                table_type=provenance.table_type,
                original_file_sha=provenance.original_file_sha,
                parents=parents,
                source_lineage=lineage,
                size_bytes=size,
                custom=custom,
                parquet_sha=parquet_sha,
            )

        version = metadata_sha(make(None, prepared.size))  # volatile fields do not change the version
        change = _classify(current, version, digest.data_sha)
        recorded = _recorded_parquet_sha(change, current, history, digest.data_sha)
        parquet_sha, size, uploaded = ensure_parquet(store, table, prepared, recorded, progress)
        uploaded_any = uploaded_any or uploaded
        outcome.update(version=version, change=change, parquet_sha=parquet_sha)
        # the object was missing and went up with other bytes than the recorded ones: every version of
        # this content must pin the bytes now stored, even when no new version is made
        repinned = uploaded and recorded is not None and recorded != parquet_sha
        if repinned:
            history = [_repin(e, digest.data_sha, parquet_sha) for e in history]
        if change == "none" and not repinned:
            outcome["parquet_sha"] = (current or {}).get("parquet_sha") or parquet_sha
            return base
        meta = make(parquet_sha, size)
        entry = history_entry(
            version=version,
            data_sha=digest.data_sha,
            timestamp=meta["created_at"],
            author=_author(repo),
            commit_message=message,
            parquet_sha=parquet_sha,
            original_file_sha=provenance.original_file_sha,
        )
        new_history, _ = add_history_entry(history, entry)
        new_manifest = update_manifest(
            manifest,
            project_name=project,
            table=table,
            metadata=meta,
            version_count=len(new_history),
            now=meta["created_at"],
            original_format=provenance.original_format,
        )
        files = {
            keys.table_metadata_path(table): _file(meta),
            keys.table_history_path(table): _file(new_history),
            keys.MANIFEST_PATH: _file(new_manifest),
        }
        return repo.commit_files(base, files, message, author=repo.identity())

    head = push_with_retry(
        repo,
        build_commit,
        f"the data repo of {project!r} to publish {ref}",
        hint="retry the write; nothing was lost (the data object is already in the store)",
    )
    if head == outcome["base"]:
        # nothing to commit: still repair a stale mirror or this table's missing mirror objects
        mine = [] if head is None or inspect_table(repo, store, head, table).complete else [table]
        _repair_if_stale(repo, store, head, extra=mine)
        commit = None
    else:
        stale, _ = stale_tables(repo, store, head)
        publish(repo, store, head, [table, *stale])
        commit = head
    return WriteResult(
        ref,
        outcome["version"],
        digest.data_sha,
        outcome["change"],
        commit,
        uploaded_any,
        digest.nrow,
        digest.ncol,
        outcome["parquet_sha"],
    )


def push_with_retry(
    repo: GitRepo, make: Callable[[str | None], str | None], what: str, *, hint: str | None = None
) -> str | None:
    """Build a commit on the remote head with ``make(base)`` and push it; rebuild and retry when the push
    loses a race (git is the only coordination). ``make`` returns ``base`` when nothing needs committing.
    Returns the pushed head (``base`` when nothing changed)."""
    for attempt in range(MAX_PUSH_ATTEMPTS):
        base = align_with_remote(repo)
        head = make(base)
        if head == base:
            return base
        if repo.push(head, expected_remote=base):  # type: ignore[arg-type]
            repo.advance(head)  # type: ignore[arg-type]
            return head
        time.sleep(random.uniform(0.005, 0.05) * min(attempt + 1, 8))
    raise ConflictError(
        f"could not push to {what} ({repo.remote_url}) after {MAX_PUSH_ATTEMPTS} attempts: "
        "other writers kept pushing first",
        hint=hint,
    )


def _repin(entry: dict[str, Any], data_sha: str, parquet_sha: str) -> dict[str, Any]:
    if entry.get("data_sha") == data_sha and entry.get("parquet_sha"):
        return {**entry, "parquet_sha": parquet_sha}
    return entry


def _check_not_moved(repo: GitRepo, base: str | None, expected: StoreLocation, project: str) -> None:
    """Refuse to write when project.yaml now records another store than when this handle was opened.

    A migration commits the new ``storage.data``; a writer still holding the old location would
    otherwise upload to a store that readers no longer use (reference section 1.3, write-time guard).
    """
    now = recorded_location(read_config(repo, base)) if base else None
    if now is not None and not now.same_place(expected):
        raise ConflictError(
            f"the data of project {project!r} moved to {now.url()} (project.yaml changed since this handle "
            f"was opened with {expected.url()}); nothing was written",
            hint="reopen the project (open_project(path)) so writes go to the new store",
        )


def _repair_if_stale(repo: GitRepo, store: ObjectStore, commit: str | None, extra: list[str]) -> list[str]:
    """Republish tables whose store mirror lags git at ``commit``; returns the tables repaired."""
    if commit is None:
        return []
    stale, manifest_stale = stale_tables(repo, store, commit)
    tables = [*extra, *stale]
    if tables or manifest_stale:
        publish(repo, store, commit, tables)
    return tables
