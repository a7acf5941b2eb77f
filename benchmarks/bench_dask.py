"""Dask benchmark: ``datom_engines.dask`` against plain Dask on the same parquet object, in one run.

    flock /tmp/datom-heavy.lock .venv/bin/python benchmarks/bench_dask.py [rows]   (default 10,000,000)

On a ``distributed.LocalCluster`` of two worker processes: ``read_datom`` (resolution included; the object
was verified once, on the first read) against ``dd.read_parquet`` of the URL it resolved, with the same
pyarrow dtypes and one partition per row group, alternating which side runs first, medians compared:
(a) a selective ``filters=`` inside
one row group, (b) a full scan of every row and column (a row count per partition, computed in the
workers). Then ``ddf.datom.write`` of the rows against ``ddf.to_parquet`` (zstd), with the client's peak
resident memory during the datom write beside the table's in-memory size.
"""

from __future__ import annotations

import shutil

import dask.dataframe as dd
from benchargs import counts
from distributed import Client, LocalCluster
from engine_bench import REF, PeakMemory, make_project, mib, side_by_side

import datom_engines as dt
import datom_engines.dask as ddt

#: what read_datom passes to dd.read_parquet (the same read plan on both sides)
RAW = {"dtype_backend": "pyarrow", "split_row_groups": True}


def main() -> None:
    (rows,) = counts(__doc__, ("rows", 10_000_000))
    work, url, table_bytes = make_project(rows)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)
    client = Client(cluster)
    try:
        print(f"rows={rows:,} in-memory={mib(table_bytes)}")
        ddt.read_datom(REF)  # the first read verifies the object (once per machine)
        lo = rows // 2 + 12_345
        flt = [("id", ">=", lo), ("id", "<", lo + 1000)]

        def sel_datom() -> object:
            return ddt.read_datom(REF, filters=flt).compute()

        def sel_raw() -> object:
            return dd.read_parquet(url, filters=flt, **RAW).compute()

        def count(ddf: dd.DataFrame) -> int:
            return int(ddf.map_partitions(len).compute().sum())

        assert len(sel_datom()) == len(sel_raw()) == 1000
        pair = ("read_datom", "dd.read_parquet")
        r1 = side_by_side("(a) selective filter", sel_datom, sel_raw, 21, pair)
        r2 = side_by_side("(b) full scan", lambda: count(ddt.read_datom(REF)),
                          lambda: count(dd.read_parquet(url, **RAW)), 7, pair)  # fmt: skip
        print(f"read ratios: selective {r1:.3f}, full {r2:.3f} (target <= 1.05)")
        src = dd.read_parquet(url, **RAW)
        counter = iter(range(1000))
        peaks: list[PeakMemory] = []

        def datom_write() -> None:
            with PeakMemory() as peak:
                result = src.datom.write(f"BENCH.copy{next(counter)}", parents=[])
            assert result.change == "full" and result.nrow == rows
            peaks.append(peak)

        def dask_write() -> None:
            src.to_parquet(str(work / "dask-out"), compression="zstd", write_index=False, overwrite=True)

        side_by_side(f"(c) write {rows:,} rows", datom_write, dask_write, 4, ("ddf.datom.write", "ddf.to_parquet"))
        print(
            f"    client during the datom write: peak +{mib(max(p.growth for p in peaks))} over its baseline "
            f"(table in memory: {mib(table_bytes)})"
        )
        assert dt.read("BENCH.copy0", columns=["id"]).num_rows == rows
    finally:
        client.close()
        cluster.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
