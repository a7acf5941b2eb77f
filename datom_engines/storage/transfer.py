"""Copying and verifying a whole store namespace (reference section 4.13: storage tools for companions).

Used to migrate a project to another store and to export air-gapped bundles. Objects are streamed
through a temporary file (never held in memory whole); the destination of each object appears only
once complete. Parquet objects are immutable and uploaded with put-if-absent; metadata objects are
overwritten. The metadata mirror (``.metadata`` keys) is copied after the parquet objects and the
manifest last, so a reader of the destination never sees metadata pointing at a missing object.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ..core import keys
from ..errors import StoreError
from .integrity import download_verified, sha256_object
from .objectstore import ObjectStore

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class CopiedObject:
    """One object copied by :func:`copy_namespace` (``copied`` is False when it was already there)."""

    key: str
    bytes: int
    copied: bool


@dataclass(frozen=True, slots=True)
class VerifiedObject:
    """One key checked by :func:`verify_namespace`; ``issue`` is None when it is ok."""

    key: str
    ok: bool
    issue: str | None = None


def copy_order(all_keys: Iterable[str]) -> list[str]:
    """Data objects first, then table metadata (snapshots, history, metadata.json), the manifest last."""

    def rank(key: str) -> tuple[int, str]:
        if key == keys.MANIFEST_KEY:
            return (4, key)
        if key.endswith("/.metadata/metadata.json"):
            return (3, key)
        if key.endswith("/.metadata/version_history.json"):
            return (2, key)
        if "/.metadata/" in key or key.startswith(".metadata/"):
            return (1, key)
        return (0, key)

    return sorted(all_keys, key=rank)


def copy_object(src: ObjectStore, dst: ObjectStore, key: str, *, tmpdir: str | None = None) -> CopiedObject:
    """Copy one object (streamed via a temporary file). Parquet objects already present are kept."""
    immutable = key.endswith(".parquet")
    if immutable:
        size = dst.size(key)
        if size is not None and size == src.size(key):
            return CopiedObject(key, size, False)
    # always through a private temporary copy: a local destination links it into place, so it must
    # never be the source store's own file
    fd, tmp = tempfile.mkstemp(prefix="datom-copy-", dir=tmpdir or dst.staging_dir())
    os.close(fd)
    try:
        sha = download_verified(src, key, tmp, expected=None)
        return _upload(dst, key, tmp, immutable, sha)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _upload(dst: ObjectStore, key: str, path: str, immutable: bool, sha256: str) -> CopiedObject:
    size = os.path.getsize(path)
    if immutable:  # with its SHA-256, so an S3 destination can attest the bytes to readers
        created = dst.put_file_if_absent(key, path, sha256=sha256)
        return CopiedObject(key, size, created)
    dst.put_file(key, path)
    return CopiedObject(key, size, True)


def copy_namespace(
    src: ObjectStore, dst: ObjectStore, keys_: Sequence[str] | None = None, *, tmpdir: str | None = None
) -> list[CopiedObject]:
    """Copy every object of ``src``'s namespace (or ``keys_``) to the same relative key in ``dst``.

    Any failure raises (naming the object); nothing in ``src`` is changed.
    """
    todo = copy_order(src.list_keys() if keys_ is None else keys_)
    return [copy_object(src, dst, key, tmpdir=tmpdir) for key in todo]


def verify_namespace(
    src: ObjectStore, dst: ObjectStore, keys_: Sequence[str] | None = None, *, mode: str = "content"
) -> list[VerifiedObject]:
    """Compare ``dst`` with ``src`` key by key: ``structural`` (sizes) or ``content`` (SHA-256 of both)."""
    if mode not in ("structural", "content"):
        raise ValueError(f"mode must be 'structural' or 'content', got {mode!r}")
    out = []
    for key in src.list_keys() if keys_ is None else keys_:
        src_size = src.size(key)
        if src_size is None:
            raise StoreError(f"{src.location.url(key)} is missing from the source store")
        dst_size = dst.size(key)
        if dst_size is None:
            out.append(VerifiedObject(key, False, "destination object not found"))
        elif dst_size != src_size:
            out.append(VerifiedObject(key, False, f"size differs: {src_size} bytes at source, {dst_size} here"))
        elif mode == "content" and sha256_object(src, key) != sha256_object(dst, key):
            out.append(VerifiedObject(key, False, "content differs (SHA-256 mismatch)"))
        else:
            out.append(VerifiedObject(key, True))
    return out
