"""Commands that only read: tables, history, read, verify, diff, tags, status."""

from __future__ import annotations

import json
import os
import shutil
import stat
import uuid
from collections.abc import Callable
from pathlib import Path

import click

from ..core.display import human_size, short
from ..core.metadata import utc_timestamp
from ..core.names import TableRef
from ..core.snapshots import Tag
from ..errors import DatomError, IntegrityError, NotFoundError
from ..project.project import Project
from ..project.reading import fetch_parquet
from ..project.tags import tags_by_version
from .common import (
    TABLE,
    any_project,
    describe_os_error,
    emit,
    format_table,
    integral,
    project_options,
    state,
    store_url,
    table_project,
    tag_name_arg,
)


@click.command()
@click.argument("project_name", required=False, metavar="[PROJECT]")
@project_options
def tables(project_name: str | None) -> None:
    """List the project's tables.

    \b
    --json prints a list of objects with the fields:
      name, current_version, current_data_sha, last_updated, version_count,
      size_bytes, original_file_sha, original_format
    """
    proj = any_project(project_name)
    infos = proj.tables()

    def text() -> str:
        if not infos:
            return f"project {proj.name} has no tables yet"
        rows = [
            [
                t.name,
                t.version_count,
                short(t.current_version),
                short(t.current_data_sha),
                t.last_updated.strftime("%Y-%m-%d %H:%M") if t.last_updated else None,
                human_size(t.size_bytes),
                t.original_format,
            ]
            for t in infos
        ]
        return format_table(rows, ["TABLE", "VERSIONS", "CURRENT", "DATA", "UPDATED (UTC)", "SIZE", "FORMAT"])

    emit([{**t.to_dict(), "size_bytes": integral(t.size_bytes)} for t in infos], text)


@click.command()
@click.argument("table", type=TABLE)
@click.option("-n", "--limit", type=click.IntRange(min=1), default=None, help="Show only the newest N versions.")
@project_options
def history(table: TableRef, limit: int | None) -> None:
    """List the versions of a table, newest first; tagged versions show their tags.

    \b
    --json prints a list of objects with the fields:
      version, data_sha, created_at, author, message, parquet_sha, original_file_sha, tags
    """
    proj, name = table_project(table)
    versions = proj.history(name, limit)
    tagged = tags_by_version(proj.tags(), name)

    def text() -> str:
        rows = [
            [
                v.short_id,
                v.data_sha[:8],
                v.created_at.strftime("%Y-%m-%d %H:%M:%S") if v.created_at else None,
                v.author,
                v.message.splitlines()[0] if v.message else v.message,
                *([", ".join(tagged.get(v.id, [])) or None] if tagged else []),
            ]
            for v in versions
        ]
        header = ["VERSION", "DATA", "CREATED (UTC)", "AUTHOR", "MESSAGE", *(["TAGS"] if tagged else [])]
        return format_table(rows, header)

    emit([{**v.to_dict(), "tags": tagged.get(v.id, [])} for v in versions], text)


class OutputError(DatomError):
    """The output file of ``datom read -o`` could not be written (exit code 1)."""


def _check_output(output: Path, force: bool) -> None:
    """Fail before any download when ``output`` cannot be written (or exists without ``--force``)."""
    parent = output.absolute().parent
    if not parent.is_dir():
        raise OutputError(
            f"cannot write {output}: the directory {parent} does not exist",
            hint="create the directory first, or choose another --output",
        )
    if output.exists() and _is_regular(output) and not force:
        raise OutputError(
            f"{output} already exists; nothing was written",
            hint="pass --force (or --overwrite) to replace it, or choose another --output",
        )


def _is_regular(path: Path) -> bool:
    return stat.S_ISREG(path.stat().st_mode)


def _write_output(output: Path, write: Callable[[Path], None]) -> None:
    """Run ``write`` into a temporary file next to ``output``, then move it into place.

    A failed write (disk full, permission denied...) leaves no partial file behind. An output that
    exists and is not a regular file (``/dev/stdout``, a pipe) is written in place.
    """
    import polars as pl

    in_place = output.exists() and not _is_regular(output)
    try:
        if in_place:
            write(output)
        else:
            tmp = output.absolute().parent / f".{output.name}.{uuid.uuid4().hex[:8]}.tmp"
            try:
                write(tmp)
                os.replace(tmp, output)
            finally:
                tmp.unlink(missing_ok=True)
    except (OSError, pl.exceptions.PolarsError) as exc:  # polars reports some I/O failures as ComputeError
        err = exc if isinstance(exc, OSError) else OSError((str(exc).splitlines() or [type(exc).__name__])[0])
        # the reason only: the path in the exception may be the temporary file
        reason, hint = describe_os_error(OSError(err.errno, err.strerror) if err.errno else err)
        tail = "" if in_place else "; nothing was written"
        raise OutputError(f"cannot write {output}: {reason}{tail}", hint=hint or "check the --output path") from exc


def _output_format(output: Path, fmt: str | None) -> str:
    kind = (fmt or output.suffix.lstrip(".")).lower()
    if kind not in ("parquet", "csv"):
        raise click.BadParameter(
            f"cannot tell the output format from {output.name!r}; use a .parquet or .csv name, or --format",
            param_hint="'--output'",
        )
    return kind


@click.command()
@click.argument("table", type=TABLE)
@click.option("--version", "version", default=None, help="A version id or unique prefix [default: current].")
@click.option(
    "--as-of", default=None, metavar="TIME", help="The newest version created at or before TIME (ISO 8601, UTC)."
)
@click.option("--tag", default=None, metavar="NAME", help="The version the tag NAME (a named snapshot) pins.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the version to this .parquet or .csv file.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "csv"]),
    default=None,
    help="Output format [default: from the --output name].",
)
@click.option("--columns", "-c", default=None, metavar="A,B,...", help="Only these columns.")
@click.option(
    "--force", "--overwrite", "force", is_flag=True, help="Replace the --output file if it exists [default: refuse]."
)
@click.option(
    "--head",
    "head",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Rows to preview when there is no --output.",
)
@project_options
def read(
    table: TableRef,
    version: str | None,
    as_of: str | None,
    tag: str | None,
    output: Path | None,
    fmt: str | None,
    columns: str | None,
    force: bool,
    head: int,
) -> None:
    """Preview a table version, or export it to parquet or CSV.

    The stored bytes are verified against their recorded SHA-256 before anything is read. A parquet
    output without --columns is the stored file itself, byte for byte. An existing --output file is
    kept unless --force is given; a failed export leaves no partial file.
    """
    import polars as pl

    if sum(x is not None for x in (version, as_of, tag)) > 1:
        raise click.UsageError("give only one of --version, --as-of and --tag")
    st = state()
    tag = tag_name_arg(tag)
    proj, name = table_project(table)
    cols = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    kind = _output_format(output, fmt) if output is not None else None
    if output is not None:
        _check_output(output, force)
    resolved = proj.resolve(name, version=version, as_of=as_of, tag=tag)
    bars = st.progress_bars()
    try:
        path, temporary = fetch_parquet(proj.store, resolved, progress=bars)
    finally:
        bars.close()
    try:
        lazy = pl.scan_parquet(path)
        if cols:
            missing = [c for c in cols if c not in lazy.collect_schema().names()]
            if missing:
                raise click.BadParameter(
                    f"no column(s) {', '.join(missing)} in {resolved.ref}", param_hint="'--columns'"
                )
            lazy = lazy.select(cols)
        info = {
            "project": resolved.ref.project,
            "table": resolved.ref.table,
            "version": resolved.version,
            "data_sha": resolved.data_sha,
        }
        nrow = pl.scan_parquet(path).select(pl.len()).collect().item()
        if output is not None:

            def write(target: Path) -> None:
                if kind == "parquet" and not cols:
                    shutil.copyfile(path, target)
                elif kind == "parquet":
                    lazy.sink_parquet(target)
                else:
                    lazy.sink_csv(target)

            _write_output(output, write)
            emit(
                {**info, "output": str(output.absolute()), "format": kind, "nrow": nrow},
                f"Wrote {resolved.ref}@{resolved.version[:8]} ({nrow} rows) to {output}",
            )
            return
        frame = lazy.head(head).collect()
        if st.json:
            emit({**info, "nrow": nrow, "rows": json.loads(frame.write_json())}, "")
        else:
            with pl.Config(tbl_rows=max(head, 1), tbl_cols=-1, tbl_width_chars=200):
                click.echo(f"{resolved.ref}@{resolved.version[:8]}: {nrow} rows, showing {frame.height}")
                click.echo(str(frame))
    finally:
        if temporary:
            shutil.rmtree(Path(path).parent, ignore_errors=True)


@click.command()
@click.argument("tables_", metavar="[TABLE]...", nargs=-1, type=TABLE)
@click.option("--version", "version", default=None, help="A version id or unique prefix (one TABLE only).")
@click.option("--all-versions", is_flag=True, help="Every version of each table, not only the current one.")
@click.option(
    "--once",
    "once",
    is_flag=True,
    help="Accept a verdict recorded on this machine or the store's own SHA-256 instead of hashing again.",
)
@project_options
def verify(tables_: tuple[TableRef, ...], version: str | None, all_versions: bool, once: bool) -> int:
    """Hash stored data objects now and record the verdicts.

    Default: the current version of every table. A later scan or read of an unchanged object on this
    machine then costs one stat (local) or HEAD (object stores) instead of a hash. Remote objects are
    downloaded into the read cache to be hashed unless --once finds them vouched for. Exit code 1 when
    any object is corrupt or missing.
    """
    if version is not None and (len(tables_) != 1 or all_versions):
        raise click.UsageError("--version needs exactly one TABLE (and no --all-versions)")
    st = state()
    proj = any_project(tables_[0].project or None if tables_ else None)
    names = [t.table for t in tables_] or [t.name for t in proj.tables()]
    todo = []
    for name in names:
        if all_versions:
            todo += [(name, v.id) for v in proj.history(name)]
        else:
            todo.append((name, version or proj.resolve(name).version))
    results = []
    bars = st.progress_bars()
    try:
        for name, vid in todo:
            entry = {"table": name, "version": vid, "ok": True, "how": None, "error": None}
            try:
                entry["how"] = proj.verify(name, version=vid, mode="once" if once else "always", progress=bars).how
            except (IntegrityError, NotFoundError) as exc:
                entry.update(ok=False, error=exc.message)
            results.append(entry)
    finally:
        bars.close()
    ok = all(r["ok"] for r in results)

    def text() -> str:
        rows = [
            [r["table"], short(r["version"]), "ok" if r["ok"] else "FAILED", r["how"] or r["error"]] for r in results
        ]
        summary = f"{sum(r['ok'] for r in results)} of {len(results)} object(s) verified"
        return format_table(rows, ["TABLE", "VERSION", "STATE", "DETAIL"]) + "\n" + summary if rows else "no tables"

    emit({"project": proj.name, "ok": ok, "objects": results}, text)
    return 0 if ok else 1


@click.command()
@click.argument("table", type=TABLE)
@click.argument("before")
@click.argument("after", required=False)
@project_options
def diff(table: TableRef, before: str, after: str | None) -> int:
    """Compare two versions of a table.

    BEFORE and AFTER are version ids, unique prefixes or tag names (`datom diff lb dblock-1 dblock-2`);
    AFTER defaults to the current version.

    Shows row counts, added and removed columns, and which columns changed value (from the per-column
    content hashes in each version's metadata; no data is read). Exit code 0 either way.
    """
    proj, name = table_project(table)
    d = proj.diff(name, before, after)

    def text() -> str:
        lines = [f"{d.ref}: {d.before[:8]} -> {d.after[:8]}"]
        if d.same_data:
            lines.append(
                f"same data ({d.data_sha_after[:8]}); only metadata differs" if d.before != d.after else "same version"
            )
        lines.append(
            f"rows: {d.nrow_before} -> {d.nrow_after}" + ("" if d.nrow_before != d.nrow_after else " (unchanged)")
        )
        changed = d.changed_columns
        if changed:
            rows = []
            for c in changed:
                types = (
                    c.type_before
                    if c.type_before == c.type_after
                    else f"{c.type_before or '-'} -> {c.type_after or '-'}"
                )
                rows.append([c.name, c.change, types])
            lines.append(format_table(rows, ["COLUMN", "CHANGE", "TYPE"]))
        else:
            lines.append("columns: no changes")
        if d.order_changed:
            lines.append("column order changed")
        return "\n".join(lines)

    emit(d.to_dict(), text)
    return 0


def _tag_row(t: Tag) -> list[object]:
    sig = t.signature.state if t.signature else ("signed" if t.signed else "unsigned")
    return [
        t.name,
        t.created_at.strftime("%Y-%m-%d %H:%M") if t.created_at else None,
        len(t.tables),
        t.commit[:8],
        sig,
        t.message.splitlines()[0] if t.message else None,
    ]


def _tag_detail(t: Tag) -> str:
    lines = [
        f"tag {t.name}: {len(t.tables)} table(s) at commit {t.commit[:12]}",
        f"  created: {utc_timestamp(t.created_at) if t.created_at else '-'} by {t.tagger}",
    ]
    if t.signature is not None:
        s = t.signature
        who = f" by {s.signer}" if s.signer else ""
        lines.append(f"  signature: {s.state}{who}" + (f" ({s.detail})" if s.detail else ""))
    if t.message:
        lines.append("  message: " + t.message.replace("\n", "\n           "))
    rows = [[name, e.version[:8], e.data_sha[:8]] for name, e in t.tables.items()]
    lines.append(format_table(rows, ["TABLE", "VERSION", "DATA"]))
    return "\n".join(lines)


@click.command()
@click.argument("name", required=False)
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Check signatures with gpg or ssh-keygen, as `git tag -v` does.",
)
@project_options
def tags(name: str | None, verify: bool) -> None:
    """List the project's tags (named snapshots), or show one tag's tables and versions.

    SIGNATURE is good, bad (the tag or its record was altered), unverified (signed, but this machine
    cannot check it: unknown key, no gpg.ssh.allowedSignersFile) or unsigned.

    \b
    --json prints a list (or, with NAME, one object) with the fields:
      name, commit, created_at, tagger, message, tables {TABLE: {version, data_sha}}, signed, signature
    """
    name = tag_name_arg(name)
    proj = any_project()
    if name is not None:
        one = proj.get_tag(name, verify=verify)
        emit(one.to_dict(), lambda: _tag_detail(one))
        return
    found = proj.tags(verify=verify)

    def text() -> str:
        if not found:
            return f"project {proj.name} has no tags yet (make one with `datom tag NAME`)"
        return format_table(
            [_tag_row(t) for t in found], ["TAG", "CREATED (UTC)", "TABLES", "COMMIT", "SIGNATURE", "MESSAGE"]
        )

    emit([t.to_dict() for t in found], text)


def _fetch(proj: Project) -> str | None:
    """Fetch the clone's remote so ahead/behind are current; the reason when it cannot be reached."""
    repo = proj.repo
    if repo is None or repo.remote_url is None:
        return None
    try:
        repo.fetch()
    except (DatomError, OSError) as exc:  # GitError (offline, refused, no such repo), a detached clone...
        text = exc.message if isinstance(exc, DatomError) else str(exc)
        return text.splitlines()[0] if text else type(exc).__name__
    return None


@click.command()
@project_options
def status() -> None:
    """Show the project: store, tables, clone state and input_files.

    In a clone the remote is fetched first, so the commits to push and to pull are current; when it
    cannot be reached the output says so ("remote unreachable: <reason>", JSON: remote_error) and
    shows the state as of the last fetch.
    """
    proj = any_project()
    remote_error = _fetch(proj)
    s = proj.status()
    store = store_url(proj.location)
    data = {**s.to_dict(), "store": store}
    if proj.repo is not None:
        data["remote"] = proj.repo.remote_url
        data["remote_error"] = remote_error

    def text() -> str:
        lines = [f"project {s.project} ({s.role})", f"  store:  {store}"]
        lines.append(f"  tables: {s.tables}" if s.tables is not None else f"  tables: unavailable ({s.store_error})")
        if proj.repo is not None:
            lines.append(f"  clone:  {proj.path} on branch {s.branch or '-'}")
            if remote_error is not None:
                lines.append(f"  remote: {proj.repo.remote_url}: remote unreachable: {remote_error}")
            elif proj.repo.remote_url is None:
                lines.append("  remote: none")
            if s.ahead or s.behind:
                lines.append(f"  git:    {s.ahead or 0} commit(s) to push, {s.behind or 0} to pull")
            elif remote_error is None and s.ahead is not None:
                lines.append("  git:    up to date with the remote")
            if s.uncommitted:
                lines.append(f"  uncommitted: {', '.join(s.uncommitted)}")
            if s.input_files is not None:
                f = s.input_files
                lines.append(
                    f"  input_files: {f['n_total']} file(s): {f['n_new']} new, {f['n_changed']} changed, "
                    f"{f['n_unchanged']} unchanged, {f['n_unsupported']} not syncable"
                )
        return "\n".join(lines)

    emit(data, text)
