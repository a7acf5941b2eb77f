"""What the cluster adapters (:mod:`datom_engines.spark`, :mod:`datom_engines.dask`) share when they
hand a stored version to an engine: resolving the reference, the read-verification policy, and local
copies of objects in process-local stores.

The adapters hold no format logic: they resolve through :class:`~datom_engines.Project`, verify the
object through :func:`verify_object` (one call site per adapter) and turn the result into engine calls.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from . import api
from .core.names import TableRef
from .project import reading
from .project.project import Project
from .project.results import ResolvedVersion, VerifiedObject
from .storage.location import StoreLocation
from .storage.objectstore import ObjectStore
from .storage.verify import check_mode as check_verify

#: Store protocols whose objects exist only inside one process (engines' workers cannot reach them).
PROCESS_LOCAL_PROTOCOLS = frozenset({"memory"})

__all__ = ["PROCESS_LOCAL_PROTOCOLS", "check_verify", "local_copy", "read_location", "resolve", "verify_object"]

_lock = threading.Lock()
_copies_dir: str | None = None


def resolve(
    ref: str | TableRef,
    *,
    version: str | None,
    as_of: datetime | str | None,
    tag: str | None = None,
    storage_options: Mapping[str, Any] | None,
) -> tuple[Project, ResolvedVersion]:
    """The project of ``"project.table"`` and the version selected (latest, id / prefix, ``as_of`` or ``tag``)."""
    parsed = api.table_ref(ref)
    project = api.project(parsed.project, storage_options=storage_options)
    return project, project.resolve(parsed.table, version=version, as_of=as_of, tag=tag)


def read_location(resolved: ResolvedVersion, storage_options: Mapping[str, Any] | None) -> StoreLocation:
    """The store location an engine reads a version from: the project's, with ``storage_options``
    (given for this read) over the project's own."""
    location = resolved.location
    if not storage_options:
        return location
    return StoreLocation.parse(location, storage_options={**location.storage_options, **storage_options})


def verify_object(store: ObjectStore, resolved: ResolvedVersion, verify: str = "once") -> VerifiedObject:
    """Check a resolved version's object before an engine is given it (the adapters' one call site).

    :func:`datom_engines.project.reading.verified_object` decides (``once``: hashed once per machine, the
    verdict kept for the object's identity; ``always``; ``never``: existence and size); an
    :class:`~datom_engines.IntegrityError` means no engine may read the object. Cluster engines then read
    the store object itself: its verdict is for the object as it is in the store, whatever local copy the
    check may have left in the read cache.
    """
    return reading.verified_object(store, resolved, verify=verify)


def _copies_root() -> str:
    global _copies_dir
    with _lock:
        if _copies_dir is None:
            _copies_dir = tempfile.mkdtemp(prefix="datom-engine-")
            atexit.register(shutil.rmtree, _copies_dir, True)
        return _copies_dir


def local_copy(store: ObjectStore, resolved: ResolvedVersion, verify: str = "once") -> VerifiedObject:
    """A verified copy of a version's object on this machine's disk, made once per process.

    For stores engines cannot reach themselves (``memory://`` and other fsspec-only stores): the copy is
    hashed on the way and checked against ``parquet_sha`` as ``verify`` says; read its ``url``.
    """
    slot = os.path.join(_copies_root(), hashlib.sha256(resolved.url.encode("utf-8")).hexdigest()[:24])
    os.makedirs(slot, exist_ok=True)
    return reading.verified_object(store, resolved, verify=verify, local=True, dest_dir=slot)
