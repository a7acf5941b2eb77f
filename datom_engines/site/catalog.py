"""The metadata a build works from: each table's model, loaded once, from the store or from the site state.

A table whose manifest entry moved since the last build is read again from the store (its history,
and the snapshots of versions the state does not hold yet); any other table is taken from the state
without touching the store. Lineage lookups go through here first, then to the stores
(:class:`~datom_engines.site.lineage.StoreLookup`, other projects included).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import DatomError
from ..project.reading import read_history, read_snapshot
from ..storage.objectstore import ObjectStore
from .lineage import StoreLookup
from .model import TableModel, VersionRecord
from .state import TableState
from .target import DirTarget, StoreTarget


class Catalog:
    """Table models of one project for one build (see the module docstring)."""

    def __init__(
        self,
        store: ObjectStore,
        project: str,
        target: StoreTarget | DirTarget,
        entries: Mapping[str, Mapping[str, Any]],
        *,
        reuse: bool,
    ) -> None:
        self.store = store
        self.project = project
        self.target = target
        self.entries = entries
        self.reuse = reuse  # False: a full build, every snapshot read again
        self.models: dict[str, TableModel] = {}
        self.states: dict[str, TableState] = {}
        self.metas: dict[tuple[str, str], Mapping[str, Any]] = {}  # snapshots read in this build
        self.histories: dict[str, dict[str, dict[str, Any]]] = {}  # table -> version -> history entry
        self.stores = StoreLookup(store, project)

    def state(self, table: str) -> TableState:
        """The table's build state (loaded once; empty when there is none or the build is full)."""
        if table not in self.states:
            found = TableState.load(self.target, table) if self.reuse else None
            self.states[table] = found or TableState()
        return self.states[table]

    def refresh(self, table: str) -> TableModel:
        """Read the table's history from the store; snapshots only for versions the state lacks."""
        known = {v.id: v for v in self.state(table).versions}
        records = []
        entries = read_history(self.store, self.project, table)
        self.histories[table] = {str(e.get("version", "")): e for e in entries}
        for entry in entries:
            vid = str(entry.get("version", ""))
            old = known.get(vid)
            if old is not None and old.parquet_sha == (entry.get("parquet_sha") or old.parquet_sha):
                records.append(old)
                continue
            records.append(VersionRecord.from_metadata(vid, self.metadata(table, vid), entry))
        model = TableModel(table, dict(self.entries.get(table) or {}), tuple(records))
        self.models[table] = model
        self.state(table).versions = list(records)
        return model

    def model(self, table: str) -> TableModel | None:
        """The table's model: refreshed in this build, else from its state (None: not in the state)."""
        if table in self.models:
            return self.models[table]
        state = self.state(table)
        if not state.versions or table not in self.entries:
            return None
        model = TableModel(table, dict(self.entries[table]), tuple(state.versions))
        self.models[table] = model
        return model

    def metadata(self, table: str, version: str) -> Mapping[str, Any]:
        """A version's metadata snapshot (read once per build; ``{}`` when it is missing)."""
        key = (table, version)
        if key not in self.metas:
            try:
                self.metas[key] = read_snapshot(self.store, self.project, table, version)
            except DatomError:
                self.metas[key] = {}
        return self.metas[key]

    # ----- lineage lookups -------------------------------------------------------------------------
    def record(self, project: str, table: str, version: str) -> VersionRecord | None:
        """A version's record: this project's from the models, other projects' from their stores."""
        if project == self.project:
            model = self.model(table)
            found = model.record(version) if model is not None else None
            if found is not None:
                return found
        return self.stores.record(project, table, version)

    def find_content(self, project: str, table: str, data_sha: str) -> str | None:
        """The oldest version of ``project.table`` holding ``data_sha``."""
        if project == self.project:
            model = self.model(table)
            found = model.first_with_data(data_sha) if model is not None else None
            if found is not None:
                return found.id
        return self.stores.find_content(project, table, data_sha)
