"""The :class:`Project` handle: one data repo (optional) plus one store namespace."""

from __future__ import annotations

import os

from ..core import jsonfmt, keys
from ..core.codecs import AUTO, Compression, normalize_compression
from ..core.metadata import replace_parquet_compression
from ..errors import InvalidArgumentError, NotFoundError
from ..gitrepo import GitRepo
from ..progress import Progress
from .diff import VersionDiff, diff_versions
from .handle import ProjectHandle
from .publish import inspect_table, publish, restore_snapshots, stale_tables
from .results import ProjectStatus, PullResult, TableCheck, ValidationReport, WriteResult
from .snapshot_mirror import log_is_current, mirror_tags, missing_tag_records, rebuild_log
from .sync import SyncPlan, SyncResult, import_file, input_counts, scan_inputs, sync_inputs
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
            text = repo.read_file(base, keys.PROJECT_YAML_PATH) if base else None
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

    def validate(self, *, repair: bool = False) -> ValidationReport:
        """Compare git with the store mirror for every table; with ``repair`` rewrite what is stale.

        Missing or stale metadata mirrors, snapshots, manifests, the commit log and tag records are
        repaired from git. A missing parquet object cannot be repaired from metadata: it is reported in
        ``unrepairable`` (a writer holding the data repairs it by writing the same data again).
        """
        repo = self._require_repo("validate")
        with self._lock:
            head = repo.head()
            if head is None:
                raise NotFoundError(f"the clone at {repo.path} has no commits", hint="pull() first")
            report = self._check(repo, head)
            if not repair or report.valid:
                return report
            broken = [t.table for t in report.tables if not t.ok]
            publish(repo, self.store, head, broken)
            if not log_is_current(repo, self.store, head):
                rebuild_log(repo, self.store, head)  # a log that cannot be extended (unreadable, foreign)
            mirror_tags(repo, self.store, repo.tags())
            for check in report.tables:
                if check.missing_snapshots:
                    restore_snapshots(repo, self.store, head, check.table, list(check.missing_snapshots))
            after = self._check(repo, head)
            unrepairable = tuple(f"{t.table}: parquet object missing" for t in after.tables if not t.data_in_store)
            manifest = () if report.manifest_in_store and report.manifest_current else ("manifest",)
            log = () if report.log_current else ("commit log",)
            tags = tuple(f"tag {name}" for name in report.tags_missing)
            return ValidationReport(
                after.valid,
                after.project_name_ok,
                after.manifest_in_store,
                after.manifest_current,
                after.tables,
                (*broken, *manifest, *log, *tags),
                unrepairable,
                after.log_current,
                after.tags_missing,
            )

    def _check(self, repo: GitRepo, head: str) -> ValidationReport:
        git_manifest = jsonfmt.parse(repo.read_file(head, keys.MANIFEST_PATH) or b"{}")
        name_ok = git_manifest.get("project_name", self.name) == self.name
        checks = []
        for table in discover_tables(repo, head):
            state = inspect_table(repo, self.store, head, table)
            problems = [
                label
                for ok, label in (
                    (state.metadata, "metadata_missing_in_store"),
                    (state.history, "history_missing_in_store"),
                    (state.snapshot, "snapshot_missing_in_store"),
                    (state.data, "data_missing_in_store"),
                    (state.current or not (state.metadata and state.history), "mirror_stale"),
                )
                if not ok
            ]
            checks.append(
                TableCheck(
                    table,
                    state.metadata,
                    state.history,
                    state.snapshot,
                    state.data,
                    state.current,
                    tuple(problems),
                    state.missing_snapshots,
                )
            )
        _, manifest_stale = stale_tables(repo, self.store, head)
        manifest_in_store = self.store.exists(keys.MANIFEST_KEY)
        log_current = log_is_current(repo, self.store, head)
        tags_missing = tuple(missing_tag_records(repo, self.store, repo.tags()))
        valid = (
            name_ok
            and manifest_in_store
            and not manifest_stale
            and all(c.ok for c in checks)
            and log_current
            and not tags_missing
        )
        return ValidationReport(
            valid, name_ok, manifest_in_store, not manifest_stale, tuple(checks), (), (), log_current, tags_missing
        )


def discover_tables(repo: GitRepo, commit: str) -> list[str]:
    """Top-level directories of the data repo that hold a ``metadata.json`` (reference section 1.1)."""
    out = []
    for name, is_dir in repo.list_tree(commit):
        if not is_dir or name.startswith(".") or name in keys.NON_TABLE_DIRS:
            continue
        if repo.read_file(commit, keys.table_metadata_path(name)) is not None:
            out.append(name)
    return out
