"""Issue 10, acceptance 3: ``validate(deep=True)`` finds every corruption, ``repair=True`` restores the
object from a verified copy, and a rewrite of the same data restores it too, on every store kind."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from conftest import StoreSpec
from polars.testing import assert_frame_equal
from test_integrity import CORRUPTIONS, corrupted, lb, new_project, overwrite

import datom_engines as dt
from datom_engines.core import keys
from datom_engines.storage.location import StoreLocation
from datom_engines.storage.objectstore import ObjectStore


def stored_sha(proj: dt.Project, key: str) -> str:
    return hashlib.sha256(proj.store.get_bytes(key)).hexdigest()


def keep_a_verified_copy(tmp_path: Path, store: StoreSpec, proj: dt.Project, version: str) -> list[StoreLocation]:
    """Leave a verified copy of a version's object where a repair can find it; returns the ``sources``."""
    if store.kind == "s3":  # an eager read keeps a verified copy in the content-addressed read cache
        dt.read("P.lb", version=version)
        return []
    if store.kind == "memory":  # Polars scans a verified local copy of a memory object (kept for the process)
        pl.scan_datom("P.lb", version=version).collect()  # type: ignore[attr-defined]
        return []
    backup = tmp_path / "backup"  # a local store reads in place: a backup of the store is the source
    shutil.copytree(store.url, backup)
    return [StoreLocation.parse(backup)]


@pytest.mark.parametrize("how", CORRUPTIONS)
def test_deep_validation_finds_the_corruption_and_repair_restores_it(
    tmp_path: Path, store: StoreSpec, how: str
) -> None:
    proj = new_project(tmp_path, store)
    v1 = proj.write(lb(), "lb")
    v2 = proj.write(lb(shift=1.0), "lb")
    proj.write(lb(10), "dm")
    key = keys.parquet_key("lb", v1.data_sha)
    sources = keep_a_verified_copy(tmp_path, store, proj, v1.version)
    overwrite(proj, key, corrupted(proj.store.get_bytes(key), how))

    steps: list[str] = []
    report = proj.validate(deep=True, progress=lambda stage, n, total: steps.append(stage))
    assert not report.valid and report.deep and "verify" in steps
    lb_check, dm_check = sorted(report.tables, key=lambda t: t.table != "lb")
    assert lb_check.problems == ("data_corrupt_in_store",)
    assert lb_check.corrupt_versions == (v1.version,) and lb_check.missing_versions == ()
    assert dm_check.ok
    as_json = {t["table"]: t for t in report.to_dict()["tables"]}
    assert as_json["lb"]["corrupt_versions"] == [v1.version] and as_json["dm"]["ok"]

    fixed = proj.validate(deep=True, repair=True, sources=sources)
    assert fixed.valid, fixed
    assert any(r.startswith(f"lb@{v1.version[:8]}: parquet object restored") for r in fixed.repaired)
    assert stored_sha(proj, key) == v1.parquet_sha
    assert proj.validate(deep=True).valid
    assert_frame_equal(pl.scan_datom("P.lb", version=v1.version).collect(), lb())  # type: ignore[attr-defined]
    assert_frame_equal(pl.scan_datom("P.lb").collect(), lb(shift=1.0))  # type: ignore[attr-defined]
    assert [v.id for v in proj.history("lb")] == [v2.version, v1.version]  # no metadata was touched


@pytest.mark.parametrize("how", CORRUPTIONS)
def test_rewrite_of_the_same_data_replaces_a_corrupted_object(tmp_path: Path, store: StoreSpec, how: str) -> None:
    proj = new_project(tmp_path, store)
    v1 = proj.write(lb(), "lb")
    key = keys.parquet_key("lb", v1.data_sha)
    overwrite(proj, key, corrupted(proj.store.get_bytes(key), how))
    dt.clear_cache()

    report = proj.validate(deep=True, repair=True)  # no verified copy anywhere: reported, nothing written
    assert not report.valid and "data_corrupt_in_store" in report.tables[0].problems
    assert report.unrepairable and "no verified copy was found" in report.unrepairable[0]
    assert report.repaired == ()  # the mirror was fine: nothing rewritten, nothing claimed
    assert stored_sha(proj, key) != v1.parquet_sha

    again = proj.write(lb(), "lb")  # what the IntegrityError hint tells the user to do
    assert (again.change, again.uploaded, again.commit, again.version) == ("none", True, None, v1.version)
    assert stored_sha(proj, key) == v1.parquet_sha == again.parquet_sha
    assert_frame_equal(pl.scan_datom("P.lb").collect(), lb())  # type: ignore[attr-defined]
    assert proj.validate(deep=True).valid
    assert proj.write(lb(), "lb").uploaded is False  # good now: nothing to do


def test_rewrite_restores_the_recorded_bytes_from_a_cached_copy_instead_of_repinning(
    tmp_path: Path, make_store: object
) -> None:
    store = make_store("s3")  # type: ignore[operator]
    proj = new_project(tmp_path, store)
    v1 = proj.write(lb(), "lb")
    dt.read("P.lb")  # a verified copy in the read cache
    key = keys.parquet_key("lb", v1.data_sha)
    proj.store.put_bytes(key, corrupted(proj.store.get_bytes(key), "flipped"))
    again = proj.write(lb().lazy(), "lb")  # another serialisation of the same data (Polars' writer)
    assert (again.change, again.uploaded, again.commit) == ("none", True, None)
    assert again.parquet_sha == v1.parquet_sha == stored_sha(proj, key)  # the recorded bytes, no re-pin
    assert [v.parquet_sha for v in proj.history("lb")] == [v1.parquet_sha]

    # without a copy, the new bytes go up and every version of that content is re-pinned to them
    dt.clear_cache()
    proj.store.put_bytes(key, corrupted(proj.store.get_bytes(key), "truncated"))
    third = proj.write(lb().lazy(), "lb")
    assert third.uploaded and third.commit is not None and third.parquet_sha != v1.parquet_sha
    assert [v.parquet_sha for v in proj.history("lb")] == [third.parquet_sha] == [stored_sha(proj, key)]
    assert proj.validate(deep=True).valid


def test_a_repair_never_clobbers_a_concurrent_one(tmp_path: Path, store: StoreSpec) -> None:
    proj = new_project(tmp_path, store)
    v1 = proj.write(lb(), "lb")
    key = keys.parquet_key("lb", v1.data_sha)
    good = proj.store.get_bytes(key)
    overwrite(proj, key, corrupted(good, "flipped"))
    seen_bad = proj.store.stat(key)
    overwrite(proj, key, good)  # someone else repaired it meanwhile
    other = tmp_path / "other.parquet"
    other.write_bytes(corrupted(good, "swapped"))
    other_sha = hashlib.sha256(other.read_bytes()).hexdigest()
    assert proj.store.replace_file(key, str(other), expected=seen_bad, sha256=other_sha) is False
    assert proj.store.get_bytes(key) == good
    assert proj.store.replace_file(key, str(other), expected=proj.store.stat(key)) is True  # current: allowed
    assert proj.store.get_bytes(key) == other.read_bytes()
    missing = keys.parquet_key("lb", "ab" * 32)
    assert proj.store.replace_file(missing, str(other), expected=None) is True  # absent: put-if-absent
    assert proj.store.replace_file(missing, str(other), expected=None) is False


def test_missing_old_object_found_by_deep_validation_and_restored_from_a_source(
    tmp_path: Path, local_store: StoreSpec
) -> None:
    proj = new_project(tmp_path, local_store)
    v1 = proj.write(lb(), "lb")
    proj.write(lb(shift=2.0), "lb")
    sources = keep_a_verified_copy(tmp_path, local_store, proj, v1.version)
    proj.store.delete(keys.parquet_key("lb", v1.data_sha))
    assert proj.validate().valid  # the quick check looks at the current version's object only
    report = proj.validate(deep=True)
    assert report.tables[0].missing_versions == (v1.version,)
    assert report.tables[0].problems == ("data_missing_in_store",)
    # a source holding bad bytes is not used
    bad_source = tmp_path / "bad-source"
    shutil.copytree(sources[0].root, bad_source)
    bad_store = ObjectStore(StoreLocation.parse(bad_source))
    overwrite_key = keys.parquet_key("lb", v1.data_sha)
    bad_store.put_bytes(overwrite_key, corrupted(bad_store.get_bytes(overwrite_key), "swapped"))
    assert not proj.validate(deep=True, repair=True, sources=[StoreLocation.parse(bad_source)]).valid
    fixed = proj.validate(deep=True, repair=True, sources=[StoreLocation.parse(bad_source), *sources])
    assert fixed.valid and stored_sha(proj, overwrite_key) == v1.parquet_sha


def test_corrupt_metadata_objects_are_named_corrupt_and_repaired(tmp_path: Path, store: StoreSpec) -> None:
    proj = new_project(tmp_path, store)
    v1 = proj.write(lb(), "lb")
    v2 = proj.write(lb(shift=1.0), "lb")
    proj.store.put_bytes(keys.metadata_key("lb"), b'{"data_sha": "abc", truncated')
    proj.store.put_bytes(keys.history_key("lb"), b"[{")
    proj.store.put_bytes(keys.snapshot_key("lb", v1.version), b"not json")
    snapshot = json.loads(proj.store.get_bytes(keys.snapshot_key("lb", v2.version)))
    proj.store.put_bytes(keys.snapshot_key("lb", v2.version), json.dumps({**snapshot, "nrow": 1}).encode())
    proj.store.put_bytes(keys.MANIFEST_KEY, b"\x00\x01garbage")

    quick = proj.validate()
    assert not quick.valid and quick.manifest_corrupt and quick.manifest_in_store
    problems = quick.tables[0].problems
    assert "metadata_corrupt_in_store" in problems and "history_corrupt_in_store" in problems
    assert not any(p.endswith("_missing_in_store") for p in problems)
    deep = proj.validate(deep=True)
    assert "snapshot_corrupt_in_store" in deep.tables[0].problems
    assert set(deep.tables[0].corrupt_snapshots) == {v1.version, v2.version}

    fixed = proj.validate(deep=True, repair=True)
    assert fixed.valid and "manifest" in fixed.repaired and "lb" in fixed.repaired
    assert proj.validate(deep=True).valid
    assert proj.metadata("lb", v2.version)["nrow"] == 400
    assert [t.name for t in proj.tables()] == ["lb"]
