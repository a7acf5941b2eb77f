"""Scan benchmark: ``pl.scan_datom`` against ``pl.scan_parquet`` on the same stored object, in one run.

    .venv/bin/python benchmarks/bench_scan_polars.py [rows]      (default 20,000,000 rows x 4 columns)

The table (sorted Int64 ``id``, Float64 ``value``, String ``label``, Int32 ``grp``) is written once
through ``df.datom.write`` to a local store (1M-row groups, so 20 row groups by default). Each query is
timed end to end, ``scan_datom`` including its metadata resolution, against ``pl.scan_parquet`` over the
URL ``scan_datom`` resolved. Runs alternate which side goes first (ABBA) and medians are compared:

* (a) selective: ``filter(id in a 1,000-id range)`` inside one row group (the others are skipped);
* (b) full scan: ``collect()`` of every row and column;
* (c) projection: ``select(value).collect()``.

Plus the metadata resolution alone (``dt.resolve`` and the ``scan_datom`` call without collecting).
Targets: every ratio <= 1.05; resolution < 20 ms on a local store.

The ratios are measured warm: the object's verdict is recorded (it was hashed once on this machine), so
each ``scan_datom`` call costs a ``stat`` and a dictionary lookup. The cold first scan (no verdict: the
object is hashed before the plan is built) is printed separately, against the time to hash the file at
the datom-cv1 hashing rate ``bench_write.py`` measures (``hash_table`` of the same in-memory table).
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
import pyarrow.parquet as pq
from benchargs import counts
from coldscan import cold_first_scan, hashing_rate

import datom_engines as dt

REF = "BENCH.big"


def build(rows: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "value": rng.normal(size=rows),
            "label": pl.Series(rng.integers(10**9, 10**10, rows)).cast(pl.String),
            "grp": rng.integers(0, 1000, rows).astype(np.int32),
        }
    )


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def compare(name: str, query: Callable[[pl.LazyFrame], pl.DataFrame], url: str, repeats: int) -> float:
    """Median time of ``query`` over scan_datom and over scan_parquet (ABBA order); print and return the ratio."""

    def datom() -> object:
        return query(pl.scan_datom(REF))  # type: ignore[attr-defined]

    def parquet() -> object:
        return query(pl.scan_parquet(url))

    assert datom().equals(parquet())  # type: ignore[attr-defined]
    d_times: list[float] = []
    p_times: list[float] = []
    for i in range(repeats):
        if i % 2:
            p_times.append(timed(parquet))
            d_times.append(timed(datom))
        else:
            d_times.append(timed(datom))
            p_times.append(timed(parquet))
    d, p = statistics.median(d_times), statistics.median(p_times)
    ratio = d / p
    mark = "ok" if ratio <= 1.05 else "ABOVE TARGET"
    print(f"{name:<34} scan_datom {d * 1e3:9.2f} ms   scan_parquet {p * 1e3:9.2f} ms   ratio {ratio:5.3f}  {mark}")
    return ratio


def main() -> None:
    (rows,) = counts(__doc__, ("rows", 20_000_000))
    work = Path(tempfile.mkdtemp(prefix="datom-bench-scan-"))
    try:
        subprocess.run(["git", "init", "-q", "--bare", str(work / "remote.git")], check=True)
        dt.init(work / "clone", "BENCH", store=work / "store", remote=str(work / "remote.git"))
        df = build(rows)
        start = time.perf_counter()
        result = df.datom.write(REF)
        write_s = time.perf_counter() - start
        rate = hashing_rate(df.to_arrow())
        del df
        url = dt.resolve(REF).url
        meta = pq.read_metadata(url)
        print(
            f"rows={rows:,} columns={meta.num_columns} row_groups={meta.num_row_groups} "
            f"parquet={Path(url).stat().st_size / 1e6:.0f} MB  (written in {write_s:.1f} s, version "
            f"{result.version[:8]})"
        )

        cold_first_scan(url, rate, lambda: pl.scan_datom(REF))  # type: ignore[attr-defined]

        lo = rows // 2 + 12_345  # one row group in the middle of the table
        selective = pl.col("id").is_between(lo, lo + 999)
        ratios = [
            compare("(a) selective filter, 1 row group", lambda lf: lf.filter(selective).collect(), url, 41),
            compare("(b) full scan", lambda lf: lf.collect(), url, 9),
            compare("(c) projection of one column", lambda lf: lf.select("value").collect(), url, 15),
        ]
        assert pl.scan_datom(REF).filter(selective).collect().height == 1000  # type: ignore[attr-defined]

        resolve_t = sorted(timed(lambda: dt.resolve(REF)) for _ in range(201))
        scan_t = sorted(timed(lambda: pl.scan_datom(REF)) for _ in range(201))  # type: ignore[attr-defined]
        med_r, med_s = statistics.median(resolve_t), statistics.median(scan_t)
        p95 = scan_t[int(len(scan_t) * 0.95)]
        print(
            f"metadata resolution alone: dt.resolve {med_r * 1e3:.2f} ms, scan_datom() call {med_s * 1e3:.2f} ms "
            f"(p95 {p95 * 1e3:.2f} ms)  target < 20 ms: {'ok' if med_s < 0.020 else 'ABOVE TARGET'}"
        )
        print(f"worst ratio {max(ratios):.3f} (target <= 1.05)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
