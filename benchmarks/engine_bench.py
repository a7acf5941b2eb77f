"""Helpers shared by the Spark and Dask benchmarks: a project holding the benchmark table, side-by-side
timing (ABBA order, medians) and a sampler of peak memory."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from bench_scan_polars import build

import datom_engines as dt

REF = "BENCH.big"


def make_project(rows: int) -> tuple[Path, str, int]:
    """A work directory with project BENCH whose table ``big`` holds ``rows`` rows; returns
    ``(workdir, parquet url, in-memory bytes of the table)``."""
    work = Path(tempfile.mkdtemp(prefix="datom-bench-engines-"))
    subprocess.run(["git", "init", "-q", "--bare", str(work / "remote.git")], check=True)
    dt.init(work / "clone", "BENCH", store=work / "store", remote=str(work / "remote.git"))
    df = build(rows)
    size = df.estimated_size()
    df.datom.write(REF)
    return work, dt.resolve(REF).url, size


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def side_by_side(
    name: str, ours: Callable[[], object], theirs: Callable[[], object], repeats: int, labels: tuple[str, str]
) -> float:
    """Median times of ``ours`` and ``theirs`` (alternating which goes first); print and return the ratio."""
    a_times: list[float] = []
    b_times: list[float] = []
    for i in range(repeats):
        if i % 2:
            b_times.append(timed(theirs))
            a_times.append(timed(ours))
        else:
            a_times.append(timed(ours))
            b_times.append(timed(theirs))
    a, b = statistics.median(a_times), statistics.median(b_times)
    ratio = a / b
    print(f"{name:<40} {labels[0]} {a * 1e3:9.1f} ms   {labels[1]} {b * 1e3:9.1f} ms   ratio {ratio:5.3f}", flush=True)
    return ratio


class PeakMemory:
    """Samples the resident memory of this process (and, with ``children``, of its child processes,
    e.g. Spark's JVM) every few milliseconds while in the ``with`` block; peaks are in bytes."""

    def __init__(self, *, children: bool = False, every: float = 0.005) -> None:
        self._proc = psutil.Process(os.getpid())
        self._children = children
        self._every = every
        self.baseline = self.peak = self.children_peak = 0
        self._stop = threading.Event()

    def _children_rss(self) -> int:
        total = 0
        for child in self._proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):  # a child that just ended
                total += child.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            if self._children:
                self.children_peak = max(self.children_peak, self._children_rss())
            time.sleep(self._every)

    def __enter__(self) -> PeakMemory:
        self.baseline = self.peak = self._proc.memory_info().rss
        self.children_baseline = self._children_rss() if self._children else 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        """Peak resident memory of this process above what it held when the block started."""
        return self.peak - self.baseline


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"
