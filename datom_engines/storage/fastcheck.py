"""A second hash of large parquet objects (BLAKE3), so the first check of a local object runs on every core.

``parquet_sha`` is one SHA-256 stream over the object (the reference format), and one SHA-256 stream
runs on one core: the first check of a 290 MB object took ~220 ms on the 2-core CI machine kind, slower
than the writer hashes the same data on both cores. So the writer also computes BLAKE3 of the same
bytes (in the thread that computes the SHA-256, as the file is written) and, for objects of at least
:data:`MIN_SIZE`, stores an object record next to the table's metadata mirror::

    <table>/.metadata/objects/<parquet_sha>.json   {"parquet_sha": ..., "size_bytes": ..., "blake3": ...}

A file the reference does not define (R ignores it; R-written objects have none). The first check of a
local object that has a record hashes it with BLAKE3 on every core (memory-mapped, several GB/s) and,
when the digest matches, records the verdict for ``parquet_sha``. The record comes from the same writer,
through the same store, as the metadata that names ``parquet_sha``, so a match vouches for the bytes as
the SHA-256 would. A missing, unreadable or mismatching record is never an error: the object is then
hashed with SHA-256 as before, so a wrong record can never refuse a good object nor pass a bad one
whose record was not rewritten with it. ``verify="always"`` and deep validation always use SHA-256.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..core import keys
from .objectstore import ObjectStore

#: objects smaller than this get no record: their SHA-256 takes a few milliseconds anyway
MIN_SIZE = 8 * 2**20

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def new_hasher() -> Any:
    """A BLAKE3 hasher (``update(bytes)``, ``hexdigest()``) for the writer's hashing thread."""
    from blake3 import blake3

    return blake3()


def file_digest(path: str) -> str:
    """BLAKE3 hex of a local file, memory-mapped and hashed on every core."""
    from blake3 import blake3

    hasher = blake3(max_threads=blake3.AUTO)
    hasher.update_mmap(path)
    return str(hasher.hexdigest())


def record_bytes(parquet_sha: str, size: int, digest: str) -> bytes:
    """The object record's JSON (one line)."""
    return (json.dumps({"parquet_sha": parquet_sha, "size_bytes": size, "blake3": digest}) + "\n").encode()


def store_record(store: ObjectStore, table: str, parquet_sha: str, size: int, digest: str | None) -> None:
    """Store the object record of an object just uploaded (nothing for small objects or without a digest).

    Best effort: a record that cannot be stored only means the first check hashes with SHA-256.
    """
    if digest is None or size < MIN_SIZE:
        return
    try:
        store.put_bytes(keys.object_record_key(table, parquet_sha), record_bytes(parquet_sha, size, digest))
    except Exception:
        return


def recorded_digest(store: ObjectStore, table: str, parquet_sha: str, size: int) -> str | None:
    """The BLAKE3 the writer recorded for the object ``parquet_sha`` of ``size`` bytes, or None."""
    if size < MIN_SIZE:
        return None
    try:
        record = json.loads(store.get_bytes(keys.object_record_key(table, parquet_sha)))
    except Exception:
        return None
    if not isinstance(record, dict) or record.get("parquet_sha") != parquet_sha or record.get("size_bytes") != size:
        return None
    digest = record.get("blake3")
    return digest if isinstance(digest, str) and _HEX64.match(digest) else None


def matches_record(store: ObjectStore, table: str, parquet_sha: str, size: int, path: str) -> bool:
    """True when the local file ``path`` (``size`` bytes) has the BLAKE3 recorded for ``parquet_sha``."""
    digest = recorded_digest(store, table, parquet_sha, size)
    if digest is None:
        return False
    try:
        return file_digest(path) == digest
    except OSError:
        return False
