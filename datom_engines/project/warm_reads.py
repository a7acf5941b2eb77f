"""Warm scans of local stores: a table's resolution and its verified object, reused while nothing changed.

``scan_datom`` and DuckDB's ``datom()`` resolve and check a version on every call, which on a short
query (a selective filter reads one row group in ~5 ms) made the wrapper a visible share of the time.
On a local store the answer of :func:`~.reading.resolve` + :func:`~.reading.verified_object` depends
only on files whose identity a ``stat`` gives: the metadata mirror files the resolution read (the
table's ``metadata.json``, or its ``version_history.json`` and, for a tag, the tag record, for
``as_of`` the commit log head, whose absence is an identity too) and the
parquet object itself. So a warm call is three ``stat`` calls and a dictionary lookup:

* the metadata files' identities (device, inode, size, mtime, ctime) must equal those taken *before*
  the cached resolution read them, and every one must have been settled then (older than
  :data:`~datom_engines.storage.stat.SETTLE_SECONDS`: a file rewritten within one timestamp tick
  could keep its identity), else nothing is cached;
* the object's identity must equal the one whose verdict vouched for it (the same check
  :func:`~.reading.verified_object` makes: a changed object is verified again), and the process's
  verdicts must not have been forgotten since (:func:`~datom_engines.storage.verify.verdict_generation`);
* only ``verify="once"`` is served from here (``always`` hashes every time, ``never`` is cheap anyway),
  and only results vouched for by a recorded verdict.

Object stores are not cached here: their identity costs a request (HEAD), which the normal path makes.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..core import keys
from ..storage.cache import active_verdicts
from ..storage.objectstore import ObjectStore
from ..storage.stat import SETTLE_SECONDS, local_identity
from ..storage.verify import check_mode, object_url, verdict_generation
from . import reading
from .results import ResolvedVersion, VerifiedObject

#: entries kept (one per table reference and selection read in this process)
MEMO_SIZE = 1024

Identity = tuple[int, int, int, int, int]


@dataclass(frozen=True, slots=True)
class WarmEntry:
    """A cached answer and the identities it holds for (see the module docstring).

    An engine adapter may keep one (from :func:`entry`) and call :meth:`current` itself before reusing
    ``found``: the same check :func:`verified` makes, without its argument handling.
    """

    paths: tuple[str, ...]
    stamps: tuple[Identity, ...]
    object_path: str
    object_identity: Identity
    generation: int
    found: VerifiedObject

    def current(self) -> bool:
        """True while every file still has the identity it had (one ``stat`` each) and no verdict was forgotten.

        Written flat (no helper calls): a warm DuckDB query runs this between two parts of its
        own work, with the interpreter's caches cold, and a short query showed every extra call.
        """
        if self.generation != verdict_generation():
            return False
        stat = os.stat
        try:
            for path, stamp in zip(self.paths, self.stamps):  # noqa: B905 (same length by construction)
                try:
                    st = stat(path)
                except FileNotFoundError:
                    if stamp != ABSENT:
                        return False
                    continue
                if (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) != stamp:
                    return False
            st = stat(self.object_path)
        except OSError:
            return False
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) == self.object_identity


# keyed by the ObjectStore itself (held by the key, so an id is never reused) and the selection
_entries: OrderedDict[tuple[Any, ...], WarmEntry] = OrderedDict()
_lock = threading.Lock()


#: the identity of a file that does not exist (a project without a commit log); creating it changes it
ABSENT: Identity = (0, 0, -1, 0, 0)


def _identity(path: str) -> Identity:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return ABSENT
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _identities(paths: tuple[str, ...]) -> tuple[Identity, ...] | None:
    try:
        return tuple(_identity(p) for p in paths)
    except OSError:
        return None


def _sources(table: str, version: str | None, as_of: datetime | str | None, tag: str | None) -> tuple[str, ...]:
    """The mirror keys a resolution reads (see :func:`~.reading.resolve`)."""
    if tag is not None:
        return (keys.tag_key(tag), keys.history_key(table))
    if version is None and as_of is None:
        return (keys.metadata_key(table),)
    if as_of is not None:  # the commit log shows reverts the history does not (reading.resolve)
        return (keys.history_key(table), keys.COMMIT_LOG_KEY)
    return (keys.history_key(table),)


def verified(
    store: ObjectStore,
    project: str,
    table: str,
    *,
    version: str | None = None,
    as_of: datetime | str | None = None,
    tag: str | None = None,
    verify: str | None = "once",
) -> VerifiedObject:
    """:func:`~.reading.resolve` then :func:`~.reading.verified_object` (what an engine may read), served
    from memory on a local store while the files involved are unchanged (see the module docstring)."""
    mode = "once" if verify == "once" else check_mode(verify)
    key = (store, project, table, version, as_of, tag)
    if mode == "once":
        hit = _current(key)
        if hit is not None:
            return hit.found
    location = store.location
    if mode != "once" or not location.is_local:
        resolved = reading.resolve(store, project, table, version=version, as_of=as_of, tag=tag)
        return reading.verified_object(store, resolved, verify=mode)
    paths = tuple(location.fs_path(k) for k in _sources(table, version, as_of, tag))
    settled_before = time.time_ns() - int(SETTLE_SECONDS * 1e9)
    stamps = _identities(paths)  # taken before reading: a change during the read shows next time
    generation = verdict_generation()
    resolved = reading.resolve(store, project, table, version=version, as_of=as_of, tag=tag)
    found = reading.verified_object(store, resolved, verify=mode)
    if stamps is not None and all(s[3] < settled_before for s in stamps):
        _remember(key, store, paths, stamps, generation, resolved, found)
    return found


def entry(
    store: ObjectStore,
    project: str,
    table: str,
    *,
    version: str | None = None,
    as_of: datetime | str | None = None,
    tag: str | None = None,
) -> WarmEntry | None:
    """The current cached answer of :func:`verified` (``verify="once"``) for these arguments, or None."""
    return _current((store, project, table, version, as_of, tag))


def _current(key: tuple[Any, ...]) -> WarmEntry | None:
    found = _entries.get(key)
    return found if found is not None and found.current() else None


def _remember(
    key: tuple[Any, ...],
    store: ObjectStore,
    paths: tuple[str, ...],
    stamps: tuple[Identity, ...],
    generation: int,
    resolved: ResolvedVersion,
    found: VerifiedObject,
) -> None:
    """Keep ``found`` if a recorded verdict for the store object's current identity vouches for it."""
    if found.sha256 is None or not found.in_store:
        return
    try:
        st = os.stat(found.url)
    except OSError:
        return
    if active_verdicts().lookup(object_url(store, resolved.key), local_identity(st)) != found.sha256:
        return  # not recorded (unsettled, or changed since it was checked): the next call checks again
    identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    with _lock:
        _entries[key] = WarmEntry(paths, stamps, found.url, identity, generation, found)
        _entries.move_to_end(key)
        while len(_entries) > MEMO_SIZE:
            _entries.popitem(last=False)


def forget() -> None:
    """Drop every cached entry (tests; verdicts being forgotten has the same effect)."""
    with _lock:
        _entries.clear()
