"""The run registry: ``meta.pipeline_runs`` and ``meta.pipeline_run_steps``.

Every ``cohort run`` that got as far as taking the writer lock is recorded, whether it
succeeded, failed at a step, or died (a killed run is found by the next run, from the
marker file it left, and recorded as ``abandoned``). Skipped runs change nothing and
are not recorded; they are in the command's output and the schedule log.

The registry is written into the same copy that is published, so a run's results and
its registry row become visible together.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipelines.warehouse import connect, fetch_dicts, transaction

#: The pipeline's steps, in order.
STEPS = ("prepare", "ingest", "build", "validate", "analyze", "report", "publish")

REGISTRY_DDL = """
create schema if not exists meta;
create table if not exists meta.pipeline_runs (
    run_id varchar primary key,
    trigger varchar not null,
    status varchar not null check (status in ('succeeded', 'failed', 'abandoned')),
    failed_step varchar,
    error_message varchar,
    started_at timestamp not null,
    finished_at timestamp,
    seconds double,
    input_dir varchar,
    input_hash varchar,
    spec_path varchar,
    spec_hash varchar,
    code_version varchar,
    batch_id bigint,
    validation_run_id varchar,
    analysis_run_id varchar,
    report_path varchar,
    is_published boolean not null
);
create table if not exists meta.pipeline_run_steps (
    run_id varchar not null,
    step varchar not null,
    status varchar not null
        check (status in ('succeeded', 'failed', 'interrupted', 'not_run')),
    started_at timestamp,
    seconds double,
    message varchar,
    primary key (run_id, step)
);
"""


@dataclass
class StepRecord:
    step: str
    status: str = "not_run"
    started_at: dt.datetime | None = None
    seconds: float | None = None
    message: str | None = None


@dataclass
class RunRecord:
    """One row of ``meta.pipeline_runs`` plus its steps."""

    run_id: str
    trigger: str
    started_at: dt.datetime
    status: str = "failed"
    failed_step: str | None = None
    error_message: str | None = None
    finished_at: dt.datetime | None = None
    seconds: float | None = None
    input_dir: str | None = None
    input_hash: str | None = None
    spec_path: str | None = None
    spec_hash: str | None = None
    code_version: str | None = None
    batch_id: int | None = None
    validation_run_id: str | None = None
    analysis_run_id: str | None = None
    report_path: str | None = None
    is_published: bool = False
    steps: list[StepRecord] = field(default_factory=lambda: [StepRecord(s) for s in STEPS])

    def step(self, name: str) -> StepRecord:
        return next(step for step in self.steps if step.step == name)

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str)

    @classmethod
    def from_json(cls, text: str) -> RunRecord:
        data = json.loads(text)
        steps = [StepRecord(**_dates(step, "started_at")) for step in data.pop("steps")]
        return cls(**_dates(data, "started_at", "finished_at"), steps=steps)


_RUN_COLUMNS = [name for name in RunRecord.__dataclass_fields__ if name != "steps"]


def record(con: duckdb.DuckDBPyConnection, run: RunRecord) -> None:
    """Insert (or replace) the run and its steps, in one transaction."""
    with transaction(con):
        con.execute(REGISTRY_DDL)
        con.execute("delete from meta.pipeline_run_steps where run_id = ?", [run.run_id])
        con.execute("delete from meta.pipeline_runs where run_id = ?", [run.run_id])
        placeholders = ", ".join("?" for _ in _RUN_COLUMNS)
        con.execute(
            f"insert into meta.pipeline_runs ({', '.join(_RUN_COLUMNS)}) values ({placeholders})",
            [getattr(run, name) for name in _RUN_COLUMNS],
        )
        con.executemany(
            "insert into meta.pipeline_run_steps values (?, ?, ?, ?, ?, ?)",
            [[run.run_id, s.step, s.status, s.started_at, s.seconds, s.message] for s in run.steps],
        )


def last_published(db_path: Path) -> RunRecord | None:
    """The latest succeeded (hence published) run of the warehouse, if any."""
    rows = _query(
        db_path,
        "select * from meta.pipeline_runs where status = 'succeeded' "
        "order by finished_at desc limit 1",
    )
    return _run_from_row(rows[0]) if rows else None


def list_runs(db_path: Path, *, limit: int = 20) -> list[RunRecord]:
    """The latest runs, newest first, each with its steps."""
    rows = _query(
        db_path, "select * from meta.pipeline_runs order by started_at desc limit ?", [limit]
    )
    runs = [_run_from_row(row) for row in rows]
    if runs:
        step_rows = _query(
            db_path,
            "select run_id, step, status, started_at, seconds, message "
            "from meta.pipeline_run_steps where run_id in (select unnest(?))",
            [[run.run_id for run in runs]],
        )
        by_run: dict[str, dict[str, StepRecord]] = {}
        for row in step_rows:
            by_run.setdefault(row["run_id"], {})[row["step"]] = StepRecord(
                row["step"], row["status"], row["started_at"], row["seconds"], row["message"]
            )
        for run in runs:
            found = by_run.get(run.run_id, {})
            run.steps = [found.get(step, StepRecord(step)) for step in STEPS]
    return runs


def _query(db_path: Path, sql: str, parameters: list[Any] | None = None) -> list[dict[str, Any]]:
    if not db_path.exists():
        return []
    with connect(db_path, read_only=True) as con:
        try:
            return fetch_dicts(con, sql, parameters or [])
        except duckdb.CatalogException:  # no run recorded yet
            return []


def _run_from_row(row: dict[str, Any]) -> RunRecord:
    return RunRecord(**{name: row[name] for name in _RUN_COLUMNS})


def _dates(data: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        if data.get(name):
            data[name] = dt.datetime.fromisoformat(data[name])
    return data
