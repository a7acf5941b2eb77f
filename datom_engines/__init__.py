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
from .api import history, project, read, resolve, tables, write
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
    ReadOnlyError,
    StoreError,
    StoreUnreachableError,
    UnsupportedDataError,
    VersionNotFoundError,
)
from .gitrepo import GitCredentials
from .polars import read_datom, scan_datom
from .project.diff import ColumnDiff, VersionDiff
from .project.lifecycle import clone_project, connect, init_project, open_project
from .project.project import Project
from .project.registry import register, registered, unregister
from .project.results import (
    ProjectStatus,
    PullResult,
    ResolvedVersion,
    TableCheck,
    ValidationReport,
    WriteResult,
)
from .project.sync import FileResult, InputFile, SyncError, SyncPlan, SyncResult
from .storage.location import StoreLocation

init = init_project
clone = clone_project

__all__ = [
    "AmbiguousVersionError",
    "ColumnDiff",
    "ConflictError",
    "Cv1Digest",
    "DatomError",
    "FileResult",
    "GitCredentials",
    "GitError",
    "InputFile",
    "IntegrityError",
    "InvalidArgumentError",
    "InvalidNameError",
    "NotFoundError",
    "Project",
    "ProjectStatus",
    "PullResult",
    "ReadOnlyError",
    "ResolvedVersion",
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
    "Version",
    "VersionDiff",
    "VersionNotFoundError",
    "WriteResult",
    "__version__",
    "clone",
    "clone_project",
    "column_hashes",
    "connect",
    "data_sha",
    "history",
    "init",
    "init_project",
    "metadata_sha",
    "open_project",
    "project",
    "read",
    "read_datom",
    "register",
    "registered",
    "resolve",
    "scan_datom",
    "tables",
    "unregister",
    "write",
]
