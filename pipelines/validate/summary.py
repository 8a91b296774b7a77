"""A run in short: counts per suite, failures in reading order, and the terminal summary.

The counting and ordering here are shared with the HTML report
(:mod:`pipelines.validate.report`) so that the terminal and the page can never tell a
different story about the same run. Reading order puts what blocks the analysis first:
critical failures, then warnings, each in the runner's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.text import Text

from pipelines.validate.results import ExpectationOutcome, ValidationRun

#: Example patient ids printed per failing expectation in the terminal (the report has all).
TERMINAL_EXAMPLE_IDS = 5
#: Longest observed value printed on a failure line before it is cut with an ellipsis.
MAX_OBSERVED_WIDTH = 60
#: Longest observed value printed on its own line (the runner describes a few failing
#: rows there: file, row number, column, value); the report and the warehouse have all.
MAX_OBSERVED_DETAIL = 600


@dataclass(frozen=True)
class SuiteCounts:
    """How one suite fared: expectations, passed, critical failures, failed warnings."""

    suite: str
    dimension: str
    expectations: int
    passed: int
    critical_failed: int
    warnings: int
    not_evaluated: int


def suites_in_order(run: ValidationRun) -> list[str]:
    """The run's suites as the runner listed them, then any others in order of appearance."""
    order = list(dict.fromkeys(run.suites))
    for outcome in run.outcomes:
        if outcome.suite not in order:
            order.append(outcome.suite)
    return order


def suite_counts(run: ValidationRun) -> list[SuiteCounts]:
    """One :class:`SuiteCounts` per suite, in :func:`suites_in_order`."""
    counts = []
    for suite in suites_in_order(run):
        outcomes = [outcome for outcome in run.outcomes if outcome.suite == suite]
        counts.append(
            SuiteCounts(
                suite=suite,
                dimension=outcomes[0].dimension if outcomes else "",
                expectations=len(outcomes),
                passed=sum(outcome.success for outcome in outcomes),
                critical_failed=sum(outcome.is_blocking for outcome in outcomes),
                warnings=sum(outcome.is_warning for outcome in outcomes),
                not_evaluated=sum(outcome.error is not None for outcome in outcomes),
            )
        )
    return counts


def failures_in_reading_order(run: ValidationRun) -> list[ExpectationOutcome]:
    """Every failed expectation, critical ones first, suites in :func:`suites_in_order`."""
    suite_rank = {suite: rank for rank, suite in enumerate(suites_in_order(run))}
    failed = [outcome for outcome in run.outcomes if not outcome.success]
    return sorted(failed, key=lambda outcome: (reading_rank(outcome), suite_rank[outcome.suite]))


def location(outcome: ExpectationOutcome) -> str:
    """``schema.table`` or ``schema.table.column``: where to look in the warehouse."""
    if outcome.column_name:
        return f"{outcome.table_name}.{outcome.column_name}"
    return outcome.table_name


def format_percent(value: float | None) -> str:
    """``3.3%``, ``0%``, ``0.05%``: one decimal, two significant digits below 0.1%."""
    if value is None:
        return "n/a"
    return f"{_number(value, decimals=1)}%"


def percent_against_tolerance(unexpected: float | None, tolerated: float | None) -> str:
    """``3.3% > 0% tolerated``; extra decimals when rounding would hide the difference."""
    if tolerated is None or unexpected is None:
        return format_percent(unexpected)
    relation = ">" if unexpected > tolerated else "≤"
    decimals = 1
    while (
        decimals < 4
        and unexpected != tolerated
        and _number(unexpected, decimals=decimals) == _number(tolerated, decimals=decimals)
    ):
        decimals += 1
    shown_unexpected = _number(unexpected, decimals=decimals)
    shown_tolerated = _number(tolerated, decimals=decimals)
    return f"{shown_unexpected}% {relation} {shown_tolerated}% tolerated"


def tolerance_text(outcome: ExpectationOutcome) -> str:
    """``3.3% > 0% tolerated``, or ``none tolerated`` when only a count is known.

    Row-count checks (GX ``UnexpectedRowsExpectation``) report no percentage; for them
    the tolerance is all there is to say, and ``n/a`` would only puzzle a reader.
    """
    if outcome.unexpected_percent is not None:
        return percent_against_tolerance(outcome.unexpected_percent, outcome.tolerated_percent)
    if outcome.tolerated_percent is None:
        return ""
    if outcome.tolerated_percent == 0:
        return "none tolerated"
    return f"up to {format_percent(outcome.tolerated_percent)} tolerated"


def render_summary(
    run: ValidationRun, console: Console, *, report_path: Path | None = None
) -> None:
    """Print the verdict, one line per suite, each failure (critical first), the report.

    Lines are printed with ``soft_wrap`` so that a long table name or id list stays on
    one line that a user can copy or grep, whatever the terminal width.
    """
    console.print(verdict_line(run), soft_wrap=True, highlight=False)
    for counts in suite_counts(run):
        console.print(Text("  " + suite_line(counts)), soft_wrap=True, highlight=False)
    for outcome in failures_in_reading_order(run):
        _print_failure(console, outcome)
    if report_path is not None:
        console.print(Text(f"Report: {report_path}"), soft_wrap=True, highlight=False)


def verdict_line(run: ValidationRun) -> Text:
    """``Quality gate FAIL: 2 critical failures block the analysis; 1 warning (…)``."""
    blocking, warnings = len(run.blocking), len(run.warnings)
    if run.verdict == "fail":
        badge = Text("FAIL", style="bold white on red")
        outcome = f"{_plural(blocking, 'critical failure')} block the analysis"
    else:
        badge = Text("PASS", style="bold white on green")
        outcome = "no critical failure, the analysis may proceed"
    passed = sum(outcome.success for outcome in run.outcomes)
    details = (
        f": {outcome}; {_plural(warnings, 'warning')} "
        f"({len(run.outcomes)} expectations, {passed} passed; run {run.run_id}, "
        f"{run.seconds:.1f} s)"
    )
    line = Text.assemble("Quality gate ", badge, details)
    if run.is_simulated:
        line.append(" — simulated data, not patient data", style="yellow")
    return line


def suite_line(counts: SuiteCounts) -> str:
    """``conformance   12 expectations: 11 passed, 1 critical failed, 0 warnings``."""
    line = (
        f"{counts.suite:<14}{_plural(counts.expectations, 'expectation')}: "
        f"{counts.passed} passed, {counts.critical_failed} critical failed, "
        f"{_plural(counts.warnings, 'warning')}"
    )
    if counts.not_evaluated:
        line += f" ({counts.not_evaluated} not evaluated)"
    return line


def failure_line(outcome: ExpectationOutcome) -> str:
    """``CRITICAL conformance/CONF-03 quality.cast_failures: 2 unexpected (…) — e.g. …``."""
    label = "CRITICAL" if outcome.severity == "critical" else "WARNING"
    line = f"{label} {outcome.suite}/{outcome.expectation_id} {location(outcome)}: "
    if outcome.error is not None:
        line += "could not be evaluated"
    elif outcome.unexpected_count is not None:
        tolerance = tolerance_text(outcome)
        line += f"{outcome.unexpected_count} unexpected" + (f" ({tolerance})" if tolerance else "")
    else:
        line += f"observed {_clip(outcome.observed_value, MAX_OBSERVED_WIDTH)}"
    if outcome.example_patient_ids:
        shown = outcome.example_patient_ids[:TERMINAL_EXAMPLE_IDS]
        more = ", …" if len(outcome.example_patient_ids) > len(shown) else ""
        line += f" — e.g. {', '.join(shown)}{more}"
    return line


def _print_failure(console: Console, outcome: ExpectationOutcome) -> None:
    style = "red" if outcome.severity == "critical" else "yellow"
    line = Text(failure_line(outcome))
    line.stylize(f"bold {style}", 0, len(line.plain.split(" ", 1)[0]))
    console.print(line, soft_wrap=True, highlight=False)
    console.print(Text(f"    {outcome.title}", style="dim"), soft_wrap=True, highlight=False)
    if _observed_adds_detail(outcome):
        observed = _clip(outcome.observed_value, MAX_OBSERVED_DETAIL)
        console.print(Text(f"    observed: {observed}"), soft_wrap=True, highlight=False)
    if outcome.error is not None:
        error = "\n           ".join(outcome.error.strip().splitlines())
        console.print(Text(f"    error: {error}"), soft_wrap=True, highlight=False)


def _observed_adds_detail(outcome: ExpectationOutcome) -> bool:
    """The observed value says more than the failure line (e.g. which file rows failed)."""
    observed = outcome.observed_value
    if observed is None or outcome.error is not None:
        return False
    if outcome.unexpected_count is None:  # the failure line shows it, cut if long
        return len(observed) > MAX_OBSERVED_WIDTH
    return observed != str(outcome.unexpected_count)


def reading_rank(outcome: ExpectationOutcome) -> int:
    """0 for a critical failure, 1 for a failed warning, 2 for a pass (sort key)."""
    if outcome.is_blocking:
        return 0
    if outcome.is_warning:
        return 1
    return 2


def _number(value: float, *, decimals: int) -> str:
    """Fixed decimals without trailing zeros; two significant digits for tiny values."""
    if value != 0 and abs(value) < 10 ** (-decimals):
        return f"{value:.2g}"
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _clip(value: str | None, width: int) -> str:
    text = "null" if value is None else value
    return text if len(text) <= width else text[: width - 1] + "…"
