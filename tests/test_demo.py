"""The README's demo command runs end to end (it is what a new user tries first)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo_runs(tmp_path: Path) -> None:
    env = {**os.environ, "DATOM_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, "-m", "datom_engines.demo", "--workdir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "$ datom sync" in out and "valid: git and store agree" in out
    assert "STUDY-001-001" in out and "25.1" in out  # the corrected value, found by the Polars diff
    assert "mean_alt" in out  # the DuckDB query over datom(...)
    assert "$ datom lineage alt" in out and "├── STUDY1.lb@" in out  # the derived table's parents
    url = next(line.split("Open: ", 1)[1] for line in out.splitlines() if line.startswith("Open: "))
    index = tmp_path / "demo" / "store" / "datom" / ".site" / "index.html"
    assert url == index.as_uri() and index.is_file()  # the catalog's file:// URL, printed
