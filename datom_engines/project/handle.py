"""The basic project handle: one store namespace plus an optional data repo; reads, writes (one table, or
several in a transaction), tags and project snapshots."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.codecs import AUTO, Compression
from ..core.names import TableRef, validate_name
from ..core.snapshots import Tag
from ..core.values import TableInfo, Version
from ..errors import ReadOnlyError
from ..gitrepo import GitRepo
from ..progress import Progress
from ..storage.location import StoreLocation
from ..storage.objectstore import ObjectStore
from . import reading, warm_reads
from . import tags as tag_ops
from .config import configured_compression, read_config
from .results import (
    ProjectSnapshot,
    ResolvedVersion,
    VerifiedObject,
    WriteResult,
)
from .snapshots import project_snapshot
from .transaction import Transaction
from .writing import Provenance, write_table

if TYPE_CHECKING:
    import pyarrow as pa

    from .prepare import PreparedData


class ProjectHandle:
    """Versioned tables in a store, with their metadata in a git repo: naming, reading, writing, tagging.

    :class:`~datom_engines.project.project.Project` builds on this with the operations that are written
    in terms of it (sync, diff, status, validate); modules below ``project.py`` take a ``ProjectHandle``.
    """

    def __init__(
        self, name: str, store: ObjectStore, repo: GitRepo | None = None, *, recorded: StoreLocation | None = None
    ) -> None:
        self.name = name
        self.store = store
        self.repo = repo
        #: the store project.yaml recorded when this handle was opened (a write refuses if it changed since)
        self.recorded_location = recorded
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        where = f", path={str(self.repo.path)!r}" if self.repo else ""
        return f"Project({self.name!r}, store={self.location.url()!r}{where}, role={self.role!r})"

    # ----- properties ------------------------------------------------------------------------------
    @property
    def location(self) -> StoreLocation:
        """Where the project's data lives."""
        return self.store.location

    @property
    def role(self) -> str:
        """``developer`` (has a git clone, can write) or ``reader`` (store only)."""
        return "developer" if self.repo is not None else "reader"

    @property
    def path(self) -> Path | None:
        """The local git clone, if any."""
        return Path(self.repo.path) if self.repo is not None else None

    def ref(self, table: str) -> TableRef:
        """The ``project.table`` reference of a table of this project."""
        return TableRef(self.name, validate_name(table))

    def _require_repo(self, action: str) -> GitRepo:
        if self.repo is None:
            raise ReadOnlyError(f"cannot {action}: project {self.name!r} was opened from its store, without git")
        return self.repo

    # ----- writing ---------------------------------------------------------------------------------
    def write(
        self,
        data: Any,
        table: str,
        *,
        message: str | None = None,
        custom: Mapping[str, Any] | None = None,
        parents: Sequence[Mapping[str, Any]] | None = None,
        progress: Progress | None = None,
        provenance: Provenance | None = None,
        prepared: PreparedData | None = None,
        compression: Compression = None,
        site: bool | None = None,
    ) -> WriteResult:
        """Write ``data`` (Polars, pyarrow or pandas frame) as a new version of ``table``.

        ``custom`` is free-form JSON metadata (part of the version identity); ``parents`` lists the
        table versions this one was derived from (see :meth:`parent`). Writing identical data and
        metadata again creates nothing (``change == "none"``). ``compression`` picks the parquet codecs
        (``"auto"``: per column from a sample; a codec name; or ``{column: codec}``), default the
        project's setting (:meth:`compression_setting`); it changes the stored bytes, never the version.
        ``provenance`` and ``prepared`` are for the sync path (imported tables, data already hashed and
        serialised). ``site=True`` updates the project's static site in the store
        afterwards (only the pages that changed), ``False`` leaves it; the default follows the site's own
        setting (``build_site(..., auto=True)``).
        """
        repo = self._require_repo("write")
        if compression is None and prepared is None:
            compression = self.compression_setting()
        with self._lock:
            return write_table(
                repo,
                self.store,
                self.name,
                data,
                table,
                message=message,
                custom=custom,
                parents=parents,
                provenance=provenance or Provenance(),
                progress=progress,
                prepared=prepared,
                expected_location=self.recorded_location,
                compression=compression,
                site=site,
            )

    def transaction(
        self, message: str | None = None, *, progress: Progress | None = None, site: bool | None = None
    ) -> Transaction:
        """Several tables in one commit: ``with proj.transaction(message=...) as tx: tx.write(df, "lb")``.

        All data is uploaded first, then one commit is pushed, then the store mirror is published; an
        exception in the block (or any failure before the push) publishes nothing. Readers of the whole
        project (tags, :meth:`snapshot`, ``as_of`` views) see all the tables change at once. See
        :mod:`datom_engines.project.transaction`. ``site`` is as for :meth:`write`.
        """
        self._require_repo("write")
        return Transaction(
            self.repo,
            self.store,
            self.name,
            message=message,
            progress=progress,
            expected_location=self.recorded_location,
            lock=self._lock,
            site=site,
        )

    def tag(
        self, name: str, *, message: str | None = None, tables: list[str] | None = None, sign: bool | None = None
    ) -> Tag:
        """Record the current version of every table (or of ``tables``) as the immutable tag ``name``.

        A git tag (signed when ``sign`` is true, or when git's ``tag.gpgSign`` is set and ``sign`` is
        None) plus a store record, so store-only readers see it. A name already used, here or by a
        racing clone, raises :class:`TagExistsError`. See :mod:`datom_engines.project.tags`.
        """
        repo = self._require_repo("tag")
        with self._lock:
            return tag_ops.create_tag(
                repo,
                self.store,
                self.name,
                name,
                message=message,
                tables=tables,
                sign=sign,
                expected_location=self.recorded_location,
            )

    def tags(self, *, verify: bool = False) -> list[Tag]:
        """The project's tags, oldest first (from the store); ``verify`` checks signatures with gpg/ssh."""
        return tag_ops.list_tags(self.store, self.name, verify=verify, config=self._git_config())

    def get_tag(self, name: str, *, verify: bool = False) -> Tag:
        """One tag; :class:`TagNotFoundError` (listing the tags) when there is no such tag."""
        return tag_ops.get_tag(self.store, self.name, name, verify=verify, config=self._git_config())

    def _git_config(self) -> Any:
        return self.repo.config() if self.repo is not None else None

    def compression_setting(self) -> str:
        """The project's default parquet ``compression`` (``parquet.compression`` in project.yaml at the
        clone's HEAD; ``"auto"`` when unset or for a reader)."""
        if self.repo is None or self.repo.head() is None:
            return AUTO
        return configured_compression(read_config(self.repo, self.repo.head()))

    # ----- reading ---------------------------------------------------------------------------------
    def resolve(
        self,
        table: str,
        *,
        version: str | None = None,
        as_of: datetime | str | None = None,
        tag: str | None = None,
    ) -> ResolvedVersion:
        """Resolve a table version (latest, id, unique prefix, ``as_of`` a time, or the one ``tag``
        pins) to its parquet object."""
        return reading.resolve(self.store, self.name, table, version=version, as_of=as_of, tag=tag)

    def verified_object(
        self,
        table: str,
        *,
        version: str | None = None,
        as_of: datetime | str | None = None,
        tag: str | None = None,
        verify: str = "once",
    ) -> VerifiedObject:
        """Resolve a table version and check its stored bytes: what an engine may read (scans use this).

        :func:`reading.verified_object` after :meth:`resolve`; on a local store a repeated call costs a
        few ``stat`` calls while the metadata files and the object are unchanged (see
        :mod:`datom_engines.project.warm_reads`).
        """
        return warm_reads.verified(self.store, self.name, table, version=version, as_of=as_of, tag=tag, verify=verify)

    def snapshot(self, *, tag: str | None = None, as_of: datetime | str | None = None) -> ProjectSnapshot:
        """The version of every table at one moment: a tag, the project ``as_of`` a time, or now.

        Consistent with transactions: the tables of one commit are all in or all out.
        """
        return project_snapshot(self.store, self.name, tag=tag, as_of=as_of)

    def read(
        self,
        table: str,
        *,
        version: str | None = None,
        as_of: datetime | str | None = None,
        tag: str | None = None,
        columns: list[str] | None = None,
        progress: Progress | None = None,
        verify: str = "once",
    ) -> pa.Table:
        """Read a table version as a pyarrow Table, verifying the stored bytes first.

        ``verify`` is ``"once"`` (default: an object hashed on this machine before, and unchanged since,
        is not hashed again), ``"always"`` or ``"never"``; see :func:`reading.verified_object`.
        """
        resolved = self.resolve(table, version=version, as_of=as_of, tag=tag)
        return reading.read_arrow(self.store, resolved, columns=columns, progress=progress, verify=verify)

    def verify(
        self,
        table: str,
        *,
        version: str | None = None,
        as_of: datetime | str | None = None,
        tag: str | None = None,
        mode: str = "always",
        progress: Progress | None = None,
    ) -> VerifiedObject:
        """Check a version's stored bytes against ``parquet_sha`` now and record the verdict.

        Later reads and scans of the unchanged object on this machine then cost one ``stat``/``HEAD``.
        ``mode="always"`` (default) hashes the bytes (downloading a remote object into the read cache);
        ``"once"`` accepts a recorded verdict or the store's own SHA-256 checksum. Raises
        :class:`~datom_engines.IntegrityError` when the bytes are wrong, :class:`NotFoundError` when the
        object is missing.
        """
        resolved = self.resolve(table, version=version, as_of=as_of, tag=tag)
        return reading.verified_object(self.store, resolved, verify=mode, progress=progress)

    def tables(self) -> list[TableInfo]:
        """The project's tables (from the store manifest)."""
        return reading.list_tables(self.store)

    def history(self, table: str, n: int | None = None) -> list[Version]:
        """A table's versions, newest first (``n`` limits the count)."""
        versions = reading.history(self.store, self.name, table)
        return versions if n is None else versions[: max(int(n), 0)]

    def metadata(self, table: str, version: str | None = None) -> dict[str, Any]:
        """The full metadata of the current version, or of ``version`` (a full id or unique prefix)."""
        if version is None:
            return reading.read_current_metadata(self.store, self.name, table)
        resolved = self.resolve(table, version=version)
        return reading.read_snapshot(self.store, self.name, table, resolved.version)

    def parent(self, table: str, version: str | None = None, *, tag: str | None = None) -> dict[str, Any]:
        """A ``parents=`` entry for a version of one of this project's tables (current by default, or
        the version ``tag`` pins)."""
        resolved = self.resolve(table, version=version, tag=tag)
        pinned = version is not None or tag is not None
        meta = self.metadata(table, resolved.version if pinned else None)
        entry: dict[str, Any] = {
            "source": self.name,
            "table": table,
            "version": resolved.version,
            "data_sha": resolved.data_sha,
        }
        if meta.get("source_lineage"):
            entry["source_lineage"] = meta["source_lineage"]
        return entry
