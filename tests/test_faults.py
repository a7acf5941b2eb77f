"""Issue 10, point 3: the faults found when the package was tried as a new user would (one test each)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pytest
from conftest import TEST_IDENTITY, StoreSpec
from test_integrity import lb, new_project

import datom_engines as dt
from datom_engines import duckdb as ddb
from datom_engines.core import keys
from datom_engines.storage import staging

REPO = Path(__file__).resolve().parent.parent


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()


# ----- a corrupt store manifest does not lock readers out ----------------------------------------------
def test_corrupt_manifest_still_lets_readers_read_tables_by_name(tmp_path: Path, store: StoreSpec, datom: Any) -> None:
    writer = new_project(tmp_path, store)
    writer.write(lb(), "lb")
    writer.store.put_bytes(keys.MANIFEST_KEY, b'{"project_name": "P", "tables": {')
    dt.unregister("P")
    with pytest.raises(dt.StoreError, match="manifest of the store .* is corrupt") as err:
        dt.connect(store.url, storage_options=store.storage_options)
    assert "project=" in (err.value.hint or "")
    with pytest.warns(UserWarning, match="has a corrupt manifest mirror; tables of 'P' can be read by name"):
        reader = dt.connect(store.url, project="P", storage_options=store.storage_options)
    assert reader.read("lb").num_rows == 400
    assert pl.scan_datom("P.lb").collect().height == 400  # type: ignore[attr-defined]
    con = ddb.register(duckdb.connect())
    assert con.execute("SELECT count(*) FROM datom('P.lb')").fetchone() == (400,)
    with pytest.raises(dt.StoreError, match="failed to parse JSON at .*manifest.json"):
        reader.tables()  # listing needs the manifest; the error names it
    report = writer.validate()
    assert report.manifest_corrupt and not report.valid
    if store.kind == "local":  # the command line reads it too when the table names its project
        res = datom("read", "P.lb", "--store", store.url, "--head", "2")
        assert res.code == 0 and "400 rows" in res.out and "corrupt manifest" in res.err
        shown = datom("validate", "--repo", str(writer.path))
        assert shown.code == 1 and "manifest is corrupt" in shown.out
    assert writer.validate(repair=True).valid
    assert [t.name for t in dt.connect(store.url, storage_options=store.storage_options).tables()] == ["lb"]


# ----- stale staging folders are swept, live ones are not ---------------------------------------------
_HOLDER = textwrap.dedent(
    """
    import sys, time
    from datom_engines.storage import staging
    path = staging.make_tempdir(sys.argv[1])
    print(path, flush=True)
    time.sleep(600)
    """
)


def _holder(parent: str) -> tuple[subprocess.Popen[str], str]:
    """A process that made a staging directory and keeps working in it (holding its lock)."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, parent], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _age(path: str, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_stale_staging_folders_are_swept_safely(tmp_path: Path, local_store: StoreSpec) -> None:
    proj = new_project(tmp_path, local_store)
    parent = proj.store.staging_dir()
    assert parent is not None
    killed, dead_dir = _holder(parent)
    recent_dead, recent_dir = _holder(parent)
    live, live_dir = _holder(parent)  # a writer in another process, still at work
    for proc in (killed, recent_dead):  # writers killed mid-write leave their folders behind
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    try:
        for path in (dead_dir, live_dir):
            (Path(path) / "data.parquet").write_bytes(b"partial")
            _age(path, staging.STALE_SECONDS + 60)
        # recent_dir was killed a moment ago: too recent to be called abandoned
        young = Path(parent) / "datom-copy-young"
        young.write_bytes(b"x")  # a file of a copy in progress (no lock): kept while young
        ancient = Path(parent) / "datom-old-version-dir"
        ancient.mkdir()
        _age(str(ancient), staging.STALE_UNLOCKED_SECONDS + 60)

        staging._last_sweep.clear()
        proj.write(lb(), "lb")  # every write sweeps the staging folder of its store first
        left = sorted(p.name for p in Path(parent).iterdir())
        assert Path(live_dir).name in left and young.name in left
        assert Path(dead_dir).name not in left and ancient.name not in left
        assert sorted([Path(live_dir).name, Path(recent_dir).name, young.name]) == left
        assert (Path(live_dir) / "data.parquet").read_bytes() == b"partial"  # untouched
    finally:
        live.send_signal(signal.SIGKILL)
        live.wait(30)
    _age(live_dir, staging.STALE_SECONDS + 60)
    assert live_dir in staging.sweep(parent, force=True)  # its process is gone now: abandoned


# ----- pandas frames with duplicate column names -----------------------------------------------------
def test_pandas_duplicate_column_names_raise_a_datom_error(tmp_path: Path, local_store: StoreSpec) -> None:
    proj = new_project(tmp_path, local_store)
    frame = pd.DataFrame([[1, 2.0, "a"]], columns=["USUBJID", "AVAL", "USUBJID"])
    with pytest.raises(dt.UnsupportedDataError, match="duplicate column names: 'USUBJID'") as err:
        proj.write(frame, "adsl")
    assert err.value.hint == "rename the columns so every name is unique"
    with pytest.raises(dt.UnsupportedDataError, match="duplicate column names"):
        dt.data_sha(frame)
    assert proj.store.list_keys() == sorted([keys.COMMIT_LOG_KEY, keys.MANIFEST_KEY])  # what init wrote


# ----- GIT_AUTHOR_* / GIT_COMMITTER_* -----------------------------------------------------------------
def test_git_author_and_committer_variables_are_honoured(
    tmp_path: Path, local_store: StoreSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = new_project(tmp_path, local_store)
    remote = str(tmp_path / "P.git")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ada Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ada@example.org")
    proj.write(lb(), "lb")
    assert git("--git-dir", remote, "log", "-1", "--format=%an <%ae>|%cn <%ce>") == (
        f"Ada Author <ada@example.org>|{TEST_IDENTITY[0]} <{TEST_IDENTITY[1]}>"  # committer: as git, user.*
    )
    assert proj.history("lb")[0].author == "Ada Author <ada@example.org>"
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Cy Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "cy@example.org")
    proj.write(lb(shift=1.0), "lb")
    assert git("--git-dir", remote, "log", "-1", "--format=%an <%ae>|%cn <%ce>") == (
        "Ada Author <ada@example.org>|Cy Committer <cy@example.org>"
    )
    monkeypatch.delenv("GIT_AUTHOR_NAME")
    monkeypatch.delenv("GIT_AUTHOR_EMAIL")
    proj.write(lb(shift=2.0), "lb")
    assert git("--git-dir", remote, "log", "-1", "--format=%an|%cn") == f"{TEST_IDENTITY[0]}|Cy Committer"


# ----- a moved project leaves a notice in its old store -----------------------------------------------
def test_old_store_tells_readers_where_the_project_went(tmp_path: Path, local_store: StoreSpec) -> None:
    proj = new_project(tmp_path, local_store)
    proj.write(lb(), "lb")
    gov = dt.init_governance(tmp_path / "gov")
    dt.register_project(proj, governance=gov)
    old = proj.store
    before = {k: old.get_bytes(k) for k in old.list_keys()}
    new_root = tmp_path / "new-store"
    dt.migrate_project("P", new_root, governance=gov, project=proj, sunset_at="2027-01-01")
    after = {k: old.get_bytes(k) for k in old.list_keys()}
    assert set(after) - set(before) == {keys.MOVED_KEY}  # a new key; no file of the reference format changed
    assert all(after[k] == v for k, v in before.items())
    dt.unregister("P")
    with pytest.warns(dt.ProjectMovedWarning, match=rf"moved from {old.location.store_url} to {new_root}") as w:
        stale = dt.connect(old.location.store_url)
    text = str(w[0].message)
    assert "stale copy" in text and "2027-01-01" in text and str(tmp_path / "gov") in text
    assert stale.read("lb").num_rows == 400  # still readable (objects stay until the sunset)
    dt.unregister("P")
    with warnings.catch_warnings():
        warnings.simplefilter("error", dt.ProjectMovedWarning)
        dt.connect(new_root)  # the new store has no notice


# ----- import_bundle says where it put the governance --------------------------------------------------
def test_import_bundle_returns_and_prints_the_governance_for_later_processes(
    tmp_path: Path, local_store: StoreSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = new_project(tmp_path, local_store)
    proj.write(lb(), "lb")
    archive = tmp_path / "p.tar"
    dt.export_bundle(archive, [proj], include_repos=False)
    capsys.readouterr()
    gov = dt.import_bundle(archive, tmp_path / "airgap")
    err = capsys.readouterr().err
    assert gov.url == str(tmp_path / "airgap" / "governance" / "store")
    assert f"governance store: {gov.url}" in err and f"DATOM_GOVERNANCE={gov.url}" in err
    env = {**os.environ, "DATOM_GOVERNANCE": gov.url, "DATOM_CACHE_DIR": str(tmp_path / "child-cache")}
    code = "import datom_engines as dt; print(dt.read('P.lb').num_rows)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "400"  # a later process, through the environment variable only
    dt.import_bundle(archive, tmp_path / "quiet", activate=False, quiet=True)
    assert capsys.readouterr().err == ""


# ----- register_project returns when it registered ----------------------------------------------------
@pytest.mark.parametrize("with_repo", [False, True])
def test_register_project_returns_registered_at(tmp_path: Path, local_store: StoreSpec, with_repo: bool) -> None:
    proj = new_project(tmp_path, local_store)
    gov_args = {"path": tmp_path / "gov-clone", "remote": str(tmp_path / "gov.git")} if with_repo else {}
    gov = dt.init_governance(tmp_path / "gov", **gov_args)
    start = datetime.now(UTC) - timedelta(seconds=2)
    registered = dt.register_project(proj, governance=gov)
    assert registered.registered_at is not None
    assert start <= registered.registered_at <= datetime.now(UTC) + timedelta(seconds=2)


# ----- zero-row frames: refused, with the hint the README quotes ---------------------------------------
def test_zero_row_frames_are_refused_with_the_documented_hint(tmp_path: Path, local_store: StoreSpec) -> None:
    proj = new_project(tmp_path, local_store)
    with pytest.raises(dt.UnsupportedDataError, match=r"0 row\(s\)") as err:
        proj.write(pl.DataFrame({"a": []}, schema={"a": pl.Int64}), "empty")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "cannot hash a table with 0 row(s)" in readme and err.value.hint and err.value.hint in readme
    assert json.loads(proj.store.get_bytes(keys.MANIFEST_KEY))["tables"] == {}
