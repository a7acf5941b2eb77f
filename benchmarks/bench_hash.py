"""Benchmark of the datom-cv1 hash on a 10M-row, 4-column Polars table.

Columns: Int64 (small values), Float64, String (~10 characters) and Date. Prints the best of three
``data_sha`` timings and the throughput in GB/s of in-memory data (``DataFrame.estimated_size()``).

Run: ``.venv/bin/python benchmarks/bench_hash.py [rows]``
"""

from __future__ import annotations

import sys
import time

import numpy as np
import polars as pl

from datom_engines.core.cv1 import data_sha


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
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    df = build(rows)
    size = df.estimated_size()
    seconds, sha = best_of(3, lambda: data_sha(df))
    print(f"rows={rows:,} columns={df.width} in-memory={size / 1e9:.3f} GB")
    print(f"data_sha={sha}")
    print(f"best of 3: {seconds * 1000:.1f} ms -> {size / seconds / 1e9:.2f} GB/s")


if __name__ == "__main__":
    main()
