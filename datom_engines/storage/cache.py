"""A local, content-addressed cache of downloaded parquet objects.

Entries are named by the SHA-256 of their bytes (``parquet_sha``), so an entry can never go stale and
the cache never needs invalidation: a version whose bytes are pinned by ``parquet_sha`` always maps to
the same file. Objects without a recorded ``parquet_sha`` (pre-cv1 metadata) are cached under their
``data_sha`` with the hash of the downloaded bytes kept beside them. Every entry is verified when it
is written (the download is hashed before it appears) and again each time it is used, so a corrupted
cache file is detected, dropped and fetched again; a use costs one ``stat`` of the file when a verdict
(:mod:`.verify`) for it is recorded, else a hash of it. The total size is bounded; the least recently used
entries are evicted first. The cache directory also holds the verdicts (``verdicts/``).

Configuration: :func:`configure_cache` in code, else the environment variables ``DATOM_CACHE_DIR``
(a directory, or ``off`` to disable) and ``DATOM_CACHE_MAX_BYTES`` (``500M``, ``20G``, or a number of
bytes). By default the cache lives in ``$XDG_CACHE_HOME/datom_engines`` (``~/.cache/datom_engines``)
and holds at most 10 GiB.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidArgumentError
from .objectstore import ObjectStore
from .stat import ObjectStat
from .verify import (
    VerdictStore,
    VerifyMode,
    download_checked,
    registered_copies,
    verified_file,
    vouch_for_file,
)

ENV_DIR = "DATOM_CACHE_DIR"
ENV_MAX_BYTES = "DATOM_CACHE_MAX_BYTES"
DEFAULT_MAX_BYTES = 10 * 2**30
_OFF = frozenset({"off", "none", "0", "false", "no", ""})
_SUFFIX = ".parquet"
_SIDECAR = ".sha256"
_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class CacheInfo:
    """What the read cache holds."""

    directory: str
    max_bytes: int
    entries: int
    total_bytes: int


def parse_size(value: str | int) -> int:
    """``"500M"`` / ``"20G"`` / ``"1.5g"`` / ``123`` -> bytes (binary units)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise InvalidArgumentError(f"a cache size cannot be negative, got {value}")
        return value
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgtb]?)(?:i?b)?\s*", str(value).lower())
    if not match:
        raise InvalidArgumentError(
            f"cannot read the cache size {value!r}", hint="give bytes, or a number with K, M, G or T (e.g. 20G)"
        )
    return int(float(match.group(1)) * _UNITS[match.group(2)])


class ReadCache:
    """Verified parquet files in one directory, keyed by content hash, bounded by ``max_bytes``."""

    def __init__(self, directory: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.directory = Path(directory).expanduser().absolute()
        self.max_bytes = parse_size(max_bytes)
        self._lock = threading.Lock()
        self._verdicts = VerdictStore(self.directory / "verdicts")

    def __repr__(self) -> str:
        return f"ReadCache({str(self.directory)!r}, max_bytes={self.max_bytes})"

    @property
    def verdicts(self) -> VerdictStore:
        """The verdicts kept in this cache directory."""
        return self._verdicts

    # ----- paths -------------------------------------------------------------------------------
    def _path(self, name: str) -> Path:
        return self.directory / name[:2] / f"{name}{_SUFFIX}"

    def _entries(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return [p for p in self.directory.glob(f"??/*{_SUFFIX}") if not p.name.startswith(".")]

    # ----- lookup ------------------------------------------------------------------------------
    def lookup(
        self,
        parquet_sha: str | None,
        data_sha: str,
        accepted: Collection[str] = (),
        progress: ProgressCallback | None = None,
        mode: VerifyMode = "once",
    ) -> str | None:
        """The path of a verified cached copy, or None. A copy that fails verification is deleted.

        ``mode="once"`` trusts a recorded verdict for the file as it is now (one ``stat``); ``"always"``
        re-hashes it.
        """
        for sha in dict.fromkeys([s for s in (parquet_sha, *sorted(accepted)) if s]):
            path = self._path(sha)
            if path.is_file() and self._verified(path, sha, progress, mode):
                return str(path)
        if parquet_sha is None:
            path = self._path(data_sha)
            sidecar = path.with_suffix(_SIDECAR)
            try:
                expected = sidecar.read_text().strip()
            except OSError:
                return None
            if path.is_file() and self._verified(path, expected, progress, mode):
                return str(path)
        return None

    def _verified(self, path: Path, expected: str, progress: ProgressCallback | None, mode: VerifyMode) -> bool:
        if verified_file(self.verdicts, str(path), {expected}, mode, progress) is None:
            if path.exists():
                self._discard(path)
            return False
        with contextlib.suppress(OSError):
            os.utime(path)  # most recently used
        return True

    # ----- filling -----------------------------------------------------------------------------
    def fetch(
        self,
        store: ObjectStore,
        key: str,
        *,
        parquet_sha: str | None,
        data_sha: str,
        accepted: Collection[str] = (),
        size: int | None = None,
        what: str = "object",
        progress: ProgressCallback | None = None,
        stat: ObjectStat | None = None,
    ) -> str | None:
        """Download ``key`` into the cache (verified), evict old entries, and return the cached path.

        Returns None when the object is larger than the whole cache (the caller downloads it elsewhere).
        With ``stat`` (the store's description of the object), the hash of what came down is recorded
        as that object's verdict, good or bad.
        """
        if size is not None and size > self.max_bytes:
            return None
        tmp_dir = self.directory / ".incoming"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f"{data_sha}.{os.getpid()}.{threading.get_ident()}.{time.monotonic_ns()}"
        try:
            actual = download_checked(
                store,
                key,
                str(tmp),
                stat=stat,
                verdicts=self.verdicts,
                expected=parquet_sha,
                accepted=accepted,
                what=what,
                progress=progress,
            )
            name = actual if parquet_sha is not None else data_sha
            dest = self._path(name)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if parquet_sha is None:
                dest.with_suffix(_SIDECAR).write_text(actual + "\n")
            os.replace(tmp, dest)
            vouch_for_file(self.verdicts, str(dest), actual)  # hashed on the way down
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self.evict(keep=dest)
        return str(dest)

    # ----- housekeeping ------------------------------------------------------------------------
    def evict(self, keep: Path | None = None) -> int:
        """Delete least-recently-used entries until the total fits ``max_bytes``; returns bytes freed."""
        with self._lock:
            stats = []
            for path in self._entries():
                with contextlib.suppress(FileNotFoundError):
                    st = path.stat()
                    stats.append((st.st_mtime_ns, st.st_size, path))
            total = sum(size for _, size, _ in stats)
            freed = 0
            for _, size, path in sorted(stats, key=lambda item: item[0]):
                if total - freed <= self.max_bytes:
                    break
                if keep is not None and path == keep:
                    continue
                self._discard(path)
                freed += size
            return freed

    def _discard(self, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        with contextlib.suppress(FileNotFoundError):
            path.with_suffix(_SIDECAR).unlink()

    def clear(self) -> int:
        """Delete every entry and every verdict; returns how many entries were removed."""
        entries = self._entries()
        for path in entries:
            self._discard(path)
        self.verdicts.clear()
        return len(entries)

    def info(self) -> CacheInfo:
        """Size and entry count."""
        sizes = []
        for path in self._entries():
            with contextlib.suppress(FileNotFoundError):
                sizes.append(path.stat().st_size)
        return CacheInfo(str(self.directory), self.max_bytes, len(sizes), sum(sizes))


# ----- process-wide configuration -----------------------------------------------------------------
_configured: tuple[ReadCache | None] | None = None
_config_lock = threading.Lock()


def default_directory() -> str:
    """``$XDG_CACHE_HOME/datom_engines``, else ``~/.cache/datom_engines``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "datom_engines")


def configure_cache(
    directory: str | os.PathLike[str] | bool | None = True, *, max_bytes: int | str | None = None
) -> ReadCache | None:
    """Set the read cache for this process: a directory, ``None``/``False`` to disable it.

    ``True`` (the default) uses ``DATOM_CACHE_DIR`` or the default directory. ``max_bytes`` defaults to
    ``DATOM_CACHE_MAX_BYTES`` or 10 GiB. Returns the cache now in use.
    """
    global _configured
    with _config_lock:
        env_off = (os.environ.get(ENV_DIR) or "x").strip().lower() in _OFF
        if directory is None or directory is False or (directory is True and env_off):
            _configured = (None,)
        else:
            where = _env_directory() if directory is True else os.fspath(directory)
            limit = parse_size(max_bytes) if max_bytes is not None else _env_max_bytes()
            _configured = (ReadCache(where or default_directory(), limit),)
        return _configured[0]


def reset_cache_configuration() -> None:
    """Forget :func:`configure_cache`; the environment variables apply again."""
    global _configured
    with _config_lock:
        _configured = None


def _env_directory() -> str | None:
    return os.environ.get(ENV_DIR) or None


def _env_max_bytes() -> int:
    value = os.environ.get(ENV_MAX_BYTES)
    return parse_size(value) if value else DEFAULT_MAX_BYTES


_from_env: dict[tuple[str | None, str | None, str | None], ReadCache] = {}


def active_cache() -> ReadCache | None:
    """The cache reads use now (None when disabled)."""
    configured = _configured
    if configured is not None:
        return configured[0]
    env = os.environ.get(ENV_DIR)
    if env is not None and env.strip().lower() in _OFF:
        return None
    key = (env, os.environ.get(ENV_MAX_BYTES), os.environ.get("XDG_CACHE_HOME"))
    cache = _from_env.get(key)
    if cache is None:
        cache = _from_env[key] = ReadCache(env or default_directory(), _env_max_bytes())
    return cache


_NO_CACHE_VERDICTS = VerdictStore(None)


def active_verdicts() -> VerdictStore:
    """Where verdicts are kept now: the active cache directory, or this process only when the cache is off."""
    cache = active_cache()
    return cache.verdicts if cache is not None else _NO_CACHE_VERDICTS


def verified_copy(shas: Collection[str], progress: ProgressCallback | None = None) -> tuple[str, str] | None:
    """``(path, sha256)`` of a local file on this machine holding bytes that hash to one of ``shas``.

    Looks in the active read cache (content-addressed), then in the copies readers made in this process
    (:func:`.verify.register_copy`); each candidate is verified (a verdict, else its hash) before it is
    offered. Used to restore a corrupted or missing object.
    """
    wanted = {s for s in shas if s}
    cache = active_cache()
    if cache is not None:
        for sha in sorted(wanted):
            hit = cache.lookup(sha, sha, (), progress)
            if hit is not None:
                return hit, sha
    verdicts = active_verdicts()
    for path in registered_copies(wanted):
        found = verified_file(verdicts, path, wanted, "once", progress)
        if found is not None:
            return path, found
    return None


def cache_info() -> CacheInfo | None:
    """Size and entry count of the active cache (None when disabled)."""
    cache = active_cache()
    return cache.info() if cache is not None else None


def clear_cache() -> int:
    """Empty the active cache; returns the number of entries removed."""
    cache = active_cache()
    return cache.clear() if cache is not None else 0


__all__ = [
    "CacheInfo",
    "ReadCache",
    "active_cache",
    "active_verdicts",
    "cache_info",
    "clear_cache",
    "configure_cache",
    "parse_size",
    "reset_cache_configuration",
    "verified_copy",
]
