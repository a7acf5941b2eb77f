"""Which project a name like ``"STUDY1"`` means in this process.

The projects opened or registered in this process, and the fallback resolvers added with
:func:`add_resolver`. :func:`~datom_engines.project.governance.resolve_project` consults them first,
then the governance store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .project import Project

Resolver = Callable[[str, Mapping[str, Any] | None], "Project | None"]
"""``(project_name, storage_options) -> Project | None``; its label (``{name}`` is filled in) says where it looks."""

_lock = threading.RLock()
_projects: dict[str, Project] = {}
_resolvers: list[tuple[str, Resolver]] = []


def register(project: Project) -> Project:
    """Make ``project`` resolvable by its name in this process (the latest registration wins).

    One exception: a reader (opened from its store alone, no git) does not displace a writer of the same
    project on the same store, which reads the same tables and can also write: ``dt.connect(store)`` after
    ``dt.open_project(path)`` leaves ``"STUDY1.lb"`` writable. :func:`unregister` the writer first to make
    names resolve read-only.
    """
    with _lock:
        current = _projects.get(project.name)
        keeps_writer = (
            project.repo is None
            and current is not None
            and current.repo is not None
            and current.store.location == project.store.location
        )
        if not keeps_writer:
            _projects[project.name] = project
    return project


def unregister(name: str) -> None:
    """Forget a project registered in this process."""
    with _lock:
        _projects.pop(name, None)


def lookup(name: str) -> Project | None:
    """The project registered in this process under ``name``, or None."""
    return _projects.get(name)  # one dict read is atomic; writers hold the lock against each other


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


def resolvers() -> list[tuple[str, Resolver]]:
    """The fallback resolvers, in the order they are consulted: ``(label, resolver)``."""
    with _lock:
        return list(_resolvers)
