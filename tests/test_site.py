"""The static catalog: what it writes and where, incremental updates, diffs, summaries, lineage, CLI.

The browser checks (console errors, links, the SVG) are in test_site_browser.py.
"""

from __future__ import annotations

import json
import re
import warnings
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest
from conftest import StoreSpec

import datom_engines as dt
from datom_engines.cli import main
from datom_engines.core import keys
from datom_engines.errors import SiteUpdateWarning
from datom_engines.project import hooks
from datom_engines.site.html import rel

ODD = "lab values (v2)"  # a table name with a space and parentheses


def new_project(tmp_path: Path, store: StoreSpec, remote: str, name: str = "STUDY") -> dt.Project:
    return dt.init(
        tmp_path / f"clone-{name}", name, store=store.url, remote=remote, storage_options=store.storage_options
    )


def lb(values: list[float | None], extra: bool = False) -> pl.DataFrame:
    n = len(values)
    frame = pl.DataFrame(
        {
            "USUBJID": [f"S-{i:03d}" for i in range(n)],
            "VISITNUM": list(range(1, n + 1)),
            "LBORRES": values,
        }
    )
    return frame.with_columns(pl.lit("mg/dL").alias("LBORRESU")) if extra else frame


def dm(n: int = 4) -> pl.DataFrame:
    return pl.DataFrame({"USUBJID": [f"S-{i:03d}" for i in range(n)], "AGE": [30 + i for i in range(n)]})


def all_keys(proj: dt.Project) -> dict[str, bytes]:
    return {k: proj.store.get_bytes(k) for k in proj.store.list_keys()}


class Links(HTMLParser):
    """Every href of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("href", "src") and value:
                self.hrefs.append(value)


def hrefs(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.hrefs


def site_file(proj: dt.Project, path: str) -> str:
    return proj.store.get_bytes(keys.SITE_PREFIX + path).decode("utf-8")


@pytest.fixture
def project(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> dt.Project:
    """lb (two versions), dm, and a derived table with a space and parentheses in its name."""
    proj = new_project(tmp_path, local_store, bare_remote)
    proj.write(lb([1.5, None, 3.0, 4.25]), "lb", message="first <extract>")
    proj.write(dm(), "dm")
    proj.write(lb([1.5, None, 3.5, 4.25], extra=True), "lb", message="second extract")
    proj.write(
        lb([1.5, None, 3.5, 4.25]).join(dm(), on="USUBJID"),
        ODD,
        parents=[proj.parent("lb"), proj.parent("dm")],
        custom={"note": "<script>alert('x')</script>", "cutoff": "2026-01-31"},
        message="joined <b>lb</b> & dm",
    )
    return proj


# ----- what is written, and where ------------------------------------------------------------------------


def test_site_is_written_under_its_own_prefix_only(project: dt.Project) -> None:
    before = all_keys(project)
    head = project.repo.head()
    result = dt.build_site(project)
    after = all_keys(project)
    assert {k: v for k, v in after.items() if not k.startswith(keys.SITE_PREFIX)} == before  # nothing else touched
    site = {k[len(keys.SITE_PREFIX) :] for k in after if k.startswith(keys.SITE_PREFIX)}
    lb_versions = [v.id for v in project.history("lb")]
    expected_pages = {
        "index.html",
        "tags.html",
        *(f"t/{t}/{p}" for t in ("lb", "dm", ODD) for p in ("index.html", "lineage.html")),
        *(f"t/lb/v/{v}.html" for v in lb_versions),
        f"t/dm/v/{project.history('dm')[0].id}.html",
        f"t/{ODD}/v/{project.history(ODD)[0].id}.html",
    }
    assert {p for p in site if p.endswith(".html")} == expected_pages
    assert set(result.written) == expected_pages | {"assets/site.css", "assets/site.js"}
    assert {p for p in site if p.startswith("_state/")} == {
        "_state/site.json",
        *(f"_state/t/{t}.json" for t in ("lb", "dm", ODD)),
    }
    assert result.url == Path(project.store.location.fs_path(".site/index.html")).as_uri()
    assert project.repo.head() == head and not project.repo.status().unstaged and project.validate().valid


def test_site_links_are_relative_and_resolve(project: dt.Project) -> None:
    dt.build_site(project)
    root = Path(project.store.location.fs_path(keys.SITE_PREFIX))
    pages = list(root.rglob("*.html"))
    assert pages
    for page in pages:
        for href in hrefs(page.read_text()):
            if href.startswith("data:"):
                continue
            assert not re.match(r"^[a-z]+:|^/", href), f"{page}: {href} is not relative"
            target = page.parent / href.split("#")[0].replace("%20", " ").replace("%28", "(").replace("%29", ")")
            assert target.resolve().is_file(), f"{page.relative_to(root)} links to missing {href}"


def test_escaping_of_names_messages_and_custom_metadata(project: dt.Project) -> None:
    dt.build_site(project)
    version = project.history(ODD)[0].id
    page = site_file(project, f"t/{ODD}/v/{version}.html")
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "joined &lt;b&gt;lb&lt;/b&gt; &amp; dm" in page and "<b>lb</b>" not in page
    assert f"<h1>{ODD} " in page  # spaces and parentheses are text, not markup
    index = site_file(project, "index.html")
    assert 'href="t/lab%20values%20%28v2%29/index.html"' in index
    assert "first &lt;extract&gt;" in site_file(project, "t/lb/index.html")


def test_times_are_utc_and_ids_short_with_full_in_title(project: dt.Project) -> None:
    dt.build_site(project)
    full = project.history("lb")[0].id
    page = site_file(project, "t/lb/index.html")
    assert re.search(f'title="{full}"[^>]*>{full[:8]}</a>', page)  # the short id links, the full one is the tooltip
    assert f'data-copy="{full}"' in page  # and can be copied
    assert re.search(
        r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</time>', page
    )


# ----- diffs and summaries ---------------------------------------------------------------------------------


def _diff_rows(page: str) -> set[tuple[str, str]]:
    section = page.split("<h2>Changes</h2>", 1)[1].split("<h2>", 1)[0]
    return set(re.findall(r'<strong>([^<]+)</strong></td><td[^>]*><span class="change-(\w+)"', section))


def test_version_diff_agrees_with_proj_diff(project: dt.Project) -> None:
    dt.build_site(project)
    old, new = [v.id for v in reversed(project.history("lb"))]
    expected = project.diff("lb", old, new)
    assert {(c.name, c.change) for c in expected.changed_columns} == {("LBORRES", "changed"), ("LBORRESU", "added")}
    page = site_file(project, f"t/lb/v/{new}.html")
    assert _diff_rows(page) == {(c.name, c.change) for c in expected.changed_columns}
    assert f"rows {expected.nrow_before} → {expected.nrow_after} (unchanged)" in page
    first = site_file(project, f"t/lb/v/{old}.html")
    assert "The first version of this table." in first


def test_retyped_and_removed_columns_as_proj_diff(tmp_path: Path, local_store: StoreSpec, bare_remote: str) -> None:
    proj = new_project(tmp_path, local_store, bare_remote)
    proj.write(pl.DataFrame({"a": [1, 2], "b": ["x", "y"]}, schema={"a": pl.Int32, "b": pl.String}), "t")
    proj.write(pl.DataFrame({"a": [1, 2]}, schema={"a": pl.Int64}), "t")
    dt.build_site(proj)
    old, new = [v.id for v in reversed(proj.history("t"))]
    expected = {(c.name, c.change) for c in proj.diff("t", old, new).changed_columns}
    assert expected == {("a", "retyped"), ("b", "removed")}
    assert _diff_rows(site_file(proj, f"t/t/v/{new}.html")) == expected


def test_column_summary_from_the_footer(project: dt.Project) -> None:
    dt.build_site(project)
    page = site_file(project, f"t/lb/v/{project.history('lb')[-1].id}.html")
    row = re.search(r"<strong>LBORRES</strong>.*?</tr>", page).group(0)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    # column, type, missing, min, max
    assert cells[0:4] == ["<code>Float64</code>", "1", "1.5", "4.25"]
    row = re.search(r"<strong>USUBJID</strong>.*?</tr>", page).group(0)
    assert re.findall(r"<td[^>]*>(.*?)</td>", row)[1:4] == ["0", "S-000", "S-003"]


def test_summary_never_comes_from_corrupted_bytes(project: dt.Project) -> None:
    res = project.resolve("dm")
    path = Path(res.url)
    good = path.read_bytes()
    path.write_bytes(good[:-9] + bytes(9))  # same size, other bytes
    dt.build_site(project)
    page = site_file(project, f"t/dm/v/{res.version}.html")
    assert "does not match its recorded parquet_sha" in page and "<strong>AGE</strong>" not in page
    path.write_bytes(good)  # repaired: the next full build shows the summary (a failure is not cached)
    dt.build_site(project, full=True)
    assert "<strong>AGE</strong>" in site_file(project, f"t/dm/v/{res.version}.html")


def test_summaries_are_cached_by_parquet_sha(project: dt.Project, monkeypatch: pytest.MonkeyPatch) -> None:
    from datom_engines.site import build

    dt.build_site(project)
    calls: list[str] = []
    real = build.summarize_version
    monkeypatch.setattr(build, "summarize_version", lambda store, r: calls.append(r.ref.table) or real(store, r))
    project.write(dm(5), "dm", site=True)
    assert calls == ["dm"]  # only the new object's footer was read


# ----- incremental updates --------------------------------------------------------------------------------


def test_incremental_update_writes_only_changed_pages(project: dt.Project) -> None:
    dt.build_site(project)
    root = Path(project.store.location.fs_path(keys.SITE_PREFIX))
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    result = dt.write(dm(6), "STUDY.dm", message="more subjects", site=True)
    after = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    touched = {str(p.relative_to(root)) for p, t in after.items() if before.get(p) != t}
    pages = {
        "index.html",
        "t/dm/index.html",
        "t/dm/lineage.html",
        f"t/dm/v/{result.version}.html",
    }
    assert touched == pages | {"_state/site.json", "_state/t/dm.json"}
    # the derived table still records the old dm version: its pages did not change
    assert f"t/{ODD}/index.html" not in touched
    again = dt.build_site(project)
    assert again.written == () and again.tables_read == ()


def test_used_by_changes_the_parent_pages(project: dt.Project) -> None:
    dt.build_site(project)
    project.write(lb([1.0, 2.0]), "solo", parents=[project.parent("dm")])
    result = dt.build_site(project)
    assert set(result.written) == {
        "index.html",
        "t/solo/index.html",
        "t/solo/lineage.html",
        f"t/solo/v/{project.history('solo')[0].id}.html",
        "t/dm/index.html",  # dm is now used by solo
        "t/dm/lineage.html",
    }
    used_by = site_file(project, "t/dm/index.html").split("<h2>Used by</h2>", 1)[1].split("</ul>", 1)[0]
    assert {"../solo/index.html", f"../solo/v/{project.history('solo')[0].id}.html"} <= set(hrefs(used_by))


def test_auto_setting_and_site_flag(project: dt.Project) -> None:
    project.write(dm(7), "dm")  # no site yet, no request: nothing is built
    assert not project.store.exists(keys.SITE_PREFIX + "index.html")
    project.write(dm(8), "dm", site=True)  # asked: the site is created
    assert project.store.exists(keys.SITE_PREFIX + "index.html")
    n = len(project.history("dm"))
    project.write(dm(9), "dm")  # auto is off: the site lags
    assert f"History ({n} versions" in site_file(project, "t/dm/index.html")
    assert dt.build_site(project, auto=True).auto
    project.write(dm(10), "dm")  # auto: updated
    assert f"History ({n + 2} versions" in site_file(project, "t/dm/index.html")
    project.write(dm(11), "dm", site=False)  # never when told not to
    assert f"History ({n + 2} versions" in site_file(project, "t/dm/index.html")
    with project.transaction(message="two at once") as tx:  # transactions follow the setting too
        tx.write(dm(12), "dm")
        tx.write(lb([9.0]), "lb")
    assert f"History ({n + 4} versions" in site_file(project, "t/dm/index.html")
    assert not dt.build_site(project, auto=False).auto
    project.write(dm(13), "dm")
    assert f"History ({n + 4} versions" in site_file(project, "t/dm/index.html")


def test_tags_appear_after_tagging(project: dt.Project) -> None:
    dt.build_site(project, auto=True)
    project.tag("dblock-1", message="database <lock>")
    index = site_file(project, "index.html")
    assert "dblock-1" in index and "database &lt;lock&gt;" in index
    tags = site_file(project, "tags.html")
    assert 'id="tag-dblock-1"' in tags and project.resolve("lb").version in tags
    assert "dblock-1" in site_file(project, "t/lb/index.html")


def test_a_failed_site_update_only_warns(project: dt.Project, monkeypatch: pytest.MonkeyPatch) -> None:
    from datom_engines.site import auto

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(auto, "build_into", broken)
    with pytest.warns(SiteUpdateWarning, match="disk full.*datom site"):
        result = project.write(dm(3), "dm", site=True)
    assert result.change == "full" and project.resolve("dm").version == result.version


def test_an_unreadable_setting_is_silent_unless_asked(project: dt.Project, monkeypatch: pytest.MonkeyPatch) -> None:
    from datom_engines.site.target import StoreTarget

    def refused(self: StoreTarget, path: str) -> bytes | None:
        raise dt.StoreAccessDeniedError(f"access to {path} was refused (read)")

    monkeypatch.setattr(StoreTarget, "read", refused)  # as S3 does for a missing key without s3:ListBucket
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        project.write(dm(3), "dm")  # nobody asked for a site: no warning on every write
    with pytest.warns(SiteUpdateWarning, match="refused"):
        project.write(dm(4), "dm", site=True)


def test_hook_is_registered_with_the_write_path() -> None:
    assert "site" in hooks._HOOKS


# ----- other targets and stores ----------------------------------------------------------------------------


def test_out_directory(project: dt.Project, tmp_path: Path) -> None:
    out = tmp_path / "catalog"
    result = dt.build_site(project, out=out)
    assert (out / "index.html").is_file() and result.url == (out / "index.html").as_uri()
    assert not any(k.startswith(keys.SITE_PREFIX) for k in project.store.list_keys())
    with pytest.raises(dt.InvalidArgumentError, match="auto=True"):
        dt.build_site(project, out=out, auto=True)
    from gitserver import make_bare_repo

    other = dt.init(
        tmp_path / "other", "OTHER", store=tmp_path / "ostore", remote=str(make_bare_repo(tmp_path / "o.git"))
    )
    other.write(dm(), "dm")
    with pytest.raises(dt.InvalidArgumentError, match="holds the site of project 'STUDY'"):
        dt.build_site(other, out=out)


def test_by_name_and_for_a_reader(project: dt.Project) -> None:
    reader = dt.connect(project.store.location.store_url)
    result = dt.build_site("STUDY")
    assert result.pages_written > 0 and reader.store.exists(keys.SITE_PREFIX + "index.html")


def test_site_in_s3_store(tmp_path: Path, make_store, bare_remote: str) -> None:  # type: ignore[no-untyped-def]
    spec = make_store("s3")
    proj = new_project(tmp_path, spec, bare_remote)
    proj.write(dm(), "dm")
    result = dt.build_site(proj)
    assert result.url.startswith("s3://") and result.url.endswith("/datom/.site/index.html")
    client = spec.s3.client()
    bucket = spec.url.split("/")[2]
    head = client.head_object(Bucket=bucket, Key="proj/datom/.site/index.html")
    assert head["ContentType"] == "text/html; charset=utf-8"
    css = client.head_object(Bucket=bucket, Key="proj/datom/.site/assets/site.css")
    assert css["ContentType"].startswith("text/css")
    assert proj.validate().valid
    proj.write(dm(5), "dm", site=True)
    assert "5" in proj.store.get_bytes(".site/t/dm/index.html").decode()


# ----- lineage ---------------------------------------------------------------------------------------------


def test_lineage_graph_parents_and_sources(project: dt.Project) -> None:
    graph = dt.lineage(f"STUDY.{ODD}")
    parents = graph.with_role("parent")
    assert sorted(n.table for n in parents) == ["dm", "lb"]
    assert {n.version for n in parents} == {project.resolve("lb").version, project.resolve("dm").version}
    assert len(graph.edges) == 2 and all(e.child == graph.focus for e in graph.edges)


def test_lineage_follows_grandparents_and_other_projects(
    tmp_path: Path, make_store, bare_remote: str, tmp_path_factory: pytest.TempPathFactory
) -> None:  # type: ignore[no-untyped-def]
    from gitserver import make_bare_repo

    raw = new_project(tmp_path, make_store("local"), bare_remote, "RAW")
    raw.write_file(_csv(tmp_path), "src")
    study = new_project(tmp_path, make_store("local"), str(make_bare_repo(tmp_path / "s.git")), "STUDY")
    study.write(dm(), "mid", parents=[raw.parent("src")])
    study.write(dm(2), "top", parents=[study.parent("mid")])
    graph = dt.lineage("STUDY.top")
    by_table = {n.table: n for n in graph.nodes}
    assert by_table["mid"].roles == ("parent",) and by_table["mid"].depth == 1
    assert by_table["src"].project == "RAW" and by_table["src"].known and by_table["src"].depth == 2
    assert "source" in by_table["src"].roles and by_table["src"].table_type == "imported"
    dt.build_site(study)
    page = site_file(study, "t/top/lineage.html")
    assert 'data-project="RAW"' in page and "RAW.src" in page
    dt.unregister("RAW")  # not reachable any more: drawn from what the child recorded
    graph = dt.lineage("STUDY.top")
    src = next(n for n in graph.nodes if n.table == "src")
    assert not src.known and src.version == raw.resolve("src").version


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "src.csv"
    path.write_text("a,b\n1,x\n2,y\n")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``datom ARGS`` through the real entry point: exit code, stdout, stderr."""
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_lineage_cli_formats(project: dt.Project, capsys: pytest.CaptureFixture[str]) -> None:
    repo = ["--repo", str(project.path)]
    code, text, err = run(capsys, "lineage", ODD, *repo)
    assert code == 0, err
    assert text.splitlines()[0].startswith(f"STUDY.{ODD}@")
    assert "├── STUDY.lb@" in text and "└── STUDY.dm@" in text
    dot = run(capsys, "lineage", f"STUDY.{ODD}", "--format", "dot", *repo)[1]
    assert dot.startswith("digraph lineage {") and dot.count(" -> ") == 2
    mermaid = run(capsys, "lineage", ODD, "--format", "mermaid", *repo)[1]
    assert mermaid.startswith("flowchart LR") and mermaid.count(" --> ") == 2
    as_json = json.loads(run(capsys, "lineage", ODD, "--format", "json", *repo)[1])
    assert {n["table"] for n in as_json["nodes"] if "parent" in n["roles"]} == {"lb", "dm"}
    assert json.loads(run(capsys, "lineage", ODD, "--json", *repo)[1]) == as_json
    old = project.history("lb")[-1].id
    first = run(capsys, "lineage", "lb", "--version", old[:7], "--format", "json", *repo)[1]
    assert json.loads(first)["focus"] == f"STUDY.lb@{old}"
    code, _, err = run(capsys, "lineage", "nope", *repo)
    assert code == 1 and "not found" in err and "hint:" in err
    assert run(capsys, "lineage", "lb", "--format", "png", *repo)[0] == 2


def test_site_cli(project: dt.Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = ["--repo", str(project.path)]
    code, out, err = run(capsys, "site", *repo)
    assert code == 0, err
    assert "Open: file://" in out and "page(s) of STUDY" in out
    again = json.loads(run(capsys, "site", "--json", *repo)[1])
    assert again["pages_written"] == 0 and again["url"].startswith("file://")
    assert "updated after every write" in run(capsys, "site", "--auto", *repo)[1]
    assert run(capsys, "site", "--out", str(tmp_path / "o"), *repo)[0] == 0
    assert (tmp_path / "o" / "index.html").is_file()
    assert run(capsys, "site", "--out", str(tmp_path / "o"), "--auto", *repo)[0] == 2
    code, out, err = run(capsys, "site", "--store", project.store.location.store_url)
    assert code == 0, err


def test_rel_links() -> None:
    assert rel("index.html", "t/a b/index.html") == "t/a%20b/index.html"
    assert rel("t/x/v/1.html", "t/x/v/2.html") == "2.html"
    assert rel("t/x/v/1.html", "t/y (1)/v/2.html") == "../../y%20%281%29/v/2.html"
    assert rel("t/x/index.html", "tags.html#tag-a") == "../../tags.html#tag-a"
    assert rel("tags.html", "assets/site.css") == "assets/site.css"


def test_no_warning_without_a_site(project: dt.Project) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        project.write(dm(2), "dm")
