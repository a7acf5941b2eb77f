"""SHA-256 of stored bytes, and downloads that are verified before anyone parses them."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Collection
from typing import IO

from ..errors import IntegrityError
from .objectstore import ObjectStore

CHUNK = 8 * 2**20
#: Local files are hashed in 1 MiB reads: the buffer stays in the CPU cache between the copy from the page
#: cache and the hash (measured 1.45 GB/s against 1.35 GB/s with 8 MiB reads on the 2-core CI machine kind).
LOCAL_CHUNK = 2**20
ProgressCallback = Callable[[int], None]


def sha256_stream(
    fh: IO[bytes], progress: ProgressCallback | None = None, sink: IO[bytes] | None = None, chunk: int = CHUNK
) -> str:
    """SHA-256 hex of a stream read to its end; optionally copy the bytes to ``sink``."""
    h = hashlib.sha256()
    buf = bytearray(chunk)
    view = memoryview(buf)
    readinto = getattr(fh, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(view)
            if not n:
                break
            piece = view[:n]
        else:
            data = fh.read(chunk)
            if not data:
                break
            piece = memoryview(data)
            n = len(data)
        h.update(piece)
        if sink is not None:
            sink.write(piece)
        if progress:
            progress(n)
    return h.hexdigest()


def sha256_file(path: str, progress: ProgressCallback | None = None) -> str:
    """SHA-256 hex of a local file."""
    with open(path, "rb", buffering=0) as fh:
        if os.fstat(fh.fileno()).st_size < LOCAL_CHUNK:  # small: one read, no chunk buffer to allocate
            data = fh.read()
            if progress:
                progress(len(data))
            return hashlib.sha256(data).hexdigest()
        return sha256_stream(fh, progress, chunk=LOCAL_CHUNK)


def sha256_object(store: ObjectStore, key: str, progress: ProgressCallback | None = None) -> str:
    """SHA-256 hex of a stored object, streamed."""
    if store.location.is_local:
        return sha256_file(store.location.fs_path(key), progress)
    with store.open_read(key) as fh:
        return sha256_stream(fh, progress)


def check_integrity(
    actual: str, expected: str | None, accepted: Collection[str], *, what: str, url: str, note: str = ""
) -> None:
    """Raise :class:`IntegrityError` unless ``actual`` is the expected hash (or another accepted pin).

    ``note`` adds a detail to the message (for example the size found against the size recorded).
    """
    if expected is None:
        return
    if actual == expected or actual in accepted:
        return
    raise IntegrityError(
        f"{what} failed its integrity check: {url} has SHA-256 {actual} but the metadata records {expected}"
        f"{note}; the object is corrupted or tampered with, so no data was returned"
    )


def download_verified(
    store: ObjectStore,
    key: str,
    dest: str,
    *,
    expected: str | None,
    accepted: Collection[str] = (),
    what: str = "object",
    progress: ProgressCallback | None = None,
) -> str:
    """Download ``key`` to the file ``dest`` while hashing it; verify before the file appears.

    The bytes go to a temporary sibling first and are renamed into place only after the hash matched,
    so a failed or interrupted download never leaves a file at ``dest``. Returns the SHA-256.
    """
    tmp = f"{dest}.{uuid.uuid4().hex}.part"
    try:
        with store.open_read(key) as src, open(tmp, "wb") as out:
            actual = sha256_stream(src, progress, sink=out)
        check_integrity(actual, expected, accepted, what=what, url=store.location.url(key))
        os.replace(tmp, dest)
        return actual
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
