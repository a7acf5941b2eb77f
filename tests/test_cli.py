"""The ``datom`` command line, through ``main(argv)`` and as a real subprocess."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from test_importers import CLINICAL, FREAD_VECTORS

import datom_engines as dt
from datom_engines.cli.bars import ProgressBars
from datom_engines.cli.hints import for_shell

HISTORY_FIELDS = {"version", "data_sha", "created_at", "author", "message", "parquet_sha", "original_file_sha", "tags"}
TABLE_FIELDS = {
    "name",
    "current_version",
    "current_data_sha",
    "last_updated",
    "version_count",
    "size_bytes",
    "original_file_sha",
    "original_format",
}


@pytest.fixture
def project(tmp_path: Path, bare_remote: str, datom, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An initialised project; the current directory is its clone."""
    store = tmp_path / "store"
    res = datom("init", str(tmp_path / "study1"), "--project", "STUDY1", "--store", str(store), "--remote", bare_remote)
    assert res.code == 0, res.err
    assert "Created project STUDY1" in res.out
    monkeypatch.chdir(tmp_path / "study1")
    return tmp_path / "study1"


def synced(project: Path, datom, *domains: str) -> None:
    for d in domains or tuple(FREAD_VECTORS):
        shutil.copy(CLINICAL / f"{d}.csv", project / "input_files")
    res = datom("sync")
    assert res.code == 0, res.out + res.err


# ----- init / clone / pull ---------------------------------------------------------------------------


def test_init_errors(tmp_path: Path, bare_remote: str, datom) -> None:
    bad = datom(
        "init", str(tmp_path / "x"), "--project", "1bad", "--store", str(tmp_path / "s"), "--remote", bare_remote
    )
    assert bad.code == 2 and "must start with an ASCII letter" in bad.err
    missing = datom("init", str(tmp_path / "x"), "--store", str(tmp_path / "s"), "--remote", bare_remote)
    assert missing.code == 2 and "--project" in missing.err
    ok = datom(
        "init", str(tmp_path / "a"), "-p", "P1", "--store", str(tmp_path / "s"), "--remote", bare_remote, "--json"
    )
    assert ok.code == 0 and ok.json()["project"] == "P1"  # type: ignore[index]
    again = datom(
        "init", str(tmp_path / "b"), "-p", "P2", "--store", str(tmp_path / "s"), "--remote", str(tmp_path / "r2")
    )
    assert again.code == 1
    assert "already occupied by project 'P1'" in again.err and "hint:" in again.err
    assert "--force" in again.err and "force=True" not in again.err  # a hint in shell terms
    (tmp_path / "afile").write_text("x")
    under_file = datom("init", str(tmp_path / "afile" / "x"), "-p", "P3", "--store", str(tmp_path / "s3"))
    assert under_file.code == 2  # --remote missing
    under_file = datom(
        "init", str(tmp_path / "afile" / "x"), "-p", "P3", "--store", str(tmp_path / "s3"), "--remote", bare_remote
    )
    assert under_file.code == 1 and str(tmp_path / "afile" / "x") in under_file.err
    assert "Not a directory" in under_file.err and "unexpected" not in under_file.err


def test_store_printed_is_the_url_to_pass_back(tmp_path: Path, bare_remote: str, datom) -> None:
    store = tmp_path / "store"
    res = datom("init", str(tmp_path / "a"), "-p", "P1", "--store", str(store), "--remote", bare_remote)
    assert res.code == 0 and f"store:  {store}\n" in res.out and "/datom" not in res.out
    prefixed = datom(
        "init", str(tmp_path / "b"), "-p", "P2", "--store", str(store), "--prefix", "team/p2", "--remote",
        str(tmp_path / "r2.git"), "--json",
    )  # fmt: skip
    assert prefixed.code == 0, prefixed.err
    shown = prefixed.json()["store"]  # type: ignore[index]
    assert shown == str(store / "team" / "p2")
    status = datom("status", "--repo", str(tmp_path / "b"), "--json").json()
    assert status["store"] == shown  # type: ignore[index]
    assert f"store:  {store}\n" in datom("status", "--repo", str(tmp_path / "a")).out
    for printed, project in ((str(store), "P1"), (shown, "P2")):  # what was printed works as --store
        listed = datom("status", "--store", printed, "--json")
        assert listed.code == 0, listed.err
        assert listed.json()["project"] == project  # type: ignore[index]


def test_clone_and_pull(tmp_path: Path, project: Path, bare_remote: str, datom) -> None:
    res = datom("clone", bare_remote, str(tmp_path / "copy"), "--store", str(tmp_path / "store"), "--json")
    assert res.code == 0, res.err
    assert res.json()["project"] == "STUDY1"  # type: ignore[index]
    assert res.json()["store"] == str(tmp_path / "store")  # type: ignore[index]
    assert (tmp_path / "copy" / "input_files").is_dir()  # a usable clone: ready for `datom sync`
    shutil.copy(CLINICAL / "ex.csv", tmp_path / "copy" / "input_files")
    st = datom("status", "--repo", str(tmp_path / "copy"), "--json").json()
    assert st["uncommitted"] == [] and st["input_files"]["n_new"] == 1  # type: ignore[index]  # git-ignored
    (tmp_path / "copy" / "input_files" / "ex.csv").unlink()
    synced(project, datom, "dm")
    pulled = datom("pull", "--repo", str(tmp_path / "copy"))
    assert pulled.code == 0 and "Pulled 1 commit(s)" in pulled.out
    assert datom("pull", "--repo", str(tmp_path / "copy"), "--json").json()["commits_pulled"] == 0  # type: ignore[index]
    bad = datom("clone", str(tmp_path / "no-such-remote"), str(tmp_path / "c2"))
    assert bad.code == 1 and "error:" in bad.err


# ----- sync / write ----------------------------------------------------------------------------------


def test_sync_tables_history_json(project: Path, datom) -> None:
    for d in FREAD_VECTORS:
        shutil.copy(CLINICAL / f"{d}.csv", project / "input_files")
    dry = datom("sync", "--dry-run")
    assert dry.code == 0 and "dry run: 4 to write" in dry.out and "nothing written" in dry.out
    res = datom("sync")
    assert res.code == 0, res.err
    assert "4 written, 0 unchanged, 0 error(s)" in res.out
    tables = datom("tables", "--json").json()
    assert isinstance(tables, list) and len(tables) == 4
    for entry in tables:
        assert set(entry) == TABLE_FIELDS
        assert entry["original_file_sha"] == FREAD_VECTORS[entry["name"]][0]
        assert entry["current_data_sha"] == FREAD_VECTORS[entry["name"]][1]
        assert entry["version_count"] == 1 and entry["original_format"] == "csv"
        assert type(entry["size_bytes"]) is int and entry["size_bytes"] > 0  # 4696, not 4696.0
        assert f'"size_bytes": {entry["size_bytes"]},' in datom("tables", "--json").out
    history = datom("history", "lb", "--json").json()
    assert isinstance(history, list) and len(history) == 1
    assert set(history[0]) == HISTORY_FIELDS
    assert history[0]["message"] == "Sync lb (new)"
    assert len(history[0]["version"]) == 64 and history[0]["created_at"].endswith("Z")
    again = datom("sync", "--json").json()
    assert isinstance(again, dict)
    assert again["counts"] == {"success": 0, "error": 0, "skipped": 4, "planned": 0}
    assert {f["result"] for f in again["files"]} == {"skipped"}
    text = datom("tables")
    assert text.out.splitlines()[0].split()[:3] == ["TABLE", "VERSIONS", "CURRENT"]
    assert datom("history", "lb").out.splitlines()[1].split()[0] == history[0]["version"][:8]


def test_sync_errors(project: Path, datom) -> None:
    shutil.copy(CLINICAL / "dm.csv", project / "input_files")
    (project / "input_files" / "notes.docx").write_bytes(b"x")
    stop = datom("sync", "--stop-on-error")
    assert stop.code == 1 and "cannot be synced" in stop.err and "nothing was written" in stop.err
    assert datom("tables", "--json").json() == []
    cont = datom("sync")
    assert cont.code == 1  # one file failed
    assert "1 written, 0 unchanged, 1 error(s)" in cont.out and "not supported" in cont.out
    (project / "input_files" / "sub").mkdir()
    flat = datom("sync")
    assert flat.code == 1 and "must be flat but holds sub-folders: sub" in flat.err
    missing = datom("sync", str(project / "nope"))
    assert missing.code == 1 and "does not exist" in missing.err
    js = datom("sync", str(project / "nope"), "--json")
    assert js.code == 1 and js.json()["error"]["type"] == "NotFoundError"  # type: ignore[index]


def test_write_command(project: Path, tmp_path: Path, datom) -> None:
    res = datom("write", str(CLINICAL / "ex.csv"))
    assert res.code == 0 and res.out.startswith("STUDY1.ex: new version")
    res = datom("write", str(CLINICAL / "ae.csv"), "STUDY1.events", "-m", "AE extract", "--json")
    assert res.code == 0, res.err
    out = res.json()
    assert isinstance(out, dict) and out["table"] == "events" and out["change"] == "full"
    assert out["data_sha"] == FREAD_VECTORS["ae"][1]
    assert datom("history", "events", "--json").json()[0]["message"] == "AE extract"  # type: ignore[index]
    assert "no change" in datom("write", str(CLINICAL / "ex.csv")).out
    bad_name = datom("write", str(CLINICAL / "ex.csv"), "bad!name")
    assert bad_name.code == 2 and "not allowed" in bad_name.err
    wrong_project = datom("write", str(CLINICAL / "ex.csv"), "OTHER.ex")
    assert wrong_project.code == 2 and "not 'OTHER'" in wrong_project.err
    missing = datom("write", str(tmp_path / "missing.csv"))
    assert missing.code == 2 and "does not exist" in missing.err
    broken = tmp_path / "broken.csv"
    broken.write_text("a,b\n1,2,3\n")
    unreadable = datom("write", str(broken))
    assert unreadable.code == 1 and "could not read broken.csv as csv" in unreadable.err
    odd = tmp_path / "data.dat"
    odd.write_text("a\n1\n")
    unsupported = datom("write", str(odd))
    assert unsupported.code == 1 and "format '.dat' is not supported" in unsupported.err
    assert "convert it to CSV or parquet and write that file" in unsupported.err
    assert "Project.write()" not in unsupported.err
    assert datom("write", str(odd), "--format", "csv").code == 0


# ----- reading ---------------------------------------------------------------------------------------


def test_read_command(project: Path, tmp_path: Path, datom) -> None:
    synced(project, datom, "lb")
    preview = datom("read", "lb", "--head", "3", "--columns", "USUBJID,LBORRES")
    assert preview.code == 0
    assert "720 rows, showing 3" in preview.out and "LBORRES" in preview.out and "LBTEST " not in preview.out
    js = datom("read", "lb", "--head", "2", "--json").json()
    assert isinstance(js, dict) and js["nrow"] == 720 and len(js["rows"]) == 2
    assert js["rows"][0]["USUBJID"] == "STUDY-001-001"
    out = tmp_path / "lb.parquet"
    res = datom("read", "lb", "-o", str(out))
    assert res.code == 0 and "(720 rows)" in res.out
    data_sha = FREAD_VECTORS["lb"][1]
    stored = tmp_path / "store" / "datom" / "lb" / f"{data_sha}.parquet"
    assert hashlib.sha256(out.read_bytes()).hexdigest() == hashlib.sha256(stored.read_bytes()).hexdigest()
    csv = tmp_path / "lb.csv"
    assert datom("read", "lb", "-o", str(csv), "--columns", "LBTESTCD").code == 0
    assert pl.read_csv(csv).columns == ["LBTESTCD"] and pl.read_csv(csv).height == 720
    version = datom("history", "lb", "--json").json()[0]["version"]  # type: ignore[index]
    assert datom("read", "lb", "--version", version[:6], "--head", "1").code == 0
    bad_version = datom("read", "lb", "--version", "zzzz")
    assert bad_version.code == 1 and 'version "zzzz" not found' in bad_version.err and "hint:" in bad_version.err
    assert "`datom history TABLE`" in bad_version.err and "history()" not in bad_version.err
    unknown = datom("read", "nope")
    assert unknown.code == 1 and "table 'nope' not found" in unknown.err and "lb" in unknown.err
    bad_ext = datom("read", "lb", "-o", str(tmp_path / "lb.txt"))
    assert bad_ext.code == 2 and "cannot tell the output format" in bad_ext.err
    bad_col = datom("read", "lb", "--columns", "NOPE")
    assert bad_col.code == 2 and "no column(s) NOPE" in bad_col.err
    both = datom("read", "lb", "--version", "ab", "--as-of", "2026-01-01")
    assert both.code == 2


def test_read_output_file_errors(project: Path, tmp_path: Path, datom) -> None:
    synced(project, datom, "lb")
    missing_dir = tmp_path / "nonexistent" / "x.parquet"
    res = datom("read", "lb", "-o", str(missing_dir))
    assert res.code == 1 and str(missing_dir) in res.err and "does not exist" in res.err
    assert "unexpected error" not in res.err and "Errno" not in res.err
    assert "hint: create the directory first" in res.err
    js = datom("read", "lb", "-o", str(missing_dir), "--json")
    assert js.code == 1 and js.json()["error"]["type"] == "OutputError"  # type: ignore[index]
    full = datom("read", "lb", "-o", "/dev/full", "--format", "csv")  # disk full
    assert full.code == 1 and "/dev/full" in full.err and "No space left on device" in full.err
    assert "unexpected error" not in full.err and "free some disk space" in full.err
    out = tmp_path / "lb.csv"
    out.write_text("precious\n")
    refused = datom("read", "lb", "-o", str(out))
    assert refused.code == 1 and "already exists" in refused.err and "--force" in refused.err
    assert out.read_text() == "precious\n"
    assert datom("read", "lb", "-o", str(out), "--force").code == 0
    assert pl.read_csv(out).height == 720
    out.write_text("precious\n")
    assert datom("read", "lb", "-o", str(out), "--overwrite", "--columns", "USUBJID").code == 0
    assert pl.read_csv(out).columns == ["USUBJID"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left


def test_write_commands_need_a_clone(project: Path, tmp_path: Path, datom, monkeypatch: pytest.MonkeyPatch) -> None:
    synced(project, datom, "dm")
    monkeypatch.chdir(tmp_path)
    store = str(tmp_path / "store")
    for args in (("write", str(CLINICAL / "ex.csv"), "ex"), ("sync",), ("validate",), ("pull",)):
        res = datom(*args, "--store", store)
        assert res.code == 2, args
        assert "--store alone gives read-only access" in res.err and "datom clone REMOTE DIR" in res.err, args
        assert "(this command writes)" not in res.err
    js = datom("sync", "--store", store, "--json")
    assert js.code == 2 and js.out.startswith("{")
    error = js.json()["error"]  # type: ignore[index]
    assert error["type"] == "NoCloneError" and "read-only" in error["message"] and "datom clone" in error["hint"]
    assert datom("tables", "--store", store).code == 0  # reading from the store alone works
    usage = datom("tables", "--json")
    assert usage.code == 2 and usage.json()["error"]["type"] == "NoProjectError"  # type: ignore[index]
    missing_arg = datom("history", "--json")
    assert missing_arg.code == 2 and missing_arg.json()["error"]["type"] == "UsageError"  # type: ignore[index]
    assert "datom history --help" in missing_arg.json()["error"]["hint"]  # type: ignore[index]
    monkeypatch.chdir(project)
    in_clone = datom("history", "OTHER.dm")
    assert in_clone.code == 2 and "holds project 'STUDY1', not 'OTHER'" in in_clone.err
    in_clone_json = datom("history", "OTHER.dm", "--json")
    assert in_clone_json.code == 2
    assert in_clone_json.json()["error"]["type"] == "ProjectMismatchError"  # type: ignore[index]


def test_library_warnings_are_short_lines(project: Path, tmp_path: Path, datom) -> None:
    synced(project, datom, "dm")
    other = tmp_path / "other-store"
    other.mkdir()
    text = datom("validate", "--store", str(other))  # project.yaml records another store: the library warns
    assert text.code == 1
    lines = [line for line in text.err.splitlines() if "project.yaml records the store" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: project.yaml records the store")
    assert "UserWarning" not in text.err and ".py:" not in text.err
    js = datom("validate", "--store", str(other), "--json")
    assert js.code == 1 and "warning" not in js.err
    report = js.json()
    assert isinstance(report, dict) and report["valid"] is False
    assert report["warnings"][0].startswith("project.yaml records the store")
    assert "warnings" not in datom("validate", "--json").json()  # type: ignore[operator]  # only when there are some


def test_status_fetches_the_remote(tmp_path: Path, project: Path, bare_remote: str, datom) -> None:
    copy = tmp_path / "copy"
    assert datom("clone", bare_remote, str(copy)).code == 0
    synced(project, datom, "dm")  # the remote moves on; the copy has not fetched
    st = datom("status", "--repo", str(copy), "--json").json()
    assert isinstance(st, dict) and (st["ahead"], st["behind"]) == (0, 1) and st["remote_error"] is None
    assert "0 commit(s) to push, 1 to pull" in datom("status", "--repo", str(copy)).out
    assert "up to date with the remote" in datom("status").out
    moved = tmp_path / "remote-moved.git"
    shutil.move(bare_remote, moved)  # the remote is gone: status still answers, and says why
    try:
        offline = datom("status", "--repo", str(copy))
        assert offline.code == 0, offline.err
        assert "remote unreachable: " in offline.out and "1 to pull" in offline.out  # as of the last fetch
        js = datom("status", "--repo", str(copy), "--json").json()
        assert isinstance(js, dict) and js["remote_error"] and js["tables"] == 1
    finally:
        shutil.move(moved, bare_remote)


def test_reader_by_store_and_reference(project: Path, tmp_path: Path, datom, monkeypatch: pytest.MonkeyPatch) -> None:
    synced(project, datom, "dm")
    monkeypatch.chdir(tmp_path)
    store = str(tmp_path / "store")
    assert datom("tables").code == 2  # not in a clone, no --store
    res = datom("read", "STUDY1.dm", "--store", store, "--head", "1", "--json")
    assert res.code == 0 and res.json()["table"] == "dm"  # type: ignore[index]
    monkeypatch.setenv("DATOM_STORE", store)
    assert [t["name"] for t in datom("tables", "--json").json()] == ["dm"]  # type: ignore[union-attr]
    wrong = datom("history", "OTHER.dm")  # the same mistake as inside a clone: a usage error
    assert wrong.code == 2 and "holds project 'STUDY1', not 'OTHER'" in wrong.err
    wrong_json = datom("history", "OTHER.dm", "--json")
    assert wrong_json.code == 2 and wrong_json.json()["error"]["type"] == "ProjectMismatchError"  # type: ignore[index]
    monkeypatch.delenv("DATOM_STORE")
    by_repo = datom("history", "STUDY1.dm", "--repo", str(project), "--json")
    assert by_repo.code == 0 and len(by_repo.json()) == 1  # type: ignore[arg-type]
    nostore = datom("tables", "--store", str(tmp_path / "empty-dir"))
    assert nostore.code == 1 and "error:" in nostore.err


def test_history_and_diff(project: Path, datom) -> None:
    synced(project, datom, "dm")
    src = (CLINICAL / "dm.csv").read_text()
    lines = src.splitlines()
    relabelled = "\n".join([lines[0], *[line.replace('"F"', '"FEMALE"') for line in lines[1:]]]) + "\n"
    (project / "input_files" / "dm.csv").write_text(relabelled)
    assert datom("sync").code == 0
    hist = datom("history", "dm", "--json").json()
    assert isinstance(hist, list) and len(hist) == 2
    assert [h["message"] for h in hist] == ["Sync dm (changed)", "Sync dm (new)"]
    one_column = datom("diff", "dm", hist[1]["version"][:8], "--json").json()
    assert isinstance(one_column, dict) and one_column["nrow_before"] == one_column["nrow_after"] == 48
    assert [c["name"] for c in one_column["columns"] if c["change"] != "unchanged"] == ["SEX"]
    (project / "input_files" / "dm.csv").write_text(relabelled + lines[-1] + "\n")
    assert datom("sync").code == 0
    hist = datom("history", "dm", "--json").json()
    assert isinstance(hist, list) and len(hist) == 3
    assert len(datom("history", "dm", "-n", "1", "--json").json()) == 1  # type: ignore[arg-type]
    assert datom("history", "dm", "-n", "0").code == 2
    unknown = datom("history", "nope")
    assert unknown.code == 1 and "not found" in unknown.err
    diff = datom("diff", "dm", hist[2]["version"][:8])
    assert diff.code == 0, diff.err
    assert "rows: 48 -> 49" in diff.out
    assert "SEX" in diff.out and "changed" in diff.out and "USUBJID" in diff.out
    js = datom("diff", "dm", hist[1]["version"], hist[0]["version"], "--json").json()
    assert isinstance(js, dict)
    assert (js["nrow_before"], js["nrow_after"]) == (48, 49)
    assert {c["change"] for c in js["columns"]} == {"changed"}  # one more row changes every column digest
    bad = datom("diff", "dm", "ffffffff")
    assert bad.code == 1 and "not found" in bad.err


def test_reader_commands_on_s3(tmp_path: Path, make_store, bare_remote: str, datom) -> None:
    spec = make_store("s3")
    proj = dt.init(
        tmp_path / "clone", "STUDY1", store=spec.url, remote=bare_remote, storage_options=spec.storage_options
    )
    assert proj.path is not None
    shutil.copy(CLINICAL / "dm.csv", proj.path / "input_files")
    assert proj.sync().ok
    options = [arg for k, v in spec.storage_options.items() for arg in ("--storage-option", f"{k}={v}")]
    tables = datom("tables", "--store", spec.url, *options, "--json")
    assert tables.code == 0, tables.err
    assert [t["original_file_sha"] for t in tables.json()] == [FREAD_VECTORS["dm"][0]]  # type: ignore[union-attr]
    out = tmp_path / "dm.parquet"
    res = datom("read", "STUDY1.dm", "--store", spec.url, *options, "-o", str(out))
    assert res.code == 0, res.err
    assert dt.data_sha(pl.read_parquet(out)) == FREAD_VECTORS["dm"][1]
    bad_option = datom("tables", "--store", spec.url, "--storage-option", "novalue")
    assert bad_option.code == 2 and "is not KEY=VALUE" in bad_option.err


# ----- status / validate -----------------------------------------------------------------------------


def test_status_and_validate(project: Path, tmp_path: Path, datom) -> None:
    synced(project, datom, "dm", "ex")
    (project / "input_files" / "notes.docx").write_bytes(b"x")
    shutil.copy(CLINICAL / "lb.csv", project / "input_files")
    st = datom("status", "--json").json()
    assert isinstance(st, dict)
    assert st["project"] == "STUDY1" and st["tables"] == 2 and st["role"] == "developer"
    assert st["input_files"] == {"n_total": 4, "n_new": 1, "n_changed": 0, "n_unchanged": 2, "n_unsupported": 1}
    text = datom("status").out
    assert "input_files: 4 file(s): 1 new, 0 changed, 2 unchanged, 1 not syncable" in text
    ok = datom("validate")
    assert ok.code == 0 and "valid: git and store agree" in ok.out
    (tmp_path / "store" / "datom" / "dm" / ".metadata" / "metadata.json").unlink()
    broken = datom("validate", "--json")
    assert broken.code == 1
    report = broken.json()
    assert isinstance(report, dict) and not report["valid"]
    assert {t["table"]: t["ok"] for t in report["tables"]} == {"dm": False, "ex": True}
    fixed = datom("validate", "--fix")
    assert fixed.code == 0 and "repaired: dm" in fixed.out
    assert datom("validate").code == 0


def test_a_corrupt_object_without_a_copy_is_reported_with_what_to_do(project: Path, tmp_path: Path, datom) -> None:
    synced(project, datom, "dm", "ex")
    obj = next((tmp_path / "store" / "datom" / "dm").glob("*.parquet"))
    good = obj.read_bytes()
    obj.write_bytes(good[:100] + bytes([good[100] ^ 0xFF]) + good[101:])
    dt.clear_cache()

    read = datom("read", "dm", "-o", str(tmp_path / "dm.parquet"))
    assert read.code == 1 and "failed its integrity check" in read.err
    assert "`datom validate --deep --fix`" in read.err and "validate(" not in read.err
    assert not (tmp_path / "dm.parquet").exists()

    mirror = tmp_path / "store" / "datom" / "dm" / ".metadata"
    before = {p.name: p.stat().st_mtime_ns for p in mirror.iterdir()}
    fixed = datom("validate", "--deep", "--fix")
    assert fixed.code == 1
    assert "repaired:" not in fixed.out  # nothing was repaired: the mirror was fine and no copy was found
    assert "cannot repair: dm@" in fixed.out and "no verified copy was found" in fixed.out
    assert "hint: a writer holding the data can write it again" in fixed.out
    assert "--source STORE (a store holding a copy) to --fix" in fixed.out and "sources=" not in fixed.out
    assert {p.name: p.stat().st_mtime_ns for p in mirror.iterdir()} == before  # the mirror was not rewritten

    again = datom("write", str(CLINICAL / "dm.csv"), "dm")  # what the hint says: the same data re-uploads it
    assert again.code == 0, again.err
    assert obj.read_bytes() == good and datom("validate", "--deep").code == 0


def test_usage_errors_name_what_was_typed(
    project: Path, tmp_path: Path, datom, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = datom("compression", "zsdt")
    assert bad.code == 2 and "Invalid value for 'CODEC'" in bad.err and "unknown parquet compression 'zsdt'" in bad.err
    assert "--compression" not in bad.err.split("(use one of")[0]
    assert datom("sync", "--compression", "zsdt").err.count("Invalid value for '--compression'") == 1
    missing = datom("status", "--repo", str(tmp_path / "no-such-dir"))
    assert missing.code == 2 and f"{tmp_path / 'no-such-dir'} does not exist" in missing.err
    monkeypatch.chdir(tmp_path)
    outside = datom("tag", "x1")
    assert outside.code == 2 and "no datom project clone here" in outside.err
    assert outside.err.count("--repo DIR") == 1 and "`datom clone REMOTE DIR`" in outside.err


def test_usage_and_help(datom, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    top = datom("--help")
    assert top.code == 0 and "Typical session" in top.out
    for command in (
        "init",
        "clone",
        "pull",
        "write",
        "sync",
        "tables",
        "history",
        "read",
        "diff",
        "status",
        "validate",
    ):
        res = datom(command, "--help")
        assert res.code == 0 and f"Usage: datom {command}" in res.out
    assert datom("--version").out.strip() == f"datom, version {dt.__version__}"
    assert datom("frobnicate").code == 2
    assert datom("history").code == 2  # missing TABLE
    assert datom("gov").code == 2  # a group without a subcommand: usage
    assert "Usage: datom gov" in datom("gov", "--help").out
    monkeypatch.chdir(tmp_path)
    outside = datom("sync")
    assert outside.code == 2 and "no datom project clone here" in outside.err and "datom clone" in outside.err
    notclone = datom("status", "--repo", str(tmp_path))
    assert notclone.code == 2 and "not a datom project clone" in notclone.err
    noproject = datom("tables")
    assert noproject.code == 2 and "no datom project here" in noproject.err and "--store URL" in noproject.err


def test_store_help_says_what_store_does(datom) -> None:
    for command in ("write", "sync", "pull", "validate"):
        shown = " ".join(datom(command, "--help").out.split())  # undo click's line wrapping
        assert "instead of the one recorded in the clone" in shown, command
        assert "no clone needed" not in shown, command
    for command in ("read", "tables", "history", "status"):
        assert "no clone needed" in " ".join(datom(command, "--help").out.split()), command


def test_gov_subcommands_list_only_their_options(datom) -> None:
    def options(*args: str) -> set[str]:
        res = datom("gov", *args, "--help")
        assert res.code == 0
        return {m.group(1) for line in res.out.splitlines() if (m := re.match(r"\s+(?:-\w, )?(--[\w-]+)", line))}

    assert options("init") == {"--gov", "--path", "--remote", "--storage-option", "--json", "--help"}
    assert options("list") == {"--gov", "--storage-option", "--json", "--help"}
    assert options("register") == {"--gov", "--gov-repo", "--force", "--repo", "--storage-option", "--json", "--help"}
    assert options("migrate") == {
        "--gov", "--gov-repo", "--reason", "--sunset-at", "--repo", "--storage-option", "--json", "--help",
    }  # fmt: skip


# ----- hints in shell terms --------------------------------------------------------------------------

# Hints about arguments of Python functions the command line never calls that way (it passes no frames,
# custom metadata, parents, column lists or Int64 flags): they stay as they are.
PYTHON_ONLY_HINTS = (
    "pass, for every Int64 column",  # cv1 hashing arguments
    "each parent is a dict",  # write(parents=...)
    "use str, bool, int, float, dict or list",  # custom metadata values
    "pass the metadata object",  # metadata helpers
    "wrap it in a list: parents=",
    "e.g. columns=[",  # read_arrow(columns=...)
    "e.g. tables=[",  # tag(tables=...) given a string
    "start a new one with project.transaction()",  # a transaction used after its commit
)
PYTHON_SYNTAX = re.compile(r"[A-Za-z_][\w.]*\(|\b[a-z_]+=|datom_engines\.[a-z]")


def _literal(node: ast.expr) -> str | None:
    """A string constant, f-string (placeholders as ``X``) or concatenation of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "X" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left), _literal(node.right)
        return None if left is None or right is None else left + right
    return None


def library_hints() -> list[tuple[str, str]]:
    """``(where, hint)`` for every literal hint in the library outside the CLI and the engine adapters."""
    root = Path(dt.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(("cli/", "spark/")) or rel in ("duckdb.py", "polars.py", "dask.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            is_hint = isinstance(node, ast.keyword) and node.arg == "hint"
            is_hint = is_hint or (
                isinstance(node, ast.Assign)
                and any(
                    isinstance(t, ast.Name) and (t.id == "default_hint" or t.id.endswith("_HINT")) for t in node.targets
                )
            )
            value = node.value if is_hint else None  # type: ignore[attr-defined]
            text = _literal(value) if value is not None else None
            if text:
                found.append((f"{rel}:{node.lineno}", text))
    return found


def test_every_library_hint_reads_as_shell_advice() -> None:
    hints = library_hints()
    assert len(hints) > 50  # the scan finds the hints
    leftovers = [
        f"{where}: {for_shell(hint)}"
        for where, hint in hints
        if not hint.startswith(PYTHON_ONLY_HINTS) and PYTHON_SYNTAX.search(for_shell(hint) or "")
    ]
    assert leftovers == [], "add a rule to datom_engines/cli/hints.py for:\n" + "\n".join(leftovers)


@pytest.mark.parametrize(
    ("hint", "shown"),
    [
        (
            dt.errors.VersionNotFoundError.default_hint,
            "list the versions with `datom history TABLE` and pass one of them",
        ),
        ("newest versions: 1a2b3c4d; list them all with history()", "list them all with `datom history TABLE`"),
        (dt.errors.ConflictError.default_hint, "run `datom pull` and retry; if the clone has local edits, commit"),
        ("pull() first", "run `datom pull` first"),
        (
            "use another prefix for this project (two projects cannot share a namespace), or force=True",
            "or pass --force",
        ),
        ("open it with open_project(path)", "use it: run datom inside it, or pass --repo PATH"),
        ("a writer holding the data can rewrite it; validate() lists missing objects", "`datom validate` lists"),
        ("a writer can rebuild it with validate(repair=True)", "a writer can rebuild it with `datom validate --fix`"),
        ("check the store URL and prefix; a project is created with datom_engines.init(...)", "with `datom init`"),
        (dt.errors.ReadOnlyError.default_hint, "`datom clone REMOTE DIR`"),
        (dt.errors.IntegrityError.default_hint, "restore the object from a verified copy with `datom validate --deep"),
        (
            "use migrate_project() to move its data, or register(..., force=True) to overwrite",
            "use `datom gov migrate` to move its data, or `datom gov register --force` to overwrite",
        ),
        ('e.g. as_of="2026-01-15T10:30:00Z" or as_of="2026-01-15"', "e.g. --as-of 2026-01-15T10:30:00Z or --as-of"),
        (dt.errors.StoreError.default_hint, "credentials in --storage-option KEY=VALUE (or the AWS_* environment"),
        ("check the path; a new one is made with init_governance() (`datom gov init`)", "made with `datom gov init`"),
        ("tables in STUDY1: history(), pull()", "tables in STUDY1: history(), pull()"),  # names are left alone
    ],
)
def test_hint_translation_table(hint: str, shown: str) -> None:
    assert shown in (for_shell(hint) or "")


def test_error_output_uses_shell_hints(project: Path, datom) -> None:
    synced(project, datom, "dm")
    res = datom("read", "dm", "--version", "ffff", "--json")
    assert res.code == 1
    hint = res.json()["error"]["hint"]  # type: ignore[index]
    assert "`datom history TABLE`" in hint and "history()" not in hint


# ----- progress bars ---------------------------------------------------------------------------------


def test_progress_bars_human_units_and_silence_off_terminal() -> None:
    buf = io.StringIO()
    bars = ProgressBars(enabled=True, file=buf, delay=0, mininterval=0)
    bars("upload", 0, 5 * 2**20)
    bars("upload", 3 * 2**20, 5 * 2**20)
    bars("upload", -1, 5 * 2**20)
    bars.close()
    shown = buf.getvalue()
    assert "uploading" in shown and "3.00M/5.00M" in shown and "B/s" in shown
    quiet = io.StringIO()
    off = ProgressBars(file=quiet, delay=0)  # a StringIO is not a terminal
    assert not off.enabled
    off("hash", 0, 100)
    off("hash", 100, 100)
    off("hash", -1, 100)
    assert quiet.getvalue() == ""


# ----- as a subprocess -------------------------------------------------------------------------------


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATOM_")}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


def test_console_script_end_to_end(tmp_path: Path, bare_remote: str) -> None:
    exe = Path(sys.executable).parent / "datom"
    script = [str(exe)] if exe.exists() else [sys.executable, "-m", "datom_engines"]
    repo = tmp_path / "study"
    init = _run(
        [*script, "init", str(repo), "-p", "STUDY1", "--store", str(tmp_path / "s"), "--remote", bare_remote], tmp_path
    )
    assert init.returncode == 0, init.stderr
    for d in FREAD_VECTORS:
        shutil.copy(CLINICAL / f"{d}.csv", repo / "input_files")
    sync = _run([*script, "sync"], repo)
    assert sync.returncode == 0, sync.stderr
    assert "4 written" in sync.stdout
    assert sync.stderr == ""  # no progress bars when stderr is not a terminal
    tables = json.loads(_run([*script, "tables", "--json"], repo).stdout)
    assert {t["name"]: t["original_file_sha"] for t in tables} == {d: v[0] for d, v in FREAD_VECTORS.items()}
    history = json.loads(_run([*script, "history", "STUDY1.ae", "--json"], repo).stdout)
    assert set(history[0]) == HISTORY_FIELDS
    usage = _run([*script, "read"], repo)
    assert usage.returncode == 2 and "Missing argument 'TABLE'" in usage.stderr
    failure = _run([*script, "read", "nope"], repo)
    assert failure.returncode == 1 and failure.stderr.startswith("error: table 'nope' not found")


def test_python_dash_m(tmp_path: Path) -> None:
    res = _run([sys.executable, "-m", "datom_engines", "--help"], tmp_path)
    assert res.returncode == 0 and "Usage: datom" in res.stdout


# ----- gov ---------------------------------------------------------------------------------------------


def test_gov_register_list_migrate_and_read_by_name(
    tmp_path: Path,
    project: Path,
    datom,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gov = tmp_path / "gov-store"
    res = datom(
        "gov", "init", "--gov", str(gov), "--path", str(tmp_path / "gov"), "--remote", str(tmp_path / "gov.git")
    )
    assert res.code == 0, res.err
    synced(project, datom, "dm")
    res = datom("gov", "register", "--gov", str(gov), "--gov-repo", str(tmp_path / "gov"), "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["name"] == "STUDY1"
    res = datom("gov", "list", "--gov", str(gov), "--json")
    listed = json.loads(res.out)
    assert [p["name"] for p in listed] == ["STUDY1"]
    assert set(listed[0]) == {"name", "data_backend", "data_root", "data_prefix", "data_region", "registered_at"}
    assert Path(listed[0]["data_root"]) == tmp_path / "store"

    # a reader elsewhere, knowing only the governance store, reads by name
    monkeypatch.setenv("DATOM_GOVERNANCE", str(gov))
    monkeypatch.chdir(tmp_path)
    before = datom("read", "STUDY1.dm", "--head", "3", "--json")
    assert before.code == 0, before.err

    new_store = tmp_path / "new-store"
    res = datom("gov", "migrate", "STUDY1", str(new_store), "--repo", str(project), "--reason", "bigger disk", "--json")
    assert res.code == 0, res.err
    moved = json.loads(res.out)
    assert moved["objects"] >= 5 and moved["copied"] == moved["objects"]
    assert str(new_store) in moved["destination"]
    shutil.rmtree(tmp_path / "store")  # the old location is gone: readers must follow ref.json
    dt.unregister("STUDY1")
    after = datom("read", "STUDY1.dm", "--head", "3", "--json")
    assert after.code == 0, after.err
    moved_warning = after.json().pop("warnings")  # type: ignore[union-attr]  # --json: in the output object
    assert len(moved_warning) == 1 and moved_warning[0].startswith("project 'STUDY1' was migrated")
    assert after.err == ""
    assert {k: v for k, v in json.loads(after.out).items() if k != "warnings"} == json.loads(before.out)
    dt.unregister("STUDY1")
    text = datom("read", "STUDY1.dm", "--head", "1")
    assert text.code == 0 and text.err.startswith("warning: project 'STUDY1' was migrated")
    assert "ProjectMovedWarning" not in text.err and ".py:" not in text.err  # no file:line of internal code
    dt.unregister("STUDY1")
    listed = datom("tables", "STUDY1", "--json")  # a list: the warning goes to stderr
    assert listed.code == 0 and [t["name"] for t in listed.json()] == ["dm"]  # type: ignore[union-attr]
    assert listed.err.startswith("warning: project 'STUDY1' was migrated")


def test_gov_usage_errors(tmp_path: Path, datom, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATOM_GOVERNANCE", raising=False)
    assert datom("gov", "list").code == 2  # --gov is required
    (tmp_path / "empty-gov").mkdir()
    res = datom("gov", "list", "--gov", str(tmp_path / "empty-gov"))
    assert res.code == 0 and "no projects" in res.out
    missing = datom("gov", "list", "--gov", str(tmp_path / "no-gov"))
    assert missing.code == 1 and "`datom gov init`" in missing.err and "init_governance" not in missing.err
    monkeypatch.chdir(tmp_path)
    res = datom("gov", "register", "--gov", str(tmp_path / "g"))
    assert res.code == 2 and "no datom project clone here" in res.err
