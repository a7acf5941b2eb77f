"""``datom gov``: the governance store that tells readers where each project's data lives."""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from ..project.governance import (
    ENV_GOVERNANCE,
    Governance,
    init_governance,
    list_projects,
    migrate_project,
    open_governance,
    register_project,
)
from .common import (
    developer_project,
    emit,
    format_table,
    json_option,
    project_mismatch,
    repo_option,
    state,
    storage_options_option,
)


def _gov_repo_option(f: Any) -> Any:
    return click.option(
        "--gov-repo",
        type=click.Path(file_okay=False, path_type=str),
        default=None,
        help="A local clone of the governance git repo (the change is committed and pushed there too).",
    )(f)


def _gov_url_option(f: Any) -> Any:
    return click.option(
        "--gov",
        "gov_url",
        metavar="URL",
        envvar=ENV_GOVERNANCE,
        required=True,
        help=f"The governance store (a directory or s3://bucket/prefix) [env {ENV_GOVERNANCE}].",
    )(f)


def _open(gov_url: str, gov_repo: str | None) -> Governance:
    return open_governance(gov_url, storage_options=state().storage_options or None, repo=gov_repo)


def _record(value: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dataclasses.asdict(value).items()}


@click.group()
def command() -> None:
    """Governance: register projects, list them, migrate a project's data to another store.

    \b
    A governance store holds projects/<name>/ref.json (where the data lives now), so readers can
    open "STUDY1.lb" by name: set DATOM_GOVERNANCE (or pass --gov) and read.
      datom gov init --gov s3://acme-gov/org --path acme-gov --remote https://git.example.org/gov.git
      datom gov register --gov s3://acme-gov/org             # inside a project clone
      datom gov list --gov s3://acme-gov/org
      datom gov migrate STUDY1 s3://acme-data-eu/study1 --gov s3://acme-gov/org --reason "EU residency"
    """


@command.command("init")
@_gov_url_option
@click.option(
    "--path",
    type=click.Path(file_okay=False, path_type=str),
    default=None,
    help="Also create a governance git repo here (needs --remote).",
)
@click.option("--remote", default=None, help="Git remote of the new governance repo (a URL, or a bare repo path).")
@storage_options_option
@json_option
def gov_init(gov_url: str, path: str | None, remote: str | None) -> None:
    """Create a governance store (and optionally its git repo)."""
    gov = init_governance(gov_url, storage_options=state().storage_options or None, path=path, remote=remote)
    emit(
        {"governance": gov.location.store_url, "repo": str(gov.repo.path) if gov.repo else None},
        f"governance store ready at {gov.location.store_url}" + (f" (repo {gov.repo.path})" if gov.repo else ""),
    )


@command.command("register")
@_gov_url_option
@_gov_repo_option
@click.option("--force", is_flag=True, help="Overwrite an existing registration of this project.")
@repo_option
@storage_options_option
@json_option
def gov_register(gov_url: str, gov_repo: str | None, force: bool) -> None:
    """Register the project of this clone (or --repo) in the governance store."""
    proj = developer_project()
    registered = register_project(proj, governance=_open(gov_url, gov_repo), force=force)
    emit(
        _record(registered),
        f"registered {registered.name}: data at {registered.data_backend}://"
        f"{registered.data_root}{'/' + registered.data_prefix if registered.data_prefix else ''}",
    )


@command.command("list")
@_gov_url_option
@storage_options_option
@json_option
def gov_list(gov_url: str) -> None:
    """List the registered projects and where their data lives.

    \b
    --json prints a list of objects with the fields:
      name, data_backend, data_root, data_prefix, data_region, registered_at
    """
    projects = list_projects(_open(gov_url, None))
    rows = [[p.name, p.data_backend, p.data_root, p.data_prefix, p.data_region] for p in projects]
    emit(
        [_record(p) for p in projects],
        lambda: (
            format_table(rows, ["PROJECT", "BACKEND", "ROOT", "PREFIX", "REGION"])
            if rows
            else "no projects are registered"
        ),
    )


@command.command("migrate")
@click.argument("project_name", metavar="PROJECT")
@click.argument("destination", metavar="STORE_URL")
@_gov_url_option
@_gov_repo_option
@click.option("--reason", default=None, help="Why the data moves (recorded in migration_history.json).")
@click.option("--sunset-at", default=None, help="When the old location stops being served (ISO date).")
@repo_option
@storage_options_option
@json_option
def gov_migrate(
    project_name: str, destination: str, gov_url: str, gov_repo: str | None, reason: str | None, sunset_at: str | None
) -> None:
    """Copy a project's data to STORE_URL, verify every object, and point ref.json at it.

    Run inside the project's clone (or with --repo) so project.yaml's store is updated in the same move.
    """
    proj = developer_project()
    if proj.name != project_name:
        raise project_mismatch(f"the clone at {proj.path}", proj.name, project_name)
    result = migrate_project(
        project_name,
        destination,
        governance=_open(gov_url, gov_repo),
        project=proj,
        storage_options=state().storage_options or None,
        reason=reason,
        sunset_at=sunset_at,
    )
    emit(
        _record(result),
        f"migrated {result.project}: {result.objects} objects ({result.copied} copied, "
        f"{result.bytes} bytes) from {result.source} to {result.destination}; every object verified",
    )
