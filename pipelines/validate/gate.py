"""The quality gate as one step: validate, write the report, store the results.

`cohort validate` and (later) `cohort run` call :func:`run_gate`; the verdict decides
whether the analysis may start. Results are stored even when the gate fails, so the
warehouse always says why the last analysis did not run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipelines.validate.results import ValidationRun
from pipelines.validate.runner import validate_warehouse
from pipelines.validate.suites import DEFAULT_SUITES_DIR
from pipelines.warehouse import connect


@dataclass(frozen=True)
class GateResult:
    run: ValidationRun
    report_path: Path

    @property
    def passed(self) -> bool:
        return self.run.verdict == "pass"


def default_report_dir(db_path: Path) -> Path:
    """``<db dir>/reports/<db name>/validation``: beside the warehouse, never in the repo."""
    return db_path.resolve().parent / "reports" / db_path.stem / "validation"


def run_gate(
    db_path: Path,
    *,
    code_version: str,
    critical_fields: Sequence[str] = (),
    suites_dir: Path = DEFAULT_SUITES_DIR,
    report_dir: Path | None = None,
) -> GateResult:
    """Validate ``db_path``, write ``<run_id>.html`` and store the run in ``quality.*``."""
    from pipelines.validate.report import write_report
    from pipelines.validate.store import store_run

    run = validate_warehouse(
        db_path,
        code_version=code_version,
        critical_fields=critical_fields,
        suites_dir=suites_dir,
    )
    report_path = (report_dir or default_report_dir(db_path)) / f"{run.run_id}.html"
    report_path.parent.mkdir(parents=True, exist_ok=True)
    write_report(run, report_path)
    with connect(db_path) as con:
        store_run(con, run, report_path=report_path)
    return GateResult(run=run, report_path=report_path)
