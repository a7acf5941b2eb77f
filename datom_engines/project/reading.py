"""Reads from the store mirror only (reference section 4): no git needed, same for readers and writers."""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..core import keys
from ..core.metadata import metadata_sha, optional_timestamp, parse_timestamp
from ..core.names import TableRef, check_hex_sha, validate_name
from ..core.snapshots import LogPart, SnapshotEntry, Tag, parse_log_part, tag_from_record, validate_tag_name
from ..core.values import TableInfo, Version
from ..core.versions import check_selection, logged_change, select_version
from ..errors import (
    DatomError,
    IntegrityError,
    InvalidArgumentError,
    NotFoundError,
    ProjectMovedWarning,
    StoreAccessDeniedError,
    StoreError,
    StoreUnreachableError,
    TagNotFoundError,
    VersionNotFoundError,
)
from ..progress import Progress, stage
from ..storage.cache import active_cache, active_verdicts
from ..storage.integrity import check_integrity
from ..storage.objectstore import ObjectStore
from ..storage.stat import ObjectStat
from ..storage.verify import (
    VerdictStore,
    VerifyMode,
    attest_local,
    check_mode,
    download_checked,
    hash_stored,
    known_sha,
    object_url,
    register_copy,
    verified_file,
    vouch_for_file,
)
from .results import ResolvedVersion, VerifiedObject

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


def reader_manifest(store: ObjectStore, project: str | None) -> dict[str, Any] | None:
    """The manifest a reader connects with; None (after a warning) when it is missing or corrupt but
    ``project`` names the project, since reading a table needs only that table's own metadata."""
    try:
        return read_manifest(store)
    except StoreUnreachableError:
        raise
    except (NotFoundError, StoreError) as exc:
        missing = isinstance(exc, NotFoundError)
        if project is None:
            if missing:
                raise
            raise StoreError(
                f"the manifest of the store {store.location.url()} is corrupt: {exc.message}",
                hint="pass project=<name> to read its tables by name; a writer repairs the store with "
                "validate(repair=True)",
            ) from None
        what = "has no manifest mirror" if missing else "has a corrupt manifest mirror"
        warnings.warn(
            f"the store {store.location.url()} {what}; tables of {project!r} can be read by name, but "
            "not listed until a writer repairs the store with validate(repair=True)",
            stacklevel=3,
        )
        return None


def warn_if_moved(store: ObjectStore) -> None:
    """Warn (:class:`ProjectMovedWarning`) when the project was migrated away from this store.

    ``migrate_project`` leaves a marker (``.metadata/datom_engines_moved.json``) in the old location; its
    objects stay for readers that have not moved, but they are no longer updated.
    """
    try:
        marker = store.read_json_or_none(keys.MOVED_KEY)
    except DatomError:
        return
    if not isinstance(marker, dict):
        return
    to = marker.get("moved_to_url") or "another store"
    when = f" on {marker['migrated_at']}" if marker.get("migrated_at") else ""
    sunset = f", and this location is retired after {marker['sunset_at']}" if marker.get("sunset_at") else ""
    gov = f" or resolve it through the governance store {marker['governance']}" if marker.get("governance") else ""
    warnings.warn(
        f"project {marker.get('project', '?')!r} moved from {store.location.store_url} to {to}{when}: the data "
        f"here is a stale copy that later writes do not update{sunset}; connect to {to}{gov}",
        ProjectMovedWarning,
        stacklevel=3,
    )


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


def read_log_part(store: ObjectStore, key: str) -> LogPart | None:
    """One part of the commit log; None when it is missing (an unreadable one raises)."""
    where = store.location.url(key)
    hint = "a writer can rebuild it from git with validate(repair=True)"
    try:
        raw = store.read_json_or_none(key)
    except DatomError as exc:
        raise StoreError(f"the commit log at {where} is unreadable: {exc.message}", hint=hint) from None
    if raw is None:
        return None
    try:
        return parse_log_part(raw, where)
    except InvalidArgumentError as exc:
        raise StoreError(f"the commit log at {where} is unreadable: {exc.message}", hint=hint) from None


def read_log(store: ObjectStore) -> LogPart | None:
    """The head of the commit log; None when the project has none (an unreadable one raises)."""
    return read_log_part(store, keys.COMMIT_LOG_KEY)


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
        size = meta.get("size_bytes")
        size_bytes = int(size) if isinstance(size, int | float) and not isinstance(size, bool) and size >= 0 else None
        check_hex_sha(data_sha, "data_sha")
        return _resolved(store, ref, vid, data_sha, parquet_sha, created, size_bytes)
    if version is not None and (not isinstance(version, str) or not version):
        raise VersionNotFoundError(f"version must be a non-empty string, got {version!r}")
    history = read_history(store, project, table)
    entry = select_version(history, version=version, as_of=as_of, table=str(ref))
    if as_of is not None:
        entry = _reverted_since(store, ref, history, entry, as_of)
    return resolve_entry(store, project, table, entry)


def _reverted_since(
    store: ObjectStore, ref: TableRef, history: list[dict[str, Any]], entry: dict[str, Any], as_of: datetime | str
) -> dict[str, Any]:
    """The history entry of the version ``ref`` had ``as_of`` a time, given the one its history picked.

    A write that reverts a table to an earlier version adds no history entry (reference section 3.5),
    so the history alone answers with the version before the revert. The commit log (written by this
    implementation for every commit) has the revert: its newest commit that touched the table between
    the picked entry's time and ``as_of`` wins (:func:`~datom_engines.core.versions.logged_change`).
    Projects without a log (written by R) keep the history's answer; so does an unreadable log, with a
    warning.
    """
    since = optional_timestamp(entry.get("timestamp"))
    try:
        part = read_log(store)
        found: SnapshotEntry | None = None
        while part is not None:
            found, look_older = logged_change(part.entries, ref.table, as_of, since)
            if found is not None or not look_older or part.older is None:
                break
            part = read_log_part(store, part.older)
    except StoreError as exc:
        warnings.warn(
            f"{ref} as of {as_of} was taken from its version history alone, which does not show a revert to "
            f"an earlier version, because {exc.message} ({exc.hint})",
            stacklevel=4,
        )
        return entry
    if found is None or found.version == entry.get("version"):
        return entry
    return next((dict(e) for e in history if e.get("version") == found.version), entry)


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
    store: ObjectStore,
    ref: TableRef,
    vid: str,
    data_sha: str,
    parquet_sha: Any,
    created: Any,
    size_bytes: int | None = None,
) -> ResolvedVersion:
    """A resolved version; ``size_bytes`` is known only from a full metadata object (history entries lack it)."""
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
        size_bytes=size_bytes,
    )


def _missing_object(resolved: ResolvedVersion, what: str) -> NotFoundError:
    return NotFoundError(
        f"the parquet object of {what} was not found in the store ({resolved.url})",
        hint="a writer holding the data can rewrite it; validate() lists missing objects",
    )


def _size_note(stat: ObjectStat | None, resolved: ResolvedVersion) -> str:
    if stat is None or resolved.size_bytes is None or stat.size == resolved.size_bytes:
        return ""
    return f" (it has {stat.size} bytes, the metadata records {resolved.size_bytes})"


def verified_object(
    store: ObjectStore,
    resolved: ResolvedVersion,
    *,
    verify: str = "once",
    local: bool = False,
    dest_dir: str | None = None,
    progress: Progress | None = None,
) -> VerifiedObject:
    """Check a resolved version's stored bytes against ``parquet_sha`` and say what an engine should read.

    Every read path goes through here (``scan_datom``, ``read_datom``, ``dt.read``, DuckDB ``datom()``
    and ``attach`` views, the CLI, ``dt.verify``), and adapters for other engines should too: an engine
    must only be handed what this returns. ``verify`` is ``"once"`` (default: hash an object once per
    machine and remember the verdict for its identity, so a later call costs one ``stat``/``HEAD``),
    ``"always"`` (hash now, trusting no verdict and no store checksum) or ``"never"`` (existence and
    size only). Whatever the mode, the object's size is compared with ``size_bytes`` when the metadata
    gave one, and an object whose size differs is verified as under ``"once"``, so a truncated object is
    refused with :class:`IntegrityError` (not an engine error) while an R-written version whose recorded
    size is only approximate (reference section 8 item 17) still reads.

    ``local=True`` asks for a file on this machine (eager reads, engines that cannot reach the store):
    a remote object then comes from the read cache or is downloaded (hashed on the way, whatever the
    mode) into the cache, or into ``dest_dir`` (the caller's, kept) or a temporary directory
    (``temporary``: the caller removes it). Without ``local`` a remote object is read in place when its
    bytes are vouched for (a verdict, or S3's full-object SHA-256 checksum); an object that must be
    downloaded to be hashed is downloaded into the read cache and that verified copy is returned.

    Raises :class:`NotFoundError` when the object is missing and :class:`IntegrityError` when its bytes
    do not hash to ``parquet_sha`` (no engine sees them).
    """
    mode = check_mode(verify)
    what = f"{resolved.ref}@{resolved.version[:8]}"
    expected = set(resolved.accepted_parquet_shas) | ({resolved.parquet_sha} if resolved.parquet_sha else set())
    remote = not store.location.is_local
    verdicts = active_verdicts()
    if local and remote:
        copy = _copy_hit(resolved, dest_dir, expected, mode, verdicts, progress)
        if copy is not None:
            return copy
    stat = _stat(store, resolved, what, allow_denied=local and remote)
    note = _size_note(stat, resolved)
    if local and remote:
        found = _download(store, resolved, stat, dest_dir, what, note, verdicts, progress, anywhere=True)
        assert found is not None
        return found
    assert stat is not None
    if not expected:
        return VerifiedObject(resolved, resolved.url, True, "unpinned")
    if mode == "never" and not note:
        return VerifiedObject(resolved, resolved.url, True, "unchecked")
    known = known_sha(verdicts, object_url(store, resolved.key), stat, "once" if mode == "never" else mode)
    if known is not None:
        _check(known[0], resolved, what, note)
        return VerifiedObject(resolved, resolved.url, True, known[1], known[0])
    if remote:  # the bytes must come down to be hashed: keep them, verified, in the read cache
        found = _download(store, resolved, stat, None, what, note, verdicts, progress, anywhere=False)
        if found is not None:
            return found
    sha = resolved.parquet_sha
    if (
        not remote
        and mode != "always"
        and sha
        and attest_local(store, resolved.ref.table, resolved.key, sha, stat, verdicts)
    ):
        _check(sha, resolved, what, note)
        return VerifiedObject(resolved, resolved.url, True, "hashed", sha)
    with stage(progress, "verify", stat.size) as on_bytes:
        actual = hash_stored(store, resolved.key, stat, verdicts, on_bytes)
    _check(actual, resolved, what, note)
    return VerifiedObject(resolved, resolved.url, True, "hashed", actual)


def _check(actual: str, resolved: ResolvedVersion, what: str, note: str) -> None:
    check_integrity(
        actual, resolved.parquet_sha, resolved.accepted_parquet_shas, what=what, url=resolved.url, note=note
    )


def _stat(store: ObjectStore, resolved: ResolvedVersion, what: str, *, allow_denied: bool) -> ObjectStat | None:
    """The object's stat; :class:`NotFoundError` when it is missing; None (``allow_denied``) for a refused HEAD."""
    try:
        stat = store.stat(resolved.key)
    except StoreAccessDeniedError:
        if not allow_denied:
            raise
        return None  # maybe only s3:ListBucket is missing (section 8 item 25): the GET decides
    if stat is None:
        if store.location.is_local:
            store.check_reachable()
        raise _missing_object(resolved, what)
    return stat


def _copy_hit(
    resolved: ResolvedVersion,
    dest_dir: str | None,
    expected: set[str],
    mode: VerifyMode,
    verdicts: VerdictStore,
    progress: Progress | None,
) -> VerifiedObject | None:
    """A verified local copy already on this machine: in ``dest_dir``, or in the read cache."""
    with stage(progress, "verify", None) as on_bytes:
        if dest_dir is not None:
            path = os.path.join(dest_dir, f"{resolved.data_sha}.parquet")
            if not os.path.exists(path):
                return None
            if not expected:
                return VerifiedObject(resolved, path, False, "copy")
            sha = verified_file(verdicts, path, expected, mode, on_bytes)
            return VerifiedObject(resolved, path, False, "copy", sha) if sha is not None else None
        cache = active_cache() if resolved.location.protocol != "memory" else None
        if cache is None:
            return None
        hit = cache.lookup(resolved.parquet_sha, resolved.data_sha, resolved.accepted_parquet_shas, on_bytes, mode)
    return VerifiedObject(resolved, hit, False, "copy", resolved.parquet_sha) if hit is not None else None


def _download(
    store: ObjectStore,
    resolved: ResolvedVersion,
    stat: ObjectStat | None,
    dest_dir: str | None,
    what: str,
    note: str,
    verdicts: VerdictStore,
    progress: Progress | None,
    *,
    anywhere: bool,
) -> VerifiedObject | None:
    """A local copy of a remote object, hashed on the way down, in the read cache when it fits.

    Otherwise (``anywhere``) into ``dest_dir``, or a temporary directory; else None. The verdict of what
    came down is recorded either way.
    """
    size = stat.size if stat is not None else None
    cache = active_cache() if dest_dir is None and store.location.protocol != "memory" else None
    tmpdir = None
    try:
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
                    stat=stat,
                )
            if cached is not None:
                return VerifiedObject(resolved, cached, False, "hashed", resolved.parquet_sha)
        if not anywhere:
            return None
        tmpdir = dest_dir or tempfile.mkdtemp(prefix="datom-read-")
        dest = os.path.join(tmpdir, f"{resolved.data_sha}.parquet")
        with stage(progress, "download", size) as on_bytes:
            actual = download_checked(
                store,
                resolved.key,
                dest,
                stat=stat,
                verdicts=verdicts,
                expected=resolved.parquet_sha,
                accepted=resolved.accepted_parquet_shas,
                what=what,
                progress=on_bytes,
            )
    except BaseException as exc:
        if tmpdir is not None and dest_dir is None:
            shutil.rmtree(tmpdir, ignore_errors=True)
        if isinstance(exc, NotFoundError):
            raise _missing_object(resolved, what) from None
        if isinstance(exc, IntegrityError) and note:
            raise IntegrityError(exc.message.replace("; the object", f"{note}; the object", 1)) from None
        raise
    register_copy(actual, dest)
    if dest_dir is not None:  # a copy kept for later scans (Polars' copies of memory objects)
        vouch_for_file(verdicts, dest, actual)
    return VerifiedObject(resolved, dest, False, "hashed", actual, temporary=dest_dir is None)


def fetch_parquet(
    store: ObjectStore,
    resolved: ResolvedVersion,
    dest_dir: str | None = None,
    progress: Progress | None = None,
    *,
    verify: str = "once",
) -> tuple[str, bool]:
    """A local, verified copy of a version's parquet: ``(path, is_temporary)`` (see :func:`verified_object`).

    Local stores are verified in place. Remote objects come from the read cache when it holds a copy
    whose bytes still hash right, else they are downloaded and verified before the file appears (into
    the cache when one is active and ``dest_dir`` is not given). Raises :class:`IntegrityError` on a
    hash mismatch (nothing is parsed). A path that is not temporary must not be modified or deleted.
    """
    found = verified_object(store, resolved, verify=verify, local=True, dest_dir=dest_dir, progress=progress)
    return found.url, found.temporary


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
    verify: str = "once",
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
        path, temporary = fetch_parquet(store, resolved, progress=progress, verify=verify)
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
