"""The ``datom`` command line, through ``main(argv)`` and as a real subprocess."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from test_importers import CLINICAL, FREAD_VECTORS

import datom_engines as dt
from datom_engines.cli import main
from datom_engines.cli.bars import ProgressBars

HISTORY_FIELDS = {"version", "data_sha", "created_at", "author", "message", "parquet_sha", "original_file_sha"}
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


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


@pytest.fixture
def datom(capsys: pytest.CaptureFixture[str]):
    """Run ``main(argv)`` and capture its exit code and output."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


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


def test_clone_and_pull(tmp_path: Path, project: Path, bare_remote: str, datom) -> None:
    res = datom("clone", bare_remote, str(tmp_path / "copy"), "--store", str(tmp_path / "store"), "--json")
    assert res.code == 0, res.err
    assert res.json()["project"] == "STUDY1"  # type: ignore[index]
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
    assert datom("write", str(odd)).code == 1
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
    unknown = datom("read", "nope")
    assert unknown.code == 1 and "table 'nope' not found" in unknown.err and "lb" in unknown.err
    bad_ext = datom("read", "lb", "-o", str(tmp_path / "lb.txt"))
    assert bad_ext.code == 2 and "cannot tell the output format" in bad_ext.err
    bad_col = datom("read", "lb", "--columns", "NOPE")
    assert bad_col.code == 2 and "no column(s) NOPE" in bad_col.err
    both = datom("read", "lb", "--version", "ab", "--as-of", "2026-01-01")
    assert both.code == 2


def test_reader_by_store_and_reference(project: Path, tmp_path: Path, datom, monkeypatch: pytest.MonkeyPatch) -> None:
    synced(project, datom, "dm")
    monkeypatch.chdir(tmp_path)
    store = str(tmp_path / "store")
    assert datom("tables").code == 2  # not in a clone, no --store
    res = datom("read", "STUDY1.dm", "--store", store, "--head", "1", "--json")
    assert res.code == 0 and res.json()["table"] == "dm"  # type: ignore[index]
    monkeypatch.setenv("DATOM_STORE", store)
    assert [t["name"] for t in datom("tables", "--json").json()] == ["dm"]  # type: ignore[union-attr]
    wrong = datom("history", "OTHER.dm")
    assert wrong.code == 1 and "holds project 'STUDY1', not 'OTHER'" in wrong.err
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
    assert outside.code == 2 and "no datom project here" in outside.err
    notclone = datom("status", "--repo", str(tmp_path))
    assert notclone.code == 2 and "not a datom project clone" in notclone.err


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
    with pytest.warns(dt.ProjectMovedWarning):
        after = datom("read", "STUDY1.dm", "--head", "3", "--json")
    assert after.code == 0, after.err
    assert json.loads(after.out) == json.loads(before.out)


def test_gov_usage_errors(tmp_path: Path, datom, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATOM_GOVERNANCE", raising=False)
    assert datom("gov", "list").code == 2  # --gov is required
    res = datom("gov", "list", "--gov", str(tmp_path / "empty-gov"))
    assert res.code == 0 and "no projects" in res.out
    monkeypatch.chdir(tmp_path)
    res = datom("gov", "register", "--gov", str(tmp_path / "g"))
    assert res.code == 2 and "no datom project here" in res.err
