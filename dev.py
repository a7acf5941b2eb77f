#!/usr/bin/env python3
"""Set up a local virtualenv (.venv) and run the demo or the test suite.

    python3 dev.py demo            # install, then run the end-to-end demo in ./.demo
    python3 dev.py test [args...]  # install, then run the whole test suite (extra args go to pytest)

Needs only Python >= 3.11 and git. The install step re-runs when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".datom-installed"


def ensure_env() -> None:
    """Create .venv and install the package with its test extras (only when something changed)."""
    if sys.version_info < (3, 11):  # noqa: UP036 (dev.py may run under an older python3)
        sys.exit(f"datom_engines needs Python >= 3.11, this is {sys.version.split()[0]}")
    if not PY.exists():
        print(f"creating virtualenv {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == want:
        return
    print("installing datom_engines and its test dependencies into .venv ...", flush=True)
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(want)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test"):
        print(__doc__)
        return 2
    ensure_env()
    if argv[0] == "demo":
        return subprocess.call([str(PY), "-m", "datom_engines.demo", "--workdir", str(ROOT / ".demo"), *argv[1:]])
    code = subprocess.call([str(PY), "-m", "pytest", *argv[1:]], cwd=ROOT)
    if code == 5:
        print("pytest collected no tests: treating that as a failure", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
