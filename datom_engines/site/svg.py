"""A lineage graph drawn as inline SVG: one column per parent step, sources left, the focus right of them.

Columns hold the nodes of one depth (the longest parent path to the focus); within a column nodes are
ordered by the mean position of the versions they feed, which keeps most edges from crossing. Every
node is a link (when the site has a page for it) and carries its full id in a ``<title>`` tooltip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from .lineage import LineageGraph, LineageNode

NODE_W = 216
NODE_H = 46
COL_GAP = 64
ROW_GAP = 14
PAD = 12
CHAR_W = 7.4  # average width of a 13px bold sans-serif character, for cutting long names


@dataclass(frozen=True, slots=True)
class Placed:
    """A node with its top-left corner."""

    node: LineageNode
    x: float
    y: float


def layout(graph: LineageGraph) -> tuple[dict[str, Placed], float, float]:
    """Positions of every node, and the drawing's width and height."""
    ancestors = max((n.depth for n in graph.nodes), default=0)
    columns: dict[int, list[LineageNode]] = {}
    for n in graph.nodes:
        col = ancestors + 1 if n.depth < 0 else ancestors - n.depth
        columns.setdefault(col, []).append(n)
    consumers: dict[str, list[str]] = {}
    for e in graph.edges:
        consumers.setdefault(e.parent, []).append(e.child)
    rank: dict[str, float] = {}
    # from the focus leftwards: order each column by where the nodes it feeds already sit
    for col in sorted(columns, reverse=True):
        nodes = columns[col]

        def weight(n: LineageNode) -> tuple[float, str]:
            fed = [rank[c] for c in consumers.get(n.id, ()) if c in rank]
            return (sum(fed) / len(fed) if fed else float("inf"), f"{n.project}.{n.table}")

        nodes.sort(key=weight)
        for i, n in enumerate(nodes):
            rank[n.id] = i
    tallest = max((len(v) for v in columns.values()), default=1)
    height = tallest * (NODE_H + ROW_GAP) - ROW_GAP + 2 * PAD
    placed: dict[str, Placed] = {}
    for col, nodes in columns.items():
        offset = (height - 2 * PAD - (len(nodes) * (NODE_H + ROW_GAP) - ROW_GAP)) / 2
        for i, n in enumerate(nodes):
            placed[n.id] = Placed(n, PAD + col * (NODE_W + COL_GAP), PAD + offset + i * (NODE_H + ROW_GAP))
    width = (max(columns, default=0) + 1) * (NODE_W + COL_GAP) - COL_GAP + 2 * PAD
    return placed, width, height


def _cut(text: str, width: float) -> str:
    most = max(int(width / CHAR_W), 4)
    return text if len(text) <= most else text[: most - 1] + "…"


def _subtitle(n: LineageNode, project: str) -> str:
    bits = [] if n.project == project else [n.project]
    bits.append(n.version[:8] if n.version else f"data {n.data_sha[:8] if n.data_sha else '?'}")
    if n.table_type:
        bits.append(n.table_type)
    elif not n.known:
        bits.append("not available")
    return " · ".join(bits)


def _tooltip(n: LineageNode) -> str:
    lines = [f"{n.project}.{n.table}"]
    if n.version:
        lines.append(f"version {n.version}")
    if n.data_sha:
        lines.append(f"data_sha {n.data_sha}")
    if n.created_at:
        lines.append(n.created_at.replace("T", " ").replace("Z", " UTC"))
    lines.append(", ".join(n.roles))
    if not n.known:
        lines.append("its metadata could not be read here (another project, or a missing snapshot)")
    return "\n".join(lines)


def render_svg(graph: LineageGraph, project: str, href: Callable[[LineageNode], str | None]) -> str:
    """The graph as an ``<svg>`` element; ``href`` gives each node's (relative) link or None."""
    placed, width, height = layout(graph)
    parts = [
        f'<svg class="lineage" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{escape("lineage of " + graph.focus)}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>',
    ]
    for e in graph.edges:
        a, b = placed[e.parent], placed[e.child]
        x1, y1 = a.x + NODE_W, a.y + NODE_H / 2
        x2, y2 = b.x, b.y + NODE_H / 2
        bend = max((x2 - x1) / 2, 24)
        parts.append(
            f'<path class="edge {escape(e.kind)}" d="M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} '
            f'{x2 - bend:.1f},{y2:.1f} {x2 - 2:.1f},{y2:.1f}" marker-end="url(#arrow)"/>'
        )
    for p in placed.values():
        n = p.node
        classes = " ".join(["node", *n.roles, *([] if n.known else ["unknown"])])
        box = (
            f'<g class="{escape(classes)}" data-id="{escape(n.id)}" data-table="{escape(n.table)}" '
            f'data-project="{escape(n.project)}"><title>{escape(_tooltip(n))}</title>'
            f'<rect x="{p.x:.1f}" y="{p.y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="7"/>'
            f'<text class="name" x="{p.x + 10:.1f}" y="{p.y + 19:.1f}">{escape(_cut(n.table, NODE_W - 20))}</text>'
            f'<text class="sub" x="{p.x + 10:.1f}" y="{p.y + 36:.1f}">'
            f"{escape(_cut(_subtitle(n, project), (NODE_W - 20) * 1.15))}</text></g>"
        )
        link = href(n)
        parts.append(f'<a href="{escape(link)}">{box}</a>' if link else box)
    parts.append("</svg>")
    return "".join(parts)
