"""Verdicts: "the stored object with identity I hashed to SHA-256 S", remembered so that an object is
hashed once per machine, not once per query.

A verdict is keyed by the object's URL (with the endpoint for object stores) and its identity
(:mod:`.stat`): a changed identity (the object was rewritten, truncated, replaced) finds no verdict,
so the object is checked again. Verdicts live in memory for the process and, unless the read cache is
off, as small files under ``<cache dir>/verdicts/`` (written atomically, so concurrent processes are
safe), so a new process reuses them too. An identity that is not settled (a local file modified less
than a second ago) is never recorded. Verdicts of fsspec memory objects stay in the process.

A verdict records what the bytes hashed to, good or bad: a corrupted object is refused again at once,
without another download. The verdict directory is trusted like the read cache itself: whoever can
write to it can vouch for bytes.

Also here: the check ``verify=`` modes share, and an in-process list of verified local copies (files
made by readers, such as the Polars adapter's copies of ``memory://`` objects) that repairs can use.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Literal

from ..errors import InvalidArgumentError
from . import fastcheck
from .integrity import check_integrity, download_verified, sha256_file, sha256_object
from .objectstore import ObjectStore
from .stat import SETTLE_SECONDS, ObjectStat, local_stat

VerifyMode = Literal["once", "always", "never"]
VERIFY_MODES: tuple[VerifyMode, ...] = ("once", "always", "never")
MEMO_SIZE = 65_536
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

_memo: OrderedDict[tuple[str, str], str] = OrderedDict()
_generation = 0  # bumped whenever this process forgets its verdicts (see verdict_generation)
_copies: dict[str, set[str]] = {}
_lock = threading.Lock()


def check_mode(verify: object) -> VerifyMode:
    """Validate a ``verify=`` value (None means the default, ``"once"``)."""
    if verify is None:
        return "once"
    if isinstance(verify, str) and verify.strip().lower() in VERIFY_MODES:
        return verify.strip().lower()  # type: ignore[return-value]
    raise InvalidArgumentError(
        f"verify must be one of 'once', 'always' or 'never', got {verify!r}",
        hint="'once' (default) hashes each stored object once per machine, 'always' on every read, "
        "'never' only checks existence and size",
    )


class VerdictStore:
    """Verdicts in this process, and persisted in ``directory`` when one is given."""

    def __init__(self, directory: str | os.PathLike[str] | None) -> None:
        self.directory = Path(directory) if directory is not None else None

    def _path(self, url: str, identity: str) -> Path | None:
        if self.directory is None:
            return None
        name = hashlib.sha256(f"{url}\0{identity}".encode()).hexdigest()
        return self.directory / name[:2] / f"{name}.json"

    def lookup(self, url: str, identity: str) -> str | None:
        """The SHA-256 recorded for this object and identity, or None."""
        key = (url, identity)
        with _lock:
            found = _memo.get(key)
            if found is not None:
                _memo.move_to_end(key)
                return found
        path = self._path(url, identity)
        if path is None or url.startswith("memory://"):
            return None
        try:
            entry = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None
        sha = entry.get("sha256") if isinstance(entry, dict) else None
        if entry.get("url") != url or entry.get("identity") != identity or not isinstance(sha, str):
            return None
        if not _HEX64.match(sha):
            return None
        self._remember(key, sha)
        return sha

    def record(self, url: str, stat: ObjectStat, sha256: str) -> bool:
        """Remember that the object at ``url`` with ``stat``'s identity hashed to ``sha256``.

        Nothing is recorded for an object without an identity or whose identity is not settled.
        Returns True when the verdict was recorded.
        """
        if stat.identity is None or not stat.settled:
            return False
        self._remember((url, stat.identity), sha256)
        path = self._path(url, stat.identity)
        if path is None or url.startswith("memory://"):
            return True
        with contextlib.suppress(OSError):  # a read-only cache directory only costs re-hashing
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
            try:
                tmp.write_text(json.dumps({"url": url, "identity": stat.identity, "sha256": sha256}) + "\n")
                os.replace(tmp, path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
        return True

    @staticmethod
    def _remember(key: tuple[str, str], sha: str) -> None:
        with _lock:
            _memo[key] = sha
            _memo.move_to_end(key)
            while len(_memo) > MEMO_SIZE:
                _memo.popitem(last=False)

    def clear(self) -> None:
        """Forget every verdict (in this process, and the persisted ones)."""
        forget_process_verdicts()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)


def forget_process_verdicts() -> None:
    """Forget the verdicts held in this process (the persisted ones stay)."""
    global _generation
    with _lock:
        _memo.clear()
        _generation += 1


def verdict_generation() -> int:
    """A number that changes whenever this process forgets its verdicts: whoever keeps results that rest on
    a verdict (:mod:`datom_engines.project.warm_reads`) drops them when it changed."""
    return _generation


def object_url(store: ObjectStore, key: str) -> str:
    """The name a store object's verdicts are kept under: its URL, with the endpoint when there is one."""
    url = store.location.url(key)
    endpoint = store.endpoint
    return f"{url}@{endpoint}" if endpoint else url


def known_sha(verdicts: VerdictStore, url: str, stat: ObjectStat, mode: VerifyMode) -> tuple[str, str] | None:
    """``(sha256, how)`` when the object's bytes are known without reading them, else None.

    ``how`` is ``recorded`` (a verdict for this identity) or ``attested`` (the store's own full-object
    SHA-256, which is then recorded too). ``always`` never takes either: it re-hashes.
    """
    if mode == "always" or stat.identity is None:
        return None
    found = verdicts.lookup(url, stat.identity)
    if found is not None:
        return found, "recorded"
    if stat.sha256 is not None:
        verdicts.record(url, stat, stat.sha256)
        return stat.sha256, "attested"
    return None


def verified_file(
    verdicts: VerdictStore,
    path: str,
    expected: Collection[str],
    mode: VerifyMode,
    progress: Callable[[int], None] | None = None,
) -> str | None:
    """The SHA-256 of a local file if it is one of ``expected`` (re-hashed unless a verdict says so), else None.

    A file that hashes to something else is reported as None (its verdict is kept, so asking again is
    cheap); a missing file too.
    """
    try:
        stat = local_stat(path)
    except FileNotFoundError:
        return None
    known = known_sha(verdicts, path, stat, mode)
    if known is not None:
        return known[0] if known[0] in expected else None
    try:
        sha = sha256_file(path, progress)
    except FileNotFoundError:
        return None
    with contextlib.suppress(FileNotFoundError):
        if local_stat(path).identity == stat.identity:
            verdicts.record(path, stat, sha)
    return sha if sha in expected else None


def vouch_for_file(verdicts: VerdictStore, path: str, sha256: str) -> bool:
    """Record that a local file this process has just written (hashing it on the way) holds ``sha256``.

    The file's mtime is first moved a little into the past, so any later write gives it a newer mtime:
    the identity recorded is settled at once (without that, a fresh file is re-hashed for a second).
    Returns True when the verdict was recorded.
    """
    try:
        st = os.stat(path)
        past = time.time_ns() - int(2 * SETTLE_SECONDS * 1e9)
        if st.st_mtime_ns > past:
            os.utime(path, ns=(st.st_atime_ns, past))
        return verdicts.record(path, local_stat(path), sha256)
    except OSError:  # not ours to touch (permissions): it is hashed on first use instead
        return False


def hash_stored(
    store: ObjectStore,
    key: str,
    stat: ObjectStat,
    verdicts: VerdictStore,
    progress: Callable[[int], None] | None = None,
) -> str:
    """Hash a stored object (streamed, nothing kept) and record the verdict if it did not change meanwhile."""
    sha = sha256_object(store, key, progress)
    if stat.settled and stat.identity is not None and _unchanged(store, key, stat):
        verdicts.record(object_url(store, key), stat, sha)
    return sha


def _unchanged(store: ObjectStore, key: str, stat: ObjectStat) -> bool:
    """True when the object still has the identity ``stat`` gave (it did not change while it was hashed)."""
    after = store.stat(key) if not store.location.is_local else _local_or_none(store.location.fs_path(key))
    return after is not None and after.identity == stat.identity


def attest_local(
    store: ObjectStore, table: str, key: str, parquet_sha: str, stat: ObjectStat, verdicts: VerdictStore
) -> bool:
    """True when a local store object matches the BLAKE3 its writer recorded for ``parquet_sha`` (see
    :mod:`.fastcheck`: every core instead of one SHA-256 stream); the verdict is then recorded as for a
    hash. False (the caller hashes with SHA-256) without a usable record, or when the digest differs."""
    if not fastcheck.matches_record(store, table, parquet_sha, stat.size, store.location.fs_path(key)):
        return False
    if stat.settled and stat.identity is not None:
        if not _unchanged(store, key, stat):
            return False  # changed while it was hashed: hash again, with SHA-256
        verdicts.record(object_url(store, key), stat, parquet_sha)
    return True


def object_sha(
    store: ObjectStore,
    key: str,
    stat: ObjectStat,
    verdicts: VerdictStore,
    mode: VerifyMode = "once",
    progress: Callable[[int], None] | None = None,
) -> str:
    """The SHA-256 of a stored object: a recorded verdict or the store's checksum (``once``), else hashed now."""
    known = known_sha(verdicts, object_url(store, key), stat, mode)
    return known[0] if known is not None else hash_stored(store, key, stat, verdicts, progress)


def _local_or_none(path: str) -> ObjectStat | None:
    try:
        return local_stat(path)
    except FileNotFoundError:
        return None


def download_checked(
    store: ObjectStore,
    key: str,
    dest: str,
    *,
    stat: ObjectStat | None,
    verdicts: VerdictStore,
    expected: str | None,
    accepted: Collection[str] = (),
    what: str = "object",
    progress: Callable[[int], None] | None = None,
) -> str:
    """Download ``key`` to ``dest`` while hashing it; record the verdict; the file appears only if it matched.

    The hash of what came down is recorded as the verdict of ``stat``'s identity, good or bad, so a
    corrupted object is not downloaded again to be refused again. Returns the SHA-256.
    """
    tmp = f"{dest}.{uuid.uuid4().hex}.part"
    try:
        actual = download_verified(store, key, tmp, expected=None, progress=progress)
        if stat is not None:
            verdicts.record(object_url(store, key), stat, actual)
        check_integrity(actual, expected, accepted, what=what, url=store.location.url(key))
        os.replace(tmp, dest)
        return actual
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


# ----- verified local copies made in this process (for repairs) -----------------------------------
def register_copy(sha256: str, path: str) -> None:
    """Note that ``path`` held bytes hashing to ``sha256`` when it was made (checked again before use)."""
    with _lock:
        _copies.setdefault(sha256, set()).add(path)


def forget_registered_copies() -> None:
    """Forget the copies registered in this process (the files are not touched)."""
    with _lock:
        _copies.clear()


def registered_copies(shas: Iterable[str]) -> list[str]:
    """Local copies registered for any of ``shas`` (they may have changed or gone since)."""
    with _lock:
        return sorted({p for s in shas for p in _copies.get(s, ())})


__all__ = [
    "VERIFY_MODES",
    "VerdictStore",
    "VerifyMode",
    "check_mode",
    "download_checked",
    "forget_process_verdicts",
    "forget_registered_copies",
    "hash_stored",
    "known_sha",
    "object_sha",
    "object_url",
    "register_copy",
    "registered_copies",
    "verdict_generation",
    "verified_file",
    "vouch_for_file",
]
