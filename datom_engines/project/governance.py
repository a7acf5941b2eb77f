"""Governance: where each project's data lives (``ref.json``), and the companion-side writes R leaves out.

A governance *store* (any store URL) holds ``projects/<name>/ref.json`` under its namespace root
(reference sections 1.3 and 1.4); an optional governance *repo* (a local git clone) holds the same
files and is the source of truth when given: writes commit and push there first, then mirror to the
store. Readers only ever read the store.

* Resolution: ``use_governance(url)`` or ``DATOM_GOVERNANCE=url`` makes ``"proj.table"`` resolve through
  ``ref.json`` to a reader connection to the data store named there; a ``previous`` entry (a migrated
  project) gives a :class:`~datom_engines.errors.ProjectMovedWarning` naming the old location.
* Writing (what the R package leaves to its companion): :func:`register_project`,
  :func:`list_projects`, :func:`migrate_project` (copy every object, verify hashes, point ``ref.json``
  at the new place with ``previous``, update ``project.yaml``).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core import jsonfmt, keys
from ..core.metadata import parse_ref_json, ref_json, replace_data_storage, utc_timestamp
from ..core.names import validate_name
from ..errors import (
    DatomError,
    InvalidArgumentError,
    NotFoundError,
    ProjectMovedWarning,
    StoreError,
)
from ..gitrepo import GitRepo, init_bare, init_repo, open_repo
from ..storage.location import StoreLocation
from ..storage.objectstore import ObjectStore
from ..storage.transfer import copy_namespace, verify_namespace
from . import registry
from .lifecycle import StoreLike, connect
from .project import Project
from .writing import push_with_retry

ENV_GOVERNANCE = "DATOM_GOVERNANCE"
PROJECTS_DIR = "projects"
DEFAULT_DISPATCH: dict[str, Any] = {
    "methods": {"r": {"default": "datom::datom_read"}, "python": {"default": "datom.read"}}
}
_GOV_README = """# Governance repository

Managed by datom_engines (a companion of the R package datom). Each registered project has a folder
`projects/<name>/` with:

* `ref.json`: where the project's data lives now (`current`) and where it lived before (`previous`);
* `dispatch.json`: which reader function each language uses;
* `migration_history.json`: the project's migrations, newest first.

The governance store mirrors these files under `{prefix}/datom/projects/` for readers without a clone.
"""


def ref_key(name: str) -> str:
    """Key (and repo path) of a project's ``ref.json``."""
    return f"{PROJECTS_DIR}/{name}/ref.json"


def dispatch_key(name: str) -> str:
    """Key (and repo path) of a project's ``dispatch.json``."""
    return f"{PROJECTS_DIR}/{name}/dispatch.json"


def migrations_key(name: str) -> str:
    """Key (and repo path) of a project's ``migration_history.json``."""
    return f"{PROJECTS_DIR}/{name}/migration_history.json"


@dataclass(frozen=True, slots=True)
class RegisteredProject:
    """A project listed in a governance store (reference section 4.11)."""

    name: str
    data_backend: str | None
    data_root: str
    data_prefix: str | None
    data_region: str | None
    registered_at: datetime | None


@dataclass(frozen=True, slots=True)
class MigrationResult:
    """What :func:`migrate_project` did."""

    project: str
    source: str
    destination: str
    objects: int
    bytes: int
    copied: int
    governance_commit: str | None
    data_commit: str | None


# ----- locations <-> ref.json -------------------------------------------------------------------
def location_record(location: StoreLocation) -> dict[str, Any]:
    """The ``{type, root, prefix?, region?}`` object ref.json uses for a location."""
    record: dict[str, Any] = {"type": location.r_type, "root": location.root}
    if location.prefix:
        record["prefix"] = location.prefix
    if location.protocol == "s3":
        record["region"] = location.region or "us-east-1"
    return record


def record_location(
    record: Mapping[str, Any], *, default_protocol: str, storage_options: Mapping[str, Any] | None
) -> StoreLocation:
    """A :class:`StoreLocation` for a ref.json location object (already parsed by ``parse_ref_json``)."""
    kind = record.get("type")
    protocol = {"local": "file", "s3": "s3"}.get(kind, kind) if isinstance(kind, str) and kind else default_protocol
    options = {} if protocol == "file" else dict(storage_options or {})
    region = record.get("region") if protocol == "s3" else None
    return StoreLocation(protocol, str(record["root"]), record.get("prefix"), region, options)


def _describe_old(entry: Mapping[str, Any], default_protocol: str) -> str:
    try:
        loc, _ = parse_ref_json({"current": entry})
        return record_location(loc, default_protocol=default_protocol, storage_options=None).store_url
    except DatomError:
        return str(entry.get("root", "unknown"))


def _json_bytes(value: Any) -> bytes:
    return (jsonfmt.pretty(value) + "\n").encode("utf-8")


# ----- the governance handle --------------------------------------------------------------------
class Governance:
    """A governance store, plus optionally a local clone of the governance repo (for writes)."""

    def __init__(self, location: StoreLocation, repo: GitRepo | None = None) -> None:
        self.location = location
        self.store = ObjectStore(location)
        self.repo = repo
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        where = f", repo={str(self.repo.path)!r}" if self.repo else ""
        return f"Governance({self.location.store_url!r}{where})"

    @property
    def url(self) -> str:
        """The governance store as ``use_governance`` and ``DATOM_GOVERNANCE`` take it (a directory when local)."""
        return self.location.store_url

    @property
    def storage_options(self) -> dict[str, Any]:
        """Credentials and endpoint of the governance store (also the default for data stores)."""
        return dict(self.location.storage_options)

    def where(self, name: str) -> str:
        """Where the ref.json of ``name`` is looked for."""
        return self.location.url(ref_key(name))

    # ----- reading ------------------------------------------------------------------------------
    def read_ref(self, name: str) -> dict[str, Any] | None:
        """The raw ``ref.json`` of a project from the governance store, or None if it is not registered."""
        validate_name(name, "project name")
        try:
            value = self.store.read_json(ref_key(name))
        except NotFoundError:
            return None
        if not isinstance(value, dict):
            raise StoreError(f"{self.where(name)} does not hold a JSON object", hint="repair the governance record")
        return value

    def locate(
        self, name: str, storage_options: Mapping[str, Any] | None = None, *, warn: bool = True
    ) -> StoreLocation | None:
        """Where ``name``'s data lives now (None if not registered); warns when it has moved."""
        raw = self.read_ref(name)
        if raw is None:
            return None
        try:
            current, previous = parse_ref_json(raw)
        except DatomError as exc:
            raise StoreError(
                f"the governance record {self.where(name)} is malformed: {exc.message}",
                hint="fix projects/<name>/ref.json in the governance repo and mirror it to the store",
            ) from None
        options = storage_options if storage_options is not None else self.storage_options
        location = record_location(current, default_protocol=self.location.protocol, storage_options=options)
        if previous and warn:
            old = previous[0]
            sunset = old.get("sunset_at") or old.get("sunset_date") or old.get("until")
            retired = f"is retired after {sunset}" if sunset else "is no longer current (no retirement date recorded)"
            warnings.warn(
                f"project {name!r} was migrated: its data now lives at {location.store_url}; the previous location "
                f"{_describe_old(old, self.location.protocol)} (root {old.get('root')!r}) {retired}",
                ProjectMovedWarning,
                stacklevel=4,
            )
        return location

    def connect(self, name: str, storage_options: Mapping[str, Any] | None = None) -> Project | None:
        """A reader handle on ``name``'s data store (None if ``name`` is not registered)."""
        location = self.locate(name, storage_options)
        if location is None:
            return None
        return connect(location, project=name)

    def projects(self) -> list[RegisteredProject]:
        """Registered projects, sorted by name (reference section 4.11); unreadable records are skipped."""
        found: dict[str, tuple[Any, datetime | None]] = {}
        if self.repo is not None and self.repo.head() is not None:
            head = self.repo.head()
            for name, is_dir in self.repo.objects.list_tree(head, PROJECTS_DIR):
                data = self.repo.objects.read_file(head, ref_key(name)) if is_dir else None
                if data is not None:
                    path = self.repo.path / ref_key(name)
                    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC) if path.exists() else None
                    found[name] = (data, mtime)
        else:
            for key in self.store.list_keys(PROJECTS_DIR):
                parts = key.split("/")
                if len(parts) == 3 and parts[2] == "ref.json":
                    try:
                        found[parts[1]] = (self.store.get_bytes(key), None)
                    except DatomError as exc:
                        warnings.warn(f"skipping project {parts[1]!r}: {exc.message}", stacklevel=2)
        out = []
        for name in sorted(found):
            data, registered_at = found[name]
            try:
                current, _ = parse_ref_json(data)
            except DatomError as exc:
                warnings.warn(f"skipping project {name!r}: unreadable ref.json ({exc.message})", stacklevel=2)
                continue
            out.append(
                RegisteredProject(
                    name,
                    current.get("type"),
                    current["root"],
                    current.get("prefix"),
                    current.get("region") if current.get("type", "s3") == "s3" else None,
                    registered_at,
                )
            )
        return out

    # ----- writing ------------------------------------------------------------------------------
    def _commit(self, build: Callable[[str | None], list[tuple[str, dict[str, bytes]]]]) -> str | None:
        """Commit (and push) the changes ``build(base)`` returns, rebuilt on the new head if the push loses."""
        repo = self.repo
        if repo is None:
            return None

        def make(base: str | None) -> str | None:
            head = base
            for message, files in build(base):
                head = repo.commit_files(head, files, message, author=repo.identity())
            return head

        return push_with_retry(repo, make, "the governance repo")

    def _mirror(self, paths: list[str], commit: str | None, files: Mapping[str, Any]) -> None:
        """Mirror governance files to the store: from the pushed commit when there is a repo."""
        for path in paths:
            if commit is not None and self.repo is not None:
                data = self.repo.objects.read_file(commit, path)
                value = jsonfmt.parse(data) if data is not None else None
            else:
                value = files[path]
            if value is not None:
                self.store.write_json(path, value)

    def _repo_json(self, commit: str | None, path: str) -> Any:
        if self.repo is None or commit is None:
            return None
        data = self.repo.objects.read_file(commit, path)
        return None if data is None else jsonfmt.parse(data)

    def _current_ref(self, name: str, base: str | None) -> dict[str, Any] | None:
        """ref.json as the source of truth has it: the repo at ``base`` when there is a repo, else the store."""
        if self.repo is not None:
            value = self._repo_json(base, ref_key(name))
            return value if isinstance(value, dict) else None
        return self.read_ref(name)

    def register(
        self, project: Project, *, dispatch: Mapping[str, Any] | None = None, force: bool = False
    ) -> RegisteredProject:
        """Record ``project``'s data location as ``projects/<name>/ref.json`` (plus dispatch and history).

        Registering again at the same location is a no-op; at another location it is refused (use
        :func:`migrate_project`) unless ``force``. The result's ``registered_at`` is when ``ref.json`` was
        written (the registration, or a later migration).
        """
        name = project.name
        record = location_record(project.location)
        written: dict[str, Any] = {}

        def build(base: str | None) -> list[tuple[str, dict[str, bytes]]]:
            written.clear()
            existing = self._current_ref(name, base)
            if existing is not None:
                current, _ = parse_ref_json(existing)
                here = record_location(current, default_protocol=self.location.protocol, storage_options=None)
                if not here.same_place(project.location) and not force:
                    raise InvalidArgumentError(
                        f"project {name!r} is already registered in {self.location.store_url} at {here.store_url}",
                        hint="use migrate_project() to move its data, or register(..., force=True) to overwrite",
                    )
                if here.same_place(project.location):
                    return []
            written[ref_key(name)] = ref_json(record, [])
            has = (lambda p: self._repo_json(base, p) is not None) if self.repo else self.store.exists
            if not has(dispatch_key(name)) or dispatch is not None:
                written[dispatch_key(name)] = dict(dispatch or DEFAULT_DISPATCH)
            if not has(migrations_key(name)):
                written[migrations_key(name)] = []
            return [(f"Register project {name}", {p: _json_bytes(v) for p, v in written.items()})]

        with self._lock:
            if self.repo is not None:
                # mirror all three from the pushed commit (also repairs a mirror an earlier run missed)
                commit = self._commit(build)
                self._mirror([dispatch_key(name), migrations_key(name), ref_key(name)], commit, {})
            else:
                build(None)
                order = [p for p in (dispatch_key(name), migrations_key(name), ref_key(name)) if p in written]
                self._mirror(order, None, written)
        registered = {p.name: p for p in self.projects()}[name]
        if registered.registered_at is None:  # a store listing has no time (section 4.11): the record's own
            stat = self.store.stat(ref_key(name))
            registered = dataclasses.replace(registered, registered_at=stat.modified if stat else None)
        return registered

    def migrate(
        self,
        name: str,
        to: StoreLike,
        *,
        storage_options: Mapping[str, Any] | None = None,
        prefix: str | None = None,
        project: Project | None = None,
        reason: str | None = None,
        sunset_at: datetime | str | None = None,
        message: str | None = None,
    ) -> MigrationResult:
        """Move ``name``'s data to ``to``: copy, verify, update project.yaml and ref.json (see module doc)."""
        validate_name(name, "project name")
        src_location = self.locate(name, warn=False)
        if src_location is None:
            raise NotFoundError(
                f"project {name!r} is not registered in the governance store {self.location.store_url}",
                hint="register it first with register_project()",
            )
        options = storage_options if storage_options is not None else src_location.storage_options
        dst_location = StoreLocation.parse(to, prefix=prefix, storage_options=options)
        if dst_location.same_place(src_location):
            raise InvalidArgumentError(f"project {name!r} already lives at {dst_location.store_url}")
        src, dst = ObjectStore(src_location), ObjectStore(dst_location)
        if dst_location.is_local:
            os.makedirs(dst_location.root, exist_ok=True)
        dst.check_reachable()
        other = dst.read_json_or_none(keys.MANIFEST_KEY)
        if isinstance(other, dict) and other.get("project_name") not in (None, name):
            raise InvalidArgumentError(
                f"the destination {dst_location.store_url} already holds project {other.get('project_name')!r}",
                hint="pick another bucket or prefix: two projects cannot share a namespace",
            )
        dst.delete(keys.MOVED_KEY)  # moving back to a store it once left: that store is current again
        copied = copy_namespace(src, dst, [k for k in src.list_keys() if k != keys.MOVED_KEY])
        problems = [v for v in verify_namespace(src, dst, [c.key for c in copied], mode="content") if not v.ok]
        if problems:
            listed = "; ".join(f"{p.key}: {p.issue}" for p in problems[:5])
            raise StoreError(
                f"migration of {name!r} stopped: {len(problems)} object(s) differ after the copy ({listed})",
                hint="nothing was switched over; fix the destination and run migrate_project again",
            )
        data_commit = None
        if project is None:
            candidate = registry.lookup(name)
            project = candidate if candidate is not None and candidate.repo is not None else None
        if project is not None and project.repo is not None:
            data_commit = set_data_store(project, dst_location, message=message)
        else:
            warnings.warn(
                f"project.yaml of {name!r} still records {src_location.store_url}: no data repo clone was given, so "
                "writers must update it (migrate_project(..., project=clone) does it)",
                stacklevel=3,
            )
        now = utc_timestamp()
        sunset = utc_timestamp(sunset_at) if sunset_at is not None else None
        summary = f"{src_location.store_url} -> {dst_location.store_url}"
        new_files: dict[str, Any] = {}

        def build(base: str | None) -> list[tuple[str, dict[str, bytes]]]:
            existing = self._current_ref(name, base) or {}
            _, previous = parse_ref_json(existing) if existing else ({}, [])
            old = {**location_record(src_location), "migrated_at": now}
            if sunset:
                old["sunset_at"] = sunset
            new_files[ref_key(name)] = ref_json(location_record(dst_location), [old, *previous])
            history = self._repo_json(base, migrations_key(name)) if self.repo else None
            if history is None and self.repo is None:
                history = self.store.read_json_or_none(migrations_key(name))
            entry: dict[str, Any] = {
                "from": location_record(src_location),
                "to": location_record(dst_location),
                "migrated_at": now,
            }
            if reason:
                entry["reason"] = reason
            new_files[migrations_key(name)] = [entry, *(history if isinstance(history, list) else [])]
            return [
                (f"Update ref for {name}", {ref_key(name): _json_bytes(new_files[ref_key(name)])}),
                (
                    f"Record migration for {name}: {summary}",
                    {migrations_key(name): _json_bytes(new_files[migrations_key(name)])},
                ),
            ]

        with self._lock:
            gov_commit = self._commit(build) if self.repo is not None else None
            if self.repo is None:
                build(None)
            self._mirror([migrations_key(name), ref_key(name)], gov_commit, new_files)
        self._leave_moved_marker(src, name, dst_location, now, sunset)
        current = registry.lookup(name)
        if current is not None and current.repo is None:
            registry.unregister(name)  # the next "name.table" resolves through the new ref.json
        return MigrationResult(
            name,
            src_location.store_url,
            dst_location.store_url,
            len(copied),
            sum(c.bytes for c in copied),
            sum(1 for c in copied if c.copied),
            gov_commit,
            data_commit,
        )

    def _leave_moved_marker(
        self, old: ObjectStore, name: str, to: StoreLocation, migrated_at: str, sunset_at: str | None
    ) -> None:
        """Tell readers of the old store where the project went (a key the reference format does not define)."""
        marker = {
            "project": name,
            "moved_to": location_record(to),
            "moved_to_url": to.store_url,
            "migrated_at": migrated_at,
            "governance": self.location.store_url,
        }
        if sunset_at:
            marker["sunset_at"] = sunset_at
        try:
            old.write_json(keys.MOVED_KEY, marker)
        except DatomError as exc:  # the move itself is done; only the hint for stale readers is missing
            warnings.warn(
                f"project {name!r} moved, but the notice for readers of {old.location.store_url} could not be "
                f"written: {exc.message}",
                stacklevel=3,
            )


def set_data_store(project: Project, location: StoreLocation, *, message: str | None = None) -> str:
    """Point ``project.yaml``'s ``storage.data`` at ``location`` (commit + push), and the handle too.

    R's ``datom_repo_set_data_store``: only ``storage.data`` changes; the commit message defaults to
    ``Update data store: <project>``. Returns the commit.
    """
    repo = project.repo
    if repo is None:
        raise InvalidArgumentError(f"project {project.name!r} has no git clone to update project.yaml in")
    storage = location.to_project_yaml()

    def make(base: str | None) -> str | None:
        text = repo.objects.read_file(base, keys.PROJECT_YAML_PATH) if base else None
        if text is None:
            raise NotFoundError(f"{repo.path} has no {keys.PROJECT_YAML_PATH}")
        new = replace_data_storage(text, storage).encode("utf-8")
        message_ = message or f"Update data store: {project.name}"
        return repo.commit_files(base, {keys.PROJECT_YAML_PATH: new}, message_, author=repo.identity())

    commit = push_with_retry(repo, make, f"the data repo of {project.name!r}")
    project.store = ObjectStore(location)
    project.recorded_location = location
    return commit  # type: ignore[return-value]


# ----- creating and choosing a governance -------------------------------------------------------
def open_governance(
    store: StoreLike,
    *,
    storage_options: Mapping[str, Any] | None = None,
    prefix: str | None = None,
    repo: str | os.PathLike[str] | GitRepo | None = None,
) -> Governance:
    """A governance handle: a store URL (or local directory) and optionally a local gov repo clone."""
    location = StoreLocation.parse(store, prefix=prefix, storage_options=storage_options)
    if location.is_local and not os.path.isdir(location.root):
        raise NotFoundError(
            f"no governance store at {location.root} (the directory does not exist)",
            hint="check the path; a new governance store is made with init_governance() (`datom gov init`)",
        )
    gov_repo = repo if isinstance(repo, GitRepo) or repo is None else open_repo(Path(repo).absolute())
    return Governance(location, gov_repo)


def init_governance(
    store: StoreLike,
    *,
    storage_options: Mapping[str, Any] | None = None,
    prefix: str | None = None,
    path: str | os.PathLike[str] | None = None,
    remote: str | None = None,
) -> Governance:
    """Create a governance store (and, with ``path`` and ``remote``, a governance repo pushed to ``remote``).

    The repo gets ``README.md`` and ``projects/.gitkeep`` (reference section 1.4).
    """
    gov_repo = None
    if path is not None:
        if remote is None:
            raise InvalidArgumentError("a governance repo needs a remote", hint="pass remote= (a git URL or path)")
        if "://" not in remote and not remote.startswith("git@"):
            remote = str(Path(remote).absolute())
            if not os.path.exists(remote):
                init_bare(remote)
        gov_repo = init_repo(Path(path).absolute(), remote)
        files = {"README.md": _GOV_README.encode(), f"{PROJECTS_DIR}/.gitkeep": b""}
        commit = gov_repo.commit_files(None, files, "Initialize governance repository", author=gov_repo.identity())
        if not gov_repo.push(commit, expected_remote=None):
            raise InvalidArgumentError(f"the remote {remote} already has commits", hint="clone it and pass repo=")
        gov_repo.advance(commit)
    location = StoreLocation.parse(store, prefix=prefix, storage_options=storage_options)
    if location.is_local:
        os.makedirs(location.root, exist_ok=True)
    return open_governance(location, repo=gov_repo)


_active: Governance | None = None
_env_cache: dict[tuple[str, str], Governance] = {}
_state_lock = threading.Lock()


def use_governance(
    store: StoreLike | Governance | None,
    *,
    storage_options: Mapping[str, Any] | None = None,
    prefix: str | None = None,
    repo: str | os.PathLike[str] | GitRepo | None = None,
) -> Governance | None:
    """Resolve ``"proj.table"`` through this governance store from now on (None: stop; the
    ``DATOM_GOVERNANCE`` environment variable applies again). Returns the governance in use."""
    global _active
    gov = (
        store
        if isinstance(store, Governance) or store is None
        else open_governance(store, storage_options=storage_options, prefix=prefix, repo=repo)
    )
    with _state_lock:
        _active = gov
    return gov


def active_governance(storage_options: Mapping[str, Any] | None = None) -> Governance | None:
    """The governance set by :func:`use_governance`, else the one named by ``DATOM_GOVERNANCE``, else None."""
    if _active is not None:
        return _active
    url = os.environ.get(ENV_GOVERNANCE, "").strip()
    if not url:
        return None
    key = (url, repr(sorted((storage_options or {}).items())))
    with _state_lock:
        if key not in _env_cache:
            _env_cache[key] = open_governance(url, storage_options=storage_options)
        return _env_cache[key]


def _require(governance: Governance | None) -> Governance:
    gov = governance or active_governance()
    if gov is None:
        raise InvalidArgumentError(
            "no governance store is set",
            hint=f"call use_governance(url) or set {ENV_GOVERNANCE}, or pass governance=",
        )
    return gov


def register_project(
    project: Project | str,
    *,
    governance: Governance | None = None,
    dispatch: Mapping[str, Any] | None = None,
    force: bool = False,
) -> RegisteredProject:
    """Register a project (a handle, or the name of one opened in this process) in the governance store."""
    proj = resolve_project(project) if isinstance(project, str) else project
    return _require(governance).register(proj, dispatch=dispatch, force=force)


def list_projects(governance: Governance | None = None) -> list[RegisteredProject]:
    """The projects registered in the governance store (or repo clone), sorted by name."""
    return _require(governance).projects()


def migrate_project(
    name: str,
    to: StoreLike,
    *,
    storage_options: Mapping[str, Any] | None = None,
    prefix: str | None = None,
    governance: Governance | None = None,
    project: Project | None = None,
    reason: str | None = None,
    sunset_at: datetime | str | None = None,
) -> MigrationResult:
    """Move a registered project's data to another store location.

    Copies every object of the current namespace to ``to`` (``s3://bucket/prefix`` or a directory),
    verifies each object's SHA-256 on both sides, commits ``project.yaml``'s new ``storage.data`` in the
    data repo (``project`` = a developer handle; the one opened in this process is used by default),
    then rewrites ``ref.json`` with the old location in ``previous`` (``migrated_at``, ``sunset_at``)
    and records the move in ``migration_history.json``. Nothing is switched over unless every object
    verified. The old objects are left in place for readers that have not moved yet.
    """
    return _require(governance).migrate(
        name,
        to,
        storage_options=storage_options,
        prefix=prefix,
        project=project,
        reason=reason,
        sunset_at=sunset_at,
    )


def resolve_project(name: str, storage_options: Mapping[str, Any] | None = None) -> Project:
    """The project called ``name``: opened or registered in this process, else found by a resolver
    (:func:`~datom_engines.project.registry.add_resolver`), else through the governance store
    (:func:`use_governance` or ``DATOM_GOVERNANCE``), whose ``projects/<name>/ref.json`` says where the data
    lives; else a :class:`NotFoundError` that lists where it looked."""
    validate_name(name, "project name")
    project = registry.lookup(name)
    if project is not None:
        return project
    fallbacks = registry.resolvers()
    for _label, resolver in fallbacks:
        found = resolver(name, storage_options)
        if found is not None:
            return registry.register(found)
    found, governance_where = resolve_through_governance(name, storage_options)
    if found is not None:
        return registry.register(found)
    looked = ["projects opened in this process (" + (", ".join(registry.registered()) or "none") + ")"]
    looked += [label.replace("{name}", name) for label, _ in fallbacks]
    looked.append(governance_where)
    raise NotFoundError(
        f"unknown project {name!r}; looked in: " + "; ".join(looked),
        hint="open it first (datom_engines.open_project(path), clone(...) or connect(store)), "
        "or register it in the governance store (register_project)",
    )


def resolve_through_governance(name: str, storage_options: Mapping[str, Any] | None) -> tuple[Project | None, str]:
    """``(project or None, where it looked)`` for a project name, through the active governance store."""
    gov = active_governance(storage_options)
    if gov is None:
        return None, f"no governance store (set {ENV_GOVERNANCE} or call use_governance())"
    where = f"governance store {gov.location.store_url} ({gov.where(name)})"
    return gov.connect(name, storage_options), where


__all__ = [
    "DEFAULT_DISPATCH",
    "ENV_GOVERNANCE",
    "Governance",
    "MigrationResult",
    "RegisteredProject",
    "active_governance",
    "init_governance",
    "list_projects",
    "migrate_project",
    "open_governance",
    "register_project",
    "resolve_project",
    "set_data_store",
    "use_governance",
]
