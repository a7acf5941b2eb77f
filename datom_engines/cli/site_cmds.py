"""Commands of the static catalog: ``datom site`` (build it) and ``datom lineage`` (the graph as text)."""

from __future__ import annotations

from pathlib import Path

import click

from ..core.names import TableRef
from .common import TABLE, any_project, emit, project_options, state, table_project

#: the formats of ``datom lineage`` (those of :mod:`datom_engines.site.lineage_text`, loaded when used)
LINEAGE_FORMATS = ("text", "dot", "mermaid", "json")


@click.command()
@click.argument("project_name", required=False, metavar="[PROJECT]")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the site into this local directory [default: into the store, under .site/].",
)
@click.option("--full", is_flag=True, help="Read every table again and rewrite every page [default: what changed].")
@click.option(
    "--auto/--no-auto",
    default=None,
    help="Update the in-store site after every write from now on (or stop doing so) [default: unchanged].",
)
@project_options
def site(project_name: str | None, out: Path | None, full: bool, auto: bool | None) -> None:
    """Write a static, browsable catalog of the project: tables, histories, diffs, columns, lineage.

    By default the site goes into the project's store (under its namespace, in .site/), so everyone who
    can read the store can open it: from a local store with the file:// URL printed here, or through
    the object store's static website hosting. Only pages whose content changed are written; the
    reference format's files are never touched. Needs write access to the store, not a clone.
    """
    if out is not None and auto:
        raise click.UsageError("--auto keeps the in-store site up to date; it cannot be used with --out")
    from ..site import build_site

    proj = any_project(project_name)
    result = build_site(proj, out=out, auto=auto, full=full)

    def text() -> str:
        lines = [
            f"Wrote {result.pages_written} page(s) of {result.project} ({result.unchanged} unchanged) "
            f"to {result.location} in {result.seconds:.2f} s",
            f"Open: {result.url}",
        ]
        if result.auto:
            lines.append("The site is updated after every write (datom site --no-auto turns that off).")
        return "\n".join(lines)

    emit(result.to_dict(), text)


@click.command(name="lineage")
@click.argument("table", type=TABLE)
@click.option("--version", "version", default=None, help="A version id, unique prefix or tag [default: current].")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(LINEAGE_FORMATS),
    default="text",
    show_default=True,
    help="text (a tree), dot (Graphviz), mermaid (Markdown diagrams) or json.",
)
@project_options
def lineage_cmd(table: TableRef, version: str | None, fmt: str) -> None:
    """Show what a table version was built from: its parents, their parents, and its raw sources.

    Parents in other projects are followed when that project can be opened (through governance).
    --json is the same as --format json.
    """
    from ..site import lineage, render_lineage

    proj, name = table_project(table)
    graph = lineage(TableRef(proj.name, name), version=version, project=proj)
    if state().json:
        emit(graph.to_dict(), "")
        return
    click.echo(render_lineage(graph, fmt))
