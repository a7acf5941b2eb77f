"""Tags (named, immutable snapshots), reading them from every engine, signing, and R compatibility."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from conftest import StoreSpec, next_second
from gitserver import GitHTTPServer, make_bare_repo
from workers import TX_TABLES, crash_before_tag_record, tag_at_barrier, tx_frame

import datom_engines as dt
import datom_engines.duckdb as ddb
from datom_engines.cli import main as cli_main
from datom_engines.core import jsonfmt, keys

LOG_KEY = keys.COMMIT_LOG_KEY


def _git_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("GIT_CONFIG") or k == "GNUPGHOME"}


def new_project(tmp_path: Path, store: StoreSpec, remote: str, name: str = "STUDY1") -> dt.Project:
    return dt.init(
        tmp_path / f"{name}-clone", name, store=store.url, remote=remote, storage_options=store.storage_options
    )


def write_round(proj: dt.Project, round_: int, tables: tuple[str, ...] = TX_TABLES) -> dt.TransactionResult:
    with proj.transaction(message=f"round {round_}") as tx:
        for table in tables:
            tx.write(tx_frame(table, round_), table)
    assert tx.result is not None
    return tx.result


def round_of(frame: Any) -> int:
    df = frame if isinstance(frame, pl.DataFrame) else pl.from_arrow(frame)
    assert isinstance(df, pl.DataFrame)
    rounds = df["round"].unique().to_list()
    assert len(rounds) == 1
    return int(rounds[0])


def git_tags(remote: str) -> dict[str, str]:
    out = subprocess.run(
        ["git", "--git-dir", remote, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/tags"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split() for line in out.splitlines())


# ----- visibility -------------------------------------------------------------------------------------
def test_tag_is_visible_to_store_readers_and_second_clones(tmp_path: Path, store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, store, bare_remote)
    first = write_round(proj, 1)
    tag = proj.tag("dblock-2026-03", message="Database lock, March 2026")
    assert tag.name == "dblock-2026-03" and tag.commit == first.commit and tag.message == "Database lock, March 2026"
    assert {t: e.version for t, e in tag.tables.items()} == {r.ref.table: r.version for r in first}
    assert git_tags(bare_remote) == {"dblock-2026-03": tag.tag_object}
    # the git tag itself says which versions it pins (what a signature would cover)
    body = subprocess.run(
        ["git", "--git-dir", bare_remote, "cat-file", "-p", "dblock-2026-03"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"object {first.commit}" in body and "datom-snapshot:" in body and first["lb"].version in body
    # a store-only reader
    reader = dt.connect(store.url, storage_options=store.storage_options)
    [seen] = reader.tags()
    assert seen == tag
    assert reader.get_tag("dblock-2026-03").tables == tag.tables
    # a second clone: git has the tag, and reading by tag works there
    other = dt.clone(bare_remote, tmp_path / "second", storage_options=store.storage_options)
    assert other.repo is not None and "dblock-2026-03" in other.repo.tags.local()
    assert [t.name for t in other.tags()] == ["dblock-2026-03"]
    write_round(other, 2)
    assert round_of(other.read("lb", tag="dblock-2026-03")) == 1
    assert round_of(other.read("lb")) == 2
    proj.pull()
    assert proj.validate().valid


def test_tagged_versions_are_read_by_every_engine_after_later_writes(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str
) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    write_round(proj, 1)
    proj.tag("interim-1")
    write_round(proj, 2, ("lb", "dm"))
    next_second()  # timestamps have one-second resolution: round 3 comes a second later
    write_round(proj, 3, ("lb",))
    proj.write(pl.DataFrame({"z": [1]}), "late")  # a table the tag does not know
    # dt.read / read_datom / scan_datom
    assert round_of(dt.read("STUDY1.lb", tag="interim-1")) == 1
    assert round_of(dt.read("STUDY1.lb")) == 3
    assert round_of(pl.read_datom("STUDY1.dm", tag="interim-1")) == 1  # type: ignore[attr-defined]
    lf = pl.scan_datom("STUDY1.lb", tag="interim-1")  # type: ignore[attr-defined]
    assert "Parquet SCAN" in lf.filter(pl.col("x") > 3).explain()
    assert round_of(lf.collect()) == 1
    assert dt.resolve("STUDY1.ae", tag="interim-1").version == proj.get_tag("interim-1").version_of("ae")
    # DuckDB: datom(tag := ...) and a schema pinned to the tag
    con = ddb.register(duckdb.connect())
    assert con.execute("SELECT DISTINCT round FROM datom('STUDY1.lb', tag := 'interim-1')").fetchall() == [(1,)]
    assert con.execute("SELECT DISTINCT round FROM datom('STUDY1.lb', tag := $1)", ["interim-1"]).fetchall() == [(1,)]
    ddb.attach(con, "STUDY1")
    assert con.execute("SELECT DISTINCT round FROM STUDY1.lb").fetchall() == [(3,)]
    assert sorted(ddb.attach(con, "STUDY1", tag="interim-1")) == sorted(TX_TABLES)
    for table in TX_TABLES:
        assert con.execute(f"SELECT DISTINCT round FROM STUDY1.{table}").fetchall() == [(1,)]
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE schema_name = 'STUDY1'").fetchall()}
    assert views == set(TX_TABLES)  # the view of 'late' (not in the tag) is gone
    joined = con.execute("SELECT count(*) FROM STUDY1.lb JOIN STUDY1.dm USING (x)").fetchall()
    assert joined == [(12,)]
    write_round(proj, 4, ("lb",))  # later writes do not move a pinned schema
    assert con.execute("SELECT DISTINCT round FROM STUDY1.lb").fetchall() == [(1,)]
    # attach as_of: the project as it was at that time, also in its own schema
    later = proj.history("dm")[0].created_at
    ddb.attach(con, "STUDY1", schema="at_round2", as_of=later)
    rows = {t: con.execute(f"SELECT DISTINCT round FROM at_round2.{t}").fetchall() for t in ("ae", "dm", "lb")}
    assert rows == {"dm": [(2,)], "ae": [(1,)], "lb": [(2,)]}
    # the CLI
    out = tmp_path / "lb.csv"
    assert cli_main(["read", "lb", "--tag", "interim-1", "--repo", str(proj.path), "-o", str(out)]) == 0
    assert round_of(pl.read_csv(out)) == 1
    # lineage: a table derived from tagged versions records them as parents
    derived = (
        pl.scan_datom("STUDY1.lb", tag="interim-1")  # type: ignore[attr-defined]
        .join(pl.scan_datom("STUDY1.dm", tag="interim-1"), on="x")  # type: ignore[attr-defined]
        .select("x", "round")
        .sort("x")
        .datom.write("STUDY1.lbdm")
    )
    parents = proj.metadata("lbdm", derived.version)["parents"]
    tag = proj.get_tag("interim-1")
    assert [(p["table"], p["version"]) for p in parents] == [("lb", tag.version_of("lb")), ("dm", tag.version_of("dm"))]
    assert proj.parent("lb", tag="interim-1")["version"] == tag.version_of("lb")


def test_unknown_tags_and_tables_outside_a_tag_give_clear_errors(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    write_round(proj, 1, ("lb",))
    with pytest.raises(dt.TagNotFoundError, match="tag 'dblock-1' not found in project 'STUDY1'") as info:
        dt.read("STUDY1.lb", tag="dblock-1")
    assert "has no tags yet" in (info.value.hint or "")
    proj.tag("interim-1")
    write_round(proj, 2, ("ae",))
    for call in (
        lambda: dt.read("STUDY1.lb", tag="dblock-1"),
        lambda: pl.scan_datom("STUDY1.lb", tag="dblock-1"),  # type: ignore[attr-defined]
        lambda: proj.snapshot(tag="dblock-1"),
        lambda: proj.diff("lb", "dblock-1"),
    ):
        with pytest.raises(dt.NotFoundError, match="dblock-1") as info:
            call()
        assert "interim-1" in (info.value.hint or "")
    with pytest.raises(dt.NotFoundError, match="tag 'interim-1' of project 'STUDY1' does not include table 'ae'"):
        dt.read("STUDY1.ae", tag="interim-1")
    with pytest.raises(dt.InvalidArgumentError, match="only one of version, as_of and tag"):
        dt.read("STUDY1.lb", tag="interim-1", version="abc123")
    with pytest.raises(dt.InvalidNameError, match="looks like a version id"):
        dt.read("STUDY1.lb", tag="abc123")
    con = ddb.register(duckdb.connect())
    with pytest.raises(duckdb.Error, match=r"tag 'dblock-1' not found[\s\S]*hint: tags of STUDY1: interim-1"):
        con.execute("FROM datom('STUDY1.lb', tag := 'dblock-1')").fetchall()
    with pytest.raises(dt.TagNotFoundError):
        ddb.attach(con, "STUDY1", tag="dblock-1")
    assert cli_main(["read", "lb", "--tag", "dblock-1", "--repo", str(proj.path)]) == 1
    err = capsys.readouterr().err
    assert "tag 'dblock-1' not found" in err and "hint: tags of STUDY1: interim-1" in err
    assert cli_main(["read", "lb", "--tag", "bad name", "--repo", str(proj.path)]) == 2
    assert cli_main(["read", "lb", "--tag", "interim-1", "--version", "abc", "--repo", str(proj.path)]) == 2


# ----- immutability -------------------------------------------------------------------------------------
def test_a_tag_name_is_never_reused(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    write_round(proj, 1)
    made = proj.tag("dblock-1")
    write_round(proj, 2)
    with pytest.raises(dt.TagExistsError, match="tag 'dblock-1' already exists in project 'STUDY1': made by") as info:
        proj.tag("dblock-1")
    assert "immutable" in (info.value.hint or "")
    with pytest.raises(dt.TagExistsError, match="'dblock-1' already exists"):
        proj.tag("DBLOCK-1")  # differs only in case: one name on case-insensitive file systems
    other = dt.clone(bare_remote, tmp_path / "second")
    with pytest.raises(dt.TagExistsError):
        other.tag("dblock-1", message="mine")
    assert git_tags(bare_remote) == {"dblock-1": made.tag_object}
    assert proj.get_tag("dblock-1") == made  # the record did not change
    assert round_of(proj.read("lb", tag="dblock-1")) == 1
    for bad in ("", "a..b", "x.lock", "-x", "a b", "a/b", "ab:c", "deadbeef", "x" * 129, "trail."):
        with pytest.raises(dt.InvalidNameError):
            proj.tag(bad)
    with pytest.raises(dt.NotFoundError, match="cannot tag table\\(s\\) 'nope'"):
        proj.tag("subset-1", tables=["lb", "nope"])
    subset = proj.tag("subset-1", tables=["lb", "dm"], message="two tables")
    assert list(subset.tables) == ["lb", "dm"]
    assert proj.snapshot(tag="subset-1").tables == subset.tables
    assert [t.name for t in dt.connect(local_store.url).tags()] == ["dblock-1", "subset-1"]


def _race_for_a_tag(tmp_path: Path, remote: str, store: StoreSpec, names: list[str]) -> None:
    origin = dt.init(tmp_path / "origin", "RACE", store=store.url, remote=remote, storage_options=store.storage_options)
    write_round(origin, 1, ("lb",))
    clones = [dt.clone(remote, tmp_path / f"c{i}", storage_options=store.storage_options) for i in range(2)]
    ctx = multiprocessing.get_context("spawn")
    for name in names:
        barrier, results = ctx.Barrier(2), ctx.Queue()
        procs = [
            ctx.Process(
                target=tag_at_barrier,
                args=(str(c.path), name, barrier, results, store.storage_options, _git_env()),
            )
            for c in clones
        ]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(60)
        assert sorted(o[0] for o in outcomes) == ["lost", "won"], outcomes
        [winner] = [o for o in outcomes if o[0] == "won"]
        [loser] = [o for o in outcomes if o[0] == "lost"]
        assert f"tag '{name}' already exists" in loser[2]
        record = dt.connect(store.url, storage_options=store.storage_options).get_tag(name)
        assert record.tag_object == winner[2]
        assert record.message == f"made by {winner[1]}"
    origin.repo.fetch()  # type: ignore[union-attr]
    assert sorted(origin.repo.tags.on_remote()) == sorted(names)  # type: ignore[union-attr]


def test_concurrent_tags_of_one_name_exactly_one_wins(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    _race_for_a_tag(tmp_path, bare_remote, local_store, ["dblock-1", "dblock-2", "dblock-3"])


def test_concurrent_tags_over_http_exactly_one_wins(tmp_path: Path, local_store: StoreSpec) -> None:
    root = tmp_path / "srv"
    make_bare_repo(root / "tags.git")
    with GitHTTPServer(root) as server:
        _race_for_a_tag(tmp_path, server.url("tags.git"), local_store, ["lock-a", "lock-b"])


def test_tag_record_lost_in_a_crash_is_repaired(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    write_round(proj, 1, ("lb",))
    proc = multiprocessing.get_context("spawn").Process(
        target=crash_before_tag_record, args=(str(proj.path), "dblock-1", _git_env())
    )
    proc.start()
    proc.join(120)
    assert proc.exitcode == 137
    assert "dblock-1" in git_tags(bare_remote) and proj.tags() == []
    proj.pull()
    report = proj.validate()
    assert not report.valid and report.tags_missing == ("dblock-1",)
    repaired = proj.validate(repair=True)
    assert repaired.valid and "tag dblock-1" in repaired.repaired
    assert round_of(proj.read("lb", tag="dblock-1")) == 1
    # the next write of any clone mirrors a missing record too
    proj.store.delete(keys.tag_key("dblock-1"))
    proj.write(pl.DataFrame({"y": [1]}), "other")
    assert [t.name for t in proj.tags()] == ["dblock-1"]


# ----- signing ------------------------------------------------------------------------------------
def _gpg(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["gpg", "--homedir", str(home), "--batch", *args], capture_output=True, text=True, check=True)


@pytest.fixture
def gpg_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Any:
    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed")
    home = Path(tmp_path_factory.mktemp("gpg", numbered=True))  # short path: the agent's socket lives here
    home.chmod(0o700)
    _gpg(home, "--passphrase", "", "--quick-gen-key", "Tag Signer <signer@example.org>", "ed25519", "sign", "never")
    fpr = _gpg(home, "--list-secret-keys", "--with-colons").stdout.split("fpr:::::::::")[1].split(":")[0]
    monkeypatch.setenv("GNUPGHOME", str(home))
    yield home, fpr
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], capture_output=True, check=False)


def _git_config(repo_path: Path, *pairs: tuple[str, str]) -> None:
    for key, value in pairs:
        subprocess.run(["git", "-C", str(repo_path), "config", key, value], check=True)


def test_signed_tag_with_gpg(tmp_path: Path, local_store: StoreSpec, bare_remote: str, gpg_home: Any) -> None:
    home, fpr = gpg_home
    proj = new_project(tmp_path, local_store, bare_remote)
    write_round(proj, 1, ("lb",))
    unsigned = proj.tag("plain-1")
    assert not unsigned.signed
    _git_config(proj.path, ("user.signingkey", fpr), ("tag.gpgSign", "true"))  # type: ignore[arg-type]
    signed = proj.tag("signed-1")
    assert signed.signed
    out = subprocess.run(
        ["git", "--git-dir", bare_remote, "tag", "-v", "signed-1"], capture_output=True, text=True, env=os.environ
    )
    assert out.returncode == 0, out.stderr  # git itself accepts the signature
    status = {t.name: t.signature for t in proj.tags(verify=True)}
    assert status["plain-1"] is not None and status["plain-1"].state == "unsigned"
    good = status["signed-1"]
    assert good is not None and good.state == "good" and good.format == "openpgp"
    assert good.signer is not None and "signer@example.org" in good.signer and good.key == fpr
    # a store-only reader checks the mirrored tag object the same way
    reader = dt.connect(local_store.url)
    assert reader.get_tag("signed-1", verify=True).signature.state == "good"  # type: ignore[union-attr]
    # a record altered in the store no longer matches its signed tag object
    key = keys.tag_key("signed-1")
    record = proj.store.read_json(key)
    record["tables"]["lb"]["version"] = "0" * 64
    proj.store.write_json(key, record)
    bad = reader.get_tag("signed-1", verify=True).signature
    assert bad is not None and bad.state == "bad" and "does not match" in (bad.detail or "")
    # a machine without the public key cannot vouch for it
    proj.store.delete(key)
    proj.validate(repair=True)
    empty = tmp_path / "nokeys"
    empty.mkdir(mode=0o700)
    os.environ["GNUPGHOME"] = str(empty)
    try:
        unknown = reader.get_tag("signed-1", verify=True).signature
    finally:
        os.environ["GNUPGHOME"] = str(home)
    assert unknown is not None and unknown.state == "unverified" and "public key" in (unknown.detail or "")
    assert proj.tag("nosign-1", sign=False).signed is False  # --no-sign beats tag.gpgSign


def test_signed_tag_with_ssh(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    proj = new_project(tmp_path, local_store, bare_remote)
    write_round(proj, 1, ("lb",))
    _git_config(proj.path, ("gpg.format", "ssh"), ("user.signingkey", str(key)))  # type: ignore[arg-type]
    made = proj.tag("ssh-1", sign=True)
    assert made.signed
    state = proj.get_tag("ssh-1", verify=True).signature
    assert state is not None and state.state == "unverified" and "allowedSignersFile" in (state.detail or "")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"writer@example.org {(tmp_path / 'id_ed25519.pub').read_text()}")
    _git_config(proj.path, ("gpg.ssh.allowedSignersFile", str(allowed)))  # type: ignore[arg-type]
    good = proj.get_tag("ssh-1", verify=True).signature
    assert good is not None and good.state == "good" and good.signer == "writer@example.org" and good.format == "ssh"


def test_signing_without_a_key_fails_before_anything_is_pushed(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str
) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    write_round(proj, 1, ("lb",))
    _git_config(proj.path, ("gpg.format", "ssh"))  # type: ignore[arg-type]
    with pytest.raises(dt.GitError, match="user.signingKey names no SSH key"):
        proj.tag("ssh-1", sign=True)
    assert git_tags(bare_remote) == {} and proj.tags() == []


# ----- the command line ---------------------------------------------------------------------------
def test_cli_tag_tags_history_and_diff(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    repo = ["--repo", str(proj.path)]
    write_round(proj, 1)

    def run(*args: str) -> tuple[int, str, str]:
        code = cli_main([*args])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, _ = run("tag", "dblock-1", "-m", "first lock", *repo)
    assert code == 0 and "Tagged 4 table(s) of STUDY1 as dblock-1" in out
    write_round(proj, 2, ("lb",))
    code, out, _ = run("tag", "dblock-2", "--table", "lb", "--table", "dm", "--json", *repo)
    made = json.loads(out)
    assert code == 0 and list(made["tables"]) == ["lb", "dm"] and made["signed"] is False
    code, out, err = run("tag", "dblock-1", *repo)
    assert code == 1 and "already exists" in err and "`datom tags`" in err
    assert run("tag", "cafe", *repo)[0] == 2
    code, out, _ = run("tags", "--store", local_store.url)
    assert code == 0 and "dblock-1" in out and "dblock-2" in out and "unsigned" in out and "first lock" in out
    code, out, _ = run("tags", "--json", *repo)
    listed = json.loads(out)
    assert [t["name"] for t in listed] == ["dblock-1", "dblock-2"]
    assert listed[0]["signature"]["state"] == "unsigned" and len(listed[0]["tables"]) == 4
    code, out, _ = run("tags", "dblock-2", *repo)
    assert code == 0 and "tag dblock-2: 2 table(s)" in out and "lb" in out
    code, out, _ = run("history", "lb", *repo)
    lines = out.splitlines()
    assert lines[0].split()[-1] == "TAGS"
    assert lines[1].endswith("dblock-2") and lines[2].endswith("dblock-1")
    code, out, _ = run("history", "lb", "--json", *repo)
    assert [v["tags"] for v in json.loads(out)] == [["dblock-2"], ["dblock-1"]]
    code, out, _ = run("diff", "lb", "dblock-1", "dblock-2", "--json", *repo)
    diff = json.loads(out)
    assert code == 0
    assert (diff["before"], diff["after"]) == (proj.get_tag("dblock-1").version_of("lb"), proj.history("lb")[0].id)
    assert [c["name"] for c in diff["columns"] if c["change"] == "changed"] == ["round"]
    code, _, err = run("diff", "lb", "no-such-tag", *repo)
    assert code == 1 and "neither a version" in err
    code, out, _ = run("read", "dm", "--tag", "dblock-2", "--json", *repo)
    assert code == 0 and json.loads(out)["version"] == proj.get_tag("dblock-2").version_of("dm")


# ----- R compatibility ----------------------------------------------------------------------------
VOLATILE = {"created_at", "timestamp", "updated_at", "last_updated", "datom_version"}


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _reference_keys(proj: dt.Project) -> dict[str, Any]:
    """Every store key the reference defines (section 1.2.2), with its (parsed, de-timed) content."""
    out: dict[str, Any] = {}
    for key in proj.store.list_keys():
        if key.startswith(".metadata/") and key not in (keys.MANIFEST_KEY, keys.GOVERNANCE_KEY):
            continue  # keys of this implementation only: the commit log and tag records
        data = proj.store.get_bytes(key)
        out[key] = data if key.endswith(".parquet") else _strip(jsonfmt.parse(data))
    return out


def _git_json(proj: dt.Project, path: str) -> Any:
    assert proj.repo is not None
    return _strip(jsonfmt.parse(proj.repo.objects.read_file(proj.repo.head(), path) or b"null"))


def test_transactions_and_tags_leave_the_reference_files_as_single_writes_do(
    tmp_path: Path, make_store: Callable[[str], StoreSpec]
) -> None:
    """What R reads (git files, reference store keys) is the same after a transaction as after single writes,
    and tagging changes none of it."""
    frames = {t: tx_frame(t, 1) for t in TX_TABLES}
    single = new_project(tmp_path, make_store("local"), str(make_bare_repo(tmp_path / "a.git")), "SAME")
    for table, frame in frames.items():
        single.write(frame, table, message=f"Load {table}")
    together = new_project(tmp_path / "b", make_store("local"), str(make_bare_repo(tmp_path / "b.git")), "SAME")
    with together.transaction(message="all at once") as tx:
        for table, frame in frames.items():
            tx.write(frame, table, message=f"Load {table}")
    for table in TX_TABLES:
        for path in (keys.table_metadata_path(table), keys.table_history_path(table)):
            assert _git_json(together, path) == _git_json(single, path), path
    assert _git_json(together, keys.MANIFEST_PATH) == _git_json(single, keys.MANIFEST_PATH)
    assert _reference_keys(together) == _reference_keys(single)
    assert {k for k in together.store.list_keys() if k.startswith(".metadata/")} == {keys.MANIFEST_KEY, LOG_KEY}
    # the same tables and versions, as the reference's readers list them
    assert [(t.name, t.current_version, t.version_count) for t in together.tables()] == [
        (t.name, t.current_version, t.version_count) for t in single.tables()
    ]
    # tagging touches no file or key the reference defines
    assert together.repo is not None
    before_git = {
        p: together.repo.objects.read_file(together.repo.head(), p)
        for p in together.repo.objects.changed_paths(None, together.repo.head())
    }
    before_store = {k: together.store.get_bytes(k) for k in _reference_keys(together)}
    head = together.repo.head()
    together.tag("dblock-1")
    assert together.repo.head() == head
    assert {p: together.repo.objects.read_file(head, p) for p in before_git} == before_git
    assert {k: together.store.get_bytes(k) for k in _reference_keys(together)} == before_store
    assert set(together.store.list_keys()) - set(before_store) == {LOG_KEY, keys.tag_key("dblock-1")}
    # git of a transaction: a plain commit on the branch, the tag outside it (refs/tags)
    clone = subprocess.run(
        ["git", "clone", "-q", str(tmp_path / "b.git"), str(tmp_path / "plain")], capture_output=True, text=True
    )
    assert clone.returncode == 0, clone.stderr
    files = subprocess.run(["git", "-C", str(tmp_path / "plain"), "ls-files"], capture_output=True, text=True).stdout
    assert set(files.split()) == {
        ".datom/project.yaml",
        ".datom/manifest.json",
        ".gitignore",
        "README.md",
        *(f"{t}/{f}" for t in TX_TABLES for f in ("metadata.json", "version_history.json")),
    }
