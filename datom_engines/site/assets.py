"""The site's one stylesheet and its one small script (sortable and filterable tables, copying full ids).

No framework and nothing fetched from elsewhere: both files are written into the site next to the pages.
"""

from __future__ import annotations

CSS = """\
:root {
  --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff; --soft: #f6f8fa; --accent: #0b5cad;
  --focus: #0b5cad; --parent: #dcebfb; --ancestor: #eef1f4; --source: #e3f4e6; --child: #fdf1dc;
  color-scheme: light;
}
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--fg); background: var(--bg); line-height: 1.45; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
header.top { background: #12263f; color: #fff; padding: .55rem 1.25rem; display: flex; gap: .5rem;
  align-items: baseline; flex-wrap: wrap; }
header.top a { color: #fff; }
header.top .brand { font-weight: 650; margin-right: .5rem; }
header.top .sep { opacity: .6; }
main { max-width: 1280px; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.55rem; margin: .4rem 0 .2rem; word-break: break-word; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 .5rem; padding-bottom: .25rem; border-bottom: 1px solid var(--line); }
p.lead { color: var(--muted); margin: 0 0 .8rem; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(205px, 1fr)); gap: .5rem .9rem;
  margin: .6rem 0 1rem; }
.facts div { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: .4rem .6rem;
  min-width: 0; }
.facts dt { font-size: .78rem; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
.facts dd { margin: 0; font-weight: 550; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; }
table.grid { border-collapse: collapse; width: 100%; font-size: .92rem; }
table.grid th, table.grid td { padding: .36rem .6rem; text-align: left; border-bottom: 1px solid var(--line);
  vertical-align: top; }
table.grid th { background: var(--soft); font-weight: 600; white-space: nowrap; position: sticky; top: 0; }
table.grid tbody tr:nth-child(even) { background: #fbfcfd; }
table.grid tbody tr:hover { background: #eef5fd; }
table.grid td.num, table.grid th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.grid td.wrap { white-space: normal; overflow-wrap: anywhere; min-width: 12rem; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th::after { content: " \\2195"; color: #9aa5b1; font-size: .8em; }
table.sortable th[aria-sort="ascending"]::after { content: " \\2191"; color: var(--fg); }
table.sortable th[aria-sort="descending"]::after { content: " \\2193"; color: var(--fg); }
tr.current td:first-child { box-shadow: inset 3px 0 0 var(--accent); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font-size: .88em; }
code.sha { display: inline-block; box-sizing: content-box; width: 8ch; overflow: hidden; white-space: nowrap;
  vertical-align: bottom; cursor: copy; color: #24292f; background: var(--soft); border-radius: 4px;
  padding: 0 0 0 3px; border-right: 3px solid var(--soft); }
code.sha.copied, button.copy.copied { background: #d6f5dd; }
table.ids { border-collapse: collapse; margin: .4rem 0 1rem; font-size: .92rem; }
table.ids th { text-align: left; font-weight: 500; color: var(--muted); padding: .2rem 1rem .2rem 0;
  white-space: nowrap; }
table.ids td { padding: .2rem 0; overflow-wrap: anywhere; }
table.ids code { user-select: all; }
button.copy { font: inherit; font-size: .75rem; margin-left: .5rem; padding: .05rem .45rem; cursor: pointer;
  border: 1px solid var(--line); border-radius: 4px; background: #fff; color: var(--muted); }
button.copy:hover { color: var(--fg); border-color: #8c959f; }
.badge { display: inline-block; font-size: .75rem; padding: .05rem .45rem; border-radius: 999px;
  border: 1px solid var(--line); background: var(--soft); color: var(--muted); white-space: nowrap; }
.badge.full { background: #e8f0fe; color: #174ea6; border-color: #c6dafc; }
.badge.metadata_only { background: #fef7e0; color: #7a5a00; border-color: #f5e1a4; }
.badge.first { background: #e6f4ea; color: #137333; border-color: #b7e1c1; }
.badge.derived { background: #f3e8fd; color: #6a1b9a; border-color: #e1c8f7; }
.badge.imported { background: #e6f4ea; color: #137333; border-color: #b7e1c1; }
.badge.tag { background: #fff4e5; color: #8a4b00; border-color: #ffd8a8; }
.change-added { color: #137333; } .change-removed { color: #b3261e; } .change-changed { color: #174ea6; }
.change-retyped { color: #7a5a00; } .change-unchanged { color: var(--muted); }
.muted { color: var(--muted); }
.note { background: #fff8e1; border: 1px solid #f5e1a4; border-radius: 6px; padding: .5rem .75rem; }
.toolbar { display: flex; gap: .75rem; align-items: center; margin: .5rem 0; flex-wrap: wrap; }
.toolbar input[type=search] { font: inherit; padding: .3rem .55rem; border: 1px solid var(--line);
  border-radius: 6px; min-width: 16rem; }
pre.json { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem;
  overflow-x: auto; font-size: .85rem; }
ul.plain { list-style: none; padding: 0; margin: .3rem 0; }
ul.plain li { margin: .15rem 0; }
.graph { overflow: auto; border: 1px solid var(--line); border-radius: 6px; background: #fcfdfe; padding: .25rem;
  max-height: 75vh; }
svg.lineage { display: block; font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
svg.lineage .node rect { fill: var(--ancestor); stroke: #8c959f; stroke-width: 1; }
svg.lineage .node.source rect { fill: var(--source); stroke: #3f8f55; stroke-width: 1.5; }
svg.lineage .node.ancestor.source rect { fill: var(--ancestor); }
svg.lineage .node.parent rect { fill: var(--parent); stroke: #4a7fc1; }
svg.lineage .node.parent.source rect { stroke: #3f8f55; stroke-width: 2; }
svg.lineage .node.child rect { fill: var(--child); stroke: #c08a2b; }
svg.lineage .node.unknown rect { stroke-dasharray: 5 3; fill: #fff; }
svg.lineage .node.focus rect { fill: var(--focus); stroke: #06315c; stroke-width: 2; }
svg.lineage .node text { fill: var(--fg); }
svg.lineage .node.focus text { fill: #fff; }
svg.lineage .node .name { font-size: 13px; font-weight: 650; }
svg.lineage .node .sub { font-size: 11.5px; opacity: .85; }
svg.lineage a:hover rect { stroke-width: 2.5; }
svg.lineage .edge { fill: none; stroke: #7d8590; stroke-width: 1.4; }
svg.lineage .edge.source { stroke-dasharray: 6 4; stroke: #3f8f55; }
svg.lineage .arrowhead { fill: #7d8590; }
.legend { display: flex; gap: 1rem; flex-wrap: wrap; font-size: .85rem; color: var(--muted); margin: .4rem 0; }
.legend span::before { content: ""; display: inline-block; width: .9em; height: .9em; border-radius: 3px;
  margin-right: .35em; vertical-align: -.1em; border: 1px solid #8c959f; }
.legend .l-focus::before { background: var(--focus); } .legend .l-parent::before { background: var(--parent); }
.legend .l-ancestor::before { background: var(--ancestor); }
.legend .l-source::before { background: var(--source); border: 2px solid #3f8f55; }
.legend .l-child::before { background: var(--child); }
.legend .l-unknown::before { background: #fff; border-style: dashed; }
footer { max-width: 1280px; margin: 0 auto; padding: 0 1.25rem 2rem; color: var(--muted); font-size: .82rem; }
"""

JS = """\
"use strict";
(function () {
  function cellValue(row, i) {
    var cell = row.cells[i];
    if (!cell) return "";
    return cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
  }
  function sortTable(table, index, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var numeric = rows.every(function (r) { var v = cellValue(r, index); return v === "" || !isNaN(Number(v)); });
    rows.sort(function (a, b) {
      var x = cellValue(a, index), y = cellValue(b, index);
      var d = numeric ? (Number(x) || 0) - (Number(y) || 0) : x.localeCompare(y, undefined, {numeric: true});
      return ascending ? d : -d;
    });
    Array.prototype.forEach.call(table.querySelectorAll("th"), function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.forEach(function (r) { body.appendChild(r); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.tabIndex = 0;
      th.title = "sort by this column";
      th.addEventListener("click", function () { sortTable(table, i, th); });
      th.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); sortTable(table, i, th); }
      });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("input[data-filter]"), function (input) {
    var table = document.getElementById(input.getAttribute("data-filter"));
    if (!table) return;
    input.addEventListener("input", function () {
      var q = input.value.toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  });
  function flash(el) {
    el.classList.add("copied");
    setTimeout(function () { el.classList.remove("copied"); }, 900);
  }
  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  function copy(text, shown, el) {
    selectText(shown);
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { flash(el); }, function () {});
    } else {
      flash(el);
    }
  }
  Array.prototype.forEach.call(document.querySelectorAll("code.sha"), function (el) {
    el.addEventListener("click", function (ev) {
      ev.preventDefault();
      copy(el.getAttribute("data-full") || el.textContent, el, el);
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (el) {
    el.addEventListener("click", function () {
      var shown = el.previousElementSibling || el;
      copy(el.getAttribute("data-copy"), shown, el);
    });
  });
})();
"""
