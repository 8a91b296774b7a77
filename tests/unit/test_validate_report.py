"""The HTML report of a validation run: content, escaping, offline-safety, atomic write."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipelines import atomic
from pipelines.validate.report import render_report, write_report
from pipelines.validate.results import ExpectationOutcome, ValidationRun

#: Elements without an end tag in HTML.
VOID_ELEMENTS = {"meta", "br", "col", "wbr", "img", "input", "link", "hr"}

FAILED_CRITICAL = ExpectationOutcome(
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
FAILED_WARNING = dataclasses.replace(
    FAILED_CRITICAL,
    expectation_id="CONF-04",
    title="Replicate numbers are numbers",
    severity="warning",
    example_patient_ids=("SIM-0008",),
)
PASSED = dataclasses.replace(
    FAILED_CRITICAL,
    expectation_id="CONF-01",
    title='Aberrations map <script>alert("x")</script> & more',
    success=True,
    unexpected_count=0,
    unexpected_percent=0.0,
    example_patient_ids=(),
)
NOT_EVALUATED = dataclasses.replace(
    FAILED_CRITICAL,
    suite="plausibility",
    dimension="plausibility",
    expectation_id="PLAU-01",
    title="Ct values within 0-45 cycles",
    table_name="marts.cohort_expression",
    column_name="mean_ct",
    observed_value=None,
    unexpected_count=None,
    unexpected_percent=None,
    example_patient_ids=(),
    error="Binder Error: column <mean_ct> not found",
)


def make_run(*outcomes: ExpectationOutcome, is_simulated: bool = True) -> ValidationRun:
    started = dt.datetime(2026, 1, 15, 2, 0)
    return ValidationRun(
        run_id="run-7",
        started_at=started,
        finished_at=started + dt.timedelta(seconds=3.5),
        db_path=Path("/studies/myeloma/cohort.duckdb"),
        batch_id=4,
        is_simulated=is_simulated,
        code_version="0.1.0",
        gx_version="1.24.1",
        critical_fields=("pfs_days", "os_days"),
        outcomes=outcomes,
        suites=("conformance", "plausibility"),
    )


FAILING_RUN = make_run(PASSED, FAILED_WARNING, FAILED_CRITICAL, NOT_EVALUATED)


class TagBalance(HTMLParser):
    """Records tags that are closed out of order or never closed."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID_ELEMENTS:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> while {self.open[-1:]} is open")
        else:
            self.open.pop()


def test_page_is_a_complete_html_document_with_balanced_tags() -> None:
    page = render_report(FAILING_RUN)
    assert page.startswith("<!doctype html>\n")
    assert page.rstrip().endswith("</html>")
    parser = TagBalance()
    parser.feed(page)
    parser.close()
    assert parser.problems == []
    assert parser.open == []


def test_page_shows_verdict_run_and_every_expectation() -> None:
    page = render_report(FAILING_RUN)
    assert "✗ FAIL" in page
    assert "Quality gate failed: the analysis is blocked" in page
    for expected in ("run-7", "cohort.duckdb", "Batch", "1.24.1", "pfs_days", "os_days"):
        assert expected in page
    for item in FAILING_RUN.outcomes:
        assert f">{item.expectation_id}<" in page
    assert "SIM-0015, SIM-0047" in page
    assert "3.3% &gt; 0% tolerated" in page
    assert "2 of 60" in page


def test_a_row_count_check_shows_its_tolerance_and_the_described_rows() -> None:
    rows_check = dataclasses.replace(
        FAILED_CRITICAL,
        observed_value="1 row(s): patients_simulated.csv row 55 diagnosis_date='31.02.2010'",
        element_count=None,
        unexpected_count=1,
        unexpected_percent=None,
    )
    page = render_report(make_run(rows_check))
    assert "none tolerated" in page
    assert "patients_simulated.csv row 55 diagnosis_date=&#x27;31.02.2010&#x27;" in page
    assert "n/a" not in page


def test_passing_run_says_pass_and_has_no_simulated_banner() -> None:
    page = render_report(make_run(PASSED, FAILED_WARNING, is_simulated=False))
    assert "✓ PASS" in page
    assert "FAIL" not in page
    assert "SIMULATED DATA" not in page
    assert "What blocks the analysis" not in page


def test_simulated_data_are_announced() -> None:
    assert "SIMULATED DATA" in render_report(FAILING_RUN)


def test_text_from_suites_and_errors_is_escaped() -> None:
    page = render_report(FAILING_RUN)
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in page
    assert "column &lt;mean_ct&gt; not found" in page


def test_page_references_nothing_outside_itself() -> None:
    page = render_report(FAILING_RUN).lower()
    for remote in ("http://", "https://", "//cdn", "src=", "<link", "@import", "url("):
        assert remote not in page


def test_failing_critical_checks_come_first_within_a_suite() -> None:
    page = render_report(FAILING_RUN)
    suite_table = page.split('id="suite-conformance"', 1)[1]
    positions = [suite_table.index(f">{item}<") for item in ("CONF-03", "CONF-04", "CONF-01")]
    assert positions == sorted(positions)
    assert page.index('class="blocking"><td class="id">CONF-03') > 0


def test_report_is_written_atomically_and_replaces_the_previous_one(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "validation.html"
    assert write_report(FAILING_RUN, path) == path
    assert path.read_text(encoding="utf-8") == render_report(FAILING_RUN)

    passing = make_run(PASSED)
    write_report(passing, path)
    assert path.read_text(encoding="utf-8") == render_report(passing)
    assert [entry.name for entry in path.parent.iterdir()] == ["validation.html"]


def test_a_failed_write_keeps_the_previous_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_report(FAILING_RUN, tmp_path / "validation.html")
    previous = path.read_text(encoding="utf-8")

    def no_replace(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", no_replace)
    with pytest.raises(OSError, match="disk full"):
        write_report(make_run(PASSED), path)
    assert path.read_text(encoding="utf-8") == previous
    assert os.listdir(tmp_path) == ["validation.html"]
