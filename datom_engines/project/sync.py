"""Syncing a folder of source files into table versions (reference sections 3.13, 3.14 and 2.4).

A sync has three phases and writes nothing before the third:

1. **scan** (R's ``datom_sync_manifest``): list the folder (flat, non-hidden files, alphabetical, glob
   ``pattern`` on the file name), hash every file (``original_file_sha``, SHA-256 of the bytes) and give
   each a status against the clone's git manifest: ``new``, ``changed`` (file hash differs) or
   ``unchanged``; or a problem: ``unsupported_format`` (not on the allowlist), ``invalid_name`` (the file
   name minus its extension is not a valid table name), ``duplicate_name`` (two files map to one table,
   such as ``dm.csv`` and ``dm.xpt``; R lets the last one win silently, section 8 item 23).
2. **prepare**: each ``new``/``changed`` file is read and hashed (and serialised to a local parquet), so
   the plan knows whether a changed file holds new data (``full``) or the same data in other bytes
   (``metadata_only``). Unreadable files are found here, before anything is written.
3. **write**: every file becomes a new version through the normal write path, all of them in *one*
   commit (a transaction: one push, and readers of the whole project see the inbox land at once), as
   ``table_type = "imported"`` with the ``original_file_sha``, ``original_format``, a ``source_lineage``
   entry naming the table itself and the history message ``Sync <table> (new|changed)`` (R writes one
   commit per file with that message; a one-file sync's commit has exactly it). Unchanged files are
   never opened.

``continue_on_error`` (the default, as in R) records a failing file and goes on; otherwise the first
problem stops the sync: problems found by the scan or prepare phases stop it before anything is written.
The write phase is all or nothing: if the commit cannot be made, no file is written. A clone that is
behind its remote is refused (pull first), and duplicate table names always are.
"""

from __future__ import annotations

import fnmatch
import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..core import jsonfmt, keys
from ..core.codecs import Compression, normalize_compression
from ..core.names import validate_name
from ..core.values import ChangeKind
from ..errors import (
    ConflictError,
    DatomError,
    InvalidArgumentError,
    InvalidNameError,
    NotFoundError,
    UnsupportedDataError,
)
from ..gitrepo import GitRepo
from ..progress import Progress, stage
from ..storage.integrity import sha256_file
from ..storage.staging import make_tempdir, remove_tempdir
from . import importers
from .handle import ProjectHandle
from .results import WriteResult
from .writing import Provenance, release_scratch

if TYPE_CHECKING:
    from .prepare import PreparedData

FileStatus = Literal["new", "changed", "unchanged", "unsupported_format", "invalid_name", "duplicate_name"]
FileOutcome = Literal["success", "error", "skipped", "planned"]
ACTIONABLE = ("new", "changed")
PROBLEMS = ("unsupported_format", "invalid_name", "duplicate_name")


@dataclass(frozen=True, slots=True)
class InputFile:
    """One file of the input folder, classified against the git manifest."""

    name: str
    path: Path
    format: str
    original_file_sha: str
    size: int
    status: FileStatus
    problem: str | None = None

    @property
    def actionable(self) -> bool:
        """True for ``new`` and ``changed`` files (the ones a sync writes)."""
        return self.status in ACTIONABLE

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "name": self.name,
            "file": str(self.path),
            "format": self.format,
            "original_file_sha": self.original_file_sha,
            "size_bytes": self.size,
            "status": self.status,
            "problem": self.problem,
        }


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """The scan of an input folder: every matching file with its status."""

    directory: Path
    pattern: str
    files: tuple[InputFile, ...]

    def counts(self) -> dict[str, int]:
        """Number of files per status, plus ``total``."""
        counts = Counter(f.status for f in self.files)
        return {"total": len(self.files), **{s: counts.get(s, 0) for s in (*ACTIONABLE, "unchanged", *PROBLEMS)}}

    @property
    def actionable(self) -> tuple[InputFile, ...]:
        """The files a sync would write."""
        return tuple(f for f in self.files if f.actionable)

    @property
    def problems(self) -> tuple[InputFile, ...]:
        """Files that cannot be synced as they are."""
        return tuple(f for f in self.files if f.status in PROBLEMS)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "directory": str(self.directory),
            "pattern": self.pattern,
            "counts": self.counts(),
            "files": [f.to_dict() for f in self.files],
        }


@dataclass(frozen=True, slots=True)
class FileResult:
    """What a sync did with one file.

    ``result`` is ``success`` (written; ``change`` says how), ``error`` (see ``error``), ``skipped``
    (unchanged) or, in a dry run, ``planned`` (``change`` is then what the write would do).
    """

    file: InputFile
    result: FileOutcome
    change: ChangeKind | None = None
    version: str | None = None
    data_sha: str | None = None
    nrow: int | None = None
    ncol: int | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            **self.file.to_dict(),
            "result": self.result,
            "change": self.change,
            "version": self.version,
            "data_sha": self.data_sha,
            "nrow": self.nrow,
            "ncol": self.ncol,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class SyncResult:
    """Outcome of a sync: one :class:`FileResult` per scanned file, in folder order."""

    plan: SyncPlan
    files: tuple[FileResult, ...]
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """True when no file ended in error."""
        return all(r.result != "error" for r in self.files)

    @property
    def written(self) -> tuple[FileResult, ...]:
        """Files that produced a new version (``full`` or ``metadata_only``)."""
        return tuple(r for r in self.files if r.result == "success" and r.change in ("full", "metadata_only"))

    def counts(self) -> dict[str, int]:
        """Number of files per result."""
        counts = Counter(r.result for r in self.files)
        return {k: counts.get(k, 0) for k in ("success", "error", "skipped", "planned")}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "directory": str(self.plan.directory),
            "pattern": self.plan.pattern,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "counts": self.counts(),
            "files": [r.to_dict() for r in self.files],
        }


class SyncError(DatomError):
    """A sync stopped (``continue_on_error=False``, or a problem no sync can go past).

    ``result`` holds what was done up to the stop (files written before it stay written).
    """

    def __init__(self, message: str, hint: str | None = None, result: SyncResult | None = None) -> None:
        super().__init__(message, hint)
        self.result = result


# ----- scan ------------------------------------------------------------------------------------------


def _git_tables(repo: GitRepo) -> Mapping[str, Any]:
    head = repo.head()
    raw = repo.objects.read_file(head, keys.MANIFEST_PATH) if head else None
    manifest = jsonfmt.parse(raw) if raw else {}
    tables = manifest.get("tables") if isinstance(manifest, dict) else None
    return tables if isinstance(tables, Mapping) else {}


def input_dir(repo: GitRepo, path: str | os.PathLike[str] | None) -> Path:
    """The folder to sync: ``path`` made absolute, or the clone's ``input_files``."""
    return Path(path).absolute() if path is not None else Path(repo.path) / keys.INPUT_DIR


def _list_files(directory: Path, pattern: str, strict: bool) -> list[Path]:
    if not directory.is_dir():
        raise NotFoundError(
            f"input folder {directory} does not exist",
            hint="create it and put the files to sync in it, or pass another folder",
        )
    entries = sorted((e for e in os.scandir(directory) if not e.name.startswith(".")), key=lambda e: e.name)
    subdirs = [e.name for e in entries if e.is_dir()]
    if subdirs and strict:
        raise InvalidArgumentError(
            f"input folder {directory} must be flat but holds sub-folders: {', '.join(subdirs)}",
            hint="move those files up into the folder (or elsewhere), or sync each sub-folder with its own path",
        )
    return [Path(e.path) for e in entries if e.is_file() and fnmatch.fnmatchcase(e.name, pattern)]


def _classify(name: str, fmt: str, sha: str, tables: Mapping[str, Any]) -> tuple[FileStatus, str | None]:
    if not importers.is_supported(fmt):
        return "unsupported_format", importers.unsupported_message(f"{name}.{fmt}" if fmt else name, fmt)
    try:
        validate_name(name)
    except InvalidNameError as exc:
        return "invalid_name", f"{exc.message}; rename the file (its name minus the extension is the table name)"
    entry = tables.get(name)
    if not isinstance(entry, Mapping):
        return "new", None
    return ("unchanged" if entry.get("original_file_sha") == sha else "changed"), None


def scan_inputs(
    project: ProjectHandle,
    path: str | os.PathLike[str] | None = None,
    pattern: str = "*",
    *,
    strict: bool = True,
    progress: Progress | None = None,
) -> SyncPlan:
    """Hash and classify the files of an input folder against the clone's git manifest (no writes).

    ``strict=False`` ignores sub-folders instead of refusing them (used by :meth:`Project.status`).
    """
    repo = project._require_repo("scan input files")
    directory = input_dir(repo, path)
    if not isinstance(pattern, str) or not pattern:
        raise InvalidArgumentError(f"pattern must be a non-empty glob such as '*.csv', got {pattern!r}")
    paths = _list_files(directory, pattern, strict)
    tables = _git_tables(repo)
    files: list[InputFile] = []
    sizes = [p.stat().st_size for p in paths]
    with stage(progress, "hash", sum(sizes)) as on_bytes:
        for p, size in zip(paths, sizes, strict=True):
            fmt = importers.file_format(p)
            name = p.name[: -len(fmt) - 1] if fmt else p.name
            sha = sha256_file(str(p), on_bytes)
            status, problem = _classify(name, fmt, sha, tables)
            files.append(InputFile(name, p, fmt, sha, size, status, problem))
    counts = Counter(f.name for f in files if f.status not in ("unsupported_format", "invalid_name"))
    dupes = {n for n, c in counts.items() if c > 1}
    if dupes:
        by_name = {n: [f.path.name for f in files if f.name == n] for n in dupes}
        files = [
            replace(
                f,
                status="duplicate_name",
                problem=f"{' and '.join(by_name[f.name])} all map to table {f.name!r}; keep one, or rename the others",
            )
            if f.name in dupes
            else f
            for f in files
        ]
    return SyncPlan(directory, pattern, tuple(files))


def input_counts(project: ProjectHandle) -> dict[str, int] | None:
    """Counts of the clone's ``input_files`` by status (``None`` when the folder does not exist)."""
    repo = project._require_repo("scan input files")
    if not input_dir(repo, None).is_dir():
        return None
    try:
        counts = scan_inputs(project, strict=False).counts()
    except OSError:  # an unreadable file: status reports, it does not fail
        return None
    return {
        "n_total": counts["total"],
        "n_new": counts["new"],
        "n_changed": counts["changed"],
        "n_unchanged": counts["unchanged"],
        "n_unsupported": counts["unsupported_format"] + counts["invalid_name"] + counts["duplicate_name"],
    }


# ----- prepare and write -----------------------------------------------------------------------------


def ensure_not_behind(repo: GitRepo) -> None:
    """Fetch, and refuse when the local branch lacks commits of its remote (reference section 3.14 step 2).

    The plan is made against the clone's manifest, so a clone behind its remote would misjudge what changed.
    """
    remote = repo.fetch()
    local = repo.head()
    if remote is None or local == remote or (local is not None and repo.objects.is_ancestor(remote, local)):
        return
    _, behind = repo.objects.ahead_behind(local, remote)
    raise ConflictError(
        f"the clone at {repo.path} is {behind} commit(s) behind its remote; its manifest is out of date",
        hint="run `datom pull` (or Project.pull()) first, then sync again",
    )


@dataclass(slots=True)
class _Prepared:
    """A file read, hashed and serialised, waiting to be written (mutable scratch, never returned)."""

    file: InputFile
    data: PreparedData
    workdir: str
    change: ChangeKind


def prepare_file(
    project: ProjectHandle,
    path: Path,
    fmt: str,
    progress: Progress | None = None,
    compression: Compression = None,
) -> tuple[PreparedData, str]:
    """Read a source file and prepare it for writing; returns the prepared data and its scratch dir.

    ``compression`` defaults to the project's setting."""
    from .prepare import prepare  # pyarrow and the hashing code load only when a file is written

    if compression is None:
        compression = project.compression_setting()
    frame = importers.read_file(path, fmt)
    workdir = make_tempdir(project.store.staging_dir())
    try:
        try:
            prepared = prepare(frame, workdir, progress=progress, compression=compression)
        except DatomError as exc:
            raise type(exc)(f"{path.name}: {exc.message}", exc.hint) from exc
        except Exception as exc:  # a lazily read file (parquet) fails only when it is streamed
            raise UnsupportedDataError(
                f"could not read {path.name}: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}",
                hint="check that the file is complete and valid",
            ) from exc
    except BaseException:
        remove_tempdir(workdir)
        raise
    return prepared, workdir


def imported(project: ProjectHandle, table: str, prepared: PreparedData, file_sha: str, fmt: str) -> Provenance:
    """The provenance of an imported table version (reference section 3.14 step 4)."""
    lineage = ({"project": project.name, "table": table, "version_sha": prepared.digest.data_sha},)
    return Provenance("imported", file_sha, fmt, lineage)


def write_prepared(
    project: ProjectHandle,
    table: str,
    prepared: PreparedData,
    *,
    original_file_sha: str,
    original_format: str,
    message: str,
    progress: Progress | None = None,
) -> WriteResult:
    """Write prepared data as an imported table version."""
    provenance = imported(project, table, prepared, original_file_sha, original_format)
    return project.write(None, table, message=message, provenance=provenance, progress=progress, prepared=prepared)


def sync_message(directory: Path, files: list[InputFile]) -> str:
    """The commit message of a sync: R's ``Sync <t> (new|changed)`` for one file, else a summary."""
    if len(files) == 1:
        return f"Sync {files[0].name} ({files[0].status})"
    body = "\n".join(f"{f.name} ({f.status})" for f in files)
    return f"Sync {len(files)} tables from {directory.name}\n\n{body}"


def import_file(
    project: ProjectHandle,
    path: str | os.PathLike[str],
    table: str | None = None,
    *,
    fmt: str | None = None,
    message: str | None = None,
    progress: Progress | None = None,
    compression: Compression = None,
) -> WriteResult:
    """Write one source file as a new version of ``table`` (default: the file name minus its extension).

    The version is recorded as imported, with the file's ``original_file_sha`` and format, exactly as a
    sync of that file would record it.
    """
    p = Path(path).absolute()
    if not p.is_file():
        raise NotFoundError(f"file {p} does not exist", hint="check the path")
    found = importers.file_format(p)
    fmt = fmt.lstrip(".") if fmt else found
    table = validate_name(table if table is not None else (p.name[: -len(found) - 1] if found else p.name))
    project._require_repo("write")
    with stage(progress, "hash", p.stat().st_size) as on_bytes:
        file_sha = sha256_file(str(p), on_bytes)
    prepared, workdir = prepare_file(project, p, fmt, progress, compression)
    written: list[WriteResult] = []
    try:
        written.append(
            write_prepared(
                project,
                table,
                prepared,
                original_file_sha=file_sha,
                original_format=fmt,
                message=message or f"Write {table} from {p.name}",
                progress=progress,
            )
        )
        return written[0]
    finally:
        release_scratch(project.store, [workdir], written)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, DatomError):
        return exc.message + (f" (hint: {exc.hint})" if exc.hint else "")
    return f"{type(exc).__name__}: {exc}"


def _write_all(
    project: ProjectHandle,
    plan: SyncPlan,
    prepared: list[_Prepared],
    results: dict[Path, FileResult],
    continue_on_error: bool,
    finish: Callable[[], SyncResult],
    progress: Progress | None,
) -> list[WriteResult]:
    """Write every prepared file in one transaction (one commit); record each file's result."""
    tx = project.transaction(progress=progress)
    staged: list[_Prepared] = []
    for item in prepared:
        f = item.file
        provenance = imported(project, f.name, item.data, f.original_file_sha, f.format)
        try:
            tx.write(None, f.name, message=f"Sync {f.name} ({f.status})", provenance=provenance, prepared=item.data)
        except Exception as exc:
            results[f.path] = FileResult(f, "error", error=_error_text(exc))
            if not continue_on_error:
                tx.abort()
                raise SyncError(
                    f"sync stopped at {f.path.name}: {_error_text(exc)}",
                    hint="nothing was written; fix the problem and sync again",
                    result=finish(),
                ) from exc
            continue
        staged.append(item)
    if not staged:
        return []
    tx.message = sync_message(plan.directory, [item.file for item in staged])
    total = sum(item.file.size for item in staged)
    with stage(progress, "sync", total) as on_bytes:
        try:
            done = tx.commit()
        except Exception as exc:
            for item in staged:
                results[item.file.path] = FileResult(item.file, "error", error=_error_text(exc))
            if not continue_on_error:
                raise SyncError(
                    f"sync failed: {_error_text(exc)}",
                    hint="nothing was written (the files go into one commit); fix the problem and sync again",
                    result=finish(),
                ) from exc
            return []
        finally:
            if on_bytes:
                on_bytes(total)
    for item in staged:
        r = done[item.file.name]
        results[item.file.path] = FileResult(item.file, "success", r.change, r.version, r.data_sha, r.nrow, r.ncol)
    return list(done)


def sync_inputs(
    project: ProjectHandle,
    path: str | os.PathLike[str] | None = None,
    pattern: str = "*",
    *,
    continue_on_error: bool = True,
    dry_run: bool = False,
    progress: Progress | None = None,
    compression: Compression = None,
) -> SyncResult:
    """Scan, prepare and write the files of an input folder (see the module docstring).

    ``compression`` (default: the project's setting) is checked before any file is read.

    ``dry_run`` stops after the prepare phase: every file's result is ``planned`` (with the ``change``
    the write would make), ``skipped`` or ``error``, and nothing is written.
    """
    repo = project._require_repo("sync")
    compression = normalize_compression(compression) if compression is not None else project.compression_setting()
    ensure_not_behind(repo)
    plan = scan_inputs(project, path, pattern, progress=progress)
    results: dict[Path, FileResult] = {}
    for f in plan.files:
        if f.status == "unchanged":
            results[f.path] = FileResult(f, "skipped", change="none")
        elif f.status in PROBLEMS:
            results[f.path] = FileResult(f, "error", error=f.problem)

    def finish() -> SyncResult:
        return SyncResult(plan, tuple(results[f.path] for f in plan.files if f.path in results), dry_run)

    dupes = [f for f in plan.files if f.status == "duplicate_name"]
    if dupes and not dry_run:
        raise SyncError(
            f"{len(dupes)} files in {plan.directory} map to the same table: "
            + "; ".join(sorted({f.problem or "" for f in dupes})),
            hint="nothing was written; keep one file per table (or narrow the files with a pattern)",
            result=finish(),
        )
    if plan.problems and not continue_on_error and not dry_run:
        raise SyncError(
            f"{len(plan.problems)} file(s) in {plan.directory} cannot be synced: "
            + "; ".join(f.problem or f.path.name for f in plan.problems),
            hint="nothing was written; fix or remove them, narrow the files with a pattern, or continue on errors",
            result=finish(),
        )
    current = _git_tables(repo)
    prepared: list[_Prepared] = []
    written: list[WriteResult] = []
    try:
        with stage(progress, "import", sum(f.size for f in plan.actionable)) as on_bytes:
            for f in plan.actionable:
                try:
                    data, workdir = prepare_file(project, f.path, f.format, progress, compression)
                except Exception as exc:
                    results[f.path] = FileResult(f, "error", error=_error_text(exc))
                    if not continue_on_error and not dry_run:
                        raise SyncError(
                            f"could not import {f.path.name}: {_error_text(exc)}",
                            hint="nothing was written; fix the file, or continue on errors",
                            result=finish(),
                        ) from exc
                    continue
                finally:
                    if on_bytes:
                        on_bytes(f.size)
                entry = current.get(f.name)
                same = isinstance(entry, Mapping) and entry.get("current_data_sha") == data.digest.data_sha
                change: ChangeKind = "metadata_only" if same else "full"
                prepared.append(_Prepared(f, data, workdir, change))
                results[f.path] = FileResult(
                    f, "planned", change, None, data.digest.data_sha, data.digest.nrow, data.digest.ncol
                )
        if dry_run:
            return finish()
        if prepared:
            written = _write_all(project, plan, prepared, results, continue_on_error, finish, progress)
        return finish()
    finally:
        release_scratch(project.store, [item.workdir for item in prepared], written)
