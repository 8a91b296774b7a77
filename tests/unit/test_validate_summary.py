"""The terminal summary of a validation run, from hand-built runs.

A narrow console checks that failure lines are never broken (``soft_wrap``): users copy
and grep them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from pathlib import Path

import pytest
from rich.console import Console

from pipelines.validate.results import ExpectationOutcome, ValidationRun
from pipelines.validate.summary import (
    failures_in_reading_order,
    format_percent,
    percent_against_tolerance,
    render_summary,
    suite_counts,
)

CAST_FAILURES = ExpectationOutcome(
    suite="conformance",
    dimension="conformance",
    expectation_id="CONF-03",
    title="Expression values are finite numbers",
    expectation_type="unexpected_rows",
    table_name="quality.cast_failures",
    column_name=None,
    severity="critical",
    success=False,
    observed_value="2",
    element_count=60,
    unexpected_count=2,
    unexpected_percent=10 / 3,
    tolerated_percent=0.0,
    example_patient_ids=("SIM-0015", "SIM-0047"),
)
RISK_UNKNOWN = dataclasses.replace(
    CAST_FAILURES,
    suite="completeness",
    dimension="completeness",
    expectation_id="COMP-02",
    title="Cytogenetic risk is known for most patients",
    expectation_type="ExpectColumnValuesToNotBeInSet",
    table_name="marts.cohort_patients",
    column_name="cytogenetic_risk",
    severity="warning",
    unexpected_count=19,
    unexpected_percent=19 / 60 * 100,
    tolerated_percent=10.0,
    example_patient_ids=tuple(f"SIM-{number:04d}" for number in range(1, 20)),
)
NOT_EVALUATED = dataclasses.replace(
    CAST_FAILURES,
    suite="plausibility",
    dimension="plausibility",
    expectation_id="PLAU-01",
    title="Ct values within 0-45 cycles",
    table_name="marts.cohort_expression",
    column_name="mean_ct",
    observed_value=None,
    element_count=None,
    unexpected_count=None,
    unexpected_percent=None,
    tolerated_percent=None,
    example_patient_ids=(),
    error="Catalog Error: Table with name cohort_expression does not exist!",
)
PASSED = dataclasses.replace(
    CAST_FAILURES,
    expectation_id="CONF-01",
    success=True,
    unexpected_count=0,
    unexpected_percent=0.0,
    example_patient_ids=(),
)


def make_run(*outcomes: ExpectationOutcome, is_simulated: bool = True) -> ValidationRun:
    started = dt.datetime(2026, 1, 15, 2, 0)
    return ValidationRun(
        run_id="run-7",
        started_at=started,
        finished_at=started + dt.timedelta(seconds=3.5),
        db_path=Path("warehouse/cohort.duckdb"),
        batch_id=1,
        is_simulated=is_simulated,
        code_version="0.1.0",
        gx_version="1.24.1",
        critical_fields=(),
        outcomes=outcomes,
        suites=("conformance", "completeness", "plausibility"),
    )


def summary_lines(run: ValidationRun, *, report_path: Path | None = None) -> list[str]:
    output = io.StringIO()
    console = Console(file=output, width=50, color_system=None)
    render_summary(run, console, report_path=report_path)
    return output.getvalue().splitlines()


def test_failures_are_listed_critical_first_with_suite_id_table_counts_and_ids() -> None:
    run = make_run(RISK_UNKNOWN, PASSED, CAST_FAILURES, NOT_EVALUATED)
    lines = summary_lines(run, report_path=Path("warehouse/reports/run-7.html"))

    failure_lines = [line for line in lines if line.startswith(("CRITICAL", "WARNING"))]
    assert failure_lines == [
        "CRITICAL conformance/CONF-03 quality.cast_failures: 2 unexpected "
        "(3.3% > 0% tolerated) — e.g. SIM-0015, SIM-0047",
        "CRITICAL plausibility/PLAU-01 marts.cohort_expression.mean_ct: could not be evaluated",
        "WARNING completeness/COMP-02 marts.cohort_patients.cytogenetic_risk: 19 unexpected "
        "(31.7% > 10% tolerated) — e.g. SIM-0001, SIM-0002, SIM-0003, SIM-0004, SIM-0005, …",
    ]
    assert "    error: Catalog Error: Table with name cohort_expression does not exist!" in lines
    assert "    Expression values are finite numbers" in lines
    assert lines[-1] == "Report: warehouse/reports/run-7.html"


def test_verdict_and_per_suite_counts_come_first() -> None:
    lines = summary_lines(make_run(RISK_UNKNOWN, PASSED, CAST_FAILURES, NOT_EVALUATED))
    assert lines[0].startswith("Quality gate FAIL: 2 critical failures block the analysis")
    assert "simulated data" in lines[0]
    assert lines[1:4] == [
        "  conformance   2 expectations: 1 passed, 1 critical failed, 0 warnings",
        "  completeness  1 expectation: 0 passed, 0 critical failed, 1 warning",
        "  plausibility  1 expectation: 0 passed, 1 critical failed, 0 warnings (1 not evaluated)",
    ]


def test_a_run_with_only_warnings_passes() -> None:
    lines = summary_lines(make_run(PASSED, RISK_UNKNOWN, is_simulated=False))
    assert lines[0].startswith("Quality gate PASS: no critical failure")
    assert "simulated" not in lines[0]
    assert [line.split(" ", 1)[0] for line in lines if line.startswith("WARNING")] == ["WARNING"]
    assert not any(line.startswith("CRITICAL") for line in lines)
    assert not any(line.startswith("Report:") for line in lines)


def test_counts_and_order_are_shared_by_suite() -> None:
    run = make_run(RISK_UNKNOWN, PASSED, CAST_FAILURES, NOT_EVALUATED)
    assert [counts.suite for counts in suite_counts(run)] == list(run.suites)
    assert [item.expectation_id for item in failures_in_reading_order(run)] == [
        "CONF-03",
        "PLAU-01",
        "COMP-02",
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0%"),
        (100.0, "100%"),
        (10 / 3, "3.3%"),
        (0.04, "0.04%"),
        (12.5, "12.5%"),
        (None, "n/a"),
    ],
)
def test_percent_formatting(value: float | None, text: str) -> None:
    assert format_percent(value) == text


def test_comparison_shows_decimals_that_rounding_would_hide() -> None:
    assert percent_against_tolerance(5.04, 5.0) == "5.04% > 5% tolerated"
    assert percent_against_tolerance(1.0, 5.0) == "1% ≤ 5% tolerated"
    assert percent_against_tolerance(2.0, None) == "2%"


def test_a_row_count_check_names_the_failing_file_rows() -> None:
    """GX's unexpected-rows checks give a count, no percentage, and describe the rows."""
    unparseable = dataclasses.replace(
        CAST_FAILURES,
        expectation_id="CONF-02",
        observed_value="1 row(s): patients_simulated.csv row 55 diagnosis_date='31.02.2010' "
        "(expected an ISO date)",
        element_count=None,
        unexpected_count=1,
        unexpected_percent=None,
        example_patient_ids=("SIM-0054",),
    )
    lines = summary_lines(make_run(unparseable))
    assert (
        "CRITICAL conformance/CONF-02 quality.cast_failures: 1 unexpected (none tolerated) "
        "— e.g. SIM-0054"
    ) in lines
    assert (
        "    observed: 1 row(s): patients_simulated.csv row 55 diagnosis_date='31.02.2010' "
        "(expected an ISO date)"
    ) in lines


def test_an_observed_value_equal_to_the_count_is_not_repeated() -> None:
    lines = summary_lines(make_run(CAST_FAILURES))
    assert not any(line.strip().startswith("observed:") for line in lines)
