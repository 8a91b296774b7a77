"""The run report page (content, warnings, embedded figures, offline-safety, no patient
ids) and the terminal summary, which shares its rows and sentences."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from rich.console import Console

from pipelines.analyze.schema import ensure_results_schema
from pipelines.analyze.summary import print_summary
from pipelines.report.files import FigureFile
from pipelines.report.html import write_run_report

RUN = "20260101T000000Z-abcd1234"
GATE = "20251231T235900Z-gate0001"
PLANTED_PATIENT = "SIM-9876-PLANTED"
KEY = "'IKZF1', 'pfs', 'q1_vs_rest'"


#: The published figures as the run's settings record a spec's ``reference`` block.
REFERENCE = {
    "citation": "Krönke 2017",
    "landmark_years": 3.0,
    "results": [
        {"biomarker": "IKZF1", "endpoint": "pfs", "low": 0.86, "high": 0.51, "p": "0.01"},
        {"biomarker": "IKZF1", "endpoint": "os", "low": 1.0, "high": 0.74, "p": "0.03"},
    ],
}


def _warehouse(
    *,
    simulated: bool = True,
    study: str = "dsmm_ikzf1",
    reference: dict[str, object] | None = REFERENCE,
    days_per_year: float | None = None,
) -> duckdb.DuckDBPyConnection:
    """A run's tables; ``reference`` and ``days_per_year`` go into its settings only when
    given (the settings of older runs have neither)."""
    con = duckdb.connect(":memory:")
    for schema in ("results", "quality", "marts"):
        con.execute(f"create schema {schema}")
    con.execute(
        """
        create table results.analysis_runs (
            run_id varchar, started_at timestamp, finished_at timestamp, status varchar,
            study varchar, spec_path varchar, spec_sha256 varchar, input_sha256 varchar,
            batch_id bigint, is_simulated boolean, dbt_invocation_id varchar,
            quality_run_id varchar, code_version varchar, settings json, error varchar)
        """
    )
    con.execute(
        "insert into results.analysis_runs values (?, ?, ?, 'succeeded', ?, 'specs/x.yml', "
        "'specsha', 'inputsha', 3, ?, 'dbt-inv-1', ?, '0.1.0', ?, null)",
        [
            RUN,
            dt.datetime(2026, 1, 1),
            dt.datetime(2026, 1, 1, 0, 1),
            study,
            simulated,
            GATE,
            json.dumps({"study": study, "note": "<b>not markup</b>"}),
        ],
    )
    con.execute(
        """
        create table quality.validation_runs (
            run_id varchar, started_at timestamp, verdict varchar, n_expectations integer,
            n_passed integer, n_critical_failed integer, n_warnings integer,
            report_path varchar)
        """
    )
    con.execute(
        "insert into quality.validation_runs values (?, ?, 'pass', 34, 33, 0, 1, "
        "'/w/reports/cohort/validation/gate0001.html')",
        [GATE, dt.datetime(2025, 12, 31, 23, 59)],
    )
    con.execute(
        """
        create table marts.cohort_baseline (
            display_order integer, characteristic varchar, category varchar,
            cytogenetic_risk varchar, n_group bigint, summary varchar)
        """
    )
    for risk, n in (("all", 60), ("standard", 46), ("high", 12), ("unknown", 2)):
        con.execute(
            "insert into marts.cohort_baseline values "
            "(1, 'patients', 'analysable', ?, ?, ?), (2, 'sex', 'F', ?, ?, ?)",
            [risk, n, str(n), risk, n, f"{n // 2} (50.0%)"],
        )
    con.execute(
        """
        create table results.group_summary (
            run_id varchar, biomarker varchar, endpoint varchar, grouping varchar,
            subgroup varchar, group_label varchar, n integer, events integer,
            cutpoint_low double, cutpoint_high double, median_days double,
            median_ci_lower double, median_ci_upper double, status varchar)
        """
    )
    con.execute(
        f"""insert into results.group_summary values
        ('{RUN}', {KEY}, 'all', 'Q1', 15, 3, 0.1, 0.5, null, null, null, 'ok'),
        ('{RUN}', {KEY}, 'all', 'Q2-Q4', 45, 20, 0.5, 2.0, 900, 700, 1200, 'ok'),
        ('{RUN}', {KEY}, 'cytogenetic_risk=high', 'Q1', 4, 1, 0.1, 0.4,
         null, null, null, 'ok')"""
    )
    con.execute(
        """
        create table results.km_landmarks (
            run_id varchar, biomarker varchar, endpoint varchar, grouping varchar,
            subgroup varchar, group_label varchar, time_years double, n_at_risk integer,
            survival double, ci_lower double, ci_upper double)
        """
    )
    con.execute(
        f"""insert into results.km_landmarks values
        ('{RUN}', {KEY}, 'all', 'Q1', 3.0, 12, 0.86, 0.70, 0.94),
        ('{RUN}', {KEY}, 'all', 'Q2-Q4', 3.0, 20, 0.51, 0.36, 0.64)"""
    )
    con.execute(
        """
        create table results.logrank_tests (
            run_id varchar, biomarker varchar, endpoint varchar, grouping varchar,
            subgroup varchar, test varchar, statistic double, df integer, p_value double,
            status varchar)
        """
    )
    con.execute(
        f"insert into results.logrank_tests values "
        f"('{RUN}', {KEY}, 'all', 'logrank', 6.6, 1, 0.0102, 'ok')"
    )
    con.execute(
        """
        create table results.cox_models (
            run_id varchar, biomarker varchar, endpoint varchar, grouping varchar,
            subgroup varchar, model varchar, term varchar, hazard_ratio double,
            ci_lower double, ci_upper double, p_value double, n integer, events integer,
            events_per_variable double, ph_test_p double, lrt_p_value double, status varchar)
        """
    )
    con.execute(
        f"""insert into results.cox_models values
        ('{RUN}', {KEY}, 'all', 'univariable', 'Q2-Q4 vs Q1', 3.9, 1.4, 11.0, 0.008,
         60, 23, 23, 0.02, null, 'ok'),
        ('{RUN}', {KEY}, 'cytogenetic_risk=high', 'univariable', 'Q2-Q4 vs Q1', null, null,
         null, null, 12, 1, 1, null, null, 'no_events_in_group')"""
    )
    # A table the report must not read: a planted patient id must not leak.
    con.execute(
        "create table results.group_assignments (run_id varchar, patient_id varchar, "
        "group_label varchar)"
    )
    con.execute("insert into results.group_assignments values (?, ?, 'Q1')", [RUN, PLANTED_PATIENT])
    # Tables of an older layout gain the columns of the current contract (NULL), as a real
    # warehouse does; the rows below use them.
    ensure_results_schema(con)
    con.execute(
        f"""insert into results.km_landmarks by name
        select '{RUN}' as run_id, 'IKZF1' as biomarker, 'pfs' as endpoint,
            'q1_vs_rest' as grouping, 'cytogenetic_risk=high' as subgroup,
            'Q1' as group_label, 3.0 as time_years, 4 as n_at_risk, 1.0 as survival,
            'no_events' as ci_status"""
    )
    con.execute(
        "update results.logrank_tests set family = 'primary', p_holm = 0.0204, q_bh = 0.0102"
    )
    settings: dict[str, object] = {
        "study": study, "note": "<b>not markup</b>", "subgroups": ["cytogenetic_risk"],
        "adjust_for": [], "multiplicity": {"family": {"grouping": "q1_vs_rest"}},
    }  # fmt: skip
    if reference is not None:
        settings["reference"] = reference
    if days_per_year is not None:
        settings["days_per_year"] = days_per_year
    con.execute("update results.analysis_runs set settings = ?", [json.dumps(settings)])
    con.execute(
        f"""insert into results.cox_models by name
        select '{RUN}' as run_id, 'IKZF1' as biomarker, 'pfs' as endpoint,
            'q1_vs_rest' as grouping, 'cytogenetic_risk interaction' as subgroup,
            'interaction' as model, 'mle' as method,
            'Q2-Q4 vs Q1 x high vs standard' as term, 'no_events_in_group' as status,
            'interaction not estimable: Q1 holds no patient with cytogenetic_risk = high'
                as note"""
    )
    con.execute(
        f"""insert into results.cox_models by name
        select '{RUN}' as run_id, 'IKZF1' as biomarker, 'pfs' as endpoint,
            'q1_vs_rest' as grouping, 'cytogenetic_risk=high' as subgroup,
            'univariable' as model, 'firth' as method, 'Q2-Q4 vs Q1' as term,
            4.2 as hazard_ratio, 1.1 as ci_lower, 60.0 as ci_upper, 0.02 as p_value,
            'ok' as status"""
    )
    return con


@pytest.fixture(scope="module")
def png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fig") / "km.png"
    figure, axes = plt.subplots(figsize=(1, 1), dpi=20)
    axes.plot([0, 1], [1, 0.5])
    figure.savefig(path)
    plt.close(figure)
    return path


def _figure(png: Path) -> FigureFile:
    return FigureFile(
        kind="km_q1_vs_rest",
        biomarker="IKZF1",
        endpoint="pfs",
        png_path=png,
        svg_path=png.with_suffix(".svg"),
        caption="IKZF1 PFS <Q1> vs Q2-Q4",
    )


def test_report_content(tmp_path: Path, png: Path) -> None:
    path = write_run_report(_warehouse(), RUN, [_figure(png)], tmp_path / "out")
    assert path == tmp_path / "out" / "index.html"
    page = path.read_text(encoding="utf-8").replace("<wbr>", "")
    assert page.lower().startswith("<!doctype html>")
    assert RUN in page
    assert "SIMULATED DATA" in page
    assert "Quality gate: ✓ PASS" in page
    assert "gate0001.html" in page and "34 checks" in page
    assert "published (Krönke 2017)" in page and "86% vs 51%, p=0.01" in page
    # Honest claims: adjusted p, no point interval, Firth instead of n/a, interaction reason.
    assert "p=0.010 (nominal; primary family of 1: Holm p=0.020, BH q=0.010)" in page
    assert "100% (CI not estimable: no events)" in page
    assert "Firth-penalised 4.20 (1.10-60.0) (profile-likelihood CI)" in page
    assert "interaction not estimable: Q1 holds no patient with cytogenetic_risk = high" in page
    assert "Multiplicity: the primary family" in page
    # provenance
    for text in ("specsha", "inputsha", "dbt-inv-1", "specs/x.yml", "0.1.0"):
        assert text in page
    # Table 1 pivoted with the risk groups as columns, in order
    table1 = page[page.index("Cohort (Table 1)") : page.index("Summary: Q1 vs Q2-Q4")]
    assert table1.index(">all<") < table1.index(">standard<") < table1.index(">high<")
    assert "n=46" in page and "23 (50.0%)" in page
    # figures embedded, caption escaped
    assert "data:image/png;base64," in page
    assert "IKZF1 PFS &lt;Q1&gt; vs Q2-Q4" in page
    assert "<b>not markup</b>" not in page and "&lt;b&gt;not markup" in page
    # offline and no patient ids
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page.lower()
    assert PLANTED_PATIENT not in page
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_warnings(tmp_path: Path) -> None:
    page = write_run_report(_warehouse(), RUN, [], tmp_path).read_text(encoding="utf-8")
    page = page.replace("<wbr>", "")
    warnings = page[page.index("<h2>Warnings</h2>") : page.index("Cohort (Table 1)")]
    assert "Groups with fewer than 10 patients" in warnings
    assert "cytogenetic_risk=high" in warnings  # the n=4 group and the failed model
    assert "no_events_in_group" in warnings
    assert "Proportional-hazards violations" in warnings and "Q2-Q4 vs Q1" in warnings
    assert "Figures" not in page


def test_not_simulated_has_no_banner_or_published_column(tmp_path: Path) -> None:
    con = _warehouse(simulated=False, study="other_study", reference=None)
    page = write_run_report(con, RUN, [], tmp_path).read_text(encoding="utf-8")
    assert "SIMULATED" not in page
    assert "published (Krönke 2017)" not in page
    assert "Summary: Q1 vs Q2-Q4" in page


def test_missing_gate_and_unknown_run(tmp_path: Path) -> None:
    con = _warehouse()
    con.execute("delete from quality.validation_runs")
    page = write_run_report(con, RUN, [], tmp_path).read_text(encoding="utf-8")
    assert "NO GATE RECORD" in page
    with pytest.raises(LookupError):
        write_run_report(con, "no-such-run", [], tmp_path)


def _page(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> str:
    page = write_run_report(con, RUN, [], tmp_path).read_text(encoding="utf-8")
    return page.replace("<wbr>", "")


def _summary_section(page: str) -> str:
    return page[page.index("Summary: Q1 vs Q2-Q4") : page.index("Results by biomarker")]


def _terminal(con: duckdb.DuckDBPyConnection) -> str:
    console = Console(record=True, width=400)
    print_summary(console, con, RUN)
    return console.export_text()


def test_the_published_column_comes_from_the_spec_reference_not_the_study_name(
    tmp_path: Path,
) -> None:
    reference = {**REFERENCE, "citation": "Doe 2020, J Hematol 1:2-3"}
    con = _warehouse(simulated=False, study="other_study", reference=reference)
    page = _page(con, tmp_path)
    assert "published (Doe 2020, J Hematol 1:2-3)" in page and "86% vs 51%, p=0.01" in page
    # delivered data: no banner and no word of a simulated cohort
    assert "SIMULATED" not in page and "<b>simulated</b> cohort" not in page
    assert "this run's results on the delivered cohort" in page
    terminal = _terminal(con)
    assert "[published, Doe 2020, J Hematol 1:2-3: 86% vs 51%, p=0.01]" in terminal
    assert "Simulated demo cohort" not in terminal


def test_an_older_run_without_a_reference_shows_no_published_figures(tmp_path: Path) -> None:
    # The reference study's name and simulated data no longer imply published figures.
    con = _warehouse(reference=None)
    page = _page(con, tmp_path)
    assert "SIMULATED DATA" in page
    assert "published (" not in page and "86% vs 51%" not in page
    assert 'class="number published"' not in page
    terminal = _terminal(con)
    assert "published" not in terminal and "Simulated demo cohort" not in terminal
    assert "3-y 86% (70-94) vs 51% (36-64)" in terminal


def test_terminal_and_page_say_the_same_with_a_simulated_reference(tmp_path: Path) -> None:
    con = _warehouse()
    summary = _summary_section(_page(con, tmp_path))
    terminal = _terminal(con)
    assert "[published, Krönke 2017: 86% vs 51%, p=0.01]" in terminal
    assert "Simulated demo cohort: one random draw" in terminal
    assert "<b>simulated</b> cohort: one random draw" in summary
    for text in (
        "86% (70-94)",
        "p=0.010 (nominal; primary family of 1: Holm p=0.020, BH q=0.010)",
        "univariable 3.90 (1.40-11.0) p=0.008",  # one HR format: 3 significant digits
        "Firth-penalised 4.20 (1.10-60.0) (profile-likelihood CI)",
    ):
        assert text in summary and text in terminal, text


def test_the_summary_is_read_at_the_reference_landmark(tmp_path: Path) -> None:
    con = _warehouse(reference={**REFERENCE, "landmark_years": 5})
    con.execute(
        f"""insert into results.km_landmarks by name
        select * from (values
            ('{RUN}', 'IKZF1', 'pfs', 'q1_vs_rest', 'all', 'Q1', 5.0, 9, 0.70, 0.50, 0.83),
            ('{RUN}', 'IKZF1', 'pfs', 'q1_vs_rest', 'all', 'Q2-Q4', 5.0, 12, 0.40, 0.26, 0.54)
        ) t(run_id, biomarker, endpoint, grouping, subgroup, group_label, time_years,
            n_at_risk, survival, ci_lower, ci_upper)"""
    )
    page = _page(con, tmp_path)
    summary = _summary_section(page)
    assert "5-y Q1 (95% CI)" in summary and "5-y Q1 vs Q2-Q4, p" in summary
    assert "70% (50-83)" in summary and "40% (26-54)" in summary
    assert "86% (70-94)" not in summary  # the 3-year estimate is not the comparison
    assert "5-y survival (95% CI)" in page and "At risk at 5-y" in page
    assert "5-y 70% (50-83) vs 40% (26-54)" in _terminal(con)


def test_median_years_use_the_runs_days_per_year(tmp_path: Path) -> None:
    # Q2-Q4's median 900 days (700-1200)
    assert "2.5 (1.9-3.3)" in _page(_warehouse(), tmp_path)  # spec default, 365.25
    assert "3.0 (2.3-4.0)" in _page(_warehouse(days_per_year=300), tmp_path)
