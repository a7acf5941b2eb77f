"""Commands that create or change a project: init, clone, pull, write, sync, tag, validate."""

from __future__ import annotations

from pathlib import Path

import click

from ..core import keys
from ..core.display import short
from ..core.names import TableRef
from ..project.lifecycle import clone_project, init_project
from ..project.sync import SyncError, SyncResult
from ..project.validation import NO_COPY_HINT
from ..storage.location import StoreLocation
from .common import (
    TABLE,
    clone_options,
    compression_option,
    emit,
    format_table,
    json_option,
    name_arg,
    parse_compression,
    parse_storage_options,
    state,
    storage_option_param,
    store_url,
    table_project,
    tag_name_arg,
)
from .common import developer_project as _developer_project
from .hints import for_shell, message_for_shell


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--project",
    "-p",
    "project_name",
    required=True,
    help="Project name (a letter, then letters, digits, _ - space ( )).",
)
@click.option("--store", required=True, metavar="URL", help="Where the data goes: a directory or s3://bucket/prefix.")
@click.option(
    "--remote",
    required=True,
    metavar="URL",
    help="Git remote of the data repo (a URL, or a bare repo path, created if missing).",
)
@click.option("--prefix", default=None, help="Prefix inside the store (one bucket can hold several projects).")
@storage_option_param
@click.option("--force", is_flag=True, help="Take over a store namespace that already holds a project.")
@json_option
def init(
    path: Path,
    project_name: str,
    store: str,
    remote: str,
    prefix: str | None,
    storage_option: tuple[str, ...],
    force: bool,
) -> None:
    """Create a project: a data repo at PATH and a store namespace.

    The repo is pushed to --remote (a git URL, or a bare repo path, created if missing).

    \b
    Example:
      datom init study1 --project STUDY1 --store /data/store --remote /git/study1.git
    """
    name = name_arg(project_name)
    proj = init_project(
        path,
        name,
        store=store,
        remote=remote,
        prefix=prefix,
        storage_options=parse_storage_options(storage_option) or None,
        force=force,
    )
    store = store_url(proj.location)
    emit(
        {
            "project": proj.name,
            "path": str(proj.path),
            "store": store,
            "remote": proj.repo.remote_url if proj.repo else None,
        },
        f"Created project {proj.name} in {proj.path}\n"
        f"  store:  {store}\n"
        f"  remote: {proj.repo.remote_url if proj.repo else '-'}\n"
        f"Put source files in {proj.path}/input_files and run `datom sync` there.",
    )


@click.command()
@click.argument("remote")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--store", default=None, metavar="URL", help="Use this store instead of the one recorded in the project.")
@click.option("--prefix", default=None, help="Prefix inside --store.")
@storage_option_param
@json_option
def clone(remote: str, path: Path, store: str | None, prefix: str | None, storage_option: tuple[str, ...]) -> None:
    """Clone a project's data repo from REMOTE into PATH, to write from it.

    The clone gets an empty input_files/ folder (git-ignored) for `datom sync`.
    """
    proj = clone_project(
        remote, path, store=store, prefix=prefix, storage_options=parse_storage_options(storage_option) or None
    )
    root = Path(proj.path) if proj.path is not None else path
    (root / keys.INPUT_DIR).mkdir(exist_ok=True)
    shown = store_url(proj.location)
    emit(
        {"project": proj.name, "path": str(proj.path), "store": shown},
        f"Cloned project {proj.name} into {proj.path}\n  store: {shown}\n"
        f"Put source files in {root / keys.INPUT_DIR} and run `datom sync` there.",
    )


@click.command()
@clone_options
def pull() -> None:
    """Fetch and merge the remote into the local clone."""
    result = _developer_project().pull()
    emit(
        {"commits_pulled": result.commits_pulled, "branch": result.branch, "head": result.head},
        f"Pulled {result.commits_pulled} commit(s); {result.branch} is at {short(result.head) or '-'}",
    )


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("table", type=TABLE, required=False)
@click.option(
    "--format",
    "fmt",
    default=None,
    metavar="EXT",
    help="Read FILE as this format (csv, parquet, xlsx, xpt, ...) [default: its extension].",
)
@click.option("--message", "-m", default=None, help="Commit message [default: 'Write TABLE from FILE'].")
@compression_option
@clone_options
def write(
    file: Path, table: TableRef | None, fmt: str | None, message: str | None, compression: tuple[str, ...]
) -> None:
    """Write a file (CSV, parquet, Excel, SAS...) as a table version.

    TABLE defaults to FILE's name without its extension.

    The version is recorded as imported, with the file's SHA-256 (original_file_sha), exactly as
    `datom sync` would record it. Writing identical content again creates nothing.
    """
    st = state()
    codecs = parse_compression(compression)
    if table is not None:
        proj, name = table_project(table, developer=True)
    else:
        proj, name = _developer_project(), None
    try:
        result = proj.write_file(
            file, name, format=fmt, message=message, progress=st.progress_bars(), compression=codecs
        )
    finally:
        st.progress_bars().close()
    verb = {"full": "new version", "metadata_only": "new version (same data, new metadata)", "none": "no change"}
    emit(
        {**result.to_dict(), "file": str(file.absolute())},
        f"{result.ref}: {verb[result.change]} {result.short_version} ({result.nrow} rows x {result.ncol} columns)",
    )


def _shell_note(error: str | None) -> str | None:
    """A file's error note (``message (hint: ...)``) in shell terms."""
    return for_shell(message_for_shell(error)) if error else error


def _sync_dict(result: SyncResult) -> dict[str, object]:
    data = result.to_dict()
    data["files"] = [{**f, "error": _shell_note(f.get("error"))} for f in data["files"]]
    return data


def _sync_text(result: SyncResult) -> str:
    rows = []
    for r in result.files:
        note = _shell_note(r.error) or ""
        if r.result == "planned":
            note = note or "would write"
        rows.append([r.file.path.name, r.file.name, r.file.status, r.result, r.change, short(r.version), r.nrow, note])
    table = format_table(rows, ["FILE", "TABLE", "STATUS", "RESULT", "CHANGE", "VERSION", "ROWS", "NOTE"])
    counts = result.counts()
    if result.dry_run:
        tail = (
            f"dry run: {counts['planned']} to write, {counts['skipped']} unchanged, {counts['error']} error(s); "
            "nothing written"
        )
    else:
        tail = f"{len(result.written)} written, {counts['skipped']} unchanged, {counts['error']} error(s)"
    if not result.files:
        return f"no files matching {result.plan.pattern!r} in {result.plan.directory}"
    return f"{table}\n{tail}"


@click.command()
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@click.option("--pattern", default="*", show_default=True, help="Only files whose name matches this glob.")
@click.option("--dry-run", is_flag=True, help="Read and classify the files, print the plan, write nothing.")
@click.option(
    "--continue-on-error/--stop-on-error",
    default=True,
    show_default=True,
    help="On a bad file: record it and go on, or stop (problems found before writing stop before anything is written).",
)
@compression_option
@clone_options
def sync(
    folder: Path | None, pattern: str, dry_run: bool, continue_on_error: bool, compression: tuple[str, ...]
) -> int:
    """Sync a folder of files into table versions.

    FOLDER defaults to the clone's input_files (it must be flat).

    Each file becomes the table named like the file without its extension (dm.csv -> dm). Unchanged
    files (same SHA-256 as recorded) are skipped; a changed file with the same data gives a
    metadata-only version. All files are written in one commit, so readers see the inbox land at once.
    Supported: csv tsv txt psv parquet xlsx xls sas7bdat xpt sav zsav por dta.
    Exit code 1 when any file failed.
    """
    st = state()
    codecs = parse_compression(compression)
    proj = _developer_project()
    try:
        result = proj.sync(
            folder,
            pattern,
            continue_on_error=continue_on_error,
            dry_run=dry_run,
            progress=st.progress_bars(),
            compression=codecs,
        )
    except SyncError as exc:
        st.progress_bars().close()
        if exc.result is not None and not st.json:
            click.echo(_sync_text(exc.result))
        raise
    finally:
        st.progress_bars().close()
    emit(_sync_dict(result), lambda: _sync_text(result))
    return 0 if result.ok else 1


@click.command()
@click.argument("name")
@click.option("--message", "-m", default=None, help="What the snapshot is [default: 'Snapshot NAME'].")
@click.option(
    "--table",
    "-t",
    "tables",
    multiple=True,
    metavar="TABLE",
    help="Tag only this table (repeatable) [default: every table].",
)
@click.option(
    "--sign/--no-sign",
    default=None,
    help="Sign the tag with your git signing key (user.signingKey, gpg.format) [default: git's tag.gpgSign].",
)
@clone_options
def tag(name: str, message: str | None, tables: tuple[str, ...], sign: bool | None) -> None:
    """Record the current version of every table (or of --table ones) as the tag NAME.

    A tag is a named, immutable snapshot (an interim cut, a database lock): an annotated git tag plus a
    record in the store, so readers without git see it. A name is never re-used, also when two clones
    tag at the same moment (exactly one wins). Read it with `datom read TABLE --tag NAME`.
    """
    name = tag_name_arg(name) or name
    proj = _developer_project()
    made = proj.tag(name, message=message, tables=list(tables) or None, sign=sign)
    signed = ", signed" if made.signed else ""
    emit(
        made.to_dict(),
        f"Tagged {len(made.tables)} table(s) of {proj.name} as {made.name} (commit {made.commit[:8]}{signed})",
    )


@click.command()
@click.option("--fix", is_flag=True, help="Rewrite what differs from git; restore damaged data objects from copies.")
@click.option(
    "--deep",
    is_flag=True,
    help="Also re-hash every stored data object of every version and parse every metadata object (slow).",
)
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="STORE",
    help="With --fix: another store holding copies of the data objects (a backup, the pre-migration store).",
)
@clone_options
def validate(fix: bool, deep: bool, sources: tuple[str, ...]) -> int:
    """Check (and --fix) the store against git.

    A quick check compares the metadata mirror with git and checks that each table's current data object
    exists. --deep also hashes every data object of every version (progress bar on a terminal) and
    reports data_corrupt_in_store. --fix rewrites the metadata mirror from git and restores missing or
    corrupted data objects from verified copies (the local read cache, --source stores); bytes are
    uploaded only if they hash to the recorded parquet_sha.

    Exit code 1 when they disagree (after fixing, when --fix is given).
    """
    st = state()
    locations = [StoreLocation.parse(s, storage_options=st.storage_options or None) for s in sources]
    try:
        report = _developer_project().validate(repair=fix, deep=deep, sources=locations, progress=st.progress_bars())
    finally:
        st.progress_bars().close()

    def text() -> str:
        rows = []
        for t in report.tables:
            detail = ", ".join(t.problems)
            bad = [*(f"{v[:8]} corrupt" for v in t.corrupt_versions), *(f"{v[:8]} missing" for v in t.missing_versions)]
            if bad:
                detail += f" (versions: {', '.join(bad)})"
            rows.append([t.table, "ok" if t.ok else "PROBLEM", detail])
        lines = [format_table(rows, ["TABLE", "STATE", "PROBLEMS"])] if rows else ["no tables"]
        if report.manifest_corrupt:
            lines.append("store manifest is corrupt (not valid JSON): manifest_corrupt_in_store")
        elif not report.manifest_in_store:
            lines.append("manifest missing from the store")
        elif not report.manifest_current:
            lines.append("store manifest is stale")
        if not report.log_current:
            lines.append("store commit log is stale (project-level reads lag git)")
        if report.tags_missing:
            lines.append("tags missing from the store: " + ", ".join(report.tags_missing))
        if report.repaired:
            lines.append("repaired: " + ", ".join(report.repaired))
        for item in report.unrepairable:
            lines.append(f"cannot repair: {for_shell(item)}")
        if any("no verified copy" in item for item in report.unrepairable):
            lines.append(f"  hint: {for_shell(NO_COPY_HINT)}")
        scope = "every data object hashed" if report.deep else "quick check; --deep hashes every data object"
        lines.append(
            f"valid: git and store agree ({scope})"
            if report.valid
            else "NOT valid" + ("" if fix else " (run `datom validate --fix`)")
        )
        return "\n".join(lines)

    emit(report.to_dict(), text)
    return 0 if report.valid else 1


def _shown(setting: str | dict[str, str]) -> str:
    return setting if isinstance(setting, str) else " ".join(f"{k}={v}" for k, v in setting.items())


@click.command()
@click.argument("setting", required=False, metavar="[CODEC]")
@clone_options
def compression(setting: str | None) -> None:
    """Show or set the project's default parquet compression (shared by every writer).

    \b
    auto (the default) chooses an encoding and a codec per column from a sample of each write:
    zstd where it saves enough, snappy or none where it does not. A codec (zstd, snappy, lz4, gzip,
    none) applies to every column. Every R arrow build from CRAN reads all of them. The setting is
    committed to .datom/project.yaml (a block R ignores); `datom write/sync --compression` overrides
    it for one write (there also COLUMN=CODEC for single columns).
    """
    proj = _developer_project()
    if not setting:
        current = proj.compression_setting()
        emit({"compression": current}, f"compression: {_shown(current)}")
        return
    commit = proj.set_compression(parse_compression((setting,), param="'CODEC'"))
    now = proj.compression_setting()
    emit(
        {"compression": now, "commit": commit},
        f"compression: {_shown(now)}" + ("" if commit else " (unchanged)"),
    )
