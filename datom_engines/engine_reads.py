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
from typing import Any, Literal

from . import api
from .core.names import TableRef
from .errors import InvalidArgumentError
from .project import reading
from .project.project import Project
from .project.results import ResolvedVersion
from .storage.location import StoreLocation
from .storage.objectstore import ObjectStore

Verify = Literal["once", "always", "never"]

#: ``once``: check the stored bytes against ``parquet_sha`` the first time an object is read here;
#: ``always``: on every read; ``never``: only check that the object exists.
VERIFY_POLICIES: tuple[str, ...] = ("once", "always", "never")

#: Store protocols whose objects exist only inside one process (engines' workers cannot reach them).
PROCESS_LOCAL_PROTOCOLS = frozenset({"memory"})

_lock = threading.Lock()
_verified: set[tuple[str, str | None]] = set()
_copies_dir: str | None = None


def check_verify(verify: str) -> Verify:
    """``verify`` if it is a known policy, else :class:`InvalidArgumentError`."""
    if verify not in VERIFY_POLICIES:
        raise InvalidArgumentError(
            f"verify must be one of {', '.join(map(repr, VERIFY_POLICIES))}, got {verify!r}",
            hint="'once' (the default) checks each object's bytes the first time it is read on this machine",
        )
    return verify  # type: ignore[return-value]


def resolve(
    ref: str | TableRef,
    *,
    version: str | None,
    as_of: datetime | str | None,
    storage_options: Mapping[str, Any] | None,
) -> tuple[Project, ResolvedVersion]:
    """The project of ``"project.table"`` and the version selected (latest, id / prefix, or ``as_of``)."""
    parsed = api.table_ref(ref)
    project = api.project(parsed.project, storage_options=storage_options)
    return project, project.resolve(parsed.table, version=version, as_of=as_of)


def read_location(resolved: ResolvedVersion, storage_options: Mapping[str, Any] | None) -> StoreLocation:
    """The store location an engine reads a version from: the project's, with ``storage_options``
    (given for this read) over the project's own."""
    location = resolved.location
    if not storage_options:
        return location
    return StoreLocation.parse(location, storage_options={**location.storage_options, **storage_options})


def verify_object(store: ObjectStore, resolved: ResolvedVersion, verify: str = "once") -> None:
    """Check a resolved version's object before an engine is given it (raises, returns nothing).

    The single verification call site of the Spark and Dask adapters.

    .. note:: VERIFICATION HOOK (issue 10). Interim behaviour until the project-level entry point
       (``reading.verified_object(store, resolved, verify=...)``) lands: ``never`` checks that the object
       exists; ``once`` hashes it the first time this *process* reads it (issue 10 makes that once per
       machine); ``always`` on every call. Replace the body below with the project-level call.
    """
    policy = check_verify(verify)
    reading.require_object(store, resolved)
    if policy == "never" or not resolved.parquet_sha:
        return
    key = (resolved.url, resolved.parquet_sha)
    with _lock:
        if policy == "once" and key in _verified:
            return
    path, temporary = reading.fetch_parquet(store, resolved)  # raises IntegrityError on a mismatch
    if temporary:
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)
    with _lock:
        _verified.add(key)


def _copies_root() -> str:
    global _copies_dir
    with _lock:
        if _copies_dir is None:
            _copies_dir = tempfile.mkdtemp(prefix="datom-engine-")
            atexit.register(shutil.rmtree, _copies_dir, True)
        return _copies_dir


def local_copy(store: ObjectStore, resolved: ResolvedVersion) -> str:
    """A verified copy of a version's object on this machine's disk, made once per process.

    For stores that exist only inside this process (``memory://``): engines with worker processes
    read the copy instead.
    """
    slot = os.path.join(_copies_root(), hashlib.sha256(resolved.url.encode("utf-8")).hexdigest()[:24])
    path = os.path.join(slot, f"{resolved.data_sha}.parquet")
    if os.path.exists(path):
        return path
    os.makedirs(slot, exist_ok=True)
    path, _ = reading.fetch_parquet(store, resolved, dest_dir=slot)
    return path
