"""Small synthetic clinical tables (CDISC-like: dm, ex, lb, ae) bundled for demos and tests."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DOMAINS = ("dm", "ex", "lb", "ae")


def example_path(domain: str) -> Path:
    """Path of the bundled CSV of one domain (``dm``, ``ex``, ``lb`` or ``ae``)."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown example domain {domain!r}; choose one of {', '.join(DOMAINS)}")
    return Path(str(resources.files(__name__).joinpath(f"{domain}.csv")))
