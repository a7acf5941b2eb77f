"""``as_of`` after a revert: a write back to an earlier version adds no history entry (reference 3.5),
so a table's version at a time comes from the commit log when the project has one."""

from __future__ import annotations

import json
import os
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import StoreSpec, next_second

import datom_engines as dt
from datom_engines import duckdb as ddb
from datom_engines.core import keys
from datom_engines.core.metadata import utc_timestamp
from datom_engines.core.snapshots import LogEntry, SnapshotEntry
from datom_engines.core.versions import logged_change

A = pl.DataFrame({"x": [1, 2, 3]})
B = pl.DataFrame({"x": [4, 5]})
C = pl.DataFrame({"x": [6]})


def _entry(second: int, **tables: str) -> LogEntry:
    return LogEntry(
        commit=f"{second:040x}",
        created_at=datetime(2026, 1, 1, 0, 0, second, tzinfo=UTC),
        message="",
        author="",
        tables={t: SnapshotEntry(v * 64, "d" * 64) for t, v in tables.items()},
    )


def test_logged_change_finds_the_newest_change_in_range() -> None:
    log = [_entry(40, t="c"), _entry(30, u="e"), _entry(20, t="a"), _entry(10, t="b"), _entry(5, t="a")]
    at = "2026-01-01T00:00:35Z"
    # the history picked b (second 10); the revert to a at second 20 is newer
    found, older = logged_change(log, "t", at, datetime(2026, 1, 1, 0, 0, 10, tzinfo=UTC))
    assert (found, older) == (SnapshotEntry("a" * 64, "d" * 64), False)
    # a commit older than the history's pick ends the search (nothing newer touched the table)
    assert logged_change(log[1:2] + log[3:], "t", at, datetime(2026, 1, 1, 0, 0, 12, tzinfo=UTC)) == (None, False)
    # the part ran out before reaching the history's time: look in the older part
    assert logged_change(log[:2], "t", "2026-01-01T00:00:39Z", None) == (None, True)
    assert logged_change(log, "t", "2026-01-01T00:00:41Z", None)[0] == SnapshotEntry("c" * 64, "d" * 64)


def _versions(proj: dt.Project) -> tuple[str, str, str, str, str]:
    """Write A, B, A (a revert), C a second apart; return (a, b, c, while B, after the revert)."""
    a = proj.write(A, "t").version
    next_second()
    b = proj.write(B, "t").version
    next_second()
    while_b = utc_timestamp()
    next_second()
    revert = proj.write(A, "t")
    assert revert.version == a and len(proj.history("t")) == 2  # no history entry for the revert
    next_second()
    after_revert = utc_timestamp()
    next_second()
    c = proj.write(C, "t").version
    return a, b, c, while_b, after_revert


def test_as_of_after_a_revert_reads_the_reverted_version(tmp_path: Path, store: StoreSpec, bare_remote: str) -> None:
    proj = dt.init(tmp_path / "clone", "P", store=store.url, remote=bare_remote, storage_options=store.storage_options)
    a, b, c, while_b, after_revert = _versions(proj)
    reader = dt.connect(store.url, storage_options=store.storage_options)
    for who in (proj, reader):
        assert who.resolve("t", as_of=after_revert).version == a
        assert who.resolve("t", as_of=while_b).version == b
        assert who.resolve("t", as_of="2099-01-01").version == c
    assert pl.from_arrow(reader.read("t", as_of=after_revert)).equals(A)
    assert pl.scan_datom("P.t", as_of=after_revert).collect().equals(A)  # type: ignore[attr-defined]
    con = ddb.register(duckdb.connect())
    rows = con.execute("SELECT x FROM datom('P.t', as_of := ?) ORDER BY x", [after_revert]).fetchall()
    assert [r[0] for r in rows] == [1, 2, 3]
    assert reader.snapshot(as_of=after_revert).tables["t"].version == a  # the project view agrees


def test_warm_as_of_scans_see_a_later_revert(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = dt.init(tmp_path / "clone", "P", store=local_store.url, remote=bare_remote)
    a = proj.write(A, "t").version
    next_second()
    proj.write(B, "t")
    root = Path(local_store.url) / "datom"
    then = time.time() - 30
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (then, then))  # settled identities: the warm path may remember the resolution
    for _ in range(2):
        assert pl.scan_datom("P.t", as_of="2099-01-01").collect().equals(B)  # type: ignore[attr-defined]
    next_second()
    proj.write(A, "t")  # the revert
    assert pl.scan_datom("P.t", as_of="2099-01-01").collect().equals(A)  # type: ignore[attr-defined]
    assert proj.resolve("t", as_of="2099-01-01").version == a


def test_an_unreadable_commit_log_falls_back_to_the_history_with_a_warning(
    tmp_path: Path, local_store: StoreSpec, bare_remote: str
) -> None:
    proj = dt.init(tmp_path / "clone", "P", store=local_store.url, remote=bare_remote)
    _a, b, c, _while_b, after_revert = _versions(proj)
    log = Path(local_store.url) / "datom" / keys.COMMIT_LOG_KEY
    assert json.loads(log.read_text())["entries"]
    log.write_text("{not json")
    reader = dt.connect(local_store.url)
    with pytest.warns(UserWarning, match=r"version history alone.*commit log .* is unreadable"):
        found = reader.resolve("t", as_of=after_revert)
    assert found.version == b  # what the history alone can tell
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert reader.resolve("t").version == c  # latest reads do not look at the log
