"""End-to-end demo on the bundled clinical tables, with a local store and a local bare git remote.

    python -m datom_engines.demo [--workdir DIR]

The shell part runs the real ``datom`` command line (each command is printed as you would type it):
create a project, sync the four clinical CSVs (one commit) and tag that cut, correct one lab value and
sync again, then look at the history, the tags, the tables, the status and the difference between the
tagged and the current version of ``lb``. The query part
reads the versions from the store alone, as a reader would, with Polars and DuckDB. The last part
derives a table from two others (its lineage recorded from the Polars plan), shows that lineage and
writes the project's static catalog into the store, printing its ``file://`` URL. Everything lives
under ``--workdir`` (default ``./.demo``), wiped at the start.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl

import datom_engines as dt
import datom_engines.duckdb as ddb
from datom_engines.examples import DOMAINS, example_path


def _datom_command() -> list[str]:
    exe = Path(sys.executable).parent / "datom"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "datom_engines"]


def datom(*args: str, cwd: Path, capture: bool = False) -> str:
    """Run one ``datom`` command like a shell would, printing it first; fail the demo if it fails."""
    if not capture:
        print(f"\n$ datom {shlex.join(args)}", flush=True)
    proc = subprocess.run([*_datom_command(), *args], cwd=cwd, text=True, capture_output=capture)
    if proc.returncode != 0:
        if capture:
            print(proc.stdout, proc.stderr, sep="\n", file=sys.stderr)
        raise SystemExit(f"demo step failed: datom {shlex.join(args)} (exit code {proc.returncode})")
    return proc.stdout if capture else ""


def run(workdir: Path) -> None:
    """Run the demo in ``workdir``."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    store, remote, clone = workdir / "store", workdir / "remote.git", workdir / "STUDY1"

    print("== the shell part: the datom command line")
    datom("init", "STUDY1", "--project", "STUDY1", "--store", str(store), "--remote", str(remote), cwd=workdir)
    inbox = clone / "input_files"
    print(f"\n$ cp dm.csv ex.csv lb.csv ae.csv {inbox.relative_to(workdir)}/")
    for domain in DOMAINS:
        shutil.copy(example_path(domain), inbox)
    datom("sync", "--dry-run", cwd=clone)
    datom("sync", cwd=clone)
    datom("tag", "interim-1", "-m", "first extract", cwd=clone)

    print("\n# the lab sends a corrected extract: one ALT value of subject 001, week 1")
    lb_csv = inbox / "lb.csv"
    text = lb_csv.read_text()
    old = '"STUDY-001-001","001",1,"WEEK 1","ALT","Alanine Aminotransferase","CHEMISTRY","23.3"'
    assert old in text, "the bundled lb.csv changed; update the demo"
    lb_csv.write_text(text.replace(old, old.replace('"23.3"', '"25.1"')))
    datom("sync", cwd=clone)
    datom("sync", cwd=clone)  # nothing changed since: every file is skipped
    datom("history", "lb", cwd=clone)
    datom("tags", cwd=clone)
    datom("tables", cwd=clone)
    datom("status", cwd=clone)
    versions = json.loads(datom("history", "lb", "--json", cwd=clone, capture=True))
    first, latest = versions[-1]["version"], versions[0]["version"]
    datom("diff", "lb", "interim-1", cwd=clone)
    datom("validate", cwd=clone)

    print("\n== the query part: a reader with only the store (no git), Polars and DuckDB")
    dt.connect(store)  # makes "STUDY1.<table>" resolvable in this process
    old_lb, new_lb = dt.resolve("STUDY1.lb", version=first[:8]), dt.resolve("STUDY1.lb")
    print(f"STUDY1.lb@{old_lb.version[:8]} -> {old_lb.url}")
    print(f"STUDY1.lb@{new_lb.version[:8]} -> {new_lb.url}")

    key = ["USUBJID", "LBTESTCD", "VISITNUM"]
    before = pl.scan_datom("STUDY1.lb", tag="interim-1")  # type: ignore[attr-defined]
    after = pl.scan_datom("STUDY1.lb")  # type: ignore[attr-defined]
    changed = (
        before.join(after, on=key, suffix="_new")
        .filter(pl.col("LBORRES") != pl.col("LBORRES_new"))
        .select(*key, pl.col("LBORRES").alias("before"), pl.col("LBORRES_new").alias("after"))
        .collect()
    )
    print("\nPolars (lazy, pushed down to the parquet): rows that differ between interim-1 and now")
    print(changed)

    print("\nDuckDB: ALT by sex, joining the latest versions of lb and dm (FROM datom(...) macros)")
    con = ddb.register(duckdb.connect())
    print(
        con.sql(
            """
            SELECT dm.SEX, count(*) AS n, round(avg(lb.LBORRES), 2) AS mean_alt
            FROM datom('STUDY1.lb') lb
            JOIN datom('STUDY1.dm') dm USING (USUBJID)
            WHERE lb.LBTESTCD = 'ALT'
            GROUP BY dm.SEX ORDER BY dm.SEX
            """
        )
    )
    print(con.sql("SELECT version[:8] AS version, created_at, change FROM datom_history('STUDY1.lb')"))
    assert latest == new_lb.version

    print("\n== lineage and the catalog: a derived table, then a static site written into the store")
    dt.open_project(clone)  # a writer again: the clone
    alt = (
        pl.scan_datom("STUDY1.lb")  # type: ignore[attr-defined]
        .filter(pl.col("LBTESTCD") == "ALT")
        .join(pl.scan_datom("STUDY1.dm").select("USUBJID", "SEX", "AGE"), on="USUBJID", maintain_order="left")  # type: ignore[attr-defined]
        .select("USUBJID", "SEX", "AGE", "VISITNUM", "LBORRES")
    )
    made = alt.datom.write("STUDY1.alt", message="ALT results with sex and age")  # parents recorded from the plan
    print(f"STUDY1.alt@{made.short_version}: {made.nrow} rows, built from lb and dm")
    datom("lineage", "alt", cwd=clone)
    datom("site", "--auto", cwd=clone)  # later writes keep the site up to date


def main(argv: list[str] | None = None) -> int:
    """Command-line entry of the demo."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path(".demo"), help="where to create everything")
    args = parser.parse_args(argv)
    run(args.workdir.absolute())
    return 0


if __name__ == "__main__":
    sys.exit(main())
