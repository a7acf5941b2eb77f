#!/usr/bin/env python3
"""Set up a local virtualenv (.venv) and run the demo or the test suite.

    python3 dev.py demo            # install, then run the end-to-end demo in ./.demo
    python3 dev.py test [args...]  # install, then run the whole test suite (extra args go to pytest)

Needs only Python >= 3.11 and git. The install step re-runs when pyproject.toml changes. ``test`` also
makes sure Debian's chromium is installed (apt-get, as root) for the browser tests of the static site.
"""

from __future__ import annotations

import hashlib
import os
import shutil
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


def precompile() -> None:
    """Byte-compile the package (an editable install is not compiled, and with PYTHONDONTWRITEBYTECODE set
    Python never writes the cache itself, so every ``datom`` command would compile its modules again:
    about 0.07 s of each command's start). Only changed modules are compiled."""
    subprocess.run([str(PY), "-m", "compileall", "-q", str(ROOT / "datom_engines")], check=True)


CHROMIUM = "/usr/bin/chromium"  # Debian's package; the browser tests drive it with playwright


def ensure_chromium() -> None:
    """Install Debian's chromium for the browser tests when it is missing (apt-get, as root).

    Never downloads a browser of its own. Fails set-up with a clear message when it cannot be installed,
    rather than letting the browser tests be skipped.
    """
    if os.path.exists(CHROMIUM) or os.environ.get("DATOM_CHROMIUM"):
        return
    apt = shutil.which("apt-get")
    if apt is None or os.name != "posix":
        sys.exit(
            "the browser tests need Chromium at /usr/bin/chromium (Debian's chromium package) and this machine "
            "has no apt-get: install Chromium, or set DATOM_CHROMIUM=/path/to/chromium"
        )
    if os.geteuid() != 0:
        sys.exit("the browser tests need Debian's chromium package: run `sudo apt-get install chromium`, then retry")
    print("installing Debian's chromium for the browser tests (apt-get, a few minutes) ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    quiet = {"stdout": subprocess.DEVNULL, "env": env}
    try:
        subprocess.run([apt, "-qq", "update"], check=True, **quiet)
        subprocess.run([apt, "-qq", "install", "-y", "--no-install-recommends", "chromium"], check=True, **quiet)
    except subprocess.CalledProcessError as exc:
        sys.exit(f"could not install chromium with apt-get (exit code {exc.returncode}); the browser tests need it")
    if not os.path.exists(CHROMIUM):
        sys.exit(f"apt-get installed chromium but {CHROMIUM} is missing; the browser tests need it")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test"):
        print(__doc__)
        return 2
    ensure_env()
    precompile()
    if argv[0] == "test":
        ensure_chromium()
    if argv[0] == "demo":
        return subprocess.call([str(PY), "-m", "datom_engines.demo", "--workdir", str(ROOT / ".demo"), *argv[1:]])
    code = subprocess.call([str(PY), "-m", "pytest", *argv[1:]], cwd=ROOT)
    if code == 5:
        print("pytest collected no tests: treating that as a failure", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
