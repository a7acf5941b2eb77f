"""Pick one version out of a table's ``version_history.json`` (reference sections 2.5 and 4.1), or one
state of the whole project out of its commit log (:mod:`.snapshots`). Pure.

The history is the parsed JSON array, newest first; each entry has at least ``version`` (the
metadata_sha), ``data_sha`` and ``timestamp`` (``YYYY-MM-DDTHH:MM:SSZ``, one-second resolution).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from ..errors import AmbiguousVersionError, InvalidArgumentError, VersionNotFoundError
from .metadata import parse_timestamp, utc_timestamp
from .snapshots import LogEntry, SnapshotEntry

__all__ = ["check_selection", "logged_change", "select_state", "select_version"]

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SHOWN = 5  # how many versions a hint lists


def _label(table: str) -> str:
    return f' of table "{table}"' if table else ""


def _entry_timestamp(entry: Mapping[str, Any]) -> datetime | None:
    value = entry.get("timestamp")
    if not isinstance(value, str):
        return None
    try:
        return parse_timestamp(value)
    except InvalidArgumentError:
        return None


def _describe(entry: Mapping[str, Any], length: int = 8) -> str:
    version = entry.get("version")
    shown = version[:length] if isinstance(version, str) else "?"
    timestamp = entry.get("timestamp")
    return f"{shown} ({timestamp})" if isinstance(timestamp, str) else shown


def _newest_hint(history: Sequence[Mapping[str, Any]]) -> str:
    shown = ", ".join(_describe(entry) for entry in history[:_SHOWN])
    more = f" and {len(history) - _SHOWN} older" if len(history) > _SHOWN else ""
    return f"newest versions: {shown}{more}; list them all with history()"


def _cutoff(as_of: datetime | str) -> tuple[datetime, bool]:
    """``(limit, inclusive)``: entries qualify when ``ts <= limit`` (inclusive) or ``ts < limit``."""
    if isinstance(as_of, datetime):
        return parse_timestamp(as_of), True
    if not isinstance(as_of, str):
        raise InvalidArgumentError(
            f"as_of must be a datetime or an ISO timestamp string, got {type(as_of).__name__}",
            hint='e.g. as_of="2026-01-15T10:30:00Z" or as_of="2026-01-15" (the end of that UTC day)',
        )
    text = as_of.strip()
    if _DATE_ONLY.fullmatch(text):
        return parse_timestamp(text) + timedelta(days=1), False
    return parse_timestamp(text), True


def check_selection(version: str | None = None, as_of: datetime | str | None = None, tag: str | None = None) -> None:
    """Refuse more than one of ``version``, ``as_of`` and ``tag`` (each alone picks a version)."""
    given = [name for name, value in (("version", version), ("as_of", as_of), ("tag", tag)) if value is not None]
    if given == ["version", "as_of"]:  # the message select_version has always given
        raise InvalidArgumentError(
            "pass either version or as_of, not both", hint="version picks an id, as_of picks a point in time"
        )
    if len(given) > 1:
        raise InvalidArgumentError(
            f"pass only one of version, as_of and tag, got {' and '.join(given)}",
            hint="version picks an id, as_of picks a point in time, tag picks a named snapshot",
        )


def _qualifies(ts: datetime | None, limit: datetime, inclusive: bool) -> bool:
    return ts is not None and (ts <= limit if inclusive else ts < limit)


def select_state(
    log: Sequence[LogEntry],
    as_of: datetime | str | None = None,
    *,
    base: Mapping[str, SnapshotEntry] | None = None,
    project: str = "",
) -> tuple[int, dict[str, SnapshotEntry]]:
    """The project state after one commit of a commit log part (newest first): ``(index, {table: entry})``.

    Without ``as_of`` it is the newest commit; with it, the newest commit (in log order) made at or
    before that time (``as_of`` reads as in :func:`select_version`). The state folds that entry and
    every older one onto ``base`` (the state before the part's oldest entry), so it is always a state
    git really had: the tables of one transaction (one commit) appear all before or all after. An empty
    part, or a time before its first commit, raises :class:`VersionNotFoundError` (the caller may look
    in the older part).
    """
    label = f" of project {project!r}" if project else ""
    if not log:
        raise VersionNotFoundError(f"no commit{label} has written a table yet", hint="write a table first")
    index = 0
    if as_of is not None:
        limit, inclusive = _cutoff(as_of)
        found = next((i for i, e in enumerate(log) if _qualifies(e.created_at, limit, inclusive)), None)
        if found is None:
            known = [e.created_at for e in log if e.created_at is not None]
            first = utc_timestamp(min(known)) if known else "an unknown time"
            asked = utc_timestamp(as_of) if isinstance(as_of, datetime) else as_of
            raise VersionNotFoundError(
                f"no table{label} existed at {asked}: the first commit was made at {first}",
                hint=f"pass an as_of at or after {first}",
            )
        index = found
    state: dict[str, SnapshotEntry] = dict(base or {})
    for entry in reversed(log[index:]):
        state.update(entry.tables)
    return index, state


def logged_change(
    log: Sequence[LogEntry], table: str, as_of: datetime | str, since: datetime | None
) -> tuple[SnapshotEntry | None, bool]:
    """The version of ``table`` the newest commit of a commit log part (newest first) set at or before
    ``as_of``, looking only at commits made at or after ``since``: ``(entry, look_older)``.

    A table's ``version_history.json`` gets no new entry when a write reverts the table to a version it
    had before (A, B, then A again: reference section 3.5), so :func:`select_version` alone answers B
    for a time after the revert. The commit log records every commit, reverts included. ``since`` is
    the time of the history entry :func:`select_version` picked: a change older than that cannot be
    newer than it, so the search stops there. ``look_older`` is True when the part ran out before
    reaching ``since`` (the caller may look in the older part); ``entry`` is None when no commit in the
    range touched the table.
    """
    limit, inclusive = _cutoff(as_of)
    for entry in log:
        if entry.created_at is None or not _qualifies(entry.created_at, limit, inclusive):
            continue
        if since is not None and entry.created_at < since:
            return None, False
        found = entry.tables.get(table)
        if found is not None:
            return found, False
    return None, True


def select_version(
    history: Sequence[Mapping[str, Any]],
    *,
    version: str | None = None,
    as_of: datetime | str | None = None,
    table: str = "",
) -> dict[str, Any]:
    """Return the history entry selected by ``version`` or ``as_of`` (the newest entry if neither).

    * ``version``: the full 64-character id or any non-empty prefix of it (case-sensitive string
      prefix of the entries' ``version``; ``data_sha`` is never searched). No match ->
      :class:`VersionNotFoundError` (its hint lists the newest versions); several ->
      :class:`AmbiguousVersionError` naming the candidates.
    * ``as_of``: the version that was current at that time, i.e. the first entry in history order
      (newest first) whose ``timestamp`` is at or before ``as_of``. Two versions written in the same
      second both qualify and the newer one wins. Naive datetimes and strings without offset are UTC;
      a date-only string such as ``"2026-01-15"`` means the *end* of that UTC day (any version written
      that day qualifies). Before the first version -> :class:`VersionNotFoundError` saying when the
      first version was created. Entries without a readable timestamp are skipped.

    Passing both raises :class:`InvalidArgumentError`; an empty history raises
    :class:`VersionNotFoundError` ("no version history"). ``table`` is only used in messages.
    """
    if version is not None and as_of is not None:
        raise InvalidArgumentError(
            "pass either version or as_of, not both", hint="version picks an id, as_of picks a point in time"
        )
    if isinstance(history, str | bytes | Mapping) or not isinstance(history, Sequence):
        raise InvalidArgumentError(f"history must be a list of entries, got {type(history).__name__}")
    entries = [entry for entry in history if isinstance(entry, Mapping)]
    if not entries:
        raise VersionNotFoundError(
            f"no version history{_label(table)}",
            hint="the table has no recorded versions yet; write it first, or check the table name",
        )

    if version is not None:
        if not isinstance(version, str) or version == "":
            raise InvalidArgumentError(
                f"version must be a non-empty string, got {version!r}",
                hint="pass a version id or a prefix of it, as shown by history()",
            )
        matches = [e for e in entries if isinstance(e.get("version"), str) and e["version"].startswith(version)]
        if not matches:
            raise VersionNotFoundError(f'version "{version}" not found{_label(table)}', hint=_newest_hint(entries))
        if len(matches) > 1:
            length = max(12, len(version) + 4)
            shown = ", ".join(_describe(e, length) for e in matches[:_SHOWN])
            more = f" and {len(matches) - _SHOWN} more" if len(matches) > _SHOWN else ""
            raise AmbiguousVersionError(
                f'version prefix "{version}" is ambiguous: it matches {len(matches)} versions{_label(table)}: '
                f"{shown}{more}"
            )
        return dict(matches[0])

    if as_of is not None:
        limit, inclusive = _cutoff(as_of)
        stamped = [(entry, _entry_timestamp(entry)) for entry in entries]
        for entry, ts in stamped:
            if ts is not None and (ts <= limit if inclusive else ts < limit):
                return dict(entry)
        known = [ts for _, ts in stamped if ts is not None]
        if not known:
            raise VersionNotFoundError(
                f"no version{_label(table)} has a readable timestamp, so as_of cannot be resolved",
                hint="select the version by id instead",
            )
        first = utc_timestamp(min(known))
        asked = utc_timestamp(as_of) if isinstance(as_of, datetime) else as_of
        raise VersionNotFoundError(
            f"no version{_label(table)} existed at {asked}: the first version was created at {first}",
            hint=f"pass an as_of at or after {first}, or select a version by id",
        )

    return dict(entries[0])
