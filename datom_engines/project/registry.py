"""Which project a name like ``"STUDY1"`` means in this process.

Resolution order: projects opened or registered in this process; then the resolvers added with
:func:`add_resolver` (the governance store adds one); else a :class:`NotFoundError` that lists where
it looked.
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
"""``(project_name, storage_options) -> Project | None``; ``describe()`` of the resolver says where it looks."""

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
    looked = ["projects opened in this process (" + (", ".join(registered()) or "none") + ")"]
    looked += [label for label, _ in resolvers]
    if not resolvers:
        looked.append("no governance store (set DATOM_GOVERNANCE or call use_governance())")
    raise NotFoundError(
        f"unknown project {name!r}; looked in: " + "; ".join(looked),
        hint="open it first (datom_engines.open_project(path), clone(...) or connect(store)), "
        "or register it in a governance store",
    )
