"""The demo project's static site in a real headless Chromium (Debian's package, driven by playwright).

Checks what a reader sees: no console errors on any page, every table listed, the lineage SVG of the
derived table with one node per parent, every link (HTML and SVG) leading to a page that loads, sorting
and filtering on the index, and the same site served over HTTP from the store's folder (as an object
store's static website hosting serves it). Screenshots go to ``test-artifacts/site/`` (git-ignored).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "site"
CHROMIUM = os.environ.get("DATOM_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo run once (as `python3 dev.py demo` does): its store holds the site."""
    work = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "DATOM_CACHE_DIR": str(work / "cache")}
    proc = subprocess.run(
        [sys.executable, "-m", "datom_engines.demo", "--workdir", str(work / "demo")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return work / "demo" / "store" / "datom"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A persistent Chromium context with a fresh user-data-dir."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `python3 dev.py test` installs Debian's chromium (run it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            args=FLAGS,
            headless=True,
            viewport={"width": 1366, "height": 768},
        )
        try:
            yield context
        finally:
            context.close()


class Visitor:
    """Opens pages in one tab and records console errors and uncaught exceptions."""

    def __init__(self, context: Any) -> None:
        self.page = context.new_page()
        self.errors: list[str] = []
        self.page.on(
            "console", lambda m: self.errors.append(f"{self.page.url}: {m.text}") if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"{self.page.url}: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed request {r.url}"))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"{self.page.url}: {message.text}")

    def open(self, url: str) -> None:
        response = self.page.goto(url, wait_until="load")
        assert response is None or response.ok, f"{url}: HTTP {response.status}"
        assert self.page.title(), f"{url} has no title (not a page?)"

    def links(self) -> list[str]:
        """Every link of the page (HTML and SVG ``<a>``), absolute."""
        return self.page.eval_on_selector_all(
            "a[href]", "els => els.map(a => new URL(a.getAttribute('href'), location.href).href)"
        )

    def close(self) -> None:
        self.page.close()


def test_every_page_loads_without_errors_and_every_link_resolves(demo: Path, browser: Any) -> None:
    site = demo / ".site"
    start = (site / "index.html").as_uri()
    prefix = site.as_uri() + "/"
    visitor = Visitor(browser)
    seen: set[str] = set()
    todo = [start]
    anchors: list[tuple[str, str]] = []
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        visitor.open(url)
        for link in visitor.links():
            target, fragment = urldefrag(link)
            assert target.startswith(prefix), f"{url} links outside the site: {link}"
            if fragment:
                anchors.append((target, fragment))
            if target not in seen:
                todo.append(target)
    for target, fragment in anchors:
        visitor.open(target)
        assert visitor.page.locator(f"[id='{fragment}']").count() == 1, f"{target} has no #{fragment}"
    visitor.close()
    assert visitor.errors == []
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    assert {s[len(prefix) :] for s in seen} == pages  # every page is reachable from the index


def test_index_lists_every_table_and_sorts_and_filters(demo: Path, browser: Any) -> None:
    manifest = json.loads((demo / ".metadata" / "manifest.json").read_text())
    visitor = Visitor(browser)
    visitor.open((demo / ".site" / "index.html").as_uri())
    page = visitor.page
    listed = page.eval_on_selector_all("#tables tbody tr td:first-child a", "els => els.map(a => a.textContent)")
    assert sorted(listed) == sorted(manifest["tables"]) == ["ae", "alt", "dm", "ex", "lb"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "index.png"), full_page=True)

    def column(i: int) -> list[str]:
        return page.eval_on_selector_all(
            f"#tables tbody tr:not([hidden]) td:nth-child({i})", "els => els.map(td => td.textContent.trim())"
        )

    page.click("#tables th:nth-child(3)")  # Rows
    rows = [int(v.replace(",", "")) for v in column(3)]
    assert rows == sorted(rows)
    page.click("#tables th:nth-child(3)")
    assert [int(v.replace(",", "")) for v in column(3)] == sorted(rows, reverse=True)
    page.fill("input[data-filter=tables]", "ex")
    assert column(1) == ["ex"]
    page.fill("input[data-filter=tables]", "lb")
    assert column(1) == ["lb", "alt"]  # alt is built from lb
    page.fill("input[data-filter=tables]", "")
    assert len(column(1)) == 5
    visitor.close()
    assert visitor.errors == []


def test_lineage_svg_has_a_node_per_parent(demo: Path, browser: Any) -> None:
    meta = json.loads((demo / "alt" / ".metadata" / "metadata.json").read_text())
    parents = meta["parents"]
    assert {p["table"] for p in parents} == {"lb", "dm"}
    visitor = Visitor(browser)
    visitor.open((demo / ".site" / "t" / "alt" / "lineage.html").as_uri())
    page = visitor.page
    nodes = page.locator("svg.lineage g.node.parent")
    assert nodes.count() == len(parents)
    assert sorted(nodes.evaluate_all("els => els.map(g => g.dataset.table)")) == sorted(p["table"] for p in parents)
    assert page.locator("svg.lineage g.node.focus").count() == 1
    assert page.locator("svg.lineage path.edge").count() == len(parents)
    box = page.locator("svg.lineage").bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 80  # drawn, not collapsed
    page.screenshot(path=str(ARTIFACTS / "lineage-alt.png"), full_page=True)
    # a parent node is a link to that parent version's page
    page.locator("svg.lineage a").filter(has=page.locator("g.node.parent[data-table=lb]")).click()
    page.wait_for_load_state()
    lb_version = next(p["version"] for p in parents if p["table"] == "lb")
    assert page.url.endswith(f"/t/lb/v/{lb_version}.html")
    page.screenshot(path=str(ARTIFACTS / "version-lb.png"), full_page=True)
    visitor.open((demo / ".site" / "t" / "lb" / "index.html").as_uri())
    page.screenshot(path=str(ARTIFACTS / "table-lb.png"), full_page=True)
    visitor.close()
    assert visitor.errors == []


def test_served_over_http_like_static_hosting(demo: Path, browser: Any) -> None:
    store_root = demo.parent  # what a bucket's website endpoint serves: the site keeps its key prefix
    handler = functools.partial(_QuietHandler, directory=str(store_root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/datom/.site/"
        visitor = Visitor(browser)
        visitor.open(base + "index.html")
        visitor.page.click("#tables a >> text=alt")
        visitor.page.wait_for_load_state()
        assert visitor.page.url == base + "t/alt/index.html"
        visitor.page.click("text=Lineage graph →")
        visitor.page.wait_for_load_state()
        assert visitor.page.locator("svg.lineage g.node.parent").count() == 2
        visitor.close()
        assert visitor.errors == []  # no favicon or asset 404 either
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass
