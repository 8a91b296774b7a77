"""`cohort analyze` end to end: gate and settings checks, result tables, refusals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pytest

from pipelines.analyze.cohort import AnalysisRefused
from pipelines.analyze.run import analyze
from pipelines.analyze.schema import TABLES
from pipelines.build import build_cohort
from pipelines.ingest import ingest
from pipelines.simulate import simulate
from pipelines.spec import load_spec, parse_spec
from pipelines.validate.gate import run_gate
from tests.conftest import FIXED_LOAD_TIME, REPO_ROOT, real_cohort_dir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DSMM_SPEC = REPO_ROOT / "studies" / "dsmm_ikzf1.yml"
UAMS_SPEC = REPO_ROOT / "studies" / "uams_tt_markers.yml"


def prepared(folder: Path, db_path: Path, spec_path: Path, *, gate: bool = True) -> Path:
    spec = load_spec(spec_path)
    ingest(folder, db_path, code_version="test", loaded_at=FIXED_LOAD_TIME)
    assert build_cohort(db_path, settings=spec.build_settings()).success
    if gate:
        run_gate(
            db_path,
            code_version="test",
            critical_fields=spec.critical_fields(),
            report_dir=db_path.parent / "reports",
        )
    return db_path


def rows(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("analyze_demo")
    simulate(work / "input", patients=60, seed=2017)
    db_path = prepared(work / "input", work / "demo.duckdb", DSMM_SPEC)
    result = analyze(db_path, load_spec(DSMM_SPEC), code_version="test")
    return db_path, result


def test_run_is_recorded_with_provenance(demo):
    db_path, result = demo
    [(status, study, sha, quality, invocation, simulated)] = rows(
        db_path,
        f"""
        select status, study, spec_sha256, quality_run_id, dbt_invocation_id, is_simulated
        from results.analysis_runs where run_id = '{result.run_id}'""",
    )
    assert status == "succeeded" and study == "dsmm_ikzf1" and simulated
    assert sha == load_spec(DSMM_SPEC).sha256 and quality and invocation


def test_result_tables_match_the_documented_contract(demo):
    db_path, _ = demo
    for table, columns in TABLES.items():
        stored = [
            row[0]
            for row in rows(
                db_path,
                f"""
            select column_name from information_schema.columns
            where table_schema = 'results' and table_name = '{table}'
            order by ordinal_position""",
            )
        ]
        documented = [
            part.split()[0]
            for part in columns.replace("\n", " ").split(",")
            if part.strip() and part.split()[0] not in ("not", "null")
        ]
        assert stored == documented, table
        assert (
            rows(
                db_path,
                f"select count(*) from results.latest_{table}"
                if table != "analysis_runs"
                else "select count(*) from results.latest_run",
            )[0][0]
            > 0
        ), table


def test_every_combination_is_present_with_group_sizes_adding_up(demo):
    db_path, _ = demo
    combos = rows(
        db_path,
        """
        select count(distinct (biomarker, endpoint, grouping, subgroup))
        from results.latest_group_summary""",
    )
    # 4 genes x 2 endpoints x 2 groupings x (all, standard, high)
    assert combos == [(4 * 2 * 2 * 3,)]
    sizes = rows(
        db_path,
        """
        select grouping, sum(n) from results.latest_group_summary
        where biomarker = 'IKZF1' and endpoint = 'pfs' and subgroup = 'all' group by 1""",
    )
    assert dict(sizes) == {"q1_vs_rest": 60, "quartiles": 60}
    [(q1,)] = rows(
        db_path,
        """
        select count(*) from results.latest_group_assignments
        where biomarker = 'IKZF1' and grouping = 'q1_vs_rest' and subgroup = 'all'
          and group_label = 'Q1'""",
    )
    assert q1 == 15


def test_stored_landmark_equals_an_independent_lifelines_fit(demo):
    from lifelines import KaplanMeierFitter

    db_path, _ = demo
    data = rows(
        db_path,
        """
        select p.pfs_days, p.is_pfs_event
        from results.latest_group_assignments as a
        join marts.cohort_patients as p using (patient_id)
        where a.biomarker = 'IKZF1' and a.grouping = 'q1_vs_rest' and a.subgroup = 'all'
          and a.group_label = 'Q1'""",
    )
    fitter = KaplanMeierFitter().fit([d for d, _ in data], [e for _, e in data])
    expected = float(fitter.survival_function_at_times(3 * 365.25).iloc[0])
    [(stored,)] = rows(
        db_path,
        """
        select survival from results.latest_km_landmarks
        where biomarker = 'IKZF1' and endpoint = 'pfs' and grouping = 'q1_vs_rest'
          and subgroup = 'all' and group_label = 'Q1' and time_years = 3""",
    )
    assert stored == pytest.approx(expected, abs=1e-12)


def test_unknown_biomarker_is_refused_before_computing(demo):
    db_path, _ = demo
    text = DSMM_SPEC.read_text().replace("IKZF3", "IKZF9")
    spec = parse_spec(text, source="bad.yml")
    before = rows(db_path, "select count(*) from results.analysis_runs")
    with pytest.raises(AnalysisRefused, match="IKZF9"):
        analyze(db_path, spec, code_version="test")
    assert rows(db_path, "select count(*) from results.analysis_runs") == before


def test_analysis_refuses_when_the_gate_failed_or_did_not_run(tmp_path: Path):
    simulate(tmp_path / "input", patients=60, seed=5, defects=["negative_ct"])
    db_path = prepared(tmp_path / "input", tmp_path / "bad.duckdb", DSMM_SPEC, gate=False)
    with pytest.raises(AnalysisRefused, match="quality gate has not run"):
        analyze(db_path, load_spec(DSMM_SPEC), code_version="test")
    gate = run_gate(db_path, code_version="test", report_dir=tmp_path / "reports")
    assert gate.run.verdict == "fail"
    with pytest.raises(AnalysisRefused, match="quality gate failed"):
        analyze(db_path, load_spec(DSMM_SPEC), code_version="test")
    tables = rows(
        db_path, "select count(*) from information_schema.tables where table_schema = 'results'"
    )
    assert tables == [(0,)]  # nothing of that run was written


def test_analysis_refuses_marts_built_with_other_settings(demo, tmp_path: Path):
    db_path, _ = demo
    text = DSMM_SPEC.read_text() + "\ndata_cutoff: 2013-01-01\n"
    spec = parse_spec(text, source="cutoff.yml")
    assert spec.data_cutoff == dt.date(2013, 1, 1)
    with pytest.raises(AnalysisRefused, match="other settings"):
        analyze(db_path, spec, code_version="test")


def test_real_uams_cohort_runs_with_its_example_spec(tmp_path: Path):
    db_path = prepared(real_cohort_dir("uams_gse24080_mm"), tmp_path / "uams.duckdb", UAMS_SPEC)
    result = analyze(db_path, load_spec(UAMS_SPEC), code_version="test")
    genes = {
        gene
        for (gene,) in rows(db_path, "select distinct biomarker from results.latest_logrank_tests")
    }
    assert genes == set(load_spec(UAMS_SPEC).biomarkers)
    assert result.rows_written["cox_models"] > 0


def test_other_groupings_and_quartiles_within_subgroup(demo):
    db_path, _ = demo
    text = DSMM_SPEC.read_text()
    text = text.replace("quartiles_within: cohort", "quartiles_within: subgroup")
    text = text.replace(
        "groupings: [q1_vs_rest, quartiles]", "groupings: [q1_vs_rest, median, tertiles]"
    )
    spec = parse_spec(text, source="within.yml")
    assert spec.quartiles_within == "subgroup"
    result = analyze(db_path, spec, code_version="test")
    run = result.run_id
    # within a subgroup, Q1 is a quarter of that subgroup (not of the cohort)
    [(n_q1, n_all)] = rows(
        db_path,
        f"""
        select sum(n) filter (where group_label = 'Q1'), sum(n)
        from results.group_summary
        where run_id = '{run}' and biomarker = 'IKZF1' and endpoint = 'pfs'
          and grouping = 'q1_vs_rest' and subgroup = 'cytogenetic_risk=high'""",
    )
    assert n_all == 12 and n_q1 in (3, 4)
    labels = {
        label
        for (label,) in rows(
            db_path,
            f"""
        select distinct group_label from results.group_summary where run_id = '{run}'""",
        )
    }
    assert labels == {"Q1", "Q2-Q4", "M1", "M2", "T1", "T2", "T3"}
    interaction = rows(
        db_path,
        f"""
        select lrt_p_value from results.cox_models
        where run_id = '{run}' and model = 'interaction' and lrt_p_value is not null""",
    )
    assert interaction  # values equal R's anova(): tests/reference/test_r_generated.py


def _holm_by_definition(p: list[float]) -> list[float]:
    """Holm (1979) as the paper states it: the i-th smallest of m p-values is multiplied
    by m - i + 1, capped at 1, and made monotone by the running maximum."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    adjusted, running = [0.0] * len(p), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[index]))
        adjusted[index] = running
    return adjusted


def test_primary_family_is_adjusted_and_everything_else_is_nominal(demo):
    """The spec declares no family, so the default one: the whole-cohort Q1 vs Q2-Q4
    log-rank test of 4 biomarkers x 2 endpoints. Only those 8 rows carry Holm and BH."""
    db_path, _ = demo
    tests = rows(
        db_path,
        """
        select biomarker, endpoint, grouping, subgroup, test, p_value, family, p_holm, q_bh
        from results.latest_logrank_tests""",
    )
    primary = [row for row in tests if row[6] == "primary"]
    assert len(primary) == 8
    assert {row[2:5] for row in primary} == {("q1_vs_rest", "all", "logrank")}
    assert {(row[0], row[1]) for row in primary} == {
        (gene, endpoint) for gene in ("IKZF1", "IKZF3", "CRBN", "BSG") for endpoint in ("pfs", "os")
    }
    holm = _holm_by_definition([row[5] for row in primary])
    assert [row[7] for row in primary] == pytest.approx(holm, rel=1e-12)
    assert all(row[8] <= row[7] + 1e-15 and row[8] >= row[5] for row in primary)
    secondary = [row for row in tests if row[6] != "primary"]
    assert secondary and all(row[6] == "secondary" and row[7] is None for row in secondary)
    assert all(row[8] is None for row in secondary)


def test_power_follows_schoenfeld_from_the_stored_group_sizes(demo):
    """results.power against the stored group sizes and an independent evaluation of
    Schoenfeld's formula with scipy's normal quantiles."""
    from scipy.stats import norm

    db_path, _ = demo
    found = rows(
        db_path,
        """
        select p.n_low, p.n_high, p.events, p.allocation, p.min_detectable_hr,
            p.power_at_target_hr, p.target_hr, q1.n, rest.n, q1.events + rest.events
        from results.latest_power p
        join results.latest_group_summary q1 using (biomarker, endpoint, grouping, subgroup)
        join results.latest_group_summary rest using (biomarker, endpoint, grouping, subgroup)
        where p.grouping = 'q1_vs_rest' and q1.group_label = 'Q1'
            and rest.group_label = 'Q2-Q4' and p.contrast = 'Q2-Q4 vs Q1'""",
    )
    assert len(found) == 4 * 2 * 3
    for n_low, n_high, events, share, detectable, power, target, q1, rest, both in found:
        assert (n_low, n_high, events) == (q1, rest, both)
        assert share == pytest.approx(q1 / (q1 + rest))
        information = events * share * (1 - share)
        assert detectable == pytest.approx(
            np.exp((norm.ppf(0.975) + norm.ppf(0.8)) / np.sqrt(information)), rel=1e-10
        )
        assert power == pytest.approx(
            norm.cdf(np.sqrt(information) * np.log(target) - norm.ppf(0.975)), rel=1e-10
        )


def _ikzf1_pfs(db_path: Path) -> list[tuple[object, ...]]:
    """IKZF1 value, PFS days and event of every analysed patient, from the marts."""
    return rows(
        db_path,
        """
        select e.expression_value, p.pfs_days, p.is_pfs_event, a.group_label
        from results.latest_group_assignments as a
        join marts.cohort_patients as p using (patient_id)
        join marts.cohort_expression as e on e.patient_id = a.patient_id and e.gene = 'IKZF1'
        where a.biomarker = 'IKZF1' and a.grouping = 'q1_vs_rest' and a.subgroup = 'all'""",
    )


def test_stored_per_doubling_hazard_ratio_equals_lifelines(demo):
    """The stored per-unit Cox of IKZF1 (log2 scale: per doubling) against lifelines fitted
    on the same mart rows, converged as tightly as R."""
    import pandas as pd
    from lifelines import CoxPHFitter

    from analysis.cox import FIT_OPTIONS

    db_path, _ = demo
    data = pd.DataFrame(_ikzf1_pfs(db_path), columns=["value", "time", "event", "group"])
    fitter = CoxPHFitter().fit(
        data[["value", "time", "event"]].astype(float), "time", "event", fit_options=FIT_OPTIONS
    )
    [(scale, hr, lower, upper, p)] = rows(
        db_path,
        """
        select scale, hazard_ratio, hr_ci_lower, hr_ci_upper, wald_p
        from results.latest_continuous_models
        where biomarker = 'IKZF1' and endpoint = 'pfs' and subgroup = 'all'
          and model = 'per_unit'""",
    )
    summary = fitter.summary.loc["value"]
    assert "log2" in scale
    assert hr == pytest.approx(summary["exp(coef)"], rel=1e-6)
    assert (lower, upper) == pytest.approx(
        (summary["exp(coef) lower 95%"], summary["exp(coef) upper 95%"]), rel=1e-6
    )
    assert p == pytest.approx(summary["p"], rel=1e-5)


def test_stored_rmst_equals_lifelines(demo):
    """Per-group RMST over the stored horizon against lifelines'
    restricted_mean_survival_time on a Kaplan-Meier fit of the same rows."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time

    db_path, _ = demo
    data = _ikzf1_pfs(db_path)
    stored = rows(
        db_path,
        """
        select group_label, tau_days, rmst_days from results.latest_rmst
        where biomarker = 'IKZF1' and endpoint = 'pfs' and grouping = 'q1_vs_rest'
          and subgroup = 'all' and measure = 'rmst' order by group_label""",
    )
    assert [row[0] for row in stored] == ["Q1", "Q2-Q4"]
    for label, tau, rmst in stored:
        group = [(t, e) for _, t, e, g in data if g == label]
        fitter = KaplanMeierFitter().fit([t for t, _ in group], [e for _, e in group])
        assert rmst == pytest.approx(restricted_mean_survival_time(fitter, t=tau), rel=1e-9)


def test_cut_point_ledger_grows_with_every_choice_tried(demo, tmp_path: Path):
    """Every cut-point choice tried on the same cohort data is remembered across runs and
    spec edits, and the next run's family correction includes it."""
    import json
    import shutil

    db_path, _ = demo
    copy = tmp_path / "ledger.duckdb"
    shutil.copy(db_path, copy)
    first = rows(
        copy,
        """
        select grouping, n_runs from results.cutpoint_ledger
        where biomarker = 'IKZF1' and endpoint = 'pfs' and subgroup = 'all'
        order by grouping""",
    )
    text = DSMM_SPEC.read_text().replace(
        "groupings: [q1_vs_rest, quartiles]", "groupings: [q1_vs_rest, median]"
    )
    result = analyze(copy, parse_spec(text, source="median.yml"), code_version="test")
    ledger = dict(
        rows(
            copy,
            """
            select grouping, n_runs from results.cutpoint_ledger
            where biomarker = 'IKZF1' and endpoint = 'pfs' and subgroup = 'all'""",
        )
    )
    before = dict(first)
    assert set(before) <= set(ledger)
    # Every choice of this run's family counts one more run; "median" is new here unless
    # an earlier test of this module already tried it on the same data.
    assert all(ledger[choice] == before.get(choice, 0) + 1 for choice in ledger)
    assert {"q1_vs_rest", "quartiles", "maxstat"} <= set(before)
    [(choices, n_choices, min_p, corrected_p, permutations)] = rows(
        copy,
        f"""
        select choices, n_choices, min_p, corrected_p, permutations
        from results.cutpoint_family_tests
        where run_id = '{result.run_id}' and biomarker = 'IKZF1' and endpoint = 'pfs'
          and subgroup = 'all'""",
    )
    tried = [item["choice"] for item in json.loads(choices)]
    assert set(tried) == set(before) | {"median"} == set(ledger)
    assert n_choices == len(tried)
    assert 1 / (1 + permutations) <= corrected_p <= 1.0
    smallest = min(item["p_value"] for item in json.loads(choices) if item["p_value"] is not None)
    assert min_p == pytest.approx(smallest)
