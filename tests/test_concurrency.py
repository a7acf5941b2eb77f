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
