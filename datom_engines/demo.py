"""End-to-end demo on the bundled clinical tables, with a local store and a local bare git remote.

    python -m datom_engines.demo [--workdir DIR]

Creates a project, writes ``dm`` and ``lb``, writes a corrected ``lb``, reads both versions back and
prints the history. Everything lives under ``--workdir`` (default ``./.demo``), wiped at the start.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import polars as pl

import datom_engines as dt
from datom_engines.examples import example_path


def run(workdir: Path) -> None:
    """Run the demo in ``workdir``."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    store, remote, clone = workdir / "store", workdir / "remote.git", workdir / "STUDY1"

    print(f"== init project STUDY1: repo {clone}, store {store}, git remote {remote}")
    proj = dt.init(clone, "STUDY1", store=store, remote=str(remote))

    dm = pl.read_csv(example_path("dm"))
    lb = pl.read_csv(example_path("lb"))
    for name, frame in (("dm", dm), ("lb", lb)):
        result = proj.write(frame, name, message=f"Initial load of {name}")
        print(f"   wrote {result}")

    print("== correct one lab value and write lb again")
    fixed = lb.with_columns(
        pl.when((pl.col("USUBJID") == "STUDY-001-001") & (pl.col("LBTESTCD") == "ALT") & (pl.col("VISITNUM") == 1))
        .then(pl.lit(25.1))
        .otherwise(pl.col("LBORRES"))
        .alias("LBORRES")
    )
    v2 = proj.write(fixed, "lb", message="Correct ALT for subject 001 week 1")
    print(f"   wrote {v2}")
    again = proj.write(fixed, "lb")
    print(f"   writing the same data again: change = {again.change!r} (nothing new)")

    history = proj.history("lb")
    print("== history of STUDY1.lb (newest first)")
    for v in history:
        print(f"   {v.short_id}  {v.created_at:%Y-%m-%d %H:%M:%S}  data {v.data_sha[:8]}  {v.message}")

    first = pl.from_arrow(dt.read("STUDY1.lb", version=history[-1].id[:8]))
    latest = pl.from_arrow(dt.read("STUDY1.lb"))
    assert isinstance(first, pl.DataFrame) and isinstance(latest, pl.DataFrame)
    key = ["USUBJID", "LBTESTCD", "VISITNUM"]
    changed = (
        first.join(latest, on=key, suffix="_new")
        .filter(pl.col("LBORRES") != pl.col("LBORRES_new"))
        .select(*key, pl.col("LBORRES").alias("before"), pl.col("LBORRES_new").alias("after"))
    )
    print(f"== read both versions back: {first.height} rows each; rows that differ:")
    print(changed)

    print("== tables")
    for t in dt.tables("STUDY1"):
        print(
            f"   {t.name}: {t.version_count} version(s), current {t.current_version[:8] if t.current_version else '-'}"
        )
    report = proj.validate()
    print(f"== validate: git and store agree = {report.valid}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry of the demo."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path(".demo"), help="where to create everything")
    args = parser.parse_args(argv)
    run(args.workdir.absolute())
    return 0


if __name__ == "__main__":
    sys.exit(main())
