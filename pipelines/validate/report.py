"""The quality-gate report: one self-contained HTML page per run, for people, not tools.

Readers are clinicians and data managers deciding whether a delivery may be analysed,
often on a locked-down machine: the page has its CSS inline, no script, no fonts or
images from anywhere, so it opens from ``file://`` offline and prints cleanly. The
verdict is said in words and symbols as well as colour (it must survive a grey-scale
printout and colour-blind readers). Every text from the run is escaped: titles, values
and error messages come from suite files and data, and must never become markup.

Counting and ordering come from :mod:`pipelines.validate.summary`, shared with the
terminal summary.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from html import escape
from pathlib import Path

from pipelines.atomic import write_text_atomically
from pipelines.validate.results import MAX_EXAMPLE_IDS, ExpectationOutcome, ValidationRun
from pipelines.validate.summary import (
    SuiteCounts,
    location,
    reading_rank,
    suite_counts,
    suites_in_order,
    tolerance_text,
)

#: Longest observed value shown in a table cell; the full value is in the warehouse.
MAX_OBSERVED_CHARS = 400
#: Shorter for passed checks: their observed value (e.g. a column list) is rarely read.
MAX_OBSERVED_CHARS_PASSED = 120

#: Column widths of the per-suite tables (fixed, so that every suite's table lines up).
_CHECK_COLUMNS = (
    "<colgroup>"
    + "".join(f'<col style="width: {width}%">' for width in (7, 15, 12, 7, 9, 18, 9, 10, 13))
    + "</colgroup>"
)

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


def write_report(run: ValidationRun, path: Path) -> Path:
    """Write the run's report to ``path`` atomically and return ``path``.

    The page is written to a temporary file next to ``path`` and moved into place with
    :func:`os.replace`, so a reader (or a browser left open on yesterday's report) never
    sees half a page. The folder is created if needed; where it is, the caller decides.
    """
    return write_text_atomically(path, render_report(run))


def render_report(run: ValidationRun) -> str:
    """The whole page as text (pure: no I/O, so it is easy to test)."""
    title = f"Quality gate {run.verdict.upper()} — run {run.run_id}"
    sections = [
        _verdict_header(run),
        _simulated_banner(run),
        _run_details(run),
        _blocking_list(run),
        _summary_table(run),
        *(_suite_section(run, counts) for counts in suite_counts(run)),
        _footer(run),
    ]
    return html_page(title, sections)


def _verdict_header(run: ValidationRun) -> str:
    blocking = len(run.blocking)
    if run.verdict == "fail":
        badge = "✗ FAIL"
        headline = "Quality gate failed: the analysis is blocked"
        explanation = (
            f"{_plural(blocking, 'critical check')} failed. Fix the data (or the delivery) "
            "and run the gate again before analysing."
        )
    else:
        badge = "✓ PASS"
        headline = "Quality gate passed: the analysis may proceed"
        explanation = "No critical check failed."
    if run.warnings:
        explanation += f" {_plural(len(run.warnings), 'warning')} to review (they do not block)."
    return (
        f'<header class="verdict {run.verdict}" role="banner">\n'
        f'<div class="badge" aria-label="verdict">{badge}</div>\n'
        f"<div><h1>{escape(headline)}</h1><p>{escape(explanation)}</p></div>\n</header>"
    )


def _simulated_banner(run: ValidationRun) -> str:
    if not run.is_simulated:
        return ""
    return (
        '<p class="simulated" role="note">⚠ SIMULATED DATA — this batch was generated by '
        "<code>cohort simulate</code>; it contains no real patients.</p>"
    )


def _run_details(run: ValidationRun) -> str:
    fields = (
        "".join(f'<span class="field">{escape(name)}</span>' for name in run.critical_fields)
        or "none (only checks marked critical in the suites)"
    )
    rows = [
        ("Run", escape(run.run_id)),
        (
            "Time",
            f"{escape(format_time(run.started_at))} to {escape(format_time(run.finished_at))} "
            f"({run.seconds:.1f} s)",
        ),
        (
            "Warehouse",
            f'{escape(run.db_path.name)} <span class="path">({escape(str(run.db_path))})</span>',
        ),
        ("Batch", "none ingested" if run.batch_id is None else str(run.batch_id)),
        ("Data", "simulated" if run.is_simulated else "delivered (not simulated)"),
        (
            "Versions",
            f"cohort-warehouse {escape(run.code_version)}, "
            f"Great Expectations {escape(run.gx_version)}",
        ),
        ("Critical fields", fields),
    ]
    items = "\n".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
    return f'<dl class="run">\n{items}\n</dl>'


def _blocking_list(run: ValidationRun) -> str:
    suite_rank = {suite: rank for rank, suite in enumerate(suites_in_order(run))}
    blocking = sorted(
        (pair for pair in _numbered(run) if pair[1].is_blocking),
        key=lambda pair: suite_rank[pair[1].suite],
    )
    if not blocking:
        return ""
    items = "\n".join(
        f'<li><a href="#{_anchor(number, outcome)}">{escape(outcome.expectation_id)}</a> '
        f"({escape(outcome.suite)}) — {escape(outcome.title)}: "
        f"{escape(_short_result(outcome))}</li>"
        for number, outcome in blocking
    )
    return f'<h2>What blocks the analysis</h2>\n<ul class="blocking">\n{items}\n</ul>'


def _summary_table(run: ValidationRun) -> str:
    all_counts = suite_counts(run)
    header = table_row(
        ("Suite", "Dimension", "Checks", "Passed", "Critical failed", "Warnings", "Errors"),
        cell="th",
        numeric_from=2,
    )
    rows = [
        table_row(
            (
                f'<a href="#suite-{_slug(counts.suite)}">{escape(counts.suite)}</a>',
                escape(counts.dimension),
                *_count_cells(counts),
            ),
            numeric_from=2,
        )
        for counts in all_counts
    ]
    total = SuiteCounts(
        suite="all",
        dimension="",
        expectations=sum(counts.expectations for counts in all_counts),
        passed=sum(counts.passed for counts in all_counts),
        critical_failed=sum(counts.critical_failed for counts in all_counts),
        warnings=sum(counts.warnings for counts in all_counts),
        not_evaluated=sum(counts.not_evaluated for counts in all_counts),
    )
    rows.append(table_row(("All suites", "", *_count_cells(total)), numeric_from=2, css="totals"))
    guide = (
        '<p class="guide"><b>Critical</b> checks block the analysis when they fail; '
        "<b>warnings</b> are shown for review and do not block. A check counts the rows "
        "that break its rule (<i>unexpected</i>) and passes while their share is within "
        "the <i>tolerated</i> share. <b>Errors</b> are checks that could not be evaluated; "
        "they count as failures of their severity.</p>"
    )
    return (
        f"<h2>Summary by suite</h2>\n{guide}\n<table>\n<thead>{header}</thead>\n"
        f"<tbody>\n{''.join(rows)}\n</tbody>\n</table>"
    )


def _suite_section(run: ValidationRun, counts: SuiteCounts) -> str:
    outcomes = sorted(
        (pair for pair in _numbered(run) if pair[1].suite == counts.suite),
        key=lambda pair: reading_rank(pair[1]),
    )
    header = table_row(
        (
            "ID",
            "Check",
            "Table · column",
            "Severity",
            "Result",
            "Observed",
            "Unexpected rows",
            "Unexpected vs tolerated",
            f"Example patient ids (up to {MAX_EXAMPLE_IDS})",
        ),
        cell="th",
    )
    rows = "\n".join(
        _outcome_rows(outcome, _anchor(number, outcome)) for number, outcome in outcomes
    )
    dimension = (
        f' <span class="dimension">({escape(counts.dimension)})</span>' if counts.dimension else ""
    )
    return (
        f'<h2 id="suite-{_slug(counts.suite)}">Suite {escape(counts.suite)}{dimension}</h2>\n'
        f'<table class="checks">\n{_CHECK_COLUMNS}\n<thead>{header}</thead>\n'
        f"<tbody>\n{rows}\n</tbody>\n</table>"
    )


def _outcome_rows(outcome: ExpectationOutcome, anchor: str) -> str:
    css = "blocking" if outcome.is_blocking else "warning" if outcome.is_warning else "passed"
    observed_width = MAX_OBSERVED_CHARS_PASSED if outcome.success else MAX_OBSERVED_CHARS
    examples = outcome.example_patient_ids[:MAX_EXAMPLE_IDS]
    example_text = ", ".join(examples)
    if len(examples) == MAX_EXAMPLE_IDS and (outcome.unexpected_count or 0) > len(examples):
        example_text += ", …"  # the cap was hit: there may be more patients
    unexpected = "" if outcome.unexpected_count is None else f"{outcome.unexpected_count:,}"
    if outcome.unexpected_count is not None and outcome.element_count is not None:
        unexpected += f" of {outcome.element_count:,}"
    cells = (
        escape(outcome.expectation_id),
        f'{escape(outcome.title)}<span class="type">{escape(outcome.expectation_type)}</span>',
        f'<span class="mono">{_breakable(location(outcome))}</span>',
        escape(outcome.severity),
        _result_cell(outcome),
        f'<span class="mono">{escape(_clip(outcome.observed_value, observed_width))}</span>',
        unexpected,
        escape(tolerance_text(outcome)),
        f'<span class="mono">{escape(example_text)}</span>',
    )
    html_cells = "".join(
        f'<td class="{kind}">{value}</td>' if kind else f"<td>{value}</td>"
        for kind, value in zip(
            ("id", "", "", "", "", "", "number", "number", ""), cells, strict=True
        )
    )
    row = f'<tr id="{anchor}" class="{css}">{html_cells}</tr>'
    if outcome.error is not None:
        row += (
            f'\n<tr class="{css} error-row"><td colspan="9"><b>Error</b> (the check could '
            f'not be evaluated): <span class="mono">{escape(outcome.error)}</span></td></tr>'
        )
    return row


def _result_cell(outcome: ExpectationOutcome) -> str:
    if outcome.success:
        return '<span class="result passed">✓ passed</span>'
    what = "✗ not evaluated" if outcome.error is not None else "✗ failed"
    if outcome.is_blocking:
        return f'<span class="result failed">{what}</span><br>blocks the analysis'
    return f'<span class="result warned">{what}</span><br>warning only'


def _short_result(outcome: ExpectationOutcome) -> str:
    if outcome.error is not None:
        return "could not be evaluated"
    if outcome.unexpected_count is not None:
        tolerance = tolerance_text(outcome)
        suffix = f" ({tolerance})" if tolerance else ""
        rows = _plural(outcome.unexpected_count, "unexpected row")
        return f"{rows}{suffix}"
    return f"observed {_clip(outcome.observed_value, MAX_OBSERVED_CHARS)}"


def _footer(run: ValidationRun) -> str:
    return (
        f"<footer>Generated by cohort-warehouse {escape(run.code_version)} from validation "
        f"run {escape(run.run_id)}. Every result is also stored in the warehouse "
        "(<code>quality.validation_runs</code>, <code>quality.validation_results</code>). "
        "Patient ids are the study's pseudonymous ids; the data hold no other "
        "identifiers.</footer>"
    )


def _count_cells(counts: SuiteCounts) -> tuple[str, ...]:
    return (
        str(counts.expectations),
        str(counts.passed),
        str(counts.critical_failed),
        str(counts.warnings),
        str(counts.not_evaluated),
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


def _numbered(run: ValidationRun) -> list[tuple[int, ExpectationOutcome]]:
    """Outcomes with their position in the run (1, 2, …), which makes anchors unique."""
    return list(enumerate(run.outcomes, start=1))


def _anchor(number: int, outcome: ExpectationOutcome) -> str:
    """A unique, URL-safe anchor (ids from suite files may hold any text)."""
    return f"check-{number}-{_slug(outcome.expectation_id)}"


def _breakable(name: str) -> str:
    """Escaped ``schema.table.column`` that wraps after a dot rather than mid-word."""
    return ".<wbr>".join(escape(part) for part in name.split("."))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


def format_time(moment: dt.datetime) -> str:
    """Naive timestamps are UTC by the pipeline's convention (see the store)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _clip(value: str | None, width: int) -> str:
    if value is None:
        return ""
    return value if len(value) <= width else value[: width - 1] + "…"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


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
