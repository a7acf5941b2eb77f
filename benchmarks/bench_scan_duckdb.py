"""DuckDB scan benchmark: ``FROM datom(...)`` against ``read_parquet`` of the same files, in one run.

    .venv/bin/python benchmarks/bench_scan_duckdb.py [rows] [repeats]   (default 20,000,000 rows, 25 repeats)

A lab-like table (USUBJID sorted as in real lab data, LBTESTCD, LBSTRESN, VISITNUM, LBDTC) is written
once through the core write path to a local store. Each query then runs through ``datom('BENCH.lb')``
and through ``read_parquet(<the resolved files>, hive_partitioning := false)`` on the same
connection. Runs interleave (and alternate which goes first) so machine noise hits both alike; a
sample of a short query repeats it for about 0.2 s; the printed figures are medians per query and
the ratio of the medians.

* selective filter: one subject (row-group statistics skip all but one row group);
* full aggregate: a GROUP BY over every row;
* one-column projection: one column of every row, fetched into Arrow.

Target: every ratio <= 1.05. On top of the same parquet scan, a warm ``datom()`` costs the table macro,
one call of a one-argument Python function, and two ``stat`` calls (the table's ``metadata.json``, whose
identity vouches for the resolution, and the object, whose verdict is recorded: it was hashed once on
this machine), about 0.1 ms per query. The cold first query (no verdict: the object is hashed before
DuckDB reads it) is printed separately (see ``coldscan.py``).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
from benchargs import counts
from coldscan import cold_first_scan, hashing_rate

import datom_engines as dt
from datom_engines import duckdb as ddb

TESTS = np.array(["ALT", "AST", "ALP", "BILI", "CREAT", "GLUC", "HGB", "WBC"])
ROWS_PER_SUBJECT = 40
SAMPLE_SECONDS = 0.2  # a timing sample repeats a short query until it lasts about this long


def build(rows: int, seed: int = 0) -> pa.Table:
    """The benchmark table: rows grouped by subject, eight lab tests, five visits."""
    rng = np.random.default_rng(seed)
    i = np.arange(rows)
    subject = i // ROWS_PER_SUBJECT
    subjects = pa.array(np.char.add("S-", np.char.zfill(np.arange(subject[-1] + 1).astype(str), 7)))
    return pa.table(
        {
            "USUBJID": subjects.take(pa.array(subject)),
            "LBTESTCD": pa.array(TESTS).take(pa.array(i % len(TESTS))),
            "LBSTRESN": pa.array(rng.gamma(2.0, 20.0, rows)),
            "VISITNUM": pa.array(((i // len(TESTS)) % 5 + 1).astype(np.int32)),
            "LBDTC": pa.array((19_000 + subject % 700 + (i // len(TESTS)) % 5 * 7).astype(np.int32)).cast(pa.date32()),
        }
    )


def same_result(a: pa.Table, b: pa.Table) -> bool:
    """Equal up to row order (and float rounding: parallel sums may add in another order)."""
    if a.schema != b.schema or a.num_rows != b.num_rows or a.num_rows == 0:
        return False
    order = [(c, "ascending") for c in a.column_names if not pa.types.is_floating(a.schema.field(c).type)]
    a, b = (t.sort_by(order) if order else t for t in (a, b))
    for name in a.column_names:
        x, y = a.column(name), b.column(name)
        if pa.types.is_floating(x.type):
            if not np.allclose(x.to_numpy(), y.to_numpy(), rtol=1e-9, equal_nan=True):
                return False
        elif not x.equals(y):
            return False
    return True


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    rows, repeats = counts(__doc__, ("rows", 20_000_000), ("repeats", 25))
    work = Path(tempfile.mkdtemp(prefix="datom-bench-duckdb-"))
    try:
        subprocess.run(["git", "init", "-q", "--bare", str(work / "remote.git")], check=True)
        proj = dt.init(work / "clone", "BENCH", store=work / "store", remote=str(work / "remote.git"))
        start = time.perf_counter()
        table = build(rows)
        result = proj.write(table, "lb")
        rate = hashing_rate(table)
        del table
        print(f"built and wrote {rows:,} rows in {time.perf_counter() - start:.1f} s")

        con = ddb.register(duckdb.connect())
        files = ", ".join(f"'{url}'" for url in dt.resolve("BENCH.lb").urls)
        source = {
            "datom": "datom('BENCH.lb')",
            "read_parquet": f"read_parquet([{files}], hive_partitioning := false)",
        }
        subject = f"S-{(rows // ROWS_PER_SUBJECT) // 2:07d}"
        queries = {
            "selective filter": (
                f"SELECT LBTESTCD, VISITNUM, LBSTRESN FROM {{src}} WHERE USUBJID = '{subject}' AND LBTESTCD = 'ALT'"
            ),
            "full aggregate": (
                "SELECT LBTESTCD, VISITNUM, count(*), avg(LBSTRESN), max(LBDTC) FROM {src} GROUP BY ALL"
            ),
            "one-column projection": "SELECT LBSTRESN FROM {src}",
        }

        # con.execute binds a query once; con.sql(...) binds it twice (so datom() would resolve twice)
        warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")

        def run(sql: str, times: int = 1) -> Callable[[], object]:
            def go() -> None:
                for _ in range(times):
                    con.execute(sql).to_arrow_table()

            return go

        path = work / "store" / "datom" / "lb" / f"{result.data_sha}.parquet"
        size = path.stat().st_size
        cold_first_scan(str(path), rate, run(queries["selective filter"].format(src=source["datom"])))
        print(f"parquet {size / 1e6:.0f} MB, {repeats} interleaved repeats per query, medians in ms")
        print(f"{'query':24s} {'datom()':>10s} {'read_parquet':>13s} {'ratio':>7s}")
        ratios = []
        for label, template in queries.items():
            sql = {name: template.format(src=src) for name, src in source.items()}
            a, b = con.execute(sql["datom"]).to_arrow_table(), con.execute(sql["read_parquet"]).to_arrow_table()
            assert same_result(a, b), f"{label}: results differ"
            warm = min(timed(run(sql[name])) for name in sql for _ in range(2))
            inner = max(1, round(SAMPLE_SECONDS / warm))  # short queries: each sample runs several times
            times: dict[str, list[float]] = {"datom": [], "read_parquet": []}
            for r in range(repeats):
                order = ("datom", "read_parquet") if r % 2 == 0 else ("read_parquet", "datom")
                for name in order:
                    times[name].append(timed(run(sql[name], inner)) / inner)
            d, p = statistics.median(times["datom"]), statistics.median(times["read_parquet"])
            ratios.append(d / p)
            print(f"{label:24s} {d * 1000:10.2f} {p * 1000:13.2f} {d / p:7.3f}")
        print(f"max ratio {max(ratios):.3f}   (target <= 1.05)")
        con.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
