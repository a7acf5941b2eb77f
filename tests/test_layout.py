"""Parquet layout (codecs and encodings per column), the compression= override, the project setting,
local-remote pushes, and what the CLI imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import datom_engines as dt
from datom_engines.project.layout import SMALL_TABLE_ROWS, choose_layout

ROWS = 200_000


def big_frame(rows: int = ROWS, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    labels = pl.Series([f"group-{i:04d}" for i in range(300)])
    return pl.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "x": rng.normal(size=rows),
            "g": labels.gather(rng.integers(0, 300, rows)),
            "text": pl.Series(rng.integers(10**9, 10**10, rows)).cast(pl.String),
        }
    )


def column_chunks(path: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    meta = pq.read_metadata(path)
    rg = meta.row_group(0)
    return {rg.column(i).path_in_schema: (rg.column(i).compression, rg.column(i).encodings) for i in range(3)}


@pytest.fixture
def proj(tmp_path: Path, bare_remote: str) -> dt.Project:
    return dt.init(tmp_path / "clone", "LAYOUT", store=tmp_path / "store", remote=bare_remote)


def test_auto_layout_measures_each_column() -> None:
    layout = choose_layout(big_frame().to_arrow())
    assert "id" in layout.delta  # sorted integers: DELTA_BINARY_PACKED (a few bytes per page)
    assert "g" in layout.dictionary  # 300 distinct strings
    assert layout.compression["x"] == "none"  # random floats do not compress: never pay to decode them
    assert layout.compression["text"] == "zstd"  # digits compress well
    assert "x" not in layout.dictionary and "text" not in layout.dictionary


def test_small_tables_get_a_fixed_layout() -> None:
    layout = choose_layout(big_frame(SMALL_TABLE_ROWS - 1).to_arrow())
    assert set(layout.compression.values()) == {"zstd"}
    assert layout.dictionary == ("g", "text") and layout.delta == ()


def test_codec_choice_never_changes_the_version(proj: dt.Project) -> None:
    df = big_frame()
    auto = proj.write(df, "t")
    url = dt.resolve("LAYOUT.t").url
    chunks = column_chunks(url)
    assert chunks["x"][0] == "UNCOMPRESSED" and "DELTA_BINARY_PACKED" in chunks["id"][1]
    assert pl.read_parquet(url).equals(df)
    assert dt.data_sha(pl.read_parquet(url)) == auto.data_sha
    again = proj.write(df, "t", compression="snappy")  # same data and metadata: nothing new
    assert again.change == "none" and again.version == auto.version

    root = proj.path.parent
    other = dt.init(root / "clone2", "OTHER", store=root / "store2", remote=str(root / "remote2.git"))
    res = other.write(df, "t", compression="snappy")
    assert res.data_sha == auto.data_sha and res.version == auto.version  # the version id ignores the bytes
    assert res.parquet_sha != auto.parquet_sha
    assert {c for c, _ in column_chunks(dt.resolve("OTHER.t").url).values()} == {"SNAPPY"}


def test_compression_per_column_and_r_metadata_kept(proj: dt.Project) -> None:
    df = big_frame().with_columns(pl.col("g").cast(pl.Categorical))
    proj.write(df, "t", compression={"x": "zstd", "g": "none"})
    url = dt.resolve("LAYOUT.t").url
    chunks = column_chunks(url)
    assert chunks["x"][0] == "ZSTD" and chunks["g"][0] == "UNCOMPRESSED"
    meta = pq.read_metadata(url)
    assert b"ARROW:schema" in (meta.metadata or {})  # R arrow reads factor levels and types from it
    assert pa.types.is_dictionary(pq.read_schema(url).field("g").type)
    assert meta.format_version == "2.6" and meta.num_row_groups == 1
    assert pl.read_parquet(url).equals(df)


def test_bad_compression_fails_before_anything_is_written(proj: dt.Project) -> None:
    before = proj.repo.head()
    with pytest.raises(dt.InvalidArgumentError, match="unknown parquet compression 'brotli'") as err:
        proj.write(big_frame(100), "t", compression="brotli")
    assert "zstd" in err.value.hint
    with pytest.raises(dt.InvalidArgumentError, match="columns the table does not have: 'nope'"):
        proj.write(big_frame(100), "t", compression={"nope": "zstd"})
    with pytest.raises(dt.InvalidArgumentError, match="one codec for the whole file"):
        proj.write(big_frame(100).lazy(), "t", compression={"x": "zstd"})
    assert proj.repo.head() == before and not any((proj.path.parent / "store" / "datom").glob("t/*.parquet"))


def test_project_setting_is_shared_and_r_readable(proj: dt.Project, tmp_path: Path) -> None:
    assert proj.compression_setting() == "auto"
    commit = proj.set_compression("snappy")
    assert commit is not None and proj.set_compression("snappy") is None  # unchanged: no commit
    yaml_text = (proj.path / ".datom" / "project.yaml").read_text()
    assert yaml_text.endswith("parquet:\n  compression: snappy\n") and "project_name: LAYOUT" in yaml_text
    other = dt.clone(proj.repo.remote_url, tmp_path / "other")
    assert other.compression_setting() == "snappy"
    other.write(big_frame(), "t")
    assert {c for c, _ in column_chunks(dt.resolve("LAYOUT.t").url).values()} == {"SNAPPY"}
    with pytest.raises(dt.InvalidArgumentError, match="one codec"):
        proj.set_compression({"x": "zstd"})
    proj.pull()
    proj.set_compression("auto")
    assert "parquet:" not in (proj.path / ".datom" / "project.yaml").read_text()


def test_stream_writes_choose_a_layout_too(proj: dt.Project) -> None:
    df = big_frame()
    reader = pa.RecordBatchReader.from_batches(df.to_arrow().schema, df.to_arrow().to_batches(max_chunksize=7000))
    res = proj.write(reader, "s")
    url = dt.resolve("LAYOUT.s").url
    assert "DELTA_BINARY_PACKED" in column_chunks(url)["id"][1]
    assert res.data_sha == dt.data_sha(df)


def test_pushes_to_a_local_remote_leave_loose_objects(proj: dt.Project, bare_remote: str) -> None:
    packs_before = set((Path(bare_remote) / "objects" / "pack").glob("*.pack"))
    for i in range(3):
        proj.write(big_frame(100, seed=i), "small")
    assert set((Path(bare_remote) / "objects" / "pack").glob("*.pack")) == packs_before  # no pack per push
    fsck = subprocess.run(["git", "fsck", "--strict"], cwd=bare_remote, capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr
    log = subprocess.run(["git", "log", "--format=%s"], cwd=bare_remote, capture_output=True, text=True).stdout
    assert log.splitlines()[:3] == ["Update small"] * 3


HEAVY = ("polars", "pyarrow", "duckdb", "numpy", "pandas", "tqdm")


@pytest.mark.parametrize("args", [["--help"], ["tables"], ["tables", "--json"]])
def test_cli_starts_without_engines(proj: dt.Project, args: list[str]) -> None:
    """The import budget: `datom --help` and `datom tables` load no engine (each costs 0.1-0.25 s)."""
    proj.write(big_frame(50), "t")
    code = (
        "import sys, json\n"
        "from datom_engines.cli import main\n"
        f"rc = main({args!r})\n"
        f"print(json.dumps([rc, sorted(m for m in {HEAVY!r} if m in sys.modules)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=proj.path, capture_output=True, text=True, check=True)
    rc, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert rc == 0 and loaded == []


def test_polars_namespace_registered_in_either_import_order() -> None:
    for first, second in (("datom_engines", "polars"), ("polars", "datom_engines")):
        code = (
            f"import {first}, {second}\nimport polars as pl\n"
            "assert hasattr(pl, 'scan_datom') and hasattr(pl, 'read_datom')\n"
            "assert hasattr(pl.DataFrame({'a': [1]}), 'datom') and hasattr(pl.LazyFrame({'a': [1]}), 'datom')\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True)
    code = "import sys, datom_engines\nassert 'polars' not in sys.modules and 'pyarrow' not in sys.modules\n"
    subprocess.run([sys.executable, "-c", code], check=True)
