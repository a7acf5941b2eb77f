"""Governance: resolving "proj.table" through ref.json, registering, listing and migrating projects.

Everything runs against real parts: S3 buckets on the session's moto server, git bare remotes, local
directories.
"""

from __future__ import annotations

import json
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from conftest import S3Server, StoreSpec

import datom_engines as dt
from datom_engines.core import jsonfmt, keys
from datom_engines.core.metadata import parse_project_yaml


def frame(n: int = 40, shift: float = 0.0) -> pl.DataFrame:
    return pl.DataFrame({"id": list(range(n)), "value": [i * 0.5 + shift for i in range(n)]})


def git_log(repo: Path | str) -> list[str]:
    out = subprocess.run(
        ["git", "--git-dir", str(repo), "log", "--topo-order", "--format=%s", "--all"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.splitlines()


def read_frame(ref: str, **kw: object) -> pl.DataFrame:
    return pl.from_arrow(dt.read(ref, **kw))  # type: ignore[return-value, arg-type]


def forget_all() -> None:
    for name in dt.registered():
        dt.unregister(name)


@pytest.fixture
def org(tmp_path: Path, s3_server: S3Server) -> dict[str, object]:
    """Two projects A and B (S3 buckets), a governance store (S3) and a governance repo (bare remote)."""
    opts = s3_server.storage_options()
    a = dt.init(tmp_path / "A", "A", store=f"s3://{s3_server.new_bucket()}/A", remote=str(tmp_path / "A.git"),
                storage_options=opts)  # fmt: skip
    b = dt.init(tmp_path / "B", "B", store=f"s3://{s3_server.new_bucket()}/B", remote=str(tmp_path / "B.git"),
                storage_options=opts)  # fmt: skip
    a.write(frame(), "t")
    b.write(frame(shift=100.0), "t")
    gov_url = f"s3://{s3_server.new_bucket()}/org"
    gov = dt.init_governance(gov_url, storage_options=opts, path=tmp_path / "gov", remote=str(tmp_path / "gov.git"))
    return {"a": a, "b": b, "gov": gov, "gov_url": gov_url, "opts": opts}


def test_register_list_resolve_migrate(tmp_path: Path, org: dict, s3_server: S3Server) -> None:  # type: ignore[type-arg]
    a, b, gov, opts = org["a"], org["b"], org["gov"], org["opts"]
    reg_a = dt.register_project(a, governance=gov)
    dt.register_project(b, governance=gov)
    assert (reg_a.name, reg_a.data_backend, reg_a.data_root, reg_a.data_prefix) == ("A", "s3", a.location.root, "A")
    assert [p.name for p in dt.list_projects(gov)] == ["A", "B"]
    assert git_log(tmp_path / "gov.git") == [
        "Register project B",
        "Register project A",
        "Initialize governance repository",
    ]
    # the store mirror has the three files per project, as section 1.4 lays them out
    gov_keys = set(gov.store.list_keys())
    for p in ("A", "B"):
        assert {
            f"projects/{p}/ref.json",
            f"projects/{p}/dispatch.json",
            f"projects/{p}/migration_history.json",
        } <= gov_keys
    ref = gov.store.read_json("projects/A/ref.json")
    assert ref == {"current": {"type": "s3", "root": a.location.root, "prefix": "A", "region": "us-east-1"},
                   "previous": []}  # fmt: skip
    assert gov.store.read_json("projects/A/dispatch.json")["methods"]["python"] == {"default": "datom.read"}
    assert gov.store.read_json("projects/A/migration_history.json") == []
    # the git copy ends with a newline, the S3 mirror does not (section 1.1.9)
    assert (tmp_path / "gov/projects/A/ref.json").read_bytes().rstrip(b"\n") == gov.store.get_bytes(
        "projects/A/ref.json"
    )
    # registering again at the same place changes nothing; at another place is refused
    dt.register_project(a, governance=gov)
    assert len(git_log(tmp_path / "gov.git")) == 3
    other = dt.connect(b.location)
    other.name = "A"
    with pytest.raises(dt.InvalidArgumentError, match="(?s)already registered.*migrate_project"):
        dt.register_project(other, governance=gov)

    # a reader in a fresh state resolves both names through the governance store
    forget_all()
    dt.use_governance(org["gov_url"], storage_options=opts)
    with warnings.catch_warnings():
        warnings.simplefilter("error", dt.ProjectMovedWarning)
        assert read_frame("A.t").equals(frame())
        assert read_frame("B.t").equals(frame(shift=100.0))
    assert dt.project("A").role == "reader"
    assert dt.resolve("B.t").url.startswith(f"s3://{b.location.root}/B/datom/t/")

    # migrate A to another bucket; the developer clone's project.yaml follows in a commit
    forget_all()
    a_dev = dt.open_project(tmp_path / "A", storage_options=opts)
    new_bucket = s3_server.new_bucket()
    result = dt.migrate_project("A", f"s3://{new_bucket}/moved", project=a_dev, governance=gov, reason="EU residency",
                                sunset_at="2026-12-31T00:00:00Z")  # fmt: skip
    old_keys = set(a.store.list_keys()) - {keys.MOVED_KEY}  # the old store also got the moved notice
    assert a.store.exists(keys.MOVED_KEY)
    assert result.objects == len(old_keys) == result.copied and result.data_commit
    dst = dt.connect(f"s3://{new_bucket}/moved", storage_options=opts)
    assert set(dst.store.list_keys()) == old_keys
    ref = gov.store.read_json("projects/A/ref.json")
    assert ref["current"] == {"type": "s3", "root": new_bucket, "prefix": "moved", "region": "us-east-1"}
    old = ref["previous"][0]
    assert (old["root"], old["prefix"], old["sunset_at"]) == (a.location.root, "A", "2026-12-31T00:00:00Z")
    assert old["migrated_at"].endswith("Z")
    history = gov.store.read_json("projects/A/migration_history.json")
    assert history[0]["reason"] == "EU residency" and history[0]["to"]["root"] == new_bucket
    log = git_log(tmp_path / "gov.git")
    assert log[0].startswith("Record migration for A: s3://") and log[1] == "Update ref for A"
    assert git_log(tmp_path / "A.git")[0] == "Update data store: A"
    yaml = parse_project_yaml((tmp_path / "A/.datom/project.yaml").read_text())
    assert yaml["storage"]["data"] == {"type": "s3", "root": new_bucket, "prefix": "moved", "region": "us-east-1"}
    assert yaml["project_name"] == "A" and yaml["storage"]["max_file_size_gb"] == 1000.0

    # readers follow the move with a warning naming the old location; the old copy is no longer read
    forget_all()
    old_parquet = [k for k in a.store.list_keys() if k.endswith(".parquet")]
    for key in old_parquet:
        a.store.delete(key)
    with pytest.warns(dt.ProjectMovedWarning, match=rf"s3://{a.location.root}/A.*retired after 2026-12-31"):
        resolved = dt.resolve("A.t")
    assert resolved.url.startswith(f"s3://{new_bucket}/moved/datom/t/")
    assert read_frame("A.t").equals(frame())
    # the developer handle writes to the new place now
    a_dev.write(frame(shift=1.0), "t")
    forget_all()
    with pytest.warns(dt.ProjectMovedWarning):
        assert read_frame("A.t").equals(frame(shift=1.0))
    assert len(dt.history("A.t")) == 2

    # an unregistered name: the error names the governance store and the key it tried
    with pytest.raises(
        dt.NotFoundError,
        match=r"unknown project .NOPE.*governance store s3://[^ ]*/org "
        r"\(s3://[^ ]*/org/datom/projects/NOPE/ref\.json\)",
    ):
        dt.read("NOPE.t")


def test_governance_from_environment_and_local_store(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = dt.init(tmp_path / "clone", "LOC", store=local_store.url, remote=bare_remote)
    proj.write(frame(), "t")
    gov_dir = tmp_path / "gov-store"
    with pytest.raises(dt.NotFoundError, match="no governance store at .*gov-store"):
        dt.open_governance(gov_dir)  # a typo must not create a directory and report "no projects"
    assert not gov_dir.exists()
    gov = dt.init_governance(gov_dir)  # a store-only governance (no repo)
    dt.register_project(proj, governance=gov)
    ref = json.loads((gov_dir / "datom/projects/LOC/ref.json").read_text())
    assert ref == {"current": {"type": "local", "root": local_store.url}, "previous": []}
    forget_all()
    with pytest.raises(dt.NotFoundError, match="no governance store .*DATOM_GOVERNANCE"):
        dt.read("LOC.t")
    monkeypatch.setenv("DATOM_GOVERNANCE", str(gov_dir))
    assert read_frame("LOC.t").equals(frame())
    assert [p.name for p in dt.list_projects()] == ["LOC"]
    assert dt.list_projects()[0].registered_at is None  # store listing: no registration time (section 4.11)
    # use_governance wins over the environment
    forget_all()
    dt.use_governance(dt.init_governance(tmp_path / "empty-gov"))
    with pytest.raises(dt.NotFoundError, match="empty-gov"):
        dt.read("LOC.t")


def test_migration_stops_when_verification_fails(tmp_path: Path, make_store: Callable[[str], StoreSpec],
                                                bare_remote: str) -> None:  # fmt: skip
    src = make_store("local")
    proj = dt.init(tmp_path / "clone", "MIG", store=src.url, remote=bare_remote)
    res = proj.write(frame(), "t")
    gov = dt.init_governance(tmp_path / "gov")
    dt.register_project(proj, governance=gov)
    dst_dir = tmp_path / "dst"
    # the destination already has an object under the same key with the same size but other bytes
    key = keys.parquet_key("t", res.data_sha)
    good = proj.store.get_bytes(key)
    bad = bytearray(good)
    bad[100] ^= 0xFF
    dst = dt.StoreLocation.parse(dst_dir)
    from datom_engines.storage.objectstore import ObjectStore

    ObjectStore(dst).put_bytes(key, bytes(bad))
    before = gov.store.get_bytes("projects/MIG/ref.json")
    with pytest.raises(dt.StoreError, match=r"1 object\(s\) differ.*SHA-256 mismatch"):
        dt.migrate_project("MIG", dst_dir, governance=gov, project=proj)
    assert gov.store.get_bytes("projects/MIG/ref.json") == before  # nothing switched over
    assert (
        parse_project_yaml((tmp_path / "clone/.datom/project.yaml").read_text())["storage"]["data"]["root"] == src.url
    )
    # a namespace that holds another project is refused before copying anything
    other = dt.init(tmp_path / "other", "OTHER", store=tmp_path / "occupied", remote=str(tmp_path / "o.git"))
    with pytest.raises(dt.InvalidArgumentError, match="already holds project 'OTHER'"):
        dt.migrate_project("MIG", other.location.root, governance=gov, project=proj)
    with pytest.raises(dt.NotFoundError, match="not registered"):
        dt.migrate_project("NOPE", tmp_path / "x", governance=gov)


def test_malformed_ref_json_is_reported(tmp_path: Path) -> None:
    gov = dt.init_governance(tmp_path / "gov")
    gov.store.put_bytes("projects/BAD/ref.json", b'{"previous": []}')
    dt.use_governance(gov)
    with pytest.raises(dt.StoreError, match=r"projects/BAD/ref\.json is malformed.*current"):
        dt.read("BAD.t")
    gov.store.put_bytes(
        "projects/GONE/ref.json",
        jsonfmt.pretty({"current": {"type": "local", "root": str(tmp_path / "none")}}).encode(),
    )
    with pytest.raises(dt.StoreUnreachableError, match="does not exist"):
        dt.read("GONE.t")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        listed = dt.list_projects()
    assert [p.name for p in listed] == ["GONE"]
    assert any("BAD" in str(w.message) for w in caught)


def test_replace_data_storage_keeps_everything_else() -> None:
    from datom_engines.core.metadata import project_yaml_text, replace_data_storage

    text = project_yaml_text(project_name="P", created_date="2026-01-15", datom_version="0.1.1",
                             storage={"type": "local", "root": "/data/p", "prefix": None},
                             remote_url="https://git.example.org/p.git")  # fmt: skip
    new = replace_data_storage(text, {"type": "s3", "root": "eu-bucket", "prefix": "p/", "region": "eu-west-1"})
    before, after = text.splitlines(), new.splitlines()
    assert [line for line in after if not line.startswith("    ") or "remote_url" in line] == [
        line for line in before if not line.startswith("    ") or "remote_url" in line
    ]
    assert parse_project_yaml(new)["storage"]["data"] == {
        "type": "s3",
        "root": "eu-bucket",
        "prefix": "p/",
        "region": "eu-west-1",
    }
    with pytest.raises(dt.InvalidArgumentError, match="no storage.data block"):
        replace_data_storage("project_name: P\nstorage: {}\n", {"type": "local", "root": "/x"})


def test_concurrent_registrations_from_two_governance_clones(tmp_path: Path) -> None:
    """Two companions register projects at the same time through their own clones: none is lost."""
    import threading

    from datom_engines.gitrepo import clone_repo
    from datom_engines.storage.objectstore import ObjectStore

    first = dt.init_governance(tmp_path / "gov-store", path=tmp_path / "g0", remote=str(tmp_path / "gov.git"))
    second = dt.open_governance(tmp_path / "gov-store", repo=clone_repo(str(tmp_path / "gov.git"), tmp_path / "g1"))
    errors: list[BaseException] = []

    def register(gov: dt.Governance, side: int) -> None:
        try:
            for i in range(4):
                name = f"P{side}{i}"
                handle = dt.Project(name, ObjectStore(dt.StoreLocation.parse(tmp_path / "stores" / name)))
                dt.register_project(handle, governance=gov)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(g, i)) for i, g in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    names = [f"P{side}{i}" for side in range(2) for i in range(4)]
    assert [p.name for p in dt.list_projects(dt.Governance(first.location))] == sorted(names)
    log = git_log(tmp_path / "gov.git")
    assert sorted(m for m in log if m.startswith("Register")) == sorted(f"Register project {n}" for n in names)


def test_engine_adapters_resolve_through_governance_and_follow_a_move(
    tmp_path: Path,
    org: dict,
    s3_server: S3Server,  # type: ignore[type-arg]
) -> None:
    import duckdb

    import datom_engines.duckdb as ddb

    a, b, gov, opts = org["a"], org["b"], org["gov"], org["opts"]
    dt.register_project(a, governance=gov)
    dt.register_project(b, governance=gov)
    forget_all()
    dt.use_governance(org["gov_url"], storage_options=opts)
    con = ddb.register(duckdb.connect())
    with warnings.catch_warnings():
        warnings.simplefilter("error", dt.ProjectMovedWarning)
        assert pl.scan_datom("A.t").collect().equals(frame())  # type: ignore[attr-defined]
        got = pl.from_arrow(con.sql("FROM datom('B.t') ORDER BY id").to_arrow_table())
        assert got.equals(frame(shift=100.0))  # type: ignore[union-attr]

    forget_all()
    a_dev = dt.open_project(tmp_path / "A", storage_options=opts)
    new_bucket = s3_server.new_bucket()
    dt.migrate_project("A", f"s3://{new_bucket}/moved", project=a_dev, governance=gov, sunset_at="2027-01-01")
    for key in [k for k in a.store.list_keys() if k.endswith(".parquet")]:
        a.store.delete(key)  # the old copy is gone: only the new location can serve the data
    forget_all()
    with pytest.warns(dt.ProjectMovedWarning, match=a.location.root):
        lazy = pl.scan_datom("A.t").filter(pl.col("id") < 5)  # type: ignore[attr-defined]
    assert new_bucket in lazy.explain() and "SELECTION" in lazy.explain()
    assert lazy.collect().equals(frame().head(5))
    got = pl.from_arrow(con.sql("FROM datom('A.t') WHERE id < 5 ORDER BY id").to_arrow_table())
    assert got.equals(frame().head(5))  # type: ignore[union-attr]

    with pytest.raises(dt.NotFoundError, match="unknown project 'C'.*governance store"):
        pl.scan_datom("C.t")  # type: ignore[attr-defined]
    with pytest.raises(duckdb.Error, match="unknown project 'C'.*governance store"):
        con.execute("FROM datom('C.t')")


def test_a_writer_opened_before_a_migration_is_stopped(tmp_path: Path, org: dict, s3_server: S3Server) -> None:  # type: ignore[type-arg]
    a, gov, opts = org["a"], org["gov"], org["opts"]
    dt.register_project(a, governance=gov)
    stale = dt.clone(str(tmp_path / "A.git"), tmp_path / "A-other", storage_options=opts)
    new_bucket = s3_server.new_bucket()
    dt.migrate_project("A", f"s3://{new_bucket}/moved", project=a, governance=gov)
    before = set(a.store.list_keys())
    old_store_keys = set(stale.store.list_keys())
    with pytest.raises(dt.ConflictError, match=f"moved to s3://{new_bucket}/moved"):
        stale.write(frame(shift=7.0), "t")
    assert set(stale.store.list_keys()) == old_store_keys  # nothing uploaded to the old place
    assert git_log(tmp_path / "A.git")[0] == "Update data store: A"
    # the migrating handle follows the move, and a reopened handle writes to the new place
    assert a.write(frame(shift=8.0), "t").change == "full"
    reopened = dt.open_project(tmp_path / "A-other", storage_options=opts)
    assert reopened.location.root == new_bucket
    assert reopened.write(frame(shift=9.0), "t").change == "full"
    assert len(set(a.store.list_keys()) - before) >= 2
