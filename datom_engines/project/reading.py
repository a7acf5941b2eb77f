"""Reads from the store mirror only (reference section 4): no git needed, same for readers and writers."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..core import keys
from ..core.metadata import metadata_sha, parse_timestamp
from ..core.names import TableRef, check_hex_sha, validate_name
from ..core.snapshots import Tag, tag_from_record, validate_tag_name
from ..core.values import TableInfo, Version
from ..core.versions import check_selection, select_version
from ..errors import (
    DatomError,
    InvalidArgumentError,
    NotFoundError,
    StoreAccessDeniedError,
    StoreError,
    TagNotFoundError,
    VersionNotFoundError,
)
from ..progress import Progress, stage
from ..storage.cache import active_cache
from ..storage.integrity import check_integrity, download_verified, sha256_file
from ..storage.objectstore import ObjectStore
from .results import ResolvedVersion

if TYPE_CHECKING:  # pyarrow loads when a table is read, not when a project is opened
    import pyarrow as pa


def read_manifest(store: ObjectStore) -> dict[str, Any]:
    """The store's copy of the project manifest."""
    try:
        manifest = store.read_json(keys.MANIFEST_KEY)
    except NotFoundError as exc:
        store.check_reachable()
        loc = store.location
        given = (loc.prefix or loc.root).rstrip("/")
        hint = (
            "give the store without its trailing /datom (the namespace folder is added for you)"
            if given == "datom" or given.endswith("/datom")
            else "check the store URL and prefix; a project is created with datom_engines.init(...)"
        )
        raise NotFoundError(f"no datom project at {loc.url()} (no .metadata/manifest.json)", hint=hint) from exc
    if not isinstance(manifest, dict):
        raise StoreError(f"the manifest at {store.location.url(keys.MANIFEST_KEY)} is not a JSON object")
    return manifest


def list_tables(store: ObjectStore) -> list[TableInfo]:
    """Tables of the project, in manifest order."""
    tables = read_manifest(store).get("tables") or {}
    return [TableInfo.from_manifest(name, entry or {}) for name, entry in tables.items()]


def _table_missing(store: ObjectStore, project: str, table: str) -> NotFoundError:
    store.check_reachable()
    try:
        names = [t.name for t in list_tables(store)]
    except DatomError:
        names = []
    known = ", ".join(names) if names else "none yet"
    return NotFoundError(
        f"table {table!r} not found in project {project!r} (store {store.location.url()})",
        hint=f"tables in {project}: {known}",
    )


def read_current_metadata(store: ObjectStore, project: str, table: str) -> dict[str, Any]:
    """The store mirror of a table's current ``metadata.json``."""
    validate_name(table)
    try:
        meta = store.read_json(keys.metadata_key(table))
    except NotFoundError:
        raise _table_missing(store, project, table) from None
    if not isinstance(meta, dict) or not meta.get("data_sha"):
        raise StoreError(
            f"metadata of {project}.{table} has no data_sha; the mirror may be corrupt",
            hint="a writer can rebuild it with validate(repair=True)",
        )
    return meta


def read_snapshot(store: ObjectStore, project: str, table: str, version: str) -> dict[str, Any]:
    """The stored metadata snapshot of one version (``version`` is the full id, as in the history)."""
    try:
        meta = store.read_json(keys.snapshot_key(validate_name(table), version))
    except NotFoundError as exc:
        raise NotFoundError(
            f"the metadata snapshot of {project}.{table}@{version[:8]} is missing from the store",
            hint="a writer can restore it with validate(repair=True)",
        ) from exc
    if not isinstance(meta, dict):
        raise StoreError(f"the metadata snapshot of {project}.{table}@{version[:8]} is not a JSON object")
    return meta


def read_history(store: ObjectStore, project: str, table: str) -> list[dict[str, Any]]:
    """The store mirror of a table's ``version_history.json`` (newest first)."""
    validate_name(table)
    try:
        history = store.read_json(keys.history_key(table))
    except NotFoundError:
        if not store.exists(keys.metadata_key(table)):
            raise _table_missing(store, project, table) from None
        raise VersionNotFoundError(
            f"no version history found for {project}.{table}",
            hint="the store mirror is incomplete; a writer can rebuild it with validate(repair=True)",
        ) from None
    if not isinstance(history, list):
        raise StoreError(f"version history of {project}.{table} is not a JSON array")
    return [e for e in history if isinstance(e, dict)]


def history(store: ObjectStore, project: str, table: str) -> list[Version]:
    """Versions of a table, newest first."""
    return [Version.from_entry(e) for e in read_history(store, project, table)]


def tag_names(store: ObjectStore) -> list[str]:
    """Names of the tags whose record is in the store, sorted."""
    prefix = keys.TAGS_PREFIX
    return sorted(k[len(prefix) : -len(".json")] for k in store.list_keys(prefix) if k.endswith(".json"))


def read_tag_record(store: ObjectStore, project: str, name: str) -> dict[str, Any]:
    """The store record of tag ``name``; :class:`TagNotFoundError` (listing the tags) when there is none."""
    validate_tag_name(name)
    try:
        record = store.read_json(keys.tag_key(name))
    except NotFoundError:
        store.check_reachable()
        known = tag_names(store)
        shown = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
        raise TagNotFoundError(
            f"tag {name!r} not found in project {project!r} (store {store.location.url()})",
            hint=f"tags of {project}: {shown}" if known else f"project {project} has no tags yet; make one with tag()",
        ) from None
    if not isinstance(record, dict):
        raise StoreError(
            f"the record of tag {name!r} is not a JSON object",
            hint="a writer can rewrite it with validate(repair=True)",
        )
    return record


def parse_tag(record: dict[str, Any], name: str) -> Tag:
    """A tag from its store record; :class:`StoreError` when the record is malformed."""
    try:
        return tag_from_record(record, f"the record of tag {name!r}")
    except InvalidArgumentError as exc:
        raise StoreError(exc.message, hint="a writer can rewrite it with validate(repair=True)") from None


def read_tag(store: ObjectStore, project: str, name: str) -> Tag:
    """Tag ``name`` of the project, from its store record."""
    return parse_tag(read_tag_record(store, project, name), name)


def version_in_tag(tag: Tag, project: str, table: str) -> str:
    """The version of ``table`` that ``tag`` pins; :class:`NotFoundError` when the tag leaves it out."""
    version = tag.version_of(table)
    if version is None:
        tables = ", ".join(tag.tables) or "none"
        raise NotFoundError(
            f"tag {tag.name!r} of project {project!r} does not include table {table!r}",
            hint=f"its tables: {tables}",
        )
    return version


def resolve(
    store: ObjectStore,
    project: str,
    table: str,
    *,
    version: str | None = None,
    as_of: datetime | str | None = None,
    tag: str | None = None,
) -> ResolvedVersion:
    """Find the stored parquet object of a table version: latest, an id / unique prefix, as of a time,
    or the version a tag (named snapshot) pins."""
    ref = TableRef(project, validate_name(table))
    check_selection(version, as_of, tag)
    if tag is not None:
        version = version_in_tag(read_tag(store, project, tag), project, table)
    if version is None and as_of is None:
        meta = read_current_metadata(store, project, table)
        vid = metadata_sha(meta)
        data_sha, parquet_sha, created = meta["data_sha"], meta.get("parquet_sha"), meta.get("created_at")
    else:
        if version is not None and (not isinstance(version, str) or not version):
            raise VersionNotFoundError(f"version must be a non-empty string, got {version!r}")
        entry = select_version(read_history(store, project, table), version=version, as_of=as_of, table=str(ref))
        return resolve_entry(store, project, table, entry)
    check_hex_sha(data_sha, "data_sha")
    return _resolved(store, ref, vid, data_sha, parquet_sha, created)


def resolve_entry(store: ObjectStore, project: str, table: str, entry: dict[str, Any]) -> ResolvedVersion:
    """The stored object of the version a ``version_history.json`` entry describes (no store access)."""
    ref = TableRef(project, validate_name(table))
    vid = str(entry.get("version"))
    data_sha = entry.get("data_sha")
    if not data_sha:
        raise StoreError(f"history entry {vid[:8]} of {ref} has no data_sha; the history may be corrupt")
    check_hex_sha(data_sha, "data_sha")
    return _resolved(store, ref, vid, data_sha, entry.get("parquet_sha"), entry.get("timestamp"))


def _resolved(
    store: ObjectStore, ref: TableRef, vid: str, data_sha: str, parquet_sha: Any, created: Any
) -> ResolvedVersion:
    try:
        created_at = parse_timestamp(created) if isinstance(created, str) else None
    except ValueError:
        created_at = None
    return ResolvedVersion(
        ref=ref,
        version=vid,
        data_sha=data_sha,
        parquet_sha=parquet_sha or None,
        created_at=created_at,
        key=keys.parquet_key(ref.table, data_sha),
        location=store.location,
        accepted_parquet_shas=frozenset([parquet_sha] if parquet_sha else []),
    )


def _missing_object(resolved: ResolvedVersion, what: str) -> NotFoundError:
    return NotFoundError(
        f"the parquet object of {what} was not found in the store ({resolved.url})",
        hint="a writer holding the data can rewrite it; validate() lists missing objects",
    )


def require_object(store: ObjectStore, resolved: ResolvedVersion) -> None:
    """Raise :class:`NotFoundError` if the parquet object of a resolved version is not in the store."""
    if not store.exists(resolved.key):
        raise _missing_object(resolved, f"{resolved.ref}@{resolved.version[:8]}")


def fetch_parquet(
    store: ObjectStore,
    resolved: ResolvedVersion,
    dest_dir: str | None = None,
    progress: Progress | None = None,
    *,
    use_cache: bool = True,
) -> tuple[str, bool]:
    """A local, verified copy of a version's parquet: ``(path, is_temporary)``.

    Local stores are verified in place. Remote objects come from the read cache when it holds a copy
    whose bytes still hash right, else they are downloaded and verified before the file appears (into
    the cache when one is active and ``dest_dir`` is not given). Raises :class:`IntegrityError` on a
    hash mismatch (nothing is parsed). A path that is not temporary must not be modified or deleted.
    """
    what = f"{resolved.ref}@{resolved.version[:8]}"
    if store.location.is_local:
        path = store.location.fs_path(resolved.key)
        if not os.path.isfile(path):
            store.check_reachable()
            raise _missing_object(resolved, what)
        if resolved.parquet_sha:
            with stage(progress, "verify", os.path.getsize(path)) as on_bytes:
                actual = sha256_file(path, on_bytes)
            check_integrity(actual, resolved.parquet_sha, resolved.accepted_parquet_shas, what=what, url=path)
        return path, False
    cache = active_cache() if use_cache and dest_dir is None and store.location.protocol != "memory" else None
    if cache is not None:
        with stage(progress, "verify", None) as on_bytes:
            hit = cache.lookup(resolved.parquet_sha, resolved.data_sha, resolved.accepted_parquet_shas, on_bytes)
        if hit is not None:
            return hit, False
    try:
        size = store.size(resolved.key)
    except StoreAccessDeniedError:
        size = None  # maybe only s3:ListBucket is missing (section 8 item 25): the GET decides
    else:
        if size is None:
            raise _missing_object(resolved, what)
    if cache is not None:
        with stage(progress, "download", size) as on_bytes:
            cached = cache.fetch(
                store,
                resolved.key,
                parquet_sha=resolved.parquet_sha,
                data_sha=resolved.data_sha,
                accepted=resolved.accepted_parquet_shas,
                size=size,
                what=what,
                progress=on_bytes,
            )
        if cached is not None:
            return cached, False
    tmpdir = dest_dir or tempfile.mkdtemp(prefix="datom-read-")
    dest = os.path.join(tmpdir, f"{resolved.data_sha}.parquet")
    try:
        with stage(progress, "download", size) as on_bytes:
            download_verified(
                store,
                resolved.key,
                dest,
                expected=resolved.parquet_sha,
                accepted=resolved.accepted_parquet_shas,
                what=what,
                progress=on_bytes,
            )
    except NotFoundError:
        if dest_dir is None:
            shutil.rmtree(tmpdir, ignore_errors=True)
        raise _missing_object(resolved, what) from None
    except BaseException:
        if dest_dir is None:
            shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    return dest, True


def _check_columns(path: str, columns: list[str], resolved: ResolvedVersion) -> None:
    import pyarrow.parquet as pq

    names = pq.read_schema(path).names
    unknown = [c for c in columns if c not in names]
    if unknown:
        raise InvalidArgumentError(
            f"{resolved.ref}@{resolved.version[:8]} has no column(s) {', '.join(map(repr, unknown))}",
            hint=f"its columns are: {', '.join(names)}",
        )


def read_arrow(
    store: ObjectStore,
    resolved: ResolvedVersion,
    *,
    columns: list[str] | None = None,
    progress: Progress | None = None,
) -> pa.Table:
    """Read a resolved version into an Arrow table, verifying ``parquet_sha`` before parsing.

    Remote objects go through the read cache (see :mod:`datom_engines.storage.cache`): a second read
    of the same version downloads nothing.
    """
    import pyarrow.parquet as pq

    if columns is not None and (isinstance(columns, str) or not all(isinstance(c, str) for c in columns)):
        raise InvalidArgumentError(
            f"columns must be a list of column names, got {columns!r}", hint='e.g. columns=["USUBJID", "AGE"]'
        )
    for attempt in range(2):
        path, temporary = fetch_parquet(store, resolved, progress=progress)
        try:
            if columns is not None:
                _check_columns(path, columns, resolved)
            return pq.read_table(path, columns=columns, memory_map=not temporary)
        except FileNotFoundError:
            if temporary or attempt:  # a cached copy evicted by another process in between: fetch again
                raise
        finally:
            if temporary:
                shutil.rmtree(os.path.dirname(path), ignore_errors=True)
    raise AssertionError("unreachable")
