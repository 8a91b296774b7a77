"""The page shell shared by the product's HTML reports: style, page, table rows, cells.

Both pages — the quality-gate report (:mod:`pipelines.validate.report`) and the analysis
run report (:mod:`pipelines.report.html`) — are read on locked-down machines: the CSS is
inline, there is no script, no font or image from anywhere, so a page opens from
``file://`` offline and prints cleanly. Both look alike because both are built here.

Every helper that takes a value from the warehouse escapes it: titles, values and error
messages come from suite files and data, and must never become markup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from html import escape

#: The shared style (the quality-gate page uses it as is).
PAGE_STYLE = """
:root { --fail: #a4001d; --fail-bg: #fde8ea; --pass: #185c2a; --pass-bg: #e6f4ea;
  --warn: #7a4f00; --warn-bg: #fff4d6; --muted: #555; --line: #c8c8c8; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial,
  sans-serif; color: #1a1a1a; margin: 0 auto; max-width: 1180px; padding: 24px;
  line-height: 1.4; font-size: 15px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 32px 0 8px; border-bottom: 2px solid #1a1a1a;
  padding-bottom: 4px; }
h2 .dimension { font-weight: normal; color: var(--muted); font-size: 15px; }
.verdict { display: flex; align-items: center; gap: 24px; padding: 16px 20px;
  border: 3px solid; border-radius: 6px; }
.verdict.fail { border-color: var(--fail); background: var(--fail-bg); }
.verdict.pass { border-color: var(--pass); background: var(--pass-bg); }
.badge { font-size: 44px; font-weight: 800; letter-spacing: 2px; padding: 6px 22px;
  border-radius: 6px; white-space: nowrap; border: 4px solid; }
.fail .badge { background: var(--fail); color: #fff; border-color: var(--fail); }
.pass .badge { background: #fff; color: var(--pass); border-color: var(--pass);
  border-style: double; border-width: 6px; }
.verdict p { margin: 0; font-size: 17px; }
.simulated { margin: 16px 0 0; padding: 10px 16px; border: 3px dashed #5a3d00;
  background: repeating-linear-gradient(135deg, #fff4d6, #fff4d6 12px, #ffe9a8 12px,
  #ffe9a8 24px); font-weight: 700; font-size: 17px; }
dl.run { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px;
  margin: 20px 0 0; }
dl.run dt { font-weight: 600; color: var(--muted); }
dl.run dd { margin: 0; }
.path { color: var(--muted); font-size: 13px; }
.field { display: inline-block; border: 1px solid var(--line); border-radius: 3px;
  padding: 0 6px; margin: 0 4px 2px 0; font-family: ui-monospace, "DejaVu Sans Mono",
  Menlo, Consolas, monospace; font-size: 13px; }
.guide { color: var(--muted); margin: 8px 0; }
ul.blocking { margin: 8px 0; padding-left: 22px; }
ul.blocking li { margin: 2px 0; }
table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
table.checks { width: 100%; table-layout: fixed; }
table.checks td { overflow-wrap: break-word; }
table.checks td.number { white-space: normal; }
table.checks th { font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 5px 7px; text-align: left;
  vertical-align: top; }
th { background: #eee; font-weight: 600; }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums;
  white-space: nowrap; }
td.id { white-space: nowrap; font-weight: 600; }
.type { display: block; color: var(--muted); font-size: 12px; }
.mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-size: 12.5px; overflow-wrap: anywhere; }
tr.blocking td { background: var(--fail-bg); }
tr.blocking td:first-child { border-left: 6px solid var(--fail); }
tr.warning td { background: var(--warn-bg); }
tr.warning td:first-child { border-left: 6px dashed var(--warn); }
tr.error-row td { font-size: 13px; }
.result { font-weight: 700; white-space: nowrap; }
.result.failed { color: var(--fail); }
.result.warned { color: var(--warn); }
.result.passed { color: var(--pass); font-weight: 400; }
tr.totals td { font-weight: 700; background: #f5f5f5; }
footer { margin-top: 36px; color: var(--muted); font-size: 13px;
  border-top: 1px solid var(--line); padding-top: 8px; }
@media print {
  body { padding: 0; max-width: none; font-size: 12px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  tr { break-inside: avoid; }
  h2 { break-after: avoid; }
}
"""

#: The run report's style: the shared one plus result tables, figures and the
#: published-figures column.
RUN_REPORT_STYLE = (
    PAGE_STYLE
    + """
h3 { font-size: 17px; margin: 22px 0 6px; }
table.results { font-size: 13px; }
table.results td, table.results th { padding: 3px 6px; }
td.sub, th.sub { color: var(--muted); }
tr.group-start td { border-top: 2px solid #888; }
.published { background: #eef3fb; }
th.published { background: #dbe6f6; }
figure { margin: 16px 0 24px; break-inside: avoid; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: #333; font-size: 14px; margin-top: 4px; }
pre.settings { background: #f6f6f6; border: 1px solid var(--line); padding: 8px;
  font-size: 12.5px; overflow-x: auto; white-space: pre-wrap; }
details > summary { cursor: pointer; font-weight: 600; margin: 6px 0; }
.gate { padding: 10px 16px; border: 3px solid; border-radius: 6px; }
.gate.pass { border-color: var(--pass); background: var(--pass-bg); }
.gate.fail, .gate.unknown { border-color: var(--fail); background: var(--fail-bg); }
.gate .word { font-weight: 800; font-size: 18px; }
ul.warn-summary li { margin: 2px 0; }
.scroll { overflow-x: auto; }
table.status-last td:last-child, table.status-last th:last-child { text-align: left;
  white-space: normal; }
td.published { white-space: normal; }
.status { color: var(--warn); font-weight: 700; }
"""
)


def html_page(title: str, sections: list[str], *, style: str = PAGE_STYLE) -> str:
    """A self-contained page: the shared inline style, no scripts, no external assets.

    Used by the quality-gate report and the analysis run report so both look alike.
    """
    body = "\n".join(section for section in sections if section)
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{style}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def table_row(
    cells: Iterable[str], *, cell: str = "td", numeric_from: int | None = None, css: str = ""
) -> str:
    """Cells are already escaped HTML; columns from ``numeric_from`` on are right-aligned."""
    parts = []
    for index, value in enumerate(cells):
        numeric = numeric_from is not None and index >= numeric_from
        attribute = ' class="number"' if numeric else ""
        parts.append(f"<{cell}{attribute}>{value}</{cell}>")
    class_attribute = f' class="{css}"' if css else ""
    return f"<tr{class_attribute}>{''.join(parts)}</tr>"


def results_table(title: str, header: str, body: Iterable[str]) -> str:
    """A titled, horizontally scrolling result table whose last column is a status."""
    return (
        f'<p class="guide"><b>{escape(title)}</b></p>\n'
        f'<div class="scroll"><table class="results status-last">\n<thead>{header}</thead>\n'
        f"<tbody>\n{''.join(body)}\n</tbody>\n</table></div>"
    )


def format_time(moment: dt.datetime) -> str:
    """Naive timestamps are UTC by the pipeline's convention (see the store)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


# -- cells: escaped text of one warehouse value ------------------------------------------


def text(value: object, missing: str = "—") -> str:
    """Escaped text; NULL and "" become ``missing``."""
    return escape(missing if value is None or value == "" else str(value))


def timestamp(value: object) -> str:
    """An escaped timestamp (UTC), ``—`` when missing, the raw text if not a timestamp."""
    if value is None:
        return "—"
    try:
        return escape(format_time(value))  # type: ignore[arg-type]
    except (AttributeError, TypeError, ValueError):
        return escape(str(value))


def wrap(value: object) -> str:
    """Escaped text that may wrap after ``=`` and ``_`` (long subgroup and status names)."""
    return text(value).replace("=", "=<wbr>").replace("_", "_<wbr>")


def status(value: object) -> str:
    """A result status; anything but ``ok`` is highlighted."""
    wrapped = wrap(value)
    return wrapped if value == "ok" else f'<span class="status">{wrapped}</span>'


def endpoint(value: object) -> str:
    """An endpoint as readers write it: ``PFS``, ``OS``."""
    return text(str(value).upper())
