"""The write path (reference section 3) with the deliberate fixes of this implementation.

Order: hash + serialise (nothing touched yet) -> fetch and align with the remote -> classify against
git -> make sure the parquet object is in the store (put-if-absent, *before* the push, so pushed metadata
never points at a missing object) -> commit on top of the remote head and push -> publish the metadata
mirror. A push that loses a race is not an error: the version is re-derived from the new remote head
(history, manifest, change class) and pushed again, so neither writer's version is lost.

Structure: :class:`TableSpec` (a validated request) + prepared data make a :class:`TableWrite`;
:func:`stage_table` turns one of them into "the files of that table's new version on top of a base
commit" (classification, upload, re-pinning, history and manifest entry); :func:`commit_tables` stages
one or more tables on the remote head into one commit, pushes it with :func:`push_with_retry` (which
rebuilds on a lost race) and publishes the mirror. A single write (:func:`write_table`) and a
multi-table transaction (:mod:`.transaction`, used by sync) are the same path with one or many tables.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core import jsonfmt, keys
from ..core.codecs import Compression
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
from ..storage import fastcheck
from ..storage.cache import active_verdicts, verified_copy
from ..storage.integrity import download_verified, sha256_object
from ..storage.location import StoreLocation
from ..storage.objectstore import ObjectStore
from ..storage.staging import make_tempdir, remove_tempdir
from ..storage.verify import object_sha, vouch_for_file
from .config import read_config, recorded_location
from .hooks import Published, run_publish_hooks
from .publish import inspect_table, publish, stale_tables
from .results import WriteResult
from .snapshot_mirror import log_is_current

if TYPE_CHECKING:
    from .prepare import PreparedData

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
    if local is None or repo.objects.is_ancestor(local, remote):
        repo.advance(remote)
        return remote
    if repo.objects.is_ancestor(remote, local):
        if repo.push(local, expected_remote=remote):
            return local
        return align_with_remote(repo)
    ahead, behind = repo.objects.ahead_behind(local, remote)
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
                fastcheck.store_record(store, table, prepared.parquet_sha, prepared.size, prepared.blake3)
                return prepared.parquet_sha, prepared.size, True
            continue  # another writer won the race: check what it stored
        with stage(progress, "verify", stat.size) as on_bytes:
            actual = object_sha(store, key, stat, verdicts, progress=on_bytes)
        if actual == (recorded or prepared.parquet_sha) or (recorded is None and _holds(store, key, data_sha)):
            return actual, stat.size, False
        source, sha = _replacement(recorded, prepared)
        with stage(progress, "upload", os.path.getsize(source)) as on_bytes:
            if store.replace_file(key, source, expected=stat, sha256=sha):
                if sha == prepared.parquet_sha:
                    fastcheck.store_record(store, table, sha, prepared.size, prepared.blake3)
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
    from ..core.cv1 import hash_parquet  # numpy/pyarrow load only when such an object must be read

    with tempfile.TemporaryDirectory(prefix="datom-check-", dir=store.staging_dir()) as tmp:
        path = store.location.fs_path(key) if store.location.is_local else os.path.join(tmp, "object.parquet")
        if not store.location.is_local:
            download_verified(store, key, path, expected=None)
        try:
            return hash_parquet(path).data_sha == data_sha
        except Exception:  # not a readable parquet file: it cannot hold the data
            return False


@dataclass(frozen=True, slots=True)
class TableSpec:
    """What one table's write asks for, validated before any data is touched."""

    table: str
    message: str | None = None
    custom: dict[str, Any] | None = None
    parents: list[dict[str, Any]] | None = None
    lineage: list[dict[str, Any]] | None = None
    provenance: Provenance = Provenance()

    @classmethod
    def validated(
        cls,
        project: str,
        table: str,
        *,
        repo: GitRepo | None,
        message: str | None = None,
        custom: Mapping[str, Any] | None = None,
        parents: Sequence[Mapping[str, Any]] | None = None,
        provenance: Provenance = Provenance(),
    ) -> TableSpec:
        """Check the name, message, ``custom`` and lineage of a write (nothing is touched yet)."""
        validate_name(table)
        if repo is None:
            raise ReadOnlyError(f"project {project!r} was opened from its store only; it cannot be written")
        if message is not None and not isinstance(message, str):
            raise InvalidArgumentError(f"message must be a string, got {type(message).__name__}")
        custom_value = validate_custom(custom) if custom is not None else None
        lean_parents: list[dict[str, Any]] | None = None
        lineage: list[dict[str, Any]] | None = None
        if parents is not None:
            lean_parents, lineage = validate_parents(parents)
        elif provenance.source_lineage is not None:
            lineage = validate_source_lineage(list(provenance.source_lineage))
        return cls(table, message, custom_value, lean_parents, lineage, provenance)


@dataclass(frozen=True, slots=True)
class TableWrite:
    """One table's part of a commit: the validated request and its data, hashed and serialised."""

    spec: TableSpec
    prepared: PreparedData

    @property
    def table(self) -> str:
        """The table written."""
        return self.spec.table


@dataclass(frozen=True, slots=True)
class StagedTable:
    """One table's new version on top of a base commit: what the write does and the git files it needs.

    ``files`` (the table's ``metadata.json`` and ``version_history.json``) is empty when nothing has to
    be committed; ``manifest`` is the manifest after this table (``None``: unchanged).
    """

    write: TableWrite
    version: str
    change: ChangeKind
    parquet_sha: str | None
    uploaded: bool
    files: Mapping[str, bytes]
    manifest: dict[str, Any] | None

    def result(self, project: str, commit: str | None) -> WriteResult:
        """The :class:`WriteResult` of this table once ``commit`` (None: nothing committed) is pushed."""
        digest = self.write.prepared.digest
        return WriteResult(
            TableRef(project, self.write.table),
            self.version,
            digest.data_sha,
            self.change,
            commit if self.files else None,
            self.uploaded,
            digest.nrow,
            digest.ncol,
            self.parquet_sha,
        )


def stage_table(
    repo: GitRepo,
    store: ObjectStore,
    project: str,
    write: TableWrite,
    base: str | None,
    manifest: Mapping[str, Any] | None,
    *,
    created_at: str,
    author: dict[str, str] | str,
    message: str,
    progress: Progress | None = None,
) -> StagedTable:
    """The files of one table's new version on top of ``base`` (``manifest``: the manifest so far).

    The version is classified against git at ``base`` (none / metadata_only / full), the parquet object
    is made present in the store (put-if-absent: before any push), and when it had to be uploaded again
    with other bytes than the recorded ones every version of that content is re-pinned to the stored
    bytes. ``message`` is the history entry's commit message.
    """
    from .._version import __version__

    spec, prepared = write.spec, write.prepared
    digest, table = prepared.digest, spec.table
    current = _parse(repo.objects.read_file(base, keys.table_metadata_path(table))) if base else None
    history = _parse(repo.objects.read_file(base, keys.table_history_path(table))) if base else None
    history = [e for e in (history or []) if isinstance(e, dict)]

    def make(parquet_sha: str | None, size: int) -> dict[str, Any]:
        return build_metadata(
            data_sha=digest.data_sha,
            nrow=digest.nrow,
            ncol=digest.ncol,
            colnames=list(prepared.colnames),
            column_hashes=digest.column_hashes_json(),
            created_at=created_at,
            datom_version=__version__,
            table_type=spec.provenance.table_type,
            original_file_sha=spec.provenance.original_file_sha,
            parents=spec.parents,
            source_lineage=spec.lineage,
            size_bytes=size,
            custom=spec.custom,
            parquet_sha=parquet_sha,
        )

    version = metadata_sha(make(None, prepared.size))  # volatile fields do not change the version
    change = _classify(current, version, digest.data_sha)
    recorded = _recorded_parquet_sha(change, current, history, digest.data_sha)
    parquet_sha, size, uploaded = ensure_parquet(store, table, prepared, recorded, progress)
    # the object was missing and went up with other bytes than the recorded ones: every version of
    # this content must pin the bytes now stored, even when no new version is made
    repinned = uploaded and recorded is not None and recorded != parquet_sha
    if repinned:
        history = [_repin(e, digest.data_sha, parquet_sha) for e in history]
    if change == "none" and not repinned:
        pinned = (current or {}).get("parquet_sha") or parquet_sha
        return StagedTable(write, version, change, pinned, uploaded, {}, None)
    meta = make(parquet_sha, size)
    entry = history_entry(
        version=version,
        data_sha=digest.data_sha,
        timestamp=meta["created_at"],
        author=author,
        commit_message=message,
        parquet_sha=parquet_sha,
        original_file_sha=spec.provenance.original_file_sha,
    )
    new_history, _ = add_history_entry(history, entry)
    new_manifest = update_manifest(
        manifest,
        project_name=project,
        table=table,
        metadata=meta,
        version_count=len(new_history),
        now=meta["created_at"],
        original_format=spec.provenance.original_format,
    )
    files = {keys.table_metadata_path(table): _file(meta), keys.table_history_path(table): _file(new_history)}
    return StagedTable(write, version, change, parquet_sha, uploaded, files, new_manifest)


def commit_message(writes: Sequence[TableWrite], message: str | None) -> str:
    """The git commit message: ``message``, else the one table's own, else ``Update a, b, c``."""
    if message:
        return message
    if len(writes) == 1:
        return writes[0].spec.message or f"Update {writes[0].table}"
    return "Update " + ", ".join(w.table for w in writes)


def commit_tables(
    repo: GitRepo,
    store: ObjectStore,
    project: str,
    writes: Sequence[TableWrite],
    *,
    message: str | None = None,
    progress: Progress | None = None,
    expected_location: StoreLocation | None = None,
    site: bool | None = None,
) -> tuple[str | None, list[WriteResult]]:
    """New versions of one or more tables as one commit and one push, then the store mirror.

    Every table is staged on the remote head (:func:`stage_table`: its data uploaded first), the files of
    all of them go into one commit, and the commit is pushed; a push that loses a race is rebuilt on the
    new head. Nothing is published before the push, so a failure up to there leaves readers where they
    were. Then the tables, the manifest and the commit log are mirrored (tables whose mirror lagged
    included). All versions of one commit share one ``created_at``. Returns ``(commit, results)``;
    ``commit`` is None when nothing needed committing (a stale mirror is still repaired). After a
    publish (or when ``site`` is true) the hooks of :mod:`.hooks` run: the static site's update.
    """
    names = [w.table for w in writes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidArgumentError(
            f"table(s) {', '.join(map(repr, dupes))} written twice in one commit",
            hint="write each table once per transaction (the later write would hide the earlier version)",
        )
    subject = commit_message(writes, message)
    outcome: dict[str, Any] = {}

    def build_commit(base: str | None) -> str | None:
        """The commit of these writes on top of ``base``; ``base`` itself when no commit is needed."""
        outcome["base"] = base
        if expected_location is not None:
            check_not_moved(repo, base, expected_location, project)
        manifest = _parse(repo.objects.read_file(base, keys.MANIFEST_PATH)) if base else None
        created_at, author = utc_timestamp(), _author(repo)
        files: dict[str, bytes] = {}
        staged = []
        for write in writes:
            own = write.spec.message or message or f"Update {write.table}"
            item = stage_table(
                repo,
                store,
                project,
                write,
                base,
                manifest,
                created_at=created_at,
                author=author,
                message=own,
                progress=progress,
            )
            staged.append(item)
            files.update(item.files)
            manifest = item.manifest or manifest
        outcome["staged"] = staged
        if not files:
            return base
        files[keys.MANIFEST_PATH] = _file(manifest)
        return repo.commit_files(base, files, subject, author=repo.identity())

    ref = f"{project}.{names[0]}" if len(names) == 1 else f"{len(names)} tables of {project!r}"
    head = push_with_retry(
        repo,
        build_commit,
        f"the data repo of {project!r} to publish {ref}",
        hint="retry the write; nothing was lost (the data objects are already in the store)",
    )
    staged: list[StagedTable] = outcome.get("staged", [])
    if head == outcome.get("base"):
        # nothing to commit: still repair a stale mirror or these tables' missing mirror objects
        mine = [s.write.table for s in staged if head and not inspect_table(repo, store, head, s.write.table).complete]
        repair_if_stale(repo, store, head, extra=mine)
        commit = None
    else:
        stale, _ = stale_tables(repo, store, head)
        publish(repo, store, head, [*(s.write.table for s in staged if s.files), *stale])
        commit = head
    if commit is not None or site:
        run_publish_hooks(Published(store, project, commit, tuple(s.write.table for s in staged if s.files), site))
    return commit, [s.result(project, commit) for s in staged]


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
    compression: Compression = None,
    site: bool | None = None,
) -> WriteResult:
    """Write ``data`` as a new version of ``table`` (see the module docstring for the order of steps).

    ``compression`` chooses the parquet codecs (see :mod:`.layout`); it never changes the version."""
    spec = TableSpec.validated(
        project, table, repo=repo, message=message, custom=custom, parents=parents, provenance=provenance
    )
    assert repo is not None  # validated() refuses a reader
    workdir = None
    results: list[WriteResult] = []
    try:
        if prepared is None:
            from .prepare import prepare  # pyarrow and the hashing code load only when data is written

            workdir = make_tempdir(store.staging_dir())
            prepared = prepare(data, workdir, progress=progress, compression=compression)
        _, results = commit_tables(
            repo,
            store,
            project,
            [TableWrite(spec, prepared)],
            progress=progress,
            expected_location=expected_location,
            site=site,
        )
        return results[0]
    finally:
        release_scratch(store, [workdir] if workdir else [], results)


def release_scratch(store: ObjectStore, workdirs: Sequence[str], results: Sequence[WriteResult]) -> None:
    """Delete the scratch directories of a write, then vouch for the local objects it uploaded.

    An object uploaded to a local store is the file this write hashed as it wrote it (linked into place),
    so the first read need not hash it again. Vouching waits until the scratch links are gone: removing
    them changes the object's ctime, part of its identity.
    """
    for workdir in workdirs:
        remove_tempdir(workdir)
    if not store.location.is_local:
        return
    verdicts = active_verdicts()
    for result in results:
        if result.uploaded and result.parquet_sha:
            path = store.location.fs_path(keys.parquet_key(result.ref.table, result.data_sha))
            vouch_for_file(verdicts, path, result.parquet_sha)


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


def check_not_moved(repo: GitRepo, base: str | None, expected: StoreLocation, project: str) -> None:
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


def repair_if_stale(repo: GitRepo, store: ObjectStore, commit: str | None, extra: list[str]) -> list[str]:
    """Republish tables whose store mirror lags git at ``commit`` (and a lagging commit log)."""
    if commit is None:
        return []
    stale, manifest_stale = stale_tables(repo, store, commit)
    tables = [*extra, *stale]
    if tables or manifest_stale or not log_is_current(repo, store, commit):
        publish(repo, store, commit, tables)
    return tables
