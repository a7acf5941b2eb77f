"""Core project operations (issue: write / read / history) against every store kind.

The same tests run on a local directory, fsspec memory and a real S3 endpoint (moto on 127.0.0.1).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from conftest import TEST_IDENTITY, StoreSpec

import datom_engines as dt
from datom_engines.core import jsonfmt


def lb_frame(n: int = 50, shift: float = 0.0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "USUBJID": [f"S-{i:03d}" for i in range(n)],
            "LBTESTCD": ["ALT" if i % 2 else "AST" for i in range(n)],
            "LBSTRESN": [float(i) + shift for i in range(n)],
            "VISITNUM": list(range(n)),
        }
    )


def new_project(tmp_path: Path, store: StoreSpec, remote: str, name: str = "STUDY1") -> dt.Project:
    return dt.init(
        tmp_path / f"{name}-clone",
        name,
        store=store.url,
        remote=remote,
        storage_options=store.storage_options,
    )


def store_keys(proj: dt.Project) -> set[str]:
    return set(proj.store.list_keys())


# keys of this implementation the reference does not define (project snapshots: the commit log)
LOG_KEY = ".metadata/commits.json"


def git_files(path: Path) -> set[str]:
    out = subprocess.run(["git", "-C", str(path), "ls-files"], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def remote_log(remote: str) -> list[str]:
    out = subprocess.run(
        ["git", "--git-dir", remote, "log", "--format=%s", "--all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.splitlines()


# ----- layout ----------------------------------------------------------------------------------------
def test_write_produces_exact_layout(tmp_path: Path, store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, store, bare_remote)
    assert store_keys(proj) == {".metadata/manifest.json", LOG_KEY}
    assert proj.store.read_json(LOG_KEY) == {"format": 1, "entries": [], "base": {"tables": {}}}
    assert git_files(proj.path) == {".datom/project.yaml", ".datom/manifest.json", ".gitignore", "README.md"}
    assert (proj.path / "input_files").is_dir()
    assert remote_log(bare_remote) == ["Initialize datom repository"]

    result = proj.write(lb_frame(), "lb")
    assert result.change == "full" and result.uploaded
    assert git_files(proj.path) == {
        ".datom/project.yaml",
        ".datom/manifest.json",
        ".gitignore",
        "README.md",
        "lb/metadata.json",
        "lb/version_history.json",
    }
    assert store_keys(proj) == {
        ".metadata/manifest.json",
        f"lb/{result.data_sha}.parquet",
        "lb/.metadata/metadata.json",
        "lb/.metadata/version_history.json",
        f"lb/.metadata/{result.version}.json",
        LOG_KEY,
    }
    log = proj.store.read_json(LOG_KEY)["entries"]
    assert [(e["commit"], e["tables"]) for e in log] == [
        (result.commit, {"lb": {"version": result.version, "data_sha": result.data_sha}})
    ]
    assert remote_log(bare_remote)[0] == "Update lb"

    meta = json.loads((proj.path / "lb/metadata.json").read_text())
    history = json.loads((proj.path / "lb/version_history.json").read_text())
    assert list(meta) == [
        "data_sha",
        "hash_algo",
        "parquet_sha",
        "table_type",
        "nrow",
        "ncol",
        "colnames",
        "column_hashes",
        "created_at",
        "datom_version",
        "size_bytes",
    ]
    assert dt.metadata_sha(meta) == history[0]["version"] == result.version
    assert meta["data_sha"] == dt.data_sha(lb_frame())
    assert meta["colnames"] == ["USUBJID", "LBTESTCD", "LBSTRESN", "VISITNUM"]
    assert list(history[0]) == ["version", "data_sha", "timestamp", "author", "commit_message", "parquet_sha"]
    assert history[0]["author"] == {"name": TEST_IDENTITY[0], "email": TEST_IDENTITY[1]}
    stored = proj.store.get_bytes(f"lb/{result.data_sha}.parquet")
    assert hashlib.sha256(stored).hexdigest() == meta["parquet_sha"]
    # the store mirror equals git (with R's newline convention per backend)
    mirror = proj.store.get_bytes("lb/.metadata/metadata.json")
    git_bytes = (proj.path / "lb/metadata.json").read_bytes()
    assert mirror == (git_bytes if store.kind == "local" else git_bytes.rstrip(b"\n"))
    assert jsonfmt.parse(proj.store.get_bytes(f"lb/.metadata/{result.version}.json")) == meta
    manifest = json.loads((proj.path / ".datom/manifest.json").read_text())
    assert manifest["tables"]["lb"] == {
        "current_version": result.version,
        "current_data_sha": result.data_sha,
        "last_updated": manifest["tables"]["lb"]["last_updated"],
        "size_bytes": meta["size_bytes"],
        "version_count": 1,
    }
    assert manifest["summary"] == {
        "total_tables": 1,
        "total_size_bytes": meta["size_bytes"],
        "total_versions": 1,
    }


def test_single_column_colnames_is_a_bare_string(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    proj.write(pl.DataFrame({"x": [1, 2, 3]}), "one")
    text = (proj.path / "one/metadata.json").read_text()
    assert '"colnames": "x"' in text
    assert "null" not in text


# ----- change classes ---------------------------------------------------------------------------------
def test_version_lifecycle(tmp_path: Path, store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, store, bare_remote)
    v1 = proj.write(lb_frame(), "lb")
    v2 = proj.write(lb_frame(shift=0.5), "lb", message="shift values")
    assert v2.change == "full" and v2.data_sha != v1.data_sha
    parquet = {k for k in store_keys(proj) if k.endswith(".parquet")}
    assert parquet == {f"lb/{v1.data_sha}.parquet", f"lb/{v2.data_sha}.parquet"}

    same = proj.write(lb_frame(shift=0.5), "lb")
    assert same.change == "none" and same.commit is None and same.version == v2.version
    assert [v.id for v in proj.history("lb")] == [v2.version, v1.version]

    v3 = proj.write(lb_frame(shift=0.5), "lb", custom={"note": "reviewed", "round": 2})
    assert v3.change == "metadata_only" and not v3.uploaded
    assert v3.data_sha == v2.data_sha and v3.version not in (v1.version, v2.version)
    assert {k for k in store_keys(proj) if k.endswith(".parquet")} == parquet
    history = proj.history("lb")
    assert [v.id for v in history] == [v3.version, v2.version, v1.version]
    assert history[0].parquet_sha == history[1].parquet_sha
    assert history[1].message == "shift values"
    info = {t.name: t for t in proj.tables()}["lb"]
    assert (info.current_version, info.version_count) == (v3.version, 3)
    assert proj.metadata("lb")["custom"] == {"note": "reviewed", "round": 2}
    snapshots = {k for k in store_keys(proj) if k.startswith("lb/.metadata/") and k[13:-5] != "metadata"}
    assert {f"lb/.metadata/{v}.json" for v in (v1.version, v2.version, v3.version)} <= snapshots

    # revert to the first content: a full change that reuses the stored object (no upload)
    v4 = proj.write(lb_frame(), "lb")
    assert v4.change == "full" and not v4.uploaded and v4.version == v1.version
    assert len(proj.history("lb")) == 3  # full-history dedup: v1 is not added twice
    assert pl.from_arrow(proj.read("lb")).equals(lb_frame())
    assert pl.from_arrow(proj.read("lb", version=v3.version[:10])).equals(lb_frame(shift=0.5))
    assert proj.validate().valid


def test_read_versions_and_errors(tmp_path: Path, store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, store, bare_remote)
    versions = [proj.write(lb_frame(shift=float(i)), "lb").version for i in range(3)]
    for i, vid in enumerate(versions):
        assert pl.from_arrow(dt.read("STUDY1.lb", version=vid)).equals(lb_frame(shift=float(i)))
        assert pl.from_arrow(proj.read("lb", version=vid[:12])).equals(lb_frame(shift=float(i)))
    with pytest.raises(dt.VersionNotFoundError, match="not found|no version"):
        proj.read("lb", version="ffffffffffff")
    with pytest.raises(dt.NotFoundError, match="'nope' not found.*\n.*lb"):
        proj.read("nope")
    # an ambiguous prefix: the empty-ish prefix shared by all versions cannot exist, so craft one
    common = _common_prefix_pair(versions)
    if common:
        with pytest.raises(dt.AmbiguousVersionError):
            proj.read("lb", version=common)


def _common_prefix_pair(versions: list[str]) -> str | None:
    for a in versions:
        for b in versions:
            if a != b and a[0] == b[0]:
                n = 1
                while a[: n + 1] == b[: n + 1]:
                    n += 1
                return a[:n]
    return None


def test_ambiguous_prefix_is_reported(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    ids = []
    i = 0
    while _common_prefix_pair(ids) is None:  # 17 versions always share a first hex digit
        ids.append(proj.write(lb_frame(n=3, shift=float(i)), "lb").version)
        i += 1
    prefix = _common_prefix_pair(ids)
    assert prefix is not None
    with pytest.raises(dt.AmbiguousVersionError, match="longer prefix|ambiguous"):
        proj.read("lb", version=prefix)


# ----- integrity and bad input -------------------------------------------------------------------------
def test_tampered_parquet_raises_integrity_error(tmp_path: Path, store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, store, bare_remote)
    result = proj.write(lb_frame(), "lb")
    key = f"lb/{result.data_sha}.parquet"
    good = proj.store.get_bytes(key)
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    proj.store.put_bytes(key, bytes(bad))
    with pytest.raises(dt.IntegrityError, match="integrity check.*tampered"):
        proj.read("lb")
    # a different, valid parquet file swapped in is caught too
    other = proj.write(lb_frame(shift=9.0), "other")
    proj.store.put_bytes(key, proj.store.get_bytes(f"other/{other.data_sha}.parquet"))
    with pytest.raises(dt.IntegrityError):
        proj.read("lb", version=result.version)
    proj.store.put_bytes(key, good)
    assert pl.from_arrow(proj.read("lb")).equals(lb_frame())


def test_bad_inputs_write_nothing(tmp_path: Path, store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, store, bare_remote)
    before_keys, before_log = store_keys(proj), remote_log(bare_remote)
    bad_columns = pa.table(
        {
            "ok": [1, 2],
            "blob": pa.array([[1], [2]]),
            "raw": pa.array([b"a", b"b"]),
            "dec": pa.array([1, 2], pa.decimal128(5, 2)),
        }
    )
    with pytest.raises(dt.UnsupportedDataError) as err:
        proj.write(bad_columns, "lb")
    assert all(name in str(err.value) for name in ("blob", "raw", "dec")) and "'ok'" not in str(err.value)
    with pytest.raises(dt.UnsupportedDataError, match="at least one row"):
        proj.write(lb_frame().head(0), "lb")
    with pytest.raises(dt.InvalidNameError):
        proj.write(lb_frame(), "bad.name")
    with pytest.raises(dt.InvalidNameError, match="reserved"):
        proj.write(lb_frame(), "input_files")
    with pytest.raises(dt.InvalidNameError):
        proj.write(lb_frame(), "1lb")
    with pytest.raises(dt.InvalidArgumentError):
        proj.write(lb_frame(), "lb", custom={"x": None})
    with pytest.raises(dt.InvalidArgumentError, match="parents"):
        proj.write(lb_frame(), "lb", parents=[{"source": "STUDY1", "table": "dm"}])
    assert store_keys(proj) == before_keys
    assert remote_log(bare_remote) == before_log
    assert not (proj.path / "lb").exists()
    if store.kind == "local":
        assert list((Path(store.url) / ".datom-staging").glob("*")) == []


def test_reader_role(tmp_path: Path, store: StoreSpec, bare_remote: str) -> None:
    writer = new_project(tmp_path, store, bare_remote)
    result = writer.write(lb_frame(), "lb")
    dt.unregister("STUDY1")
    reader = dt.connect(store.url, storage_options=store.storage_options)
    assert reader.name == "STUDY1" and reader.role == "reader" and reader.repo is None
    assert [t.name for t in reader.tables()] == ["lb"]
    assert reader.history("lb")[0].id == result.version
    assert pl.from_arrow(dt.read("STUDY1.lb")).equals(lb_frame())
    with pytest.raises(dt.ReadOnlyError, match="without git"):
        reader.write(lb_frame(), "lb")


def test_a_reader_of_the_same_store_does_not_displace_the_writer(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str
) -> None:
    """README: ``proj = dt.open_project(...)`` then ``reader = dt.connect(store)``: names stay writable."""
    writer = new_project(tmp_path, local_store, bare_remote)
    writer.write(lb_frame(), "lb")
    reader = dt.connect(local_store.url)
    assert reader.role == "reader"
    assert dt.registered() == ["STUDY1"]
    result = dt.write(lb_frame().head(3), "STUDY1.lb3")  # resolved to the writer, not the read-only reader
    assert result.change == "full" and [t.name for t in reader.tables()] == ["lb", "lb3"]
    with pytest.raises(dt.ReadOnlyError, match="without git"):
        reader.write(lb_frame(), "lb")  # the reader handle itself stays read-only

    other = tmp_path / "other-store"
    other.mkdir()
    shutil.copytree(Path(local_store.url) / "datom", other / "datom")
    elsewhere = dt.connect(other)  # a reader of another store (a copy, a migration target) still takes the name
    with pytest.raises(dt.ReadOnlyError, match="without git"):
        dt.write(lb_frame(), "STUDY1.lb4")
    assert elsewhere.role == "reader"


# ----- clones and pull -----------------------------------------------------------------------------------
def test_clone_pull_and_status(tmp_path: Path, store: StoreSpec, bare_remote: str) -> None:
    a = new_project(tmp_path, store, bare_remote)
    a.write(lb_frame(), "lb")
    b = dt.clone(bare_remote, tmp_path / "b", storage_options=store.storage_options)
    assert b.name == "STUDY1" and b.location.same_place(a.location)
    a.write(lb_frame(shift=1), "dm")
    pulled = b.pull()
    assert pulled.commits_pulled == 1 and (b.path / "dm/metadata.json").exists()
    b.write(lb_frame(shift=2), "ae")
    a.pull()
    status = a.status()
    assert status.tables == 3 and status.behind == 0 and status.ahead == 0 and status.uncommitted == ()
    opened = dt.open_project(b.path, storage_options=store.storage_options)
    assert [t.name for t in opened.tables()] == ["lb", "dm", "ae"]


def test_init_refuses_occupied_namespace(tmp_path: Path, store: StoreSpec, bare_remote: str) -> None:
    new_project(tmp_path, store, bare_remote)
    with pytest.raises(dt.InvalidArgumentError, match="occupied by project 'STUDY1'"):
        dt.init(
            tmp_path / "second",
            "OTHER",
            store=store.url,
            remote=str(tmp_path / "second.git"),
            storage_options=store.storage_options,
        )
    assert not (tmp_path / "second").exists()


def test_unknown_project_error_lists_where_it_looked() -> None:
    with pytest.raises(dt.NotFoundError, match="unknown project 'NOPE'.*looked in"):
        dt.read("NOPE.lb")
    with pytest.raises(dt.InvalidNameError, match="no project part"):
        dt.read("lb")


def test_progress_events_cover_every_byte(tmp_path: Path, make_store, bare_remote: str) -> None:  # type: ignore[no-untyped-def]
    store = make_store("s3")
    proj = new_project(tmp_path, store, bare_remote)
    events: list[tuple[str, int, int | None]] = []
    result = proj.write(lb_frame(n=2000), "lb", progress=lambda *e: events.append(e))
    uploads = [e for e in events if e[0] == "upload"]
    assert uploads[0][1] == 0 and uploads[-1][1] == -1
    size = proj.store.size(f"lb/{result.data_sha}.parquet")
    assert sum(n for _, n, _ in uploads[1:-1]) == size == uploads[0][2]
    assert [e[0] for e in events if e[1] == 0] == ["hash", "upload"]
    events.clear()
    proj.read("lb", progress=lambda *e: events.append(e))
    downloads = [n for s, n, _ in events if s == "download" and n > 0]
    assert sum(downloads) == size


def test_first_push_follows_the_branch_of_a_plain_bare_remote(tmp_path: Path, local_store: StoreSpec) -> None:
    """`git init --bare` without config points HEAD at master: a plain `git clone` must get the project."""
    remote = tmp_path / "plain.git"
    subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=master", str(remote)], check=True)
    proj = dt.init(tmp_path / "p", "PLAIN", store=local_store.url, remote=str(remote))
    proj.write(lb_frame(), "lb")
    out = tmp_path / "git-clone"
    subprocess.run(["git", "clone", "-q", str(remote), str(out)], check=True)
    assert (out / "lb" / "metadata.json").is_file() and (out / ".datom" / "project.yaml").is_file()


def test_user_mistakes_get_clear_errors_and_leave_nothing(tmp_path: Path, bare_remote: str) -> None:
    store = tmp_path / "new-store"
    proj = dt.init(tmp_path / "p", "MIST", store=store, remote=bare_remote)
    proj.write(lb_frame(), "lb")
    with pytest.raises(dt.InvalidArgumentError, match=r"no column\(s\) 'NOPE'[\s\S]*its columns are: USUBJID"):
        proj.read("lb", columns=["NOPE"])
    with pytest.raises(dt.InvalidArgumentError, match="list of column names"):
        proj.read("lb", columns="USUBJID")  # type: ignore[arg-type]
    assert proj.read("lb", columns=["USUBJID"]).column_names == ["USUBJID"]
    # init into an existing project fails before touching the (new) store
    fresh = tmp_path / "never-made"
    with pytest.raises(dt.InvalidArgumentError, match="already holds a datom project"):
        dt.init(tmp_path / "p", "MIST2", store=fresh, remote=str(tmp_path / "x.git"))
    assert not fresh.exists()
    # a clone is ready for `datom sync` (the inbox is git-ignored, so git does not carry it)
    other = dt.clone(bare_remote, tmp_path / "other")
    assert (other.path / "input_files").is_dir()


def test_reader_of_a_store_without_manifest(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    proj.write(lb_frame(), "lb")
    proj.store.delete(".metadata/manifest.json")  # e.g. an interrupted publish (reference section 8 item 22)
    dt.unregister("STUDY1")
    with pytest.raises(dt.NotFoundError, match="no datom project"):
        dt.connect(local_store.url)
    with pytest.warns(UserWarning, match="no manifest mirror"):
        reader = dt.connect(local_store.url, project="STUDY1")
    assert pl.from_arrow(reader.read("lb")).equals(lb_frame())


def test_store_given_with_its_namespace_folder_gets_a_hint(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str
) -> None:
    new_project(tmp_path, local_store, bare_remote)
    with pytest.raises(dt.NotFoundError) as err:
        dt.connect(str(Path(local_store.url) / "datom"))
    assert "without its trailing /datom" in err.value.hint
