"""DuckDB adapter (issue 5): FROM datom(...), views, metadata macros, writes from SQL, object stores.

Everything runs against real DuckDB connections, real git remotes and real stores (local directory,
fsspec memory, S3 on moto).
"""

from __future__ import annotations

import datetime as dtm
import re
import subprocess
import sys
import threading
import tomllib
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from arrow_equal import assert_same_values
from conftest import StoreSpec, next_second
from test_cv1 import FIXTURE_LIST, build_polars
from test_project import lb_frame, new_project

import datom_engines as dt
from datom_engines import duckdb as ddb
from datom_engines.project import prepare

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def con() -> Any:
    connection = ddb.register(duckdb.connect())
    yield connection
    connection.close()


def arrow(con: Any, sql: str, params: list[Any] | None = None) -> pa.Table:
    return con.sql(sql, params=params).to_arrow_table()


def rows(con: Any, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return con.execute(sql, params or []).fetchall()


def plan(con: Any, sql: str) -> str:
    return "\n".join(str(r[1]) for r in con.execute(sql).fetchall())


def scan_box(text: str) -> str:
    """The lines of the READ_PARQUET operator box of an EXPLAIN (ANALYZE) plan."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "READ_PARQUET" in line)
    end = next((i for i in range(start, len(lines)) if "╰" in lines[i]), len(lines))
    return "\n".join(lines[start - 1 : end + 1])


# ----- Arrow-level comparison --------------------------------------------------------------------------
def _duckdb_type_of(expected: pa.DataType) -> pa.DataType | None:
    """The Arrow type DuckDB returns for a parquet column written from ``expected`` (None: same type).

    Parquet has no large/dictionary string, duration or zone name: DuckDB returns ``string`` for
    every string flavour, instants as microsecond ``timestamp[us, tz=<session zone>]``, and a duration
    as its raw ``int64`` count. The values are the same (checked after casting back).
    """
    if pa.types.is_large_string(expected) or pa.types.is_dictionary(expected):
        return pa.string()
    if pa.types.is_timestamp(expected) and expected.tz is not None:
        return pa.timestamp("us", tz="Etc/UTC")
    if pa.types.is_timestamp(expected) and expected.unit == "ms":
        return pa.timestamp("us")
    if pa.types.is_duration(expected):
        return pa.int64()
    return None


def assert_arrow_equal(got: pa.Table, expected: pa.Table) -> None:
    """``got`` (from DuckDB) holds exactly the values of ``expected`` (from datom_engines.read)."""
    assert_same_values(got, expected, _duckdb_type_of)


# ----- registration and packaging -------------------------------------------------------------------------
def test_register_is_idempotent_and_defaults_to_the_default_connection(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str
) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    proj.write(lb_frame(), "lb")
    assert ddb.register() is duckdb.default_connection()
    ddb.register()
    assert duckdb.sql("SELECT count(*) FROM datom('STUDY1.lb')").fetchall() == [(50,)]
    con = duckdb.connect()
    ddb.register(con)
    ddb.register(con)
    cur = con.cursor()
    assert rows(cur, "SELECT count(*) FROM datom('STUDY1.lb') WHERE LBTESTCD = 'ALT'") == [(25,)]
    names = {r[0] for r in rows(con, "SELECT function_name FROM duckdb_functions() WHERE function_name LIKE 'datom%'")}
    assert {"datom", "datom_tables", "datom_history", "datom_file"} <= names
    with pytest.raises(dt.InvalidArgumentError, match="duckdb connection"):
        ddb.register("not a connection")  # type: ignore[arg-type]
    con.close()


def test_persistent_and_read_only_databases(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    proj.write(lb_frame(), "lb")
    path = str(tmp_path / "study.duckdb")
    con = ddb.register(duckdb.connect(path))
    ddb.attach(con, "STUDY1")
    con.execute("CREATE OR REPLACE MACRO datom(ref) AS TABLE SELECT 1 AS stale")  # an outdated definition
    ddb.register(con)
    assert rows(con, "SELECT count(*) FROM datom('STUDY1.lb')") == [(50,)]
    con.close()
    con = duckdb.connect(path)  # macros and views are stored in the file, the Python functions are not
    with pytest.raises(duckdb.CatalogException, match="datom_(latest_)?file"):
        rows(con, "FROM STUDY1.lb")
    ddb.register(con)
    assert rows(con, "SELECT count(*) FROM STUDY1.lb") == [(50,)]
    con.close()
    plain = str(tmp_path / "plain.duckdb")  # read-only and without stored macros: TEMP macros are made
    duckdb.connect(plain).close()
    con = ddb.register(duckdb.connect(plain, read_only=True))
    assert rows(con, "SELECT DISTINCT database_name FROM duckdb_functions() WHERE function_name = 'datom'") == [
        ("temp",)
    ]
    assert rows(con, "SELECT count(*) FROM datom('STUDY1.lb', version := NULL)") == [(50,)]
    assert rows(con, "SELECT count(*) FROM datom_tables('STUDY1')") == [(1,)]
    con.close()


def test_sql_file_is_the_macro_source() -> None:
    text = (REPO / "sql" / "datom.sql").read_text(encoding="utf-8")
    assert ddb.sql_text() == text
    for macro in ("datom(ref VARCHAR)", "datom_tables(project)", "datom_history(ref)"):
        assert f"CREATE OR REPLACE MACRO {macro} AS TABLE" in text
    # datom() has two overloads: the reference alone (latest version), and every selection by name
    con = ddb.register(duckdb.connect())
    signatures = con.execute(
        "SELECT parameters FROM duckdb_functions() WHERE function_name = 'datom' ORDER BY len(parameters)"
    ).fetchall()
    assert signatures == [(["ref"],), (["ref", "version", "as_of", "tag", "verify"],)]
    con.close()


def test_pyproject_lists_every_package() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    found = {
        ".".join(p.relative_to(REPO).parts)
        for p in [REPO / "datom_engines", *(REPO / "datom_engines").rglob("*")]
        if p.is_dir() and "__pycache__" not in p.parts and any(p.glob("*.py"))
    }
    assert found | {"datom_engines.sql"} == set(config["packages"])
    assert config["package-dir"] == {"datom_engines.sql": "sql"}


@pytest.mark.slow
def test_installed_wheel_finds_the_sql(tmp_path: Path) -> None:
    """A regular (non-editable) install ships sql/datom.sql and register() works from it."""
    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels)]
    subprocess.run([*build, str(REPO)], check=True, capture_output=True)
    target = tmp_path / "site"
    wheel = next(wheels.glob("datom_engines-*.whl"))
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)]
    subprocess.run(install, check=True, capture_output=True)
    assert (target / "datom_engines" / "sql" / "datom.sql").is_file()
    script = (
        "import duckdb, datom_engines, datom_engines.duckdb as d\n"
        f"assert datom_engines.__file__.startswith({str(target)!r}), datom_engines.__file__\n"
        "con = d.register(duckdb.connect())\n"
        "print(con.execute(\"SELECT count(*) FROM duckdb_functions() WHERE function_name = 'datom'\").fetchone()[0])\n"
        "try:\n"
        "    con.execute('FROM datom(NULL)').fetchall()\n"
        "except duckdb.Error as e:\n"
        "    print('NULL' in str(e))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.split() == ["2", "True"]  # the two overloads of datom()


# ----- acceptance 1: every dtype equals datom_engines.read, through datom() and through a view ---------------
def test_every_cv1_dtype_equals_read(tmp_path: Path, local_store: StoreSpec, bare_remote: str, con: Any) -> None:
    proj = new_project(tmp_path, local_store, bare_remote, name="TYPES")
    for fixture in FIXTURE_LIST:
        proj.write(build_polars(fixture), fixture["name"])
    assert set(ddb.attach(con, "TYPES")) == {f["name"] for f in FIXTURE_LIST}
    for fixture in FIXTURE_LIST:
        expected = dt.read(f"TYPES.{fixture['name']}")
        assert_arrow_equal(arrow(con, f"FROM datom('TYPES.{fixture['name']}')"), expected)
        assert_arrow_equal(arrow(con, f'FROM TYPES."{fixture["name"]}"'), expected)


def test_comparison_catches_differences() -> None:
    """The equality helper fails on a changed value, a NaN turned null and a -0.0 turned 0.0."""
    base = pa.table({"x": pa.array([1.0, float("nan"), -0.0], pa.float64())})
    assert_arrow_equal(base, base)
    for other in ([1.5, float("nan"), -0.0], [1.0, None, -0.0], [1.0, float("nan"), 0.0]):
        with pytest.raises(AssertionError):
            assert_arrow_equal(pa.table({"x": pa.array(other, pa.float64())}), base)


# ----- acceptance 2: pushdown visible in EXPLAIN, row groups skipped in EXPLAIN ANALYZE ---------------------
def test_explain_shows_filter_and_projection_in_the_parquet_scan(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, con: Any
) -> None:
    new_project(tmp_path, local_store, bare_remote).write(lb_frame(), "lb")
    box = scan_box(plan(con, "EXPLAIN SELECT USUBJID FROM datom('STUDY1.lb') WHERE LBTESTCD = 'ALT'"))
    assert "READ_PARQUET" in box
    assert re.search(r"Projections:\s+USUBJID", box), box
    assert "LBSTRESN" not in box and "VISITNUM" not in box
    assert re.search(r"Filters:\s+LBTESTCD\s*=\s*'ALT'", box), box
    ddb.attach(con, "STUDY1")
    view_box = scan_box(plan(con, "EXPLAIN SELECT USUBJID FROM STUDY1.lb WHERE LBTESTCD = 'ALT'"))
    assert re.search(r"Filters:\s+LBTESTCD\s*=\s*'ALT'", view_box), view_box


def test_explain_analyze_skips_row_groups(tmp_path: Path, local_store: StoreSpec, bare_remote: str, con: Any) -> None:
    n = 2 * prepare.ROW_GROUP_SIZE + 500_000  # the core's real row-group size: three row groups
    table = pa.table({"id": np.arange(n, dtype=np.int64), "x": np.arange(n, dtype=np.int64) % 7})
    result = new_project(tmp_path, local_store, bare_remote, name="BIG").write(table, "big")
    parquet = pq.ParquetFile(dt.resolve("BIG.big").url)
    assert parquet.metadata.num_row_groups == 3
    query = "SELECT sum(x) FROM datom('BIG.big') WHERE id BETWEEN 1000 AND 1999"
    box = scan_box(plan(con, f"EXPLAIN ANALYZE {query}"))
    scanned, total = map(int, re.search(r"Row Groups Scanned:\s+(\d+)\s*/\s*(\d+)", box).groups())  # type: ignore[union-attr]
    assert (scanned, total) == (1, 3)
    assert result.data_sha in box  # the resolved object is what was scanned
    assert rows(con, query) == [(sum(i % 7 for i in range(1000, 2000)),)]


# ----- acceptance 3: version selection ---------------------------------------------------------------------


def test_versions_by_id_prefix_and_as_of(tmp_path: Path, local_store: StoreSpec, bare_remote: str, con: Any) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    v1 = proj.write(lb_frame(10), "lb")
    next_second()
    v2 = proj.write(lb_frame(20, shift=0.5), "lb")
    count = "SELECT count(*) FROM datom('STUDY1.lb'{})"
    assert rows(con, count.format("")) == [(20,)]
    assert rows(con, count.format(", version := NULL")) == [(20,)]
    assert rows(con, count.format(f", version := '{v1.version}'")) == [(10,)]
    assert rows(con, count.format(f", version := '{v1.version[:7]}'")) == [(10,)]
    created = proj.history("lb")[1].created_at
    assert created is not None
    stamp = created.strftime("%Y-%m-%d %H:%M:%S")
    assert rows(con, count.format(f", as_of := '{stamp}Z'")) == [(10,)]
    assert rows(con, count.format(f", as_of := TIMESTAMP '{stamp}'")) == [(10,)]
    assert rows(con, count.format(f", as_of := TIMESTAMPTZ '{stamp}+00'")) == [(10,)]
    later = (created + dtm.timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
    assert rows(con, count.format(f", as_of := TIMESTAMPTZ '{later}+02'")) == [(10,)]  # the same instant
    assert rows(con, count.format(f", as_of := DATE '{created:%Y-%m-%d}'")) == [(20,)]  # the end of that day
    # prepared statements with parameters
    assert rows(con, "SELECT count(*) FROM datom($1, version := $2)", ["STUDY1.lb", v1.version[:8]]) == [(10,)]
    assert rows(con, "SELECT count(*) FROM datom(?, version := ?)", ["STUDY1.lb", None]) == [(20,)]
    assert rows(con, "SELECT count(*) FROM datom('STUDY1.lb', as_of := ?)", [created]) == [(10,)]
    # two versions of one table joined in one query
    joined = rows(
        con,
        "SELECT count(*), sum(b.LBSTRESN - a.LBSTRESN) FROM datom('STUDY1.lb', version := $1) a "
        "JOIN datom('STUDY1.lb', version := $2) b USING (USUBJID)",
        [v1.version, v2.version[:10]],
    )
    assert joined == [(10, pytest.approx(5.0))]


def test_version_errors_are_clear_sql_errors(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, con: Any
) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    first = proj.write(lb_frame(3), "lb")
    with pytest.raises(duckdb.Error, match=r'version "ffffzz" not found[\s\S]*hint: newest versions'):
        rows(con, "FROM datom('STUDY1.lb', version := 'ffffzz')")
    with pytest.raises(duckdb.Error, match=r"no version .* existed at 2000-01-01[\s\S]*hint:"):
        rows(con, "FROM datom('STUDY1.lb', as_of := '2000-01-01T00:00:00Z')")
    with pytest.raises(duckdb.Error, match="either version or as_of"):
        rows(con, f"FROM datom('STUDY1.lb', version := '{first.version}', as_of := '2030-01-01')")
    with pytest.raises(duckdb.Error, match=r"unknown project 'NOPE'[\s\S]*hint:"):
        rows(con, "FROM datom('NOPE.lb')")
    with pytest.raises(duckdb.Error, match=r"table 'ae' not found[\s\S]*hint: tables in STUDY1: lb"):
        rows(con, "FROM datom('STUDY1.ae')")
    with pytest.raises(duckdb.Error, match="reference of datom\\(\\) is NULL"):
        rows(con, "FROM datom(NULL)")
    with pytest.raises(duckdb.Error, match=r"'no_dot' has no project part[\s\S]*hint:"):
        rows(con, "FROM datom('no_dot')")
    # ambiguous prefix: 17 versions always share a first hex digit
    ids = [first.version]
    for i in range(1, 17):
        ids.append(proj.write(lb_frame(3, shift=float(i)), "lb").version)
        firsts = [v[0] for v in ids]
        shared = next((c for c in firsts if firsts.count(c) > 1), None)
        if shared:
            break
    assert shared is not None
    with pytest.raises(
        duckdb.Error, match=rf'prefix "{shared}" is ambiguous: it matches \d+ versions[\s\S]*hint: use a longer prefix'
    ):
        rows(con, "FROM datom('STUDY1.lb', version := ?)", [shared])


def test_missing_parquet_object_is_reported(tmp_path: Path, local_store: StoreSpec, bare_remote: str, con: Any) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    proj.write(lb_frame(), "lb")
    Path(dt.resolve("STUDY1.lb").url).unlink()
    with pytest.raises(duckdb.Error, match=r"parquet object of STUDY1.lb@\w+ was not found in the store[\s\S]*hint:"):
        rows(con, "FROM datom('STUDY1.lb')")


# ----- acceptance 4: four threads with their own cursors --------------------------------------------------
@pytest.mark.parametrize("kind", ["local", "memory", "s3"])
def test_four_threads_with_their_own_cursors(tmp_path: Path, make_store: Any, bare_remote: str, kind: str) -> None:
    store = make_store(kind)
    proj = new_project(tmp_path, store, bare_remote)
    versions = [proj.write(lb_frame(10 * (i + 1), shift=float(i)), "lb").version for i in range(4)]
    con = ddb.register(duckdb.connect())
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []
    results: dict[int, list[tuple[Any, ...]]] = {}

    def work(i: int) -> None:
        try:
            cur = con.cursor()
            ddb.register(cur)  # harmless: the functions and macros are already there
            barrier.wait()  # the first resolution (and filesystem registration) happens concurrently
            out = []
            for _ in range(5):
                out += cur.execute(
                    "SELECT count(*), sum(LBSTRESN) FROM datom('STUDY1.lb', version := ?) WHERE VISITNUM >= ?",
                    [versions[i][:12], 5],
                ).fetchall()
            results[i] = out
            cur.close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for i in range(4):
        n = 10 * (i + 1)
        expected = (n - 5, sum(float(k) + i for k in range(5, n)))
        assert results[i] == [expected] * 5
    con.close()


# ----- object stores -------------------------------------------------------------------------------------
def test_every_store_kind(tmp_path: Path, store: StoreSpec, bare_remote: str, con: Any) -> None:
    proj = new_project(tmp_path, store, bare_remote)
    result = proj.write(lb_frame(), "lb")
    expected = dt.read("STUDY1.lb")
    assert_arrow_equal(arrow(con, "FROM datom('STUDY1.lb')"), expected)
    filtered = rows(con, "SELECT count(*) FROM datom('STUDY1.lb') WHERE LBTESTCD = 'ALT' AND VISITNUM > 10")
    assert filtered == [(sum(1 for i in range(11, 50) if i % 2),)]
    box = scan_box(plan(con, "EXPLAIN ANALYZE SELECT USUBJID FROM datom('STUDY1.lb') WHERE VISITNUM = 3"))
    assert result.data_sha in box
    fs = con.list_filesystems()
    if store.kind == "local":
        assert not [name for name in fs if "datom" in name or name == "memory"]
    elif store.kind == "memory":
        assert "memory" in fs
    else:
        alias = next(name for name in fs if name.startswith("s3-datom"))
        assert f"{alias}://" in box
    ddb.attach(con, "STUDY1")
    assert_arrow_equal(arrow(con, "FROM STUDY1.lb"), expected)


def test_s3_filesystem_has_no_read_ahead_and_stores_with_other_credentials_mix(
    tmp_path: Path, make_store: Any, s3_server: Any, con: Any
) -> None:
    from gitserver import make_bare_repo

    a = make_store("s3")
    b = make_store("s3")
    b.storage_options = {**b.storage_options, "aws_access_key_id": "other-key"}  # moto accepts any key
    pa_ = new_project(tmp_path, a, str(make_bare_repo(tmp_path / "a.git")), name="A")
    pb = new_project(tmp_path, b, str(make_bare_repo(tmp_path / "b.git")), name="B")
    pa_.write(lb_frame(10), "lb")
    pb.write(lb_frame(20), "lb")
    joined = rows(con, "SELECT count(*) FROM datom('A.lb') a JOIN datom('B.lb') b USING (USUBJID)")
    assert joined == [(10,)]
    aliases = sorted(name for name in con.list_filesystems() if name.startswith("s3-datom"))
    assert len(aliases) == 2
    for proj in (pa_, pb):
        name, make = ddb._filesystem(proj.location)
        assert name in aliases
        fs = make()
        assert fs.protocol == (name,) and fs.default_cache_type == "none"


# ----- attach: catalog-style views -------------------------------------------------------------------------
def test_attach_views_list_and_refresh(tmp_path: Path, local_store: StoreSpec, bare_remote: str, con: Any) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    proj.write(lb_frame(), "lb")
    proj.write(pl.DataFrame({"USUBJID": ["S-001", "S-002"], "AGE": [34, 51]}), "dm")
    assert ddb.attach(con, "STUDY1") == ["lb", "dm"]
    assert rows(con, "SELECT count(*) FROM STUDY1.lb WHERE LBTESTCD = 'AST'") == [(25,)]
    listed = rows(con, "SELECT schema, name FROM (SHOW ALL TABLES) WHERE schema = 'STUDY1' ORDER BY name")
    assert listed == [("STUDY1", "dm"), ("STUDY1", "lb")]
    info = rows(
        con,
        "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'STUDY1' ORDER BY 1",
    )
    assert info == [("dm", "VIEW"), ("lb", "VIEW")]
    con.execute("USE STUDY1")
    assert sorted(r[0] for r in rows(con, "SHOW TABLES")) == ["dm", "lb"]
    con.execute("USE main")
    # a new version is seen without re-attaching, even with a new column; a new table after attach again
    proj.write(lb_frame(60).with_columns(pl.lit("mg/L").alias("LBSTRESU")), "lb")
    assert rows(con, "SELECT count(*), min(LBSTRESU) FROM STUDY1.lb") == [(60, "mg/L")]
    proj.write(pl.DataFrame({"USUBJID": ["S-001"], "AETERM": ["HEADACHE"]}), "ae")
    with pytest.raises(duckdb.CatalogException):
        rows(con, "FROM STUDY1.ae")
    assert ddb.attach(con, "STUDY1") == ["lb", "dm", "ae"]
    assert rows(con, "FROM STUDY1.ae") == [("S-001", "HEADACHE")]
    assert ddb.attach(con, "STUDY1", schema="study") == ["lb", "dm", "ae"]
    assert rows(con, "SELECT count(*) FROM study.dm") == [(2,)]
    with pytest.raises(dt.NotFoundError, match="unknown project"):
        ddb.attach(con, "NOPE")


# ----- metadata macros ---------------------------------------------------------------------------------------
def test_datom_tables_and_history(tmp_path: Path, local_store: StoreSpec, bare_remote: str, con: Any) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    v1 = proj.write(lb_frame(), "lb")
    v2 = proj.write(lb_frame(), "lb", custom={"note": "same data, new metadata"})
    dm = proj.write(pl.DataFrame({"USUBJID": ["S-001"], "AGE": [34]}), "dm", parents=[proj.parent("lb")])
    tables = con.sql("FROM datom_tables('STUDY1') ORDER BY name")
    assert tables.columns == ["name", "version", "data_sha", "nrow", "ncol", "updated", "version_count"]
    types = [str(t) for t in tables.types]
    assert types == ["VARCHAR", "VARCHAR", "VARCHAR", "BIGINT", "BIGINT", "TIMESTAMP WITH TIME ZONE", "BIGINT"]
    listed = tables.fetchall()
    assert [(*r[:5], r[6]) for r in listed] == [
        ("dm", dm.version, dm.data_sha, 1, 2, 1),
        ("lb", v2.version, v2.data_sha, 50, 4, 2),
    ]
    assert all(isinstance(r[5], dtm.datetime) and r[5].tzinfo is not None for r in listed)

    history = con.sql("FROM datom_history('STUDY1.lb')")
    assert history.columns == ["version", "data_sha", "created_at", "change", "parents", "author", "message"]
    assert [(r[0], r[1], r[3]) for r in history.fetchall()] == [
        (v2.version, v1.data_sha, "metadata_only"),
        (v1.version, v1.data_sha, "full"),
    ]
    parents = rows(con, "SELECT parents FROM datom_history('STUDY1.dm')")
    assert parents == [([{"source": "STUDY1", "table": "lb", "version": v2.version, "data_sha": v1.data_sha}],)]
    assert rows(con, "SELECT count(*) FROM datom_history('STUDY1.lb') WHERE change = 'full'") == [(1,)]
    with pytest.raises(duckdb.Error, match="table 'xx' not found"):
        rows(con, "FROM datom_history('STUDY1.xx')")
    with pytest.raises(duckdb.Error, match="unknown project 'NOPE'"):
        rows(con, "FROM datom_tables('NOPE')")


# ----- writing from SQL --------------------------------------------------------------------------------------
def test_write_from_sql_records_lineage(tmp_path: Path, store: StoreSpec, bare_remote: str, con: Any) -> None:
    proj = new_project(tmp_path, store, bare_remote)
    lb = proj.write(lb_frame(), "lb")
    dm = proj.write(pl.DataFrame({"USUBJID": [f"S-{i:03d}" for i in range(50)], "AGE": list(range(50))}), "dm")
    query = (
        "SELECT l.USUBJID, l.LBSTRESN, d.AGE FROM datom('STUDY1.lb') l JOIN datom('STUDY1.dm') d USING (USUBJID) "
        "WHERE l.LBTESTCD = 'ALT' AND l.USUBJID IN (SELECT USUBJID FROM datom('STUDY1.lb') WHERE VISITNUM > 9) "
        "ORDER BY l.USUBJID"
    )
    result = ddb.write(con, "STUDY1.alt", query, message="ALT with age")
    assert (result.change, result.nrow, result.ncol) == ("full", 20, 3)
    assert_arrow_equal(arrow(con, "FROM datom('STUDY1.alt')"), dt.read("STUDY1.alt"))
    assert dt.read("STUDY1.alt").equals(arrow(con, query).cast(dt.read("STUDY1.alt").schema))
    meta = proj.metadata("alt")
    assert meta["parents"] == [
        {"source": "STUDY1", "table": "lb", "version": lb.version, "data_sha": lb.data_sha},
        {"source": "STUDY1", "table": "dm", "version": dm.version, "data_sha": dm.data_sha},
    ]
    assert proj.history("alt")[0].message == "ALT with age"
    # the same query again writes nothing new; explicit parents replace the recorded ones
    assert ddb.write(con, "STUDY1.alt", query, message="ALT with age").change == "none"
    again = ddb.write(con, "STUDY1.alt", query, parents=[])
    assert again.change == "metadata_only" and proj.metadata("alt")["parents"] == []


def test_write_from_a_relation_and_through_views(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, con: Any
) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    lb1 = proj.write(lb_frame(), "lb")
    ddb.attach(con, "STUDY1")
    relation = con.sql("SELECT USUBJID, LBSTRESN * 2 AS doubled FROM STUDY1.lb WHERE VISITNUM < 5")
    lb2 = proj.write(lb_frame(shift=1.0), "lb")  # the relation is bound again when it is written
    result = ddb.write(con, "STUDY1.doubled", relation)
    assert result.nrow == 5
    assert proj.metadata("doubled")["parents"] == [
        {"source": "STUDY1", "table": "lb", "version": lb2.version, "data_sha": lb2.data_sha}
    ]
    assert dt.read("STUDY1.doubled").column("doubled").to_pylist() == [2.0 * (i + 1.0) for i in range(5)]
    # no datom() in the query: no parents recorded
    ddb.write(con, "STUDY1.plain", "SELECT 1::INTEGER AS one")
    assert "parents" not in proj.metadata("plain")
    assert lb1.version != lb2.version


def test_write_streams_in_row_groups(tmp_path: Path, local_store: StoreSpec, bare_remote: str, con: Any) -> None:
    new_project(tmp_path, local_store, bare_remote)
    n = prepare.ROW_GROUP_SIZE + 300_000
    result = ddb.write(con, "STUDY1.big", f"SELECT range AS id, (range % 11)::DOUBLE AS x FROM range({n})")
    assert result.nrow == n
    written = pq.ParquetFile(dt.resolve("STUDY1.big").url).metadata
    assert [written.row_group(i).num_rows for i in range(written.num_row_groups)] == [prepare.ROW_GROUP_SIZE, 300_000]
    assert result.data_sha == dt.data_sha(dt.read("STUDY1.big"))


def test_stream_prepare_regroups_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of any size become row groups of ROW_GROUP_SIZE rows; the digest equals the eager one."""
    monkeypatch.setattr(prepare, "ROW_GROUP_SIZE", 10)
    table = pa.table({"i": pa.array(range(47), pa.int32()), "s": [f"r{i}" for i in range(47)]})
    batches = [*table.slice(0, 3).to_batches(), *table.slice(3, 25).to_batches(), *table.slice(28).to_batches()]
    prepared = prepare.prepare(pa.RecordBatchReader.from_batches(table.schema, batches), str(tmp_path))
    meta = pq.ParquetFile(prepared.path).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [10, 10, 10, 10, 7]
    assert prepared.digest == dt.core.cv1.hash_table(table)
    assert pq.read_table(prepared.path).equals(table)


def test_bad_writes_write_nothing(tmp_path: Path, local_store: StoreSpec, bare_remote: str, con: Any) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    proj.write(lb_frame(), "lb")
    before = set(proj.store.list_keys())
    with pytest.raises(dt.UnsupportedDataError, match=r"'price' \(decimal[\s\S]*hint:[\s\S]*col::DOUBLE"):
        ddb.write(con, "STUDY1.bad", "SELECT 1.5 AS price")
    with pytest.raises(dt.UnsupportedDataError, match="0 row"):
        ddb.write(con, "STUDY1.bad", "SELECT * FROM datom('STUDY1.lb') WHERE false")
    with pytest.raises(dt.InvalidArgumentError, match="single SELECT, got CREATE"):
        ddb.write(con, "STUDY1.bad", "CREATE TABLE t (a INTEGER)")
    assert rows(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 't'") == [(0,)]  # not executed
    with pytest.raises(dt.InvalidArgumentError, match="single SELECT, got SELECT, SELECT"):
        ddb.write(con, "STUDY1.bad", "SELECT 1 AS a; SELECT 2 AS a")
    with pytest.raises(dt.InvalidArgumentError, match="SQL string or a duckdb relation"):
        ddb.write(con, "STUDY1.bad", 42)  # type: ignore[arg-type]
    with pytest.raises(duckdb.Error, match='version "nope" not found'):
        ddb.write(con, "STUDY1.bad", "FROM datom('STUDY1.lb', version := 'nope')")
    with pytest.raises(dt.InvalidNameError):
        ddb.write(con, "STUDY1.bad name!", "SELECT 1 AS a")
    assert set(proj.store.list_keys()) == before
    assert [t.name for t in proj.tables()] == ["lb"]
    assert list((Path(local_store.url) / ".datom-staging").glob("*")) == []
    dt.unregister("STUDY1")
    dt.connect(local_store.url)  # a reader: no git clone
    with pytest.raises(dt.ReadOnlyError):
        ddb.write(con, "STUDY1.copy", "FROM datom('STUDY1.lb')")


def test_attach_after_a_pending_result(tmp_path: Path, local_store: StoreSpec, bare_remote: str, con: Any) -> None:
    """A result left unread on the connection must not make attach silently create nothing."""
    proj = new_project(tmp_path, local_store, bare_remote)
    proj.write(lb_frame(), "lb")
    con.execute("FROM datom($1, version := $2)", ["STUDY1.lb", None])  # not fetched
    assert ddb.attach(con, "STUDY1") == ["lb"]
    assert con.execute("SELECT count(*) FROM STUDY1.lb").fetchall() == [(lb_frame().height,)]
