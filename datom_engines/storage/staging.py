"""Scratch directories for writes, and sweeping the ones a killed writer left behind.

A write prepares its parquet file in a scratch directory; for a local store that directory sits in
``<store root>/.datom-staging/`` (the same filesystem, so the finished file can be linked into the store).
A writer that is killed leaves its directory there. Each directory made here holds a ``.lock`` file that
its process keeps locked (``flock``) while it uses the directory; the kernel releases the lock when the
process dies, whatever killed it, and on every machine sharing the filesystem. A sweep (run when a new
directory is made, at most once a minute per process) removes an entry only when it is clearly
abandoned:

* a directory with a ``.lock`` that no process holds, untouched for :data:`STALE_SECONDS`;
* anything else (an entry without a lock file, left by an older version or a copy in progress), untouched
  for :data:`STALE_UNLOCKED_SECONDS`.

Without ``fcntl`` (Windows) nothing is swept.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import threading
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

STAGING_DIR = ".datom-staging"
LOCK_NAME = ".lock"
#: A locked-capable directory whose lock is free and that nothing touched for this long is abandoned.
STALE_SECONDS = 3600.0
#: Entries without a lock file are removed only after this long.
STALE_UNLOCKED_SECONDS = 24 * 3600.0
SWEEP_INTERVAL_SECONDS = 60.0

_held: dict[str, int] = {}
_last_sweep: dict[str, float] = {}
_lock = threading.Lock()


def staging_root(store_root: str) -> str:
    """``<store_root>/.datom-staging`` (created when missing)."""
    path = os.path.join(store_root, STAGING_DIR)
    os.makedirs(path, exist_ok=True)
    return path


def make_tempdir(parent: str | None) -> str:
    """A new scratch directory under ``parent`` (the system temp dir when None), locked by this process."""
    if parent is not None:
        sweep(parent)
    path = tempfile.mkdtemp(prefix="datom-", dir=parent)
    if fcntl is not None:
        fd = os.open(os.path.join(path, LOCK_NAME), os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, f"{socket.gethostname()} {os.getpid()}\n".encode())
        with _lock:
            _held[path] = fd
    return path


def remove_tempdir(path: str | None) -> None:
    """Delete a scratch directory made by :func:`make_tempdir` and release its lock."""
    if not path:
        return
    shutil.rmtree(path, ignore_errors=True)
    with _lock:
        fd = _held.pop(path, None)
    if fd is not None:
        os.close(fd)


def _age(path: str, now: float) -> float:
    try:
        return now - os.lstat(path).st_mtime
    except FileNotFoundError:
        return -1.0


def _remove_if_unlocked(path: str) -> bool:
    """Remove ``path`` if no process holds its lock (we hold it while removing)."""
    try:
        fd = os.open(os.path.join(path, LOCK_NAME), os.O_RDWR)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a live writer (here or on another machine) holds it
        shutil.rmtree(path, ignore_errors=True)
        return True
    finally:
        os.close(fd)


def sweep(parent: str, *, force: bool = False) -> list[str]:
    """Remove the abandoned entries of a staging directory (see the module docstring); returns them."""
    if fcntl is None:
        return []
    now = time.time()
    with _lock:
        if not force and now - _last_sweep.get(parent, 0.0) < SWEEP_INTERVAL_SECONDS:
            return []
        _last_sweep[parent] = now
        mine = set(_held)
    removed = []
    try:
        entries = os.listdir(parent)
    except FileNotFoundError:
        return []
    for name in entries:
        path = os.path.join(parent, name)
        if path in mine:
            continue
        age = _age(path, now)
        if os.path.isdir(path) and not os.path.islink(path) and os.path.exists(os.path.join(path, LOCK_NAME)):
            if age > STALE_SECONDS and _remove_if_unlocked(path):
                removed.append(path)
        elif age > STALE_UNLOCKED_SECONDS:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
            removed.append(path)
    return removed
