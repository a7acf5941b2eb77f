"""datom_engines against Delta Lake (``deltalake``) on the same data, side by side in one run.

    .venv/bin/python benchmarks/bench_vs_delta.py [rows] [repeats]   (default 10,000,000 rows, 5 repeats)

Needs ``pip install -e '.[bench]'`` (deltalake). The table: a sorted Int64 ``id``, a Float64 ``x``
(random normal), a String ``g`` (1,000 distinct values in random order) and an Int32 ``n``. Both sides
write to a local disk: datom through ``Project.write`` (local store, local bare git remote, so the
git commit, push and metadata mirror are included) and Delta through ``write_deltalake`` with its
defaults (``mode="overwrite"``: each round is a new version of the same table).

Printed, each as a median over ``repeats`` interleaved rounds that alternate which side goes first
(short queries repeat inside a sample for about 0.1 s), and the ratio datom / delta:

* writes: a full write of the big table (a new version each round) and one version of a 1,000-row
  table;
* Polars reads: ``pl.scan_datom(ref)`` against ``pl.scan_delta(path)`` (each includes its own
  metadata resolution): ``collect()`` of all rows, ``select(x.sum())``, ``group_by(g).agg(x.mean())``
  and a selective filter on ``id`` (one row group);
* DuckDB reads: ``FROM datom('BENCH.big')`` against ``read_parquet`` over the Delta table's files, the
  same four queries in SQL;
* stored bytes: the version's parquet object against the Delta table's current data files.

Targets (issue 11): every read ratio <= 1.0, stored bytes <= Delta's, full write <= 1.0, small write
<= 2.0.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow.parquet as pq
from benchargs import counts

try:
    from deltalake import DeltaTable, write_deltalake
except ImportError:
    sys.exit("bench_vs_delta.py needs deltalake: pip install -e '.[bench]' (in the project's .venv)")

import datom_engines as dt
import datom_engines.duckdb as ddb

REF = "BENCH.big"
SMALL_ROWS = 1_000
SAMPLE_SECONDS = 0.1  # a sample of a short query repeats it until it lasts about this long


def build(rows: int, seed: int = 0) -> pl.DataFrame:
    """The benchmark table (a new seed gives new values of ``x`` and ``n``: a new version)."""
    rng = np.random.default_rng(seed)
    labels = pl.Series([f"group-{i:04d}" for i in range(1000)])
    return pl.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "x": rng.normal(size=rows),
            "g": labels.gather(rng.integers(0, 1000, rows)),
            "n": rng.integers(0, 1_000_000, rows).astype(np.int32),
        }
    )


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


class Table:
    """Rows of ``label  datom  delta  ratio`` with a target per row."""

    def __init__(self) -> None:
        self.misses: list[str] = []
        print(f"{'work':42s} {'datom':>11s} {'delta':>11s} {'datom/delta':>12s}  target")

    def row(self, label: str, d: float, p: float, target: float, unit: str = "ms") -> float:
        ratio = d / p
        ok = ratio <= target
        if not ok:
            self.misses.append(label)
        scale, fmt = (1e3, "{:9.2f} ms") if unit == "ms" else (1e-6, "{:8.1f} MB")
        print(
            f"{label:42s} {fmt.format(d * scale):>11s} {fmt.format(p * scale):>11s} {ratio:12.3f}  "
            f"<= {target:.1f} {'ok' if ok else 'MISSED'}"
        )
        return ratio


def compare(a: Callable[[], object], b: Callable[[], object], repeats: int, inner: int = 1) -> tuple[float, float]:
    """Medians of ``a`` and ``b`` over ``repeats`` rounds, alternating which goes first."""
    ta: list[float] = []
    tb: list[float] = []

    def sample(f: Callable[[], object]) -> float:
        start = time.perf_counter()
        for _ in range(inner):
            f()
        return (time.perf_counter() - start) / inner

    for r in range(repeats):
        if r % 2:
            tb.append(sample(b))
            ta.append(sample(a))
        else:
            ta.append(sample(a))
            tb.append(sample(b))
    return statistics.median(ta), statistics.median(tb)


def inner_count(a: Callable[[], object], b: Callable[[], object]) -> int:
    warm = min(timed(f) for f in (a, b, a, b))
    return max(1, round(SAMPLE_SECONDS / warm))


def writes(proj: dt.Project, delta_big: Path, delta_small: Path, rows: int, repeats: int, out: Table) -> None:
    seeds = iter(range(1, 10_000))

    def datom_big(df: pl.DataFrame) -> None:
        res = proj.write(df, "big")
        assert res.change == "full" and res.uploaded

    big: list[float] = []
    delta: list[float] = []
    for r in range(repeats):  # each round writes new values (built outside the timing), the same on both sides
        frame = build(rows, next(seeds))

        def ours(df: pl.DataFrame = frame) -> None:
            datom_big(df)

        def theirs(df: pl.DataFrame = frame) -> None:
            write_deltalake(delta_big, df, mode="overwrite")

        if r % 2:
            delta.append(timed(theirs))
            big.append(timed(ours))
        else:
            big.append(timed(ours))
            delta.append(timed(theirs))
        del frame, ours, theirs
    out.row("full write", statistics.median(big), statistics.median(delta), 1.0)

    small_frames = [build(SMALL_ROWS, 100_000 + i) for i in range(4 * repeats + 2)]
    frames = iter(small_frames)
    write_deltalake(delta_small, small_frames[0], mode="overwrite")
    proj.write(small_frames[1], "small")

    def datom_small() -> None:
        assert proj.write(next(frames), "small").change == "full"

    def delta_small_write() -> None:
        write_deltalake(delta_small, next(frames), mode="overwrite")

    next(frames), next(frames)
    d, p = compare(datom_small, delta_small_write, 2 * repeats)
    out.row(f"write one version of a {SMALL_ROWS:,}-row table", d, p, 2.0)


def polars_reads(delta_path: Path, rows: int, repeats: int, out: Table) -> None:
    lo = rows // 2 + 12_345
    queries: dict[str, Callable[[pl.LazyFrame], pl.DataFrame]] = {
        "collect() of all rows": lambda lf: lf.collect(),
        "select(x.sum()) one column": lambda lf: lf.select(pl.col("x").sum()).collect(),
        "group_by(g).agg(x.mean())": lambda lf: lf.group_by("g").agg(pl.col("x").mean()).sort("g").collect(),
        "selective filter (one row group)": lambda lf: lf.filter(pl.col("id").is_between(lo, lo + 999)).collect(),
    }
    for label, query in queries.items():

        def datom(q: Callable[[pl.LazyFrame], pl.DataFrame] = query) -> pl.DataFrame:
            return q(pl.scan_datom(REF))  # type: ignore[attr-defined]

        def delta(q: Callable[[pl.LazyFrame], pl.DataFrame] = query) -> pl.DataFrame:
            return q(pl.scan_delta(str(delta_path)))

        a, b = datom(), delta()
        if label.startswith("collect"):
            assert a.height == b.height == rows
        else:
            assert a.equals(b) or np.allclose(a.to_numpy()[:, -1].astype(float), b.to_numpy()[:, -1].astype(float))
        del a, b
        d, p = compare(datom, delta, repeats, inner_count(datom, delta))
        out.row(f"polars {label}", d, p, 1.0)


def duckdb_reads(delta_path: Path, rows: int, repeats: int, out: Table) -> None:
    con = ddb.register(duckdb.connect())
    files = ", ".join(f"'{uri}'" for uri in DeltaTable(str(delta_path)).file_uris())
    sources = {"datom": "datom('BENCH.big')", "delta": f"read_parquet([{files}])"}
    lo = rows // 2 + 12_345
    queries = {
        "SELECT * (all rows)": "SELECT * FROM {src}",
        "sum(x) one column": "SELECT sum(x) FROM {src}",
        "GROUP BY g, avg(x)": "SELECT g, avg(x) FROM {src} GROUP BY g ORDER BY g",
        "selective filter (one row group)": f"SELECT * FROM {{src}} WHERE id BETWEEN {lo} AND {lo + 999}",
    }
    warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
    for label, template in queries.items():
        sql = {name: template.format(src=src) for name, src in sources.items()}

        def datom(q: str = sql["datom"]) -> object:
            return con.execute(q).to_arrow_table()

        def delta(q: str = sql["delta"]) -> object:
            return con.execute(q).to_arrow_table()

        a, b = datom(), delta()
        assert a.num_rows == b.num_rows, label  # type: ignore[attr-defined]
        d, p = compare(datom, delta, repeats, inner_count(datom, delta))
        out.row(f"duckdb {label}", d, p, 1.0)
    con.close()


def stored_bytes(delta_path: Path, out: Table) -> None:
    resolved = dt.resolve(REF)
    ours = sum(os.path.getsize(u) for u in resolved.urls)
    table = DeltaTable(str(delta_path))
    theirs = sum(os.path.getsize(u.removeprefix("file://")) for u in table.file_uris())
    meta = pq.read_metadata(resolved.url)
    codecs = sorted({meta.row_group(0).column(i).compression for i in range(meta.num_columns)})
    print(
        f"  (datom: 1 object, {meta.num_row_groups} row groups, codecs {'/'.join(codecs)}; "
        f"delta: {len(table.file_uris())} file(s))"
    )
    out.row("stored bytes (current version)", ours, theirs, 1.0, unit="MB")


def main() -> None:
    rows, repeats = counts(__doc__, ("rows", 10_000_000), ("repeats", 5))
    work = Path(tempfile.mkdtemp(prefix="datom-bench-delta-"))
    try:
        subprocess.run(["git", "init", "-q", "--bare", str(work / "remote.git")], check=True)
        proj = dt.init(work / "clone", "BENCH", store=work / "store", remote=str(work / "remote.git"))
        print(
            f"rows={rows:,} (Int64 id sorted, Float64 x, String g 1000 distinct, Int32 n); medians of {repeats}; "
            f"polars {pl.__version__}, duckdb {duckdb.__version__}, deltalake "
            f"{__import__('deltalake').__version__}, datom_engines {dt.__version__}"
        )
        out = Table()
        writes(proj, work / "delta_big", work / "delta_small", rows, repeats, out)
        stored_bytes(work / "delta_big", out)
        polars_reads(work / "delta_big", rows, repeats, out)
        duckdb_reads(work / "delta_big", rows, repeats, out)
        print("all targets met" if not out.misses else f"targets missed: {', '.join(out.misses)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
