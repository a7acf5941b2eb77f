"""Functions that take ``"project.table"`` references and resolve the project by name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .core.codecs import Compression
from .core.names import TableRef, validate_name
from .core.snapshots import Tag
from .core.values import TableInfo, Version
from .errors import InvalidNameError
from .progress import Progress
from .project.governance import resolve_project
from .project.project import Project
from .project.registry import registered
from .project.results import ProjectSnapshot, ResolvedVersion, VerifiedObject, WriteResult

if TYPE_CHECKING:
    import pyarrow as pa


Ref = str | TableRef


def project(name: str, *, storage_options: Mapping[str, Any] | None = None) -> Project:
    """The project called ``name`` (opened in this process, or found through governance)."""
    return resolve_project(validate_name(name, "project name"), storage_options)


def table_ref(ref: Ref) -> TableRef:
    """Parse ``"project.table"``; a reference without a project part names the projects that are open."""
    try:
        return TableRef.parse(ref)
    except InvalidNameError as exc:
        if not isinstance(ref, str) or "." in ref:
            raise
        opened = ", ".join(registered()) or "none yet"
        raise InvalidNameError(
            exc.message, hint=f'write it as "<project>.{ref}"; projects opened in this process: {opened}'
        ) from None


def _split(ref: Ref, storage_options: Mapping[str, Any] | None) -> tuple[Project, str]:
    parsed = table_ref(ref)
    return resolve_project(parsed.project, storage_options), parsed.table


def write(
    data: Any,
    ref: Ref,
    *,
    message: str | None = None,
    custom: Mapping[str, Any] | None = None,
    parents: Sequence[Mapping[str, Any]] | None = None,
    progress: Progress | None = None,
    compression: Compression = None,
    site: bool | None = None,
) -> WriteResult:
    """Write ``data`` as a new version of ``"project.table"`` (the project must have a git clone).

    ``compression``: parquet codecs (``"auto"``, a codec name or ``{column: codec}``; default the
    project's setting). ``site``: update the project's static site afterwards (see :meth:`Project.write`).
    """
    proj, table = _split(ref, None)
    return proj.write(
        data,
        table,
        message=message,
        custom=custom,
        parents=parents,
        progress=progress,
        compression=compression,
        site=site,
    )


def resolve(
    ref: Ref,
    *,
    version: str | None = None,
    as_of: datetime | str | None = None,
    tag: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> ResolvedVersion:
    """Resolve ``"project.table"`` (latest, a version id or unique prefix, ``as_of``, or the version a
    ``tag`` pins) to its parquet object."""
    proj, table = _split(ref, storage_options)
    return proj.resolve(table, version=version, as_of=as_of, tag=tag)


def read(
    ref: Ref,
    *,
    version: str | None = None,
    as_of: datetime | str | None = None,
    tag: str | None = None,
    columns: list[str] | None = None,
    storage_options: Mapping[str, Any] | None = None,
    verify: str = "once",
) -> pa.Table:
    """Read a table version as a pyarrow Table (the stored bytes are verified first; see ``verify``)."""
    proj, table = _split(ref, storage_options)
    return proj.read(table, version=version, as_of=as_of, tag=tag, columns=columns, verify=verify)


def snapshot(
    project_name: str,
    *,
    tag: str | None = None,
    as_of: datetime | str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> ProjectSnapshot:
    """The version of every table of a project in a tag, ``as_of`` a time, or now (consistent with
    transactions: the tables of one commit are all in or all out)."""
    return project(project_name, storage_options=storage_options).snapshot(tag=tag, as_of=as_of)


def tags(project_name: str, *, verify: bool = False, storage_options: Mapping[str, Any] | None = None) -> list[Tag]:
    """The tags (named snapshots) of a project, oldest first; ``verify`` checks their signatures."""
    return project(project_name, storage_options=storage_options).tags(verify=verify)


def verify(
    ref: Ref,
    *,
    version: str | None = None,
    as_of: datetime | str | None = None,
    tag: str | None = None,
    mode: str = "always",
    storage_options: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> VerifiedObject:
    """Hash a version's stored bytes now, compare them with ``parquet_sha`` and record the verdict.

    Scans and reads of the unchanged object on this machine then trust the verdict (one ``stat`` or
    ``HEAD``). Raises :class:`~datom_engines.IntegrityError` when the bytes are wrong. See
    :meth:`Project.verify`.
    """
    proj, table = _split(ref, storage_options)
    return proj.verify(table, version=version, as_of=as_of, tag=tag, mode=mode, progress=progress)


def history(ref: Ref, *, storage_options: Mapping[str, Any] | None = None) -> list[Version]:
    """The versions of ``"project.table"``, newest first."""
    proj, table = _split(ref, storage_options)
    return proj.history(table)


def tables(project_name: str, *, storage_options: Mapping[str, Any] | None = None) -> list[TableInfo]:
    """The tables of a project."""
    return project(project_name, storage_options=storage_options).tables()
