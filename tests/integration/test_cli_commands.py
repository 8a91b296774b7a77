"""Every ``cohort`` command run through the CLI: a real run and a refusal with its exit code.

One small simulated cohort goes through the chain once per module, every step a command
(simulate → ingest → build → validate → analyze) with a small study spec, so the
report draws few figures. The commands that read the result (results, report, runs,
docs, sql, scan) then run on that warehouse. ``cohort run`` and ``cohort schedule``
run the whole pipeline again, in child processes; their real runs are in
tests/reliability/ (``REAL_RUN_ELSEWHERE``), their refusals here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
import duckdb
import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from pipelines.cli import app
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

runner = CliRunner()

#: One biomarker, one endpoint, one grouping and no subgroups: few figures, and a forest
#: plot of a single row (which once could not be drawn).
SMALL_SPEC = """\
study: cli_commands
spec_version: 1
biomarkers: [IKZF1]
endpoints: [pfs]
groupings: [q1_vs_rest]
landmarks_years: [3]
"""
#: The same study with a data cut-off the marts were not built with.
OTHER_SETTINGS_SPEC = SMALL_SPEC + "data_cutoff: 2014-11-01\n"
PATIENTS = 40
#: The exit codes are a public contract (README, `cohort run --help`): pinned here as
#: numbers, so that moving their definitions cannot change them unnoticed.
EXIT_CONTRACT = 2
EXIT_NOT_READY = 4
EXIT_ANALYSIS_REFUSED = 6
#: Click's exit code for an invalid combination of options (``typer.BadParameter``).
USAGE_ERROR = click.UsageError.exit_code

#: Commands that run the whole pipeline, and the test file with their real run.
REAL_RUN_ELSEWHERE = {
    "run": "tests/reliability/test_run_reliability.py",
    "schedule": "tests/reliability/test_schedule.py",
}
#: Commands with a real run in this module.
REAL_RUN_HERE = {
    "simulate",
    "ingest",
    "build",
    "validate",
    "analyze",
    "results",
    "report",
    "runs",
    "docs",
    "sql",
    "scan",
}


def cli(*args: object) -> Result:
    return runner.invoke(app, [str(arg) for arg in args])


def shown(outcome: Result) -> str:
    """What the command printed, and the exception if it crashed (for assertion messages)."""
    crash = outcome.exception if not isinstance(outcome.exception, SystemExit) else None
    return outcome.output + (f"\n{crash!r}" if crash else "")


def command_names() -> set[str]:
    return set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Cohort:
    """The module's warehouse and what the chain of commands printed while making it."""

    work: Path
    input_dir: Path
    db: Path
    spec: Path
    other_settings_spec: Path
    absent_db: Path
    analysis_run_id: str
    output: dict[str, str]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Cohort:
    work = tmp_path_factory.mktemp("cli_commands")
    input_dir, db = work / "input", work / "warehouse" / "cli.duckdb"
    spec = work / "small.yml"
    spec.write_text(SMALL_SPEC, encoding="utf-8")
    other_settings_spec = work / "other_settings.yml"
    other_settings_spec.write_text(OTHER_SETTINGS_SPEC, encoding="utf-8")
    steps = {
        "simulate": ["simulate", "--out", input_dir, "--patients", PATIENTS, "--seed", 2017],
        "ingest": ["ingest", input_dir, "--db", db],
        "build": ["build", "--db", db, "--spec", spec],
        "validate": ["validate", "--db", db, "--spec", spec, "--report-dir", work / "gate"],
        "analyze": ["analyze", "--spec", spec, "--db", db],
    }
    output = {}
    for name, args in steps.items():
        outcome = cli(*args)
        assert outcome.exit_code == 0, f"cohort {name}:\n{shown(outcome)}"
        output[name] = outcome.output
    with duckdb.connect(str(db), read_only=True) as con:
        [(analysis_run_id,)] = con.execute("select run_id from results.analysis_runs").fetchall()
    return Cohort(
        work=work,
        input_dir=input_dir,
        db=db,
        spec=spec,
        other_settings_spec=other_settings_spec,
        absent_db=work / "absent" / "none.duckdb",
        analysis_run_id=analysis_run_id,
        output=output,
    )


def test_every_command_has_a_real_cli_run_here_or_in_a_named_test_file():
    assert REAL_RUN_HERE | set(REAL_RUN_ELSEWHERE) == command_names()
    for name, test_file in REAL_RUN_ELSEWHERE.items():
        assert f'"{name}"' in (REPO_ROOT / test_file).read_text(encoding="utf-8"), test_file


def test_every_command_has_a_refusal_here():
    assert set(REFUSALS) == command_names()


# --- real runs --------------------------------------------------------------------------


def test_simulate_writes_a_cohort_labelled_as_simulated(cohort: Cohort):
    assert "Simulated cohort (qrtpcr, seed 2017)" in cohort.output["simulate"]
    assert "These data are simulated, not patient data." in cohort.output["simulate"]
    assert (cohort.input_dir / "SIMULATED.json").is_file()


def test_ingest_build_and_validate_report_what_they_did(cohort: Cohort):
    assert "Loaded batch 1" in cohort.output["ingest"]
    assert "(simulated data)" in cohort.output["ingest"]
    assert f"{PATIENTS} patients" in cohort.output["build"]
    assert "passed" in cohort.output["validate"].lower()


def test_analyze_writes_a_run_and_prints_the_summary(cohort: Cohort):
    output = cohort.output["analyze"]
    assert f"Analysis run {cohort.analysis_run_id}: wrote " in output
    assert "Q1 vs Q2-Q4" in output and "log-rank p=" in output


def test_results_prints_the_summary_of_the_run(cohort: Cohort):
    outcome = cli("results", "--db", cohort.db, "--run", cohort.analysis_run_id)
    assert outcome.exit_code == 0, shown(outcome)
    assert "IKZF1" in outcome.output and "PFS" in outcome.output
    assert "Q1 vs Q2-Q4" in outcome.output and "log-rank p=" in outcome.output


def test_report_writes_the_figures_and_one_page(cohort: Cohort):
    out = cohort.work / "report"
    outcome = cli("report", "--db", cohort.db, "--run", cohort.analysis_run_id, "--out", out)
    assert outcome.exit_code == 0, shown(outcome)
    assert f"Report of run {cohort.analysis_run_id} (" in outcome.output
    assert "figures)" in outcome.output
    assert (out / "index.html").is_file()


def test_docs_writes_one_offline_page(cohort: Cohort):
    out = cohort.work / "docs"
    outcome = cli("docs", "--db", cohort.db, "--out", out)
    assert outcome.exit_code == 0, shown(outcome)
    assert "Documentation:" in outcome.output and "index.html" in outcome.output
    assert "warning" not in outcome.output
    assert (out / "index.html").is_file()


def test_runs_lists_the_registry_then_one_runs_steps(cohort: Cohort):
    empty = cli("runs", "--db", cohort.db)
    assert empty.exit_code == 0, shown(empty)
    assert "No pipeline run recorded yet" in empty.output
    _record_a_run(cohort.db, "run-cli-test")
    listed = cli("runs", "--db", cohort.db)
    assert listed.exit_code == 0, shown(listed)
    assert "run-cli-test" in listed.output and "succeeded" in listed.output
    one = cli("runs", "--db", cohort.db, "--run", "run-cli-test")
    assert one.exit_code == 0, shown(one)
    assert any(line.split()[:2] == ["ingest", "succeeded"] for line in one.output.splitlines())


def test_sql_shows_the_rows_of_a_query(cohort: Cohort):
    query = "select count(*) as patient_count from marts.cohort_patients"
    outcome = cli("sql", query, "--db", cohort.db)
    assert outcome.exit_code == 0, shown(outcome)
    assert "patient_count" in outcome.output
    assert any(line.strip("│| ") == str(PATIENTS) for line in outcome.output.splitlines())


def test_scan_tests_every_gene_of_the_cohort(cohort: Cohort):
    outcome = cli("scan", "--spec", cohort.spec, "--db", cohort.db)
    assert outcome.exit_code == 0, shown(outcome)
    assert "(genome scan)" in outcome.output and "Genome scan PFS" in outcome.output


def _record_a_run(db: Path, run_id: str) -> None:
    """A succeeded ``cohort run`` in the registry, as the pipeline records it."""
    from pipelines.run.registry import STEPS, RunRecord, StepRecord, record

    started = dt.datetime(2026, 1, 15, 9, 30)
    run = RunRecord(
        run_id=run_id,
        trigger="manual",
        started_at=started,
        status="succeeded",
        finished_at=started + dt.timedelta(seconds=12),
        seconds=12.0,
        is_published=True,
        steps=[StepRecord(step, "succeeded", started, 1.0) for step in STEPS],
    )
    with duckdb.connect(str(db)) as con:
        record(con, run)


# --- refusals ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    args: Callable[[Cohort], list[object]]
    exit_code: int
    message: str


REFUSALS = {
    "simulate": Refusal(
        lambda c: ["simulate", "--out", c.work / "bad", "--defects", "no_such_defect"],
        EXIT_CONTRACT,
        "unknown defect 'no_such_defect'",
    ),
    "ingest": Refusal(
        lambda c: ["ingest", c.work / "no_such_folder", "--db", c.absent_db],
        EXIT_CONTRACT,
        "input folder not found",
    ),
    "build": Refusal(lambda c: ["build", "--db", c.absent_db], EXIT_NOT_READY, "no warehouse"),
    "docs": Refusal(lambda c: ["docs", "--db", c.absent_db], EXIT_NOT_READY, "no warehouse"),
    "validate": Refusal(
        lambda c: ["validate", "--db", c.absent_db], EXIT_NOT_READY, "no warehouse"
    ),
    "analyze": Refusal(
        lambda c: ["analyze", "--spec", c.other_settings_spec, "--db", c.db],
        EXIT_ANALYSIS_REFUSED,
        "built with other settings",
    ),
    "scan": Refusal(
        lambda c: ["scan", "--spec", c.other_settings_spec, "--db", c.db],
        EXIT_ANALYSIS_REFUSED,
        "built with other settings",
    ),
    "results": Refusal(
        lambda c: ["results", "--db", c.db, "--run", "no-such-run"],
        EXIT_NOT_READY,
        "no analysis run found",
    ),
    "report": Refusal(
        lambda c: ["report", "--db", c.db, "--run", "no-such-run"],
        EXIT_NOT_READY,
        "no succeeded analysis run no-such-run",
    ),
    "sql": Refusal(
        lambda c: ["sql", "delete from raw.batches", "--db", c.db],
        EXIT_CONTRACT,
        "cohort sql is read-only",
    ),
    "runs": Refusal(
        lambda c: ["runs", "--db", c.db, "--run", "no-such-run"],
        EXIT_NOT_READY,
        "no run no-such-run",
    ),
    "run": Refusal(
        lambda c: ["run", "--input", c.input_dir, "--db", c.absent_db],
        USAGE_ERROR,
        "give the study spec with --spec",
    ),
    "schedule": Refusal(
        lambda c: ["schedule", "--db", c.absent_db],
        USAGE_ERROR,
        "exactly one of --cron and --every",
    ),
}


@pytest.mark.parametrize("command", sorted(REFUSALS))
def test_refusal_exits_with_its_code_and_says_why(cohort: Cohort, command: str):
    refusal = REFUSALS[command]
    outcome = cli(*refusal.args(cohort))
    assert outcome.exit_code == refusal.exit_code, shown(outcome)
    assert refusal.message in outcome.output
    assert not cohort.absent_db.exists()
