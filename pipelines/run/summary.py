"""What ``cohort run`` prints: a line per step as it ends, then the run's summary.

The summary answers the three questions of a morning after a scheduled run: did it
work (and if not, which step and why), what changed since the last published run
(data, spec, code, and the key numbers), and where the report is.
"""

from __future__ import annotations

from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table

from analysis.formatting import format_landmark, format_p, format_percent
from pipelines.analyze.summary import print_scan_summary, print_summary
from pipelines.report.queries import run_settings
from pipelines.report.summary_queries import summary_rows
from pipelines.run.pipeline import PipelineOutcome
from pipelines.run.registry import RunRecord, StepRecord
from pipelines.warehouse import connect

_MARKS = {"succeeded": "[green]✓[/green]", "failed": "[red]✗[/red]"}


def print_step(console: Console, name: str, step: StepRecord | None) -> None:
    if step is None:
        return
    mark = _MARKS.get(step.status, "·")
    seconds = f"{step.seconds:6.1f} s" if step.seconds is not None else ""
    message = (step.message or "").splitlines()[0] if step.message else ""
    console.print(f"{mark} {name:<9}{seconds}  {message}", soft_wrap=True, highlight=False)


def print_outcome(console: Console, outcome: PipelineOutcome, db_path: Any) -> None:
    run, previous = outcome.run, outcome.previous
    for abandoned in outcome.abandoned:
        console.print(
            f"[yellow]Earlier run {abandoned.run_id} did not finish[/yellow]: "
            f"{abandoned.error_message}; recorded as abandoned.",
            soft_wrap=True,
            highlight=False,
        )
    if outcome.status == "skipped":
        assert previous is not None
        console.print(
            f"Nothing to do: input, study spec and code are the same as in run "
            f"{previous.run_id} (published {previous.finished_at:%Y-%m-%d %H:%M} UTC). "
            "Use --force to run anyway.",
            soft_wrap=True,
            highlight=False,
        )
        if previous.report_path:
            console.print(f"Report: {previous.report_path}", soft_wrap=True, highlight=False)
        return
    _print_timings(console, run)
    if outcome.status == "failed":
        console.print(
            f"[red]Run {run.run_id} failed at step {run.failed_step}[/red] "
            f"(exit {outcome.exit_code}):",
            highlight=False,
        )
        console.print(run.error_message or "", markup=False, soft_wrap=True, highlight=False)
        kept = f"run {previous.run_id}" if previous else "none yet"
        console.print(
            f"Published results unchanged (last published: {kept}); "
            "the failure is recorded in meta.pipeline_runs (`cohort runs`).",
            soft_wrap=True,
            highlight=False,
        )
        return
    _print_changes(console, outcome)
    with connect(db_path, read_only=True) as con:
        if run.analysis_run_id:
            print_summary(console, con, run.analysis_run_id, overall_only=True)
            print_scan_summary(console, con, run.analysis_run_id)
            console.print("Subgroup results: `cohort results`.", highlight=False)
            if previous and previous.analysis_run_id:
                _print_result_changes(console, con, previous.analysis_run_id, run.analysis_run_id)
    console.print(
        f"Run {run.run_id} published in {run.seconds:.1f} s. Report: {run.report_path}",
        soft_wrap=True,
        highlight=False,
        markup=False,
    )


def _print_timings(console: Console, run: RunRecord) -> None:
    done = [step for step in run.steps if step.seconds is not None]
    if done:
        timings = ", ".join(f"{step.step} {step.seconds:.1f} s" for step in done)
        console.print(f"Step times: {timings}", soft_wrap=True, highlight=False)


def _print_changes(console: Console, outcome: PipelineOutcome) -> None:
    run, previous = outcome.run, outcome.previous
    if previous is None:
        console.print("First published run of this warehouse.", highlight=False)
        return
    changes = []
    ingest = outcome.details.get("ingest")
    if run.input_hash != previous.input_hash:
        changes.append(
            f"new data (batch {ingest.batch_id})"
            if ingest is not None and ingest.is_new_batch
            else "input folder changed, same data as loaded before"
        )
    if run.spec_hash != previous.spec_hash:
        changes.append("study spec changed")
    if run.code_version != previous.code_version:
        changes.append(f"code changed ({previous.code_version} → {run.code_version})")
    what = "; ".join(changes) or "nothing (forced run)"
    console.print(f"Since run {previous.run_id}: {what}.", soft_wrap=True, highlight=False)


def _print_result_changes(
    console: Console, con: duckdb.DuckDBPyConnection, before_run: str, after_run: str
) -> None:
    """Key numbers (landmark survival, log-rank p) that moved since the last published run,
    both runs read at the new run's summary landmark."""
    landmark = run_settings(con, after_run).summary_landmark_years
    try:
        before = {_key(row): row for row in summary_rows(con, before_run, landmark_years=landmark)}
    except duckdb.Error:
        return
    table = Table(title="Changed since the last published run (Q1 vs Q2-Q4)")
    years = format_landmark(landmark)
    for column in (
        "biomarker",
        "endpoint",
        "subgroup",
        f"{years} Q1",
        f"{years} Q2-Q4",
        "log-rank p",
    ):
        table.add_column(column)
    for row in summary_rows(con, after_run, landmark_years=landmark):
        old = before.get(_key(row))
        if old is None:
            table.add_row(*_key(row), "new", "new", format_p(row["p_value"], label=""))
            continue
        cells = [
            _change(format_percent(old[name]), format_percent(row[name]))
            for name in ("s_q1", "s_rest")
        ] + [_change(format_p(old["p_value"], label=""), format_p(row["p_value"], label=""))]
        if any("→" in cell for cell in cells):
            table.add_row(*_key(row), *cells)
    if table.row_count:
        console.print(table)
    else:
        console.print("Key results unchanged since the last published run.", highlight=False)


def _key(row: dict[str, Any]) -> tuple[str, str, str]:
    return str(row["biomarker"]), str(row["endpoint"]), str(row["subgroup"])


def _change(before: str, after: str) -> str:
    return after if before == after else f"{before} → {after}"
