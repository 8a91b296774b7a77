"""The settings a run recorded (``results.analysis_runs.settings``), as its readers need them.

The analysis stores the study spec with its defaults resolved
(:meth:`pipelines.spec.StudySpec.settings`) next to every result, so the terminal summary,
the report and its figures describe a run with the settings it actually ran with, not
with today's spec. A run recorded before a key existed gets the spec's default for it;
a run recorded before ``reference`` existed has no published figures to show.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from pipelines.spec import (
    MultiplicitySettings,
    PublishedResult,
    ReferenceSettings,
    ScanSettings,
    StudySpec,
)

#: The summary's landmark for a run whose spec names no ``reference`` (every run recorded
#: before the key existed): 3 years, the landmark the summary has always shown. A spec
#: with a ``reference`` is summarised at the reference's ``landmark_years``.
DEFAULT_SUMMARY_LANDMARK_YEARS = 3.0


def _spec_default(name: str) -> Any:
    [spec_field] = [f for f in dataclasses.fields(StudySpec) if f.name == name]
    return spec_field.default


@dataclass(frozen=True)
class RunSettings:
    """The recorded settings the summary, the report and the figures use."""

    adjust_for: tuple[str, ...] = ()
    subgroups: tuple[str, ...] = ()
    #: Divisor of days into years (IMWG: 365.25), as the run's dbt build used it.
    days_per_year: float = _spec_default("days_per_year")
    figure_time_unit: str = _spec_default("figure_time_unit")
    scan: ScanSettings = field(default_factory=ScanSettings)
    #: The grouping whose whole-cohort log-rank tests form the primary family.
    family_grouping: str = MultiplicitySettings().grouping
    #: Published figures to show beside the run's; None = nothing to compare with.
    reference: ReferenceSettings | None = None

    @property
    def summary_landmark_years(self) -> float:
        """The landmark of the summary's survival columns: the reference's, else 3 years."""
        if self.reference is not None:
            return self.reference.landmark_years
        return DEFAULT_SUMMARY_LANDMARK_YEARS

    @classmethod
    def from_json(cls, text: str | None) -> RunSettings:
        """Parse the stored JSON; missing keys (older runs) take the defaults above."""
        values = json.loads(text) if text else {}
        defaults = cls()
        scan = values.get("scan") or {}
        family = (values.get("multiplicity") or {}).get("family") or {}
        return cls(
            adjust_for=tuple(values.get("adjust_for") or ()),
            subgroups=tuple(values.get("subgroups") or ()),
            days_per_year=float(values.get("days_per_year") or defaults.days_per_year),
            figure_time_unit=str(values.get("figure_time_unit") or defaults.figure_time_unit),
            scan=ScanSettings(
                within_subgroups=bool(scan.get("within_subgroups", False)),
                top_genes=int(scan.get("top_genes", defaults.scan.top_genes)),
                fdr=float(scan.get("fdr", defaults.scan.fdr)),
            ),
            family_grouping=str(family.get("grouping") or defaults.family_grouping),
            reference=_reference(values.get("reference")),
        )


def _reference(value: dict[str, Any] | None) -> ReferenceSettings | None:
    if not value:
        return None
    return ReferenceSettings(
        citation=str(value["citation"]),
        landmark_years=float(value["landmark_years"]),
        results=tuple(
            PublishedResult(
                biomarker=str(item["biomarker"]),
                endpoint=str(item["endpoint"]),
                low=float(item["low"]),
                high=float(item["high"]),
                p=str(item["p"]),
            )
            for item in value["results"]
        ),
    )
