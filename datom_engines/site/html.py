"""Small HTML building blocks of the catalog: escaping, page paths and relative links, ids, times, the page shell.

Everything that came from metadata (names, messages, custom fields, authors) goes through :func:`e`.
Links are relative to the page that holds them, so the site works from ``file://`` and from any
static host, wherever its folder is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from urllib.parse import quote

from ..core.display import human_size

CSS_PATH = "assets/site.css"
JS_PATH = "assets/site.js"
INDEX_PATH = "index.html"
TAGS_PATH = "tags.html"


_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


def e(value: object) -> str:
    """HTML-escaped text (quotes too, so it is safe in attributes); what :func:`html.escape` gives."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        return text.translate(_ESCAPES)
    return text


def table_dir(table: str) -> str:
    """The folder of a table's pages."""
    return f"t/{table}"


def table_path(table: str) -> str:
    """The path of a table's page."""
    return f"t/{table}/index.html"


def lineage_path(table: str) -> str:
    """The path of a table's lineage page."""
    return f"t/{table}/lineage.html"


def version_path(table: str, version: str) -> str:
    """The path of one version's page."""
    return f"t/{table}/v/{version}.html"


@lru_cache(maxsize=4096)
def _quoted(part: str) -> str:
    return quote(part, safe="")


def rel(page: str, target: str) -> str:
    """A relative, percent-encoded URL from the page at ``page`` to ``target`` (both site paths).

    Site paths are plain relative paths (no ``.``/``..`` parts), so the common folders are dropped and
    one ``..`` is added per folder of ``page`` left over.
    """
    target, _, anchor = target.partition("#")
    here = page.split("/")[:-1]
    there = target.split("/")
    common = 0
    while common < len(here) and common < len(there) - 1 and here[common] == there[common]:
        common += 1
    parts = [".."] * (len(here) - common) + [_quoted(p) for p in there[common:]]
    return "/".join(parts) + ("#" + _quoted(anchor) if anchor else "")


def link(page: str, target: str, text: str, *, title: str | None = None, cls: str | None = None) -> str:
    """An ``<a>`` from ``page`` to ``target`` with escaped ``text``."""
    extra = (f' title="{e(title)}"' if title else "") + (f' class="{e(cls)}"' if cls else "")
    return f'<a href="{e(rel(page, target))}"{extra}>{e(text)}</a>'


def sha(value: str | None, *, full: bool = False) -> str:
    """A hash shown short (8 characters) with the full value in the tooltip; a click copies the full value."""
    if not value:
        return '<span class="muted">–</span>'
    cls = "sha full" if full else "sha"
    return f'<code class="{cls}" title="{e(value)} (click to copy)" data-full="{e(value)}">{e(value)}</code>'


def full_id(value: str | None) -> str:
    """A full hash in monospace, selectable with one click, with a copy button."""
    if not value:
        return '<span class="muted">–</span>'
    return f'<code>{e(value)}</code><button type="button" class="copy" data-copy="{e(value)}">copy</button>'


def ids(items: Iterable[tuple[str, str | None]]) -> str:
    """Labelled full hashes (version, data_sha, parquet_sha...), one per line, each copyable."""
    rows = "".join(f'<tr><th scope="row">{e(label)}</th><td>{full_id(value)}</td></tr>' for label, value in items)
    return f'<table class="ids">{rows}</table>'


def person(text: str) -> str:
    """An author ``Name <email>`` shown as the name, with the address in the tooltip."""
    name, sep, rest = text.partition(" <")
    if not sep:
        return e(text)
    return f'<span title="{e(rest.rstrip(">"))}">{e(name)}</span>'


def version_link(page: str, table: str, version: str) -> str:
    """The short id of a version, linked to its page, with the full id in the tooltip."""
    return link(page, version_path(table, version), version[:8], title=version, cls="mono")


def when(iso: str | None) -> str:
    """A UTC time (``YYYY-MM-DD HH:MM:SS UTC``) in a ``<time>`` element."""
    if not iso:
        return '<span class="muted">–</span>'
    shown = iso.replace("T", " ").replace("Z", "") + " UTC"
    return f'<time datetime="{e(iso)}">{e(shown)}</time>'


def number(value: int | float | None) -> str:
    """A count with thousands separators (``–`` when unknown)."""
    if value is None:
        return "–"
    return f"{value:,.0f}" if isinstance(value, float) else f"{value:,}"


def size(value: int | float | None) -> str:
    """Bytes in KiB/MiB/..."""
    return "–" if value is None else human_size(value)


def badge(text: str, kind: str | None = None) -> str:
    """A small label (``kind`` picks its colour)."""
    return f'<span class="badge {e(kind or text)}">{e(text.replace("_", " "))}</span>'


def facts(items: Iterable[tuple[str, str]]) -> str:
    """A grid of label/value boxes; values are HTML already."""
    cells = "".join(f"<div><dt>{e(label)}</dt><dd>{value}</dd></div>" for label, value in items)
    return f'<dl class="facts">{cells}</dl>'


def grid(
    header: Sequence[tuple[str, str]],
    rows: Iterable[Sequence[tuple[str, str | None, str]]],
    *,
    sortable: bool = True,
    table_id: str | None = None,
    row_classes: Sequence[str] | None = None,
) -> str:
    """A data table. ``header``: ``(label, css class)``; each row cell: ``(html, sort key or None, css class)``.

    CSS classes are the site's own names (not escaped); labels and sort keys are escaped.
    """
    head = "".join(
        (f'<th class="{cls}" scope="col">' if cls else '<th scope="col">') + f"{e(label)}</th>" for label, cls in header
    )
    body = []
    for i, row in enumerate(rows):
        cells = "".join(
            "<td"
            + (f' class="{cls}"' if cls else "")
            + (f' data-sort="{e(key)}"' if key is not None else "")
            + f">{content}</td>"
            for content, key, cls in row
        )
        rc = row_classes[i] if row_classes and i < len(row_classes) and row_classes[i] else ""
        body.append(f'<tr class="{e(rc)}">{cells}</tr>' if rc else f"<tr>{cells}</tr>")
    classes = "grid sortable" if sortable else "grid"
    ident = f' id="{e(table_id)}"' if table_id else ""
    return (
        f'<div class="scroll"><table class="{classes}"{ident}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def page(path: str, title: str, crumbs: Sequence[tuple[str, str | None]], body: str, *, project: str) -> str:
    """A whole HTML page at site path ``path``: header with breadcrumbs (``(text, target or None)``), body."""
    trail = []
    for text, target in crumbs:
        trail.append('<span class="sep">›</span>')
        trail.append(link(path, target, text) if target else f"<span>{e(text)}</span>")
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title>"
        '<link rel="icon" href="data:,">'
        f'<link rel="stylesheet" href="{e(rel(path, CSS_PATH))}">'
        "</head><body>"
        f'<header class="top"><span class="brand">datom catalog</span>{link(path, INDEX_PATH, project)}'
        f"{''.join(trail)}</header>"
        f"<main>{body}</main>"
        "<footer>Static catalog written by datom_engines from the project's metadata; times are UTC. "
        "Version ids are shown by their first 8 characters: hover for the full id, click a hash to copy it."
        "</footer>"
        f'<script src="{e(rel(path, JS_PATH))}" defer></script>'
        "</body></html>\n"
    )
