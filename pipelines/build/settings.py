"""The study settings that shape the cohort: the dbt project's ``vars``, made explicit.

The names are fixed by ``dbt_project/dbt_project.yml`` (``vars:``), which documents
each one; the defaults here repeat those defaults so that a build records the values
it used instead of relying on whatever the YAML says today.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

#: High-risk cytogenetics of the reference study and IMWG (canonical names, see the
#: ``canonical_aberrations`` seed).
DEFAULT_HIGH_RISK_ABERRATIONS: tuple[str, ...] = ("del(17p)", "t(4;14)", "t(14;16)")


@dataclass(frozen=True)
class BuildSettings:
    """The dbt vars of one build, built once at the CLI edge and passed down.

    Attributes
    ----------
    data_cutoff_date
        Events after this date are ignored and follow-up is censored at it; None means
        no cut-off beyond each patient's last follow-up.
    high_risk_aberrations
        Any present makes a patient high-risk; all evaluated and absent makes them
        standard-risk; otherwise unknown.
    reference_gene
        qRT-PCR reference gene when the data do not name one on each row.
    replicate_sd_threshold
        Technical replicates with a sample SD above this (cycles) are flagged.
    ct_min, ct_max
        Plausible Ct range of a 40-45 cycle qPCR run.
    as_of_date
        Dates after this are "in the future"; None means the day of the build.
    days_per_year
        Divisor of the ``*_years`` columns (365.25, the IMWG convention).
    """

    data_cutoff_date: dt.date | None = None
    high_risk_aberrations: tuple[str, ...] = DEFAULT_HIGH_RISK_ABERRATIONS
    reference_gene: str | None = None
    replicate_sd_threshold: float = 0.5
    ct_min: float = 0.0
    ct_max: float = 45.0
    as_of_date: dt.date | None = None
    days_per_year: float = 365.25

    def __post_init__(self) -> None:
        # Refuse settings that would build a silently meaningless cohort.
        if not self.high_risk_aberrations:
            raise ValueError("high_risk_aberrations must name at least one aberration")
        if not isinstance(self.high_risk_aberrations, tuple):
            raise TypeError("high_risk_aberrations must be a tuple (the settings are frozen)")
        if self.ct_min >= self.ct_max:
            raise ValueError(f"ct_min ({self.ct_min}) must be below ct_max ({self.ct_max})")
        if self.replicate_sd_threshold <= 0:
            raise ValueError("replicate_sd_threshold must be positive")
        if self.days_per_year <= 0:
            raise ValueError("days_per_year must be positive")

    def to_dbt_vars(self) -> dict[str, object]:
        """The ``--vars`` mapping for dbt: JSON-able, dates as ISO strings or None.

        >>> BuildSettings(data_cutoff_date=dt.date(2014, 11, 1)).to_dbt_vars()["data_cutoff_date"]
        '2014-11-01'
        """
        return {
            "data_cutoff_date": _iso(self.data_cutoff_date),
            "high_risk_aberrations": list(self.high_risk_aberrations),
            "reference_gene": self.reference_gene,
            "replicate_sd_threshold": self.replicate_sd_threshold,
            "ct_min": self.ct_min,
            "ct_max": self.ct_max,
            "as_of_date": _iso(self.as_of_date),
            "days_per_year": self.days_per_year,
        }


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None
