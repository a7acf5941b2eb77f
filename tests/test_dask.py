"""The Dask adapter (issue 12): ``read_datom`` (``dd.read_parquet`` with filters and the project's storage
options) and ``ddf.datom.write`` (partitions streamed in order, lineage), on a ``distributed.LocalCluster``
of two worker processes for the whole test session and real stores (local, fsspec memory, S3 on moto)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from arrow_equal import assert_same_values
from conftest import StoreSpec, next_second
from test_cv1 import FIXTURE_LIST, build_polars
from test_polars import every_dtype
from test_project import lb_frame, new_project

import datom_engines as dt
import datom_engines.dask as ddt


def computed(ddf: dd.DataFrame) -> pa.Table:
    """What Dask computes, as Arrow (pyarrow-backed dtypes convert without loss)."""
    return pa.Table.from_pandas(ddf.compute(), preserve_index=False).replace_schema_metadata(None)


def dask_type_of(stored: pa.DataType) -> pa.DataType | None:
    """The Arrow type a pyarrow-backed pandas column gives back (None: the stored type)."""
    if pa.types.is_string(stored):
        return pa.large_string()
    if pa.types.is_dictionary(stored):  # the same dictionary, with plain string values
        return pa.dictionary(stored.index_type, pa.string(), stored.ordered)
    return None


def test_every_cv1_dtype_equals_read_datom(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, dask_client: Any
) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    frame = every_dtype()
    result = proj.write(frame, "types")
    got = computed(ddt.read_datom("STUDY1.types"))
    assert_same_values(got, pl.read_datom("STUDY1.types").to_arrow(), dask_type_of)
    assert dt.data_sha(got) == result.data_sha  # every column keeps its datom-cv1 kind and values
    for fixture in FIXTURE_LIST:
        proj.write(build_polars(fixture), fixture["name"])
        assert dt.data_sha(computed(ddt.read_datom(f"STUDY1.{fixture['name']}"))) == dt.data_sha(build_polars(fixture))


def test_versions_by_id_prefix_and_as_of(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, dask_client: Any
) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    v1 = proj.write(lb_frame(10), "lb")
    proj.tag("cut-1")
    next_second()
    proj.write(lb_frame(20, shift=0.5), "lb")
    created = proj.history("lb")[1].created_at
    assert created is not None
    for selection in (
        {},
        {"version": v1.version},
        {"version": v1.version[:7]},
        {"as_of": created},
        {"as_of": str(created)},
        {"tag": "cut-1"},
    ):
        expected = pl.read_datom("STUDY1.lb", **selection).to_arrow()
        assert_same_values(computed(ddt.read_datom("STUDY1.lb", **selection)), expected, dask_type_of)
    pinned = ddt.read_datom("STUDY1.lb", version=v1.version[:8])
    proj.write(lb_frame(30), "lb")
    assert len(pinned.compute()) == 10  # the frame stays on the version it resolved
    with pytest.raises(dt.VersionNotFoundError, match="hint"):
        ddt.read_datom("STUDY1.lb", version="ffffff")
    with pytest.raises(dt.TagNotFoundError):
        ddt.read_datom("STUDY1.lb", tag="no-such-tag")
    with pytest.raises(dt.NotFoundError, match="unknown project"):
        ddt.read_datom("NOPE.lb")


@pytest.mark.parametrize("kind", ["s3", "memory"])
def test_reads_object_stores_with_filters(
    tmp_path: Path, make_store: Any, bare_remote: str, dask_client: Any, kind: str
) -> None:
    store: StoreSpec = make_store(kind)
    new_project(tmp_path, store, bare_remote).write(lb_frame(), "lb")
    ddf = ddt.read_datom("STUDY1.lb", columns=["USUBJID", "LBSTRESN"], filters=[("LBTESTCD", "==", "ALT")])
    got = ddf.compute()
    assert list(got.columns) == ["USUBJID", "LBSTRESN"]
    assert got["USUBJID"].tolist() == [f"S-{i:03d}" for i in range(1, 50, 2)]


def test_filters_skip_row_groups(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, dask_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datom_engines.project import prepare

    monkeypatch.setattr(prepare, "ROW_GROUP_SIZE", 1000)
    table = pa.table({"id": np.arange(10_000, dtype=np.int64), "x": np.arange(10_000) % 7})
    new_project(tmp_path, local_store, bare_remote).write(table, "big")
    ddf = ddt.read_datom("STUDY1.big", filters=[("id", ">=", 2500), ("id", "<", 2600)])
    assert ddf.compute()["id"].tolist() == list(range(2500, 2600))
    import pyarrow.dataset as pads

    fragment = next(pads.dataset(dt.resolve("STUDY1.big").url).get_fragments())
    kept = fragment.split_by_row_group(filter=(pads.field("id") >= 2500) & (pads.field("id") < 2600))
    assert [rg.id for piece in kept for rg in piece.row_groups] == [2]  # what dd.read_parquet reads


def test_verification_refuses_a_corrupted_object(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, dask_client: Any
) -> None:
    new_project(tmp_path, local_store, bare_remote).write(lb_frame(20), "lb")
    path = Path(dt.resolve("STUDY1.lb").url)
    good = path.read_bytes()
    pa.parquet.write_table(pa.table({"USUBJID": ["X"]}), path)
    try:
        with pytest.raises(dt.IntegrityError):
            ddt.read_datom("STUDY1.lb", verify="always")
        # "never" skips the hash but not the size check: an object whose size differs from size_bytes is
        # verified anyway, and refused
        with pytest.raises(dt.IntegrityError, match="the metadata records"):
            ddt.read_datom("STUDY1.lb", verify="never")
    finally:
        path.write_bytes(good)
    with pytest.raises(dt.InvalidArgumentError, match="verify must be one of"):
        ddt.read_datom("STUDY1.lb", verify="maybe")


@pytest.mark.parametrize("distributed", [True, False], ids=["cluster", "local-scheduler"])
def test_write_streams_partitions_in_order(
    tmp_path: Path, store: StoreSpec, bare_remote: str, dask_client: Any, distributed: bool
) -> None:
    proj = new_project(tmp_path, store, bare_remote)
    n = 40_000
    pdf = pd.DataFrame(
        {
            "id": pd.array(np.arange(n), dtype="int64[pyarrow]"),
            "big": pd.array(np.arange(n) * 3_000_000_000, dtype="int64[pyarrow]"),
            "label": pd.array([None if i % 5 == 0 else f"s-{i}" for i in range(n)], dtype="string[pyarrow]"),
            "x": np.arange(n) / 7.0,
            "ts": pd.date_range("2020-01-01", periods=n, freq="37s", tz="Europe/Paris"),
        }
    )
    ddf = dd.from_pandas(pdf, npartitions=9)
    if distributed:
        result = ddf.datom.write("STUDY1.d", message="from Dask")
    else:
        import dask

        with dask.config.set(scheduler="threads"), _no_client(dask_client):
            result = ddf.datom.write("STUDY1.d", message="from Dask")
    assert (result.change, result.nrow, result.ncol) == ("full", n, 5)
    back = dt.read("STUDY1.d")
    assert back.column("id").to_pylist() == list(range(n))
    expected = dt.data_sha(pa.Table.from_pandas(pdf, preserve_index=False))
    assert result.data_sha == dt.data_sha(back) == expected
    meta = proj.metadata("d", result.version)
    assert dt.metadata_sha(meta) == result.version  # the version id is the hash of the stored metadata
    assert [c["sha"] for c in meta["column_hashes"]] == list(dt.column_hashes(back).values())
    assert "parents" not in meta  # nothing read through read_datom


class _no_client:
    """Make ``distributed.get_client()`` find no client (the local-scheduler path of the writer)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __enter__(self) -> None:
        import datom_engines.dask as mod

        self._saved = mod._client
        mod._client = lambda: None  # type: ignore[assignment]

    def __exit__(self, *exc: object) -> None:
        import datom_engines.dask as mod

        mod._client = self._saved  # type: ignore[assignment]


def test_round_trip_and_lineage(tmp_path: Path, local_store: StoreSpec, bare_remote: str, dask_client: Any) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    types = proj.write(every_dtype(), "types")
    lb = proj.write(lb_frame(), "lb")
    dm = proj.write(pl.DataFrame({"USUBJID": [f"S-{i:03d}" for i in range(50)], "AGE": list(range(50))}), "dm")
    # every dtype written back from Dask has the same data_sha
    again = ddt.read_datom("STUDY1.types").datom.write("STUDY1.types2")
    assert again.data_sha == types.data_sha
    assert proj.metadata("types2")["parents"] == [
        {"source": "STUDY1", "table": "types", "version": types.version, "data_sha": types.data_sha}
    ]
    lbd = ddt.read_datom("STUDY1.lb", filters=[("LBTESTCD", "==", "ALT")])
    joined = lbd.merge(ddt.read_datom("STUDY1.dm"), on="USUBJID")[["USUBJID", "AGE"]]
    parents = [
        {"source": "STUDY1", "table": "lb", "version": lb.version, "data_sha": lb.data_sha},
        {"source": "STUDY1", "table": "dm", "version": dm.version, "data_sha": dm.data_sha},
    ]
    assert joined.datom.parents() == parents
    sorted_join = joined.sort_values("USUBJID")
    result = sorted_join.datom.write("STUDY1.alt")
    assert result.nrow == 25 and proj.metadata("alt")["parents"] == parents
    assert sorted_join.datom.write("STUDY1.alt", parents=[]).change == "metadata_only"
    assert proj.metadata("alt")["parents"] == []


def test_bad_writes_write_nothing(tmp_path: Path, local_store: StoreSpec, bare_remote: str, dask_client: Any) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    proj.write(lb_frame(5), "lb")
    before = set(proj.store.list_keys())
    import dask

    with dask.config.set({"dataframe.convert-string": False}):
        untyped = dd.from_pandas(pd.DataFrame({"a": pd.Series([1, "x"], dtype=object)}), npartitions=1)
    with pytest.raises(dt.UnsupportedDataError, match=r"'a' have dtype object[\s\S]*hint"):
        untyped.datom.write("STUDY1.bad")
    lists = dd.from_pandas(pd.DataFrame({"l": pd.Series([[1], [2]], dtype=pd.ArrowDtype(pa.list_(pa.int64())))}), 1)
    with pytest.raises(dt.UnsupportedDataError, match="not hashable"):
        lists.datom.write("STUDY1.bad")
    empty = ddt.read_datom("STUDY1.lb", filters=[("VISITNUM", ">", 100)])
    with pytest.raises(dt.UnsupportedDataError, match="at least one row"):
        empty.datom.write("STUDY1.bad")
    with pytest.raises(dt.InvalidArgumentError, match="expected a Dask DataFrame"):
        ddt.write(lb_frame(), "STUDY1.bad")  # type: ignore[arg-type]
    dt.unregister("STUDY1")  # a reader does not displace the writer of its store: forget the writer first
    dt.connect(local_store.url)
    with pytest.raises(dt.ReadOnlyError):
        dd.from_pandas(pd.DataFrame({"a": [1]}), npartitions=1).datom.write("STUDY1.bad")
    assert set(proj.store.list_keys()) == before


def test_verify_once_hashes_an_object_once_per_machine(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, hashes: list[str]
) -> None:
    new_project(tmp_path, local_store, bare_remote).write(lb_frame(7), "lb")
    key = dt.resolve("STUDY1.lb").key
    calls = hashes
    for _ in range(3):
        ddt.read_datom("STUDY1.lb")  # the writer vouched for the bytes it hashed while writing them
    assert calls == []
    ddt.read_datom("STUDY1.lb", verify="always")
    ddt.read_datom("STUDY1.lb", verify="always")
    assert calls == [key, key]
    ddt.read_datom("STUDY1.lb", verify="never")
    ddt.read_datom("STUDY1.lb")
    assert calls == [key, key]
