"""The reader role: a separate process with store access only (no clone, no git binary) reads, scans with
pushdown and lists a project a writer created; an audit hook proves it never touched git."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
from conftest import S3Server

import datom_engines as dt

CHILD = Path(__file__).with_name("reader_child.py")


def frame(n: int, shift: float = 0.0) -> pl.DataFrame:
    return pl.DataFrame(
        {"id": list(range(n)), "value": [i + shift for i in range(n)], "extra": [f"x{i}" for i in range(n)]}
    )


def run_reader(args: dict, tmp_path: Path) -> dict:  # type: ignore[type-arg]
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir(exist_ok=True)
    env = {
        "PATH": str(empty_bin),  # no git (nor anything else) to spawn
        "HOME": str(tmp_path / "home"),
        "DATOM_CACHE_DIR": str(tmp_path / "reader-cache"),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    assert shutil.which("git", path=env["PATH"]) is None
    proc = subprocess.run(
        [sys.executable, str(CHILD), json.dumps(args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.split("@@RESULT@@", 1)[1])


def test_reader_process_never_touches_git(tmp_path: Path, s3_server: S3Server) -> None:
    opts = s3_server.storage_options()
    writer_dir, remote = tmp_path / "writer", tmp_path / "remote.git"
    proj = dt.init(writer_dir, "STUDY", store=f"s3://{s3_server.new_bucket()}/study", remote=str(remote),
                   storage_options=opts)  # fmt: skip
    v1 = proj.write(frame(100), "lb").version
    v2 = proj.write(frame(60, shift=0.5), "lb").version
    proj.write(frame(5), "dm")
    gov = dt.open_governance(f"s3://{s3_server.new_bucket()}/gov", storage_options=opts)
    dt.register_project(proj, governance=gov)
    proj.repo.close()  # type: ignore[union-attr]
    shutil.rmtree(writer_dir)  # the reader machine has no clone and no remote
    shutil.rmtree(remote)

    out = run_reader(
        {
            "governance": gov.location.store_url,
            "storage_options": opts,
            "project": "STUDY",
            "table": "lb",
            "min_id": 50,
        },
        tmp_path,
    )
    assert (out["project"], out["role"]) == ("STUDY", "reader")
    assert out["tables"] == ["lb", "dm"]
    assert out["history"] == [v2, v1]
    assert out["rows"] == {v2: 60, v1: 100}
    # Polars reads the resolved URL with predicate and projection pushdown
    plan = out["plan"]
    assert 'SELECTION: col("id") >= 50' in plan and "PROJECT 2/3 COLUMNS" in plan, plan
    assert out["scan_rows"] == 10
    assert "without git" in out["write_error"] and "clone" in out["write_error"]
    # the audit hook saw no process spawned, no git file opened, and network only to the S3 endpoint
    events = out["events"]
    assert events["spawn"] == []
    gitty = [p for p in events["open"] if ".git" in Path(p).parts or p.endswith(".git") or "/.git/" in p]
    assert gitty == []
    assert not [p for p in events["open"] if p.startswith(str(writer_dir)) or p.startswith(str(remote))]
    port = int(s3_server.endpoint.rsplit(":", 1)[1])
    assert events["connect"] and all(c[1] == port for c in events["connect"]), events["connect"]


def test_reader_of_a_local_store_without_governance(tmp_path: Path, bare_remote: str) -> None:
    proj = dt.init(tmp_path / "w", "LOCAL", store=tmp_path / "store", remote=bare_remote)
    version = proj.write(frame(30), "lb").version
    proj.repo.close()  # type: ignore[union-attr]
    shutil.rmtree(tmp_path / "w")
    out = run_reader({"store": str(tmp_path / "store"), "table": "lb", "min_id": 25}, tmp_path)
    assert out["history"] == [version] and out["rows"] == {version: 30} and out["scan_rows"] == 5
    assert out["events"]["spawn"] == [] and out["events"]["connect"] == []
    assert not [p for p in out["events"]["open"] if "/.git" in p or p.startswith(bare_remote)]
