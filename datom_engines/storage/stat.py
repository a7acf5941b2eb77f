"""What a store says about one object without reading it: size, an identity of its current bytes, and
(S3) a SHA-256 the store itself attests.

An *identity* is an opaque string that changes whenever the stored bytes may have changed: on a local
filesystem ``(st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns)``; on S3 the ETag (plus VersionId on a
versioned bucket) and the size; on GCS the generation; on Azure and other fsspec stores the ETag or the
modification time the filesystem reports; in fsspec memory the in-process file object. A verdict
("the object with identity I hashed to S") is only as good as its identity, so a local identity is
*unsettled* while the file's mtime is so recent that a later write could land in the same timestamp
tick and leave the identity unchanged ("racy git"); an unsettled identity is never recorded.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: A local file whose mtime is younger than this is unsettled (covers coarse kernel clocks, FAT's 2 s
#: granularity is not covered: such stores re-verify a freshly written object until it is a second old).
SETTLE_SECONDS = 1.0

_MULTIPART_ETAG = re.compile(r"-\d+$")


@dataclass(frozen=True, slots=True)
class ObjectStat:
    """One stored object as the store describes it (no bytes read).

    ``identity`` is None when the store offers nothing that changes with the bytes (then every check
    hashes). ``sha256`` is the hex SHA-256 of the whole object when the store attests it (S3
    full-object checksum), else None. ``etag`` is what a conditional overwrite must match.
    """

    size: int
    identity: str | None
    sha256: str | None = None
    etag: str | None = None
    settled: bool = True
    modified: datetime | None = None


def local_identity(st: os.stat_result) -> str:
    """The identity of a local file from its ``os.stat`` result."""
    return f"file:{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def local_stat(path: str) -> ObjectStat:
    """The stat of a local file (raises FileNotFoundError when absent)."""
    st = os.stat(path)
    identity = local_identity(st)
    settled = time.time_ns() - st.st_mtime_ns > SETTLE_SECONDS * 1e9
    modified = datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC)
    return ObjectStat(st.st_size, identity, None, identity, settled, modified)


def hex_to_b64(sha256_hex: str) -> str:
    """The base64 form S3 uses for a SHA-256 checksum."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")


def _b64_to_hex(value: str) -> str | None:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None


def s3_stat(head: Mapping[str, Any]) -> ObjectStat:
    """The stat of an S3 ``HeadObject`` response (asked with ``ChecksumMode=ENABLED``).

    The ``ChecksumSHA256`` counts as the object's SHA-256 only when it covers the whole object: its
    type is ``FULL_OBJECT``, or (servers that do not report a type, such as moto) neither the checksum
    nor the ETag carries the ``-<parts>`` suffix of a multipart upload, whose checksums are composite.
    """
    size = int(head["ContentLength"])
    etag = str(head.get("ETag") or "") or None
    version = head.get("VersionId") or ""
    identity = f"s3:{etag}:{version}:{size}" if etag else None
    checksum = head.get("ChecksumSHA256")
    kind = head.get("ChecksumType")
    sha = None
    if isinstance(checksum, str) and checksum:
        whole = kind == "FULL_OBJECT" or (
            kind is None and "-" not in checksum and not _MULTIPART_ETAG.search((etag or "").strip('"'))
        )
        sha = _b64_to_hex(checksum) if whole else None
    modified = head.get("LastModified")
    return ObjectStat(size, identity, sha, etag, True, modified if isinstance(modified, datetime) else None)


_INFO_TOKENS = ("generation", "etag", "ETag", "mtime", "LastModified", "last_modified", "modified", "created")


def fsspec_stat(protocol: str, info: Mapping[str, Any], handle: object | None = None) -> ObjectStat:
    """The stat of an fsspec ``info()`` entry: the first field that changes with the bytes is the identity.

    ``handle`` is the in-process file object of a memory filesystem (a rewrite replaces it).
    """
    size = int(info.get("size") or 0)
    token = next((f"{k}={info[k]}" for k in _INFO_TOKENS if info.get(k) not in (None, "")), None)
    if handle is not None and token is not None:
        token = f"{token}:obj={id(handle)}"
    identity = f"{protocol}:{token}:{size}" if token else None
    stamps = (info.get(k) for k in ("LastModified", "last_modified", "created"))
    modified = next((v for v in stamps if isinstance(v, datetime)), None)
    etag = info.get("etag") or info.get("ETag")
    return ObjectStat(size, identity, None, str(etag) if etag else None, True, modified)
