"""Transactions: new versions of several tables as one commit, one push, and one step for readers.

::

    with proj.transaction(message="January extract") as tx:
        tx.write(dm, "dm")
        tx.write(lb, "lb", custom={"cutoff": "2026-01-31"})
    tx.result.commit, tx.result["lb"].version

Each ``write`` validates and prepares its data at once (hash + parquet), so a bad frame fails at that
line and nothing is written. Leaving the block commits: every table is staged on the remote head, all
data is uploaded (put-if-absent), the metadata of all tables goes into one commit, and that commit is
pushed (rebuilt on the new head when another writer pushed first); then the store mirror is published,
the commit log last, so project-level readers see all the tables change at once. An exception inside
the block, or anything failing before the push, publishes nothing.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..core.codecs import Compression
from ..errors import InvalidArgumentError
from ..gitrepo import GitRepo
from ..progress import Progress
from ..storage.location import StoreLocation
from ..storage.objectstore import ObjectStore
from ..storage.staging import make_tempdir, remove_tempdir
from .config import configured_compression, read_config
from .results import TransactionResult
from .writing import Provenance, TableSpec, TableWrite, commit_tables, release_scratch


def _remove_dirs(paths: list[str]) -> None:
    for path in paths:
        remove_tempdir(path)
    paths.clear()


if TYPE_CHECKING:
    from .prepare import PreparedData


class Transaction:
    """Writes collected now and committed together (see the module docstring).

    Use it as a context manager, or call :meth:`commit` (or :meth:`abort`) yourself. ``result`` holds
    the :class:`TransactionResult` once committed.
    """

    def __init__(
        self,
        repo: GitRepo | None,
        store: ObjectStore,
        project: str,
        *,
        message: str | None = None,
        progress: Progress | None = None,
        expected_location: StoreLocation | None = None,
        lock: threading.RLock | None = None,
        site: bool | None = None,
    ) -> None:
        if message is not None and not isinstance(message, str):
            raise InvalidArgumentError(f"message must be a string, got {type(message).__name__}")
        self._repo = repo
        self._store = store
        self.project = project
        #: the commit message (may be changed until the commit; default ``Update <tables>``)
        self.message = message
        self._progress = progress
        self._expected = expected_location
        self._lock = lock or threading.RLock()
        self._site = site
        self._writes: list[TableWrite] = []
        self._workdirs: list[str] = []
        # a transaction dropped without commit() or abort() still removes its prepared files
        weakref.finalize(self, _remove_dirs, self._workdirs)
        self._state = "open"
        self.result: TransactionResult | None = None

    def __repr__(self) -> str:
        return f"Transaction({self.project!r}, tables={self.tables!r}, state={self._state!r})"

    @property
    def tables(self) -> list[str]:
        """The tables written so far, in order."""
        return [w.table for w in self._writes]

    def _require_open(self) -> None:
        if self._state != "open":
            raise InvalidArgumentError(
                f"this transaction is already {self._state}", hint="start a new one with project.transaction()"
            )

    def write(
        self,
        data: Any,
        table: str,
        *,
        message: str | None = None,
        custom: Mapping[str, Any] | None = None,
        parents: Sequence[Mapping[str, Any]] | None = None,
        provenance: Provenance | None = None,
        prepared: PreparedData | None = None,
        compression: Compression = None,
    ) -> None:
        """Add a new version of ``table`` (arguments as :meth:`Project.write`); nothing is published yet.

        ``message`` is this table's history message (default: the transaction's, else ``Update <t>``).
        A table can be written once per transaction.
        """
        self._require_open()
        spec = TableSpec.validated(
            self.project,
            table,
            repo=self._repo,
            message=message,
            custom=custom,
            parents=parents,
            provenance=provenance or Provenance(),
        )
        if table in self.tables:
            raise InvalidArgumentError(
                f"table {table!r} is already written in this transaction",
                hint="write each table once per transaction (combine the data first)",
            )
        if prepared is None:
            from .prepare import prepare  # pyarrow and the hashing code load only when data is written

            if compression is None and self._repo.head() is not None:
                compression = configured_compression(read_config(self._repo, self._repo.head()))
            workdir = make_tempdir(self._store.staging_dir())
            self._workdirs.append(workdir)
            prepared = prepare(data, workdir, progress=self._progress, compression=compression)
        self._writes.append(TableWrite(spec, prepared))

    def commit(self) -> TransactionResult:
        """Publish every write as one commit (see the module docstring); returns what was done."""
        self._require_open()
        try:
            if not self._writes:
                self.result = TransactionResult(None, ())
            else:
                assert self._repo is not None  # TableSpec.validated refused a reader
                with self._lock:
                    commit, results = commit_tables(
                        self._repo,
                        self._store,
                        self.project,
                        self._writes,
                        message=self.message,
                        progress=self._progress,
                        expected_location=self._expected,
                        site=self._site,
                    )
                self.result = TransactionResult(commit, tuple(results))
            self._state = "committed"
            return self.result
        except BaseException:
            self._state = "failed"
            raise
        finally:
            self._cleanup()

    def abort(self) -> None:
        """Drop every write of this transaction (nothing was published)."""
        if self._state == "open":
            self._state = "aborted"
        self._cleanup()

    def _cleanup(self) -> None:
        release_scratch(self._store, self._workdirs, self.result.results if self.result is not None else ())
        self._workdirs.clear()

    def __enter__(self) -> Transaction:
        self._require_open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.abort()
            return
        self.commit()
