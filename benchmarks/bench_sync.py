"""Sync benchmark: importing a CSV with the fread rule, and a whole sync, each against plain Polars, in one run.

    .venv/bin/python benchmarks/bench_sync.py [rows]      (default 2,000,000 rows x 8 columns)

The CSV has quoted ids with leading zeros, integers, decimals, ISO dates, short text and a column with
empty fields. Printed ratios (runs interleave, medians compared; these machines are noisy):

* ``fread rule / pl.read_csv``: :func:`datom_engines.project.importers.read_file` (all text, then typed
  like data.table::fread) versus ``pl.read_csv`` with Polars' own inference;
* ``sync / csv->parquet``: ``Project.sync`` of the file (SHA-256 of the file, read, cv1 hash, parquet,
  store, git commit/push, metadata mirror; local store and bare remote) versus ``pl.read_csv`` followed
  by ``write_parquet``.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
from benchargs import counts

import datom_engines as dt
from datom_engines.project import importers

REPEATS = 3


def build_csv(path: Path, rows: int, seed: int = 0) -> None:
    """Write the benchmark CSV (quoted like SAS/R exports)."""
    rng = np.random.default_rng(seed)
    df = pl.DataFrame(
        {
            "USUBJID": pl.Series(rng.integers(0, 10_000, rows)).cast(pl.String).str.zfill(5),
            "VISITNUM": rng.integers(1, 20, rows),
            "LBORRES": np.round(rng.normal(50, 10, rows), 1),
            "LBTESTCD": pl.Series(rng.choice(["ALT", "AST", "GLUC", "HGB"], rows)),
            "LBDTC": pl.Series(rng.integers(19_000, 21_000, rows).astype(np.int32)).cast(pl.Date),
            "LBNRIND": pl.Series(rng.choice(["NORMAL", "HIGH", "LOW", ""], rows)),
            "LBORNRLO": rng.integers(0, 100, rows),
            "COMMENT": pl.Series(rng.choice(["", "repeat", "haemolysed sample"], rows)),
        }
    )
    df.write_csv(path, quote_style="non_numeric")


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def main() -> None:
    (rows,) = counts(__doc__, ("rows", 2_000_000))
    work = Path(tempfile.mkdtemp(prefix="datom-bench-sync-"))
    try:
        src = work / "lb.csv"
        build_csv(src, rows)
        size_mb = src.stat().st_size / 1e6
        print(f"{rows:,} rows x 8 columns, CSV {size_mb:.0f} MB")
        reads: dict[str, list[float]] = {"polars": [], "fread": []}
        syncs: dict[str, list[float]] = {"raw": [], "sync": []}
        for i in range(REPEATS):
            reads["polars"].append(timed(lambda: pl.read_csv(src)))
            reads["fread"].append(timed(lambda: importers.read_file(src)))
            out = work / f"raw-{i}.parquet"
            syncs["raw"].append(timed(lambda out=out: pl.read_csv(src).write_parquet(out)))
            remote = work / f"remote-{i}.git"
            subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
            proj = dt.init(work / f"clone-{i}", "BENCH", store=work / f"store-{i}", remote=str(remote))
            assert proj.path is not None
            shutil.copy(src, proj.path / "input_files" / "lb.csv")
            syncs["sync"].append(timed(lambda proj=proj: proj.sync()))
        med = {k: statistics.median(v) for k, v in {**reads, **syncs}.items()}
        print(f"pl.read_csv (Polars inference)  {med['polars']:6.2f} s  {size_mb / med['polars']:6.0f} MB/s")
        print(f"read_file (fread rule)          {med['fread']:6.2f} s  {size_mb / med['fread']:6.0f} MB/s")
        print(f"  ratio fread rule / pl.read_csv: {med['fread'] / med['polars']:.2f}x")
        print(f"pl.read_csv + write_parquet     {med['raw']:6.2f} s")
        print(f"Project.sync of the file        {med['sync']:6.2f} s")
        print(f"  ratio sync / csv->parquet:      {med['sync'] / med['raw']:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
