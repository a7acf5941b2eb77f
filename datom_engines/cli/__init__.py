"""The ``datom`` command line (also ``python -m datom_engines``).

Plain text for people, ``--json`` for scripts; exit codes: 0 ok, 1 the command failed (the message says
why and what to do), 2 the command line itself was wrong (unknown option, missing argument, bad name).
Commands that write work on a local clone (``--repo``, default: the clone containing the current
directory; ``--store`` there only overrides the clone's store); commands that read also work from the
store alone (``--store URL``). Errors show hints in shell terms (:mod:`.hints`); with ``--json`` every
error, usage errors included, is ``{"error": {"type", "message", "hint"}}`` on stdout. Warnings print
as ``warning: <message>`` on stderr, or with ``--json`` under ``"warnings"`` of an output object.

Optional command groups live in modules of this package listed in ``OPTIONAL_GROUPS``: each defines a
click command or group named ``command`` and is added when the module exists (``gov``: governance, from
the object-store work).
"""

from __future__ import annotations

import importlib
import sys
import traceback
import warnings
from collections.abc import Sequence

import click

from .._version import __version__
from ..errors import DatomError
from .common import ProjectUsageError, State, debug_enabled, report_error
from .read_cmds import diff, history, read, status, tables, tags, verify
from .site_cmds import lineage_cmd, site
from .write_cmds import clone, compression, init, pull, sync, tag, validate, write

OPTIONAL_GROUPS = ("gov",)


class _OrderedGroup(click.Group):
    """Lists commands in the order they were added (workflow order), not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(cls=_OrderedGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="datom")
def cli() -> None:
    """Versioned, content-addressed tables: a git repo of metadata plus an object store of parquet.

    \b
    Typical session:
      datom init study1 --project STUDY1 --store /data/store --remote /git/study1.git
      cd study1 && cp ~/extract/*.csv input_files/
      datom sync --dry-run && datom sync
      datom tables && datom history lb
      datom read lb --version 1a2b3c4d -o lb.parquet
      datom tag dblock-1 -m "database lock" && datom read lb --tag dblock-1
      datom verify && datom validate --deep           # hash the stored data objects
      datom read STUDY1.lb --store /data/store        # a reader: no git needed
      datom site --auto && datom lineage lbdm          # a browsable catalog in the store; lineage

    Every command has --help; --json prints machine-readable output. Exit codes: 0 ok, 1 failure,
    2 usage error.
    """


for _command in (
    init,
    clone,
    pull,
    write,
    sync,
    tag,
    tables,
    history,
    read,
    verify,
    diff,
    tags,
    lineage_cmd,
    status,
    validate,
    site,
    compression,
):
    cli.add_command(_command)

for _name in OPTIONAL_GROUPS:
    try:
        _module = importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"{__name__}.{_name}":
            raise
        continue
    cli.add_command(_module.command, _name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit code.

    Warnings raised while the command runs are shown as ``warning: <message>`` on stderr; with
    ``--json`` they go under ``"warnings"`` of the output object when the output is an object (see
    :func:`.common.emit`), else on stderr.
    """
    state = State()
    args = list(sys.argv[1:] if argv is None else argv)
    with warnings.catch_warnings():
        warnings.showwarning = state.warn
        try:
            return _run(args, state)
        finally:
            state.flush_warnings()


def _wants_json(args: list[str], state: State) -> bool:
    """``--json`` was given (also when the error came before click read it)."""
    options = args[: args.index("--")] if "--" in args else args
    return state.json or "--json" in options


def _run(args: list[str], state: State) -> int:
    try:
        rv = cli.main(args=args, prog_name="datom", standalone_mode=False, obj=state)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.ClickException as exc:  # usage errors (exit 2), in JSON too with --json
        if isinstance(exc, click.UsageError) and _wants_json(args, state):
            state.json = True
            report_error(exc, state)
        elif isinstance(exc, ProjectUsageError):
            report_error(exc, state)
        else:
            exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return 1
    except DatomError as exc:
        report_error(exc, state)
        return 1
    except OSError as exc:  # missing directory, permission denied, disk full...: an ordinary failure
        report_error(exc, state)
        return 1
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # an unexpected failure: say what it was, without a wall of traceback
        if debug_enabled():
            traceback.print_exc()
        report_error(exc, state)
        if not state.json:
            click.echo("  (unexpected error; set DATOM_DEBUG=1 for the traceback)", err=True)
        return 1
    finally:
        if state.bars is not None:
            state.bars.close()
    return rv if isinstance(rv, int) else 0


__all__ = ["cli", "main"]
