"""The catalog's pages as HTML text: the project index, the tags, a table, a version, a table's lineage.

Each function is pure (its arguments in, a page out), so the same inputs always give the same bytes:
the builder compares page hashes to write only what changed. A version page depends only on that
version, the one before it and its (immutable) ancestors, so it never changes once written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..core.snapshots import Tag
from ..project.diff import VersionDiff
from .html import (
    INDEX_PATH,
    TAGS_PATH,
    badge,
    e,
    facts,
    grid,
    ids,
    lineage_path,
    link,
    number,
    page,
    person,
    rel,
    sha,
    size,
    table_path,
    version_link,
    version_path,
    when,
)
from .lineage import LineageGraph, LineageNode
from .lineage_text import to_text
from .model import ParentRef, TableModel, VersionRecord, change_of
from .summary import TableSummary
from .svg import render_svg


@dataclass(frozen=True, slots=True)
class TableRow:
    """One line of the index: a table's current state (from its manifest entry and current version)."""

    name: str
    current: VersionRecord | None
    version_count: int
    size_bytes: float | None
    last_updated: str | None
    original_format: str | None

    def to_json(self) -> dict[str, object]:
        """A JSON object (kept in the build state)."""
        return {
            "name": self.name,
            "current": self.current.to_json() if self.current else None,
            "version_count": self.version_count,
            "size_bytes": self.size_bytes,
            "last_updated": self.last_updated,
            "original_format": self.original_format,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> TableRow:
        """The inverse of :meth:`to_json`."""
        current = obj.get("current")
        return cls(
            str(obj["name"]),
            VersionRecord.from_json(current) if isinstance(current, Mapping) else None,
            int(obj.get("version_count") or 0),  # type: ignore[call-overload]
            obj.get("size_bytes"),  # type: ignore[arg-type]
            obj.get("last_updated"),  # type: ignore[arg-type]
            obj.get("original_format"),  # type: ignore[arg-type]
        )


Child = tuple[str, str]  # (table, version) of a current version built from a table


def _parent_link(path: str, project: str, p: ParentRef) -> str:
    if p.project != project:
        return f'<span title="{e(p.version)}">{e(p.project)}.{e(p.table)}@<code>{e(p.version[:8])}</code></span>'
    return f"{link(path, table_path(p.table), p.table)}@{version_link(path, p.table, p.version)}"


def _parents_list(path: str, project: str, rec: VersionRecord) -> str:
    if rec.parents is None and rec.table_type == "imported":
        return '<p class="muted">Imported from a source file: no parent tables.</p>'
    if rec.parents is None:
        return '<p class="muted">No parents recorded.</p>'
    if not rec.parents:
        return '<p class="muted">Recorded as having no parents.</p>'
    items = "".join(f"<li>{_parent_link(path, project, p)}</li>" for p in rec.parents)
    return f'<ul class="plain parents">{items}</ul>'


# ----- index and tags ------------------------------------------------------------------------------------


def index_page(project: str, rows: Sequence[TableRow], tags: Sequence[Tag], manifest: Mapping[str, object]) -> str:
    """The project's front page: every table, sortable and filterable, and the tags."""
    path = INDEX_PATH
    versions = sum(r.version_count for r in rows)
    total = sum(r.size_bytes or 0 for r in rows)
    updated = manifest.get("updated_at")
    lead = f"{len(rows)} table{'s' if len(rows) != 1 else ''} · {number(versions)} versions · {size(total)} stored" + (
        f" · metadata updated {when(str(updated))}" if isinstance(updated, str) else ""
    )
    body = [f"<h1>{e(project)}</h1>", f'<p class="lead">{lead}</p>']
    if tags:
        newest = sorted(tags, key=lambda t: t.created_at.isoformat() if t.created_at else "", reverse=True)[:5]
        items = "".join(
            f"<li>{link(path, TAGS_PATH + '#tag-' + t.name, t.name, cls='badge tag')} "
            f"{when(_iso(t))} <span class='muted'>{e(t.message)}</span></li>"
            for t in newest
        )
        more = f" ({link(path, TAGS_PATH, f'all {len(tags)} tags')})" if len(tags) > len(newest) else ""
        body.append(f"<h2>Tags{more}</h2><ul class='plain'>{items}</ul>")
    body.append("<h2>Tables</h2>")
    body.append(
        '<div class="toolbar"><input type="search" placeholder="Filter tables…" data-filter="tables" '
        'aria-label="filter tables"><span class="muted">Click a column heading to sort.</span></div>'
    )
    header = [
        ("Table", ""),
        ("Type", ""),
        ("Rows", "num"),
        ("Columns", "num"),
        ("Versions", "num"),
        ("Current", ""),
        ("Updated (UTC)", ""),
        ("Size", "num"),
        ("Source", ""),
        ("Built from", ""),
    ]
    lines = []
    for r in rows:
        cur = r.current
        source = (r.original_format or "") + (" " + sha(cur.original_file_sha) if cur and cur.original_file_sha else "")
        names = list(dict.fromkeys(p.table for p in (cur.parents or ()) if p.project == project)) if cur else []
        parents = ", ".join(names)
        parent_links = ", ".join(link(path, table_path(n), n) for n in names)
        lines.append(
            [
                (link(path, table_path(r.name), r.name), r.name, ""),
                (badge(cur.table_type) if cur and cur.table_type else "", cur.table_type if cur else "", ""),
                (number(cur.nrow if cur else None), str(cur.nrow if cur and cur.nrow is not None else ""), "num"),
                (number(cur.ncol if cur else None), str(cur.ncol if cur and cur.ncol is not None else ""), "num"),
                (number(r.version_count), str(r.version_count), "num"),
                (version_link(path, r.name, cur.id) if cur else "–", cur.id if cur else "", ""),
                (when(r.last_updated), r.last_updated or "", ""),
                (size(r.size_bytes), str(r.size_bytes or 0), "num"),
                (source or '<span class="muted">–</span>', r.original_format or "", ""),
                (parent_links or '<span class="muted">–</span>', parents, "wrap"),
            ]
        )
    body.append(grid(header, lines, table_id="tables"))
    return page(path, f"{project}: tables", [], "".join(body), project=project)


def _iso(tag: Tag) -> str | None:
    return tag.created_at.strftime("%Y-%m-%dT%H:%M:%SZ") if tag.created_at else None


def tags_page(project: str, tags: Sequence[Tag], current: Mapping[str, str | None]) -> str:
    """Every tag with the table versions it pins (``current``: table -> current version id)."""
    path = TAGS_PATH
    body = [f"<h1>Tags of {e(project)}</h1>", '<p class="lead">Named, immutable snapshots of the project.</p>']
    for t in sorted(tags, key=lambda t: t.created_at.isoformat() if t.created_at else "", reverse=True):
        rows = []
        for table, entry in t.tables.items():
            now = current.get(table)
            state = "current" if now == entry.version else "superseded" if now else "table gone"
            rows.append(
                [
                    (link(path, table_path(table), table), table, ""),
                    (version_link(path, table, entry.version), entry.version, ""),
                    (sha(entry.data_sha), entry.data_sha, ""),
                    (badge(state, "first" if state == "current" else None), state, ""),
                ]
            )
        signed = "signed" if t.signed else "unsigned"
        body.append(
            f'<h2 id="tag-{e(t.name)}">{badge(t.name, "tag")} <span class="muted">{when(_iso(t))}</span></h2>'
            f"<p>{e(t.message)} <span class='muted'>· {e(t.tagger)} · {signed} · commit {sha(t.commit)}</span></p>"
            + grid([("Table", ""), ("Version", ""), ("Data", ""), ("Now", "")], rows)
        )
    if not tags:
        body.append('<p class="muted">No tags yet.</p>')
    return page(path, f"{project}: tags", [("tags", None)], "".join(body), project=project)


# ----- tables ----------------------------------------------------------------------------------------------


def _summary_grid(summary: TableSummary | None, diff: VersionDiff | None = None) -> str:
    if summary is None:
        return '<p class="muted">No column summary.</p>'
    if summary.error:
        return f'<p class="note">No column summary: {e(summary.error)}.</p>'
    changes = {c.name: c.change for c in diff.columns} if diff is not None else {}
    header = [("#", "num"), ("Column", ""), ("Type", ""), ("Missing", "num"), ("Min", ""), ("Max", "")]
    if diff is not None:
        header.append(("Change", ""))
    rows = []
    for i, c in enumerate(summary.columns, start=1):
        row = [
            (str(i), str(i), "num"),
            (f"<strong>{e(c.name)}</strong>", c.name, ""),
            (f"<code>{e(c.type)}</code>", c.type, ""),
            (number(c.nulls), "" if c.nulls is None else str(c.nulls), "num"),
            (e(c.min) if c.min is not None else '<span class="muted">–</span>', c.min or "", "wrap"),
            (e(c.max) if c.max is not None else '<span class="muted">–</span>', c.max or "", "wrap"),
        ]
        if diff is not None:
            change = changes.get(c.name, "unchanged")
            row.append((f'<span class="change-{e(change)}">{e(change)}</span>', change, ""))
        rows.append(row)
    groups = f" in {summary.row_groups} row group{'s' if summary.row_groups != 1 else ''}" if summary.row_groups else ""
    note = (
        f'<p class="muted">{number(summary.rows)} rows{groups}. Missing counts and ranges come from the parquet '
        "footer statistics (no data read).</p>"
    )
    return note + grid(header, rows)


def table_page(
    project: str,
    model: TableModel,
    children: Sequence[Child],
    tags_by_version: Mapping[str, Sequence[str]],
    summary: TableSummary | None,
) -> str:
    """A table: its current state, what it is built from and used by, its columns and its history."""
    name = model.name
    path = table_path(name)
    cur = model.current
    body = [f"<h1>{e(name)} {badge(cur.table_type) if cur and cur.table_type else ''}</h1>"]
    entry = model.entry
    if cur is not None:
        source = _text(entry.get("original_format"))
        body.append(
            facts(
                [
                    ("current version", version_link(path, name, cur.id)),
                    ("rows", number(cur.nrow)),
                    ("columns", number(cur.ncol)),
                    ("versions", number(len(model.versions))),
                    ("size", size(cur.size_bytes)),
                    ("updated", when(_text(entry.get("last_updated")) or cur.created_at)),
                    ("source file", f"{e(source)} {sha(cur.original_file_sha)}" if source else "–"),
                ]
            )
        )
        body.append(ids([("current version", cur.id), ("data sha", cur.data_sha)]))
        body.append(
            f"<h2>Built from</h2>{_parents_list(path, project, cur)}"
            f"<p>{link(path, lineage_path(name), 'Lineage graph →')}</p>"
        )
    if children:
        items = "".join(
            f"<li>{link(path, table_path(t), t)}@{version_link(path, t, v)}</li>" for t, v in sorted(children)
        )
        body.append(f'<h2>Used by</h2><ul class="plain children">{items}</ul>')
    body.append(_history(path, model, tags_by_version))
    if cur is not None:
        body.append(f"<h2>Columns of the current version</h2>{_summary_grid(summary)}")
    return page(path, f"{project}.{name}", [(name, None)], "".join(body), project=project)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _history(path: str, model: TableModel, tags_by_version: Mapping[str, Sequence[str]]) -> str:
    header = [
        ("Version", ""),
        ("Created (UTC)", ""),
        ("Author", ""),
        ("Message", ""),
        ("Change", ""),
        ("Rows", "num"),
        ("Columns", "num"),
        ("Data", ""),
        ("Tags", ""),
    ]
    rows, classes = [], []
    current = model.current_id
    versions = model.versions
    for i, v in enumerate(versions):
        change = change_of(v, versions[i + 1] if i + 1 < len(versions) else None)
        tags = tags_by_version.get(v.id, ())
        rows.append(
            [
                (version_link(path, model.name, v.id), str(len(versions) - i), ""),
                (when(v.created_at), v.created_at or "", ""),
                (person(v.author), v.author, ""),
                (e(v.message), v.message, "wrap"),
                (badge(change), change, ""),
                (number(v.nrow), "" if v.nrow is None else str(v.nrow), "num"),
                (number(v.ncol), "" if v.ncol is None else str(v.ncol), "num"),
                (sha(v.data_sha), v.data_sha, ""),
                (" ".join(badge(t, "tag") for t in tags), " ".join(tags), ""),
            ]
        )
        classes.append("current" if v.id == current else "")
    return f"<h2>History ({len(versions)} versions, newest first)</h2>" + grid(header, rows, row_classes=classes)


# ----- versions ----------------------------------------------------------------------------------------


def _diff_html(path: str, table: str, diff: VersionDiff | None, previous: VersionRecord | None) -> str:
    if previous is None or diff is None:
        return "<p>The first version of this table.</p>"
    lead = [f"Compared with the previous version {version_link(path, table, previous.id)}:"]
    if diff.same_data:
        lead.append("same data, only the metadata differs.")
    rows_text = f"rows {number(diff.nrow_before)} → {number(diff.nrow_after)}"
    lead.append(rows_text + (" (unchanged)" if diff.nrow_before == diff.nrow_after else "") + ";")
    changed = diff.changed_columns
    counts: dict[str, int] = {}
    for c in changed:
        counts[c.change] = counts.get(c.change, 0) + 1
    lead.append(", ".join(f"{n} column{'s' if n != 1 else ''} {k}" for k, n in counts.items()) or "no column changes")
    if diff.order_changed:
        lead.append("; column order changed")
    out = f"<p>{' '.join(lead)}.</p>"
    if changed:
        rows = []
        for c in changed:
            same = c.type_before == c.type_after
            types = c.type_before if same else f"{c.type_before or '–'} → {c.type_after or '–'}"
            rows.append(
                [
                    (f"<strong>{e(c.name)}</strong>", c.name, ""),
                    (f'<span class="change-{e(c.change)}">{e(c.change)}</span>', c.change, ""),
                    (f"<code>{e(types)}</code>", types or "", ""),
                ]
            )
        out += grid([("Column", ""), ("Change", ""), ("Type", "")], rows)
    return out


def _node_href(path: str, project: str) -> object:
    def href(n: LineageNode) -> str | None:
        if n.project != project or not n.version:
            return None
        return rel(path, version_path(n.table, n.version))

    return href


LEGEND = (
    '<div class="legend"><span class="l-focus">this version</span><span class="l-parent">parent</span>'
    '<span class="l-ancestor">earlier ancestor</span><span class="l-source">raw source (source_lineage)</span>'
    '<span class="l-child">used by</span><span class="l-unknown">metadata not available here</span></div>'
)


def _graph_html(path: str, project: str, graph: LineageGraph) -> str:
    svg = render_svg(graph, project, _node_href(path, project))  # type: ignore[arg-type]
    return f'{LEGEND}<div class="graph">{svg}</div>'


def version_page(
    project: str,
    table: str,
    rec: VersionRecord,
    previous: VersionRecord | None,
    diff: VersionDiff | None,
    summary: TableSummary | None,
    graph: LineageGraph,
) -> str:
    """One version: its identity, what changed since the version before, its columns, what it was built from."""
    path = version_path(table, rec.id)
    change = change_of(rec, previous)
    body = [
        f"<h1>{e(table)} <span class='mono'>@{e(rec.short)}</span> {badge(change)} "
        f"{badge(rec.table_type) if rec.table_type else ''}</h1>",
        f'<p class="lead">{e(rec.message)}</p>' if rec.message else "",
        facts(
            [
                ("created", when(rec.created_at)),
                ("author", person(rec.author)),
                ("rows", number(rec.nrow)),
                ("columns", number(rec.ncol)),
                ("size", size(rec.size_bytes)),
                ("previous version", version_link(path, table, previous.id) if previous else "–"),
            ]
        ),
        ids(
            [
                ("version", rec.id),
                ("data sha", rec.data_sha),
                ("parquet sha", rec.parquet_sha),
                *([("source file sha", rec.original_file_sha)] if rec.original_file_sha else []),
            ]
        ),
        f"<p>{link(path, table_path(table), f'All versions of {table} →')}</p>",
        f"<h2>Changes</h2>{_diff_html(path, table, diff, previous)}",
        f"<h2>Built from</h2>{_parents_list(path, project, rec)}",
    ]
    if len(graph.nodes) > 1:
        body.append(_graph_html(path, project, graph))
    body.append(f"<h2>Columns</h2>{_summary_grid(summary, diff if previous else None)}")
    if rec.custom:
        text = json.dumps(rec.custom, indent=2, ensure_ascii=False)
        body.append(f'<h2>Custom metadata</h2><pre class="json">{e(text)}</pre>')
    crumbs = [(table, table_path(table)), (rec.short, None)]
    return page(path, f"{project}.{table}@{rec.short}", crumbs, "".join(body), project=project)


def lineage_page(project: str, table: str, rec: VersionRecord | None, graph: LineageGraph | None) -> str:
    """The lineage of a table's current version: the graph, then its nodes as lists and as text."""
    path = lineage_path(table)
    body = [f"<h1>Lineage of {e(table)}</h1>"]
    if rec is None or graph is None:
        body.append('<p class="muted">This table has no readable version.</p>')
    else:
        parents = graph.with_role("parent")
        sources = graph.with_role("source")
        users = len(graph.with_role("child"))
        upstream = len(graph.nodes) - 1 - users
        counts = [
            f"{len(parents)} parent{'s' if len(parents) != 1 else ''}",
            f"{upstream} version{'s' if upstream != 1 else ''} upstream",
            f"{len(sources)} raw source{'s' if len(sources) != 1 else ''}",
        ]
        if users:
            counts.append(f"used by {users} table{'s' if users != 1 else ''}")
        body.append(f'<p class="lead">Current version {version_link(path, table, rec.id)}: {", ".join(counts)}.</p>')
        body.append(_graph_html(path, project, graph))
        body.append(f"<h2>Parents</h2>{_parents_list(path, project, rec)}")
        if sources:
            items = "".join(f"<li>{_node_text(path, project, n)}</li>" for n in sources)
            body.append(f'<h2>Raw sources</h2><ul class="plain sources">{items}</ul>')
        body.append(f'<h2>As text</h2><pre class="json">{e(to_text(graph))}</pre>')
    crumbs = [(table, table_path(table)), ("lineage", None)]
    return page(path, f"{project}.{table}: lineage", crumbs, "".join(body), project=project)


def _node_text(path: str, project: str, n: LineageNode) -> str:
    if n.project == project and n.version:
        return f"{link(path, table_path(n.table), n.table)}@{version_link(path, n.table, n.version)}"
    where = f"{e(n.project)}.{e(n.table)}"
    return f"{where} " + (f"<code>{e(n.version[:8])}</code>" if n.version else f"data {sha(n.data_sha)}")
