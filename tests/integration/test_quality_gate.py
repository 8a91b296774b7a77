"""The quality gate on real DuckDB, dbt and GX: clean data pass, every defect is caught.

One cohort carries every defect class of the simulator (each on its own patient), so
one build and one validation serve a test per class; a second cohort carries only the
warning-level class and must pass with a warning.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.build import BuildSettings, build_cohort
from pipelines.cli import EXIT_GATE_FAILED, app
from pipelines.ingest import ingest
from pipelines.simulate import DEFECTS, simulate
from pipelines.validate.gate import run_gate
from tests.conftest import FIXED_LOAD_TIME, real_cohort_dir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AS_OF = dt.date(2026, 1, 1)

#: defect class -> (expectation that must catch it, severity of that expectation)
CAUGHT_BY = {
    "duplicate_patient": ("PLAU-10", "critical"),
    "progression_before_diagnosis": ("PLAU-01", "critical"),
    "death_before_progression": ("PLAU-01", "critical"),
    "followup_before_diagnosis": ("PLAU-01", "critical"),
    "date_in_future": ("PLAU-02", "critical"),
    "unparseable_date": ("CONF-02", "critical"),
    "unknown_aberration_spelling": ("CONF-05", "critical"),
    "unknown_status": ("CONF-06", "critical"),
    "non_numeric_value": ("CONF-03", "critical"),
    "negative_ct": ("PLAU-07", "critical"),
    "missing_reference_gene": ("COMP-07", "critical"),
    "orphan_expression_row": ("CONF-10", "critical"),
    "duplicate_expression_row": ("PLAU-11", "critical"),
    "high_replicate_sd": ("PLAU-09", "warning"),
}


def built_warehouse(folder: Path, db_path: Path) -> Path:
    ingest(folder, db_path, code_version="test", loaded_at=FIXED_LOAD_TIME)
    assert build_cohort(db_path, settings=BuildSettings(as_of_date=AS_OF)).success
    return db_path


@pytest.fixture(scope="module")
def all_defects(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("gate_defects")
    result = simulate(work / "input", patients=60, seed=23, defects=sorted(DEFECTS))
    db_path = built_warehouse(work / "input", work / "defects.duckdb")
    gate = run_gate(db_path, code_version="test", report_dir=work / "reports")
    return result, gate


def test_every_defect_class_has_an_expectation():
    assert set(CAUGHT_BY) == set(DEFECTS)


@pytest.mark.parametrize("defect", sorted(CAUGHT_BY))
def test_defect_class_is_caught_by_its_expectation(all_defects, defect: str):
    simulation, gate = all_defects
    [record] = [r for r in simulation.defects_applied if r.defect == defect]
    expectation_id, severity = CAUGHT_BY[defect]
    outcome = next(o for o in gate.run.outcomes if o.expectation_id == expectation_id)
    assert not outcome.success, outcome
    assert outcome.severity == severity
    assert record.patient_id in outcome.example_patient_ids
    assert outcome.unexpected_count and outcome.unexpected_count >= 1


def test_a_critical_defect_fails_the_gate_and_is_stored(all_defects):
    _, gate = all_defects
    assert gate.run.verdict == "fail"
    assert not gate.passed
    with duckdb.connect(str(gate.run.db_path), read_only=True) as con:
        [(verdict, failed)] = con.execute(
            "select verdict, n_critical_failed from quality.validation_runs where run_id = ?",
            [gate.run.run_id],
        ).fetchall()
        stored = con.execute(
            "select expectation_id, example_patient_ids from quality.validation_results "
            "where run_id = ? and not success and severity = 'critical'",
            [gate.run.run_id],
        ).fetchall()
    assert verdict == "fail" and failed == len(gate.run.blocking) == len(stored)
    assert gate.report_path.is_file()
    assert "FAIL" in gate.report_path.read_text(encoding="utf-8")


def test_cli_names_the_rule_and_example_rows_and_exits_nonzero(all_defects):
    simulation, gate = all_defects
    result = CliRunner().invoke(
        app,
        ["validate", "--db", str(gate.run.db_path), "--report-dir", str(gate.report_path.parent)],
    )
    assert result.exit_code == EXIT_GATE_FAILED, result.output
    unparseable = next(r for r in simulation.defects_applied if r.defect == "unparseable_date")
    assert "CONF-02" in result.output
    assert unparseable.patient_id in result.output
    assert f"row {unparseable.row}" in result.output  # the example row is named


def test_warning_level_defect_passes_with_a_warning(tmp_path: Path):
    simulate(tmp_path / "input", patients=60, seed=29, defects=["high_replicate_sd"])
    db_path = built_warehouse(tmp_path / "input", tmp_path / "warn.duckdb")
    gate = run_gate(db_path, code_version="test", report_dir=tmp_path / "reports")
    assert gate.run.verdict == "pass"
    assert "PLAU-09" in {outcome.expectation_id for outcome in gate.run.warnings}


def test_clean_simulated_cohort_passes(tmp_path: Path):
    simulate(tmp_path / "input", patients=60, seed=2017)
    db_path = built_warehouse(tmp_path / "input", tmp_path / "clean.duckdb")
    gate = run_gate(
        db_path,
        code_version="test",
        report_dir=tmp_path / "reports",
        critical_fields=("age_at_diagnosis", "iss_stage", "cytogenetic_risk"),
    )
    assert gate.run.verdict == "pass", [o for o in gate.run.outcomes if not o.success]


def test_real_uams_cohort_passes(tmp_path: Path):
    db_path = built_warehouse(real_cohort_dir("uams_gse24080_mm"), tmp_path / "uams.duckdb")
    gate = run_gate(db_path, code_version="test", report_dir=tmp_path / "reports")
    assert gate.run.verdict == "pass", gate.run.blocking
    # UAMS has no FISH risk probes: risk is unknown, a warning unless the study uses it
    assert "COMP-06" in {outcome.expectation_id for outcome in gate.run.warnings}
    strict = run_gate(
        db_path,
        code_version="test",
        report_dir=tmp_path / "reports",
        critical_fields=("cytogenetic_risk",),
    )
    assert "COMP-06" in {outcome.expectation_id for outcome in strict.run.blocking}
