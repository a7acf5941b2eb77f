"""The Polars adapter (issue 4): ``pl.scan_datom`` / ``pl.read_datom``, ``.datom.write``, time travel and
automatic lineage, against real stores (local directory, fsspec memory, S3 on moto) and real git remotes."""

from __future__ import annotations

import datetime as dtm
import inspect
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import StoreSpec, load_json, next_second
from polars.testing import assert_frame_equal
from test_cv1 import build_polars

import datom_engines as dt
from datom_engines.core.metadata import METADATA_FIELD_ORDER
from datom_engines.project import registry


# ----- helpers ---------------------------------------------------------------------------------------
def new_project(tmp_path: Path, store: StoreSpec, remote: str, name: str = "P") -> dt.Project:
    return dt.init(
        tmp_path / f"{name}-clone", name, store=store.url, remote=remote, storage_options=store.storage_options
    )


def every_dtype() -> pl.DataFrame:
    """One column of every Polars dtype datom-cv1 maps (cv1-python.md), with nulls where allowed."""
    dts = [dtm.datetime(2020, 1, 1, 12, 30), None, dtm.datetime(1969, 7, 20, 20, 17, 40)]
    tds = [dtm.timedelta(seconds=1, microseconds=5), None, dtm.timedelta(days=-1)]
    return pl.DataFrame(
        [
            pl.Series("i8", [1, None, -128], dtype=pl.Int8),
            pl.Series("i16", [1, 2, None], dtype=pl.Int16),
            pl.Series("i32", [None, 2, -(2**31)], dtype=pl.Int32),
            pl.Series("i64_small", [1, 2, None], dtype=pl.Int64),
            pl.Series("i64_big", [1, 2**40, None], dtype=pl.Int64),
            pl.Series("u8", [0, 255, None], dtype=pl.UInt8),
            pl.Series("u16", [0, 65535, 3], dtype=pl.UInt16),
            pl.Series("u32", [0, 2**32 - 1, 3], dtype=pl.UInt32),
            pl.Series("u64", [0, 2**63, None], dtype=pl.UInt64),
            pl.Series("f32", [1.5, None, float("nan")], dtype=pl.Float32),
            pl.Series("f64", [-0.0, None, float("-inf")], dtype=pl.Float64),
            pl.Series("b", [True, None, False], dtype=pl.Boolean),
            pl.Series("s", ["a", None, "é ü 字"], dtype=pl.String),
            pl.Series("cat", ["x", "y", None], dtype=pl.Categorical),
            pl.Series("enum", ["lo", "hi", None], dtype=pl.Enum(["lo", "mid", "hi"])),
            pl.Series("d", [dtm.date(2020, 1, 1), None, dtm.date(1969, 12, 31)], dtype=pl.Date),
            pl.Series("dt_ns", dts).cast(pl.Datetime("ns")),
            pl.Series("dt_us_utc", dts).cast(pl.Datetime("us", "UTC")),
            pl.Series("dt_ms_ny", dts).cast(pl.Datetime("ms", "UTC")).dt.convert_time_zone("America/New_York"),
            pl.Series("dur_ns", tds).cast(pl.Duration("ns")),
            pl.Series("dur_us", tds).cast(pl.Duration("us")),
            pl.Series("dur_ms", tds).cast(pl.Duration("ms")),
            pl.Series("t", [dtm.time(1, 2, 3, 4), None, dtm.time(23, 59, 59)], dtype=pl.Time),
            pl.Series("nothing", [None, None, None], dtype=pl.Null),
        ]
    )


def lb(n: int = 40, shift: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "USUBJID": [f"S-{i:03d}" for i in range(n)],
            "LBTESTCD": ["ALT" if i % 2 else "AST" for i in range(n)],
            "LBSTRESN": [float(i + shift) for i in range(n)],
        }
    )


def git_metadata(proj: dt.Project, table: str) -> tuple[str, dict[str, Any]]:
    """The committed ``<table>/metadata.json`` of the clone: raw text and parsed (order kept)."""
    assert proj.path is not None
    text = (proj.path / table / "metadata.json").read_text(encoding="utf-8")
    return text, json.loads(text)


@pytest.fixture
def proj(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> dt.Project:
    return new_project(tmp_path, local_store, bare_remote)


# ----- registration ----------------------------------------------------------------------------------
def test_import_registers_polars_api() -> None:
    assert pl.scan_datom is dt.scan_datom  # type: ignore[attr-defined]
    assert pl.read_datom is dt.read_datom  # type: ignore[attr-defined]
    assert type(pl.DataFrame({"a": [1]}).datom).__name__ == "DatomDataFrame"
    assert type(pl.LazyFrame({"a": [1]}).datom).__name__ == "DatomLazyFrame"
    params = inspect.signature(dt.scan_datom).parameters
    assert list(params) == ["ref", "version", "as_of", "tag", "storage_options", "verify"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for name, p in params.items() if name != "ref")
    assert inspect.signature(dt.scan_datom).return_annotation == "pl.LazyFrame"


# ----- round trips -----------------------------------------------------------------------------------
def test_every_dtype_round_trips(proj: dt.Project) -> None:
    df = every_dtype()
    result = df.datom.write("P.all", message="every dtype")
    assert result.change == "full" and len(result.version) == 64
    assert result.data_sha == dt.data_sha(df)

    scanned = pl.scan_datom("P.all").collect()  # type: ignore[attr-defined]
    assert scanned.schema == df.schema
    assert_frame_equal(scanned, df, check_exact=True)
    assert dt.data_sha(scanned) == result.data_sha
    read = pl.read_datom("P.all")  # type: ignore[attr-defined]
    assert read.schema == df.schema
    assert_frame_equal(read, df, check_exact=True)

    # the same frame written lazily (streamed through sink_parquet) has the same identity and dtypes
    lazy = df.lazy().datom.write("P.all_lazy")
    assert lazy.data_sha == result.data_sha
    assert_frame_equal(dt.scan_datom("P.all_lazy").collect(), df, check_exact=True)


CV1_EXPECTED = {e["name"]: e for e in load_json("cv1-expected.json")}


def test_cv1_fixtures_round_trip_with_r_hashes(proj: dt.Project) -> None:
    for fixture in load_json("cv1-fixtures.json"):
        df = build_polars(fixture)
        table = fixture["name"]
        result = df.datom.write(f"P.{table}")
        assert result.data_sha == CV1_EXPECTED[table]["data_sha"] == dt.data_sha(df), table
        back = dt.scan_datom(f"P.{table}").collect()
        assert back.schema == df.schema, table
        assert_frame_equal(back, df, check_exact=True)


def test_scan_and_read_on_every_store(tmp_path: Path, store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, store, bare_remote)
    df = lb(300)
    df.datom.write("P.lb")
    resolved = dt.resolve("P.lb")
    lf = dt.scan_datom("P.lb")
    plan = lf.explain()
    assert "Parquet SCAN" in plan
    if store.kind == "memory":  # Polars cannot read fsspec memory: a verified local copy is scanned
        assert "memory://" not in plan and f"{resolved.data_sha}.parquet" in plan
    else:
        assert resolved.url in plan
    assert_frame_equal(lf.collect(), df)
    assert_frame_equal(dt.read_datom("P.lb", columns=["LBSTRESN"]), df.select("LBSTRESN"))

    reader_so = store.storage_options or None
    registry.unregister("P")
    dt.connect(store.url, storage_options=reader_so)  # a reader: store only, no git
    assert_frame_equal(dt.scan_datom("P.lb").filter(pl.col("LBSTRESN") < 5).collect(), df.head(5))
    assert proj.name == "P"


def test_storage_options_reach_resolution_and_scan(tmp_path: Path, make_store: Callable[[str], StoreSpec]) -> None:
    s3 = make_store("s3")
    writer = new_project(tmp_path, s3, str(tmp_path / "remote.git"))
    lb().datom.write("P.lb")
    registry.unregister(writer.name)

    seen: list[Any] = []

    def resolver(name: str, options: Any) -> dt.Project | None:
        seen.append((name, dict(options or {})))
        return dt.connect(s3.url, storage_options=options) if name == "P" else None

    registry.add_resolver("test-resolver", resolver)
    try:
        frame = dt.scan_datom("P.lb", storage_options=s3.storage_options).collect()
        assert_frame_equal(frame, lb())
        assert seen == [("P", s3.storage_options)]
        # options given to scan_datom also reach the scan, over the project's own
        # nothing listens on port 9; max_retries (a Polars setting) passes through and makes it fail fast
        closed = {**s3.storage_options, "aws_endpoint_url": "http://127.0.0.1:9", "max_retries": 0}
        lf = dt.scan_datom("P.lb", storage_options=closed)
        assert len(seen) == 1  # resolved through the registry this time
        with pytest.raises(Exception, match=r"127\.0\.0\.1:9"):
            lf.collect()
    finally:
        registry.remove_resolver("test-resolver")


# ----- pushdown --------------------------------------------------------------------------------------
def test_explain_shows_native_pushdown(proj: dt.Project) -> None:
    lb(100).datom.write("P.lb")
    query = dt.scan_datom("P.lb").filter(pl.col("LBSTRESN") > 90).select("USUBJID")
    plan = query.explain()
    # the predicate and the projection sit inside the parquet scan node (indented under it)
    assert re.search(r'Parquet SCAN \[[^\]]+\]\n\s+PROJECT 2/3 COLUMNS\n\s+SELECTION: col\("LBSTRESN"\) > 90', plan), (
        plan
    )
    # exactly the plan of a plain scan_parquet over the same object
    plain = pl.scan_parquet(dt.resolve("P.lb").url).filter(pl.col("LBSTRESN") > 90).select("USUBJID")
    assert plan == plain.explain()
    assert query.collect()["USUBJID"].to_list() == [f"S-{i:03d}" for i in range(91, 100)]


def test_row_groups_are_skipped(proj: dt.Project, monkeypatch: pytest.MonkeyPatch, capfd: Any) -> None:
    from datom_engines.project import prepare

    monkeypatch.setattr(prepare, "ROW_GROUP_SIZE", 10_000)  # 5 row groups without a big table
    pl.DataFrame({"id": pl.int_range(50_000, eager=True), "v": pl.int_range(50_000, eager=True) * 2}).datom.write(
        "P.rg"
    )
    capfd.readouterr()
    with pl.Config(verbose=True):
        out = dt.scan_datom("P.rg").filter(pl.col("id").is_between(25_000, 25_099)).collect()
    assert out["v"].to_list() == [2 * i for i in range(25_000, 25_100)]
    assert "reading 1 / 5 row groups" in capfd.readouterr().err


# ----- time travel -----------------------------------------------------------------------------------
def test_time_travel(proj: dt.Project) -> None:
    results, frames = [], []
    for k in range(3):
        if k:
            next_second()
        frames.append(lb(10, shift=100 * k))
        results.append(frames[-1].datom.write("P.lb", message=f"v{k}"))
    hist = dt.history("P.lb")
    assert [v.id for v in hist] == [r.version for r in reversed(results)]
    stamps = [v.created_at for v in reversed(hist)]
    assert stamps[0] < stamps[1] < stamps[2]

    assert_frame_equal(dt.scan_datom("P.lb").collect(), frames[2])
    for k, res in enumerate(results):
        assert_frame_equal(dt.scan_datom("P.lb", version=res.version).collect(), frames[k])
        assert_frame_equal(dt.scan_datom("P.lb", version=res.version[:6]).collect(), frames[k])
        assert_frame_equal(dt.read_datom("P.lb", version=res.version[:6]), frames[k])
        # as_of exactly at a version's creation, and between two versions, picks that version
        assert_frame_equal(dt.scan_datom("P.lb", as_of=stamps[k]).collect(), frames[k])
        between = (stamps[k] + dtm.timedelta(milliseconds=500)).isoformat()
        assert_frame_equal(dt.scan_datom("P.lb", as_of=between).collect(), frames[k])

    # a lazy frame is pinned when it is created: a later write does not change what it reads
    pinned = dt.scan_datom("P.lb")
    next_second()
    lb(10, shift=999).datom.write("P.lb")
    assert_frame_equal(pinned.collect(), frames[2])

    with pytest.raises(dt.VersionNotFoundError, match='version "0000000" not found') as err:
        dt.scan_datom("P.lb", version="0000000")
    assert results[2].version[:8] in err.value.hint
    first = stamps[0].strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(dt.VersionNotFoundError, match=f"the first version was created at {first}") as err:
        dt.scan_datom("P.lb", as_of=stamps[0] - dtm.timedelta(seconds=5))
    assert first in err.value.hint
    with pytest.raises(dt.InvalidArgumentError, match="either version or as_of"):
        dt.scan_datom("P.lb", version=results[0].version, as_of=stamps[0])


def test_ambiguous_prefix(proj: dt.Project) -> None:
    by_first: dict[str, list[str]] = {}
    for k in range(17):  # 17 ids over 16 hex digits: two must share their first character
        version = lb(5, shift=k).datom.write("P.lb").version
        by_first.setdefault(version[0], []).append(version)
        if len(by_first[version[0]]) == 2:
            break
    prefix, clash = next((p, v) for p, v in by_first.items() if len(v) == 2)
    with pytest.raises(
        dt.AmbiguousVersionError, match=f'version prefix "{prefix}" is ambiguous: it matches 2 versions'
    ) as err:
        dt.scan_datom("P.lb", version=prefix)
    assert clash[0][:12] in str(err.value) and clash[1][:12] in str(err.value)
    assert "longer prefix" in err.value.hint
    with pytest.raises(dt.AmbiguousVersionError):
        dt.read_datom("P.lb", version=prefix)


# ----- errors ----------------------------------------------------------------------------------------
def test_helpful_errors(proj: dt.Project) -> None:
    lb().datom.write("P.lb")
    lb().datom.write("P.ae")
    with pytest.raises(dt.NotFoundError, match=r"unknown project 'NOPE'.*\(P\)") as err:
        dt.scan_datom("NOPE.lb")
    assert "open" in err.value.hint
    with pytest.raises(dt.NotFoundError, match="table 'vs' not found in project 'P'") as err:
        dt.scan_datom("P.vs")
    assert err.value.hint == "tables in P: lb, ae"
    with pytest.raises(dt.InvalidNameError, match="'lb' has no project part") as err:
        dt.scan_datom("lb")
    assert err.value.hint == 'write it as "<project>.lb"; projects opened in this process: P'
    with pytest.raises(dt.InvalidNameError, match="has no project part"):
        dt.read_datom("lb")
    with pytest.raises(dt.InvalidNameError, match="has no project part"):
        lb().datom.write("lb")
    with pytest.raises(dt.InvalidNameError):
        dt.scan_datom("P.bad.name")
    with pytest.raises(dt.VersionNotFoundError):
        dt.scan_datom("P.lb", version="")


def test_read_datom_verifies_the_stored_bytes(proj: dt.Project) -> None:
    lb(200).datom.write("P.lb")
    resolved = dt.resolve("P.lb")
    path = Path(resolved.url)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(dt.IntegrityError, match="failed its integrity check"):
        dt.read_datom("P.lb")


def test_memory_store_copy_is_verified(
    tmp_path: Path, make_store: Callable[[str], StoreSpec], bare_remote: str
) -> None:
    proj = new_project(tmp_path, make_store("memory"), bare_remote)
    lb(50).datom.write("P.lb")
    resolved = dt.resolve("P.lb")
    proj.store.put_bytes(resolved.key, b"PAR1 not the parquet that was written PAR1")
    with pytest.raises(dt.IntegrityError):
        dt.scan_datom("P.lb")


# ----- writing ---------------------------------------------------------------------------------------
def test_write_returns_the_version_and_change_class(proj: dt.Project) -> None:
    df = lb()
    first = df.datom.write("P.lb", message="first")
    assert first.change == "full" and first.data_sha == dt.data_sha(df)
    assert dt.history("P.lb")[0].id == first.version
    again = df.lazy().datom.write("P.lb")
    assert again.change == "none" and again.version == first.version
    meta = df.datom.write("P.lb", custom={"cutoff": "2026-01-31"})
    assert meta.change == "metadata_only" and meta.data_sha == first.data_sha and meta.version != first.version


def test_lazy_write_streams_without_collecting(proj: dt.Project, tmp_path: Path) -> None:
    n = 400_000
    src = tmp_path / "big.parquet"
    pl.DataFrame({"i": pl.int_range(n, eager=True), "s": pl.int_range(n, eager=True).cast(pl.String)}).write_parquet(
        src, row_group_size=50_000
    )
    heights: list[int] = []

    def spy(batch: pl.DataFrame) -> pl.DataFrame:
        heights.append(batch.height)
        return batch.with_columns(pl.col("i") * 2)

    lf = pl.scan_parquet(src).map_batches(spy, streamable=True)
    result = lf.datom.write("P.big")
    assert sum(heights) == n and max(heights) < n, "the plan was collected whole"
    expected = pl.read_parquet(src).with_columns(pl.col("i") * 2)
    assert result.data_sha == dt.data_sha(expected) and result.nrow == n
    assert_frame_equal(dt.scan_datom("P.big").collect(), expected)


def test_lazy_write_errors_leave_nothing(proj: dt.Project) -> None:
    keys_before = set(proj.store.list_keys())
    with pytest.raises(dt.UnsupportedDataError, match="0 row"):
        pl.LazyFrame({"a": [1, 2]}).filter(pl.col("a") > 5).datom.write("P.empty")
    with pytest.raises(dt.UnsupportedDataError, match="'l'"):
        pl.LazyFrame({"a": [1], "l": [[1, 2]]}).datom.write("P.lists")
    assert set(proj.store.list_keys()) == keys_before
    assert not (proj.path / "empty").exists() and not (proj.path / "lists").exists()  # type: ignore[operator]


# ----- lineage ---------------------------------------------------------------------------------------
def _parents(meta: dict[str, Any]) -> list[dict[str, Any]]:
    return list(meta["parents"])


def test_join_records_both_parents(proj: dt.Project) -> None:
    a = pl.DataFrame({"id": [1, 2, 3], "x": [10, 20, 30]})
    b = pl.DataFrame({"id": [3, 1, 2], "y": ["c", "a", "b"]})
    old_a = a.datom.write("P.a")
    a_v2 = a.with_columns(pl.col("x") + 1)
    new_a = a_v2.datom.write("P.a")
    res_b = b.datom.write("P.b")

    query = pl.scan_datom("P.a").join(pl.scan_datom("P.b"), on="id").sort("id")  # type: ignore[attr-defined]
    expected = [
        {"source": "P", "table": "a", "version": new_a.version, "data_sha": new_a.data_sha},
        {"source": "P", "table": "b", "version": res_b.version, "data_sha": res_b.data_sha},
    ]
    assert query.datom.parents() == expected
    result = query.datom.write("P.c", message="a joined with b")
    assert result.change == "full"

    text, meta = git_metadata(proj, "c")
    assert _parents(meta) == expected
    assert meta["source_lineage"] == []  # derived with parents: union of their (empty) lineages
    assert list(meta) == [f for f in METADATA_FIELD_ORDER if f in meta]  # reference 1.1.4 member order
    assert {"parents", "source_lineage"} <= set(meta) and "original_file_sha" not in meta
    for entry in meta["parents"]:
        assert list(entry) == ["source", "table", "version", "data_sha"]  # reference 1.1.4 key order
    assert '"parents": [\n    {\n      "source": "P",\n      "table": "a",' in text
    assert dt.scan_datom("P.c").collect().equals(a_v2.join(b, on="id").sort("id"))

    # an older version scanned by id is recorded with that exact version
    older = dt.scan_datom("P.a", version=old_a.version[:8]).join(dt.scan_datom("P.b"), on="id")
    older.datom.write("P.c_old")
    _, meta_old = git_metadata(proj, "c_old")
    assert [p["version"] for p in _parents(meta_old)] == [old_a.version, res_b.version]


def test_explicit_parents_override(proj: dt.Project) -> None:
    pl.DataFrame({"id": [1, 2]}).datom.write("P.a")
    pl.DataFrame({"id": [2, 3]}).datom.write("P.b")
    query = dt.scan_datom("P.a").join(dt.scan_datom("P.b"), on="id", how="full", coalesce=True)
    query.datom.write("P.none", parents=[])
    assert git_metadata(proj, "none")[1]["parents"] == []
    query.datom.write("P.only_b", parents=[proj.parent("b")])
    assert [p["table"] for p in git_metadata(proj, "only_b")[1]["parents"]] == ["b"]


def test_plain_frames_have_no_parents(proj: dt.Project) -> None:
    # a datom scan made earlier in the process must not leak into unrelated writes
    pl.DataFrame({"id": [1]}).datom.write("P.a")
    dt.scan_datom("P.a")
    pl.LazyFrame({"id": [1, 2]}).datom.write("P.plain")
    meta = git_metadata(proj, "plain")[1]
    assert "parents" not in meta and "source_lineage" not in meta


def test_lineage_through_python_functions_and_across_projects(
    tmp_path: Path, make_store: Callable[[str], StoreSpec]
) -> None:
    src = new_project(tmp_path, make_store("memory"), str(tmp_path / "src.git"), name="RAW")
    dst = new_project(tmp_path, make_store("local"), str(tmp_path / "dst.git"), name="DERIVED")
    res = pl.DataFrame({"id": [1, 2, 3], "v": [1.0, 2.0, 3.0]}).datom.write("RAW.vs")
    # map_batches holds a Python function: the plan cannot be serialised, explain() is read instead
    query = dt.scan_datom("RAW.vs").map_batches(lambda d: d.with_columns(pl.col("v") * 2))
    query.datom.write("DERIVED.vs2")
    parents = git_metadata(dst, "vs2")[1]["parents"]
    assert parents == [{"source": "RAW", "table": "vs", "version": res.version, "data_sha": res.data_sha}]
    assert src.name == "RAW"


def test_parent_lineage_is_carried(tmp_path: Path, proj: dt.Project) -> None:
    # an imported-like parent with source_lineage: the child's source_lineage is the union (reference 3.2)
    raw = {"project": "EXTERNAL", "table": "raw", "version_sha": "ab" * 32}
    base = pl.DataFrame({"id": [1, 2]})
    proj.write(base, "a", provenance=_imported(raw))
    dt.scan_datom("P.a").with_columns(pl.col("id") + 1).datom.write("P.b")
    meta = git_metadata(proj, "b")[1]
    assert meta["source_lineage"] == [raw]
    assert [p["table"] for p in meta["parents"]] == ["a"]


def _imported(entry: dict[str, Any]) -> Any:
    from datom_engines.project.writing import Provenance

    return Provenance(table_type="imported", original_file_sha="cd" * 32, source_lineage=(entry,))


def test_scan_of_a_missing_object_is_a_datom_error(tmp_path: Path, bare_remote: str) -> None:
    proj = dt.init(tmp_path / "clone", "MISS", store=tmp_path / "store", remote=bare_remote)
    result = proj.write(pl.DataFrame({"x": [1, 2]}), "t")
    proj.store.delete(f"t/{result.data_sha}.parquet")
    with pytest.raises(dt.NotFoundError, match="not found in the store"):
        pl.scan_datom("MISS.t")  # type: ignore[attr-defined]
