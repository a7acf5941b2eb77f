"""Sync of a folder of source files into table versions (reference sections 3.13, 3.14, 2.4, 7.5)."""

from __future__ import annotations

import datetime as dtm
import hashlib
import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from conftest import StoreSpec
from polars.testing import assert_frame_equal
from test_importers import CLINICAL, FREAD_VECTORS

import datom_engines as dt
from datom_engines.core import jsonfmt
from datom_engines.project.sync import SyncError


def new_project(tmp_path: Path, store: StoreSpec, remote: str, name: str = "STUDY1") -> dt.Project:
    return dt.init(
        tmp_path / f"{name}-clone", name, store=store.url, remote=remote, storage_options=store.storage_options
    )


def inbox(proj: dt.Project) -> Path:
    assert proj.path is not None
    return proj.path / "input_files"


def copy_clinical(proj: dt.Project, *domains: str) -> None:
    for d in domains or tuple(FREAD_VECTORS):
        shutil.copy(CLINICAL / f"{d}.csv", inbox(proj))


def parquet_objects(proj: dt.Project, table: str) -> list[str]:
    return [k for k in proj.store.list_keys(f"{table}/") if k.endswith(".parquet")]


def git_json(proj: dt.Project, path: str) -> object:
    assert proj.repo is not None
    raw = proj.repo.objects.read_file(proj.repo.head(), path)
    assert raw is not None
    return jsonfmt.parse(raw)


def test_sync_clinical_csvs_creates_four_imported_tables(tmp_path: Path, store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, store, bare_remote)
    copy_clinical(proj)
    result = proj.sync()
    assert result.ok
    assert [(r.file.name, r.result, r.change) for r in result.files] == [
        (d, "success", "full") for d in sorted(FREAD_VECTORS)
    ]
    tables = {t.name: t for t in proj.tables()}
    assert sorted(tables) == sorted(FREAD_VECTORS)
    for domain, (file_sha, data_sha, (nrow, ncol)) in FREAD_VECTORS.items():
        info = tables[domain]
        assert info.original_file_sha == file_sha
        assert info.original_format == "csv"
        assert info.current_data_sha == data_sha  # R's fread data_sha (section 7.4)
        meta = proj.metadata(domain)
        assert meta["table_type"] == "imported"
        assert meta["original_file_sha"] == file_sha
        assert (meta["nrow"], meta["ncol"]) == (nrow, ncol)
        assert meta["source_lineage"] == [{"project": "STUDY1", "table": domain, "version_sha": data_sha}]
        [version] = proj.history(domain)
        assert version.message == f"Sync {domain} (new)"
        assert version.original_file_sha == file_sha
    manifest = git_json(proj, ".datom/manifest.json")
    assert isinstance(manifest, dict)
    assert manifest["tables"]["lb"]["original_file_sha"] == FREAD_VECTORS["lb"][0]
    # a reader gets the typed data back
    lb = pl.from_arrow(dt.read("STUDY1.lb"))
    assert isinstance(lb, pl.DataFrame)
    assert lb.schema["LBDTC"] == pl.Date and lb.height == 720


def test_resync_unchanged_creates_nothing(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    copy_clinical(proj, "dm", "ex")
    proj.sync()
    assert proj.repo is not None
    head = proj.repo.head()
    again = proj.sync()
    assert [(r.file.name, r.result, r.change) for r in again.files] == [
        ("dm", "skipped", "none"),
        ("ex", "skipped", "none"),
    ]
    assert again.written == ()
    assert proj.repo.head() == head  # no commit
    assert len(parquet_objects(proj, "dm")) == 1
    assert proj.status().input_files == {"n_total": 2, "n_new": 0, "n_changed": 0, "n_unchanged": 2, "n_unsupported": 0}


def test_requoted_file_is_metadata_only_and_changed_file_is_full(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str
) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    copy_clinical(proj, "dm")
    v1 = proj.sync().files[0]
    obj = local_store.url + f"/datom/dm/{v1.data_sha}.parquet"
    mtime = os.stat(obj).st_mtime_ns
    original = (CLINICAL / "dm.csv").read_text()
    # same values, other bytes: every quote removed (no field contains a comma)
    (inbox(proj) / "dm.csv").write_text(original.replace('"', ""))
    plan = proj.sync_plan()
    assert [f.status for f in plan.files] == ["changed"]
    dry = proj.sync(dry_run=True)
    assert [(r.result, r.change) for r in dry.files] == [("planned", "metadata_only")]
    v2 = proj.sync().files[0]
    assert (v2.result, v2.change) == ("success", "metadata_only")
    assert v2.data_sha == v1.data_sha and v2.version != v1.version
    assert os.stat(obj).st_mtime_ns == mtime  # nothing uploaded
    assert len(parquet_objects(proj, "dm")) == 1
    meta = proj.metadata("dm")
    new_sha = hashlib.sha256((inbox(proj) / "dm.csv").read_bytes()).hexdigest()
    assert meta["original_file_sha"] == new_sha
    assert meta["parquet_sha"] == hashlib.sha256(Path(obj).read_bytes()).hexdigest()
    history = proj.history("dm")
    assert [h.id for h in history] == [v2.version, v1.version]
    assert history[0].message == "Sync dm (changed)"
    assert [f.status for f in proj.sync_plan().files] == ["unchanged"]
    # a real change: one more row -> a full version with a second object
    (inbox(proj) / "dm.csv").write_text(original + original.splitlines()[-1] + "\n")
    v3 = proj.sync().files[0]
    assert (v3.change, v3.nrow) == ("full", 49)
    assert v3.data_sha != v1.data_sha
    assert len(parquet_objects(proj, "dm")) == 2
    assert len(proj.history("dm")) == 3
    # the old file again: back to its version without a new history entry
    (inbox(proj) / "dm.csv").write_text(original)
    v4 = proj.sync().files[0]
    assert v4.version == v1.version
    assert len(proj.history("dm")) == 3
    assert dt.read("STUDY1.dm", version=v1.version[:8]).num_rows == 48


def test_dry_run_writes_nothing(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    copy_clinical(proj)
    assert proj.repo is not None
    head = proj.repo.head()
    dry = proj.sync(dry_run=True)
    assert dry.dry_run and dry.ok
    assert {(r.result, r.change) for r in dry.files} == {("planned", "full")}
    assert {r.file.name: r.data_sha for r in dry.files} == {d: v[1] for d, v in FREAD_VECTORS.items()}
    assert proj.repo.head() == head
    assert proj.tables() == []
    assert not any(k.endswith(".parquet") for k in proj.store.list_keys(""))


def test_duplicate_stems_refused_before_writing(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    pyreadstat = pytest.importorskip("pyreadstat")
    proj = new_project(tmp_path, local_store, bare_remote)
    copy_clinical(proj, "dm", "ex")
    pyreadstat.write_xport(pl.DataFrame({"A": [1.0]}).to_pandas(), str(inbox(proj) / "dm.xpt"))
    assert proj.repo is not None
    head = proj.repo.head()
    plan = proj.sync_plan()
    assert {f.path.name: f.status for f in plan.files} == {
        "dm.csv": "duplicate_name",
        "dm.xpt": "duplicate_name",
        "ex.csv": "new",
    }
    with pytest.raises(SyncError, match=r"dm\.csv and dm\.xpt all map to table 'dm'") as info:
        proj.sync()
    assert "nothing was written" in info.value.hint
    assert proj.repo.head() == head
    assert proj.tables() == []
    # narrowing with a pattern resolves it
    assert proj.sync(pattern="*.csv").ok
    assert sorted(t.name for t in proj.tables()) == ["dm", "ex"]


def test_problem_files_continue_or_stop(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    copy_clinical(proj, "dm")
    box = inbox(proj)
    (box / "notes.docx").write_bytes(b"not data")
    (box / "a.b.csv").write_text("x\n1\n")
    (box / "broken.parquet").write_bytes(b"garbage")
    (box / ".hidden.csv").write_text("x\n1\n")
    assert proj.repo is not None
    head = proj.repo.head()
    counts = proj.status().input_files
    assert counts == {"n_total": 4, "n_new": 2, "n_changed": 0, "n_unchanged": 0, "n_unsupported": 2}
    # stop on error: problems are found before anything is written
    with pytest.raises(SyncError, match="cannot be synced"):
        proj.sync(continue_on_error=False)
    assert proj.repo.head() == head
    (box / "notes.docx").unlink()
    (box / "a.b.csv").unlink()
    with pytest.raises(SyncError, match=r"could not import broken\.parquet") as info:
        proj.sync(continue_on_error=False)
    assert proj.repo.head() == head and proj.tables() == []
    assert info.value.result is not None
    (box / "notes.docx").write_bytes(b"not data")
    (box / "a.b.csv").write_text("x\n1\n")
    # continue on error (the default): the good file is written, every bad one is reported
    result = proj.sync()
    assert not result.ok
    by_file = {r.file.path.name: r for r in result.files}
    assert by_file["dm.csv"].result == "success"
    assert by_file["notes.docx"].result == "error" and "not supported" in (by_file["notes.docx"].error or "")
    assert by_file["a.b.csv"].result == "error" and "not allowed" in (by_file["a.b.csv"].error or "")
    assert by_file["broken.parquet"].result == "error" and "broken.parquet" in (by_file["broken.parquet"].error or "")
    assert ".hidden.csv" not in by_file
    assert [t.name for t in proj.tables()] == ["dm"]


def test_folder_must_exist_and_be_flat(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    (inbox(proj) / "2026-01").mkdir()
    with pytest.raises(dt.InvalidArgumentError, match="must be flat but holds sub-folders: 2026-01"):
        proj.sync()
    with pytest.raises(dt.NotFoundError, match="does not exist"):
        proj.sync(tmp_path / "nowhere")
    assert proj.status().input_files == {"n_total": 0, "n_new": 0, "n_changed": 0, "n_unchanged": 0, "n_unsupported": 0}


def test_sync_refuses_a_clone_behind_its_remote(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    other = dt.clone(bare_remote, tmp_path / "other", store=local_store.url)
    other.write(pl.DataFrame({"x": [1, 2]}), "extra")
    copy_clinical(proj, "dm")
    with pytest.raises(dt.ConflictError, match="1 commit\\(s\\) behind its remote") as info:
        proj.sync()
    assert "datom pull" in info.value.hint
    proj.pull()
    assert proj.sync().ok


def test_xpt_and_xlsx_sync_into_tables_equal_to_the_source(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str
) -> None:
    pyreadstat = pytest.importorskip("pyreadstat")
    pytest.importorskip("fastexcel")
    proj = new_project(tmp_path, local_store, bare_remote)
    src = pl.DataFrame(
        {
            "USUBJID": ["S-001", "S-002", "S-003"],
            "AGE": [34.0, None, 71.5],
            "ARM": ["A", "", "B"],
            "RFSTDTC": [dtm.date(2026, 1, 20), None, dtm.date(2025, 12, 31)],
        }
    )
    pdf = src.to_pandas()
    pdf["RFSTDTC"] = [dtm.date(2026, 1, 20), None, dtm.date(2025, 12, 31)]
    pyreadstat.write_xport(pdf, str(inbox(proj) / "adsl.xpt"), table_name="ADSL")
    scores = pl.DataFrame({"id": [1.0, 2.0, 3.0], "name": ["a", "b", None], "score": [1.5, None, 3.25]})
    scores.write_excel(inbox(proj) / "scores.xlsx")
    result = proj.sync()
    assert result.ok, result.files
    adsl = pl.from_arrow(dt.read("STUDY1.adsl"))
    assert isinstance(adsl, pl.DataFrame)
    assert_frame_equal(adsl, src)
    assert dt.data_sha(adsl) == dt.data_sha(src)
    got = pl.from_arrow(dt.read("STUDY1.scores"))
    assert isinstance(got, pl.DataFrame)
    assert_frame_equal(got, scores)
    formats = {t.name: t.original_format for t in proj.tables()}
    assert formats == {"adsl": "xpt", "scores": "xlsx"}


def test_parquet_input_and_write_file(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    frame = pl.DataFrame({"id": list(range(1000)), "v": [i * 0.5 for i in range(1000)]})
    frame.write_parquet(inbox(proj) / "big.parquet")
    assert proj.sync().ok
    assert proj.tables()[0].current_data_sha == dt.data_sha(frame)
    # write_file: one file as a named table, recorded like a sync
    res = proj.write_file(CLINICAL / "ae.csv", "adverse")
    assert (res.change, res.data_sha) == ("full", FREAD_VECTORS["ae"][1])
    meta = proj.metadata("adverse")
    assert meta["table_type"] == "imported" and meta["original_file_sha"] == FREAD_VECTORS["ae"][0]
    assert proj.write_file(CLINICAL / "ae.csv", "adverse").change == "none"
    with pytest.raises(dt.InvalidNameError):
        proj.write_file(CLINICAL / "ae.csv", "bad.name")
    with pytest.raises(dt.NotFoundError, match="does not exist"):
        proj.write_file(tmp_path / "missing.csv")


def test_diff_of_two_versions(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    a = pl.DataFrame({"id": [1, 2, 3], "v": [1.0, 2.0, 3.0], "gone": ["x", "y", "z"]})
    b = pl.DataFrame({"id": [1, 2, 3, 4], "v": [1.0, 2.5, 3.0, 4.0], "new": [True, False, True, None]})
    v1 = proj.write(a, "t").version
    v2 = proj.write(b, "t").version
    d = proj.diff("t", v1[:8])
    assert (d.before, d.after) == (v1, v2)
    assert (d.nrow_before, d.nrow_after) == (3, 4)
    changes = {c.name: c.change for c in d.columns}
    assert changes == {"id": "changed", "v": "changed", "new": "added", "gone": "removed"}
    assert {c.name: c.type_after for c in d.columns}["new"] == "Boolean"
    assert not d.same_data
    # Int64 -> Int32 hashes alike: a type-only change of that column
    v3 = proj.write(b.with_columns(pl.col("id").cast(pl.Int32), pl.col("v") * 2), "t").version
    d2 = proj.diff("t", v2, v3)
    assert not d2.same_data and d2.nrow_before == d2.nrow_after == 4
    assert [(c.name, c.change, c.type_before, c.type_after) for c in d2.changed_columns] == [
        ("id", "retyped", "Int64", "Int32"),
        ("v", "changed", "Float64", "Float64"),
    ]
    with pytest.raises(dt.VersionNotFoundError):
        proj.diff("t", "ffffffff")
