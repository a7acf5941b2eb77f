"""datom_engines: versioned, content-addressed tables for Polars and DuckDB.

A project is a git repo of small JSON metadata plus an object store of parquet files, file-compatible
with the R package datom. Typical use::

    import datom_engines as dt
    proj = dt.init("study1-repo", "STUDY1", store="/data/store", remote="/git/study1.git")
    proj.write(df, "lb")                       # or df.datom.write("STUDY1.lb")
    with proj.transaction() as tx:             # several tables, one commit
        tx.write(dm, "dm"); tx.write(lb, "lb")
    proj.tag("dblock-2026-03")                 # a named, immutable snapshot
    dt.read("STUDY1.lb", tag="dblock-2026-03")
    dt.read("STUDY1.lb", version="a793e7")     # verified pyarrow Table
    pl.scan_datom("STUDY1.lb").filter(...)     # native lazy parquet scan (registered on import)

The package imports lazily (PEP 562): ``import datom_engines`` loads only what a name needs when it is
first used, so the ``datom`` command starts without Polars, DuckDB or pyarrow. Polars integration
(``pl.scan_datom``, ``pl.read_datom`` and the ``.datom`` namespaces) is registered as soon as Polars is
imported, whether before or after this package (:mod:`._polars_hook`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._polars_hook import register_when_polars_loads
from ._version import __version__

if TYPE_CHECKING:
    from .api import history, read, resolve, snapshot, tables, tags, verify, write
    from .core.cv1 import Cv1Digest, column_hashes, data_sha
    from .core.metadata import metadata_sha
    from .core.names import TableRef
    from .core.snapshots import SignatureStatus, SnapshotEntry, Tag
    from .core.values import TableInfo, Version
    from .errors import (
        AmbiguousVersionError,
        ConflictError,
        DatomError,
        EngineUnavailableError,
        GitError,
        IntegrityError,
        InvalidArgumentError,
        InvalidNameError,
        NotFoundError,
        ProjectMovedWarning,
        ReadOnlyError,
        SiteUpdateWarning,
        StoreAccessDeniedError,
        StoreError,
        StoreUnreachableError,
        TagExistsError,
        TagNotFoundError,
        UnsupportedDataError,
        VersionNotFoundError,
    )
    from .gitrepo import GitCredentials
    from .polars import read_datom, scan_datom
    from .project.bundle import BundleInfo, export_bundle, import_bundle
    from .project.diff import ColumnDiff, VersionDiff
    from .project.governance import (
        Governance,
        MigrationResult,
        RegisteredProject,
        init_governance,
        list_projects,
        migrate_project,
        open_governance,
        register_project,
        use_governance,
    )
    from .project.lifecycle import clone_project, connect, init_project, open_project
    from .project.project import Project
    from .project.registry import register, registered, unregister
    from .project.results import (
        ProjectSnapshot,
        ProjectStatus,
        PullResult,
        ResolvedVersion,
        TableCheck,
        TransactionResult,
        ValidationReport,
        VerifiedObject,
        WriteResult,
    )
    from .project.sync import FileResult, InputFile, SyncError, SyncPlan, SyncResult
    from .project.transaction import Transaction
    from .site import LineageGraph, SiteResult, build_site, lineage
    from .storage.cache import CacheInfo, cache_info, clear_cache, configure_cache
    from .storage.location import StoreLocation

#: public name -> the module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    "history": ".api",
    "read": ".api",
    "resolve": ".api",
    "snapshot": ".api",
    "tables": ".api",
    "tags": ".api",
    "verify": ".api",
    "write": ".api",
    "Cv1Digest": ".core.cv1",
    "column_hashes": ".core.cv1",
    "data_sha": ".core.cv1",
    "metadata_sha": ".core.metadata",
    "TableRef": ".core.names",
    "SignatureStatus": ".core.snapshots",
    "SnapshotEntry": ".core.snapshots",
    "Tag": ".core.snapshots",
    "TableInfo": ".core.values",
    "Version": ".core.values",
    "AmbiguousVersionError": ".errors",
    "ConflictError": ".errors",
    "DatomError": ".errors",
    "EngineUnavailableError": ".errors",
    "GitError": ".errors",
    "IntegrityError": ".errors",
    "InvalidArgumentError": ".errors",
    "InvalidNameError": ".errors",
    "NotFoundError": ".errors",
    "ProjectMovedWarning": ".errors",
    "ReadOnlyError": ".errors",
    "StoreAccessDeniedError": ".errors",
    "StoreError": ".errors",
    "StoreUnreachableError": ".errors",
    "TagExistsError": ".errors",
    "TagNotFoundError": ".errors",
    "UnsupportedDataError": ".errors",
    "VersionNotFoundError": ".errors",
    "GitCredentials": ".gitrepo",
    "read_datom": ".polars",
    "scan_datom": ".polars",
    "BundleInfo": ".project.bundle",
    "export_bundle": ".project.bundle",
    "import_bundle": ".project.bundle",
    "ColumnDiff": ".project.diff",
    "VersionDiff": ".project.diff",
    "Governance": ".project.governance",
    "MigrationResult": ".project.governance",
    "RegisteredProject": ".project.governance",
    "init_governance": ".project.governance",
    "list_projects": ".project.governance",
    "migrate_project": ".project.governance",
    "open_governance": ".project.governance",
    "register_project": ".project.governance",
    "use_governance": ".project.governance",
    "clone_project": ".project.lifecycle",
    "connect": ".project.lifecycle",
    "init_project": ".project.lifecycle",
    "open_project": ".project.lifecycle",
    "Project": ".project.project",
    "register": ".project.registry",
    "registered": ".project.registry",
    "unregister": ".project.registry",
    "ProjectSnapshot": ".project.results",
    "ProjectStatus": ".project.results",
    "PullResult": ".project.results",
    "ResolvedVersion": ".project.results",
    "TableCheck": ".project.results",
    "TransactionResult": ".project.results",
    "ValidationReport": ".project.results",
    "VerifiedObject": ".project.results",
    "WriteResult": ".project.results",
    "FileResult": ".project.sync",
    "InputFile": ".project.sync",
    "SyncError": ".project.sync",
    "SyncPlan": ".project.sync",
    "SyncResult": ".project.sync",
    "Transaction": ".project.transaction",
    "LineageGraph": ".site",
    "SiteResult": ".site",
    "build_site": ".site",
    "lineage": ".site",
    "SiteUpdateWarning": ".errors",
    "CacheInfo": ".storage.cache",
    "cache_info": ".storage.cache",
    "clear_cache": ".storage.cache",
    "configure_cache": ".storage.cache",
    "StoreLocation": ".storage.location",
    "init": ".project.lifecycle:init_project",
    "clone": ".project.lifecycle:clone_project",
}


# Importing a subpackage for the first time binds it as an attribute of this package, which would shadow
# the function ``project`` below once anything imported ``datom_engines.project``: import it now (its
# ``__init__`` is empty), then define the function.
from . import project as _project_package  # noqa: E402, F401
from .project import hooks as _publish_hooks  # noqa: E402


def project(name: str, *, storage_options: Mapping[str, Any] | None = None) -> Project:
    """The project called ``name`` (opened in this process, or found through governance)."""
    from .api import project as find

    return find(name, storage_options=storage_options)


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module, __name__), attr or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


register_when_polars_loads()


def _site_after_publish(event: Any) -> None:
    """The static site's publish hook; its code loads only when a write publishes."""
    from .site.auto import after_publish

    after_publish(event)


_publish_hooks.add_publish_hook("site", _site_after_publish)

__all__ = [
    "AmbiguousVersionError",
    "BundleInfo",
    "CacheInfo",
    "ColumnDiff",
    "ConflictError",
    "Cv1Digest",
    "DatomError",
    "EngineUnavailableError",
    "FileResult",
    "GitCredentials",
    "GitError",
    "Governance",
    "InputFile",
    "IntegrityError",
    "InvalidArgumentError",
    "InvalidNameError",
    "LineageGraph",
    "MigrationResult",
    "NotFoundError",
    "Project",
    "ProjectMovedWarning",
    "ProjectSnapshot",
    "ProjectStatus",
    "PullResult",
    "ReadOnlyError",
    "RegisteredProject",
    "ResolvedVersion",
    "SignatureStatus",
    "SiteResult",
    "SiteUpdateWarning",
    "SnapshotEntry",
    "StoreAccessDeniedError",
    "StoreError",
    "StoreLocation",
    "StoreUnreachableError",
    "SyncError",
    "SyncPlan",
    "SyncResult",
    "TableCheck",
    "TableInfo",
    "TableRef",
    "Tag",
    "TagExistsError",
    "TagNotFoundError",
    "Transaction",
    "TransactionResult",
    "UnsupportedDataError",
    "ValidationReport",
    "VerifiedObject",
    "Version",
    "VersionDiff",
    "VersionNotFoundError",
    "WriteResult",
    "__version__",
    "build_site",
    "cache_info",
    "clear_cache",
    "clone",
    "clone_project",
    "column_hashes",
    "configure_cache",
    "connect",
    "data_sha",
    "export_bundle",
    "history",
    "import_bundle",
    "init",
    "init_governance",
    "init_project",
    "lineage",
    "list_projects",
    "metadata_sha",
    "migrate_project",
    "open_governance",
    "open_project",
    "project",
    "read",
    "read_datom",
    "register",
    "register_project",
    "registered",
    "resolve",
    "scan_datom",
    "snapshot",
    "tables",
    "tags",
    "unregister",
    "use_governance",
    "verify",
    "write",
]
