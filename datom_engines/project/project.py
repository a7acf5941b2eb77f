"""The :class:`Project` handle: one data repo (optional) plus one store namespace."""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..progress import Progress
from .diff import VersionDiff, diff_versions
from .handle import ProjectHandle
from .results import ProjectStatus, PullResult, ValidationReport, WriteResult
from .sync import SyncPlan, SyncResult, import_file, input_counts, scan_inputs, sync_inputs
from .validation import Source, validate_project


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
    ) -> WriteResult:
        """Import a source file (CSV, parquet, Excel, SAS, SPSS, Stata) as a new version of ``table``.

        ``table`` defaults to the file name without its extension; ``format`` to the extension. The
        version is recorded as imported, with the file's ``original_file_sha``, as a sync would.
        """
        return import_file(self, path, table, fmt=format, message=message, progress=progress)

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
    ) -> SyncResult:
        """Write new and changed files of an input folder as table versions, one commit each.

        See :mod:`datom_engines.project.sync`: a clone behind its remote is refused; every file is
        classified and read before anything is written; ``dry_run`` stops there.
        """
        return sync_inputs(self, path, pattern, continue_on_error=continue_on_error, dry_run=dry_run, progress=progress)

    def diff(self, table: str, before: str, after: str | None = None) -> VersionDiff:
        """Compare two versions of ``table`` (``after`` defaults to the current one): shape and columns."""
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
            ahead, behind = self.repo.ahead_behind(head, remote)
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

        Missing, stale or unparsable metadata mirrors, snapshots and manifests are repaired from git.
        ``deep`` also re-hashes every stored parquet object of every version (``data_corrupt_in_store``)
        and checks every snapshot, reporting progress as the ``verify`` stage. A missing or corrupted
        parquet object is restored from a verified copy (the read cache, copies made in this process, or
        the stores in ``sources``); without one it is reported in ``unrepairable`` (a writer holding the
        data repairs it by writing the same data again). See :mod:`.validation`.
        """
        return validate_project(self, deep=deep, repair=repair, sources=sources, progress=progress)
