"""The build step: ``dbt build`` of the project on one warehouse, with a readable report.

>>> from datetime import date
>>> from pathlib import Path
>>> from pipelines.build import BuildSettings, build_cohort
>>> settings = BuildSettings(data_cutoff_date=date(2014, 11, 1))
>>> result = build_cohort(Path("warehouse/cohort.duckdb"), settings=settings)  # doctest: +SKIP
>>> result.success, result.cohort.patients  # doctest: +SKIP
(True, 60)
"""

from __future__ import annotations

from pipelines.build.result import (
    BuildResult,
    CohortCounts,
    ExampleRows,
    FailedTest,
    NodeResult,
    RiskGroupCount,
)
from pipelines.build.runner import PROJECT_DIR, BuildRefused, build_cohort, default_build_dir
from pipelines.build.settings import DEFAULT_HIGH_RISK_ABERRATIONS, BuildSettings

__all__ = [
    "DEFAULT_HIGH_RISK_ABERRATIONS",
    "PROJECT_DIR",
    "BuildRefused",
    "BuildResult",
    "BuildSettings",
    "CohortCounts",
    "ExampleRows",
    "FailedTest",
    "NodeResult",
    "RiskGroupCount",
    "build_cohort",
    "default_build_dir",
]
