"""The cold first scan of a benchmark: the cost of verifying an object that has no verdict yet.

Shared by ``bench_scan_polars.py`` and ``bench_scan_duckdb.py``. A scan with no verdict recorded hashes
the object before the engine sees it: with the BLAKE3 its writer recorded, on every core (see
``datom_engines/storage/fastcheck.py``), else with SHA-256. Printed beside it: one SHA-256 pass over the
file's bytes in memory (what checking ``parquet_sha`` itself costs: one sequential hash, on one core)
and the file hashed at ``bench_write.py``'s datom-cv1 rate (``hash_table`` of the in-memory table, on
every core), the target.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

import datom_engines as dt
from datom_engines.core.cv1 import hash_table


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def hashing_rate(table: pa.Table) -> tuple[float, float]:
    """Bytes per second of datom-cv1 hashing of an in-memory table, as ``bench_write.py`` measures it: on
    every core (the rate it prints), and on one core (a cold check is one SHA-256 stream, so one core)."""
    every = table.nbytes / statistics.median(timed(lambda: hash_table(table)) for _ in range(3))
    one = table.nbytes / statistics.median(timed(lambda: hash_table(table, threads=1)) for _ in range(3))
    return every, one


def sha256_floor(path: str) -> tuple[int, float]:
    """``(size, seconds)`` of SHA-256 over ``size`` bytes with no I/O at all (an 8 MiB buffer, hashed over
    and over): the single-core speed a cold check cannot beat."""
    size = Path(path).stat().st_size
    block = bytes(8 * 2**20)

    def run() -> None:
        h = hashlib.sha256()
        for _ in range(size // len(block)):
            h.update(block)
        h.update(block[: size % len(block)])

    return size, statistics.median(timed(run) for _ in range(3))


def cold_first_scan(path: str, rates: tuple[float, float], scan: Callable[[], object]) -> float:
    """Time ``scan`` with no verdict recorded (median of 3) and print it with its references; returns it."""
    size, floor = sha256_floor(path)
    time.sleep(max(0.0, 1.1 - (time.time() - Path(path).stat().st_mtime)))  # a settled identity (stat.py)
    colds = []
    for _ in range(3):
        dt.clear_cache()  # drops the recorded verdicts, on disk and in this process
        colds.append(timed(scan))
    warm = statistics.median(timed(scan) for _ in range(11))
    cold = statistics.median(colds)
    rate, one_core = rates
    budget = size / rate
    verdict = "ok" if cold <= budget else "slower"
    one_budget = size / one_core
    one_verdict = "ok" if cold <= one_budget else "slower"
    print(
        f"cold first scan (no verdict): {cold * 1e3:.1f} ms, {size / 1e6:.0f} MB verified at "
        f"{size / cold / 1e9:.2f} GB/s; warm (verdict recorded): {warm * 1e3:.2f} ms\n"
        f"  SHA-256 of as many bytes (one core), no I/O: {floor * 1e3:.1f} ms "
        f"({size / floor / 1e9:.2f} GB/s; cold/floor "
        f"{cold / floor:.2f}); the file at the bench_write hashing rate ({rate / 1e9:.2f} GB/s): "
        f"{budget * 1e3:.1f} ms -> {verdict}; at its one-core rate ({one_core / 1e9:.2f} GB/s): "
        f"{one_budget * 1e3:.1f} ms -> {one_verdict}"
    )
    return cold
