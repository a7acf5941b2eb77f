"""Functions run in child processes by the concurrency and crash tests (importable by spawn)."""

from __future__ import annotations

import os
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


def crash_during_publish(clone: str, data_path: str, crash_key: str, env: dict[str, str]) -> None:
    """Write a table but die (os._exit) just before the store mirror object ``crash_key`` is written."""
    os.environ.update(env)
    import datom_engines as dt
    from datom_engines.storage.objectstore import ObjectStore

    original = ObjectStore.put_bytes

    def dying_put(self: ObjectStore, key: str, data: bytes, **kw: Any) -> None:
        if key == crash_key:
            os._exit(137)
        original(self, key, data, **kw)

    ObjectStore.put_bytes = dying_put  # type: ignore[method-assign]
    proj = dt.open_project(clone)
    proj.write(pl.read_parquet(data_path), "lb", message="crashing write")
    os._exit(0)  # not reached when the crash key is written


def crash_before_push(clone: str, data_path: str, env: dict[str, str]) -> None:
    """Write a table but die after the parquet upload, before the git push."""
    os.environ.update(env)
    import datom_engines as dt
    from datom_engines.gitrepo import GitRepo

    def dying_push(self: GitRepo, commit: str, *, expected_remote: str | None) -> bool:
        os._exit(137)

    GitRepo.push = dying_push  # type: ignore[method-assign]
    proj = dt.open_project(clone)
    proj.write(pl.read_parquet(data_path), "lb", message="never pushed")
    os._exit(0)
