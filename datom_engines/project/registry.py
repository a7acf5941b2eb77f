"""Which project a name like ``"STUDY1"`` means in this process.

Resolution order: projects opened or registered in this process; then the resolvers added with
:func:`add_resolver`; then the governance store (:func:`~datom_engines.use_governance` or the
``DATOM_GOVERNANCE`` environment variable), whose ``projects/<name>/ref.json`` says where the data
lives; else a :class:`NotFoundError` that lists where it looked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..core.names import validate_name
from ..errors import NotFoundError

if TYPE_CHECKING:
    from .project import Project

Resolver = Callable[[str, Mapping[str, Any] | None], "Project | None"]
"""``(project_name, storage_options) -> Project | None``; its label (``{name}`` is filled in) says where it looks."""

_lock = threading.RLock()
_projects: dict[str, Project] = {}
_resolvers: list[tuple[str, Resolver]] = []


def register(project: Project) -> Project:
    """Make ``project`` resolvable by its name in this process (the latest registration wins)."""
    with _lock:
        _projects[project.name] = project
    return project


def unregister(name: str) -> None:
    """Forget a project registered in this process."""
    with _lock:
        _projects.pop(name, None)


def lookup(name: str) -> Project | None:
    """The project registered in this process under ``name``, or None."""
    with _lock:
        return _projects.get(name)


def registered() -> list[str]:
    """Names of the projects registered in this process."""
    with _lock:
        return sorted(_projects)


def add_resolver(label: str, resolver: Resolver) -> None:
    """Add (or replace, by ``label``) a fallback resolver consulted after the in-process registry."""
    with _lock:
        _resolvers[:] = [(lbl, r) for lbl, r in _resolvers if lbl != label]
        _resolvers.append((label, resolver))


def remove_resolver(label: str) -> None:
    """Remove a fallback resolver."""
    with _lock:
        _resolvers[:] = [(lbl, r) for lbl, r in _resolvers if lbl != label]


def resolve_project(name: str, storage_options: Mapping[str, Any] | None = None) -> Project:
    """The project called ``name``: registered in this process, else found by a resolver."""
    validate_name(name, "project name")
    with _lock:
        project = _projects.get(name)
        resolvers = list(_resolvers)
    if project is not None:
        return project
    for _label, resolver in resolvers:
        found = resolver(name, storage_options)
        if found is not None:
            return register(found)
    from .governance import resolve_through_governance  # same layer; imported late (it imports this module)

    found, governance_where = resolve_through_governance(name, storage_options)
    if found is not None:
        return register(found)
    looked = ["projects opened in this process (" + (", ".join(registered()) or "none") + ")"]
    looked += [label.replace("{name}", name) for label, _ in resolvers]
    looked.append(governance_where)
    raise NotFoundError(
        f"unknown project {name!r}; looked in: " + "; ".join(looked),
        hint="open it first (datom_engines.open_project(path), clone(...) or connect(store)), "
        "or register it in the governance store (register_project)",
    )
