"""Spark benchmark: ``datom_engines.spark`` against plain Spark on the same parquet object, in one run.

    flock /tmp/datom-heavy.lock .venv/bin/python benchmarks/bench_spark.py [rows]   (default 10,000,000)

The table (sorted Int64 ``id``, Float64 ``value``, String ``label``, Int32 ``grp``; 1M-row groups) is
written once through Polars to a local store. On a ``local[2]`` session, each query is timed end to end
(``dts.read`` including its resolution; the object was verified once, on the first read), alternating
which side runs first, and medians are compared:

* native read vs ``spark.read.parquet(url)``: (a) a selective filter inside one row group, (b) a full
  scan of every row and column (``write.format("noop")``); target ratio <= 1.05;
* the ``datom`` Python data source vs the native read, on the same selective filter (and the full scan);
* ``dts.write`` of the 10M rows (read from the parquet file) vs ``df.write.parquet`` of the same rows
  (zstd, as datom writes), with the peak resident memory of the Python driver and of the JVM (which in
  local mode also runs the executors) during the datom write, beside the table's in-memory size.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from benchargs import counts
from engine_bench import REF, PeakMemory, make_project, mib, side_by_side, timed
from pyspark.sql import functions as F

import datom_engines as dt
import datom_engines.spark as dts


def main() -> None:
    (rows,) = counts(__doc__, ("rows", 10_000_000))
    work, url, table_bytes = make_project(rows)
    try:
        spark = dts.local_session("local[2]", conf={"spark.driver.memory": "3g"}, app_name="datom-bench")
        print(f"rows={rows:,} in-memory={mib(table_bytes)} parquet={mib(Path(url).stat().st_size)}")
        dts.read(spark, REF).count()  # the first read verifies the object (once per machine)
        dts.register(spark)
        lo = rows // 2 + 12_345
        selective = (F.col("id") >= lo) & (F.col("id") < lo + 1000)

        def sel(df: object) -> object:
            return df.filter(selective).collect()  # type: ignore[attr-defined]

        def full(df: object) -> object:
            return df.write.format("noop").mode("overwrite").save()  # type: ignore[attr-defined]

        assert len(sel(dts.read(spark, REF))) == len(sel(spark.read.parquet(url))) == 1000
        assert len(sel(spark.read.format("datom").load(REF))) == 1000
        pair = ("dts.read", "spark.read.parquet")
        r1 = side_by_side("(a) selective filter, native", lambda: sel(dts.read(spark, REF)),
                          lambda: sel(spark.read.parquet(url)), 21, pair)  # fmt: skip
        r2 = side_by_side("(b) full scan, native", lambda: full(dts.read(spark, REF)),
                          lambda: full(spark.read.parquet(url)), 7, pair)  # fmt: skip
        source = ("data source", "native dts.read")
        side_by_side("(c) selective filter, Python data source", lambda: sel(spark.read.format("datom").load(REF)),
                     lambda: sel(dts.read(spark, REF)), 11, source)  # fmt: skip
        side_by_side("(d) full scan, Python data source", lambda: full(spark.read.format("datom").load(REF)),
                     lambda: full(dts.read(spark, REF)), 3, source)  # fmt: skip
        print(f"native read ratios: selective {r1:.3f}, full {r2:.3f} (target <= 1.05)")

        # ----- write ------------------------------------------------------------------------------
        src = spark.read.parquet(url)
        counter = iter(range(1000))
        peaks: list[PeakMemory] = []

        def datom_write() -> None:
            with PeakMemory(children=True) as peak:
                result = dts.write(src, f"BENCH.copy{next(counter)}", parents=[])
            assert result.change == "full" and result.nrow == rows
            peaks.append(peak)

        def spark_write() -> None:
            src.write.mode("overwrite").option("compression", "zstd").parquet(str(work / "spark-out"))

        side_by_side(f"(e) write {rows:,} rows", datom_write, spark_write, 4, ("dts.write", "df.write.parquet"))
        growth = max(p.growth for p in peaks)
        jvm = max(p.children_peak for p in peaks)
        print(
            f"    driver during dts.write: Python peak +{mib(growth)} over its baseline "
            f"(table in memory: {mib(table_bytes)}); JVM (driver + local executors) peak RSS {mib(jvm)}"
        )
        back = dt.read("BENCH.copy0", columns=["id"])
        assert back.num_rows == rows and back.column("id")[rows - 1].as_py() == rows - 1
        start = time.perf_counter()
        spark.stop()
        print(f"(session stopped in {timed(lambda: None) + time.perf_counter() - start:.1f} s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
