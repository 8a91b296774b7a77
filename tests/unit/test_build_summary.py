"""The build report and exit codes, from hand-built stand-ins for dbt's result objects.

No dbt run here: ``summarise_run`` only reads attributes, so ``SimpleNamespace`` objects
shaped like ``dbtRunnerResult`` / ``RunResult`` / nodes exercise every path, including
ones hard to provoke with real data (a dbt parse error, a warned test).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from enum import Enum
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.build import (
    BuildRefused,
    BuildResult,
    BuildSettings,
    CohortCounts,
    ExampleRows,
    RiskGroupCount,
)
from pipelines.build.result import summarise_run
from pipelines.build.runner import (
    DB_PATH_VARIABLE,
    require_raw_batch,
    warehouse_path_for_dbt,
)
from pipelines.cli import EXIT_BUILD_FAILED, EXIT_NOT_READY, app
from pipelines.ingest import ingest
from tests.conftest import DeliveryWriter

runner = CliRunner()


class Status(str, Enum):  # noqa: UP042 - str() of a member is not its value, as in dbt 1.11
    """dbt's statuses are str enums (RunStatus, TestStatus); the report shows values."""

    SUCCESS = "success"
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    ERROR = "error"
    SKIPPED = "skipped"


def dbt_node(
    unique_id: str,
    *,
    relation_name: str | None = None,
    attached_node: str | None = None,
    depends_on: tuple[str, ...] = (),
    column_name: str | None = None,
) -> SimpleNamespace:
    resource_type, _, name = unique_id.split(".", 2)
    return SimpleNamespace(
        unique_id=unique_id,
        resource_type=resource_type,
        name=name.split(".")[0],
        relation_name=relation_name,
        attached_node=attached_node,
        depends_on=SimpleNamespace(nodes=list(depends_on)),
        column_name=column_name,
    )


def run_result(
    node: SimpleNamespace,
    status: Status,
    *,
    failures: int | None = None,
    message: str | None = None,
    seconds: float = 0.1,
) -> SimpleNamespace:
    return SimpleNamespace(
        node=node, status=status, failures=failures, message=message, execution_time=seconds
    )


def dbt_result(
    results: list[SimpleNamespace] | None,
    *,
    success: bool,
    exception: BaseException | None = None,
) -> SimpleNamespace:
    execution = None if results is None else SimpleNamespace(results=results, elapsed_time=1.5)
    return SimpleNamespace(result=execution, success=success, exception=exception)


SEED = run_result(dbt_node("seed.cohort.gene_aliases"), Status.SUCCESS, message="INSERT 8")
MODEL = run_result(dbt_node("model.cohort.cohort_patients"), Status.SUCCESS, message="OK")
PASSING_TEST = run_result(
    dbt_node(
        "test.cohort.not_null_cohort_patients_patient_id.ab12",
        attached_node="model.cohort.cohort_patients",
        column_name="patient_id",
    ),
    Status.PASS,
    failures=0,
)
UNIQUE_RELATION = '"study"."test_failures"."unique_cohort_patients_patient_id"'
FAILING_TEST = run_result(
    dbt_node(
        "test.cohort.unique_cohort_patients_patient_id.cd34",
        relation_name=UNIQUE_RELATION,
        attached_node="model.cohort.cohort_patients",
        depends_on=("model.cohort.cohort_patients",),
        column_name="patient_id",
    ),
    Status.FAIL,
    failures=2,
    message="Got 2 results, configured to fail if != 0",
)
STORED_FAILURES = ExampleRows(
    columns=("unique_field", "n_records"), rows=(("SIM-007", 2), ("SIM-031", 2))
)
COHORT = CohortCounts(
    patients=60,
    excluded=2,
    by_risk=(
        RiskGroupCount("high", 12, 0),
        RiskGroupCount("standard", 46, 2),
        RiskGroupCount("unknown", 2, 0),
    ),
)


def summarise(fake: SimpleNamespace, stored: dict[str, ExampleRows] | None = None) -> BuildResult:
    stored = stored or {}
    return summarise_run(
        fake,
        db_path=Path("/data/study.duckdb"),
        build_dir=Path("/data/build/study"),
        settings=BuildSettings(),
        dbt_seconds=2.0,
        read_examples=stored.get,
    )


def run_cli_with(result: BuildResult, monkeypatch: pytest.MonkeyPatch, *args: str):
    captured: dict[str, BuildSettings] = {}
    monkeypatch.chdir(tempfile.mkdtemp())  # the writer lock goes beside the (relative) db

    def fake_build(db_path: Path, *, settings: BuildSettings) -> BuildResult:
        captured["settings"] = settings
        return result

    monkeypatch.setattr("pipelines.build.build_cohort", fake_build)
    outcome = runner.invoke(app, ["build", "--db", "study.duckdb", *args])
    return outcome, captured.get("settings")


# --- summarise_run -------------------------------------------------------------------


def test_a_clean_run_succeeds_with_counts_by_type_and_status():
    result = summarise(dbt_result([SEED, MODEL, PASSING_TEST], success=True))
    assert result.success
    assert result.failed_tests == ()
    assert {kind: dict(counter) for kind, counter in result.status_counts().items()} == {
        "seed": {"success": 1},
        "model": {"success": 1},
        "test": {"pass": 1},
    }
    assert result.node_seconds == pytest.approx(0.3)
    assert result.dbt_elapsed_seconds == 1.5


def test_a_failing_test_names_its_model_column_and_stored_rows():
    result = summarise(
        dbt_result([SEED, MODEL, FAILING_TEST], success=False),
        stored={UNIQUE_RELATION: STORED_FAILURES},
    )
    assert not result.success
    (failed,) = result.failed_tests
    assert failed.test_name == "unique_cohort_patients_patient_id"
    assert (failed.tested, failed.column_name, failed.failures) == (
        "cohort_patients",
        "patient_id",
        2,
    )
    assert failed.examples == STORED_FAILURES


def test_a_singular_test_is_attributed_to_the_models_it_reads():
    singular = run_result(
        dbt_node(
            "test.cohort.assert_followup_after_diagnosis",
            relation_name='"study"."test_failures"."assert_followup_after_diagnosis"',
            depends_on=("model.cohort.cohort_patients", "source.cohort.raw.patients"),
        ),
        Status.FAIL,
        failures=1,
    )
    (failed,) = summarise(dbt_result([singular], success=False)).failed_tests
    assert failed.tested == "cohort_patients, raw.patients"
    assert failed.examples is None  # nothing stored under that name in this fake


def test_an_errored_test_shows_no_stale_rows():
    errored = run_result(FAILING_TEST.node, Status.ERROR, message="Binder Error: no column x")
    stored = {UNIQUE_RELATION: STORED_FAILURES}  # left over from an earlier run
    result = summarise(dbt_result([errored], success=False), stored=stored)
    assert not result.success
    assert result.failed_tests[0].examples is None
    assert result.failed_tests[0].message == "Binder Error: no column x"


def test_a_warned_test_is_reported_but_does_not_fail_the_build():
    warned = run_result(FAILING_TEST.node, Status.WARN, failures=2, message="Got 2 results")
    result = summarise(
        dbt_result([MODEL, warned], success=True), stored={UNIQUE_RELATION: STORED_FAILURES}
    )
    assert result.success
    assert result.failed_tests[0].status == "warn"
    assert result.failed_tests[0].examples == STORED_FAILURES


def test_a_model_error_fails_the_build_and_is_listed():
    broken = run_result(
        dbt_node("model.cohort.int_patients_deduplicated"),
        Status.ERROR,
        message="Runtime Error: Conversion Error",
    )
    skipped = run_result(dbt_node("model.cohort.cohort_patients"), Status.SKIPPED)
    result = summarise(dbt_result([SEED, broken, skipped], success=False))
    assert not result.success
    assert [node.name for node in result.errored_nodes] == ["int_patients_deduplicated"]


def test_a_dbt_exception_is_surfaced_even_without_node_results():
    parse_error = RuntimeError("Parsing Error\n  Error reading cohort: marts/_marts__models.yml")
    result = summarise(dbt_result(None, success=False, exception=parse_error))
    assert not result.success
    assert result.nodes == ()
    assert result.error is not None
    assert result.error.startswith("RuntimeError: Parsing Error")
    assert result.dbt_elapsed_seconds is None


def test_success_requires_dbts_own_verdict_too():
    assert not summarise(dbt_result([SEED], success=False)).success


# --- the command ---------------------------------------------------------------------


def test_cli_prints_counts_timings_and_the_cohort_by_risk_group(monkeypatch):
    result = summarise(dbt_result([SEED, MODEL, PASSING_TEST], success=True))
    outcome, _ = run_cli_with(
        BuildResult(**{**result.__dict__, "cohort": COHORT, "wall_seconds": 3.25}), monkeypatch
    )
    assert outcome.exit_code == 0, outcome.output
    output = outcome.output
    assert "succeeded" in output
    assert "seeds   1 success" in output and "tests   1 pass" in output
    assert "3.2 s wall, dbt 2.0 s" in output
    assert "60 patients, 2 excluded" in output
    for risk, patients in (("high", "12"), ("standard", "46"), ("unknown", "2")):
        assert any(risk in line and patients in line for line in output.splitlines())


def test_cli_exits_3_naming_the_failing_test_model_and_example_rows(monkeypatch):
    result = summarise(
        dbt_result([SEED, MODEL, FAILING_TEST], success=False),
        stored={UNIQUE_RELATION: STORED_FAILURES},
    )
    outcome, _ = run_cli_with(result, monkeypatch)
    assert outcome.exit_code == EXIT_BUILD_FAILED
    output = outcome.output
    assert "FAILED" in output
    assert "tests   1 fail" in output
    assert "test fail: unique_cohort_patients_patient_id on cohort_patients.patient_id" in output
    assert "Got 2 results, configured to fail if != 0" in output
    assert "example rows (2 of 2):" in output
    assert "unique_field=SIM-007, n_records=2" in output
    assert f"select * from {UNIQUE_RELATION}" in output
    assert "excluded" not in output  # no cohort table after a failure


def test_cli_exits_3_with_dbts_message_when_dbt_cannot_run(monkeypatch):
    error = RuntimeError("Compilation Error in model cohort_patients [marts]")
    outcome, _ = run_cli_with(
        summarise(dbt_result(None, success=False, exception=error)), monkeypatch
    )
    assert outcome.exit_code == EXIT_BUILD_FAILED
    assert "dbt could not run the project" in outcome.output
    assert "Compilation Error in model cohort_patients [marts]" in outcome.output  # not markup


def test_cli_passes_the_options_as_settings(monkeypatch):
    result = summarise(dbt_result([SEED], success=True))
    outcome, settings = run_cli_with(
        result,
        monkeypatch,
        "--cutoff",
        "2014-11-01",
        "--high-risk",
        "del(17p), t(4;14)",
        "--reference-gene",
        "GAPDH",
    )
    assert outcome.exit_code == 0, outcome.output
    assert settings == BuildSettings(
        data_cutoff_date=dt.date(2014, 11, 1),
        high_risk_aberrations=("del(17p)", "t(4;14)"),
        reference_gene="GAPDH",
    )


def test_cli_refuses_a_malformed_cutoff(monkeypatch):
    outcome, settings = run_cli_with(
        summarise(dbt_result([], success=True)), monkeypatch, "--cutoff", "1.11.2014"
    )
    assert outcome.exit_code == 2
    assert settings is None


# --- settings and preconditions -------------------------------------------------------


def test_settings_become_json_able_dbt_vars():
    settings = BuildSettings(data_cutoff_date=dt.date(2014, 11, 1), reference_gene="GAPDH")
    assert settings.to_dbt_vars() == {
        "data_cutoff_date": "2014-11-01",
        "high_risk_aberrations": ["del(17p)", "t(4;14)", "t(14;16)"],
        "reference_gene": "GAPDH",
        "replicate_sd_threshold": 0.5,
        "ct_min": 0.0,
        "ct_max": 45.0,
        "as_of_date": None,
        "days_per_year": 365.25,
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"high_risk_aberrations": ()},
        {"high_risk_aberrations": ["del(17p)"]},
        {"ct_min": 40.0, "ct_max": 35.0},
        {"days_per_year": 0},
    ],
)
def test_settings_refuse_meaningless_values(bad: dict[str, object]):
    with pytest.raises((ValueError, TypeError)):
        BuildSettings(**bad)  # type: ignore[arg-type]


def test_a_missing_or_never_ingested_warehouse_is_refused(tmp_path: Path):
    with pytest.raises(BuildRefused, match="cohort ingest"):
        require_raw_batch(tmp_path / "absent.duckdb")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(BuildRefused, match="no raw batch"):
        require_raw_batch(empty)
    assert not (tmp_path / "build").exists()


def test_an_ingested_warehouse_is_accepted(write_delivery: DeliveryWriter, db_path: Path):
    ingest(write_delivery(), db_path, code_version="test")
    require_raw_batch(db_path)


def test_cli_build_before_ingest_exits_4(tmp_path: Path):
    outcome = runner.invoke(app, ["build", "--db", str(tmp_path / "absent.duckdb")])
    assert outcome.exit_code == EXIT_NOT_READY
    assert "cohort ingest" in outcome.output
    assert not (tmp_path / "absent.duckdb").exists()


def test_the_warehouse_variable_is_restored(monkeypatch):
    monkeypatch.setenv(DB_PATH_VARIABLE, "/elsewhere.duckdb")
    with warehouse_path_for_dbt(Path("/data/study.duckdb")):
        assert os.environ[DB_PATH_VARIABLE] == "/data/study.duckdb"
    assert os.environ[DB_PATH_VARIABLE] == "/elsewhere.duckdb"
    monkeypatch.delenv(DB_PATH_VARIABLE)
    with warehouse_path_for_dbt(Path("/data/study.duckdb")):
        pass
    assert DB_PATH_VARIABLE not in os.environ
