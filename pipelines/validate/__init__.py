"""The quality gate: Great Expectations suites run against the warehouse before analysis.

>>> run = validate_warehouse(Path("warehouse/cohort.duckdb"), code_version="0.1")  # doctest: +SKIP
>>> run.verdict  # doctest: +SKIP
'pass'
"""

from __future__ import annotations

from pipelines.validate.results import ExpectationOutcome, ValidationRun
from pipelines.validate.runner import ValidationRefused, validate_warehouse
from pipelines.validate.suites import SuiteError, load_suites

__all__ = [
    "ExpectationOutcome",
    "SuiteError",
    "ValidationRefused",
    "ValidationRun",
    "load_suites",
    "validate_warehouse",
]
