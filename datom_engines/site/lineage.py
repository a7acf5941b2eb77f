"""The lineage graph of a table version: its parents, their parents, and its recorded raw sources.

Walkers follow ``parents`` (reference section 4.12), never ``source_lineage`` (an imported table's
self-entry would loop); the ``source_lineage`` entries of the focus version are then matched to the
nodes found, and the ones no recorded path reaches are added as sources of their own (dashed edges).
Parents in other projects are followed when that project can be opened (registered in this process or
found through governance); otherwise they stay as nodes with what the metadata recorded
(``known=False``). The graph is built over a lookup function, so the command line (store reads) and
the static site (its in-memory model) share it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import DatomError
from ..project.governance import resolve_project
from ..project.reading import read_history, read_snapshot
from ..storage.objectstore import ObjectStore
from .model import VersionRecord

#: (project, table, version) -> the version's record, or None when it cannot be found
RecordLookup = Callable[[str, str, str], VersionRecord | None]
#: (project, table, data_sha) -> the id of a version with that content, or None
ContentLookup = Callable[[str, str, str], str | None]

ROLES = ("focus", "parent", "ancestor", "source", "child")


def node_id(project: str, table: str, version: str | None, data_sha: str | None = None) -> str:
    """The id of a node: ``project.table@version`` (``project.table#data_sha`` when only content is known)."""
    return f"{project}.{table}@{version}" if version else f"{project}.{table}#{data_sha}"


@dataclass(frozen=True, slots=True)
class LineageNode:
    """A table version in a lineage graph.

    ``depth`` is 0 for the focus, n for a version n parent-steps up (the longest path), -1 for a child.
    ``known`` is False when the version's metadata could not be read (another project, a missing
    snapshot): only what the child recorded is shown then.
    """

    id: str
    project: str
    table: str
    version: str | None
    data_sha: str | None
    roles: tuple[str, ...]
    depth: int
    known: bool
    table_type: str | None = None
    created_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "id": self.id,
            "project": self.project,
            "table": self.table,
            "version": self.version,
            "data_sha": self.data_sha,
            "roles": list(self.roles),
            "depth": self.depth,
            "known": self.known,
            "table_type": self.table_type,
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class LineageEdge:
    """``parent`` -> ``child`` (``kind`` ``parent``: recorded parent; ``source``: a source_lineage entry
    no recorded parent path reaches)."""

    parent: str
    child: str
    kind: str = "parent"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {"from": self.parent, "to": self.child, "kind": self.kind}


@dataclass(frozen=True, slots=True)
class LineageGraph:
    """Nodes (the focus first, then by depth) and edges of one version's lineage."""

    focus: str
    nodes: tuple[LineageNode, ...]
    edges: tuple[LineageEdge, ...]

    def node(self, node: str) -> LineageNode:
        """The node with id ``node``."""
        return next(n for n in self.nodes if n.id == node)

    def parents_of(self, node: str) -> list[LineageNode]:
        """The nodes with an edge into ``node``, in recorded order."""
        return [self.node(e.parent) for e in self.edges if e.child == node]

    def with_role(self, role: str) -> list[LineageNode]:
        """The nodes that have ``role``."""
        return [n for n in self.nodes if role in n.roles]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict: ``{focus, nodes, edges}``."""
        return {
            "focus": self.focus,
            "nodes": [n.to_dict() for n in self.nodes],
            "edges": [e.to_dict() for e in self.edges],
        }


@dataclass
class _Draft:
    project: str
    table: str
    version: str | None
    data_sha: str | None
    record: VersionRecord | None
    roles: set[str] = field(default_factory=set)


def build_lineage(
    project: str,
    table: str,
    version: str,
    lookup: RecordLookup,
    *,
    find_content: ContentLookup | None = None,
    children: Sequence[tuple[str, str, str]] = (),
) -> LineageGraph:
    """The lineage graph of ``project.table@version`` (see the module docstring).

    ``children`` are ``(project, table, version)`` of versions built from the focus (the site passes the
    current versions of the tables that use it); they are drawn at depth -1.
    """
    focus = node_id(project, table, version)
    drafts: dict[str, _Draft] = {focus: _Draft(project, table, version, None, lookup(project, table, version))}
    drafts[focus].roles.add("focus")
    if drafts[focus].record is not None:
        drafts[focus].data_sha = drafts[focus].record.data_sha  # type: ignore[union-attr]
    edges: list[LineageEdge] = []
    seen_edges: set[tuple[str, str]] = set()
    queue = [focus]
    while queue:
        nid = queue.pop(0)
        rec = drafts[nid].record
        for p in (rec.parents or ()) if rec is not None else ():
            pid = node_id(p.project, p.table, p.version)
            if pid not in drafts:
                drafts[pid] = _Draft(p.project, p.table, p.version, p.data_sha, lookup(p.project, p.table, p.version))
                queue.append(pid)
            if (pid, nid) not in seen_edges:
                seen_edges.add((pid, nid))
                edges.append(LineageEdge(pid, nid))
            drafts[pid].roles.add("parent" if nid == focus else "ancestor")
    focus_rec = drafts[focus].record
    for s in (focus_rec.sources or ()) if focus_rec is not None else ():
        match = next(
            (i for i, d in drafts.items() if (d.project, d.table, d.data_sha) == (s.project, s.table, s.data_sha)),
            None,
        )
        if match is None:
            found = find_content(s.project, s.table, s.data_sha) if find_content else None
            match = node_id(s.project, s.table, found, s.data_sha)
            if match not in drafts:
                record = lookup(s.project, s.table, found) if found else None
                drafts[match] = _Draft(s.project, s.table, found, s.data_sha, record)
            if match != focus and (match, focus) not in seen_edges:
                seen_edges.add((match, focus))
                edges.append(LineageEdge(match, focus, "source"))
        drafts[match].roles.add("source")
    depth = _depths(focus, drafts, edges)
    for c_project, c_table, c_version in children:
        cid = node_id(c_project, c_table, c_version)
        if cid in drafts:
            continue
        drafts[cid] = _Draft(c_project, c_table, c_version, None, lookup(c_project, c_table, c_version), {"child"})
        depth[cid] = -1
        edges.append(LineageEdge(focus, cid))
    order = sorted(drafts, key=lambda i: (i != focus, depth[i] < 0, depth[i], drafts[i].table, i))
    nodes = tuple(_node(i, drafts[i], depth[i]) for i in order)
    return LineageGraph(focus, nodes, tuple(edges))


def _node(nid: str, d: _Draft, depth: int) -> LineageNode:
    rec = d.record
    roles = tuple(r for r in ROLES if r in d.roles)
    return LineageNode(
        id=nid,
        project=d.project,
        table=d.table,
        version=d.version,
        data_sha=rec.data_sha if rec is not None else d.data_sha,
        roles=roles,
        depth=depth,
        known=rec is not None,
        table_type=rec.table_type if rec is not None else None,
        created_at=rec.created_at if rec is not None else None,
    )


def _depths(focus: str, drafts: dict[str, _Draft], edges: Sequence[LineageEdge]) -> dict[str, int]:
    """Longest number of parent steps from each node down to the focus, so every edge points rightwards.

    Nodes reached only through a ``source`` edge go one column left of everything else. Iterative
    (Kahn's order from the focus upwards); a cycle in malformed metadata is cut where it closes.
    """
    consumers: dict[str, list[str]] = {}
    producers: dict[str, list[str]] = {}
    for e in edges:
        if e.kind == "parent":
            consumers.setdefault(e.parent, []).append(e.child)
            producers.setdefault(e.child, []).append(e.parent)
    depth: dict[str, int] = {focus: 0}
    waiting = {n: len(set(cs)) for n, cs in consumers.items()}
    ready = [focus]
    while ready:
        nid = ready.pop()
        for parent in dict.fromkeys(producers.get(nid, ())):
            waiting[parent] -= 1
            if waiting[parent] == 0:
                depth[parent] = 1 + max(depth[c] for c in consumers[parent])
                ready.append(parent)
    for nid in drafts:  # left in a cycle, or reached through source edges only
        if nid not in depth and nid in consumers:
            depth[nid] = 1 + max((depth.get(c, 0) for c in consumers[nid]), default=0)
    far = 1 + max(depth.values(), default=0)
    for nid in drafts:
        depth.setdefault(nid, far)
    return depth


class StoreLookup:
    """Version records read from the stores: this project's, and other projects' when they can be opened.

    Every snapshot and history is read at most once; a project or version that cannot be read is
    remembered as missing (its nodes are drawn with ``known=False``).
    """

    def __init__(self, store: ObjectStore, project: str) -> None:
        self._stores: dict[str, ObjectStore | None] = {project: store}
        self._records: dict[tuple[str, str, str], VersionRecord | None] = {}
        self._histories: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def _store(self, project: str) -> ObjectStore | None:
        if project not in self._stores:
            try:
                self._stores[project] = resolve_project(project).store
            except DatomError:
                self._stores[project] = None
        return self._stores[project]

    def _history(self, project: str, table: str) -> list[dict[str, Any]]:
        key = (project, table)
        if key not in self._histories:
            store = self._store(project)
            try:
                self._histories[key] = read_history(store, project, table) if store is not None else []
            except DatomError:
                self._histories[key] = []
        return self._histories[key]

    def record(self, project: str, table: str, version: str) -> VersionRecord | None:
        """The record of ``project.table@version`` (a full id), or None."""
        key = (project, table, version)
        if key not in self._records:
            store = self._store(project)
            rec = None
            if store is not None:
                try:
                    meta = read_snapshot(store, project, table, version)
                    entry = next((e for e in self._history(project, table) if e.get("version") == version), None)
                    rec = VersionRecord.from_metadata(version, meta, entry)
                except (DatomError, ValueError):
                    rec = None
            self._records[key] = rec
        return self._records[key]

    def find_content(self, project: str, table: str, data_sha: str) -> str | None:
        """The oldest version of ``project.table`` holding ``data_sha``, or None."""
        for entry in reversed(self._history(project, table)):
            if entry.get("data_sha") == data_sha:
                return str(entry.get("version"))
        return None
