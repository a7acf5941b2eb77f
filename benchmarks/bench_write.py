"""Write benchmark: hashing and a full versioned write, each against a raw parquet write, in one run.

    .venv/bin/python benchmarks/bench_write.py [rows]      (default 10,000,000 rows x 4 columns)

The table has an Int64, a Float64, a String (~10 characters) and a Date column. Printed ratios (these
machines are noisy, so the runs interleave and the medians are compared):

* ``data_sha / write_table``: the datom-cv1 hash versus ``pyarrow.parquet.write_table`` (zstd);
* ``full write / raw write``: ``Project.write`` (hash + parquet + SHA-256 + store + git commit/push +
  metadata mirror, local store and local bare remote) versus the raw parquet write of the same table.

Targets: hashing >= 1 GB/s of in-memory data; full write <= 1.3x the raw write.
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
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from benchargs import counts

import datom_engines as dt
from datom_engines.core.cv1 import hash_table

REPEATS = 3


def build(rows: int, seed: int = 0) -> pa.Table:
    """The benchmark table as Arrow (int, float, string, date)."""
    rng = np.random.default_rng(seed)
    df = pl.DataFrame(
        {
            "id": rng.integers(0, 100_000, rows),
            "value": rng.normal(size=rows),
            "label": pl.Series(rng.integers(10**9, 10**10, rows)).cast(pl.String),
            "day": pl.Series(rng.integers(0, 20_000, rows).astype(np.int32)).cast(pl.Date),
        }
    )
    return df.to_arrow()


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def main() -> None:
    (rows,) = counts(__doc__, ("rows", 10_000_000))
    table = build(rows)
    size = table.nbytes
    work = Path(tempfile.mkdtemp(prefix="datom-bench-write-"))
    try:
        subprocess.run(["git", "init", "-q", "--bare", str(work / "remote.git")], check=True)
        proj = dt.init(work / "clone", "BENCH", store=work / "store", remote=str(work / "remote.git"))
        raw_path = work / "raw.parquet"

        def raw_write() -> None:
            pq.write_table(table, raw_path, compression="zstd", row_group_size=1_000_000)

        # a different table each round (built outside the timing) so every write is a real new version
        variants = iter(
            [table.set_column(1, "value", pc.add(table.column("value"), float(i + 1))) for i in range(REPEATS)]
        )

        def full_write() -> None:
            result = proj.write(next(variants), "big")
            assert result.change == "full" and result.uploaded

        hash_times, raw_times, full_times = [], [], []
        for _ in range(REPEATS):  # interleaved so background noise hits all three alike
            hash_times.append(timed(lambda: hash_table(table)))
            raw_times.append(timed(raw_write))
            full_times.append(timed(full_write))
        h, r, f = (statistics.median(x) for x in (hash_times, raw_times, full_times))
        print(
            f"rows={rows:,} columns={table.num_columns} in-memory={size / 1e9:.3f} GB "
            f"parquet={raw_path.stat().st_size / 1e6:.0f} MB  (median of {REPEATS} interleaved runs)"
        )
        print(f"data_sha           {h:7.3f} s   {size / h / 1e9:5.2f} GB/s   (target >= 1 GB/s)")
        print(f"raw write_table    {r:7.3f} s")
        print(f"full datom write   {f:7.3f} s")
        print(f"ratio data_sha / write_table = {h / r:5.2f}")
        print(f"ratio full write / raw write = {f / r:5.2f}   (target <= 1.30)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
