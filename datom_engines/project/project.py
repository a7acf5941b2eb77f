"""The :class:`Project` handle: one data repo (optional) plus one store namespace."""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..core import keys
from ..core.codecs import AUTO, Compression, normalize_compression
from ..core.metadata import replace_parquet_compression
from ..errors import InvalidArgumentError, NotFoundError
from ..progress import Progress
from .diff import VersionDiff, diff_versions
from .handle import ProjectHandle
from .results import ProjectStatus, PullResult, ValidationReport, WriteResult
from .sync import SyncPlan, SyncResult, import_file, input_counts, scan_inputs, sync_inputs
from .validation import Source, validate_project
from .writing import push_with_retry


class Project(ProjectHandle):
    """A datom project: versioned tables in a store, with their metadata in a git repo.

    A *developer* handle (from :func:`init`, :func:`clone` or :func:`open_project`) has a local git clone
    and can write. A *reader* handle (from :func:`connect`) has only the store and can read everything.
    Reads always come from the store mirror, never from git.
    """

    def write_file(
        self,
        path: str | os.PathLike[str],
        table: str | None = None,
        *,
        format: str | None = None,
        message: str | None = None,
        progress: Progress | None = None,
        compression: Compression = None,
    ) -> WriteResult:
        """Import a source file (CSV, parquet, Excel, SAS, SPSS, Stata) as a new version of ``table``.

        ``table`` defaults to the file name without its extension; ``format`` to the extension. The
        version is recorded as imported, with the file's ``original_file_sha``, as a sync would.
        ``compression`` as for :meth:`write` (default: the project's setting).
        """
        return import_file(self, path, table, fmt=format, message=message, progress=progress, compression=compression)

    def sync_plan(
        self, path: str | os.PathLike[str] | None = None, pattern: str = "*", *, progress: Progress | None = None
    ) -> SyncPlan:
        """Classify the files of an input folder (default ``<clone>/input_files``) without writing."""
        return scan_inputs(self, path, pattern, progress=progress)

    def sync(
        self,
        path: str | os.PathLike[str] | None = None,
        pattern: str = "*",
        *,
        continue_on_error: bool = True,
        dry_run: bool = False,
        progress: Progress | None = None,
        compression: Compression = None,
    ) -> SyncResult:
        """Write new and changed files of an input folder as table versions, one commit each.

        See :mod:`datom_engines.project.sync`: a clone behind its remote is refused; every file is
        classified and read before anything is written; ``dry_run`` stops there. ``compression`` as for
        :meth:`write` (default: the project's setting).
        """
        return sync_inputs(
            self,
            path,
            pattern,
            continue_on_error=continue_on_error,
            dry_run=dry_run,
            progress=progress,
            compression=compression,
        )

    def set_compression(self, compression: Compression) -> str | None:
        """Set the project's default parquet ``compression`` for every writer (commit + push).

        ``compression`` is one codec name; ``"auto"`` (or None) removes the setting, and codecs are then
        chosen per column from a sample. The setting lives under ``parquet:`` in ``.datom/project.yaml``,
        a block R datom ignores. Returns the pushed commit (None when the setting was already that).
        """
        repo = self._require_repo("set the compression")
        setting = normalize_compression(compression)
        if isinstance(setting, dict):
            raise InvalidArgumentError(
                "a project's default compression is one codec (tables differ in their columns)",
                hint="set one codec (`datom compression CODEC`); codecs per column go with one write "
                "(`datom write FILE --compression COLUMN=CODEC`)",
            )
        value = None if setting == AUTO else setting
        shown = setting

        def make(base: str | None) -> str | None:
            text = repo.objects.read_file(base, keys.PROJECT_YAML_PATH) if base else None
            if text is None:
                raise NotFoundError(f"the clone at {repo.path} has no {keys.PROJECT_YAML_PATH}", hint="pull() first")
            new = replace_parquet_compression(text, value).encode("utf-8")
            if new == text:
                return base
            message = f"Set parquet compression: {shown}"
            return repo.commit_files(base, {keys.PROJECT_YAML_PATH: new}, message, author=repo.identity())

        with self._lock:
            before = repo.head()
            head = push_with_retry(repo, make, f"the data repo of {self.name!r}", hint="retry set_compression")
        return None if head == before else head

    def diff(self, table: str, before: str, after: str | None = None) -> VersionDiff:
        """Compare two versions of ``table`` (``after`` defaults to the current one): shape and columns.

        ``before`` and ``after`` are version ids, unique prefixes or tag names.
        """
        return diff_versions(self, table, before, after)

    # ----- git side --------------------------------------------------------------------------------
    def pull(self) -> PullResult:
        """Fetch and merge the data repo's remote (git only; the store is not touched)."""
        repo = self._require_repo("pull")
        with self._lock:
            result = repo.pull()
        return PullResult(result.commits_pulled, result.branch, result.head)

    def status(self) -> ProjectStatus:
        """Where the project is, how many tables the store lists, and the clone's git state.

        With a clone, ``input_files`` counts the files of ``<clone>/input_files`` as a sync would see
        them (``n_new``, ``n_changed``, ``n_unchanged``, and ``n_unsupported`` for files a sync refuses:
        formats outside the allowlist, bad or duplicate table names).
        """
        tables: int | None
        error: str | None = None
        try:
            tables = len(self.tables())
        except Exception as exc:  # status reports problems instead of raising
            tables, error = None, str(exc).splitlines()[0]
        if self.repo is None:
            return ProjectStatus(self.name, self.location.url(), self.role, tables, error)
        st = self.repo.status()
        head = self.repo.head()
        remote = self.repo.remote_head()
        ahead = behind = None
        if head and remote:
            ahead, behind = self.repo.objects.ahead_behind(head, remote)
        uncommitted = tuple(dict.fromkeys([*st.staged, *st.unstaged, *st.untracked]))
        return ProjectStatus(
            self.name,
            self.location.url(),
            self.role,
            tables,
            error,
            st.branch,
            ahead,
            behind,
            uncommitted,
            input_counts(self),
        )

    def validate(
        self,
        *,
        repair: bool = False,
        deep: bool = False,
        sources: Sequence[Source] = (),
        progress: Progress | None = None,
    ) -> ValidationReport:
        """Compare git with the store for every table; with ``repair`` rewrite what is stale or damaged.

        Missing, stale or unparsable metadata mirrors, snapshots, manifests, the commit log and tag records
        are repaired from git.
        ``deep`` also re-hashes every stored parquet object of every version (``data_corrupt_in_store``)
        and checks every snapshot, reporting progress as the ``verify`` stage. A missing or corrupted
        parquet object is restored from a verified copy (the read cache, copies made in this process, or
        the stores in ``sources``); without one it is reported in ``unrepairable`` (a writer holding the
        data repairs it by writing the same data again). See :mod:`.validation`.
        """
        return validate_project(self, deep=deep, repair=repair, sources=sources, progress=progress)
