"""``cohort run``: ingest → build → validate → analyze → report, published atomically.

The steps are the single-step commands' library functions, run on a private copy of
the warehouse (:mod:`pipelines.run.publish`) under the writer lock
(:mod:`pipelines.run.lock`), with every run recorded in the registry
(:mod:`pipelines.run.registry`). The published warehouse changes only in two ways:

* all steps succeeded: the copy, with the new batch, marts, gate results, analysis
  results and the registry row, replaces it;
* a step failed: the published file gets the registry row (and, when the gate ran,
  its validation results, so "which checks failed last night" has an answer) and
  nothing else: data, marts and published results stay exactly as they were.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.atomic import write_text_atomically
from pipelines.errors import CohortError, ExitCode
from pipelines.ingest import SIMULATION_SIDECAR
from pipelines.run.fingerprint import code_version, input_hash
from pipelines.run.lock import writer_lock
from pipelines.run.publish import discard, fresh_work_copy, publish, work_copy_path, work_dir
from pipelines.run.registry import RunRecord, StepRecord, last_published, record
from pipelines.run.worker import StepWorker
from pipelines.warehouse import connect, transaction

if TYPE_CHECKING:
    from pipelines.spec import StudySpec

#: Exit code of ``cohort run`` per failed step (the single-step commands use the same
#: numbers for the same failures; another writer holding the lock is ``ExitCode.BUSY``).
STEP_EXIT_CODES: dict[str, ExitCode] = {
    "prepare": ExitCode.PUBLISH_FAILED,
    "ingest": ExitCode.BAD_INPUT,
    "build": ExitCode.BUILD_FAILED,
    "validate": ExitCode.GATE_FAILED,
    "analyze": ExitCode.ANALYSIS_REFUSED,
    "report": ExitCode.PUBLISH_FAILED,
    "publish": ExitCode.PUBLISH_FAILED,
}

#: Test hook: pause before the named step (or ``publish``) until a file appears, so a
#: reliability test can kill the process at an exact point. Unset in normal use.
PAUSE_AT_ENV = "COHORT_RUN_PAUSE_AT"
PAUSE_DIR_ENV = "COHORT_RUN_PAUSE_DIR"


@dataclass(frozen=True)
class RunOptions:
    db_path: Path
    input_dir: Path
    spec_path: Path
    trigger: str = "manual"
    force: bool = False
    wait_seconds: float = 0
    pseudonym_key: bytes | None = None


class StepFailed(CohortError):
    """A step refused or failed; ``detail`` is its result object when there is one.

    Its exit code is the step's (:data:`STEP_EXIT_CODES`), whatever error stopped it.
    """

    def __init__(self, step: str, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.step = step
        self.detail = detail
        self.exit_code = step_exit_code(step)


@dataclass
class PipelineOutcome:
    """What ``cohort run`` did. ``status`` is succeeded, failed or skipped."""

    status: str
    run: RunRecord
    previous: RunRecord | None
    details: dict[str, Any] = field(default_factory=dict)
    abandoned: list[RunRecord] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        if self.status == "failed":
            return step_exit_code(self.run.failed_step or "prepare")
        return ExitCode.OK


def step_exit_code(step: str) -> ExitCode:
    """The exit code of a run that failed at ``step`` (an unknown step: not published)."""
    return STEP_EXIT_CODES.get(step, ExitCode.PUBLISH_FAILED)


#: Called with the step's name when it starts and with its record when it ends.
StepObserver = Callable[[str, StepRecord | None, Any], None]


def run_pipeline(options: RunOptions, observe: StepObserver | None = None) -> PipelineOutcome:
    """Run every step on a work copy and publish it, or record why not.

    Raises :class:`~pipelines.spec.SpecError`, ``NotADirectoryError`` or
    :class:`~pipelines.run.lock.WarehouseBusy` before anything is touched.
    """
    from pipelines.spec import load_spec

    db_path = options.db_path.resolve()
    spec = load_spec(options.spec_path)
    run = RunRecord(
        run_id=_new_run_id(),
        trigger=options.trigger,
        started_at=_now(),
        input_dir=str(options.input_dir.resolve()),
        input_hash=input_hash(options.input_dir, options=_input_options(options)),
        spec_path=str(options.spec_path.resolve()),
        spec_hash=spec.sha256,
        code_version=code_version(),
    )
    with writer_lock(db_path, wait_seconds=options.wait_seconds, purpose=f"run {run.run_id}"):
        previous = last_published(db_path)
        if _unchanged(previous, run) and not options.force and db_path.exists():
            return PipelineOutcome("skipped", run, previous)
        outcome = PipelineOutcome("failed", run, previous, abandoned=_abandoned_runs(db_path))
        _execute(outcome, options, spec, db_path, observe or (lambda *_: None))
        return outcome


def _execute(
    outcome: PipelineOutcome,
    options: RunOptions,
    spec: StudySpec,
    db_path: Path,
    observe: StepObserver,
) -> None:
    run = outcome.run
    work = work_copy_path(db_path)
    worker = StepWorker()  # imports GX and matplotlib while dbt builds
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("prepare", lambda: fresh_work_copy(db_path)),
        ("ingest", lambda: _ingest(options, work, run)),
        ("build", lambda: _build(work, db_path, spec)),
        ("validate", lambda: _validate(work, db_path, spec, run, worker)),
        ("analyze", lambda: _analyze(work, spec, run)),
        ("report", lambda: _report(work, db_path, run, worker)),
    ]
    try:
        for name, step in steps:
            outcome.details[name] = _step(run, name, step, observe, db_path)
        outcome.status = "succeeded"
        _step(run, "publish", lambda: _publish_success(outcome, work, db_path), observe, db_path)
    except StepFailed as failure:
        run.status, run.failed_step, run.error_message = "failed", failure.step, str(failure)
        outcome.details[failure.step] = failure.detail
        outcome.status = "failed"
        _publish_failure(outcome, work, db_path)
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM): record it if we can, then let it end the process.
        current = next((s for s in run.steps if s.started_at and s.seconds is None), None)
        if current:
            current.status = "interrupted"
        run.status, run.failed_step = "failed", current.step if current else None
        run.error_message = "interrupted before the run finished; nothing was published"
        outcome.status = "failed"
        _publish_failure(outcome, work, db_path)
        raise
    finally:
        worker.close()
        discard(work)
        _remove_markers(db_path, [run])


def _step(
    run: RunRecord,
    name: str,
    action: Callable[[], Any],
    observe: StepObserver,
    db_path: Path,
) -> Any:
    step = run.step(name)
    step.started_at = _now()
    _write_marker(db_path, run)
    observe(name, None, None)
    _pause_point(name)
    started = time.perf_counter()
    try:
        detail = action()
    except StepFailed as failure:
        step.status, step.seconds, step.message = (
            "failed",
            time.perf_counter() - started,
            str(failure),
        )
        observe(name, step, failure.detail)
        raise
    except Exception as error:  # a bug or an I/O error: still a failed step with a reason
        step.status, step.seconds = "failed", time.perf_counter() - started
        step.message = f"{type(error).__name__}: {error}"
        observe(name, step, None)
        raise StepFailed(name, step.message + "\n" + traceback.format_exc(limit=-4)) from error
    step.status, step.seconds = "succeeded", time.perf_counter() - started
    step.message = _describe(name, detail)
    observe(name, step, detail)
    return detail


# --- the steps -----------------------------------------------------------------------


def _ingest(options: RunOptions, work: Path, run: RunRecord) -> Any:
    from pipelines.errors import ContractError
    from pipelines.ingest import ingest

    extra = {"pseudonym_key": options.pseudonym_key} if options.pseudonym_key else {}
    try:
        result = ingest(options.input_dir, work, code_version=run.code_version or "", **extra)
    except ContractError as error:
        raise StepFailed("ingest", str(error), error) from error
    run.batch_id = result.batch_id
    return result


def _build(work: Path, db_path: Path, spec: StudySpec) -> Any:
    from pipelines.build import BuildRefused, build_cohort
    from pipelines.build.runner import default_build_dir

    try:
        result = build_cohort(
            work, settings=spec.build_settings(), build_dir=default_build_dir(db_path)
        )
    except BuildRefused as error:
        raise StepFailed("build", str(error)) from error
    if not result.success:
        failed = [f"{test.test_name} ({test.failures} rows)" for test in result.failed_tests]
        errored = [node.name for node in result.errored_nodes]
        reason = "; ".join(
            part
            for part in (
                f"dbt tests failed: {', '.join(failed)}" if failed else "",
                f"models errored: {', '.join(errored)}" if errored else "",
                result.error or "",
            )
            if part
        )
        raise StepFailed("build", f"build failed: {reason}", result)
    return result


def _validate(
    work: Path, db_path: Path, spec: StudySpec, run: RunRecord, worker: StepWorker
) -> Any:
    from pipelines.validate import SuiteError, ValidationRefused
    from pipelines.validate.gate import default_report_dir, run_gate

    try:
        pending = worker.submit(
            run_gate,
            work,
            code_version=run.code_version or "",
            critical_fields=spec.critical_fields(),
            report_dir=default_report_dir(db_path),
        )
        import pipelines.report.figures  # noqa: F401  (matplotlib, for the report, meanwhile)

        gate = pending.result()
    except (ValidationRefused, SuiteError) as error:
        raise StepFailed("validate", str(error)) from error
    run.validation_run_id = gate.run.run_id
    if not gate.passed:
        failed = ", ".join(
            f"{outcome.expectation_id} ({outcome.unexpected_count or 0} rows)"
            for outcome in gate.run.blocking
        )
        raise StepFailed(
            "validate",
            f"quality gate failed: {len(gate.run.blocking)} critical expectation(s) failed: "
            f"{failed}; report: {gate.report_path}",
            gate,
        )
    return gate


def _analyze(work: Path, spec: StudySpec, run: RunRecord) -> Any:
    from pipelines.analyze.cohort import AnalysisRefused
    from pipelines.analyze.run import analyze

    try:
        result = analyze(work, spec, code_version=run.code_version or "")
    except AnalysisRefused as error:
        raise StepFailed("analyze", f"analysis refused: {error}") from error
    run.analysis_run_id = result.run_id
    return result


def _report(work: Path, db_path: Path, run: RunRecord, worker: StepWorker) -> Any:
    from pipelines.report.run import default_report_dir, write_report

    assert run.analysis_run_id is not None
    result = write_report(
        work,
        run_id=run.analysis_run_id,
        out_dir=default_report_dir(db_path, run.analysis_run_id),
        helper=worker,
    )
    run.report_path = str(result.index_html)
    return result


def _describe(name: str, detail: Any) -> str | None:
    """One line per step for the registry and the progress display."""
    if name == "prepare":
        return "copied the published warehouse" if detail and detail.exists() else "new warehouse"
    if name == "ingest":
        if not detail.is_new_batch:
            return f"no new data (batch {detail.batch_id})"
        loaded = [t for t in detail.tables if t.status == "loaded"]
        tables = ", ".join(f"{t.table_name} {t.row_count:,}" for t in loaded)
        return f"batch {detail.batch_id}: loaded {tables or 'no table (all reused)'}"
    if name == "build":
        counts = detail.cohort
        nodes = f"{len(detail.nodes)} dbt nodes ok"
        if counts is None:
            return nodes
        risks = ", ".join(f"{r.cytogenetic_risk} {r.patients}" for r in counts.by_risk)
        return f"{nodes}; {counts.patients} patients ({risks}), {counts.excluded} excluded"
    if name == "validate":
        run = detail.run
        return f"gate passed: {len(run.outcomes)} expectations, {len(run.warnings)} warning(s)"
    if name == "analyze":
        rows = sum(detail.rows_written.values())
        return f"analysis run {detail.run_id}: {rows:,} result rows"
    if name == "report":
        return f"{len(detail.figures)} figures: {detail.index_html}"
    if name == "publish":
        return "published"
    return None


# --- publishing and the registry -----------------------------------------------------


def _publish_success(outcome: PipelineOutcome, work: Path, db_path: Path) -> None:
    run = outcome.run
    run.status, run.is_published = "succeeded", True
    publish_step = run.step("publish")
    publish_step.status, publish_step.message = "succeeded", "published"
    _finish(run)
    if publish_step.started_at:  # the rename itself is not timed: it is in the file
        publish_step.seconds = (run.finished_at - publish_step.started_at).total_seconds()
    with connect(work) as con:
        _point_validation_at(con, run, db_path)
        for abandoned in outcome.abandoned:
            record(con, abandoned)
        record(con, run)
    _pause_point("replace")
    publish(work, db_path)
    _remove_markers(db_path, outcome.abandoned)


def _publish_failure(outcome: PipelineOutcome, work: Path, db_path: Path) -> None:
    """Publish the registry row (and the gate's results) on top of the unchanged file."""
    run = outcome.run
    run.is_published = False
    _finish(run)
    base = work.with_name(work.name + ".registry")
    discard(base)
    if db_path.exists():
        shutil.copyfile(db_path, base)
    try:
        with connect(base) as con:
            if run.validation_run_id and work.exists():
                _carry_validation(con, work, run.validation_run_id)
                _point_validation_at(con, run, db_path)
            for abandoned in outcome.abandoned:
                record(con, abandoned)
            record(con, run)
        publish(base, db_path)
        _remove_markers(db_path, outcome.abandoned)
    finally:
        discard(base)


def _carry_validation(con: duckdb.DuckDBPyConnection, work: Path, validation_run_id: str) -> None:
    from pipelines.validate.store import RESULTS_TABLE, RUNS_TABLE, VALIDATION_TABLES_DDL

    con.execute(f"attach '{work}' as failed_run (read_only)")
    try:
        with transaction(con):
            con.execute(VALIDATION_TABLES_DDL)
            for table in (RUNS_TABLE, RESULTS_TABLE):
                con.execute(
                    f"insert into {table} select * from failed_run.{table} where run_id = ?",
                    [validation_run_id],
                )
    finally:
        con.execute("detach failed_run")


def _point_validation_at(con: duckdb.DuckDBPyConnection, run: RunRecord, db_path: Path) -> None:
    """The gate ran on the work copy; its record should name the published warehouse."""
    if run.validation_run_id:
        con.execute(
            "update quality.validation_runs set db_path = ? where run_id = ?",
            [str(db_path), run.validation_run_id],
        )


def _finish(run: RunRecord) -> None:
    run.finished_at = _now()
    run.seconds = (run.finished_at - run.started_at).total_seconds()


def _unchanged(previous: RunRecord | None, run: RunRecord) -> bool:
    return previous is not None and (
        previous.input_hash,
        previous.spec_hash,
        previous.code_version,
    ) == (run.input_hash, run.spec_hash, run.code_version)


def _input_options(options: RunOptions) -> dict[str, object]:
    from pipelines.pseudonym import key_check

    key = options.pseudonym_key
    return {
        "simulated": (options.input_dir / SIMULATION_SIDECAR).is_file(),
        "pseudonym_key_check": key_check(key) if key is not None else None,
    }


# --- the markers killed runs leave behind --------------------------------------------


def _markers(db_path: Path) -> Path:
    return work_dir(db_path) / "unfinished"


def _write_marker(db_path: Path, run: RunRecord) -> None:
    """Keep the run's state on disk while it runs: if the process dies, it stays."""
    write_text_atomically(_markers(db_path) / f"{run.run_id}.json", run.to_json())


def _remove_markers(db_path: Path, runs: list[RunRecord]) -> None:
    for run in runs:
        (_markers(db_path) / f"{run.run_id}.json").unlink(missing_ok=True)


def _abandoned_runs(db_path: Path) -> list[RunRecord]:
    """Markers left by earlier runs: their processes died before finishing.

    They are recorded as ``abandoned`` with the run that finds them, and removed only
    once that run's registry row is published, so none is lost if it dies too.
    """
    found = []
    for marker in sorted(_markers(db_path).glob("*.json")):
        try:
            run = RunRecord.from_json(marker.read_text())
        except (OSError, ValueError, TypeError):
            continue
        current = next((s for s in run.steps if s.started_at and s.seconds is None), None)
        if current:
            current.status = "interrupted"
        run.status, run.is_published = "abandoned", False
        run.failed_step = current.step if current else None
        run.error_message = (
            "the process ended without finishing (killed, crashed or the machine stopped)"
            + (f" during step {current.step}" if current else "")
            + "; nothing of this run was published"
        )
        found.append(run)
    return found


def _pause_point(name: str) -> None:
    """Block at ``name`` while a test holds the process there (see :data:`PAUSE_AT_ENV`)."""
    if os.environ.get(PAUSE_AT_ENV) != name:
        return
    folder = Path(os.environ[PAUSE_DIR_ENV])
    (folder / f"{name}.paused").write_text(str(os.getpid()))
    deadline = time.monotonic() + 300
    while not (folder / f"{name}.resume").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def _new_run_id() -> str:
    return f"run-{_now():%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
