"""Air-gapped use: export projects (store objects, data repos, governance records) as one tar archive,
and import it as local directories that read through the same code path as the networked setup.

Archive layout (paths inside the tar)::

    bundle.json                                  what is inside, with the SHA-256 of every store object
    stores/<project>/datom/...                   each project's data store namespace (local-store layout)
    repos/<project>/                             a clone of each project's data repo (when available)
    governance/store/datom/projects/<p>/...      ref.json, dispatch.json, migration_history.json
    governance/repo/                             a clone of the governance repo (when available)

On import every store object is checked against its recorded hash, ``ref.json`` of each project is
pointed at its local store directory (committed locally in the governance repo copy as
``Update ref for <p>``), and the imported governance store can be used with :func:`use_governance`.
Nothing appears at the target directory unless the whole import succeeded.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._version import __version__
from ..core import jsonfmt
from ..core.metadata import ref_json, utc_timestamp
from ..errors import IntegrityError, InvalidArgumentError
from ..gitrepo import GitRepo, clone_repo, open_repo
from ..storage.integrity import download_verified, sha256_file
from ..storage.location import StoreLocation
from ..storage.objectstore import ObjectStore
from . import registry
from .governance import (
    DEFAULT_DISPATCH,
    Governance,
    active_governance,
    dispatch_key,
    location_record,
    migrations_key,
    open_governance,
    ref_key,
    resolve_project,
    use_governance,
)
from .project import Project

BUNDLE_FORMAT = "datom-bundle"
BUNDLE_VERSION = 1
MANIFEST_NAME = "bundle.json"


@dataclass(frozen=True, slots=True)
class BundleInfo:
    """What :func:`export_bundle` wrote."""

    path: str
    projects: tuple[str, ...]
    objects: int
    bytes: int
    repos: tuple[str, ...]


def _store_arcname(project: str, key: str) -> str:
    return f"stores/{project}/datom/{key}"


def _gov_arcname(key: str) -> str:
    return f"governance/store/datom/{key}"


def _project(name: str, gov: Governance | None, storage_options: Mapping[str, Any] | None) -> Project:
    """A project by name: opened in this process, else through the governance the bundle is made from."""
    if name in registry.registered() or gov is None:
        return resolve_project(name, storage_options)
    found = gov.connect(name, storage_options)
    return found if found is not None else resolve_project(name, storage_options)


def export_bundle(
    archive: str | os.PathLike[str],
    projects: Sequence[str | Project],
    *,
    governance: Governance | None = None,
    include_repos: bool = True,
    storage_options: dict[str, Any] | None = None,
) -> BundleInfo:
    """Write ``projects`` (names or handles) into the tar archive ``archive`` (``.tar``, ``.tar.gz``...).

    Each project's whole store namespace is included; its data repo when the handle has a clone (and
    ``include_repos``); the governance records of each project and a clone of the governance repo when
    a governance (``governance=`` or the active one) is known. The archive is written to a temporary
    name and renamed into place when complete.
    """
    if not projects:
        raise InvalidArgumentError("export_bundle needs at least one project")
    gov = governance or active_governance()
    handles = [_project(p, gov, storage_options) if isinstance(p, str) else p for p in projects]
    target = Path(archive).absolute()
    mode = "w:gz" if target.name.endswith((".tar.gz", ".tgz")) else "w"
    partial = target.with_name(f".{target.name}.partial")
    entries: dict[str, Any] = {}
    sums: dict[str, str] = {}
    total = 0
    repos: list[str] = []
    with tempfile.TemporaryDirectory(prefix="datom-bundle-") as work:
        try:
            with tarfile.open(partial, mode) as tar:
                for proj in handles:
                    keys_ = proj.store.list_keys()
                    for key in keys_:
                        arc = _store_arcname(proj.name, key)
                        sums[arc], size = _add_object(tar, proj.store, key, arc, work)
                        total += size
                    entry: dict[str, Any] = {
                        "store": f"stores/{proj.name}",
                        "origin": location_record(proj.location),
                        "objects": len(keys_),
                    }
                    if include_repos and proj.repo is not None and proj.repo.remote_url:
                        _add_clone(tar, proj.repo, f"repos/{proj.name}", work)
                        entry["repo"] = f"repos/{proj.name}"
                        repos.append(proj.name)
                    entries[proj.name] = entry
                    if gov is not None:
                        for key in (ref_key(proj.name), dispatch_key(proj.name), migrations_key(proj.name)):
                            if gov.store.exists(key):
                                sums[_gov_arcname(key)], _ = _add_object(tar, gov.store, key, _gov_arcname(key), work)
                info: dict[str, Any] = {
                    "format": BUNDLE_FORMAT,
                    "version": BUNDLE_VERSION,
                    "created_at": utc_timestamp(),
                    "datom_version": __version__,
                    "projects": entries,
                    "sha256": sums,
                }
                if gov is not None:
                    info["governance"] = {"origin": location_record(gov.location)}
                    if include_repos and gov.repo is not None and gov.repo.remote_url:
                        _add_clone(tar, gov.repo, "governance/repo", work)
                        info["governance"]["repo"] = "governance/repo"
                manifest = os.path.join(work, MANIFEST_NAME)
                Path(manifest).write_text(jsonfmt.pretty(info) + "\n", encoding="utf-8")
                tar.add(manifest, arcname=MANIFEST_NAME)
            os.replace(partial, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
    return BundleInfo(str(target), tuple(entries), len(sums), total, tuple(repos))


def _add_object(tar: tarfile.TarFile, store: ObjectStore, key: str, arcname: str, work: str) -> tuple[str, int]:
    """Add one store object (streamed through a temporary file); returns its SHA-256 and size."""
    if store.location.is_local:
        path = store.location.fs_path(key)
        digest = sha256_file(path)
        tar.add(path, arcname=arcname, recursive=False)
        return digest, os.path.getsize(path)
    tmp = os.path.join(work, "object")
    try:
        digest = download_verified(store, key, tmp, expected=None)
        tar.add(tmp, arcname=arcname, recursive=False)
        return digest, os.path.getsize(tmp)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _add_clone(tar: tarfile.TarFile, repo: GitRepo, arcname: str, work: str) -> None:
    """A fresh clone of the repo's remote (committed history only, no stray files) added under ``arcname``."""
    dest = os.path.join(work, arcname.replace("/", "_"))
    clone = clone_repo(repo.remote_url or "", dest, credentials=repo.credentials)
    clone.close()
    tar.add(dest, arcname=arcname)
    shutil.rmtree(dest, ignore_errors=True)


def import_bundle(
    archive: str | os.PathLike[str],
    directory: str | os.PathLike[str],
    *,
    activate: bool = True,
    quiet: bool = False,
) -> Governance:
    """Unpack a bundle into ``directory`` (absent or empty) and return its local governance.

    Every store object is verified against the SHA-256 recorded at export; ``ref.json`` of each project
    points at its local store. The governance store is ``<directory>/governance/store`` (``gov.url``);
    with ``activate`` it is used for ``"proj.table"`` resolution in this process from now on
    (:func:`use_governance`). A later process uses it with ``use_governance(gov.url)`` or
    ``DATOM_GOVERNANCE=<gov.url>``: unless ``quiet``, a line on stderr says so. On any failure nothing is
    left at ``directory``.
    """
    target = Path(directory).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidArgumentError(f"cannot import into {target}: it exists and is not empty", hint="pick a new path")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        try:
            with tarfile.open(Path(archive), "r:*") as tar:
                tar.extractall(staging, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise InvalidArgumentError(f"cannot read the bundle {archive}: {exc}") from exc
        info = _read_manifest(staging)
        for arc, expected in (info.get("sha256") or {}).items():
            path = staging / arc
            if not path.is_file():
                raise IntegrityError(
                    f"the bundle {archive} lacks {arc}, which its bundle.json lists",
                    hint="the archive is incomplete: export it again",
                )
            actual = sha256_file(str(path))
            if actual != expected:
                raise IntegrityError(
                    f"{arc} in the bundle {archive} has SHA-256 {actual}, not {expected} as recorded at export",
                    hint="the archive is damaged: export it again",
                )
        _point_refs_at(staging, target, info)
        if target.exists():
            target.rmdir()
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    repo_dir = target / "governance" / "repo"
    gov = open_governance(target / "governance" / "store", repo=repo_dir if repo_dir.is_dir() else None)
    if activate:
        use_governance(gov)
    if not quiet:
        names = ", ".join(info.get("projects") or {}) or "no projects"
        print(
            f"imported {names} into {target}; governance store: {gov.url}"
            f"{' (active in this process)' if activate else ''}. In a later process: "
            f"datom_engines.use_governance({gov.url!r}) or export DATOM_GOVERNANCE={shlex.quote(gov.url)}",
            file=sys.stderr,
        )
    return gov


def _read_manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST_NAME
    try:
        info = jsonfmt.parse(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InvalidArgumentError(f"not a datom bundle (no readable {MANIFEST_NAME}): {exc}") from None
    if not isinstance(info, dict) or info.get("format") != BUNDLE_FORMAT:
        raise InvalidArgumentError(f"not a datom bundle ({MANIFEST_NAME} has no format {BUNDLE_FORMAT!r})")
    if int(info.get("version") or 0) > BUNDLE_VERSION:
        raise InvalidArgumentError(
            f"this bundle has format version {info.get('version')}; this datom_engines reads up to {BUNDLE_VERSION}",
            hint="upgrade datom_engines",
        )
    return info


def _point_refs_at(staging: Path, target: Path, info: dict[str, Any]) -> None:
    """Write each project's ref.json (store and repo copy) to point at its store under ``target``."""
    gov_store = ObjectStore(StoreLocation("file", str(staging / "governance" / "store")))
    repo_dir = staging / "governance" / "repo"
    gov_repo = open_repo(repo_dir) if repo_dir.is_dir() else None
    try:
        files: dict[str, bytes] = {}
        for name, entry in (info.get("projects") or {}).items():
            local = StoreLocation("file", str(target / str(entry.get("store") or f"stores/{name}")))
            # the copy is not a migration of the original: no "previous" entries (they would warn forever)
            value = ref_json(location_record(local), [])
            gov_store.write_json(ref_key(name), value)
            files[ref_key(name)] = (jsonfmt.pretty(value) + "\n").encode()
            for key, default in ((dispatch_key(name), DEFAULT_DISPATCH), (migrations_key(name), [])):
                if not gov_store.exists(key):
                    gov_store.write_json(key, default)
        if gov_repo is not None and gov_repo.head() is not None:
            head = gov_repo.head()
            for path, data in files.items():
                name = path.split("/")[1]
                head = gov_repo.commit_files(head, {path: data}, f"Update ref for {name}", author=gov_repo.identity())
            if head != gov_repo.head():
                gov_repo.advance(head)  # a local commit: the air-gapped copy has no remote to push to
    finally:
        if gov_repo is not None:
            gov_repo.close()


__all__ = ["BundleInfo", "export_bundle", "import_bundle"]
