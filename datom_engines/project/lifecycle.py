"""Creating and opening projects: init, clone, open (developer) and connect (reader)."""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from .._version import __version__
from ..core import jsonfmt, keys
from ..core.metadata import gitignore_text, new_manifest, project_yaml_text, readme_text
from ..core.names import validate_name
from ..errors import DatomError, GitError, InvalidArgumentError
from ..gitrepo import GitCredentials, GitRepo, clone_repo, init_bare, init_repo, open_repo
from ..storage.location import StoreLocation
from ..storage.objectstore import ObjectStore
from . import registry
from .config import read_config, recorded_location
from .project import Project
from .publish import publish_manifest
from .reading import read_manifest, reader_manifest, warn_if_moved
from .snapshot_mirror import publish_log

StoreLike = str | os.PathLike[str] | StoreLocation


def _location(store: StoreLike, prefix: str | None, storage_options: Mapping[str, Any] | None) -> StoreLocation:
    return StoreLocation.parse(store, prefix=prefix, storage_options=storage_options)


def _is_local_path(url: str) -> bool:
    return "://" not in url and not url.startswith("git@")


def init_project(
    path: str | os.PathLike[str],
    project: str,
    *,
    store: StoreLike,
    remote: str,
    prefix: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    credentials: GitCredentials | None = None,
    force: bool = False,
) -> Project:
    """Create a project: a new data repo at ``path`` pushed to ``remote``, and a store namespace.

    ``store`` is a local directory or an fsspec URL (``s3://bucket/prefix``); ``remote`` is a git URL
    or the path of a bare repository (created if it does not exist). Refuses a store namespace that
    already holds a project unless ``force``. Before the first push succeeds, a failure removes what
    this call created.
    """
    validate_name(project, "project name")
    target = Path(path).absolute()
    if (target / keys.PROJECT_YAML_PATH).exists():
        raise InvalidArgumentError(f"{target} already holds a datom project", hint="open it with open_project(path)")
    location = _location(store, prefix, storage_options)
    objstore = ObjectStore(location)
    made_root = location.is_local and not os.path.exists(location.root)
    if made_root:
        os.makedirs(location.root)
    try:
        objstore.check_reachable()
        if not force and objstore.exists(keys.MANIFEST_KEY):
            try:
                other = read_manifest(objstore).get("project_name", "<unknown>")
            except DatomError:
                other = "<unreadable>"
            raise InvalidArgumentError(
                f"store namespace {location.url()} is already occupied by project {other!r}",
                hint="use another prefix for this project (two projects cannot share a namespace), or force=True",
            )
    except BaseException:
        if made_root:
            shutil.rmtree(location.root, ignore_errors=True)
        raise
    made_remote = False
    if _is_local_path(remote):
        remote = str(Path(remote).absolute())
        if not os.path.exists(remote):
            init_bare(remote)
            made_remote = True
    created_dir = not target.exists()
    had_git = (target / ".git").exists()
    try:
        repo = init_repo(target, remote, credentials=credentials)
        public_remote = repo.remote_url or remote  # credentials in the URL never reach a committed file
        today = date.today().isoformat()
        storage = location.to_project_yaml()
        files = {
            keys.PROJECT_YAML_PATH: project_yaml_text(
                project_name=project,
                created_date=today,
                datom_version=__version__,
                storage=storage,
                remote_url=public_remote,
            ).encode(),
            keys.MANIFEST_PATH: (jsonfmt.pretty(new_manifest(project, None)) + "\n").encode(),
            ".gitignore": gitignore_text().encode(),
            "README.md": readme_text(project, storage, public_remote, today, __version__).encode(),
        }
        commit = repo.commit_files(None, files, "Initialize datom repository", author=repo.identity())
        if not repo.push(commit, expected_remote=None):
            raise GitError(f"the remote {remote} already has commits", hint="clone it with clone(remote, path) instead")
    except BaseException:
        _rollback(target, created_dir, had_git)
        for made, path in ((made_root, location.root), (made_remote, remote)):
            if made:
                shutil.rmtree(path, ignore_errors=True)
        raise
    repo.advance(commit)
    (target / keys.INPUT_DIR).mkdir(exist_ok=True)
    publish_manifest(repo, objstore, commit)
    publish_log(repo, objstore, commit, None)  # an empty commit log: project-level readers start here
    return registry.register(Project(project, objstore, repo, recorded=location))


def _rollback(target: Path, created_dir: bool, had_git: bool) -> None:
    if created_dir:
        shutil.rmtree(target, ignore_errors=True)
        return
    if not had_git:
        shutil.rmtree(target / ".git", ignore_errors=True)


def _project_from_clone(
    repo: GitRepo, store: StoreLike | None, prefix: str | None, storage_options: Mapping[str, Any] | None
) -> Project:
    config = read_config(repo, repo.head())
    name = config["project_name"]
    recorded = recorded_location(config, storage_options)
    if store is not None:
        location = _location(store, prefix, storage_options)
        if recorded is not None and not recorded.same_place(location):
            warnings.warn(
                f"project.yaml records the store {recorded.url()} but {location.url()} was given; using the latter",
                stacklevel=3,
            )
    elif recorded is not None:
        location = recorded
    else:
        raise InvalidArgumentError(f"{keys.PROJECT_YAML_PATH} records no store", hint="pass store=")
    return registry.register(Project(str(name), ObjectStore(location), repo, recorded=recorded))


def clone_project(
    remote: str,
    path: str | os.PathLike[str],
    *,
    store: StoreLike | None = None,
    prefix: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    credentials: GitCredentials | None = None,
) -> Project:
    """Clone a project's data repo to ``path`` (absent or empty) and open it for writing.

    The store comes from the repo's ``project.yaml`` unless ``store`` is given (for example when a
    local store sits at another path on this machine); ``storage_options`` carry its credentials.
    """
    target = Path(path).absolute()
    created = not target.exists()
    repo = clone_repo(remote, target, credentials=credentials)
    try:
        project = _project_from_clone(repo, store, prefix, storage_options)
        (target / keys.INPUT_DIR).mkdir(exist_ok=True)  # the git-ignored inbox of sync, as init makes it
        return project
    except BaseException:
        if created:
            shutil.rmtree(target, ignore_errors=True)
        raise


def open_project(
    path: str | os.PathLike[str],
    *,
    store: StoreLike | None = None,
    prefix: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    credentials: GitCredentials | None = None,
) -> Project:
    """Open an existing local clone of a project's data repo."""
    repo = open_repo(Path(path).absolute(), credentials=credentials)
    return _project_from_clone(repo, store, prefix, storage_options)


def connect(
    store: StoreLike,
    *,
    project: str | None = None,
    prefix: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Project:
    """Open a project from its store alone (reader role: no git, read-only).

    The project's name is read from the store's manifest; if ``project`` is given it must match. A store
    whose manifest mirror is missing (an interrupted publish) or corrupt can still be read, with a warning,
    when ``project`` is given: reading a table needs only that table's metadata; listing tables needs the
    manifest. A store the project was migrated away from warns (:class:`ProjectMovedWarning`) with the
    new location.
    """
    location = _location(store, prefix, storage_options)
    objstore = ObjectStore(location)
    manifest = reader_manifest(objstore, project)  # None (with a warning): read tables by name only
    warn_if_moved(objstore)
    if manifest is None:
        return registry.register(Project(validate_name(str(project), "project name"), objstore, None))
    name = manifest.get("project_name")
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"the manifest at {location.url()} has no project_name")
    if project is not None and project != name:
        raise InvalidArgumentError(
            f"the store {location.url()} holds project {name!r}, not {project!r}",
            hint="check the store URL and prefix",
        )
    return registry.register(Project(name, objstore, None))
