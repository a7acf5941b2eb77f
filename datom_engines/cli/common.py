"""Shared pieces of the command line: options, project selection, output (text or JSON) and errors."""

from __future__ import annotations

import errno
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click

from ..core import keys
from ..core.codecs import normalize_compression
from ..core.names import TableRef, validate_name
from ..core.snapshots import validate_tag_name
from ..errors import DatomError, InvalidNameError, StoreError, StoreUnreachableError
from ..project.governance import resolve_project
from ..project.lifecycle import connect, open_project
from ..project.project import Project
from ..storage.location import StoreLocation
from .bars import ProgressBars
from .hints import for_shell, message_for_shell

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
    pending_warnings: list[str] = field(default_factory=list)  # --json: not yet put into an output object

    def warn(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        """``warnings.showwarning`` while a command runs: ``warning: <message>`` instead of file:line noise.

        In text mode the line goes to stderr at once; with ``--json`` it waits for the output object
        (:func:`emit` puts it under ``"warnings"``), and whatever no object took is printed on stderr
        at the end (:meth:`flush_warnings`).
        """
        text = for_shell(str(message)) or ""
        if self.json:
            if text not in self.pending_warnings:
                self.pending_warnings.append(text)
        else:
            click.echo(f"warning: {text}", err=True)

    def take_warnings(self) -> list[str]:
        """The warnings not yet shown (``--json`` mode), and forget them."""
        taken, self.pending_warnings = self.pending_warnings, []
        return taken

    def flush_warnings(self) -> None:
        """Print the warnings no JSON output object took, on stderr."""
        for text in self.take_warnings():
            click.echo(f"warning: {text}", err=True)

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


def storage_options_option(f: F) -> F:
    """A repeatable ``--storage-option KEY=VALUE`` collected into the :class:`State`."""
    return click.option(
        "--storage-option",
        "storage_option",
        multiple=True,
        metavar="KEY=VALUE",
        expose_value=False,
        callback=_set("storage_options"),
        help="Store credentials/settings, repeatable (e.g. aws_endpoint_url=http://...). "
        "Prefer the usual AWS_* environment variables for secrets.",
    )(f)


COMPRESSION_HELP = (
    "Parquet codecs: auto (per column, measured on a sample), zstd, snappy, lz4, gzip or none, or COLUMN=CODEC "
    "(repeatable; other columns auto) [default: the project's setting, see `datom compression`]."
)


def compression_option(f: F) -> F:
    """A repeatable ``--compression CODEC|COLUMN=CODEC`` passed to the command as ``compression``."""
    return click.option("--compression", "compression", multiple=True, metavar="CODEC", help=COMPRESSION_HELP)(f)


def parse_compression(values: Sequence[str], *, param: str = "'--compression'") -> str | dict[str, str] | None:
    """``--compression`` values as a ``compression=`` setting (None when not given); usage error when bad.

    ``param`` names what the user typed in the usage error (``'CODEC'`` for ``datom compression CODEC``).
    """
    if not values:
        return None
    pairs = [v.partition("=") for v in values]
    if all(sep for _, sep, _ in pairs):
        setting: str | dict[str, str] = {k.strip(): v.strip() for k, _, v in pairs}
    elif len(values) == 1:
        setting = values[0]
    else:
        raise click.BadParameter("give one codec, or COLUMN=CODEC items (other columns stay auto)", param_hint=param)
    try:
        return normalize_compression(setting)
    except DatomError as exc:
        raise click.BadParameter(f"{exc.message} ({exc.hint})", param_hint=param) from None


READ_STORE_HELP = (
    "The store (a directory or s3://bucket/prefix): enough to read, no clone needed; "
    "with a clone it overrides the recorded store [env DATOM_STORE]."
)
WRITE_STORE_HELP = (
    "Use this store (a directory or s3://bucket/prefix) instead of the one recorded in the clone; "
    "writing always needs a clone (`datom clone`) [env DATOM_STORE]."
)


def store_options(f: F, store_help: str = READ_STORE_HELP) -> F:
    """``--store URL`` (env ``DATOM_STORE``) and repeatable ``--storage-option KEY=VALUE``."""
    return click.option(
        "--store",
        metavar="URL",
        envvar="DATOM_STORE",
        expose_value=False,
        callback=_set("store"),
        help=store_help,
    )(storage_options_option(f))


def project_options(f: F) -> F:
    """Project selection for commands that read (``--repo``, ``--store``, ``--storage-option``), ``--json``
    and ``--no-progress``."""
    return repo_option(store_options(json_option(progress_option(f))))


def clone_options(f: F) -> F:
    """Project selection for commands that write (a clone; ``--store`` only overrides its store), ``--json``
    and ``--no-progress``."""
    return repo_option(store_options(json_option(progress_option(f)), WRITE_STORE_HELP))


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


def tag_name_arg(value: str | None) -> str | None:
    """Validate a tag name given on the command line (usage error when bad)."""
    if value is None:
        return None
    try:
        return validate_tag_name(value)
    except InvalidNameError as exc:
        raise click.BadParameter(f"{exc.message} ({exc.hint})") from exc


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


class ProjectUsageError(click.UsageError):
    """A usage error about which project a command works on (exit 2), with a hint and a JSON type."""

    def __init__(self, kind: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.hint = hint


_CLONE_HINT = "make one with `datom clone REMOTE DIR`, then run the command inside DIR (or pass --repo DIR)"


def _not_a_clone(path: Path) -> ProjectUsageError:
    what = "does not exist" if not path.exists() else f"is not a datom project clone (no {keys.PROJECT_YAML_PATH})"
    return ProjectUsageError(
        "NotACloneError",
        f"{path} {what}",
        "pass --repo with the root of a clone (the folder holding .datom/), or " + _CLONE_HINT,
    )


def developer_project() -> Project:
    """The clone selected by ``--repo`` (default: the one containing the current directory)."""
    st = state()
    path = Path(st.repo) if st.repo else find_clone()
    if path is None:
        if st.store:
            raise ProjectUsageError(
                "NoCloneError",
                "this command writes, and writing needs a clone of the project's data repo: "
                "--store alone gives read-only access",
                _CLONE_HINT + "; --store then only overrides the clone's recorded store",
            )
        raise ProjectUsageError(
            "NoCloneError",
            "no datom project clone here, and this command writes (writing needs a clone of the data repo)",
            "run it inside a clone or pass --repo DIR; without a clone yet, make one with `datom clone REMOTE DIR`",
        )
    if not (path / keys.PROJECT_YAML_PATH).is_file():
        raise _not_a_clone(path)
    return open_project(path, store=st.store, storage_options=st.storage_options or None)


def project_mismatch(where: str, holds: str, wanted: str) -> ProjectUsageError:
    return ProjectUsageError(
        "ProjectMismatchError",
        f"{where} holds project {holds!r}, not {wanted!r}",
        f"name the table {holds}.TABLE, or pass --store URL or --repo PATH for project {wanted!r}",
    )


def any_project(project_name: str | None = None) -> Project:
    """The project to read: ``--store`` (reader), else ``--repo``/current clone, else by name (registry)."""
    st = state()
    options = st.storage_options or None
    if st.store:
        try:
            proj = connect(st.store, storage_options=options)
        except StoreError as exc:  # a corrupt manifest: a named project's tables still read by name
            if not project_name or isinstance(exc, StoreUnreachableError):
                raise
            proj = connect(st.store, project=project_name, storage_options=options)
        if project_name and proj.name != project_name:
            raise project_mismatch(f"the store {store_url(proj.location)}", proj.name, project_name)
        return proj
    path = Path(st.repo) if st.repo else find_clone()
    if path is not None:
        if not (path / keys.PROJECT_YAML_PATH).is_file():
            raise _not_a_clone(path)
        proj = open_project(path, storage_options=options)
        if project_name and proj.name != project_name:
            raise project_mismatch(f"the clone at {path}", proj.name, project_name)
        return proj
    if project_name:
        return resolve_project(project_name, options)
    raise ProjectUsageError(
        "NoProjectError",
        "no datom project here",
        "run inside a project clone, or pass --repo PATH (a clone) or --store URL (read-only)",
    )


def table_project(ref: TableRef, developer: bool = False) -> tuple[Project, str]:
    """The project of a table argument (``proj.table`` names the project) and the table name."""
    if developer:
        proj = developer_project()
        if ref.project and ref.project != proj.name:
            raise project_mismatch(f"the clone at {proj.path}", proj.name, ref.project)
        return proj, ref.table
    return any_project(ref.project or None), ref.table


def store_url(location: StoreLocation) -> str:
    """The store as a user passes it to ``--store``: the directory or ``s3://bucket/prefix``.

    Not the ``.../datom`` namespace inside it. A local store with a prefix is the directory
    ``root/prefix``, which names the same namespace.
    """
    if location.is_local and location.prefix:
        return os.path.join(location.root, *location.prefix.split("/"))
    return location.store_url


# ----- output ----------------------------------------------------------------------------------------


def emit(data: Any, text: str | Callable[[], str]) -> None:
    """Print ``data`` as JSON with ``--json``, else the human ``text``.

    With ``--json``, warnings raised so far go under the key ``"warnings"`` when ``data`` is an object
    (the key is absent when there were none); for a list they are printed on stderr instead.
    """
    st = state()
    if st.json:
        if isinstance(data, dict):
            pending = st.take_warnings()
            if pending:
                data = {**data, "warnings": pending}
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


def integral(value: float | int | None) -> float | int | None:
    """``value`` as an ``int`` when it is a whole number (``4696.0`` -> ``4696``), else unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_OS_HINTS = {
    errno.ENOENT: "check the path; create missing directories first",
    errno.ENOTDIR: "check the path: a part of it is a file, not a directory",
    errno.EISDIR: "give a file name, not a directory",
    errno.EACCES: "check the permissions of the path, or choose another one",
    errno.EPERM: "check the permissions of the path, or choose another one",
    errno.EROFS: "the file system is read-only; choose another path",
    errno.ENOSPC: "free some disk space (or choose another disk) and retry",
    errno.EDQUOT: "free some disk space (or choose another disk) and retry",
    errno.EEXIST: "remove it, or choose another path",
}


def describe_os_error(exc: OSError, action: str = "") -> tuple[str, str]:
    """The message (naming the path) and hint for an operating-system error.

    Polars raises ``OSError("No space left on device (os error 28): path")`` without ``errno``: the
    code is read from the text then.
    """
    code, reason = exc.errno, exc.strerror
    if code is None:
        found = re.search(r"\(os error (\d+)\)", str(exc))
        if found:
            code = int(found.group(1))
            reason = os.strerror(code)
    reason = reason or str(exc)
    path = exc.filename
    if path is not None:
        where = f"cannot {action} {os.fsdecode(path)}" if action else os.fsdecode(path)
        message = f"{where}: {reason}"
    else:
        message = f"cannot {action}: {reason}" if action else reason
    return message, _OS_HINTS.get(code or 0, "")


def error_fields(exc: BaseException) -> tuple[str, str, str]:
    """``(type, message, hint)`` of an error, in shell terms."""
    kind = getattr(exc, "kind", None) or type(exc).__name__
    if isinstance(exc, DatomError):
        return kind, message_for_shell(exc.message), for_shell(exc.hint) or ""
    if isinstance(exc, ProjectUsageError):
        return kind, exc.format_message(), exc.hint
    if isinstance(exc, click.UsageError):
        command = exc.ctx.command_path if exc.ctx is not None else "datom"
        return "UsageError", exc.format_message(), f"see `{command} --help`"
    if isinstance(exc, OSError):
        message, hint = describe_os_error(exc)
        return kind, message, hint
    return kind, str(exc), ""


def report_error(exc: BaseException, st: State) -> None:
    """Print an error for people (stderr) or scripts (``--json``: a JSON object on stdout).

    The JSON object is ``{"error": {"type", "message", "hint"}}``, plus ``"warnings"`` (a list) when
    warnings were raised before the error.
    """
    kind, message, hint = error_fields(exc)
    if st.json:
        out: dict[str, Any] = {"error": {"type": kind, "message": message, "hint": hint or None}}
        pending = st.take_warnings()
        if pending:
            out["warnings"] = pending
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
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
