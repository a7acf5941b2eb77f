"""Register the Polars integration when Polars is imported, before or after :mod:`datom_engines`.

``import datom_engines`` must not import Polars (the ``datom`` command would pay ~0.25 s for it), yet
``pl.scan_datom`` must work for anyone who imported both, in either order. So: when Polars is already
loaded, :mod:`datom_engines.polars` is imported at once; otherwise a finder on ``sys.meta_path`` waits
for the import of ``polars`` and imports the adapter right after Polars' own module has run.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

ADAPTER = "datom_engines.polars"


def _register() -> None:
    importlib.import_module(ADAPTER)


class _LoaderThenRegister(importlib.abc.Loader):
    """Runs Polars' own loader, then imports the adapter (which registers the namespaces)."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _register()

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ... of the real loader
        return getattr(self._loader, name)


class _PolarsFinder(importlib.abc.MetaPathFinder):
    """Finds ``polars`` through the other finders and wraps its loader; removes itself when used."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "polars":
            return None
        _remove_finder()
        spec = importlib.util.find_spec(fullname)  # the other finders, as the import would use them
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _LoaderThenRegister(spec.loader)
        return spec


def _remove_finder() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _PolarsFinder)]


def register_when_polars_loads() -> None:
    """Import the Polars adapter now if Polars is loaded, else as soon as it is."""
    if "polars" in sys.modules:
        _register()
    elif not any(isinstance(f, _PolarsFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _PolarsFinder())
