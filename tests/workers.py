"""Functions run in child processes by the concurrency and crash tests (importable by spawn)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import polars as pl


def frame(writer: int, round_: int, rows: int = 20) -> pl.DataFrame:
    """Distinct data per (writer, round)."""
    return pl.DataFrame({"writer": [writer] * rows, "round": [round_] * rows, "x": [float(i) for i in range(rows)]})


def write_rounds(
    clone: str, writer: int, rounds: int, storage_options: dict[str, Any], env: dict[str, str]
) -> list[tuple[str, str, int, int]]:
    """Write ``rounds`` versions of an own table and of a shared table; return (table, version, writer, round)."""
    os.environ.update(env)
    import datom_engines as dt

    proj = dt.open_project(clone, storage_options=storage_options)
    out = []
    for r in range(rounds):
        for table in (f"own{writer}", "shared"):
            res = proj.write(frame(writer, r), table, message=f"{table} w{writer} r{r}")
            assert res.change == "full", res
            out.append((table, res.version, writer, r))
    return out


def _die_at_put(dies: Callable[[str], bool]) -> None:
    """Make every later store write of this process die (os._exit 137) when ``dies(key)``."""
    from datom_engines.storage.objectstore import ObjectStore

    original = ObjectStore.put_bytes

    def dying_put(self: ObjectStore, key: str, data: bytes, **kw: Any) -> None:
        if dies(key):
            os._exit(137)
        original(self, key, data, **kw)

    ObjectStore.put_bytes = dying_put  # type: ignore[method-assign]


def _die_at_push() -> None:
    """Make this process die (os._exit 137) when it is about to push to git."""
    from datom_engines.gitrepo import GitRepo

    def dying_push(self: GitRepo, commit: str, *, expected_remote: str | None) -> bool:
        os._exit(137)

    GitRepo.push = dying_push  # type: ignore[method-assign]


def crash_during_publish(clone: str, data_path: str, crash_key: str, env: dict[str, str]) -> None:
    """Write a table but die (os._exit) just before the store mirror object ``crash_key`` is written."""
    os.environ.update(env)
    import datom_engines as dt

    _die_at_put(lambda key: key == crash_key)
    proj = dt.open_project(clone)
    proj.write(pl.read_parquet(data_path), "lb", message="crashing write")
    os._exit(0)  # not reached when the crash key is written


def crash_before_push(clone: str, data_path: str, env: dict[str, str]) -> None:
    """Write a table but die after the parquet upload, before the git push."""
    os.environ.update(env)
    import datom_engines as dt

    _die_at_push()
    proj = dt.open_project(clone)
    proj.write(pl.read_parquet(data_path), "lb", message="never pushed")
    os._exit(0)


# ----- transactions and tags (test_transactions.py, test_tags.py) -----------------------------------
TX_TABLES = ("ae", "dm", "ex", "lb")


def tx_frame(table: str, round_: int, writer: int = 0, rows: int = 12) -> pl.DataFrame:
    """Distinct data per (table, round, writer); ``round`` lets a reader tell which commit it sees."""
    return pl.DataFrame(
        {"table": [table] * rows, "round": [round_] * rows, "writer": [writer] * rows, "x": list(range(rows))}
    )


def _write_round(proj: Any, round_: int, message: str) -> None:
    with proj.transaction(message=message) as tx:
        for table in TX_TABLES:
            tx.write(tx_frame(table, round_), table)


def crash_tx_before_push(clone: str, round_: int, env: dict[str, str]) -> None:
    """A transaction of the four tables that dies (os._exit) when it is about to push."""
    os.environ.update(env)
    import datom_engines as dt

    _die_at_push()
    _write_round(dt.open_project(clone), round_, "never pushed")
    os._exit(0)


def crash_tx_during_publish(clone: str, round_: int, crash_key: str, env: dict[str, str]) -> None:
    """A transaction of the four tables that dies just before the store mirror object ``crash_key``."""
    os.environ.update(env)
    import datom_engines as dt

    _die_at_put(lambda key: key == crash_key)
    _write_round(dt.open_project(clone), round_, "crashing publish")
    os._exit(0)


def tx_rounds(
    clone: str, writer: int, rounds: int, storage_options: dict[str, Any], env: dict[str, str]
) -> list[tuple[str, dict[str, str]]]:
    """``rounds`` transactions of an own table plus a shared one; returns (commit, {table: version})."""
    os.environ.update(env)
    import datom_engines as dt

    proj = dt.open_project(clone, storage_options=storage_options)
    out = []
    for r in range(rounds):
        with proj.transaction(message=f"w{writer} r{r}") as tx:
            for table in (f"own{writer}", "shared"):
                tx.write(tx_frame(table, r, writer), table)
        assert tx.result is not None and tx.result.commit is not None
        out.append((tx.result.commit, {res.ref.table: res.version for res in tx.result}))
    return out


def tx_stream(clone: str, first: int, rounds: int, env: dict[str, str]) -> None:
    """Transactions of the four tables, round ``first`` .. ``first + rounds - 1`` (a reader watches)."""
    os.environ.update(env)
    import datom_engines as dt

    proj = dt.open_project(clone)
    for r in range(first, first + rounds):
        _write_round(proj, r, f"round {r}")


def tag_at_barrier(
    clone: str, name: str, barrier: Any, results: Any, storage_options: dict[str, Any], env: dict[str, str]
) -> None:
    """Tag ``name``, waiting at ``barrier`` right before the create-only push (so two clones race it)."""
    os.environ.update(env)
    import datom_engines as dt
    from datom_engines.gitrepo import GitTags

    original = GitTags.push

    def racing_push(self: GitTags, tag: str, sha: str) -> bool:
        barrier.wait(timeout=60)
        return original(self, tag, sha)

    GitTags.push = racing_push  # type: ignore[method-assign]
    proj = dt.open_project(clone, storage_options=storage_options)
    try:
        made = proj.tag(name, message=f"made by {clone}")
    except dt.TagExistsError as exc:
        results.put(("lost", clone, str(exc)))
    except BaseException as exc:  # report anything else to the test
        results.put(("error", clone, repr(exc)))
    else:
        results.put(("won", clone, made.tag_object))


def crash_before_tag_record(clone: str, name: str, env: dict[str, str]) -> None:
    """Tag ``name`` but die after the push, before its store record is written."""
    os.environ.update(env)
    import datom_engines as dt

    _die_at_put(lambda key: key.startswith(".metadata/tags/"))
    dt.open_project(clone).tag(name)
    os._exit(0)
