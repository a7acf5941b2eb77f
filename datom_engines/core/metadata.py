"""The metadata objects and small text files of a datom project, and ``metadata_sha``. Pure, no I/O.

Reference sections 1.1.2-1.1.7 (file layouts), 1.3 (``ref.json``), 2.2 (``metadata_sha``),
3.2 step 3 (building metadata, lineage validation), 3.5-3.6 (history and manifest updates) and 4.12
(lineage union). Every builder returns plain ``dict``/``list``/``tuple``/scalar trees in the member order
R writes, never containing ``None``: serialise them with :func:`datom_engines.core.jsonfmt.pretty`
(files) or hash them with :func:`metadata_sha`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import yaml

from ..errors import InvalidArgumentError
from . import jsonfmt

__all__ = [
    "DEFAULT_GITIGNORE",
    "DEFAULT_REGION",
    "HASH_ALGO",
    "METADATA_FIELD_ORDER",
    "VOLATILE_FIELDS",
    "add_history_entry",
    "build_metadata",
    "gitignore_text",
    "history_entry",
    "lineage_union",
    "metadata_sha",
    "new_manifest",
    "parse_project_yaml",
    "parse_ref_json",
    "parse_timestamp",
    "project_yaml_text",
    "readme_text",
    "ref_json",
    "replace_data_storage",
    "update_manifest",
    "utc_timestamp",
    "validate_custom",
    "validate_parents",
    "validate_source_lineage",
]

HASH_ALGO = "datom-cv1"
DEFAULT_REGION = "us-east-1"

#: Top-level members left out of ``metadata_sha`` (reference section 2.2.1).
VOLATILE_FIELDS: frozenset[str] = frozenset(
    {"created_at", "datom_version", "parquet_sha", "column_hashes", "size_bytes"}
)

#: Member order of ``<table>/metadata.json`` (reference section 1.1.4).
METADATA_FIELD_ORDER: tuple[str, ...] = (
    "data_sha",
    "hash_algo",
    "parquet_sha",
    "table_type",
    "nrow",
    "ncol",
    "colnames",
    "column_hashes",
    "created_at",
    "datom_version",
    "original_file_sha",
    "parents",
    "source_lineage",
    "size_bytes",
    "custom",
)

#: The ``.gitignore`` patterns R datom writes at init (reference section 1.1.6).
DEFAULT_GITIGNORE: tuple[str, ...] = (
    ".Rprofile",
    ".Renviron",
    ".Rhistory",
    ".Rapp.history",
    ".Rproj.user/",
    ".DS_Store",
    "*.csv",
    "*.tsv",
    "*.rds",
    "*.txt",
    "*.parquet",
    "*.sas7bdat",
    ".RData",
    ".RDataTmp",
    "*.html",
    "*.png",
    "*.pdf",
    ".vscode/",
    "rsconnect/",
    "input_files/",
)

_TABLE_TYPES = ("derived", "imported")
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Integers beyond 2^53 cannot survive R's double representation.
_MAX_EXACT_INT = 2**53


# --------------------------------------------------------------------------------------------------
# metadata_sha


def metadata_sha(metadata: Mapping[str, Any]) -> str:
    """The version id of a metadata object (reference section 2.2.1).

    Drops the :data:`VOLATILE_FIELDS` top-level members, sorts the remaining top-level member names by
    raw UTF-8 byte value (nested objects keep their own order), serialises with
    :func:`~datom_engines.core.jsonfmt.canonical` and returns the lowercase hex SHA-256 of that text.
    Unknown top-level members are semantic and included. A JSON ``null`` (only R writes one, for an
    ``NA`` in custom metadata, section 8 item 14) hashes as ``{}``, the way R re-hashes such a file.
    """
    if not isinstance(metadata, Mapping):
        raise InvalidArgumentError(
            f"metadata must be a mapping of field names to values, got {type(metadata).__name__}",
            hint="pass the metadata object (a dict), e.g. as returned by build_metadata()",
        )
    for key in metadata:
        if not isinstance(key, str):
            raise InvalidArgumentError(
                f"metadata field names must be strings, got {key!r}",
                hint="every top-level member of the metadata needs a string name",
            )
    keys = sorted((k for k in metadata if k not in VOLATILE_FIELDS), key=lambda k: k.encode("utf-8"))
    text = jsonfmt.canonical(_null_as_empty({k: metadata[k] for k in keys}))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _null_as_empty(value: Any) -> Any:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {k: _null_as_empty(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_null_as_empty(v) for v in value)
    return value


# --------------------------------------------------------------------------------------------------
# timestamps


def utc_timestamp(dt: datetime | str | None = None) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in true UTC (sub-seconds truncated).

    ``None`` means now. An aware datetime is converted to UTC; a naive one is taken to *be* UTC (pass
    aware datetimes to avoid surprises). A string is parsed with :func:`parse_timestamp` and
    re-formatted. R's init wrote local wall time with a ``Z`` (reference section 8 item 11); this
    function always writes real UTC.
    """
    if dt is None:
        dt = datetime.now(UTC)
    elif isinstance(dt, str):
        dt = parse_timestamp(dt)
    elif not isinstance(dt, datetime):
        raise InvalidArgumentError(f"expected a datetime or an ISO timestamp string, got {type(dt).__name__}")
    return _as_utc(dt).strftime(_TIMESTAMP_FORMAT)


def _as_utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def parse_timestamp(value: str) -> datetime:
    """Parse an ISO 8601 timestamp into an aware UTC datetime.

    Accepts the ``YYYY-MM-DDTHH:MM:SSZ`` form datom writes, offsets (``+02:00``), fractional seconds, a
    space instead of ``T``, and a bare date (midnight UTC). A timestamp without offset is UTC.
    Raises :class:`InvalidArgumentError` for anything else.
    """
    if isinstance(value, datetime):
        return _as_utc(value)
    if not isinstance(value, str):
        raise InvalidArgumentError(f"a timestamp must be a string, got {type(value).__name__}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidArgumentError(
            f"{value!r} is not an ISO 8601 timestamp",
            hint='write it like "2026-01-15T10:30:00Z", "2026-01-15T12:30:00+02:00" or "2026-01-15"',
        ) from None
    return _as_utc(parsed)


def optional_timestamp(value: object) -> datetime | None:
    """:func:`parse_timestamp` of a JSON value, or None when it is absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_timestamp(value)
    except InvalidArgumentError:
        return None


def _timestamp_text(value: datetime | str, what: str) -> str:
    if isinstance(value, str | datetime):
        return utc_timestamp(value)
    raise InvalidArgumentError(f"{what} must be a datetime or an ISO timestamp string, got {type(value).__name__}")


# --------------------------------------------------------------------------------------------------
# validation helpers


def _path(base: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}[{json.dumps(key, ensure_ascii=False)}]"


def _require_str(value: object, what: str, *, hint: str | None = None) -> str:
    if not isinstance(value, str) or value == "":
        shown = "an empty string" if value == "" else type(value).__name__
        raise InvalidArgumentError(f"{what} must be a non-empty string, got {shown}", hint=hint)
    return value


def _require_count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"{what} must be a non-negative int, got {value!r}")
    return value


def _stored_number(value: float, where: str) -> int | float:
    """The number R reads back from the text datom writes for ``value`` (a fixed point of write+read)."""
    text = jsonfmt.format_number(value)
    for _ in range(5):
        back = json.loads(text)
        again = jsonfmt.format_number(back)
        if again == text:
            return back
        text = again
    raise InvalidArgumentError(  # pragma: no cover - no known double needs more than two rounds
        f"{where}: the number {value!r} does not survive a JSON round trip",
        hint="store it as a string",
    )


def _json_value(value: Any, where: str) -> Any:
    """Validate one JSON value for datom metadata and return it in the form datom stores."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidArgumentError(
                f"{where}: strings cannot contain NUL characters (R cannot read them)",
                hint="remove the \\x00 characters",
            )
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgumentError(
                f"{where}: the string is not valid Unicode (lone surrogate)",
                hint="decode the text properly before passing it",
            ) from None
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > _MAX_EXACT_INT:
            raise InvalidArgumentError(
                f"{where}: the integer {value} is too large to store exactly (R holds it as a double)",
                hint="store integers beyond 2**53 as strings",
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArgumentError(
                f"{where}: {value!r} cannot be stored (datom metadata holds only finite numbers)",
                hint='omit the key, or store a string such as "NaN" or "Inf"',
            )
        return _stored_number(value, where)
    if value is None:
        raise InvalidArgumentError(
            f"{where} is None: datom never writes JSON null (R reads it back differently, so the version "
            "id would change on every write)",
            hint='omit the key, or use a placeholder such as "" or "NA"',
        )
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            _check_key(key, where)
            out[key] = _json_value(item, _path(where, key))
        return out
    if isinstance(value, list | tuple):
        items = [_json_value(item, _path(where, i)) for i, item in enumerate(value)]
        if all(isinstance(item, str | int | float) for item in items):
            return tuple(items)  # an R atomic vector: pretty() prints it inline
        return items
    raise InvalidArgumentError(
        f"{where}: values of type {type(value).__name__} cannot be stored as JSON",
        hint="use str, bool, int, float, dict or list (dates as ISO strings, numpy scalars via .item())",
    )


def _check_key(key: object, where: str) -> None:
    if not isinstance(key, str):
        raise InvalidArgumentError(
            f"{where}: keys must be strings, got {key!r}", hint="convert the keys to non-empty strings"
        )
    if key == "":
        raise InvalidArgumentError(f"{where}: keys must not be empty", hint="give every key a name")
    _json_value(key, where)


def validate_custom(custom: object) -> dict[str, Any]:
    """Validate user metadata (the ``custom`` member) and return it in the exact form that is stored.

    ``custom`` must be a ``dict`` with non-empty string keys whose values are ``str``, ``bool``, ``int``
    (at most 2**53 in magnitude), finite ``float``, or nested ``dict``/``list``/``tuple`` of those.
    ``None``, NaN, infinities and other types raise :class:`InvalidArgumentError` naming the key path
    (R bug 14: a null would hash differently once re-read, so datom never writes one).

    Numbers: doubles are written, and therefore hashed, with jsonlite's ``digits = 4`` rules
    (R bug 15): ``0.123456`` is stored as ``0.1235``, tiny or huge values with ``%g`` using the
    jsonlite >= 1.8.5 significant-digit rule (``1e15`` -> ``1000000000000000``; jsonlite <= 1.8.4 wrote
    ``1e+15``). The returned dict holds each float replaced by the value read back from its stored
    text (``0.1235``, ``3.0`` -> ``3``), so hashing it equals hashing the re-read file. Lists of scalars
    come back as tuples (R atomic vectors, printed inline); other arrays as lists. Store numbers that
    need more precision as strings.
    """
    if not isinstance(custom, Mapping):
        raise InvalidArgumentError(
            f"custom metadata must be a dict with string keys, got {type(custom).__name__}",
            hint='pass something like {"description": "...", "tags": ["a", "b"]}',
        )
    result = _json_value(custom, "custom")
    assert isinstance(result, dict)
    return result


_LINEAGE_FIELDS = ("project", "table", "version_sha")
_PARENT_FIELDS = ("source", "table", "version", "data_sha")
_PARENTS_HINT = 'each parent is a dict {"source", "table", "version", "data_sha"}, as returned by parent()'
_LINEAGE_HINT = 'each lineage entry is a dict {"project", "table", "version_sha"} (version_sha is a data_sha)'


def validate_source_lineage(entries: object, what: str = "source_lineage") -> list[dict[str, Any]]:
    """Validate a ``source_lineage`` list and return copies of its entries (extra keys pass through).

    Each entry must be a mapping with non-empty string ``project``, ``table`` and ``version_sha``;
    other keys are kept in their order (values must be JSON values, never ``None``).
    """
    if isinstance(entries, str | bytes | Mapping) or not isinstance(entries, Sequence):
        raise InvalidArgumentError(
            f"{what} must be a list of lineage entries, got {type(entries).__name__}", hint=_LINEAGE_HINT
        )
    out: list[dict[str, Any]] = []
    for i, entry in enumerate(entries, start=1):
        label = f"{what} entry {i}"
        if not isinstance(entry, Mapping):
            raise InvalidArgumentError(f"{label}: must be a dict, got {type(entry).__name__}", hint=_LINEAGE_HINT)
        for field in _LINEAGE_FIELDS:
            if field not in entry:
                raise InvalidArgumentError(f"{label}: missing {field!r}", hint=_LINEAGE_HINT)
            _require_str(entry[field], f"{label}: {field!r}", hint=_LINEAGE_HINT)
        copied: dict[str, Any] = {}
        for key, value in entry.items():
            _check_key(key, label)
            copied[key] = _json_value(value, f"{label}: {key!r}")
        out.append(copied)
    return out


def lineage_union(lists: Iterable[Sequence[Mapping[str, Any]] | None]) -> list[dict[str, Any]]:
    """Union of lineage lists (reference section 4.12).

    ``None`` members are skipped; entries are concatenated in order and only the first occurrence of
    each ``(project, table, version_sha)`` triple is kept (a missing field counts as ``""``). Entries
    are returned as shallow copies with all their keys. Nothing -> ``[]``.
    """
    seen: set[tuple[Any, Any, Any]] = set()
    out: list[dict[str, Any]] = []
    for entries in lists:
        if entries is None:
            continue
        for entry in entries:
            triple = tuple(entry.get(field, "") for field in _LINEAGE_FIELDS)
            if triple in seen:
                continue
            seen.add(triple)  # type: ignore[arg-type]
            out.append(dict(entry))
    return out


def validate_parents(parents: object) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Validate ``parents`` and return ``(lean_parents, source_lineage)`` (reference section 3.2).

    ``parents`` is a list of mappings each with non-empty string ``source`` (the parent's project),
    ``table``, ``version`` (its metadata_sha) and ``data_sha``, plus an optional ``source_lineage``
    (``None``/empty, or lineage entries as in :func:`validate_source_lineage`). Returns the parents
    recorded lean as ``{source, table, version, data_sha}`` (other keys dropped) and the union of
    their lineages (:func:`lineage_union`, possibly ``[]``). Errors name the 1-based entry, e.g.
    ``parents entry 2: missing 'version'``.
    """
    if isinstance(parents, Mapping):
        raise InvalidArgumentError(
            "parents must be a list of parent entries, got a single dict",
            hint="wrap it in a list: parents=[parent]",
        )
    if isinstance(parents, str | bytes) or not isinstance(parents, Sequence):
        raise InvalidArgumentError(
            f"parents must be a list of parent entries, got {type(parents).__name__}", hint=_PARENTS_HINT
        )
    lean: list[dict[str, Any]] = []
    lineages: list[list[dict[str, Any]]] = []
    for i, entry in enumerate(parents, start=1):
        label = f"parents entry {i}"
        if not isinstance(entry, Mapping):
            raise InvalidArgumentError(f"{label}: must be a dict, got {type(entry).__name__}", hint=_PARENTS_HINT)
        for field in _PARENT_FIELDS:
            if field not in entry:
                raise InvalidArgumentError(f"{label}: missing {field!r}", hint=_PARENTS_HINT)
            _require_str(entry[field], f"{label}: {field!r}", hint=_PARENTS_HINT)
            _json_value(entry[field], f"{label}: {field!r}")
        lean.append({field: entry[field] for field in _PARENT_FIELDS})
        lineage = entry.get("source_lineage")
        if lineage is None or (isinstance(lineage, list | tuple) and len(lineage) == 0):
            continue
        lineages.append(validate_source_lineage(lineage, f"{label}: source_lineage"))
    return lean, lineage_union(lineages)


def _column_hashes(column_hashes: object) -> list[dict[str, str]]:
    hint = 'pass [{"name": column, "sha": digest}, ...] or a {column: digest} dict, in column order'
    if isinstance(column_hashes, Mapping):
        pairs = list(column_hashes.items())
    elif isinstance(column_hashes, Sequence) and not isinstance(column_hashes, str | bytes):
        pairs = []
        for i, item in enumerate(column_hashes, start=1):
            if isinstance(item, Mapping):
                if "name" not in item or "sha" not in item:
                    raise InvalidArgumentError(f"column_hashes entry {i}: needs 'name' and 'sha'", hint=hint)
                pairs.append((item["name"], item["sha"]))
            elif isinstance(item, Sequence) and not isinstance(item, str | bytes) and len(item) == 2:
                pairs.append((item[0], item[1]))
            else:
                raise InvalidArgumentError(f"column_hashes entry {i}: not a (name, sha) pair", hint=hint)
    else:
        raise InvalidArgumentError(f"column_hashes has the wrong type {type(column_hashes).__name__}", hint=hint)
    out = []
    for i, (name, sha) in enumerate(pairs, start=1):
        if not isinstance(name, str):
            raise InvalidArgumentError(f"column_hashes entry {i}: the name must be a string", hint=hint)
        out.append({"name": name, "sha": _require_str(sha, f"column_hashes entry {i}: 'sha'", hint=hint)})
    return out


# --------------------------------------------------------------------------------------------------
# metadata.json


def build_metadata(
    *,
    data_sha: str,
    nrow: int,
    ncol: int,
    colnames: Sequence[str],
    column_hashes: Sequence[Mapping[str, str]] | Mapping[str, str] | Sequence[tuple[str, str]],
    created_at: datetime | str,
    datom_version: str,
    table_type: str = "derived",
    original_file_sha: str | None = None,
    parents: Sequence[Mapping[str, Any]] | None = None,
    source_lineage: Sequence[Mapping[str, Any]] | None = None,
    size_bytes: int | None = None,
    custom: Mapping[str, Any] | None = None,
    parquet_sha: str | None = None,
) -> dict[str, Any]:
    """Build the metadata object of a version, in the member order of reference section 1.1.4.

    ``colnames`` becomes a bare string for a one-column table and a tuple otherwise (R's
    scalar-vs-vector quirk; the tuple prints inline like R). ``column_hashes`` is a list of
    ``{"name", "sha"}`` dicts, ``(name, sha)`` pairs or a ``{name: sha}`` dict. ``created_at`` is
    formatted with :func:`utc_timestamp`.

    Lineage: when ``parents`` is given (even ``[]``) it is validated with :func:`validate_parents`, the
    lean parents are recorded and ``source_lineage`` defaults to the union of the parents' lineages.
    An explicit ``source_lineage`` (the self-entry of an imported table, or a union the caller already
    computed from full parent entries before making them lean) is validated and recorded as given,
    taking precedence over that default. ``custom`` goes through
    :func:`validate_custom`. Members whose argument is ``None`` are omitted, never written as null.
    """
    if table_type not in _TABLE_TYPES:
        raise InvalidArgumentError(f"table_type must be 'derived' or 'imported', got {table_type!r}")
    _require_str(data_sha, "data_sha")
    _require_count(nrow, "nrow")
    _require_count(ncol, "ncol")
    if isinstance(colnames, str) or not isinstance(colnames, Sequence):
        raise InvalidArgumentError(
            "colnames must be a sequence of column names",
            hint='pass a list such as ["a", "b"], even for one column',
        )
    names = list(colnames)
    for name in names:
        if not isinstance(name, str):
            raise InvalidArgumentError(f"colnames must be strings, got {name!r}")
        _json_value(name, "colnames")
    if len(names) != ncol:
        raise InvalidArgumentError(f"colnames has {len(names)} names but ncol is {ncol}")
    hashes = _column_hashes(column_hashes)
    _require_str(datom_version, "datom_version")

    lean_parents: list[dict[str, Any]] | None = None
    lineage: list[dict[str, Any]] | None = None
    if parents is not None:
        lean_parents, lineage = validate_parents(parents)
    if source_lineage is not None:
        lineage = validate_source_lineage(source_lineage)

    metadata: dict[str, Any] = {"data_sha": data_sha, "hash_algo": HASH_ALGO}
    if parquet_sha is not None:
        metadata["parquet_sha"] = _require_str(parquet_sha, "parquet_sha")
    metadata["table_type"] = table_type
    metadata["nrow"] = nrow
    metadata["ncol"] = ncol
    metadata["colnames"] = names[0] if len(names) == 1 else tuple(names)
    metadata["column_hashes"] = hashes
    metadata["created_at"] = _timestamp_text(created_at, "created_at")
    metadata["datom_version"] = datom_version
    if original_file_sha is not None:
        metadata["original_file_sha"] = _require_str(original_file_sha, "original_file_sha")
    if lean_parents is not None:
        metadata["parents"] = lean_parents
    if lineage is not None:
        metadata["source_lineage"] = lineage
    if size_bytes is not None:
        metadata["size_bytes"] = _require_count(size_bytes, "size_bytes")
    if custom is not None:
        metadata["custom"] = validate_custom(custom)
    return metadata


# --------------------------------------------------------------------------------------------------
# version_history.json


def history_entry(
    *,
    version: str,
    data_sha: str,
    timestamp: datetime | str,
    author: Mapping[str, str] | str | None,
    commit_message: str,
    parquet_sha: str | None = None,
    original_file_sha: str | None = None,
) -> dict[str, Any]:
    """One ``version_history.json`` entry, member order of reference section 1.1.5.

    ``author`` is ``{"name", "email"}`` (the git identity) or ``"unknown"`` (``None`` means
    ``"unknown"``). ``parquet_sha`` and ``original_file_sha`` are omitted when ``None``.
    """
    entry: dict[str, Any] = {
        "version": _require_str(version, "version"),
        "data_sha": _require_str(data_sha, "data_sha"),
        "timestamp": _timestamp_text(timestamp, "timestamp"),
    }
    if author is None:
        entry["author"] = "unknown"
    elif isinstance(author, str):
        entry["author"] = _require_str(author, "author")
    elif isinstance(author, Mapping):
        name, email = author.get("name"), author.get("email")
        if not isinstance(name, str) or not isinstance(email, str):
            raise InvalidArgumentError(
                "author must have string 'name' and 'email'",
                hint='pass {"name": ..., "email": ...} or "unknown"',
            )
        entry["author"] = {"name": name, "email": email}
    else:
        raise InvalidArgumentError(f"author must be a dict or 'unknown', got {type(author).__name__}")
    if not isinstance(commit_message, str):
        raise InvalidArgumentError(f"commit_message must be a string, got {type(commit_message).__name__}")
    entry["commit_message"] = commit_message
    if parquet_sha is not None:
        entry["parquet_sha"] = _require_str(parquet_sha, "parquet_sha")
    if original_file_sha is not None:
        entry["original_file_sha"] = _require_str(original_file_sha, "original_file_sha")
    return entry


def add_history_entry(history: Sequence[Mapping[str, Any]] | None, entry: Mapping[str, Any]) -> tuple[list, bool]:
    """Prepend ``entry`` unless its ``version`` is already anywhere in ``history`` (reference section 3.5).

    Returns ``(new_history, added)``; the input list is not modified. Full-history dedup keeps every
    version unique, so re-syncing an old file (A, B, A again) leaves two entries.
    """
    existing = list(history or [])
    version = entry.get("version")
    if any(isinstance(old, Mapping) and old.get("version") == version for old in existing):
        return existing, False
    return [dict(entry), *existing], True


# --------------------------------------------------------------------------------------------------
# manifest.json


def _summary(tables: Mapping[str, Any]) -> dict[str, Any]:
    def number(entry: Any, key: str) -> int | float:
        value = entry.get(key, 0) if isinstance(entry, Mapping) else 0
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return 0
        return value

    return {
        "total_tables": len(tables),
        "total_size_bytes": sum(number(entry, "size_bytes") for entry in tables.values()),
        "total_versions": sum(number(entry, "version_count") for entry in tables.values()),
    }


def new_manifest(project_name: str, now: datetime | str | None = None) -> dict[str, Any]:
    """The ``.datom/manifest.json`` written at init: no tables, all summary numbers 0, true UTC time."""
    return {
        "project_name": _require_str(project_name, "project_name"),
        "updated_at": utc_timestamp(now),
        "tables": {},
        "summary": {"total_tables": 0, "total_size_bytes": 0, "total_versions": 0},
    }


def update_manifest(
    manifest: Mapping[str, Any] | None,
    *,
    project_name: str,
    table: str,
    metadata: Mapping[str, Any],
    version_count: int,
    now: datetime | str | None = None,
    original_format: str | None = None,
) -> dict[str, Any]:
    """Return the manifest after a write of ``table`` (reference sections 1.1.3 and 3.6).

    The table's entry is replaced wholesale by ``{current_version (metadata_sha of metadata),
    current_data_sha, last_updated, size_bytes (0 if absent), version_count, original_file_sha?,
    original_format?}`` (a table keeps its position; a new one is appended); ``updated_at`` is set and
    ``summary`` recomputed over all tables. ``manifest=None`` starts a fresh
    ``{project_name, tables, summary}`` object (``updated_at`` then comes last, as in R). An existing
    manifest's ``project_name`` is kept. The input is not modified.
    """
    _require_str(table, "table")
    _require_count(version_count, "version_count")
    stamp = utc_timestamp(now)
    if manifest is None:
        result: dict[str, Any] = {
            "project_name": _require_str(project_name, "project_name"),
            "tables": {},
            "summary": {},
        }
    else:
        if not isinstance(manifest, Mapping):
            raise InvalidArgumentError(f"manifest must be a dict, got {type(manifest).__name__}")
        result = copy.deepcopy(dict(manifest))
        result.setdefault("project_name", _require_str(project_name, "project_name"))
    tables = result.get("tables")
    tables = dict(tables) if isinstance(tables, Mapping) else {}
    size = metadata.get("size_bytes", 0)
    entry: dict[str, Any] = {
        "current_version": metadata_sha(metadata),
        "current_data_sha": _require_str(metadata.get("data_sha"), "metadata data_sha"),
        "last_updated": stamp,
        "size_bytes": size if isinstance(size, int | float) and not isinstance(size, bool) else 0,
        "version_count": version_count,
    }
    if isinstance(metadata.get("original_file_sha"), str):
        entry["original_file_sha"] = metadata["original_file_sha"]
    if original_format is not None:
        entry["original_format"] = _require_str(original_format, "original_format")
    tables[table] = entry
    result["tables"] = tables
    result["updated_at"] = stamp
    result["summary"] = _summary(tables)
    return result


# --------------------------------------------------------------------------------------------------
# project.yaml, .gitignore, README.md


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "~"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(float(value))
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    if isinstance(value, str):
        dumped = yaml.safe_dump(value, allow_unicode=True, width=2**30, default_flow_style=True)
        if dumped.endswith("\n...\n"):
            dumped = dumped[: -len("\n...\n")]
        dumped = dumped.rstrip("\n")
        if "\n" in dumped:
            return json.dumps(value, ensure_ascii=True)
        return dumped
    raise InvalidArgumentError(f"cannot write a {type(value).__name__} into project.yaml")


def _storage_block(storage: Mapping[str, Any]) -> list[tuple[str, Any]]:
    if not isinstance(storage, Mapping):
        raise InvalidArgumentError(f"storage must be a dict, got {type(storage).__name__}")
    kind = storage.get("type")
    # R knows 's3' and 'local'; other fsspec protocols (memory, gs, az...) are Python-only stores
    if not isinstance(kind, str) or not kind:
        raise InvalidArgumentError(f"storage type must be a protocol name such as 's3' or 'local', got {kind!r}")
    root = _require_str(storage.get("root"), "storage root")
    prefix = storage.get("prefix")
    if prefix is not None and not isinstance(prefix, str):
        raise InvalidArgumentError(f"storage prefix must be a string or None, got {type(prefix).__name__}")
    block: list[tuple[str, Any]] = [("type", kind), ("root", root), ("prefix", prefix or None)]
    if kind == "s3":
        block.append(("region", storage.get("region") or DEFAULT_REGION))
    return block


def project_yaml_text(
    *,
    project_name: str,
    created_date: date | str,
    datom_version: str,
    storage: Mapping[str, Any],
    remote_url: str | None,
    max_file_size_gb: int | float = 1000,
) -> str:
    """The text of ``.datom/project.yaml`` in R's layout (reference section 1.1.2).

    ``storage`` is ``{"type": "s3" | "local", "root", "prefix"?, "region"?}``; an empty or missing
    prefix is written ``~`` (null), ``region`` only for s3 (default us-east-1).
    ``max_file_size_gb`` is written as a float (``1000.0``). Booleans are written ``true``/``false``
    (R's writer uses ``yes``/``no``; both read back as booleans in R and PyYAML).
    """
    if isinstance(created_date, datetime):
        created_date = created_date.date()
    created = created_date.isoformat() if isinstance(created_date, date) else created_date
    _require_str(created, "created_date")
    lines = [
        f"project_name: {_yaml_scalar(_require_str(project_name, 'project_name'))}",
        f"project_description: {_yaml_scalar('')}",
        f"created_at: {_yaml_scalar(created)}",
        f"datom_version: {_yaml_scalar(_require_str(datom_version, 'datom_version'))}",
        "storage:",
        "  data:",
        *(f"    {key}: {_yaml_scalar(value)}" for key, value in _storage_block(storage)),
        f"  max_file_size_gb: {_yaml_scalar(float(max_file_size_gb))}",
        "repos:",
        "  data:",
        f"    remote_url: {_yaml_scalar(remote_url)}",
        "sync:",
        f"  continue_on_error: {_yaml_scalar(True)}",
        f"  parallel_uploads: {_yaml_scalar(4)}",
        f"renv: {_yaml_scalar(False)}",
    ]
    return "\n".join(lines) + "\n"


def replace_data_storage(text: str | bytes, storage: Mapping[str, Any]) -> str:
    """``project.yaml`` text with only its ``storage.data`` block replaced (R's ``datom_repo_set_data_store``).

    Every other line is kept as it was. Raises :class:`InvalidArgumentError` when the file has no
    ``storage:`` mapping with a ``data:`` block in the layout datom writes.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig")
    lines = text.splitlines()
    block = [f"    {key}: {_yaml_scalar(value)}" for key, value in _storage_block(storage)]
    try:
        top = lines.index("storage:")
        data = next(i for i in range(top + 1, len(lines)) if lines[i].rstrip() == "  data:")
    except (ValueError, StopIteration):
        raise InvalidArgumentError(
            "project.yaml has no storage.data block to update",
            hint="restore .datom/project.yaml from git history, or write the storage.data block by hand",
        ) from None
    if any(not line.startswith("  ") for line in lines[top + 1 : data]):
        raise InvalidArgumentError("project.yaml has no storage.data block to update")
    end = data + 1
    while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
        end += 1
    out = [*lines[: data + 1], *block, *lines[end:]]
    return "\n".join(out) + "\n"


PARQUET_BLOCK = "parquet:"
"""A top-level block of ``project.yaml`` that only this implementation reads (R ignores keys it does not
know, and its ``datom_repo_set_data_store`` rewrites ``storage.data`` only): ``parquet.compression``."""


def replace_parquet_compression(text: str | bytes, compression: str | Mapping[str, str] | None) -> str:
    """``project.yaml`` text with its ``parquet:`` block set to ``compression`` (None removes the block).

    Every other line is kept as it was. ``compression`` is one codec name or ``{column: codec}``.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig")
    lines = text.splitlines()
    if PARQUET_BLOCK in lines:
        start = lines.index(PARQUET_BLOCK)
        end = start + 1
        while end < len(lines) and (lines[end].startswith("  ") or not lines[end].strip()):
            end += 1
        lines = [*lines[:start], *lines[end:]]
    if compression is not None:
        if isinstance(compression, Mapping):
            block = [PARQUET_BLOCK, "  compression:"]
            block += [f"    {_yaml_scalar(str(k))}: {_yaml_scalar(str(v))}" for k, v in compression.items()]
        else:
            block = [PARQUET_BLOCK, f"  compression: {_yaml_scalar(str(compression))}"]
        lines = [*lines, *block]
    return "\n".join(lines) + "\n"


def _plain_yaml(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain_yaml(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_yaml(item) for item in value]
    return value


def parse_project_yaml(text: str | bytes) -> dict[str, Any]:
    """Parse ``.datom/project.yaml`` (YAML 1.1: ``yes``/``no`` are booleans, ``~`` is ``None``).

    Unquoted dates (``created_at: 2026-01-15``) come back as ISO strings, like quoted ones.
    Raises :class:`InvalidArgumentError` if the text is not YAML or not a mapping.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidArgumentError(
            f"project.yaml is not valid YAML: {exc}",
            hint="fix or restore .datom/project.yaml from git history",
        ) from None
    if not isinstance(value, dict):
        raise InvalidArgumentError(
            "project.yaml does not hold a mapping", hint="fix or restore .datom/project.yaml from git history"
        )
    return _plain_yaml(value)


def gitignore_text(extra: Iterable[str] | None = None) -> str:
    """``.gitignore`` content: :data:`DEFAULT_GITIGNORE`, then ``extra``, then ``input_files/``.

    Duplicates are dropped (first occurrence kept); one pattern per line with a trailing newline.
    """
    patterns: list[str] = []
    for pattern in (*DEFAULT_GITIGNORE, *(extra or ()), "input_files/"):
        if not isinstance(pattern, str) or not pattern.strip() or "\n" in pattern:
            raise InvalidArgumentError(f"invalid .gitignore pattern {pattern!r}")
        if pattern not in patterns:
            patterns.append(pattern)
    return "\n".join(patterns) + "\n"


def readme_text(
    project_name: str,
    storage: Mapping[str, Any],
    remote_url: str | None,
    created_date: date | str,
    version: str,
) -> str:
    """A short Markdown README for the data repo (reference section 1.1.7, with Python usage).

    ``version`` is the version of the package that initialised the project. Not parsed by anything.
    """
    kind = storage.get("type", "?")
    root = storage.get("root", "?")
    prefix = storage.get("prefix")
    region = storage.get("region") if kind == "s3" else None
    created = created_date.isoformat() if isinstance(created_date, date) else created_date
    prefix_text = f"`{prefix}`" if prefix else "*(none)*"
    region_text = f"`{region or DEFAULT_REGION}`" if kind == "s3" else "*(n/a)*"
    if kind == "s3":
        store_url = f"s3://{root}/{prefix.strip('/') + '/' if prefix else ''}"
    else:
        store_url = f"{root.rstrip('/')}/{prefix.strip('/') if prefix else ''}".rstrip("/")
    clone = remote_url or "<remote url>"
    return f"""# {project_name}

Versioned tables managed by [datom](https://github.com/amashadihossein/datom). Git holds the
metadata (`.datom/`, one folder per table); the data lives in the store below.

| Storage | |
|---|---|
| backend | `{kind}` |
| root | `{root}` |
| prefix | {prefix_text} |
| region | {region_text} |

## Get the repository

```bash
git clone {clone}
```

## Python (datom_engines)

```python
import datom_engines
import polars as pl

# writers work in a git clone
project = datom_engines.clone("{clone}", "{project_name}")

# readers only need the store (credentials via storage_options=...)
datom_engines.connect("{store_url}")
df = pl.scan_datom("{project_name}.<table>").collect()
```

## R (datom)

```r
conn <- datom::datom_get_conn(path = "{project_name}", store = ...)
datom::datom_list(conn)
datom::datom_read(conn, "<table>")
```

Data store: `{store_url}`

---
Initialised on {created} with version {version}.
"""


# --------------------------------------------------------------------------------------------------
# ref.json (governance)


def ref_json(current: Mapping[str, Any], previous: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """A governance ``ref.json`` object (reference section 1.3).

    ``current`` needs a non-empty ``root``; ``type``, ``prefix`` and ``region`` are written only when
    set (never as null, an empty prefix means none). ``previous`` entries (old locations with
    ``migrated_at``/``sunset_at`` or any other fields) are copied with ``None`` members dropped.
    """
    if not isinstance(current, Mapping):
        raise InvalidArgumentError(f"current must be a dict, got {type(current).__name__}")
    location: dict[str, Any] = {}
    if current.get("type") is not None:
        location["type"] = _require_str(current["type"], "current type")
    location["root"] = _require_str(current.get("root"), "current root")
    for key in ("prefix", "region"):
        value = current.get(key)
        if value is not None and value != "":
            location[key] = _require_str(value, f"current {key}")
    old: list[dict[str, Any]] = []
    for i, entry in enumerate(previous or [], start=1):
        if not isinstance(entry, Mapping):
            raise InvalidArgumentError(f"previous entry {i} must be a dict, got {type(entry).__name__}")
        old.append({k: _json_value(v, f"previous entry {i}: {k!r}") for k, v in entry.items() if v is not None})
    return {"current": location, "previous": old}


def _ref_prefix(value: Any) -> str | None:
    if isinstance(value, list | tuple) and len(value) == 1:
        value = value[0]
    if value is None or value == "" or value == {} or value == [] or value == ():
        return None
    if isinstance(value, str):
        return value
    raise InvalidArgumentError(f"ref.json current.prefix must be a string, got {value!r}")


def parse_ref_json(obj: Mapping[str, Any] | str | bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read a ``ref.json`` (text or parsed object) into ``(location, previous)``.

    ``location`` is ``{"type"?, "root", "prefix", "region"}``: ``prefix`` is ``None`` when the file
    says null, ``{}``, ``[]`` or ``""`` (a one-element list is unwrapped); ``region`` defaults to
    us-east-1; ``type`` is included only when present. ``previous`` is the list of old locations
    (``[]`` when absent). Extra fields anywhere are tolerated; ``schema_version`` is ignored.
    """
    if isinstance(obj, str | bytes):
        try:
            obj = jsonfmt.parse(obj)
        except ValueError as exc:
            raise InvalidArgumentError(f"ref.json is not valid JSON: {exc}") from None
    if not isinstance(obj, Mapping):
        raise InvalidArgumentError(f"ref.json must hold an object, got {type(obj).__name__}")
    current = obj.get("current")
    if not isinstance(current, Mapping):
        raise InvalidArgumentError(
            "ref.json has no 'current' location", hint="the governance record of this project is malformed"
        )
    root = current.get("root")
    if isinstance(root, list) and len(root) == 1:
        root = root[0]
    location: dict[str, Any] = {}
    if isinstance(current.get("type"), str):
        location["type"] = current["type"]
    location["root"] = _require_str(root, "ref.json current.root")
    location["prefix"] = _ref_prefix(current.get("prefix"))
    region = current.get("region")
    if isinstance(region, list) and len(region) == 1:
        region = region[0]
    location["region"] = region if isinstance(region, str) and region else DEFAULT_REGION
    previous = obj.get("previous")
    if isinstance(previous, Mapping):
        previous = [previous]
    old = [dict(entry) for entry in previous if isinstance(entry, Mapping)] if isinstance(previous, list) else []
    return location, old
