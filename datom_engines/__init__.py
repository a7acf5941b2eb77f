"""datom_engines: versioned, content-addressed tables for Polars and DuckDB.

A project is a git repo of small JSON metadata plus an object store of parquet files, file-compatible
with the R package datom. Typical use::

    import datom_engines as dt
    proj = dt.init("study1-repo", "STUDY1", store="/data/store", remote="/git/study1.git")
    proj.write(df, "lb")                       # or df.datom.write("STUDY1.lb")
    dt.read("STUDY1.lb", version="a793e7")     # verified pyarrow Table
    pl.scan_datom("STUDY1.lb").filter(...)     # native lazy parquet scan (registered on import)
"""

from ._version import __version__
from .api import history, project, read, resolve, tables, verify, write
from .core.cv1 import Cv1Digest, column_hashes, data_sha
from .core.metadata import metadata_sha
from .core.names import TableRef
from .core.values import TableInfo, Version
from .errors import (
    AmbiguousVersionError,
    ConflictError,
    DatomError,
    GitError,
    IntegrityError,
    InvalidArgumentError,
    InvalidNameError,
    NotFoundError,
    ProjectMovedWarning,
    ReadOnlyError,
    StoreAccessDeniedError,
    StoreError,
    StoreUnreachableError,
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
    ProjectStatus,
    PullResult,
    ResolvedVersion,
    TableCheck,
    ValidationReport,
    VerifiedObject,
    WriteResult,
)
from .project.sync import FileResult, InputFile, SyncError, SyncPlan, SyncResult
from .storage.cache import CacheInfo, cache_info, clear_cache, configure_cache
from .storage.location import StoreLocation

init = init_project
clone = clone_project

__all__ = [
    "AmbiguousVersionError",
    "BundleInfo",
    "CacheInfo",
    "ColumnDiff",
    "ConflictError",
    "Cv1Digest",
    "DatomError",
    "FileResult",
    "GitCredentials",
    "GitError",
    "Governance",
    "InputFile",
    "IntegrityError",
    "InvalidArgumentError",
    "InvalidNameError",
    "MigrationResult",
    "NotFoundError",
    "Project",
    "ProjectMovedWarning",
    "ProjectStatus",
    "PullResult",
    "ReadOnlyError",
    "RegisteredProject",
    "ResolvedVersion",
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
    "UnsupportedDataError",
    "ValidationReport",
    "VerifiedObject",
    "Version",
    "VersionDiff",
    "VersionNotFoundError",
    "WriteResult",
    "__version__",
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
    "tables",
    "unregister",
    "use_governance",
    "verify",
    "write",
]
