"""Benchmark of the datom-cv1 hash on a 10M-row, 4-column Polars table.

Columns: Int64 (small values), Float64, String (~10 characters) and Date. Prints the best of three
``data_sha`` timings and the throughput in GB/s of in-memory data (``DataFrame.estimated_size()``),
then column parallelism side by side: one thread against every core, for the in-memory hash
(``hash_table``, every eager write), the parquet-file hash (``hash_parquet``, Polars LazyFrame writes)
and the streaming hash (``StreamHasher``, DuckDB / Spark / Dask writes, fed 64K-row batches).

Run: ``.venv/bin/python benchmarks/bench_hash.py [rows]``
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np
import polars as pl
import pyarrow.parquet as pq
from benchargs import counts

from datom_engines.core.cv1 import StreamHasher, data_sha, hash_parquet, hash_table


def build(rows: int, seed: int = 0) -> pl.DataFrame:
    """Return the benchmark table of ``rows`` rows."""
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "id": rng.integers(0, 100_000, rows),
            "value": rng.normal(size=rows),
            "label": pl.Series(rng.integers(10**9, 10**10, rows)).cast(pl.String),
            "day": pl.Series(rng.integers(0, 20_000, rows).astype(np.int32)).cast(pl.Date),
        }
    )


def best_of(repeats: int, func: object) -> tuple[float, str]:
    """Return the best wall time of ``repeats`` calls of ``func`` and its (identical) result."""
    best = float("inf")
    result = ""
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    """Build the table, time ``data_sha`` (best of 3) and print the throughput."""
    (rows,) = counts(__doc__, ("rows", 10_000_000))
    df = build(rows)
    size = df.estimated_size()
    seconds, sha = best_of(3, lambda: data_sha(df))
    print(f"rows={rows:,} columns={df.width} in-memory={size / 1e9:.3f} GB")
    print(f"data_sha={sha}")
    print(f"best of 3: {seconds * 1000:.1f} ms -> {size / seconds / 1e9:.2f} GB/s")

    table = df.to_arrow()
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.parquet")
        pq.write_table(table, path, row_group_size=1_000_000, compression="zstd")
        batches = table.to_batches(max_chunksize=65_536)

        def streamed(threads: int) -> str:
            hasher = StreamHasher(table.schema, threads=threads)
            for batch in batches:
                hasher.update(batch)
            # the second pass reads the string columns back from the written file, in big batches
            return hasher.finish(lambda cols: table.select(cols).to_batches(max_chunksize=1 << 20)).data_sha

        cases = {
            "hash_table": lambda n: hash_table(table, threads=n).data_sha,
            "hash_parquet": lambda n: hash_parquet(path, threads=n).data_sha,
            "StreamHasher": streamed,
        }
        print(f"column parallelism, {cores} cores (best of 3, GB/s of in-memory data):")
        for name, run in cases.items():
            one, sha1 = best_of(3, lambda run=run: run(1))
            many, sha2 = best_of(3, lambda run=run: run(cores))
            assert sha1 == sha2 == sha
            print(
                f"  {name:<13} 1 thread {one * 1000:7.1f} ms ({size / one / 1e9:.2f} GB/s)   "
                f"{cores} threads {many * 1000:7.1f} ms ({size / many / 1e9:.2f} GB/s)   speed-up {one / many:.2f}x"
            )


if __name__ == "__main__":
    main()
