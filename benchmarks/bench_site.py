"""Static site benchmark: a full build of a 200-table project with 50 versions each, then one write.

    flock /tmp/datom-heavy.lock .venv/bin/python benchmarks/bench_site.py [tables] [versions]

The fixture is a real project (local store, bare git remote) that ``validate()`` accepts, made on a
fast path: every version's frame goes through the write path's own hashing and serialisation
(:func:`datom_engines.project.prepare.prepare`) and upload, its metadata through the core builders
(``build_metadata``, ``history_entry``, ``update_manifest``), its snapshot into the store; then one git
commit holds every table's ``metadata.json`` and ``version_history.json`` and the mirror is published
as a write does. A fifth of the tables are derived, each version from the same versions of two
imported tables (so lineage pages have parents and sources).

Printed: the seconds of the full build (the target is under 10 s), pages and bytes written, then one
``proj.write(..., site=True)`` of one table and the pages that update touched (only the new version's
page, the table's page and lineage page, and the index should change), then a rebuild with nothing new.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl
from benchargs import counts

import datom_engines as dt
from datom_engines.core import jsonfmt, keys
from datom_engines.core.metadata import (
    add_history_entry,
    build_metadata,
    history_entry,
    metadata_sha,
    update_manifest,
)
from datom_engines.project.prepare import prepare
from datom_engines.project.publish import publish

ROWS = 40


def frame(table: int, version: int) -> pl.DataFrame:
    """A small frame whose content depends on the table and the version (so every version is new)."""
    n = ROWS + version % 7
    base = table * 1000 + version
    return pl.DataFrame(
        {
            "USUBJID": [f"S{table:03d}-{i:03d}" for i in range(n)],
            "VISITNUM": [i % 5 + 1 for i in range(n)],
            "VALUE": [None if (i + version) % 9 == 0 else base + i * 0.5 for i in range(n)],
            "FLAG": [(i + version) % 3 == 0 for i in range(n)],
            "NOTE": [None if i % 4 else f"v{version}" for i in range(n)],
        }
    )


def _file(value: Any) -> bytes:
    return (jsonfmt.pretty(value) + "\n").encode("utf-8")


def build_fixture(root: Path, tables: int, versions: int) -> dt.Project:
    """The benchmark project (see the module docstring)."""
    remote = root / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    proj = dt.init(root / "clone", "BENCH", store=root / "store", remote=str(remote))
    store, repo = proj.store, proj.repo
    assert repo is not None
    work = Path(tempfile.mkdtemp(dir=root))
    names = [f"t{i:03d}" for i in range(tables)]
    derived_from = {i: (i % (tables * 4 // 5), (i + 1) % (tables * 4 // 5)) for i in range(tables * 4 // 5, tables)}
    histories: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    current: dict[str, dict[str, Any]] = {}
    by_version: dict[tuple[int, int], dict[str, Any]] = {}
    manifest: dict[str, Any] | None = None
    author = {"name": "Bench Writer", "email": "bench@example.org"}
    for j in range(versions):
        stamp = f"2026-01-{1 + j // 24:02d}T{j % 24:02d}:00:00Z"
        for i, name in enumerate(names):
            prepared = prepare(frame(i, j), str(work))
            d = prepared.digest
            store.put_file_if_absent(keys.parquet_key(name, d.data_sha), prepared.path)
            os.unlink(prepared.path)  # the store may hold a hard link to it: the next frame needs a new file
            parents = None
            table_type, original, lineage = "imported", prepared.parquet_sha, None
            if i in derived_from:
                table_type, original = "derived", None
                parents = []
                for p in derived_from[i]:
                    meta_p = by_version[(p, j)]
                    parents.append(
                        {
                            "source": "BENCH",
                            "table": names[p],
                            "version": metadata_sha(meta_p),
                            "data_sha": meta_p["data_sha"],
                            "source_lineage": meta_p["source_lineage"],
                        }
                    )
            else:
                lineage = [{"project": "BENCH", "table": name, "version_sha": d.data_sha}]
            meta = build_metadata(
                data_sha=d.data_sha,
                nrow=d.nrow,
                ncol=d.ncol,
                colnames=list(prepared.colnames),
                column_hashes=d.column_hashes_json(),
                created_at=stamp,
                datom_version=dt.__version__,
                table_type=table_type,
                original_file_sha=original,
                parents=parents,
                source_lineage=lineage,
                size_bytes=prepared.size,
                parquet_sha=prepared.parquet_sha,
            )
            version = metadata_sha(meta)
            by_version[(i, j)] = meta
            current[name] = meta
            entry = history_entry(
                version=version,
                data_sha=d.data_sha,
                timestamp=stamp,
                author=author,
                commit_message=f"extract {j + 1}",
                parquet_sha=prepared.parquet_sha,
                original_file_sha=original,
            )
            histories[name], _ = add_history_entry(histories[name], entry)
            store.put_bytes(keys.snapshot_key(name, version), jsonfmt.pretty(meta).encode() + b"\n")
            manifest = update_manifest(
                manifest,
                project_name="BENCH",
                table=name,
                metadata=meta,
                version_count=len(histories[name]),
                now=stamp,
                original_format=None if i in derived_from else "csv",
            )
    shutil.rmtree(work, ignore_errors=True)
    files = {keys.MANIFEST_PATH: _file(manifest)}
    for name in names:
        files[keys.table_metadata_path(name)] = _file(current[name])
        files[keys.table_history_path(name)] = _file(histories[name])
    base = repo.fetch()
    head = repo.commit_files(base, files, f"{tables} tables x {versions} versions", author=repo.identity())
    assert repo.push(head, expected_remote=base)
    repo.advance(head)
    publish(repo, store, head, names)
    return proj


def main() -> None:
    tables, versions = counts(__doc__, ("tables", 200), ("versions", 50))
    root = Path(tempfile.mkdtemp(prefix="datom-bench-site-"))
    try:
        started = time.perf_counter()
        proj = build_fixture(root, tables, versions)
        report = proj.validate()
        print(
            f"fixture: {tables} tables x {versions} versions ({tables * versions} versions) in "
            f"{time.perf_counter() - started:.1f} s; validate(): {'valid' if report.valid else 'INVALID'}"
        )
        assert report.valid, report.to_dict()

        result = dt.build_site(proj)
        site_dir = Path(proj.store.location.fs_path(keys.SITE_PREFIX))
        size = sum(p.stat().st_size for p in site_dir.rglob("*") if p.is_file())
        print(
            f"full build: {result.seconds:.2f} s for {result.pages_written} pages "
            f"({size / 2**20:.1f} MiB with the build state), target < 10 s: {'ok' if result.seconds < 10 else 'MISSED'}"
        )
        print(f"  open: {result.url}")

        table = f"t{tables // 3:03d}"
        before = {p: p.stat().st_mtime_ns for p in site_dir.rglob("*.html")}
        t0 = time.perf_counter()
        res = proj.write(frame(tables // 3, versions + 1), table, message="one more extract", site=True)
        write_s = time.perf_counter() - t0
        update = dt.build_site(proj)  # nothing new since: writes nothing
        after = {p: p.stat().st_mtime_ns for p in site_dir.rglob("*.html")}
        touched = sorted(str(p.relative_to(site_dir)) for p, t in after.items() if before.get(p) != t)
        print(
            f"one write of {table} with site=True: {write_s:.2f} s in all (the write and the site update); "
            f"{len(touched)} of {len(after)} pages touched on disk:"
        )
        for path in touched:
            print(f"  {path}")
        expected = {
            "index.html",
            f"t/{table}/index.html",
            f"t/{table}/lineage.html",
            f"t/{table}/v/{res.version}.html",
        }
        verdict = "yes" if set(touched) == expected else f"NO, expected {sorted(expected)}"
        print(f"  only the pages that changed: {verdict}")
        print(
            f"rebuild with nothing new: {update.pages_written} pages written, {update.unchanged} rendered and "
            f"identical, {update.seconds:.3f} s"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
