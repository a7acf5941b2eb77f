"""A reader process for the no-git test: ``python reader_child.py '<json args>'``.

Before anything is imported it installs an audit hook that records every file opened, every process
spawned and every socket connection. It then reads a project through the public API (governance or a
store URL), and prints one JSON object: what it read and what the audit hook saw.
"""

from __future__ import annotations

import json
import sys

events: dict[str, list] = {"open": [], "spawn": [], "connect": []}


def _audit(event: str, args: tuple) -> None:
    if event == "open":
        path = args[0]
        if isinstance(path, bytes):
            path = path.decode("utf-8", "replace")
        if isinstance(path, str):
            events["open"].append(path)
    elif event in ("subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.system", "os.fork"):
        events["spawn"].append(event)
    elif event == "socket.connect":
        address = args[1]
        events["connect"].append(list(address) if isinstance(address, tuple) else str(address))


sys.addaudithook(_audit)


def main() -> None:
    opts = json.loads(sys.argv[1])
    import polars as pl

    import datom_engines as dt

    if opts.get("governance"):
        dt.use_governance(opts["governance"], storage_options=opts.get("storage_options"))
        proj = dt.project(opts["project"])
    else:
        proj = dt.connect(opts["store"], storage_options=opts.get("storage_options"))
    table = opts["table"]
    out: dict = {
        "project": proj.name,
        "role": proj.role,
        "tables": [t.name for t in proj.tables()],
        "history": [v.id for v in proj.history(table)],
    }
    out["rows"] = {v: dt.read(f"{proj.name}.{table}", version=v).num_rows for v in out["history"]}
    lazy = pl.scan_datom(f"{proj.name}.{table}")  # type: ignore[attr-defined]
    query = lazy.filter(pl.col("id") >= opts["min_id"]).select("id", "value")
    out["plan"] = query.explain()
    out["scan_rows"] = query.collect().height
    try:
        proj.write(pl.DataFrame({"id": [1]}), table)
    except dt.ReadOnlyError as exc:
        out["write_error"] = str(exc)
    out["events"] = events
    sys.stdout.write("\n@@RESULT@@" + json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
