"""Validating a project's store against git (reference section 4.8), deeply when asked, and repairing it.

A quick validation compares the store's metadata mirror with git (existence, parsability, currency)
and checks that the current version's parquet object exists. A deep one also parses every version's
snapshot (its content must hash to its version id) and re-hashes every stored parquet object of every
version against the ``parquet_sha`` recorded for it, reporting ``data_corrupt_in_store``.

Repairs rewrite the metadata mirror from git, and restore a missing or corrupted parquet object from a
verified copy: the local read cache (content-addressed, so a copy is found by its hash), the copies
readers made in this process, or other stores given as ``sources`` (a backup, the location a project
was migrated from). A copy is hashed before use and uploaded only if it hashes to a recorded
``parquet_sha``; the upload replaces the object only if it is still the one found bad (S3: ``If-Match``
on its ETag), so a concurrent repair is never clobbered. Without a copy, the object is reported as
unrepairable: a writer holding the data repairs it by writing the same data again.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core import jsonfmt, keys
from ..core.metadata import metadata_sha
from ..core.names import is_hex_sha
from ..errors import DatomError, NotFoundError
from ..gitrepo import GitRepo
from ..progress import Progress, stage
from ..storage.cache import active_verdicts, verified_copy
from ..storage.location import StoreLocation
from ..storage.objectstore import ObjectStore
from ..storage.stat import ObjectStat
from ..storage.verify import download_checked, hash_stored
from .handle import ProjectHandle
from .publish import inspect_table, publish, read_mirror, restore_snapshots, stale_tables
from .results import TableCheck, ValidationReport
from .snapshot_mirror import log_is_current, mirror_tags, missing_tag_records, rebuild_log

Source = str | os.PathLike[str] | StoreLocation | ProjectHandle | ObjectStore


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One parquet object of a table and what the history records for it."""

    table: str
    key: str
    versions: tuple[str, ...]
    expected: frozenset[str]
    stat: ObjectStat | None = None
    sha256: str | None = None

    @property
    def missing(self) -> bool:
        """The object is not in the store."""
        return self.stat is None

    @property
    def corrupt(self) -> bool:
        """The object's bytes were hashed and match no recorded ``parquet_sha``."""
        return self.sha256 is not None and bool(self.expected) and self.sha256 not in self.expected


def discover_tables(repo: GitRepo, commit: str) -> list[str]:
    """Top-level directories of the data repo that hold a ``metadata.json`` (reference section 1.1)."""
    out = []
    for name, is_dir in repo.objects.list_tree(commit):
        if not is_dir or name.startswith(".") or name in keys.NON_TABLE_DIRS:
            continue
        if repo.objects.read_file(commit, keys.table_metadata_path(name)) is not None:
            out.append(name)
    return out


def _git_json(repo: GitRepo, commit: str, path: str) -> Any:
    data = repo.objects.read_file(commit, path)
    return None if data is None else jsonfmt.parse(data)


def table_objects(repo: GitRepo, commit: str, table: str) -> list[StoredObject]:
    """Every parquet object the git history of ``table`` refers to, newest first, with its recorded hashes."""
    entries = [e for e in _git_json(repo, commit, keys.table_history_path(table)) or [] if isinstance(e, dict)]
    current = _git_json(repo, commit, keys.table_metadata_path(table))
    if isinstance(current, dict):
        entries.insert(0, {"version": metadata_sha(current), **current})
    groups: dict[str, tuple[list[str], set[str]]] = {}
    for entry in entries:
        data_sha = entry.get("data_sha")
        if not isinstance(data_sha, str) or not is_hex_sha(data_sha):
            continue
        versions, shas = groups.setdefault(data_sha, ([], set()))
        version = entry.get("version")
        if isinstance(version, str) and version not in versions:
            versions.append(version)
        if isinstance(entry.get("parquet_sha"), str) and entry["parquet_sha"]:
            shas.add(entry["parquet_sha"])
    return [
        StoredObject(table, keys.parquet_key(table, data_sha), tuple(versions), frozenset(shas))
        for data_sha, (versions, shas) in groups.items()
    ]


def corrupt_snapshots(repo: GitRepo, store: ObjectStore, commit: str, table: str) -> list[str]:
    """Versions whose stored snapshot exists but is not valid JSON or does not hash to its version id."""
    history = _git_json(repo, commit, keys.table_history_path(table)) or []
    bad = []
    for version in [e.get("version") for e in history if isinstance(e, dict)]:
        if not is_hex_sha(version):
            continue
        value, state = read_mirror(store, keys.snapshot_key(table, version))
        if state == "corrupt" or (state == "ok" and (not isinstance(value, dict) or metadata_sha(value) != version)):
            bad.append(version)
    return bad


def hash_objects(store: ObjectStore, objects: list[StoredObject], progress: Progress | None) -> list[StoredObject]:
    """Stat and re-hash each object (recording the verdicts); missing ones keep ``stat=None``."""
    stats = [store.stat(o.key) for o in objects]
    verdicts = active_verdicts()
    out = []
    with stage(progress, "verify", sum(s.size for s in stats if s is not None)) as on_bytes:
        for obj, st in zip(objects, stats, strict=True):
            sha = hash_stored(store, obj.key, st, verdicts, on_bytes) if st is not None else None
            out.append(StoredObject(obj.table, obj.key, obj.versions, obj.expected, st, sha))
    return out


#: what to do about an object no verified copy was found for (shown with ``ValidationReport.unrepairable``)
NO_COPY_HINT = (
    "a writer holding the data can write it again (the same data re-uploads the object), "
    "or pass sources=[a store holding a copy]"
)
#: problems of a table's parquet objects (the rest are about its metadata mirror)
DATA_PROBLEMS = frozenset({"data_missing_in_store", "data_corrupt_in_store"})


def _problems(state: Any, corrupt_snaps: list[str], objects: list[StoredObject]) -> list[str]:
    labels = []
    for ok, corrupt, name in (
        (state.metadata, state.metadata_corrupt, "metadata"),
        (state.history, state.history_corrupt, "history"),
    ):
        if corrupt:
            labels.append(f"{name}_corrupt_in_store")
        elif not ok:
            labels.append(f"{name}_missing_in_store")
    if not state.snapshot:
        labels.append("snapshot_missing_in_store")
    if corrupt_snaps:
        labels.append("snapshot_corrupt_in_store")
    if not state.data or any(o.missing for o in objects):
        labels.append("data_missing_in_store")
    if any(o.corrupt for o in objects):
        labels.append("data_corrupt_in_store")
    if not (state.current or not (state.metadata and state.history)):
        labels.append("mirror_stale")
    return labels


def check(
    project: ProjectHandle, repo: GitRepo, head: str, *, deep: bool, progress: Progress | None = None
) -> tuple[ValidationReport, list[StoredObject]]:
    """The validation report at ``head``, and (deep) every parquet object checked."""
    store = project.store
    git_manifest = jsonfmt.parse(repo.objects.read_file(head, keys.MANIFEST_PATH) or b"{}")
    name_ok = git_manifest.get("project_name", project.name) == project.name
    tables = discover_tables(repo, head)
    objects = hash_objects(store, [o for t in tables for o in table_objects(repo, head, t)], progress) if deep else []
    checks = []
    for table in tables:
        state = inspect_table(repo, store, head, table)
        snaps = corrupt_snapshots(repo, store, head, table) if deep else []
        mine = [o for o in objects if o.table == table]
        checks.append(
            TableCheck(
                table,
                state.metadata,
                state.history,
                state.snapshot,
                state.data,
                state.current,
                tuple(_problems(state, snaps, mine)),
                state.missing_snapshots,
                tuple(snaps),
                tuple(v for o in mine if o.missing for v in o.versions),
                tuple(v for o in mine if o.corrupt for v in o.versions),
            )
        )
    _, manifest_stale = stale_tables(repo, store, head)
    _, manifest_state = read_mirror(store, keys.MANIFEST_KEY)
    log_current = log_is_current(repo, store, head)
    tags_missing = tuple(missing_tag_records(repo, store, repo.tags.local()))
    valid = (
        name_ok
        and manifest_state == "ok"
        and not manifest_stale
        and all(c.ok for c in checks)
        and log_current
        and not tags_missing
    )
    report = ValidationReport(
        valid,
        name_ok,
        manifest_state != "missing",
        not manifest_stale,
        tuple(checks),
        log_current=log_current,
        tags_missing=tags_missing,
        manifest_corrupt=manifest_state == "corrupt",
        deep=deep,
    )
    return report, objects


# ----- repair -------------------------------------------------------------------------------------------
def _source_store(source: Source) -> ObjectStore:
    if isinstance(source, ObjectStore):
        return source
    if isinstance(source, ProjectHandle):
        return source.store
    return ObjectStore(StoreLocation.parse(source))


def _copy_from_sources(obj: StoredObject, sources: Sequence[Source], workdir: str) -> tuple[str, str] | None:
    """Download ``obj.key`` from the first source that holds good bytes for it: ``(path, sha256)``."""
    expected = sorted(obj.expected)
    for i, source in enumerate(sources):
        src = _source_store(source)
        try:
            stat = src.stat(obj.key)
            if stat is None:
                continue
            dest = os.path.join(workdir, f"source-{i}.parquet")
            sha = download_checked(
                src,
                obj.key,
                dest,
                stat=stat,
                verdicts=active_verdicts(),
                expected=expected[0],
                accepted=expected[1:],
                what=f"the copy of {obj.key} in {src.location.url()}",
            )
            return dest, sha
        except DatomError:
            continue  # unreachable, refused or corrupt there too: try the next source
    return None


def restore_object(
    store: ObjectStore, obj: StoredObject, sources: Sequence[Source], progress: Progress | None = None
) -> str:
    """Restore a missing or corrupted object from a verified copy; returns what was done (for the report).

    Raises :class:`NotFoundError` when no copy hashing to a recorded ``parquet_sha`` can be found.
    """
    where = f"{obj.table}@{obj.versions[0][:8]}" if obj.versions else obj.key
    with tempfile.TemporaryDirectory(prefix="datom-repair-", dir=store.staging_dir()) as workdir:
        found = verified_copy(obj.expected) or _copy_from_sources(obj, sources, workdir)
        if found is None:
            raise NotFoundError(
                f"{where}: the parquet object is {'missing' if obj.missing else 'corrupt'} and no verified copy "
                "was found (read cache, this process, sources)",
                hint=NO_COPY_HINT,
            )
        path, sha = found
        with stage(progress, "upload", os.path.getsize(path)):
            replaced = store.replace_file(obj.key, path, expected=obj.stat, sha256=sha)
        if not replaced:
            raise NotFoundError(
                f"{where}: the parquet object changed while it was being repaired; nothing was overwritten",
                hint="run validate(deep=True) again",
            )
    return f"{where}: parquet object restored ({'was missing' if obj.missing else 'was corrupt'})"


def _to_restore(
    project: ProjectHandle, repo: GitRepo, head: str, report: ValidationReport, objects: list[StoredObject]
) -> list[StoredObject]:
    """The objects a repair must restore: those found missing or corrupt (deep), else the missing current ones."""
    if report.deep:
        return [o for o in objects if o.missing or o.corrupt]
    out = []
    for table_check in report.tables:
        if not table_check.data_in_store:
            current = table_objects(repo, head, table_check.table)[:1]
            out += [StoredObject(o.table, o.key, o.versions, o.expected, project.store.stat(o.key)) for o in current]
    return [o for o in out if o.missing]


def _after_repair(check_: TableCheck, failed: list[StoredObject]) -> TableCheck:
    """A quick re-check of a table, with the objects that could not be restored still reported."""
    mine = [o for o in failed if o.table == check_.table]
    if not mine:
        return check_
    labels = list(check_.problems)
    for bad, label in (
        (any(o.missing for o in mine), "data_missing_in_store"),
        (any(o.corrupt for o in mine), "data_corrupt_in_store"),
    ):
        if bad and label not in labels:
            labels.append(label)
    return TableCheck(
        check_.table,
        check_.metadata_in_store,
        check_.history_in_store,
        check_.snapshot_in_store,
        check_.data_in_store and not any(o.missing for o in mine),
        check_.mirror_current,
        tuple(labels),
        check_.missing_snapshots,
        check_.corrupt_snapshots,
        tuple(v for o in mine if o.missing for v in o.versions),
        tuple(v for o in mine if o.corrupt for v in o.versions),
    )


def validate_project(
    project: ProjectHandle,
    *,
    deep: bool = False,
    repair: bool = False,
    sources: Sequence[Source] = (),
    progress: Progress | None = None,
) -> ValidationReport:
    """Compare git with the store for every table; see the module docstring (``Project.validate``)."""
    repo = project._require_repo("validate")
    with project._lock:
        head = repo.head()
        if head is None:
            raise NotFoundError(f"the clone at {repo.path} has no commits", hint="pull() first")
        report, objects = check(project, repo, head, deep=deep, progress=progress)
        if not repair or report.valid:
            return report
        # tables whose metadata mirror needs rewriting; a damaged data object is restored below, not by this
        broken = [t.table for t in report.tables if set(t.problems) - DATA_PROBLEMS]
        publish(repo, project.store, head, broken)
        if not log_is_current(repo, project.store, head):
            rebuild_log(repo, project.store, head)  # a log that cannot be extended (unreadable, foreign)
        mirror_tags(repo, project.store, repo.tags.local())
        for table_check in report.tables:
            snapshots = [*table_check.missing_snapshots, *table_check.corrupt_snapshots]
            if snapshots:
                restore_snapshots(repo, project.store, head, table_check.table, snapshots)
        restored: list[str] = []
        failed: list[StoredObject] = []
        unrepairable: list[str] = []
        for obj in _to_restore(project, repo, head, report, objects):
            try:
                restored.append(restore_object(project.store, obj, sources, progress))
            except NotFoundError as exc:
                failed.append(obj)
                unrepairable.append(exc.message)
        after, _ = check(project, repo, head, deep=False)
        tables = tuple(_after_repair(t, failed) for t in after.tables)
        manifest_ok = report.manifest_in_store and report.manifest_current and not report.manifest_corrupt
        log = () if report.log_current else ("commit log",)
        tags = tuple(f"tag {name}" for name in report.tags_missing)
        return ValidationReport(
            after.valid and not failed,
            after.project_name_ok,
            after.manifest_in_store,
            after.manifest_current,
            tables,
            (*broken, *(() if manifest_ok else ("manifest",)), *log, *tags, *restored),
            tuple(unrepairable),
            log_current=after.log_current,
            tags_missing=after.tags_missing,
            manifest_corrupt=after.manifest_corrupt,
            deep=deep,
        )
