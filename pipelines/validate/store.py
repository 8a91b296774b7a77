"""Keep every quality-gate run in the warehouse, so that verdicts have a history.

A gate that only prints is forgotten by the next morning; these two tables make each
run queryable next to the data it judged ("which checks failed last night?", "since
when does this warning fire?"), and :func:`load_run` rebuilds the exact
:class:`~pipelines.validate.results.ValidationRun` from them, so the HTML report can be
regenerated from the warehouse alone. User documentation: ``docs/warehouse.md``,
section "Validation results tables".

``quality.validation_runs`` — one row per run:

==================== ============= ==================================================
column               type          meaning
==================== ============= ==================================================
run_id               varchar (key) the runner's id of the run
started_at           timestamp     when the run started (naive UTC, the pipeline's
                                   convention, as ``raw.batches.loaded_at``)
finished_at          timestamp     when the run finished (naive UTC)
seconds              double        finished_at - started_at, in seconds
verdict              varchar       ``fail`` when any critical expectation failed,
                                   else ``pass`` (warnings never fail a run)
n_expectations       integer       expectations evaluated
n_passed             integer       of them, successful
n_critical_failed    integer       critical ones that failed (they block the analysis)
n_warnings           integer       warning ones that failed
batch_id             bigint        ``raw.batches.batch_id`` the run judged (NULL if
                                   nothing was ingested)
is_simulated         boolean       the batch is simulated data
code_version         varchar       version of this product that ran the gate
gx_version           varchar       Great Expectations version
critical_fields      varchar[]     fields the study uses, whose checks were critical
suites               varchar[]     suites run, in the runner's order
db_path              varchar       the warehouse file that was validated
report_path          varchar       the HTML report written for the run (NULL if none)
==================== ============= ==================================================

``db_path`` is not in the issue's list of columns: it is stored because the run object
carries it and the report names the warehouse file, so a run loaded back must have it.

``quality.validation_results`` — one row per expectation per run:

==================== ============= ==================================================
column               type          meaning
==================== ============= ==================================================
run_id               varchar       the run (``quality.validation_runs.run_id``)
outcome_number       integer       1, 2, … in the runner's order; with run_id the key,
                                   so a run loads back in the order it was reported
suite                varchar       suite file the expectation belongs to
dimension            varchar       Kahn et al. (2016) category: conformance,
                                   completeness or plausibility
expectation_id       varchar       id from the suite, e.g. ``CONF-03``
title                varchar       what must hold, in words
expectation_type     varchar       GX expectation type
table_name           varchar       warehouse relation checked, e.g. ``marts.cohort_patients``
column_name          varchar       column checked (NULL for table-level expectations)
severity             varchar       ``critical`` (blocks the analysis) or ``warning``
success              boolean       passed, with the suite's tolerance applied
observed_value       varchar       GX's observed value as text
element_count        bigint        rows evaluated
unexpected_count     bigint        rows that broke the expectation
unexpected_percent   double        unexpected_count as a percentage of the rows
tolerated_percent    double        percentage allowed to fail (GX ``mostly``)
example_patient_ids  varchar[]     pseudonymous ids of failing rows, at most 20
error                varchar       why the expectation could not be evaluated (then
                                   success is false)
==================== ============= ==================================================
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from pipelines.errors import CohortError, ExitCode
from pipelines.validate.results import (
    MAX_EXAMPLE_IDS,
    SEVERITIES,
    ExpectationOutcome,
    ValidationRun,
)
from pipelines.warehouse import existing_tables, fetch_dicts, transaction

RUNS_TABLE = "quality.validation_runs"
RESULTS_TABLE = "quality.validation_results"

_SEVERITY_LIST = ", ".join(f"'{severity}'" for severity in SEVERITIES)

#: Both tables; run inside the store's transaction so a new warehouse gets all or none.
VALIDATION_TABLES_DDL = f"""
create schema if not exists quality;
create table if not exists {RUNS_TABLE} (
    run_id varchar primary key,
    started_at timestamp not null,
    finished_at timestamp not null,
    seconds double not null,
    verdict varchar not null check (verdict in ('pass', 'fail')),
    n_expectations integer not null,
    n_passed integer not null,
    n_critical_failed integer not null,
    n_warnings integer not null,
    batch_id bigint,
    is_simulated boolean not null,
    code_version varchar not null,
    gx_version varchar not null,
    critical_fields varchar[] not null,
    suites varchar[] not null,
    db_path varchar not null,
    report_path varchar
);
create table if not exists {RESULTS_TABLE} (
    run_id varchar not null,
    outcome_number integer not null,
    suite varchar not null,
    dimension varchar not null,
    expectation_id varchar not null,
    title varchar not null,
    expectation_type varchar not null,
    table_name varchar not null,
    column_name varchar,
    severity varchar not null check (severity in ({_SEVERITY_LIST})),
    success boolean not null,
    observed_value varchar,
    element_count bigint,
    unexpected_count bigint,
    unexpected_percent double,
    tolerated_percent double,
    example_patient_ids varchar[] not null,
    error varchar,
    primary key (run_id, outcome_number)
);
"""

#: Columns of ``quality.validation_results`` that map one to one onto outcome fields.
_OUTCOME_COLUMNS = (
    "suite",
    "dimension",
    "expectation_id",
    "title",
    "expectation_type",
    "table_name",
    "column_name",
    "severity",
    "success",
    "observed_value",
    "element_count",
    "unexpected_count",
    "unexpected_percent",
    "tolerated_percent",
    "example_patient_ids",
    "error",
)


class RunNotFound(CohortError, LookupError):
    """No run with this id is stored in the warehouse."""

    exit_code = ExitCode.NOT_READY


@dataclass(frozen=True)
class RunRecord:
    """One row of ``quality.validation_runs`` (columns documented in the module docstring)."""

    run_id: str
    started_at: dt.datetime
    finished_at: dt.datetime
    seconds: float
    verdict: str
    n_expectations: int
    n_passed: int
    n_critical_failed: int
    n_warnings: int
    batch_id: int | None
    is_simulated: bool
    code_version: str
    gx_version: str
    critical_fields: tuple[str, ...]
    suites: tuple[str, ...]
    db_path: Path
    report_path: Path | None


def store_run(
    con: duckdb.DuckDBPyConnection, run: ValidationRun, *, report_path: Path | None
) -> None:
    """Append the run and its outcomes to the two tables, in one transaction.

    Either both tables gain the run or neither does (a half-stored run would show a
    verdict without its reasons). The tables are created on first use. Storing a
    ``run_id`` twice is refused by the primary key. Example ids are capped at
    :data:`MAX_EXAMPLE_IDS` so that one bad column cannot bloat the table.
    """
    with transaction(con):
        con.execute(VALIDATION_TABLES_DDL)
        _insert_run(con, run, report_path)
        _insert_results(con, run)


def latest_run(con: duckdb.DuckDBPyConnection) -> RunRecord | None:
    """The most recently started run, or None if the gate never ran on this warehouse.

    Works on a read-only connection: nothing is created when the tables are missing.
    """
    if not _tables_exist(con):
        return None
    rows = _fetch_records(
        con, f"select * from {RUNS_TABLE} order by started_at desc, run_id desc limit 1", []
    )
    return rows[0] if rows else None


def load_run(con: duckdb.DuckDBPyConnection, run_id: str) -> ValidationRun:
    """Rebuild the stored run, outcomes in their original order.

    Raises :class:`RunNotFound` for an unknown id (or when no run was ever stored).
    """
    records = (
        _fetch_records(con, f"select * from {RUNS_TABLE} where run_id = ?", [run_id])
        if _tables_exist(con)
        else []
    )
    if not records:
        raise RunNotFound(f"no validation run {run_id!r} in {RUNS_TABLE}")
    record = records[0]
    columns = ", ".join(_OUTCOME_COLUMNS)
    rows = con.execute(
        f"select {columns} from {RESULTS_TABLE} where run_id = ? order by outcome_number",
        [run_id],
    ).fetchall()
    outcomes = tuple(_outcome_from_row(row) for row in rows)
    return ValidationRun(
        run_id=record.run_id,
        started_at=record.started_at,
        finished_at=record.finished_at,
        db_path=record.db_path,
        batch_id=record.batch_id,
        is_simulated=record.is_simulated,
        code_version=record.code_version,
        gx_version=record.gx_version,
        critical_fields=record.critical_fields,
        outcomes=outcomes,
        suites=record.suites,
    )


def _insert_run(
    con: duckdb.DuckDBPyConnection, run: ValidationRun, report_path: Path | None
) -> None:
    con.execute(
        f"insert into {RUNS_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run.run_id,
            _as_utc_naive(run.started_at),
            _as_utc_naive(run.finished_at),
            run.seconds,
            run.verdict,
            len(run.outcomes),
            sum(outcome.success for outcome in run.outcomes),
            len(run.blocking),
            len(run.warnings),
            run.batch_id,
            run.is_simulated,
            run.code_version,
            run.gx_version,
            list(run.critical_fields),
            list(run.suites),
            str(run.db_path),
            None if report_path is None else str(report_path),
        ],
    )


def _insert_results(con: duckdb.DuckDBPyConnection, run: ValidationRun) -> None:
    if not run.outcomes:
        return
    columns = ", ".join(("run_id", "outcome_number", *_OUTCOME_COLUMNS))
    placeholders = ", ".join("?" * (2 + len(_OUTCOME_COLUMNS)))
    con.executemany(
        f"insert into {RESULTS_TABLE} ({columns}) values ({placeholders})",
        [
            [run.run_id, number, *_outcome_values(outcome)]
            for number, outcome in enumerate(run.outcomes, start=1)
        ],
    )


def _outcome_values(outcome: ExpectationOutcome) -> list[Any]:
    values: list[Any] = [getattr(outcome, column) for column in _OUTCOME_COLUMNS]
    ids_index = _OUTCOME_COLUMNS.index("example_patient_ids")
    values[ids_index] = list(outcome.example_patient_ids[:MAX_EXAMPLE_IDS])
    return values


def _outcome_from_row(row: Sequence[Any]) -> ExpectationOutcome:
    fields = dict(zip(_OUTCOME_COLUMNS, row, strict=True))
    fields["example_patient_ids"] = tuple(fields["example_patient_ids"])
    return ExpectationOutcome(**fields)


def _fetch_records(
    con: duckdb.DuckDBPyConnection, query: str, parameters: list[Any]
) -> list[RunRecord]:
    records = []
    for fields in fetch_dicts(con, query, parameters):
        fields["critical_fields"] = tuple(fields["critical_fields"])
        fields["suites"] = tuple(fields["suites"])
        fields["db_path"] = Path(fields["db_path"])
        if fields["report_path"] is not None:
            fields["report_path"] = Path(fields["report_path"])
        records.append(RunRecord(**fields))
    return records


def _tables_exist(con: duckdb.DuckDBPyConnection) -> bool:
    return {RUNS_TABLE, RESULTS_TABLE} <= existing_tables(con, "quality")


def _as_utc_naive(moment: dt.datetime) -> dt.datetime:
    """Timestamps are stored as naive UTC, like every timestamp in this warehouse."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)
