"""A static, browsable catalog of a project, written next to its data: no server needed to read it.

::

    import datom_engines as dt
    res = dt.build_site("STUDY1")            # into the store, under <namespace>/.site/
    res.url                                  # file:///.../datom/.site/index.html for a local store
    dt.build_site(proj, out="catalog/")      # or into a directory of your choice
    dt.build_site(proj, auto=True)           # from now on every write updates the pages it changed
    proj.write(df, "lb", site=True)          # or ask for it on one write
    dt.lineage("STUDY1.lbdm").to_dict()      # the lineage graph the site draws

Pages: the project's tables (sortable, filterable), each table's history, each version's columns
(type, missing count, min/max from the parquet footer), the diff with the version before (as
``proj.diff`` computes it) and an SVG lineage graph (parents, earlier ancestors, raw sources, other
projects where they can be opened). HTML + one CSS file + one small script, relative links only, so it
opens from ``file://`` and from an object store's static website hosting alike. Nothing the reference
format defines is touched: the site lives under its own ``.site/`` key prefix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..core.names import TableRef
from ..errors import InvalidArgumentError
from ..project.diff import resolve_selector
from ..project.governance import resolve_project
from ..project.handle import ProjectHandle
from .build import SiteResult, build_into
from .lineage import LineageEdge, LineageGraph, LineageNode, StoreLookup, build_lineage
from .lineage_text import FORMATS as LINEAGE_FORMATS
from .lineage_text import render as render_lineage
from .target import DirTarget, StoreTarget


def _project(project: ProjectHandle | str, storage_options: Mapping[str, Any] | None) -> ProjectHandle:
    if isinstance(project, ProjectHandle):
        return project
    if not isinstance(project, str) or not project:
        raise InvalidArgumentError(
            f"build_site needs a project or a project name, got {type(project).__name__}",
            hint='pass the Project, or its name such as "STUDY1"',
        )
    name = TableRef.parse(project).project if "." in project else project
    return resolve_project(name, storage_options)


def build_site(
    project: ProjectHandle | str,
    out: str | os.PathLike[str] | None = None,
    *,
    auto: bool | None = None,
    full: bool = False,
    storage_options: Mapping[str, Any] | None = None,
) -> SiteResult:
    """Write (or bring up to date) the static catalog of ``project`` (a Project, or its name).

    By default into the project's store under ``.site/``; ``out`` writes into that local directory
    instead. Only pages whose content changed are written (``full=True`` reads every table again and
    rewrites every page). ``auto`` turns updates after every write on or off for the in-store site
    (None keeps the current setting). Returns a :class:`SiteResult` whose ``url`` opens the index.
    """
    proj = _project(project, storage_options)
    if out is not None and auto:
        raise InvalidArgumentError(
            "auto=True keeps the site in the store up to date; a site written elsewhere (out=...) is rebuilt "
            "by calling build_site again",
            hint="leave out `out` to build the in-store site, or drop auto",
        )
    target = DirTarget(out) if out is not None else StoreTarget(proj.store)
    return build_into(proj.store, proj.name, target, full=full, auto=auto)


def lineage(
    ref: str | TableRef,
    *,
    version: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    project: ProjectHandle | None = None,
) -> LineageGraph:
    """The lineage graph of ``"project.table"`` (current version, or ``version``: an id, a prefix or a tag).

    Parents are followed through this project's store and, for parents in other projects, through those
    projects' stores when they can be opened (registered in this process or through governance).
    """
    parsed = TableRef.parse(ref) if isinstance(ref, str) else ref
    proj = project or resolve_project(parsed.project, storage_options)
    resolved = resolve_selector(proj, parsed.table, version) if version else proj.resolve(parsed.table)
    lookup = StoreLookup(proj.store, proj.name)
    return build_lineage(proj.name, parsed.table, resolved.version, lookup.record, find_content=lookup.find_content)


__all__ = [
    "LINEAGE_FORMATS",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "SiteResult",
    "build_site",
    "lineage",
    "render_lineage",
]
