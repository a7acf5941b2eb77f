"""Comparing two versions of a table from their metadata: shape, columns and per-column content hashes.

No data is read: row and column counts and the per-column cv1 digests (``column_hashes``) come from each
version's metadata snapshot, and the column types from the footers of the two parquet objects (a small
ranged read each; skipped, with ``None`` types, when an object cannot be opened).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..core.names import TableRef
from ..core.snapshots import looks_like_version
from ..errors import DatomError, IntegrityError, NotFoundError, TagNotFoundError
from .handle import ProjectHandle
from .reading import verified_object
from .results import ResolvedVersion

if TYPE_CHECKING:
    import pyarrow as pa

ColumnChange = Literal["added", "removed", "changed", "retyped", "unchanged"]


@dataclass(frozen=True, slots=True)
class ColumnDiff:
    """One column across two versions.

    ``changed``: its values differ (cv1 column digest); ``retyped``: same digest but another stored type
    (for example Int32 -> Int64, which hash alike); ``added``/``removed``: in one version only.
    """

    name: str
    change: ColumnChange
    type_before: str | None = None
    type_after: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "name": self.name,
            "change": self.change,
            "type_before": self.type_before,
            "type_after": self.type_after,
        }


@dataclass(frozen=True, slots=True)
class VersionDiff:
    """Differences between two versions of one table (``before`` -> ``after``)."""

    ref: TableRef
    before: str
    after: str
    data_sha_before: str
    data_sha_after: str
    nrow_before: int | None
    nrow_after: int | None
    columns: tuple[ColumnDiff, ...]
    order_changed: bool

    @property
    def same_data(self) -> bool:
        """True when both versions hold the same content (same ``data_sha``)."""
        return self.data_sha_before == self.data_sha_after

    @property
    def changed_columns(self) -> tuple[ColumnDiff, ...]:
        """Columns that are not ``unchanged``."""
        return tuple(c for c in self.columns if c.change != "unchanged")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "project": self.ref.project,
            "table": self.ref.table,
            "before": self.before,
            "after": self.after,
            "data_sha_before": self.data_sha_before,
            "data_sha_after": self.data_sha_after,
            "same_data": self.same_data,
            "nrow_before": self.nrow_before,
            "nrow_after": self.nrow_after,
            "order_changed": self.order_changed,
            "columns": [c.to_dict() for c in self.columns],
        }


def _colnames(meta: Mapping[str, Any]) -> list[str]:
    names = meta.get("colnames")
    if isinstance(names, str):
        return [names]
    return [str(n) for n in names] if isinstance(names, list | tuple) else []


def _hashes(meta: Mapping[str, Any]) -> dict[str, str]:
    raw = meta.get("column_hashes")
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return {str(e["name"]): str(e["sha"]) for e in raw if isinstance(e, Mapping) and "name" in e and "sha" in e}
    return {}


def type_names(schema: pa.Schema) -> dict[str, str]:
    """Column name -> Polars dtype text (``Int64``, ``String``, ``Datetime(time_unit='us', ...)``) of a
    parquet file's Arrow schema: the type names diffs and the static site show."""
    import polars as pl

    frame = pl.from_arrow(schema.empty_table())
    assert isinstance(frame, pl.DataFrame)
    return {name: str(dtype) for name, dtype in frame.schema.items()}


def _types(project: ProjectHandle, resolved: ResolvedVersion) -> dict[str, str]:
    """The column types of a version, read from the footer of its verified object ({} when unreadable)."""
    import pyarrow.parquet as pq

    try:
        source = verified_object(project.store, resolved)
        if source.is_local_file:
            schema = pq.read_schema(source.url)
        else:
            with project.store.open_read(resolved.key) as fh:
                schema = pq.read_schema(fh)
    except IntegrityError:
        raise  # bytes that do not match parquet_sha: no diff is shown from them
    except (DatomError, OSError, ValueError):
        return {}
    return type_names(schema)


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def resolve_selector(project: ProjectHandle, table: str, text: str) -> ResolvedVersion:
    """The version ``text`` names: a version id or unique prefix (hex digits only), else a tag name."""
    if looks_like_version(text):
        return project.resolve(table, version=text)
    try:
        return project.resolve(table, tag=text)
    except TagNotFoundError as exc:
        raise NotFoundError(
            f"{text!r} is neither a version of {project.name}.{table} nor a tag of project {project.name!r}",
            hint=f"version ids are hex digits, listed by history(); {exc.hint}",
        ) from None


def diff_versions(project: ProjectHandle, table: str, before: str, after: str | None = None) -> VersionDiff:
    """Compare version ``before`` of ``table`` with ``after`` (default: the current version).

    Each is a version id, a unique prefix of one, or a tag name (the version that tag pins).
    """
    res_a = resolve_selector(project, table, before)
    res_b = resolve_selector(project, table, after) if after is not None else project.resolve(table)
    side_a = VersionSide(res_a.version, res_a.data_sha, project.metadata(table, res_a.version), _types(project, res_a))
    side_b = VersionSide(res_b.version, res_b.data_sha, project.metadata(table, res_b.version), _types(project, res_b))
    return compare_versions(res_a.ref, side_a, side_b)


@dataclass(frozen=True, slots=True)
class VersionSide:
    """One version as a comparison needs it: its id, content hash, metadata and column types."""

    version: str
    data_sha: str
    metadata: Mapping[str, Any]
    types: Mapping[str, str]


def compare_versions(ref: TableRef, before: VersionSide, after: VersionSide) -> VersionDiff:
    """The :class:`VersionDiff` of two versions of ``ref`` (pure: no I/O).

    Columns are compared by their cv1 digests (``column_hashes``); types (empty when unknown) only
    tell ``retyped`` from ``unchanged``. :func:`diff_versions` and the static site both use this.
    """
    meta_a, meta_b = before.metadata, after.metadata
    names_a, names_b = _colnames(meta_a), _colnames(meta_b)
    hashes_a, hashes_b = _hashes(meta_a), _hashes(meta_b)
    types_a, types_b = before.types, after.types
    columns: list[ColumnDiff] = []
    for name in names_b:
        if name not in names_a:
            columns.append(ColumnDiff(name, "added", None, types_b.get(name)))
            continue
        ta, tb = types_a.get(name), types_b.get(name)
        if hashes_a.get(name) != hashes_b.get(name):
            change: ColumnChange = "changed"
        elif ta is not None and tb is not None and ta != tb:
            change = "retyped"
        else:
            change = "unchanged"
        columns.append(ColumnDiff(name, change, ta, tb))
    columns.extend(ColumnDiff(n, "removed", types_a.get(n), None) for n in names_a if n not in names_b)
    common_a = [n for n in names_a if n in names_b]
    common_b = [n for n in names_b if n in names_a]
    return VersionDiff(
        ref=ref,
        before=before.version,
        after=after.version,
        data_sha_before=before.data_sha,
        data_sha_after=after.data_sha,
        nrow_before=_int(meta_a.get("nrow")),
        nrow_after=_int(meta_b.get("nrow")),
        columns=tuple(columns),
        order_changed=common_a != common_b,
    )
