"""Project snapshots: sets of table versions that belong together. Pure, no I/O.

Two kinds, both recorded in git and mirrored to the store in keys the reference does not define:

* the **commit log** (store ``.metadata/commits.json`` and its older parts): one entry per git commit
  that changed a table, newest first, naming the versions that commit made current. The state of the project after an
  entry is the fold of that entry and every older one, so a reader without git can see the project as
  it was after any commit (a multi-table transaction is one commit, hence one entry);
* **tags** (git ``refs/tags/<name>``, an annotated tag whose message carries the versions; store
  ``.metadata/tags/<name>.json``): a named, immutable snapshot such as a database lock.

This module holds the names, the JSON shapes and their parsing; selection by time is in
:mod:`.versions`, the I/O in the project layer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import InvalidArgumentError, InvalidNameError
from . import jsonfmt
from .metadata import optional_timestamp, utc_timestamp
from .names import check_hex_sha, validate_name

MAX_TAG_LENGTH = 128
SNAPSHOT_MARKER = "datom-snapshot:"

_TAG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_ALL_HEX = re.compile(r"[0-9a-f]+")
_TAG_HINT = (
    "a tag name starts with a letter or digit and contains only letters, digits, '.', '_' and '-' "
    "(at most 128 characters, no '..', not ending in '.' or '.lock', not only hex digits), "
    'e.g. "dblock-2026-03" or "interim-1"'
)


def validate_tag_name(name: object) -> str:
    """Return ``name`` if it is a valid tag name, else raise :class:`InvalidNameError`.

    The rules keep a name valid as a git ref (``refs/tags/<name>``, ``git check-ref-format``), safe as
    one store key segment on every backend, and distinct from version ids: a name made only of
    lowercase hex digits (``cafe01``) would read as a version prefix, so it is refused.
    """
    if not isinstance(name, str):
        raise InvalidNameError(f"tag name must be a string, got {type(name).__name__}", hint=_TAG_HINT)
    if not name:
        raise InvalidNameError("tag name is empty", hint=_TAG_HINT)
    if len(name) > MAX_TAG_LENGTH:
        raise InvalidNameError(f"tag name {name[:20]!r}... is {len(name)} characters long; the limit is 128")
    if not _TAG_NAME.fullmatch(name):
        bad = sorted({c for c in name if not re.fullmatch(r"[A-Za-z0-9._-]", c)})
        why = (
            f"contains characters that are not allowed: {', '.join(map(repr, bad))}"
            if bad
            else "must start with a letter or digit"
        )
        raise InvalidNameError(f"tag name {name!r} {why}", hint=_TAG_HINT)
    if ".." in name or name.endswith((".", ".lock")):
        raise InvalidNameError(f"tag name {name!r} is not a valid git ref name", hint=_TAG_HINT)
    if _ALL_HEX.fullmatch(name):
        raise InvalidNameError(
            f"tag name {name!r} looks like a version id (only hex digits)",
            hint="add a letter outside a-f (for example 'v' or a word): " + _TAG_HINT,
        )
    return name


def looks_like_version(text: str) -> bool:
    """True when ``text`` could be a version id or prefix (lowercase hex only), so never a tag name."""
    return bool(_ALL_HEX.fullmatch(text))


# ----- table versions of a snapshot ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SnapshotEntry:
    """One table's version in a snapshot."""

    version: str
    data_sha: str

    def to_json(self) -> dict[str, str]:
        """The JSON object of the entry."""
        return {"version": self.version, "data_sha": self.data_sha}


def tables_json(tables: Mapping[str, SnapshotEntry]) -> dict[str, dict[str, str]]:
    """The ``tables`` object of a snapshot record (table name -> ``{version, data_sha}``)."""
    return {name: entry.to_json() for name, entry in tables.items()}


def parse_tables(value: object, where: str) -> dict[str, SnapshotEntry]:
    """Parse a ``tables`` object; :class:`InvalidArgumentError` naming ``where`` when malformed."""
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"{where}: 'tables' must be an object")
    out: dict[str, SnapshotEntry] = {}
    for name, entry in value.items():
        try:
            validate_name(name)
            if not isinstance(entry, Mapping):
                raise InvalidArgumentError("not an object")
            out[name] = SnapshotEntry(
                check_hex_sha(entry.get("version"), "version"), check_hex_sha(entry.get("data_sha"), "data_sha")
            )
        except (InvalidArgumentError, InvalidNameError) as exc:
            raise InvalidArgumentError(f"{where}: bad entry for table {name!r}: {exc.message}") from None
    return out


# ----- tags ---------------------------------------------------------------------------------------


def tag_message(message: str, project: str, tables: Mapping[str, SnapshotEntry]) -> str:
    """The message of a tag's git object: the user's text, then the versions it pins (machine-readable).

    The versions are part of the (optionally signed) tag object, so a good signature covers them.
    """
    if SNAPSHOT_MARKER in message:
        raise InvalidArgumentError(f"a tag message cannot contain {SNAPSHOT_MARKER!r}")
    block = jsonfmt.pretty({"project": project, "tables": tables_json(tables)})
    return f"{message.rstrip()}\n\n{SNAPSHOT_MARKER}\n{block}\n"


def parse_tag_message(text: str, where: str) -> tuple[str, str | None, dict[str, SnapshotEntry]]:
    """``(user message, project, tables)`` of a tag message written by :func:`tag_message`."""
    head, sep, block = text.rpartition(f"\n{SNAPSHOT_MARKER}\n")
    if not sep:
        raise InvalidArgumentError(f"{where} is not a datom snapshot (its message has no {SNAPSHOT_MARKER} block)")
    try:
        data = jsonfmt.parse(block.encode("utf-8"))
    except ValueError as exc:
        raise InvalidArgumentError(f"{where}: unreadable {SNAPSHOT_MARKER} block: {exc}") from None
    if not isinstance(data, Mapping):
        raise InvalidArgumentError(f"{where}: the {SNAPSHOT_MARKER} block is not an object")
    project = data.get("project")
    return head.rstrip("\n"), project if isinstance(project, str) else None, parse_tables(data.get("tables"), where)


@dataclass(frozen=True, slots=True)
class SignatureStatus:
    """Whether a tag's signature checks out, as far as this machine can tell.

    ``state`` is ``unsigned``, ``good`` (valid, by a key this machine trusts or knows), ``bad`` (the
    signature does not match the tag: tampered), or ``unverified`` (signed, but it cannot be checked
    here: public key unknown, no allowed-signers file, tool missing; ``detail`` says which).
    """

    state: str
    signer: str | None = None
    key: str | None = None
    format: str | None = None
    detail: str | None = None

    @property
    def good(self) -> bool:
        """True for a verified signature."""
        return self.state == "good"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "state": self.state,
            "signer": self.signer,
            "key": self.key,
            "format": self.format,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Tag:
    """A named, immutable snapshot: the versions of some or all tables at one git commit."""

    name: str
    commit: str
    created_at: datetime | None
    tagger: str
    message: str
    tables: Mapping[str, SnapshotEntry]
    signed: bool = False
    tag_object: str | None = None
    signature: SignatureStatus | None = field(default=None, compare=False)

    def version_of(self, table: str) -> str | None:
        """The version of ``table`` this tag pins (None when the tag does not include the table)."""
        entry = self.tables.get(table)
        return entry.version if entry else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (full ids, UTC ISO time)."""
        return {
            "name": self.name,
            "commit": self.commit,
            "created_at": utc_timestamp(self.created_at) if self.created_at else None,
            "tagger": self.tagger,
            "message": self.message,
            "tables": tables_json(self.tables),
            "signed": self.signed,
            "signature": self.signature.to_dict() if self.signature else None,
        }


def person(name: str, email: str) -> dict[str, str]:
    """A ``{name, email}`` object (authors and taggers)."""
    return {"name": name, "email": email}


def _person_text(value: object) -> str:
    if isinstance(value, Mapping):
        return f"{value.get('name', '')} <{value.get('email', '')}>"
    return str(value) if value else "unknown"


def tag_record(
    *,
    name: str,
    commit: str,
    tag_object: str,
    created_at: str,
    tagger: Mapping[str, str],
    message: str,
    tables: Mapping[str, SnapshotEntry],
    signed: bool,
    git_tag: str,
) -> dict[str, Any]:
    """The store record of a tag (``.metadata/tags/<name>.json``), a pure function of the git tag.

    ``git_tag`` is the raw tag object, so a reader without git can check the signature and that the
    record's ``tables`` are the signed ones.
    """
    return {
        "name": validate_tag_name(name),
        "commit": commit,
        "tag_object": tag_object,
        "created_at": created_at,
        "tagger": dict(tagger),
        "message": message,
        "tables": tables_json(tables),
        "signed": signed,
        "git_tag": git_tag,
    }


def tag_from_record(record: object, where: str) -> Tag:
    """Parse a tag's store record."""
    if not isinstance(record, Mapping):
        raise InvalidArgumentError(f"{where} is not a JSON object")
    name, commit = record.get("name"), record.get("commit")
    if not isinstance(name, str) or not isinstance(commit, str):
        raise InvalidArgumentError(f"{where} has no name or commit")
    tag_object = record.get("tag_object")
    message = record.get("message")
    return Tag(
        name=name,
        commit=commit,
        created_at=optional_timestamp(record.get("created_at")),
        tagger=_person_text(record.get("tagger")),
        message=message if isinstance(message, str) else "",
        tables=parse_tables(record.get("tables"), where),
        signed=record.get("signed") is True,
        tag_object=tag_object if isinstance(tag_object, str) else None,
    )


# ----- the commit log ---------------------------------------------------------------------------
#
# ``.metadata/commits.json`` is the *head* of the log: ``{"format": 1, "entries": [newest .. oldest],
# "base": {"tables": {...}}, "older": "<key>"}``. ``base`` is the state before its oldest entry (the
# fold of everything older), ``older`` the key of the previous part, an immutable object of the same
# shape (absent for the first). A writer rewrites only the head, which holds at most LOG_HEAD_MAX
# entries: beyond that, all but the newest LOG_HEAD_KEEP move into new immutable parts.

LOG_FORMAT = 1
LOG_HEAD_MAX = 200
LOG_HEAD_KEEP = 100


def log_entry(
    *,
    commit: str,
    created_at: str,
    message: str,
    author: Mapping[str, str] | str,
    tables: Mapping[str, SnapshotEntry],
) -> dict[str, Any]:
    """One entry of the commit log: a commit and the table versions it made current."""
    return {
        "commit": commit,
        "created_at": created_at,
        "message": message,
        "author": dict(author) if isinstance(author, Mapping) else author,
        "tables": tables_json(tables),
    }


def log_part(entries: list[dict[str, Any]], base: Mapping[str, SnapshotEntry], older: str | None) -> dict[str, Any]:
    """One part of the commit log (the head, or an older immutable part)."""
    part: dict[str, Any] = {"format": LOG_FORMAT, "entries": entries, "base": {"tables": tables_json(base)}}
    if older is not None:
        part["older"] = older
    return part


def fold(base: Mapping[str, SnapshotEntry], entries: list[dict[str, Any]], where: str) -> dict[str, SnapshotEntry]:
    """The state after ``entries`` (newest first, JSON) on top of ``base``."""
    state = dict(base)
    for entry in reversed(entries):
        state.update(parse_tables(entry.get("tables"), where))
    return state


def split_log(
    entries: list[dict[str, Any]],
    base: Mapping[str, SnapshotEntry],
    older: str | None,
    part_key: Callable[[str], str],
    *,
    max_entries: int | None = None,
    keep: int | None = None,
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """The head and the new immutable parts (``(key, part)``, oldest first) for ``entries`` (newest first)
    on top of ``base`` / ``older``. ``part_key(newest commit of a part)`` names a part; ``max_entries``
    and ``keep`` default to :data:`LOG_HEAD_MAX` and :data:`LOG_HEAD_KEEP`."""
    max_entries = max_entries or LOG_HEAD_MAX
    keep = min(keep or LOG_HEAD_KEEP, max_entries)
    if len(entries) <= max_entries:
        return log_part(entries, base, older), []
    moved = entries[keep:]
    parts = []
    state = dict(base)
    for end in range(len(moved), 0, -max_entries):  # oldest part first: each names the one before it
        chunk = moved[max(0, end - max_entries) : end]
        key = part_key(chunk[0]["commit"])
        parts.append((key, log_part(chunk, state, older)))
        state, older = fold(state, chunk, key), key
    return log_part(entries[:keep], state, older), parts


@dataclass(frozen=True, slots=True)
class LogEntry:
    """A parsed commit-log entry."""

    commit: str
    created_at: datetime | None
    message: str
    author: str
    tables: Mapping[str, SnapshotEntry]


@dataclass(frozen=True, slots=True)
class LogPart:
    """A parsed part of the commit log: its entries (newest first), the state before them, the older part."""

    entries: list[LogEntry]
    base: Mapping[str, SnapshotEntry]
    older: str | None

    @property
    def newest(self) -> str | None:
        """The newest commit of this part."""
        return self.entries[0].commit if self.entries else None


def parse_log_part(value: object, where: str) -> LogPart:
    """Parse one part of the commit log; a malformed one raises :class:`InvalidArgumentError`."""
    if (
        not isinstance(value, Mapping)
        or value.get("format") != LOG_FORMAT
        or not isinstance(value.get("entries"), list)
    ):
        raise InvalidArgumentError(f"{where} is not a datom commit log (format {LOG_FORMAT})")
    base = value.get("base")
    older = value.get("older")
    out = []
    for i, item in enumerate(value["entries"]):
        if not isinstance(item, Mapping) or not isinstance(item.get("commit"), str):
            raise InvalidArgumentError(f"{where}: entry {i} has no commit")
        message = item.get("message")
        out.append(
            LogEntry(
                commit=item["commit"],
                created_at=optional_timestamp(item.get("created_at")),
                message=message if isinstance(message, str) else "",
                author=_person_text(item.get("author")),
                tables=parse_tables(item.get("tables"), f"{where} entry {i}"),
            )
        )
    return LogPart(
        out,
        parse_tables(base.get("tables") if isinstance(base, Mapping) else {}, f"{where} base"),
        older if isinstance(older, str) else None,
    )
