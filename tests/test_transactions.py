"""Transactions (several tables, one commit), sync as one commit, and project-level consistency for readers."""

from __future__ import annotations

import multiprocessing
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import StoreSpec, git_env, next_second, race_writers
from gitserver import GitHTTPServer, make_bare_repo
from test_importers import CLINICAL, FREAD_VECTORS
from workers import TX_TABLES, crash_tx_before_push, crash_tx_during_publish, tx_frame, tx_rounds, tx_stream

import datom_engines as dt
from datom_engines.core import jsonfmt, keys
from datom_engines.gitrepo import GitRepo

LOG_KEY = keys.COMMIT_LOG_KEY


def _run_child(target: Callable[..., None], *args: Any) -> int:
    proc = multiprocessing.get_context("spawn").Process(target=target, args=args)
    proc.start()
    proc.join(120)
    return proc.exitcode if proc.exitcode is not None else -1


def _git(remote: str, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", remote, *args], capture_output=True, text=True, check=True).stdout


def remote_commits(remote: str) -> list[str]:
    return _git(remote, "rev-list", "HEAD").split()


def changed_paths(remote: str, commit: str) -> set[str]:
    return set(_git(remote, "show", "--name-only", "--format=", commit).split())


def new_project(tmp_path: Path, store: StoreSpec, remote: str, name: str = "TX") -> dt.Project:
    return dt.init(
        tmp_path / f"{name}-clone", name, store=store.url, remote=remote, storage_options=store.storage_options
    )


def rounds_seen(proj: dt.Project, snapshot: dt.ProjectSnapshot, tables: tuple[str, ...] = TX_TABLES) -> dict[str, int]:
    """The ``round`` each of ``tables`` holds in a snapshot (reading each version's data)."""
    out = {}
    for table, entry in snapshot.tables.items():
        if table not in tables:
            continue
        frame = pl.from_arrow(proj.read(table, version=entry.version))
        assert isinstance(frame, pl.DataFrame)
        out[table] = int(frame["round"][0])
    return out


def tx_files(table: str) -> set[str]:
    return {f"{table}/metadata.json", f"{table}/version_history.json"}


# ----- one commit ------------------------------------------------------------------------------------
def test_transaction_of_four_tables_is_one_commit(tmp_path: Path, store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, store, bare_remote)
    before = remote_commits(bare_remote)
    with proj.transaction(message="January cut") as tx:
        for table in TX_TABLES:
            tx.write(tx_frame(table, 1), table)
        assert tx.tables == list(TX_TABLES)
    result = tx.result
    assert result is not None and result.commit is not None
    after = remote_commits(bare_remote)
    assert after[1:] == before and after[0] == result.commit  # exactly one new commit on the remote
    assert changed_paths(bare_remote, result.commit) == {
        keys.MANIFEST_PATH,
        *(p for t in TX_TABLES for p in tx_files(t)),
    }
    assert _git(bare_remote, "log", "-1", "--format=%s", result.commit).strip() == "January cut"
    assert [r.ref.table for r in result] == list(TX_TABLES) and len(result) == 4
    assert all(r.change == "full" and r.commit == result.commit and r.uploaded for r in result)
    # one created_at for the whole transaction, in every table's metadata and history
    stamps = {proj.metadata(t)["created_at"] for t in TX_TABLES} | {proj.history(t)[0].created_at for t in TX_TABLES}
    assert len({s if isinstance(s, str) else dt.core.metadata.utc_timestamp(s) for s in stamps}) == 1
    assert [v.message for t in TX_TABLES for v in proj.history(t)] == ["January cut"] * 4
    # the store mirror: every table readable, one commit-log entry naming the four versions
    reader = dt.connect(store.url, storage_options=store.storage_options)
    for table in TX_TABLES:
        assert pl.from_arrow(reader.read(table)).equals(tx_frame(table, 1))
    log = reader.store.read_json(LOG_KEY)["entries"]
    assert len(log) == 1 and log[0]["commit"] == result.commit
    assert log[0]["tables"] == {r.ref.table: {"version": r.version, "data_sha": r.data_sha} for r in result}
    snap = reader.snapshot()
    assert snap.commit == result.commit and snap.source == "log"
    assert {t: e.version for t, e in snap.tables.items()} == {r.ref.table: r.version for r in result}
    assert proj.validate().valid


def test_transaction_stages_only_what_changed(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    first = proj.write(tx_frame("ae", 1), "ae")
    with proj.transaction() as tx:
        tx.write(tx_frame("ae", 1), "ae")  # the same data and metadata: no new version
        tx.write(tx_frame("dm", 1), "dm", message="dm from the new extract", custom={"cut": "2026-01"})
    result = tx.result
    assert result is not None
    assert result["ae"].change == "none" and result["ae"].commit is None and result["ae"].version == first.version
    assert result["dm"].change == "full" and result["dm"].commit == result.commit
    assert changed_paths(str(bare_remote), result.commit or "") == {keys.MANIFEST_PATH, *tx_files("dm")}
    assert _git(bare_remote, "log", "-1", "--format=%s").strip() == "Update ae, dm"
    assert proj.history("dm")[0].message == "dm from the new extract"
    with proj.transaction() as again:  # nothing new at all: no commit
        again.write(tx_frame("dm", 1), "dm", message="dm from the new extract", custom={"cut": "2026-01"})
    assert again.result is not None and again.result.commit is None
    assert remote_commits(bare_remote)[0] == result.commit
    assert proj.tags() == []


def test_transaction_misuse_gives_clear_errors(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    tx = proj.transaction()
    tx.write(tx_frame("ae", 1), "ae")
    with pytest.raises(dt.InvalidArgumentError, match="'ae' is already written in this transaction"):
        tx.write(tx_frame("ae", 2), "ae")
    with pytest.raises(dt.InvalidNameError):
        tx.write(tx_frame("x", 1), "bad.name")
    with pytest.raises(dt.UnsupportedDataError):
        tx.write(pl.DataFrame(), "empty")
    assert tx.tables == ["ae"]
    assert tx.commit().commit is not None
    with pytest.raises(dt.InvalidArgumentError, match="already committed"):
        tx.write(tx_frame("dm", 1), "dm")
    with pytest.raises(dt.InvalidArgumentError, match="already committed"):
        tx.commit()
    empty = proj.transaction()
    assert empty.commit() == dt.TransactionResult(None, ())
    reader = dt.connect(local_store.url)
    with pytest.raises(dt.ReadOnlyError):
        reader.transaction()


def test_exception_in_the_block_publishes_nothing(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    proj.write(tx_frame("ae", 0), "ae")
    before_commits, before_keys = remote_commits(bare_remote), set(proj.store.list_keys())
    staging = Path(local_store.url) / ".datom-staging"
    with pytest.raises(RuntimeError, match="changed my mind"), proj.transaction() as tx:
        tx.write(tx_frame("ae", 1), "ae")
        tx.write(tx_frame("dm", 1), "dm")
        raise RuntimeError("changed my mind")
    assert remote_commits(bare_remote) == before_commits
    assert set(proj.store.list_keys()) == before_keys
    assert not staging.exists() or not any(staging.iterdir())  # the prepared files are gone
    assert pl.from_arrow(proj.read("ae")).equals(tx_frame("ae", 0))


def test_transaction_killed_before_push_is_all_or_nothing(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str
) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    with proj.transaction() as tx:
        for table in TX_TABLES:
            tx.write(tx_frame(table, 1), table)
    commits, log = remote_commits(bare_remote), proj.store.read_json(LOG_KEY)
    meta_before = {t: proj.store.get_bytes(keys.metadata_key(t)) for t in TX_TABLES}
    code = _run_child(crash_tx_before_push, str(proj.path), 2, git_env())
    assert code == 137
    # nothing of the transaction is published: git, the tables' mirrors, the log
    assert remote_commits(bare_remote) == commits
    assert proj.store.read_json(LOG_KEY) == log
    reader = dt.connect(local_store.url)
    for table in TX_TABLES:
        assert proj.store.get_bytes(keys.metadata_key(table)) == meta_before[table]
        assert len(reader.history(table)) == 1
        assert pl.from_arrow(reader.read(table)).equals(tx_frame(table, 1))
    assert rounds_seen(reader, reader.snapshot()) == dict.fromkeys(TX_TABLES, 1)
    # the data went up first (put-if-absent): doing it again reuses the objects and loses nothing
    with proj.transaction() as again:
        for table in TX_TABLES:
            again.write(tx_frame(table, 2), table)
    assert again.result is not None
    assert [r.change for r in again.result] == ["full"] * 4 and not any(r.uploaded for r in again.result)
    assert rounds_seen(reader, reader.snapshot()) == dict.fromkeys(TX_TABLES, 2)
    assert proj.validate().valid


def test_a_failed_upload_in_a_transaction_publishes_nothing(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datom_engines.project import writing

    proj = new_project(tmp_path, local_store, bare_remote)
    proj.write(tx_frame("ae", 0), "ae")
    commits, log = remote_commits(bare_remote), proj.store.read_json(LOG_KEY)
    original = writing.ensure_parquet

    def failing(store: Any, table: str, *args: Any, **kw: Any) -> Any:
        if table == "ex":
            raise dt.StoreUnreachableError("the store went away")
        return original(store, table, *args, **kw)

    monkeypatch.setattr(writing, "ensure_parquet", failing)
    with pytest.raises(dt.StoreUnreachableError), proj.transaction() as tx:
        for table in TX_TABLES:
            tx.write(tx_frame(table, 1), table)
    assert remote_commits(bare_remote) == commits and proj.store.read_json(LOG_KEY) == log
    assert [t.name for t in proj.tables()] == ["ae"] and round_of_current(proj, "ae") == 0
    assert proj.repo is not None and proj.repo.head() == commits[0]


def round_of_current(proj: dt.Project, table: str) -> int:
    frame = pl.from_arrow(proj.read(table))
    assert isinstance(frame, pl.DataFrame)
    return int(frame["round"][0])


# ----- project-level readers --------------------------------------------------------------------------
@pytest.mark.parametrize("crash_at", ["dm/.metadata/metadata.json", keys.MANIFEST_KEY, LOG_KEY])
def test_crash_mid_publish_leaves_project_readers_on_the_old_state(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, crash_at: str
) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    with proj.transaction() as tx:
        for table in TX_TABLES:
            tx.write(tx_frame(table, 1), table)
    code = _run_child(crash_tx_during_publish, str(proj.path), 2, crash_at, git_env())
    assert code == 137
    reader = dt.connect(local_store.url)
    # a single-table reader may already see the new version of a table published before the crash...
    assert pl.from_arrow(reader.read("ae"))["round"][0] == 2
    # ...but a project-level read sees one whole state: the old one until the manifest (the commit point
    # of "now", which R writes last too) is written, the new one after it, also before the log is
    expected = 2 if crash_at == LOG_KEY else 1
    assert rounds_seen(reader, reader.snapshot()) == dict.fromkeys(TX_TABLES, expected)
    now = dt.core.metadata.utc_timestamp()
    assert rounds_seen(reader, reader.snapshot(as_of=now)) == dict.fromkeys(TX_TABLES, expected)
    assert not proj.validate().valid
    # the next write (of another table) repairs the mirror and the log: the transaction appears whole
    proj.write(pl.DataFrame({"y": [1]}), "other")
    after = reader.snapshot()
    assert set(after.tables) == {*TX_TABLES, "other"}
    assert rounds_seen(reader, after) == dict.fromkeys(TX_TABLES, 2)
    log = reader.store.read_json(LOG_KEY)["entries"]
    assert [sorted(e["tables"]) for e in log] == [["other"], sorted(TX_TABLES), sorted(TX_TABLES)]
    assert proj.validate().valid


def test_project_readers_never_see_half_a_transaction(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    with proj.transaction() as tx:
        for table in TX_TABLES:
            tx.write(tx_frame(table, 0), table)
    reader = dt.connect(local_store.url)
    ctx = multiprocessing.get_context("spawn")
    writer = ctx.Process(target=tx_stream, args=(str(proj.path), 1, 8, git_env()))
    writer.start()
    seen: list[dict[str, int]] = []
    try:
        while writer.is_alive() or not seen:
            snap = reader.snapshot()
            seen.append(rounds_seen(reader, snap))
            at = reader.snapshot(as_of=dt.core.metadata.utc_timestamp())
            seen.append(rounds_seen(reader, at))
    finally:
        writer.join(120)
    assert writer.exitcode == 0
    mixed = [s for s in seen if len(set(s.values())) != 1 or set(s) != set(TX_TABLES)]
    assert mixed == [], f"a project-level read mixed transactions: {mixed[:3]}"
    assert len({next(iter(s.values())) for s in seen}) >= 2  # the reader did watch the writer move
    assert rounds_seen(reader, reader.snapshot()) == dict.fromkeys(TX_TABLES, 8)


def test_project_as_of_follows_transactions(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    with proj.transaction() as first:
        for table in ("ae", "dm"):
            first.write(tx_frame(table, 1), table)
    next_second()
    between = dt.core.metadata.utc_timestamp()
    next_second()
    with proj.transaction() as second:
        second.write(tx_frame("ae", 2), "ae")
        second.write(tx_frame("dm", 2), "dm")
        second.write(tx_frame("lb", 2), "lb")
    reader = dt.connect(local_store.url)
    old = reader.snapshot(as_of=between)
    assert old.commit == (first.result and first.result.commit)
    assert rounds_seen(reader, old) == {"ae": 1, "dm": 1}  # lb did not exist yet
    assert rounds_seen(reader, reader.snapshot(as_of="2099-01-01")) == {"ae": 2, "dm": 2, "lb": 2}
    with pytest.raises(dt.VersionNotFoundError, match="no table of project 'TX' existed at 2000-01-01"):
        reader.snapshot(as_of="2000-01-01")
    with pytest.raises(dt.InvalidArgumentError, match="only one of version, as_of and tag"):
        reader.snapshot(as_of=between, tag="x1")
    # per-table as_of agrees (one created_at per transaction)
    assert pl.from_arrow(reader.read("dm", as_of=between))["round"][0] == 1


def test_project_without_commit_log_is_read_from_histories_then_logged(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str
) -> None:
    """A project written before commit logs existed (or by R): snapshots come from the tables' histories,
    and the first write of this version records the whole git history in the log."""
    proj = new_project(tmp_path, local_store, bare_remote)
    v_ae = proj.write(tx_frame("ae", 1), "ae")
    v_dm = proj.write(tx_frame("dm", 1), "dm")
    proj.store.delete(LOG_KEY)
    reader = dt.connect(local_store.url)
    snap = reader.snapshot()
    assert snap.source == "manifest" and {t: e.version for t, e in snap.tables.items()} == {
        "ae": v_ae.version,
        "dm": v_dm.version,
    }
    assert reader.snapshot(as_of="2099-01-01").tables == snap.tables
    assert not proj.validate().valid
    v_lb = proj.write(tx_frame("lb", 1), "lb")
    log = reader.store.read_json(LOG_KEY)["entries"]
    assert [(e["commit"], list(e["tables"])) for e in log] == [
        (v_lb.commit, ["lb"]),
        (v_dm.commit, ["dm"]),
        (v_ae.commit, ["ae"]),
    ]
    assert reader.snapshot().source == "log" and proj.validate().valid
    proj.store.put_bytes(LOG_KEY, b"[{not json")
    with pytest.raises(dt.StoreError, match="commit log .* unreadable"):
        reader.snapshot()
    report = proj.validate(repair=True)
    assert report.valid and "commit log" in report.repaired
    assert [e["commit"] for e in reader.store.read_json(LOG_KEY)["entries"]] == [e["commit"] for e in log]


def test_commits_the_log_does_not_know_yet_reach_project_reads(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str
) -> None:
    """A commit made by R (which never writes the log) is seen by project-level reads at once."""
    proj = new_project(tmp_path, local_store, bare_remote)
    with proj.transaction() as tx:
        for table in ("ae", "dm"):
            tx.write(tx_frame(table, 1), table)
    next_second()
    before_r = dt.core.metadata.utc_timestamp()
    next_second()
    logged = proj.store.get_bytes(LOG_KEY)
    by_r = proj.write(tx_frame("dm", 2), "dm")  # then made to look like R's: the log does not know it
    new_table = proj.write(tx_frame("lb", 2), "lb")
    proj.store.put_bytes(LOG_KEY, logged)
    reader = dt.connect(local_store.url)
    now = reader.snapshot()
    assert now.source == "manifest" and rounds_seen(reader, now) == {"ae": 1, "dm": 2, "lb": 2}
    at = reader.snapshot(as_of=dt.core.metadata.utc_timestamp())
    assert at.source == "histories" and rounds_seen(reader, at) == {"ae": 1, "dm": 2, "lb": 2}
    assert rounds_seen(reader, reader.snapshot(as_of=before_r)) == {"ae": 1, "dm": 1}
    assert not proj.validate().valid
    proj.write(pl.DataFrame({"y": [1]}), "other")  # the next write records them in the log
    assert [e["commit"] for e in reader.store.read_json(LOG_KEY)["entries"]][1:3] == [new_table.commit, by_r.commit]
    assert reader.snapshot().source == "log" and proj.validate().valid


def test_a_long_commit_log_is_split_into_immutable_parts(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writers rewrite only a bounded head of the log; older commits move to parts nobody rewrites."""
    from datom_engines.core import snapshots

    monkeypatch.setattr(snapshots, "LOG_HEAD_MAX", 4)
    monkeypatch.setattr(snapshots, "LOG_HEAD_KEEP", 2)
    proj = new_project(tmp_path, local_store, bare_remote)
    done: list[tuple[str, str, str]] = []  # (commit, time after it, version of 'a')
    for round_ in range(11):
        res = proj.write(tx_frame("a", round_), "a") if round_ % 3 else write_pair(proj, round_)
        done.append((res.commit or "", dt.core.metadata.utc_timestamp(), res.version))
        if round_ == 1:
            next_second()  # the later commits are made in later seconds
    head = proj.store.read_json(LOG_KEY)
    assert len(head["entries"]) <= 4 and "older" in head
    parts = proj.store.list_keys(keys.COMMIT_LOG_SEGMENTS)
    assert parts and all(proj.store.read_json(k)["entries"] for k in parts)
    reader = dt.connect(local_store.url)
    # every commit is still reachable: walk the parts from the head back
    seen, part = [], head
    while True:
        seen += [e["commit"] for e in part["entries"]]
        if "older" not in part:
            break
        part = proj.store.read_json(part["older"])
    assert seen == [c for c, _, _ in reversed(done)]
    # as_of far back is answered from an older part, with the state folded from its base
    old = reader.snapshot(as_of=done[1][1])
    assert old.source == "log" and old.commit == done[1][0]
    assert rounds_seen(reader, old, ("a", "b")) == {"a": 1, "b": 0}
    assert reader.snapshot().commit == done[-1][0] and proj.validate().valid
    # a lost head is rebuilt from git
    proj.store.delete(LOG_KEY)
    assert proj.validate(repair=True).valid
    assert reader.snapshot(as_of=done[1][1]).tables == old.tables


def write_pair(proj: dt.Project, round_: int) -> dt.WriteResult:
    with proj.transaction() as tx:
        tx.write(tx_frame("a", round_), "a")
        tx.write(tx_frame("b", round_), "b")
    assert tx.result is not None
    return tx.result["a"]


# ----- racing writers ---------------------------------------------------------------------------------
ROUNDS = 6


def _race(tmp_path: Path, store: StoreSpec, remote: str) -> None:
    origin, results = race_writers(tmp_path, store, remote, tx_rounds, ROUNDS)
    done = [item for per_writer in results for item in per_writer]
    assert len(done) == 2 * ROUNDS
    for table in ("own0", "own1", "shared"):
        expected = {versions[table] for _, versions in done if table in versions}
        assert {v.id for v in origin.history(table)} == expected, f"versions lost in {table}"
    # each transaction is one commit holding both of its tables, and the log records exactly that
    log = {e["commit"]: e for e in origin.store.read_json(LOG_KEY)["entries"]}
    assert origin.repo is not None
    for commit, versions in done:
        assert {t: e["version"] for t, e in log[commit]["tables"].items()} == versions
        parent = origin.repo.objects.commit_info(commit).parents[0]
        assert {p.split("/")[0] for p in origin.repo.objects.changed_paths(parent, commit)} == {".datom", *versions}
    assert {t.name: t.version_count for t in origin.tables()} == {"own0": ROUNDS, "own1": ROUNDS, "shared": 2 * ROUNDS}
    report = origin.validate()
    assert report.valid, report.to_dict()


def test_two_writers_racing_transactions_lose_nothing(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    _race(tmp_path, local_store, bare_remote)


@pytest.mark.slow
def test_two_writers_racing_transactions_over_http_on_s3(
    tmp_path: Path, make_store: Callable[[str], StoreSpec]
) -> None:
    store = make_store("s3")
    root = tmp_path / "srv"
    make_bare_repo(root / "race.git")
    with GitHTTPServer(root) as server:
        _race(tmp_path, store, server.url("race.git"))


# ----- sync --------------------------------------------------------------------------------------------
def test_sync_of_the_four_clinical_csvs_is_one_commit(tmp_path: Path, store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, store, bare_remote, "STUDY1")
    assert proj.path is not None
    for domain in FREAD_VECTORS:
        (proj.path / "input_files" / f"{domain}.csv").write_bytes((CLINICAL / f"{domain}.csv").read_bytes())
    before = remote_commits(bare_remote)
    result = proj.sync()
    assert result.ok and len(result.written) == 4
    after = remote_commits(bare_remote)
    assert after[1:] == before
    domains = sorted(FREAD_VECTORS)
    assert changed_paths(bare_remote, after[0]) == {keys.MANIFEST_PATH, *(p for d in domains for p in tx_files(d))}
    message = _git(bare_remote, "log", "-1", "--format=%B").strip()
    assert message.splitlines() == ["Sync 4 tables from input_files", "", *(f"{d} (new)" for d in domains)]
    for domain, (_, data_sha, _) in FREAD_VECTORS.items():
        [version] = proj.history(domain)
        assert version.message == f"Sync {domain} (new)" and version.data_sha == data_sha
    snap = dt.connect(store.url, storage_options=store.storage_options).snapshot()
    assert snap.commit == after[0] and sorted(snap.tables) == domains
    # one changed file: a one-table commit with R's own message
    (proj.path / "input_files" / "dm.csv").write_text((CLINICAL / "dm.csv").read_text().replace('"', ""))
    proj.sync()
    assert _git(bare_remote, "log", "-1", "--format=%B").strip() == "Sync dm (changed)"


def test_sync_that_cannot_commit_writes_nothing(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = new_project(tmp_path, local_store, bare_remote, "STUDY1")
    assert proj.path is not None
    for domain in ("ae", "dm"):
        (proj.path / "input_files" / f"{domain}.csv").write_bytes((CLINICAL / f"{domain}.csv").read_bytes())
    before = remote_commits(bare_remote)

    def refused(self: GitRepo, commit: str, *, expected_remote: str | None) -> bool:
        raise dt.GitError("git push refused by a hook")

    monkeypatch.setattr(GitRepo, "push", refused)
    result = proj.sync()
    assert not result.ok
    assert [(r.file.name, r.result) for r in result.files] == [("ae", "error"), ("dm", "error")]
    assert all("refused by a hook" in (r.error or "") for r in result.files)
    with pytest.raises(dt.SyncError, match="nothing was written|refused by a hook") as info:
        proj.sync(continue_on_error=False)
    assert "nothing was written" in (info.value.hint or "")
    assert remote_commits(bare_remote) == before
    assert proj.tables() == [] and proj.store.read_json(LOG_KEY)["entries"] == []
    monkeypatch.undo()
    assert proj.sync().ok and len(remote_commits(bare_remote)) == len(before) + 1


def test_git_json_of_a_sync_commit_is_valid(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    """Each table's git files parse and name the versions the log records (no cross-table mix-up)."""
    proj = new_project(tmp_path, local_store, bare_remote, "STUDY1")
    assert proj.path is not None
    for domain in FREAD_VECTORS:
        (proj.path / "input_files" / f"{domain}.csv").write_bytes((CLINICAL / f"{domain}.csv").read_bytes())
    proj.sync()
    [entry] = proj.store.read_json(LOG_KEY)["entries"]
    for domain in FREAD_VECTORS:
        meta = jsonfmt.parse((proj.path / domain / "metadata.json").read_bytes())
        assert dt.metadata_sha(meta) == entry["tables"][domain]["version"]
        assert meta["source_lineage"][0]["table"] == domain


def test_thread_safe_commits_on_one_handle(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            with proj.transaction() as tx:
                tx.write(tx_frame(f"t{i}", i), f"t{i}")
                tx.write(tx_frame("shared", i, writer=i), "shared")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(proj.history("shared")) == 3 and proj.validate().valid
