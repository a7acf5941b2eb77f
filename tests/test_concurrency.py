"""Two writers (separate processes, separate clones) racing on one remote: nothing may be lost."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from conftest import StoreSpec, race_writers
from gitserver import GitHTTPServer, make_bare_repo
from workers import frame, write_rounds

import datom_engines as dt

ROUNDS = 10


def _race(tmp_path: Path, store: StoreSpec, remote: str) -> None:
    origin, results = race_writers(tmp_path, store, remote, write_rounds, ROUNDS)
    written = [item for per_writer in results for item in per_writer]
    assert len(written) == 2 * 2 * ROUNDS
    for table in ("own0", "own1", "shared"):
        history = origin.history(table)
        expected = {v for t, v, _, _ in written if t == table}
        assert {v.id for v in history} == expected, f"versions lost in {table}"
        assert len(history) == len(expected)
        # git agrees with the store mirror, and each version reads back its own data
        git_history = dt.core.jsonfmt.parse((origin.path / table / "version_history.json").read_bytes())
        assert [e["version"] for e in git_history] == [v.id for v in history]
    for table, version, writer, round_ in written[::3]:
        assert pl.from_arrow(origin.read(table, version=version)).equals(frame(writer, round_))
    info = {t.name: t for t in origin.tables()}
    assert info["shared"].version_count == 2 * ROUNDS
    assert info["own0"].version_count == info["own1"].version_count == ROUNDS
    report = origin.validate()
    assert report.valid, report.to_dict()


def test_two_writers_race_on_a_bare_remote(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    _race(tmp_path, local_store, bare_remote)


@pytest.mark.slow
def test_two_writers_race_over_http_on_s3(tmp_path: Path, make_store: Callable[[str], StoreSpec]) -> None:
    store = make_store("s3")
    root = tmp_path / "srv"
    make_bare_repo(root / "race.git")
    with GitHTTPServer(root) as server:
        _race(tmp_path, store, server.url("race.git"))


@pytest.mark.parametrize("transport", ["local", "http"])
def test_a_publisher_overtaken_by_a_newer_head_republishes_it(
    tmp_path: Path, local_store: StoreSpec, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writer A pushes, then writer B pushes and publishes a newer head before A publishes: A's publish (which
    mirrors its older head) must notice the remote moved on and leave the mirror at B's head (a remote on
    this machine is read directly, without a fetch, when it has not moved)."""
    from datom_engines.project import publish as publish_module
    from datom_engines.project import writing

    root = tmp_path / "srv"
    bare = make_bare_repo(root / "p.git")
    with GitHTTPServer(root) as server:
        remote = str(bare) if transport == "local" else server.url("p.git")
        a = dt.init(tmp_path / "a", "P", store=local_store.url, remote=remote)
        a.write(frame(0, 0), "t")
        b = dt.clone(remote, tmp_path / "b")
        real = publish_module.publish
        overtaken: list[str] = []

        def publish_after_b(repo, store, commit, tables, **kwargs):  # type: ignore[no-untyped-def]
            if not overtaken:
                overtaken.append(commit)
                b.write(frame(1, 1), "t")  # pushes and publishes a newer head first
            return real(repo, store, commit, tables, **kwargs)

        monkeypatch.setattr(writing, "publish", publish_after_b)
        mine = a.write(frame(0, 1), "other")
        newest = b.repo.head()  # type: ignore[union-attr]
        assert overtaken == [mine.commit] and newest != mine.commit
        reader = dt.connect(local_store.url)
        assert reader.resolve("t").version == b.resolve("t").version  # B's version, not the older one
        assert reader.resolve("other").version == mine.version
        log = dt.core.jsonfmt.parse(Path(local_store.url, "datom", ".metadata", "commits.json").read_bytes())
        assert log["entries"][0]["commit"] == newest
        assert b.validate().valid  # (b is at the newest head; a has not pulled it)
