"""Air-gapped use: export projects + governance as one tar, import it as local directories, read offline."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import polars as pl
import pytest
from conftest import S3Server
from test_reader import run_reader

import datom_engines as dt


def frame(n: int, shift: float = 0.0) -> pl.DataFrame:
    return pl.DataFrame({"id": list(range(n)), "value": [i + shift for i in range(n)], "extra": ["e"] * n})


def test_export_import_and_read_offline(tmp_path: Path, s3_server: S3Server) -> None:
    opts = s3_server.storage_options()
    a = dt.init(tmp_path / "A", "A", store=f"s3://{s3_server.new_bucket()}/a", remote=str(tmp_path / "A.git"),
                storage_options=opts)  # fmt: skip
    b = dt.init(tmp_path / "B", "B", store=f"s3://{s3_server.new_bucket()}/b", remote=str(tmp_path / "B.git"),
                storage_options=opts)  # fmt: skip
    a_v1 = a.write(frame(40), "lb").version
    a_v2 = a.write(frame(40, shift=1.0), "lb").version
    b.write(frame(10), "dm")
    gov = dt.init_governance(f"s3://{s3_server.new_bucket()}/gov", storage_options=opts, path=tmp_path / "gov",
                             remote=str(tmp_path / "gov.git"))  # fmt: skip
    dt.register_project(a, governance=gov)
    dt.register_project(b, governance=gov)

    info = dt.export_bundle(tmp_path / "org.tar.gz", ["A", "B"], governance=gov)
    assert info.projects == ("A", "B") and info.repos == ("A", "B")
    assert info.objects == len(a.store.list_keys()) + len(b.store.list_keys()) + 6
    with tarfile.open(info.path) as tar:
        names = set(tar.getnames())
    assert {"bundle.json", "stores/A/datom/.metadata/manifest.json", "repos/A/.datom/project.yaml",
            "governance/store/datom/projects/B/ref.json", "governance/repo/README.md"} <= names  # fmt: skip
    assert not any(n.startswith("repos/A/input_files/") for n in names)

    target = tmp_path / "airgap"
    local_gov = dt.import_bundle(info.path, target)
    ref = json.loads((target / "governance/store/datom/projects/A/ref.json").read_text())
    assert ref == {"current": {"type": "local", "root": str(target / "stores/A")}, "previous": []}
    listed = {p.name: p for p in dt.list_projects(local_gov)}  # from the imported governance repo copy
    assert listed["B"].data_root == str(target / "stores/B") and listed["B"].data_backend == "local"
    log = subprocess.run(["git", "-C", str(target / "governance/repo"), "log", "--format=%s"], capture_output=True,
                         text=True, check=True).stdout.splitlines()  # fmt: skip
    assert log[:2] == ["Update ref for B", "Update ref for A"]
    data_log = subprocess.run(["git", "-C", str(target / "repos/A"), "log", "--format=%s"], capture_output=True,
                              text=True, check=True).stdout.splitlines()  # fmt: skip
    assert data_log[0] == "Update lb"

    # in this process (import activated the governance): the same names read from the local copy
    for name in dt.registered():
        dt.unregister(name)
    assert pl.from_arrow(dt.read("A.lb", version=a_v1)).equals(frame(40))  # type: ignore[union-attr]
    assert dt.resolve("B.dm").url.startswith(str(target / "stores/B/datom/dm/"))

    # a separate reader process with no network at all: the same code path, all local
    out = run_reader(
        {"governance": str(target / "governance/store"), "project": "A", "table": "lb", "min_id": 30}, tmp_path
    )
    assert out["history"] == [a_v2, a_v1] and out["scan_rows"] == 10
    assert out["events"]["connect"] == [] and out["events"]["spawn"] == []


def test_damaged_or_misplaced_bundles_are_refused(tmp_path: Path, bare_remote: str) -> None:
    proj = dt.init(tmp_path / "P", "P", store=tmp_path / "store", remote=bare_remote)
    result = proj.write(frame(300), "lb")
    archive = tmp_path / "p.tar"
    dt.export_bundle(archive, [proj], include_repos=False)
    with tarfile.open(archive) as tar:
        member = tar.getmember(f"stores/P/datom/lb/{result.data_sha}.parquet")
    raw = bytearray(archive.read_bytes())
    raw[member.offset_data + member.size // 2] ^= 0xFF
    damaged = tmp_path / "damaged.tar"
    damaged.write_bytes(bytes(raw))
    with pytest.raises(dt.IntegrityError, match=r"lb/.*\.parquet in the bundle .* has SHA-256"):
        dt.import_bundle(damaged, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "x").write_text("x")
    with pytest.raises(dt.InvalidArgumentError, match="not empty"):
        dt.import_bundle(archive, occupied)
    (tmp_path / "junk.tar").write_bytes(b"not a tar")
    with pytest.raises(dt.InvalidArgumentError, match="cannot read the bundle"):
        dt.import_bundle(tmp_path / "junk.tar", tmp_path / "out2")
    with pytest.raises(dt.InvalidArgumentError, match="at least one project"):
        dt.export_bundle(tmp_path / "none.tar", [])
    # without a governance the import still makes one, so "P.lb" resolves offline
    gov = dt.import_bundle(archive, tmp_path / "ok", activate=False)
    assert [p.name for p in dt.list_projects(gov)] == ["P"]
    for name in dt.registered():
        dt.unregister(name)
    dt.use_governance(gov)
    assert pl.from_arrow(dt.read("P.lb")).equals(frame(300))  # type: ignore[union-attr]


def test_export_by_name_through_the_given_governance(tmp_path: Path, bare_remote: str) -> None:
    proj = dt.init(tmp_path / "P", "P", store=tmp_path / "store", remote=bare_remote)
    proj.write(frame(20), "lb")
    gov = dt.init_governance(tmp_path / "gov-store")
    dt.register_project(proj, governance=gov)
    dt.unregister("P")  # a fresh process: the name is known only to the governance passed in
    info = dt.export_bundle(tmp_path / "p.tar", ["P"], governance=gov, include_repos=False)
    assert info.projects == ("P",)
