"""Failure paths: a writer killed mid-way, a store that cannot be reached, missing objects."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from pathlib import Path

import polars as pl
import pytest
from conftest import StoreSpec
from workers import crash_before_push, crash_during_publish

import datom_engines as dt
from datom_engines.core import keys


def _frame(shift: float) -> pl.DataFrame:
    return pl.DataFrame({"id": list(range(30)), "value": [i * 1.5 + shift for i in range(30)]})


def _git_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("GIT_CONFIG")}


def _run_child(target, *args) -> int:  # type: ignore[no-untyped-def]
    proc = multiprocessing.get_context("spawn").Process(target=target, args=args)
    proc.start()
    proc.join(120)
    return proc.exitcode if proc.exitcode is not None else -1


def _setup(tmp_path: Path, store: StoreSpec, remote: str) -> tuple[dt.Project, dt.WriteResult, Path]:
    proj = dt.init(tmp_path / "clone", "CRASH", store=store.url, remote=remote, storage_options=store.storage_options)
    v1 = proj.write(_frame(0.0), "lb")
    data = tmp_path / "v2.parquet"
    _frame(1.0).write_parquet(data)
    return proj, v1, data


@pytest.mark.parametrize(
    "crash_key",
    [
        "lb/.metadata/version_history.json",  # after the snapshot
        "lb/.metadata/metadata.json",  # after snapshot and history
        keys.MANIFEST_KEY,  # everything but the manifest
    ],
)
@pytest.mark.parametrize("repair_by", ["next_write", "validate"])
def test_crash_after_push_leaves_store_readable_and_is_repaired(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, crash_key: str, repair_by: str
) -> None:
    proj, v1, data = _setup(tmp_path, local_store, bare_remote)
    code = _run_child(crash_during_publish, str(proj.path), str(data), crash_key, _git_env())
    assert code == 137
    # git has the new version; the store still serves a consistent version
    proj.pull()
    git_version = dt.core.jsonfmt.parse((proj.path / "lb/version_history.json").read_bytes())[0]["version"]
    assert git_version != v1.version
    reader = dt.connect(local_store.url)
    current = pl.from_arrow(reader.read("lb"))
    assert current.equals(_frame(0.0)) or current.equals(_frame(1.0))
    assert not proj.validate().valid

    if repair_by == "validate":
        report = proj.validate(repair=True)
        assert report.valid
        assert ("manifest" if crash_key == keys.MANIFEST_KEY else "lb") in report.repaired
    else:
        proj.write(_frame(5.0), "other")
        assert proj.validate().valid
    assert pl.from_arrow(reader.read("lb")).equals(_frame(1.0))
    assert reader.history("lb")[0].id == git_version
    assert pl.from_arrow(reader.read("lb", version=v1.version)).equals(_frame(0.0))


def test_crash_between_upload_and_push_loses_nothing(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj, v1, data = _setup(tmp_path, local_store, bare_remote)
    code = _run_child(crash_before_push, str(proj.path), str(data), _git_env())
    assert code == 137
    assert [v.id for v in proj.history("lb")] == [v1.version]  # nothing published
    assert pl.from_arrow(proj.read("lb")).equals(_frame(0.0))
    again = proj.write(_frame(1.0), "lb")  # the orphaned object is reused, not re-uploaded
    assert again.change == "full" and not again.uploaded
    assert pl.from_arrow(proj.read("lb")).equals(_frame(1.0))
    assert proj.validate().valid


def test_missing_parquet_is_reported_and_rewritten(tmp_path: Path, store: StoreSpec, bare_remote: str) -> None:
    proj, v1, _ = _setup(tmp_path, store, bare_remote)
    proj.store.delete(keys.parquet_key("lb", v1.data_sha))
    with pytest.raises(dt.NotFoundError, match="not found in the store"):
        proj.read("lb")
    report = proj.validate(repair=True)
    assert not report.valid and report.unrepairable
    # R would reuse the recorded parquet_sha and publish a pointer to nothing (section 8 item 12);
    # here the writer notices the object is gone and uploads it again
    again = proj.write(_frame(0.0), "lb")
    assert again.change == "none" and again.uploaded
    assert pl.from_arrow(proj.read("lb")).equals(_frame(0.0))
    assert proj.validate().valid


def test_unreachable_local_store(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj, _, _ = _setup(tmp_path, local_store, bare_remote)
    os.rename(local_store.url, local_store.url + ".moved")
    with pytest.raises(dt.StoreUnreachableError, match="does not exist"):
        proj.read("lb")
    with pytest.raises(dt.StoreUnreachableError, match="does not exist"):
        dt.connect(local_store.url)


def test_corrupt_metadata_mirror_gives_clear_error(tmp_path: Path, store: StoreSpec, bare_remote: str) -> None:
    proj, _, _ = _setup(tmp_path, store, bare_remote)
    proj.store.put_bytes(keys.metadata_key("lb"), b"{not json")
    with pytest.raises(dt.StoreError, match="failed to parse JSON.*metadata.json"):
        proj.read("lb")
    assert proj.validate(repair=True).valid
    assert pl.from_arrow(proj.read("lb")).equals(_frame(0.0))


def test_lost_snapshots_of_old_versions_are_restored_from_git(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str
) -> None:
    proj, v1, _ = _setup(tmp_path, local_store, bare_remote)
    v2 = proj.write(_frame(1.0), "lb", custom={"note": "second"})
    v3 = proj.write(_frame(2.0), "lb")
    for v in (v1, v2):
        proj.store.delete(keys.snapshot_key("lb", v.version))
    report = proj.validate()
    assert not report.valid
    assert set(report.tables[0].missing_snapshots) == {v1.version, v2.version}
    assert proj.validate(repair=True).valid
    assert proj.metadata("lb", v2.version[:8])["custom"] == {"note": "second"}
    assert dt.metadata_sha(proj.metadata("lb", v1.version)) == v1.version
    assert proj.metadata("lb", v3.version)["data_sha"] == v3.data_sha


def test_reuploaded_object_with_other_bytes_is_repinned(tmp_path: Path, store: StoreSpec, bare_remote: str) -> None:
    """A lost object re-uploaded by a writer whose serialisation differs: every pin must follow the new bytes."""
    proj, v1, _ = _setup(tmp_path, store, bare_remote)
    v2 = proj.write(_frame(0.0), "lb", custom={"round": 2})  # metadata_only: same content, same object
    key = keys.parquet_key("lb", v1.data_sha)
    proj.store.delete(key)
    # a different serialisation of the same content (Polars' writer instead of pyarrow's)
    again = proj.write(_frame(0.0).lazy(), "lb", custom={"round": 2})
    assert again.change == "none" and again.uploaded and again.commit is not None
    stored = hashlib.sha256(proj.store.get_bytes(key)).hexdigest()
    assert again.parquet_sha == stored != v1.parquet_sha
    assert [v.parquet_sha for v in proj.history("lb")] == [stored, stored]
    assert [v.id for v in proj.history("lb")] == [v2.version, v1.version]  # no new version
    for version in (None, v1.version, v2.version):
        assert pl.from_arrow(proj.read("lb", version=version)).equals(_frame(0.0))
    assert proj.validate().valid
