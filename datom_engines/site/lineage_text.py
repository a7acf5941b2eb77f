"""A lineage graph as text for people, Graphviz DOT, Mermaid or JSON (``datom lineage --format``)."""

from __future__ import annotations

import json
from collections.abc import Callable

from .lineage import LineageGraph, LineageNode

FORMATS = ("text", "dot", "mermaid", "json")


def _label(node: LineageNode) -> str:
    where = f"{node.project}.{node.table}"
    if node.version:
        return f"{where}@{node.version[:8]}"
    return f"{where} (data {node.data_sha[:8] if node.data_sha else '?'})"


def _notes(node: LineageNode) -> str:
    bits = [b for b in (node.table_type, (node.created_at or "").replace("T", " ").replace("Z", " UTC")) if b]
    if not node.known:
        bits.append("metadata not available")
    if "source" in node.roles:
        bits.append("raw source")
    return f" ({', '.join(bits)})" if bits else ""


def to_text(graph: LineageGraph) -> str:
    """An indented tree from the focus up through its parents; a version seen before is not expanded again.

    Sources that no recorded parent reaches, and children, are listed after the tree.
    """
    lines: list[str] = []
    expanded: set[str] = set()
    focus = graph.node(graph.focus)

    def walk(node: LineageNode, prefix: str, tail: str) -> None:
        parents = [p for p in graph.parents_of(node.id) if _edge_kind(graph, p.id, node.id) == "parent"]
        again = node.id in expanded and parents
        lines.append(f"{prefix}{_label(node)}{_notes(node)}{' (see above)' if again else ''}")
        if again:
            return
        expanded.add(node.id)
        for i, parent in enumerate(parents):
            last = i == len(parents) - 1
            walk(parent, tail + ("└── " if last else "├── "), tail + ("    " if last else "│   "))

    walk(focus, "", "")
    loose = [graph.node(e.parent) for e in graph.edges if e.kind == "source"]
    if loose:
        lines.append("sources no recorded parent reaches:")
        lines.extend(f"  {_label(n)}{_notes(n)}" for n in loose)
    children = graph.with_role("child")
    if children:
        lines.append("used by:")
        lines.extend(f"  {_label(n)}{_notes(n)}" for n in children)
    return "\n".join(lines)


def _edge_kind(graph: LineageGraph, parent: str, child: str) -> str:
    return next((e.kind for e in graph.edges if e.parent == parent and e.child == child), "parent")


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: LineageGraph) -> str:
    """Graphviz DOT (``dot -Tsvg``): parents left of their children, the focus drawn bold."""
    lines = ["digraph lineage {", "  rankdir=LR;", '  node [shape=box, style="rounded", fontname="Helvetica"];']
    for n in graph.nodes:
        attrs = [f"label={_dot_text(_label(n) + _notes(n))}"]
        if "focus" in n.roles:
            attrs.append('style="rounded,bold"')
        if not n.known:
            attrs.append('style="rounded,dashed"')
        lines.append(f"  {_dot_text(n.id)} [{', '.join(attrs)}];")
    for e in graph.edges:
        style = " [style=dashed]" if e.kind == "source" else ""
        lines.append(f"  {_dot_text(e.parent)} -> {_dot_text(e.child)}{style};")
    lines.append("}")
    return "\n".join(lines)


def _mermaid_text(text: str) -> str:
    for raw, entity in (("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(raw, entity)
    return f'"{text}"'


def to_mermaid(graph: LineageGraph) -> str:
    """A Mermaid flowchart (paste into Markdown that renders Mermaid)."""
    ids = {n.id: f"n{i}" for i, n in enumerate(graph.nodes)}
    lines = ["flowchart LR"]
    for n in graph.nodes:
        lines.append(f"  {ids[n.id]}[{_mermaid_text(_label(n) + _notes(n))}]")
    for e in graph.edges:
        arrow = "-.->" if e.kind == "source" else "-->"
        lines.append(f"  {ids[e.parent]} {arrow} {ids[e.child]}")
    focus = ids[graph.focus]
    lines.append(f"  style {focus} stroke-width:3px")
    return "\n".join(lines)


def to_json(graph: LineageGraph) -> str:
    """``{focus, nodes, edges}`` as indented JSON (full ids)."""
    return json.dumps(graph.to_dict(), indent=2, ensure_ascii=False)


RENDERERS: dict[str, Callable[[LineageGraph], str]] = {
    "text": to_text,
    "dot": to_dot,
    "mermaid": to_mermaid,
    "json": to_json,
}


def render(graph: LineageGraph, fmt: str) -> str:
    """``graph`` in one of :data:`FORMATS`."""
    return RENDERERS[fmt](graph)
