"""Shared pieces of the command line: options, project selection, output (text or JSON) and errors."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from ..core import keys
from ..core.names import TableRef, validate_name
from ..errors import DatomError, InvalidNameError
from ..project.lifecycle import connect, open_project
from ..project.project import Project
from ..project.registry import resolve_project
from .bars import ProgressBars

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class State:
    """Per-invocation settings shared by the root group and the subcommands."""

    json: bool = False
    progress: bool | None = None  # None: bars when stderr is a terminal
    repo: str | None = None
    store: str | None = None
    storage_options: dict[str, str] = field(default_factory=dict)
    bars: ProgressBars | None = None

    def progress_bars(self) -> ProgressBars:
        """The progress callable for this invocation (draws nothing when disabled or not a terminal)."""
        if self.bars is None:
            self.bars = ProgressBars(enabled=self.progress)  # --progress forces, --no-progress silences
        return self.bars


def state() -> State:
    """The :class:`State` of the running command."""
    return click.get_current_context().ensure_object(State)


# ----- options ---------------------------------------------------------------------------------------


def _set(attr: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        st = ctx.ensure_object(State)
        if attr == "storage_options":
            st.storage_options.update(parse_storage_options(value))
        elif value is not None and value != ():
            setattr(st, attr, value)
        return value

    return callback


def parse_storage_options(values: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in values or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="'--storage-option'")
        out[key.strip()] = value
    return out


def json_option(f: F) -> F:
    """``--json``: machine-readable output on stdout."""
    return click.option(
        "--json",
        "json_output",
        is_flag=True,
        default=False,
        expose_value=False,
        is_eager=True,
        callback=_set("json"),
        help="Print JSON for scripts instead of text.",
    )(f)


def progress_option(f: F) -> F:
    """``--no-progress``: never draw progress bars."""
    return click.option(
        "--progress/--no-progress",
        default=None,
        expose_value=False,
        callback=_set("progress"),
        help="Force or turn off progress bars on stderr [default: only when stderr is a terminal].",
    )(f)


def repo_option(f: F) -> F:
    """``--repo PATH`` (env ``DATOM_REPO``): the local clone."""
    return click.option(
        "--repo",
        type=click.Path(file_okay=False, path_type=str),
        envvar="DATOM_REPO",
        expose_value=False,
        callback=_set("repo"),
        help="The project's local git clone [default: the clone containing the current directory; env DATOM_REPO].",
    )(f)


def storage_option_param(f: F) -> F:
    """A repeatable ``--storage-option KEY=VALUE`` passed to the command as ``storage_option``."""
    return click.option(
        "--storage-option",
        "storage_option",
        multiple=True,
        metavar="KEY=VALUE",
        help="Store credentials/settings, repeatable.",
    )(f)


def store_options(f: F) -> F:
    """``--store URL`` (env ``DATOM_STORE``) and repeatable ``--storage-option KEY=VALUE``."""
    f = click.option(
        "--storage-option",
        "storage_option",
        multiple=True,
        metavar="KEY=VALUE",
        expose_value=False,
        callback=_set("storage_options"),
        help="Store credentials/settings, repeatable (e.g. aws_endpoint_url=http://...). "
        "Prefer the usual AWS_* environment variables for secrets.",
    )(f)
    return click.option(
        "--store",
        metavar="URL",
        envvar="DATOM_STORE",
        expose_value=False,
        callback=_set("store"),
        help="The store (a directory or s3://bucket/prefix): enough to read, no clone needed; "
        "with a clone it overrides the recorded store [env DATOM_STORE].",
    )(f)


def project_options(f: F) -> F:
    """Project selection (``--repo``, ``--store``, ``--storage-option``), ``--json`` and ``--no-progress``."""
    return repo_option(store_options(json_option(progress_option(f))))


# ----- names -----------------------------------------------------------------------------------------


class TableArg(click.ParamType):
    """A table name, or a ``project.table`` reference; bad names are usage errors (exit 2)."""

    name = "TABLE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> TableRef:
        if isinstance(value, TableRef):
            return value
        try:
            if "." in value:
                return TableRef.parse(value)
            return TableRef("", validate_name(value))
        except InvalidNameError as exc:
            self.fail(f"{exc.message} ({exc.hint})", param, ctx)


TABLE = TableArg()


def name_arg(value: str, what: str = "project name") -> str:
    """Validate a name given on the command line (usage error when bad)."""
    try:
        return validate_name(value, what)
    except InvalidNameError as exc:
        raise click.BadParameter(f"{exc.message} ({exc.hint})") from exc


# ----- project selection -----------------------------------------------------------------------------


def find_clone(start: Path | None = None) -> Path | None:
    """The nearest directory at or above ``start`` (default: cwd) holding ``.datom/project.yaml``."""
    here = (start or Path.cwd()).absolute()
    for d in (here, *here.parents):
        if (d / keys.PROJECT_YAML_PATH).is_file():
            return d
    return None


_NO_PROJECT = "no datom project here: run inside a project clone, or pass --repo PATH (a clone) or --store URL"


def developer_project() -> Project:
    """The clone selected by ``--repo`` (default: the one containing the current directory)."""
    st = state()
    path = Path(st.repo) if st.repo else find_clone()
    if path is None:
        raise click.UsageError(_NO_PROJECT.replace(" or --store URL", "") + " (this command writes)")
    if not (path / keys.PROJECT_YAML_PATH).is_file():
        raise click.UsageError(f"{path} is not a datom project clone (no {keys.PROJECT_YAML_PATH})")
    return open_project(path, store=st.store, storage_options=st.storage_options or None)


def any_project(project_name: str | None = None) -> Project:
    """The project to read: ``--store`` (reader), else ``--repo``/current clone, else by name (registry)."""
    st = state()
    options = st.storage_options or None
    if st.store:
        return connect(st.store, project=project_name or None, storage_options=options)
    path = Path(st.repo) if st.repo else find_clone()
    if path is not None:
        if not (path / keys.PROJECT_YAML_PATH).is_file():
            raise click.UsageError(f"{path} is not a datom project clone (no {keys.PROJECT_YAML_PATH})")
        proj = open_project(path, storage_options=options)
        if project_name and proj.name != project_name:
            raise click.UsageError(
                f"the clone at {path} holds project {proj.name!r}, not {project_name!r}; "
                "pass --store URL or --repo PATH for that project"
            )
        return proj
    if project_name:
        return resolve_project(project_name, options)
    raise click.UsageError(_NO_PROJECT)


def table_project(ref: TableRef, developer: bool = False) -> tuple[Project, str]:
    """The project of a table argument (``proj.table`` names the project) and the table name."""
    if developer:
        proj = developer_project()
        if ref.project and ref.project != proj.name:
            raise click.UsageError(f"the clone holds project {proj.name!r}, not {ref.project!r}")
        return proj, ref.table
    return any_project(ref.project or None), ref.table


# ----- output ----------------------------------------------------------------------------------------


def emit(data: Any, text: str | Callable[[], str]) -> None:
    """Print ``data`` as JSON with ``--json``, else the human ``text``."""
    if state().json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(text() if callable(text) else text)


def format_table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """Left-aligned columns with a header line; ``None`` shows as ``-``."""
    cells = [[("-" if v is None else str(v)) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def human_size(n: float | int | None) -> str:
    """Bytes in human units (``4.1 KiB``)."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def short(sha: str | None) -> str | None:
    """The 8-character display form of a hash."""
    return sha[:8] if sha else None


def report_error(exc: BaseException, as_json: bool) -> None:
    """Print an error for people (stderr) or scripts (a JSON object on stdout)."""
    if isinstance(exc, DatomError):
        kind, message, hint = type(exc).__name__, exc.message, exc.hint
    else:
        kind, message, hint = type(exc).__name__, str(exc), ""
    if as_json:
        click.echo(json.dumps({"error": {"type": kind, "message": message, "hint": hint or None}}, indent=2))
    else:
        click.echo(f"error: {message}", err=True)
        if hint:
            click.echo(f"  hint: {hint}", err=True)


def debug_enabled() -> bool:
    """``DATOM_DEBUG=1`` shows full tracebacks of unexpected errors."""
    return os.environ.get("DATOM_DEBUG", "") not in ("", "0")


def stdout_is_terminal() -> bool:
    """True when stdout is an interactive terminal."""
    return sys.stdout.isatty()
