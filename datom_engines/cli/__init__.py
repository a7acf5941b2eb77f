"""The ``datom`` command line (also ``python -m datom_engines``).

Plain text for people, ``--json`` for scripts; exit codes: 0 ok, 1 the command failed (the message says
why and what to do), 2 the command line itself was wrong (unknown option, missing argument, bad name).
Commands that write work on a local clone (``--repo``, default: the clone containing the current
directory); commands that read also work from the store alone (``--store URL``).

Optional command groups live in modules of this package listed in ``OPTIONAL_GROUPS``: each defines a
click command or group named ``command`` and is added when the module exists (``gov``: governance, from
the object-store work).
"""

from __future__ import annotations

import importlib
import sys
import traceback
from collections.abc import Sequence

import click

from .._version import __version__
from ..errors import DatomError
from .common import State, debug_enabled, report_error
from .read_cmds import diff, history, read, status, tables
from .write_cmds import clone, init, pull, sync, validate, write

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
      datom read STUDY1.lb --store /data/store        # a reader: no git needed

    Every command has --help; --json prints machine-readable output. Exit codes: 0 ok, 1 failure,
    2 usage error.
    """


for _command in (init, clone, pull, write, sync, tables, history, read, diff, status, validate):
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
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    state = State()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rv = cli.main(args=args, prog_name="datom", standalone_mode=False, obj=state)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return 1
    except DatomError as exc:
        report_error(exc, state.json)
        return 1
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # an unexpected failure: say what it was, without a wall of traceback
        if debug_enabled():
            traceback.print_exc()
        report_error(exc, state.json)
        if not state.json:
            click.echo("  (unexpected error; set DATOM_DEBUG=1 for the traceback)", err=True)
        return 1
    finally:
        if state.bars is not None:
            state.bars.close()
    return rv if isinstance(rv, int) else 0


__all__ = ["cli", "main"]
