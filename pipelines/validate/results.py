"""What one validation run found: one outcome per expectation, and the run's verdict.

These objects are the contract between the GX runner (which fills them), the warehouse
tables ``quality.validation_runs`` / ``quality.validation_results`` and the HTML report
(which only read them), so that the three can never disagree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

#: Severities a suite may give an expectation. ``critical`` blocks the analysis.
SEVERITIES = ("critical", "warning")

#: Kahn et al. (2016) harmonised data-quality framework: the three categories.
DIMENSIONS = ("conformance", "completeness", "plausibility")

#: At most this many example patient ids are kept per expectation.
MAX_EXAMPLE_IDS = 20


@dataclass(frozen=True)
class ExpectationOutcome:
    """The result of one expectation of one suite.

    ``success`` is GX's verdict with the suite's tolerance (``mostly``) applied.
    ``error`` is set (and ``success`` is False) when the expectation could not be
    evaluated at all, which always counts as a failure of its severity.
    """

    suite: str
    dimension: str
    expectation_id: str
    title: str
    expectation_type: str
    table_name: str
    column_name: str | None
    severity: str
    success: bool
    observed_value: str | None = None
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    tolerated_percent: float | None = None
    example_patient_ids: tuple[str, ...] = ()
    error: str | None = None

    @property
    def is_blocking(self) -> bool:
        return self.severity == "critical" and not self.success

    @property
    def is_warning(self) -> bool:
        return self.severity == "warning" and not self.success


@dataclass(frozen=True)
class ValidationRun:
    """All outcomes of one `cohort validate` and where they came from."""

    run_id: str
    started_at: dt.datetime
    finished_at: dt.datetime
    db_path: Path
    batch_id: int | None
    is_simulated: bool
    code_version: str
    gx_version: str
    critical_fields: tuple[str, ...]
    outcomes: tuple[ExpectationOutcome, ...]
    suites: tuple[str, ...] = field(default=())

    @property
    def blocking(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(outcome for outcome in self.outcomes if outcome.is_blocking)

    @property
    def warnings(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(outcome for outcome in self.outcomes if outcome.is_warning)

    @property
    def verdict(self) -> str:
        """``fail`` when any critical expectation failed; warnings never fail a run."""
        return "fail" if self.blocking else "pass"

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()
