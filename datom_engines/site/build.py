"""Building a project's static catalog, in full or incrementally (see :mod:`.state` for how).

:func:`build_site` is the public entry; :func:`update_store_site` is what runs after a write. Pages are
rendered from metadata only (plus parquet footers for the column summaries, read through the verified
read path and cached by ``parquet_sha``), and a page is written only when its bytes differ from what the
site already holds, so a build after one write touches only the pages that write changed.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..core.names import TableRef
from ..core.snapshots import Tag
from ..errors import DatomError, InvalidArgumentError
from ..project.diff import VersionDiff, VersionSide, compare_versions
from ..project.reading import read_manifest, resolve_entry
from ..project.tags import list_tags
from ..storage.objectstore import ObjectStore
from . import pages
from .assets import CSS, JS
from .catalog import Catalog
from .html import CSS_PATH, INDEX_PATH, JS_PATH, TAGS_PATH, lineage_path, table_path, version_path
from .lineage import LineageGraph, build_lineage
from .model import TableModel, VersionRecord
from .pages import TableRow
from .state import FORMAT, SITE_STATE, SiteState, TableEntry, fingerprint, table_state_path
from .summary import TableSummary, summarize_version
from .target import DirTarget, StoreTarget
from .writer import PageWriter

SUMMARY_THREADS = 8  # remote stores: summaries wait on the network


@dataclass(frozen=True, slots=True)
class SiteResult:
    """What a build did: where the site is, which files it wrote, and how long it took.

    ``written`` lists the pages (and assets) whose bytes changed; ``state_files`` the build-state files
    rewritten; ``unchanged`` counts pages rendered again but identical, so not written.
    """

    project: str
    url: str
    location: str
    written: tuple[str, ...]
    state_files: tuple[str, ...]
    unchanged: int
    tables_read: tuple[str, ...]
    seconds: float
    auto: bool

    @property
    def pages_written(self) -> int:
        """How many pages (HTML files) were written."""
        return sum(1 for p in self.written if p.endswith(".html"))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "project": self.project,
            "url": self.url,
            "location": self.location,
            "written": list(self.written),
            "pages_written": self.pages_written,
            "state_files": list(self.state_files),
            "unchanged": self.unchanged,
            "tables_read": list(self.tables_read),
            "seconds": round(self.seconds, 3),
            "auto": self.auto,
        }


def _tags(store: ObjectStore, project: str) -> list[Tag]:
    try:
        return list_tags(store, project)
    except DatomError as exc:
        warnings.warn(f"the tags of {project} could not be read, the site shows none: {exc.message}", stacklevel=3)
        return []


class _Build:
    """One build of one project's site into one target."""

    def __init__(
        self,
        store: ObjectStore,
        project: str,
        target: StoreTarget | DirTarget,
        *,
        full: bool,
    ) -> None:
        self.store = store
        self.project = project
        self.target = target
        manifest = read_manifest(store)
        name = manifest.get("project_name")
        if isinstance(name, str) and name and name != project:
            raise InvalidArgumentError(f"the store holds project {name!r}, not {project!r}")
        self.manifest = manifest
        self.entries: dict[str, dict[str, Any]] = {t: dict(e or {}) for t, e in (manifest.get("tables") or {}).items()}
        old = SiteState.load(target)
        if old is not None and old.project != project:
            raise InvalidArgumentError(
                f"{target} holds the site of project {old.project!r}, not {project!r}",
                hint="write each project's site into its own directory",
            )
        self.old = old
        self.full = full or old is None
        self.catalog = Catalog(store, project, target, self.entries, reuse=not self.full)
        self.writer = PageWriter(target)
        self.tags = _tags(store, project)
        self.failed: dict[tuple[str, str], TableSummary] = {}
        self.pool = ThreadPoolExecutor(SUMMARY_THREADS, thread_name_prefix="datom-site-summary")

    # ----- what changed ------------------------------------------------------------------------------
    def _moved(self) -> list[str]:
        """Tables whose manifest entry differs from the one the pages were built from."""
        if self.full or self.old is None:
            return list(self.entries)
        return [t for t, e in self.entries.items() if t not in self.old.tables or self.old.tables[t].entry != e]

    def _row(self, table: str, model: TableModel | None) -> TableRow:
        entry = self.entries[table]
        if model is None and self.old is not None and table in self.old.tables:
            return self.old.tables[table].row
        size = entry.get("size_bytes")
        return TableRow(
            table,
            model.current if model else None,
            int(entry.get("version_count") or (len(model.versions) if model else 0)),
            float(size) if isinstance(size, int | float) and not isinstance(size, bool) else None,
            entry.get("last_updated") if isinstance(entry.get("last_updated"), str) else None,
            entry.get("original_format") if isinstance(entry.get("original_format"), str) else None,
        )

    # ----- summaries and diffs -------------------------------------------------------------------------
    def _summary(self, table: str, rec: VersionRecord | None, entry: Mapping[str, Any] | None) -> TableSummary | None:
        if rec is None:
            return None
        cache = self.catalog.state(table).summaries
        key = rec.parquet_sha or f"data:{rec.data_sha}"
        if key in cache:
            return cache[key]
        if (table, key) in self.failed:
            return self.failed[(table, key)]
        history_entry = dict(entry) if entry else {"version": rec.id, "data_sha": rec.data_sha}
        history_entry.setdefault("parquet_sha", rec.parquet_sha)
        summary = self._summarize(table, history_entry)
        if summary.error is None:
            cache[key] = summary
        else:  # a missing or bad object may be repaired: not kept in the state, asked again next build
            self.failed[(table, key)] = summary
        return summary

    def _diff(self, table: str, rec: VersionRecord, previous: VersionRecord | None) -> VersionDiff | None:
        if previous is None:
            return None
        sides = []
        for v in (previous, rec):
            summary = self._summary(table, v, None)
            types = summary.types() if summary is not None else {}
            sides.append(VersionSide(v.id, v.data_sha, self.catalog.metadata(table, v.id), types))
        return compare_versions(TableRef(self.project, table), sides[0], sides[1])

    def _graph(self, table: str, version: str, children: Sequence[tuple[str, str]] = ()) -> LineageGraph:
        return build_lineage(
            self.project,
            table,
            version,
            self.catalog.record,
            find_content=self.catalog.find_content,
            children=[(self.project, t, v) for t, v in children],
        )

    # ----- version pages -----------------------------------------------------------------------------
    def _plans(self, moved: Sequence[str]) -> list[tuple[TableModel, list[int]]]:
        """Each moved table's model (read again) and the positions of its versions that need a page."""
        plans = []
        for table in moved:
            model = self.catalog.refresh(table)
            hashes = self.catalog.state(table).pages
            fresh = [
                i for i, rec in enumerate(model.versions) if self.full or version_path(table, rec.id) not in hashes
            ]
            plans.append((model, fresh))
        return plans

    def _fill_summaries(self, plans: Sequence[tuple[TableModel, list[int]]]) -> None:
        """On a remote store, compute ahead (on threads: each one waits on the network) the summaries the
        new pages need that no cache holds. A local store's are computed when first asked for."""
        if self.store.location.is_local:
            return
        todo: dict[tuple[str, str], dict[str, Any]] = {}
        for model, fresh in plans:
            cache = self.catalog.state(model.name).summaries
            entries = self.catalog.histories.get(model.name, {})
            for j in {j for i in fresh for j in (i, i + 1) if j < len(model.versions)}:
                rec = model.versions[j]
                key = rec.parquet_sha or f"data:{rec.data_sha}"
                if key not in cache and (model.name, key) not in todo:
                    entry = dict(entries.get(rec.id) or {"version": rec.id, "data_sha": rec.data_sha})
                    entry.setdefault("parquet_sha", rec.parquet_sha)
                    todo[(model.name, key)] = entry
        items = list(todo.items())
        results = self.pool.map(lambda item: self._summarize(item[0][0], item[1]), items)
        for ((table, key), _), summary in zip(items, results, strict=True):
            if summary.error is None:
                self.catalog.state(table).summaries[key] = summary

    def _summarize(self, table: str, entry: Mapping[str, Any]) -> TableSummary:
        return summarize_version(self.store, resolve_entry(self.store, self.project, table, dict(entry)))

    def _version_pages(self, plans: Sequence[tuple[TableModel, list[int]]]) -> None:
        """Render and write the new version pages (a version page never changes once written)."""
        for model, fresh in plans:
            table, versions = model.name, model.versions
            hashes = self.catalog.state(table).pages
            entries = self.catalog.histories.get(table, {})
            for i in fresh:
                rec = versions[i]
                previous = versions[i + 1] if i + 1 < len(versions) else None
                text = pages.version_page(
                    self.project,
                    table,
                    rec,
                    previous,
                    self._diff(table, rec, previous),
                    self._summary(table, rec, entries.get(rec.id)),
                    self._graph(table, rec.id),
                )
                self.writer.put(version_path(table, rec.id), text, hashes)

    def _table_pages(self, table: str, children: Sequence[tuple[str, str]], tags: Mapping[str, list[str]]) -> None:
        model = self.catalog.model(table)
        if model is None:
            model = self.catalog.refresh(table)
        hashes = self.catalog.state(table).pages
        cur = model.current
        summary = self._summary(table, cur, None)
        self.writer.put(table_path(table), pages.table_page(self.project, model, children, tags, summary), hashes)
        graph = self._graph(table, cur.id, children) if cur is not None else None
        self.writer.put(lineage_path(table), pages.lineage_page(self.project, table, cur, graph), hashes)

    def close(self) -> None:
        """Stop the build's threads."""
        self.pool.shutdown(wait=True)
        self.writer.close()

    def run(self, auto: bool | None) -> SiteResult:
        """Build, write what changed, then the state; see the module docstring."""
        started = time.perf_counter()
        moved = self._moved()
        plans = self._plans(moved)
        self._fill_summaries(plans)
        self._version_pages(plans)
        rows = {t: self._row(t, self.catalog.models.get(t)) for t in self.entries}
        children: dict[str, list[tuple[str, str]]] = {t: [] for t in self.entries}
        for t, row in rows.items():
            for p in (row.current.parents or ()) if row.current else ():
                if p.project == self.project and p.table in children and (t, row.current.id) not in children[p.table]:
                    children[p.table].append((t, row.current.id))
        tags_by_table: dict[str, dict[str, list[str]]] = {t: {} for t in self.entries}
        for tag in self.tags:
            for t, entry in tag.tables.items():
                if t in tags_by_table:
                    tags_by_table[t].setdefault(entry.version, []).append(tag.name)
        new_tables: dict[str, TableEntry] = {}
        for t in self.entries:
            stamp = fingerprint([FORMAT, self.entries[t], sorted(children[t]), tags_by_table[t]])
            old = self.old.tables.get(t) if self.old is not None else None
            if t in moved or old is None or old.fingerprint != stamp:
                self._table_pages(t, children[t], tags_by_table[t])
            new_tables[t] = TableEntry(self.entries[t], rows[t], stamp)
        keep = self.old is not None and not self.full
        state = SiteState(self.project, self.old.auto if self.old else False, new_tables)
        state.pages = dict(self.old.pages) if keep and self.old is not None else {}
        if auto is not None:
            state.auto = auto
        self.writer.put(CSS_PATH, CSS, state.pages)
        self.writer.put(JS_PATH, JS, state.pages)
        index = pages.index_page(self.project, list(rows.values()), self.tags, self.manifest)
        self.writer.put(INDEX_PATH, index, state.pages)
        current = {t: (r.current.id if r.current else None) for t, r in rows.items()}
        self.writer.put(TAGS_PATH, pages.tags_page(self.project, self.tags, current), state.pages)
        self.writer.flush()  # every page is in place before the state says so
        state_files = [table_state_path(t) for t, ts in self.catalog.states.items() if ts.save(self.target, t)]
        state.save(self.target)
        state_files.append(SITE_STATE)
        return SiteResult(
            self.project,
            self.target.url(INDEX_PATH),
            str(self.target),
            tuple(self.writer.written),
            tuple(state_files),
            self.writer.unchanged,
            tuple(moved),
            time.perf_counter() - started,
            state.auto,
        )


def build_into(
    store: ObjectStore,
    project: str,
    target: StoreTarget | DirTarget,
    *,
    full: bool = False,
    auto: bool | None = None,
) -> SiteResult:
    """Build (or update) the site of ``project`` (its store ``store``) into ``target``."""
    build = _Build(store, project, target, full=full)
    try:
        return build.run(auto)
    finally:
        build.close()
