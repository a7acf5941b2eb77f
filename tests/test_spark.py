"""The Spark adapter (issue 12): ``datom_engines.spark.read`` (native parquet scan), the ``datom`` Python
data source, streamed writes with automatic lineage, on one ``local[2]`` SparkSession for the whole
test session and real stores (local directory, fsspec memory, S3 on moto)."""

from __future__ import annotations

import datetime as dtm
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from arrow_equal import assert_same_values
from conftest import StoreSpec, next_second
from test_cv1 import FIXTURE_LIST, build_polars
from test_polars import every_dtype
from test_project import lb_frame, new_project

import datom_engines as dt
import datom_engines.spark as dts
from datom_engines.spark import source as ds_source
from datom_engines.spark.types import plan_columns
from datom_engines.storage.location import StoreLocation

NANO_COLUMNS = ("dt_ns", "dur_ns")  # the columns of every_dtype() Spark cannot hold


def spark_type_of(stored: pa.DataType) -> pa.DataType | None:
    """The Arrow type Spark's ``toArrow`` returns for a stored column (None: the stored type)."""
    if pa.types.is_large_string(stored) or pa.types.is_dictionary(stored):
        return pa.string()
    widened = {
        pa.uint8(): pa.int16(),
        pa.uint16(): pa.int32(),
        pa.uint32(): pa.int64(),
        pa.uint64(): pa.decimal128(20, 0),
    }
    if stored in widened:
        return widened[stored]
    if pa.types.is_timestamp(stored):
        return pa.timestamp("us", "UTC" if stored.tz else None)
    if pa.types.is_duration(stored):
        return pa.duration("us")
    return None


def assert_spark_equal(df: Any, expected: pa.Table) -> None:
    assert_same_values(df.toArrow(), expected, spark_type_of)


# ----- reading: every dtype, both paths -----------------------------------------------------------------
@pytest.mark.parametrize("native", [True, False], ids=["native", "datasource"])
def test_every_holdable_dtype_equals_read_datom(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, spark: Any, native: bool
) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    frame = every_dtype().drop(NANO_COLUMNS)
    result = proj.write(frame, "types")
    df = dts.read(spark, "STUDY1.types", native=native)
    assert df.schema.simpleString() == (
        "struct<i8:tinyint,i16:smallint,i32:int,i64_small:bigint,i64_big:bigint,u8:smallint,u16:int,u32:bigint,"
        "u64:decimal(20,0),f32:float,f64:double,b:boolean,s:string,cat:string,enum:string,d:date,"
        "dt_us_utc:timestamp,dt_ms_ny:timestamp,dur_us:interval day to second,dur_ms:interval day to second,"
        "t:time(9),nothing:void>"
    )
    expected = pl.read_datom("STUDY1.types").to_arrow()
    assert_spark_equal(df, expected)
    # the content hash of what Spark holds equals the version's, column by column, except where Spark's
    # type is another datom-cv1 kind: UInt64 becomes a decimal (not hashable) and UInt32 a bigint, which
    # holds 2**32 - 1 here and so is hashed as i64 (as any Int64 column with such values)
    got = dt.column_hashes(df.drop("u64").toArrow())
    want = dict(result_hashes(proj, "types"))
    assert {k: v for k, v in got.items() if k != "u32"} == {k: v for k, v in want.items() if k not in ("u64", "u32")}
    assert got["u32"] == dt.column_hashes(frame.select(pl.col("u32").cast(pl.Int64)))["u32"]
    assert result.data_sha == dt.data_sha(frame)


def result_hashes(proj: dt.Project, table: str) -> list[tuple[str, str]]:
    return [(c["name"], c["sha"]) for c in proj.metadata(table)["column_hashes"]]


def test_every_cv1_fixture_reads_through_both_paths(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, spark: Any
) -> None:
    """The R-computed cv1 fixtures (no nanosecond columns among them) read exactly, natively and through
    the data source."""
    proj = new_project(tmp_path, local_store, bare_remote, name="TYPES")
    for fixture in FIXTURE_LIST:
        proj.write(build_polars(fixture), fixture["name"])
    for fixture in FIXTURE_LIST:
        ref = f"TYPES.{fixture['name']}"
        expected = dt.read(ref)
        assert_spark_equal(dts.read(spark, ref), expected)
        assert_spark_equal(dts.read(spark, ref, native=False), expected)


def test_nanosecond_columns_are_refused_and_the_rest_readable(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, spark: Any
) -> None:
    new_project(tmp_path, local_store, bare_remote).write(every_dtype(), "types")
    for native in (True, False):
        with pytest.raises(dt.UnsupportedDataError, match=r"2 column\(s\).*'dt_ns'.*'dur_ns'") as info:
            dts.read(spark, "STUDY1.types", native=native)
        assert "microseconds" in info.value.message and "columns=[...]" in info.value.hint
        df = dts.read(spark, "STUDY1.types", columns=["s", "dur_ms", "i8"], native=native)
        assert df.columns == ["s", "dur_ms", "i8"]
        assert_spark_equal(df, pl.read_datom("STUDY1.types", columns=["s", "dur_ms", "i8"]).to_arrow())
    with pytest.raises(dt.InvalidArgumentError, match="no column.*'nope'"):
        dts.read(spark, "STUDY1.types", columns=["s", "nope"])


def test_time_columns_need_the_time_type(spark: Any) -> None:
    schema = pa.schema([("t", pa.time64("ns")), ("x", pa.int32())])
    with pytest.raises(dt.UnsupportedDataError, match=r"'t'.*spark.sql.timeType.enabled"):
        plan_columns(schema, time_enabled=False)
    assert [p.spark_type.simpleString() for p in plan_columns(schema, time_enabled=True)] == ["time(9)", "int"]


def test_versions_by_id_prefix_and_as_of(tmp_path: Path, local_store: StoreSpec, bare_remote: str, spark: Any) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    v1 = proj.write(lb_frame(10), "lb")
    proj.tag("cut-1")
    next_second()
    v2 = proj.write(lb_frame(20, shift=0.5), "lb")
    created = proj.history("lb")[1].created_at
    assert created is not None
    dts.register(spark)
    for native in (True, False):
        selections = ({}, {"version": v1.version}, {"version": v1.version[:7]}, {"as_of": created}, {"tag": "cut-1"})
        for selection in selections:
            expected = pl.read_datom("STUDY1.lb", **selection).to_arrow()
            assert_spark_equal(dts.read(spark, "STUDY1.lb", native=native, **selection), expected)
        as_of = created.isoformat()
        got = spark.read.format("datom").option("as_of", as_of).load("STUDY1.lb")
        assert_spark_equal(got, pl.read_datom("STUDY1.lb", as_of=as_of).to_arrow())
    got = spark.read.format("datom").option("tag", "cut-1").load("STUDY1.lb")
    assert_spark_equal(got, pl.read_datom("STUDY1.lb", version=v1.version).to_arrow())
    assert dts.read(spark, "STUDY1.lb").count() == 20
    assert spark.read.format("datom").option("version", v2.version[:9]).load("STUDY1.lb").count() == 20
    with pytest.raises(dt.VersionNotFoundError, match="hint"):
        dts.read(spark, "STUDY1.lb", version="ffffff")
    with pytest.raises(dt.AmbiguousVersionError if v1.version[0] == v2.version[0] else dt.VersionNotFoundError):
        dts.read(spark, "STUDY1.lb", version=v1.version[0] if v1.version[0] == v2.version[0] else "0" * 8)


def test_a_frame_is_pinned_to_the_version_resolved(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, spark: Any
) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    proj.write(lb_frame(10), "lb")
    dts.register(spark)
    native = dts.read(spark, "STUDY1.lb")
    source = spark.read.format("datom").load("STUDY1.lb")
    proj.write(lb_frame(30), "lb")
    assert native.count() == 10 and source.count() == 10
    assert dts.read(spark, "STUDY1.lb").count() == 30


# ----- pushdown ----------------------------------------------------------------------------------------
def test_explain_shows_pushed_filters_on_the_native_path(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, spark: Any
) -> None:
    result = new_project(tmp_path, local_store, bare_remote).write(lb_frame(), "lb")
    query = dts.read(spark, "STUDY1.lb").filter("LBTESTCD = 'ALT' AND VISITNUM > 10").select("USUBJID")
    plan = query._jdf.queryExecution().executedPlan().toString()
    assert "FileScan parquet" in plan and "InMemoryFileIndex(1 paths)" in plan
    assert [Path(f.removeprefix("file:")) for f in query.inputFiles()] == [Path(dt.resolve("STUDY1.lb").url)]
    assert result.data_sha in dt.resolve("STUDY1.lb").url
    assert (
        "PushedFilters: [IsNotNull(LBTESTCD), IsNotNull(VISITNUM), EqualTo(LBTESTCD,ALT), GreaterThan(VISITNUM,10)]"
        in plan
    )
    assert "ReadSchema: struct<USUBJID:string" in plan  # only the needed columns are read
    assert sorted(r.USUBJID for r in query.collect()) == [f"S-{i:03d}" for i in range(11, 50, 2)]


def test_data_source_skips_row_groups_and_returns_exact_rows(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datom_engines.project import prepare

    monkeypatch.setattr(prepare, "ROW_GROUP_SIZE", 1000)
    n = 10_000
    table = pa.table(
        {
            "id": np.arange(n, dtype=np.int64),
            "grp": pa.array([f"g{i // 2500}" for i in range(n)]).dictionary_encode(),
            "x": np.arange(n) * 0.5,
            "day": pa.array(np.arange(n, dtype=np.int32) // 100).cast(pa.date32()),
        }
    )
    new_project(tmp_path, local_store, bare_remote).write(table, "big")
    dts.register(spark)
    df = spark.read.format("datom").load("STUDY1.big")
    cases = {
        "id >= 2500 AND id < 2600": (2500, 2600),
        "grp = 'g3'": (7500, 10000),
        "day = DATE'1970-01-05'": (400, 500),
        "NOT (id <> 42)": (42, 43),
        "id IN (5, 1005)": None,
    }
    for condition, span in cases.items():
        got = sorted(r.id for r in df.filter(condition).select("id").collect())
        assert got == (list(range(*span)) if span else [5, 1005]), condition
    # the planning the data source does (in a Spark worker) keeps only the row groups that can match
    context = dts.registered_context()
    planned = ds_source.plan_source("STUDY1.big", {}, context)
    plans = {p.name: p for p in planned.plans()}
    schema = ds_source.spark_schema(planned.plans())
    reader = ds_source.FilteringReader(planned, planned.plans(), schema)
    from pyspark.sql.datasource import EqualTo, GreaterThanOrEqual, LessThan

    leftover = list(
        reader.pushFilters([GreaterThanOrEqual(("id",), 2500), LessThan(("id",), 2600), EqualTo(("x",), 1.0)])
    )
    assert len(leftover) == 3  # Spark evaluates every filter again
    assert [p.ids for p in reader.partitions()] == [(2,)]
    assert ds_source.to_expression(EqualTo(("x",), 1.0), plans) is None  # floats: NaN semantics differ
    batches = list(reader.read(reader.partitions()[0]))
    assert sum(b.num_rows for b in batches) == 100


# ----- the data source on object stores ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["s3", "memory"])
def test_data_source_on_fsspec_stores(tmp_path: Path, make_store: Any, bare_remote: str, spark: Any, kind: str) -> None:
    store: StoreSpec = make_store(kind)
    proj = new_project(tmp_path, store, bare_remote)
    v1 = proj.write(lb_frame(30), "lb")
    proj.write(lb_frame(40, shift=1.0), "lb")
    dts.register(spark)
    df = spark.read.format("datom").option("version", v1.version[:10]).load("STUDY1.lb")
    assert_spark_equal(df, pl.read_datom("STUDY1.lb", version=v1.version).to_arrow())
    alt = df.filter("LBTESTCD = 'ALT'").agg({"LBSTRESN": "sum"}).collect()[0][0]
    assert alt == sum(float(i) for i in range(1, 30, 2))
    # read() picks the data source for stores Spark cannot read itself (no hadoop-aws here)
    auto = dts.read(spark, "STUDY1.lb")
    assert "BatchScan datom" in auto._jdf.queryExecution().executedPlan().toString()
    assert_spark_equal(auto, pl.read_datom("STUDY1.lb").to_arrow())
    with pytest.raises(dt.InvalidArgumentError, match=f"cannot read {kind}://"):
        dts.read(spark, "STUDY1.lb", native=True)


def test_data_source_with_an_explicit_store_and_schema(
    tmp_path: Path, make_store: Any, bare_remote: str, spark: Any
) -> None:
    store: StoreSpec = make_store("s3")
    new_project(tmp_path, store, bare_remote).write(lb_frame(12), "lb")
    from datom_engines.project import registry

    registry.unregister("STUDY1")  # the workers learn the store from the options alone
    dts.register(spark)
    reader = (
        spark.read.format("datom")
        .option("store", store.url)
        .option("storage_options", json.dumps(store.storage_options))
        .schema("LBSTRESN double, USUBJID string")
    )
    df = reader.load("STUDY1.lb")
    assert df.columns == ["LBSTRESN", "USUBJID"]
    assert sorted(r.USUBJID for r in df.collect()) == [f"S-{i:03d}" for i in range(12)]
    with pytest.raises(Exception, match=r"reads as string, not int[\s\S]*hint"):
        spark.read.format("datom").option("store", store.url).option(
            "storage_options", json.dumps(store.storage_options)
        ).schema("USUBJID int").load("STUDY1.lb").collect()


def test_data_source_errors_carry_the_datom_message_and_hint(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, spark: Any
) -> None:
    new_project(tmp_path, local_store, bare_remote).write(lb_frame(5), "lb")
    dts.register(spark)
    with pytest.raises(Exception, match=r'version "ffff" not found of table "STUDY1\.lb"[\s\S]*hint: newest versions'):
        spark.read.format("datom").option("version", "ffff").load("STUDY1.lb")
    with pytest.raises(Exception, match=r"unknown project 'NOPE' in a Spark worker[\s\S]*STUDY1[\s\S]*hint"):
        spark.read.format("datom").load("NOPE.lb")
    with pytest.raises(Exception, match=r"verify must be one of"):
        spark.read.format("datom").option("verify", "sometimes").load("STUDY1.lb")
    with pytest.raises(dt.InvalidArgumentError, match="verify must be one of"):
        dts.read(spark, "STUDY1.lb", verify="sometimes")


# ----- verification ---------------------------------------------------------------------------------------
def test_corrupted_objects_are_refused(tmp_path: Path, local_store: StoreSpec, bare_remote: str, spark: Any) -> None:
    result = new_project(tmp_path, local_store, bare_remote).write(lb_frame(20), "lb")
    path = dt.resolve("STUDY1.lb").url
    good = Path(path).read_bytes()
    pq.write_table(pa.table({"USUBJID": ["X"], "LBTESTCD": ["Y"], "LBSTRESN": [1.0], "VISITNUM": [1]}), path)
    try:
        with pytest.raises(dt.IntegrityError):
            dts.read(spark, "STUDY1.lb", verify="always")
        with pytest.raises(Exception, match="IntegrityError"):
            dts.read(spark, "STUDY1.lb", native=False, verify="always").collect()
        # "never" skips the hash, not the size check: an object whose size differs from size_bytes is refused
        with pytest.raises(dt.IntegrityError, match="the metadata records"):
            dts.read(spark, "STUDY1.lb", verify="never")
    finally:
        Path(path).write_bytes(good)
    assert dts.read(spark, "STUDY1.lb", verify="always").count() == 20 == result.nrow


# ----- writing ------------------------------------------------------------------------------------------
def test_write_streams_partitions_in_order_with_the_same_hashes(
    tmp_path: Path, store: StoreSpec, bare_remote: str, spark: Any
) -> None:
    proj = new_project(tmp_path, store, bare_remote)
    n = 50_000
    df = spark.range(0, n, numPartitions=7).selectExpr(
        "id",
        "id * 3000000000 AS big",  # needs i64
        "CAST(id % 97 AS INT) AS small",
        "CASE WHEN id % 5 = 0 THEN NULL ELSE concat('s-', id) END AS label",
        "id / 7.0D AS x",
        "date_add(DATE'2020-01-01', CAST(id % 1000 AS INT)) AS day",
        "timestamp_micros(id * 1000003) AS ts",
        "CAST(timestamp_micros(id) AS TIMESTAMP_NTZ) AS local_ts",
        "make_dt_interval(0, 0, 0, id / 1000) AS dur",
        "id % 2 = 0 AS even",
    )
    result = dts.write(df, "STUDY1.spark", message="from Spark", parents=[])
    assert (result.change, result.nrow, result.ncol) == ("full", n, 10)
    back = dt.read("STUDY1.spark")
    assert back.column("id").to_pylist() == list(range(n))  # partition order kept
    assert result.data_sha == dt.data_sha(back) == dt.data_sha(df.toArrow())
    assert back.schema.field("ts").type == pa.timestamp("us", "UTC")
    assert back.schema.field("local_ts").type == pa.timestamp("us")
    assert back.schema.field("dur").type == pa.duration("us")
    # R-compatible metadata: the version id is the hash of the stored metadata, shaped like any write
    meta = proj.metadata("spark", result.version)
    assert dt.metadata_sha(meta) == result.version
    assert meta["parents"] == [] and meta["nrow"] == n and meta["colnames"] == df.columns
    assert [c["sha"] for c in meta["column_hashes"]] == list(dt.column_hashes(back).values())
    proj.write(pl.from_arrow(back), "spark2", parents=[])
    polars_meta = proj.metadata("spark2")
    assert set(meta) == set(polars_meta)
    assert polars_meta["data_sha"] == result.data_sha
    # the same rows again write nothing
    assert dts.write(df, "STUDY1.spark", message="from Spark", parents=[]).change == "none"


def test_write_labels_timestamps_utc_whatever_the_session_zone(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, spark: Any
) -> None:
    new_project(tmp_path, local_store, bare_remote)
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        df = spark.sql("SELECT TIMESTAMP'2024-03-10 01:30:00' AS ts, 1 AS k")
        expected = df.toArrow().column("ts").cast(pa.timestamp("us", "UTC"))
        result = dts.write(df, "STUDY1.tz", parents=[])
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    back = dt.read("STUDY1.tz")
    assert back.column("ts").type == pa.timestamp("us", "UTC")
    assert back.column("ts").equals(expected)
    assert str(back.column("ts")[0]) == "2024-03-10 06:30:00+00:00"
    assert result.data_sha == dt.data_sha(back)


def test_lineage_from_the_plan(tmp_path: Path, make_store: Any, bare_remote: str, spark: Any) -> None:
    proj = new_project(tmp_path, make_store("local"), bare_remote)
    lb = proj.write(lb_frame(), "lb")
    dm = proj.write(pl.DataFrame({"USUBJID": [f"S-{i:03d}" for i in range(50)], "AGE": list(range(50))}), "dm")
    lb_df = dts.read(spark, "STUDY1.lb")
    dm_df = dts.read(spark, "STUDY1.dm", native=False)
    joined = lb_df.filter("LBTESTCD = 'ALT'").join(dm_df, "USUBJID").select("USUBJID", "AGE").orderBy("USUBJID")
    parent = {"source": "STUDY1", "table": "lb", "version": lb.version, "data_sha": lb.data_sha}
    dm_parent = {"source": "STUDY1", "table": "dm", "version": dm.version, "data_sha": dm.data_sha}
    assert dts.lineage_of(joined) == [parent, dm_parent]
    result = dts.write(joined, "STUDY1.alt")
    assert proj.metadata("alt")["parents"] == [parent, dm_parent]
    assert result.nrow == 25
    # no column of lb survives an aggregate, and lb is still a parent
    counts = lb_df.groupBy("LBTESTCD").count().orderBy("LBTESTCD")
    assert dts.lineage_of(counts) == [parent]
    assert dts.write(counts, "STUDY1.counts").change == "full"
    assert proj.metadata("counts")["parents"] == [parent]
    assert dts.write(counts, "STUDY1.counts", parents=[]).change == "metadata_only"
    assert proj.metadata("counts")["parents"] == []
    assert dts.lineage_of(spark.range(3)) == []


def test_bad_writes_write_nothing(tmp_path: Path, local_store: StoreSpec, bare_remote: str, spark: Any) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    proj.write(lb_frame(5), "lb")
    before = set(proj.store.list_keys())
    with pytest.raises(dt.UnsupportedDataError, match=r"'price' \(decimal[\s\S]*hint:[\s\S]*cast\('double'\)"):
        dts.write(spark.sql("SELECT CAST(1.5 AS DECIMAL(10,2)) AS price"), "STUDY1.bad")
    with pytest.raises(dt.UnsupportedDataError, match=r"'tags'[\s\S]*to_json"):
        dts.write(spark.sql("SELECT array(1, 2) AS tags"), "STUDY1.bad")
    with pytest.raises(dt.UnsupportedDataError, match="at least one row"):
        dts.write(dts.read(spark, "STUDY1.lb").filter("false"), "STUDY1.bad")
    with pytest.raises(dt.InvalidArgumentError, match="expected a Spark DataFrame"):
        dts.write(lb_frame(), "STUDY1.bad")  # type: ignore[arg-type]
    dt.unregister("STUDY1")  # a reader does not displace the writer of its store: forget the writer first
    reader = dt.connect(local_store.url)
    assert reader.role == "reader"
    with pytest.raises(dt.ReadOnlyError):
        dts.write(spark.range(3), "STUDY1.bad")
    assert set(proj.store.list_keys()) == before


# ----- sessions, Java, s3a -------------------------------------------------------------------------------
def _without_java(tmp_path: Path, java_home: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "SPARK_HOME")}
    env["PATH"] = str(tmp_path / "empty-bin")  # no java (and nothing else) on PATH
    if java_home is not None:
        env["JAVA_HOME"] = java_home
    code = (
        "import datom_engines.spark as s\n"
        "try:\n    s.local_session()\n"
        "except Exception as e:\n    print(type(e).__name__); print(e); raise SystemExit(3)\n"
    )
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("java_home", [None, "/nonexistent/jdk"], ids=["no-java", "bad-JAVA_HOME"])
def test_clear_error_when_java_is_missing(tmp_path: Path, java_home: str | None) -> None:
    (tmp_path / "empty-bin").mkdir()
    out = _without_java(tmp_path, java_home)
    assert out.returncode == 3, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "EngineUnavailableError"
    assert ("no bin/java" if java_home else "no java was found") in out.stdout
    assert "hint: Spark runs on Java 17 or newer" in out.stdout


def test_s3a_options_are_translated_for_hadoop_aws() -> None:
    location = StoreLocation.parse(
        "s3://bucket-a/study",
        storage_options={
            "aws_access_key_id": "AK",
            "aws_secret_access_key": "SK",
            "aws_endpoint_url": "http://127.0.0.1:9000",
            "aws_region": "eu-west-1",
        },
    )
    assert location.hadoop_url("lb/x.parquet") == "s3a://bucket-a/study/datom/lb/x.parquet"
    prefix = "fs.s3a.bucket.bucket-a."
    assert location.hadoop_options() == {
        prefix + "access.key": "AK",
        prefix + "secret.key": "SK",
        prefix + "aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        prefix + "endpoint": "http://127.0.0.1:9000",
        prefix + "path.style.access": "true",
        prefix + "connection.ssl.enabled": "false",
        prefix + "endpoint.region": "eu-west-1",
    }
    temporary = StoreLocation.parse("s3://b", storage_options={"key": "k", "secret": "s", "token": "t"})
    assert temporary.hadoop_options()["fs.s3a.bucket.b.session.token"] == "t"
    assert temporary.hadoop_options()["fs.s3a.bucket.b.aws.credentials.provider"].endswith(
        "TemporaryAWSCredentialsProvider"
    )
    anonymous = StoreLocation.parse("s3://b", storage_options={"aws_skip_signature": "true"})
    assert anonymous.hadoop_options() == {
        "fs.s3a.bucket.b.aws.credentials.provider": "org.apache.hadoop.fs.s3a.AnonymousAWSCredentialsProvider"
    }
    assert StoreLocation.parse("/data/store").hadoop_url("t/x.parquet") == "file:///data/store/datom/t/x.parquet"
    assert StoreLocation.parse("memory://m/p").hadoop_url("k") is None
    assert StoreLocation.parse("/data").hadoop_options() == {}


def test_s3a_needs_hadoop_aws_in_this_session(spark: Any) -> None:
    from datom_engines.spark.session import class_loadable, has_hadoop_aws

    assert class_loadable(spark, "org.apache.spark.sql.SparkSession") is True
    assert has_hadoop_aws(spark) is False  # pyspark from PyPI ships no hadoop-aws: S3 goes through the data source


def test_active_session_and_arguments(spark: Any) -> None:
    assert dts.active_session(None) is spark
    with pytest.raises(dt.InvalidArgumentError, match="expected a SparkSession"):
        dts.active_session("local")  # type: ignore[arg-type]


def test_when_no_date_columns_are_pushed(spark: Any) -> None:
    schema = pa.schema([("x", pa.float64()), ("u", pa.uint8()), ("t", pa.timestamp("us", "UTC")), ("d", pa.date32())])
    plans = {p.name: p for p in plan_columns(schema, time_enabled=True)}
    from pyspark.sql.datasource import EqualTo, In, IsNull, Not

    assert ds_source.to_expression(EqualTo(("x",), 1.0), plans) is None
    assert ds_source.to_expression(EqualTo(("u",), 1), plans) is None
    assert ds_source.to_expression(EqualTo(("t",), dtm.datetime(2020, 1, 1)), plans) is None
    assert ds_source.to_expression(In(("d",), (None,)), plans) is None
    assert ds_source.to_expression(EqualTo(("a", "b"), 1), plans) is None
    assert ds_source.to_expression(Not(IsNull(("d",))), plans) is not None


def test_workers_find_projects_through_governance(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, spark: Any
) -> None:
    from datom_engines.project import registry

    proj = new_project(tmp_path, local_store, bare_remote)
    v = proj.write(lb_frame(9), "lb")
    gov = dt.init_governance(tmp_path / "gov")
    dt.register_project(proj, governance=gov)
    registry.unregister("STUDY1")  # the driver knows the project only through governance now
    dt.use_governance(gov)
    dts.register(spark)
    assert dts.registered_context().projects == {}
    df = spark.read.format("datom").load("STUDY1.lb")
    assert df.count() == 9
    assert dts.lineage_of(df)[0]["version"] == v.version
