"""One contract for errors: every refusal has its exit code and its message, in one place.

The table below runs each command's refusals through the CLI and pins the number and
the words a user (or a scheduler) sees; the error classes are checked against
:class:`~pipelines.errors.ExitCode`, and ``cohort run`` against the same enum.
"""

from __future__ import annotations

import datetime as dt
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.analyze.cohort import AnalysisRefused
from pipelines.build.docs import DocsError
from pipelines.build.runner import BuildRefused
from pipelines.cli import (
    EXIT_ANALYSIS_REFUSED,
    EXIT_BUILD_FAILED,
    EXIT_CONTRACT,
    EXIT_GATE_FAILED,
    EXIT_NOT_READY,
    app,
)
from pipelines.errors import (
    CohortError,
    ContractError,
    ExitCode,
    InputRefused,
    Violation,
    WarehouseNotReady,
)
from pipelines.excel import SheetShapeError
from pipelines.pseudonym import KEY_VARIABLE, PseudonymKeyError
from pipelines.run.lock import WarehouseBusy, writer_lock
from pipelines.run.pipeline import STEP_EXIT_CODES, PipelineOutcome, StepFailed
from pipelines.run.publish import PublishError
from pipelines.run.registry import STEPS, RunRecord
from pipelines.spec import SpecError
from pipelines.sql import ExportError, QueryError, SqlError, WarehouseUnavailable
from pipelines.validate.runner import ValidationRefused
from pipelines.validate.store import RunNotFound
from pipelines.validate.suites import SuiteError
from tests.conftest import REPO_ROOT, DeliveryWriter

runner = CliRunner()
SPEC = REPO_ROOT / "studies" / "dsmm_ikzf1.yml"


def test_the_exit_codes_keep_their_numbers():
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0,
        "BAD_INPUT": 2,
        "BUILD_FAILED": 3,
        "NOT_READY": 4,
        "GATE_FAILED": 5,
        "ANALYSIS_REFUSED": 6,
        "PUBLISH_FAILED": 7,
        "BUSY": 8,
    }
    # the names tests and scripts import from the CLI are the enum's members
    assert (EXIT_CONTRACT, EXIT_BUILD_FAILED, EXIT_NOT_READY, EXIT_GATE_FAILED) == (2, 3, 4, 5)
    assert EXIT_ANALYSIS_REFUSED is ExitCode.ANALYSIS_REFUSED
    assert f"exit {ExitCode.BUSY}" == "exit 8"  # printed as a number, not a name


@pytest.mark.parametrize(
    ("error_class", "exit_code", "label", "older_base"),
    [
        (ContractError, 2, "error", Exception),
        (PseudonymKeyError, 2, "error", ValueError),
        (SheetShapeError, 2, "error", ValueError),
        (SuiteError, 2, "invalid suite", ValueError),
        (SqlError, 2, "error", Exception),
        (QueryError, 2, "error", SqlError),
        (ExportError, 2, "error", SqlError),
        (WarehouseUnavailable, 4, "error", SqlError),
        (BuildRefused, 4, "error", RuntimeError),
        (DocsError, 3, "error", RuntimeError),
        (ValidationRefused, 4, "error", RuntimeError),
        (RunNotFound, 4, "error", LookupError),
        (AnalysisRefused, 6, "analysis refused", RuntimeError),
        (WarehouseBusy, 8, "refused", RuntimeError),
        (PublishError, 7, "error", RuntimeError),
        (WarehouseNotReady, 4, "error", Exception),
        (InputRefused, 2, "error", Exception),
    ],
)
def test_every_product_error_is_a_cohort_error_with_its_exit_code(
    error_class: type[CohortError], exit_code: int, label: str, older_base: type[Exception]
):
    assert issubclass(error_class, CohortError)
    assert issubclass(error_class, older_base)  # callers that catch the old base still do
    assert isinstance(error_class.exit_code, ExitCode)
    assert error_class.exit_code == exit_code
    assert error_class.label == label


@pytest.mark.parametrize("step", STEPS)
def test_a_run_exits_with_the_code_of_its_failed_step(step: str):
    expected = {
        "prepare": 7,
        "ingest": 2,
        "build": 3,
        "validate": 5,
        "analyze": 6,
        "report": 7,
        "publish": 7,
    }[step]
    assert STEP_EXIT_CODES[step] == expected
    assert StepFailed(step, "it broke").exit_code == expected
    assert _failed_outcome(step).exit_code == expected


def test_a_run_that_succeeded_or_did_nothing_exits_with_0():
    outcome = _failed_outcome("build")
    outcome.status = "succeeded"
    assert outcome.exit_code is ExitCode.OK
    outcome.status = "skipped"
    assert outcome.exit_code == 0


def _failed_outcome(step: str | None) -> PipelineOutcome:
    run = RunRecord(run_id="run-test", trigger="manual", started_at=dt.datetime(2026, 1, 1))
    run.failed_step, run.error_message = step, "it broke"
    return PipelineOutcome("failed", run, None)


# --- every refusal, through the CLI ---------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """A command line (``{db}``, ``{tmp}`` and ``{spec}`` filled in), an optional library
    function replaced by one raising ``raises``, and what the user must see."""

    args: tuple[str, ...]
    exit_code: int
    says: tuple[str, ...]
    patch: str | None = None
    raises: Callable[[], BaseException] | None = None
    empty_warehouse: bool = False


REFUSALS = {
    "simulate: options the simulator refuses": Refusal(
        ("simulate", "--out", "{tmp}/sim", "--defects", "no_such_defect"),
        2,
        ("error: unknown defect 'no_such_defect'",),
    ),
    "ingest: a missing folder": Refusal(
        ("ingest", "{tmp}/nope", "--db", "{db}"), 2, ("error: input folder not found",)
    ),
    "ingest: a file the OS cannot find": Refusal(
        ("ingest", "{tmp}", "--db", "{db}"),
        2,
        ("error: gone: x.csv",),
        patch="pipelines.ingest.ingest",
        raises=lambda: FileNotFoundError("gone: x.csv"),
    ),
    "build: no warehouse": Refusal(("build", "--db", "{db}"), 4, ("error: no warehouse at",)),
    "build: an invalid spec": Refusal(
        ("build", "--db", "{db}", "--spec", "{tmp}/bad.yml"), 2, ("invalid study spec:", "bad.yml")
    ),
    "build: a spec that does not exist": Refusal(
        ("build", "--db", "{db}", "--spec", "{tmp}/missing.yml"),
        2,
        ("invalid study spec:", "missing.yml", "cannot be read"),
    ),
    "docs: no warehouse": Refusal(("docs", "--db", "{db}"), 4, ("error: no warehouse at",)),
    "docs: dbt failed": Refusal(
        ("docs", "--db", "{db}"),
        3,
        ("error: dbt docs generate failed: boom",),
        patch="pipelines.build.docs.generate_docs",
        raises=lambda: DocsError("dbt docs generate failed: boom"),
    ),
    "validate: not built": Refusal(
        ("validate", "--db", "{db}"),
        4,
        ("error: not built; run `cohort build` first",),
        patch="pipelines.validate.gate.run_gate",
        raises=lambda: ValidationRefused("not built; run `cohort build` first"),
    ),
    "validate: an invalid suite": Refusal(
        ("validate", "--db", "{db}"),
        2,
        ("invalid suite: s.json: expectation X-1: invalid kwargs",),
        patch="pipelines.validate.gate.run_gate",
        raises=lambda: SuiteError("s.json: expectation X-1: invalid kwargs"),
    ),
    "analyze: refused": Refusal(
        ("analyze", "--spec", "{spec}", "--db", "{db}"),
        6,
        ("analysis refused: the quality gate has not run; run `cohort validate` first",),
        patch="pipelines.analyze.run.analyze",
        raises=lambda: AnalysisRefused("the quality gate has not run; run `cohort validate` first"),
    ),
    "scan: refused": Refusal(
        ("scan", "--spec", "{spec}", "--db", "{db}"),
        6,
        ("analysis refused: the warehouse is not built",),
        patch="pipelines.analyze.run.analyze",
        raises=lambda: AnalysisRefused("the warehouse is not built"),
    ),
    "analyze: an invalid spec": Refusal(
        ("analyze", "--spec", "{tmp}/bad.yml", "--db", "{db}"), 2, ("invalid study spec:",)
    ),
    "results: no analysis run": Refusal(
        ("results", "--db", "{db}"),
        4,
        ("error: no analysis run found; run `cohort analyze` first",),
        empty_warehouse=True,
    ),
    "sql: no warehouse": Refusal(
        ("sql", "select 1", "--db", "{db}"), 4, ("error: no warehouse at",)
    ),
    "sql: a write": Refusal(
        ("sql", "create table t (x integer)", "--db", "{db}"),
        2,
        ("error: cohort sql is read-only",),
        empty_warehouse=True,
    ),
    "report: no analysis run": Refusal(
        ("report", "--db", "{db}"),
        4,
        ("error: no analysis run; run `cohort analyze` first",),
        patch="pipelines.report.run.write_report",
        raises=lambda: _report_refused("no analysis run; run `cohort analyze` first"),
    ),
    "run: another writer": Refusal(
        ("run", "--input", "{tmp}", "--spec", "{spec}", "--db", "{db}"),
        8,
        ("refused: another process is writing",),
        patch="pipelines.run.run_pipeline",
        raises=lambda: WarehouseBusy("another process is writing to x (holder unknown)"),
    ),
    "run: an invalid spec": Refusal(
        ("run", "--input", "{tmp}", "--spec", "{spec}", "--db", "{db}"),
        2,
        ("error: s.yml: the study spec has 1 problem:", "s.yml: endpoints: unknown"),
        patch="pipelines.run.run_pipeline",
        raises=lambda: SpecError("s.yml", [("endpoints", "unknown")]),
    ),
    "run: an unreadable input folder": Refusal(
        ("run", "--input", "{tmp}", "--spec", "{spec}", "--db", "{db}"),
        2,
        ("error: input folder not found: nope",),
        patch="pipelines.run.run_pipeline",
        raises=lambda: NotADirectoryError("input folder not found: nope"),
    ),
    "run: no pseudonym key": Refusal(
        ("run", "--input", "{tmp}", "--spec", "{spec}", "--db", "{db}", "--pseudonymise"),
        2,
        ("error: no pseudonym key: $COHORT_PSEUDONYM_KEY is empty or unset",),
    ),
    "runs: no warehouse": Refusal(("runs", "--db", "{db}"), 4, ("error: no warehouse at",)),
    "runs: an unknown run": Refusal(
        ("runs", "--db", "{db}", "--run", "run-x"),
        4,
        ("error: no run run-x in",),
        empty_warehouse=True,
    ),
}


def _report_refused(message: str) -> Exception:
    from pipelines.report.run import ReportRefused

    return ReportRefused(message)


@pytest.mark.parametrize("refusal", REFUSALS.values(), ids=REFUSALS.keys())
def test_every_refusal_exits_with_its_code_and_message(
    refusal: Refusal, tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    monkeypatch.setattr(signal, "signal", lambda *_: None)  # `cohort run` sets a handler
    (tmp_path / "bad.yml").write_text("study: [unclosed\n", encoding="utf-8")
    if refusal.empty_warehouse:
        db_path.parent.mkdir(parents=True)
        duckdb.connect(str(db_path)).close()
    if refusal.patch:
        module, name = refusal.patch.rsplit(".", 1)
        raises = refusal.raises
        assert raises is not None

        def refuse(*_: object, **__: object) -> None:
            raise raises()

        monkeypatch.setattr(module + "." + name, refuse)
    fill = {"db": str(db_path), "tmp": str(tmp_path), "spec": str(SPEC)}
    args = [arg.format(**fill) for arg in refusal.args]

    result = runner.invoke(app, args, env={"COLUMNS": "400"})

    assert result.exit_code == refusal.exit_code, result.output
    for words in refusal.says:
        assert words in result.output, result.output
    assert "Traceback" not in result.output


def test_a_refused_delivery_names_the_folder_the_warehouse_and_every_violation(
    write_delivery: DeliveryWriter, db_path: Path
):
    folder = write_delivery(expression=None)
    result = runner.invoke(app, ["ingest", str(folder), "--db", str(db_path)])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert f"Refused {folder}: nothing was written to {db_path}." in lines
    assert any(line.startswith("  - ") and "[rule: required_file]" in line for line in lines)


def test_a_missing_pseudonym_key_refuses_the_delivery(
    write_delivery: DeliveryWriter, db_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    folder = write_delivery()
    result = runner.invoke(app, ["ingest", str(folder), "--db", str(db_path), "--pseudonymise"])
    assert result.exit_code == 2
    assert f"Refused {folder}: nothing was written to {db_path}." in result.output
    assert f"  - {folder}: no pseudonym key" in result.output
    assert "[rule: pseudonym_key]" in result.output


def test_a_busy_warehouse_refuses_a_single_step_command(
    write_delivery: DeliveryWriter, db_path: Path
):
    folder = write_delivery()
    with writer_lock(db_path.resolve(), purpose="cohort test"):
        result = runner.invoke(app, ["ingest", str(folder), "--db", str(db_path)])
    assert result.exit_code == 8
    assert "refused: another process is writing" in result.output
    assert "cohort test" in result.output
    assert not db_path.exists()


def test_a_run_that_fails_at_a_step_exits_with_that_steps_code(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(signal, "signal", lambda *_: None)
    monkeypatch.setattr("pipelines.run.run_pipeline", lambda *_: _failed_outcome("validate"))
    args = ["run", "--input", str(tmp_path), "--spec", str(SPEC), "--db", str(db_path)]
    result = runner.invoke(app, args, env={"COLUMNS": "400"})
    assert result.exit_code == 5, result.output
    assert "Run run-test failed at step validate (exit 5)" in result.output


def test_a_contract_error_without_a_location_is_printed_with_its_violations(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_path: Path
):
    def refuse(*_: object, **__: object) -> None:
        raise ContractError([Violation("patients.csv", "has_rows", "no data rows")])

    monkeypatch.setattr("pipelines.ingest.ingest", refuse)
    result = runner.invoke(app, ["ingest", str(tmp_path), "--db", str(db_path)])
    assert result.exit_code == 2
    assert "error: the delivery breaks the raw contract:" in result.output
    assert "patients.csv: no data rows [rule: has_rows]" in result.output
