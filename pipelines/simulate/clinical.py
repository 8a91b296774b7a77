"""Latent biology, survival times and the ``patients`` table of the simulated cohort.

One draw per patient of: latent standardised expression of the four study genes
(independent standard normals; higher = more mRNA), cytogenetic risk (its probability
depends on the latent IKZF1 quartile, see REFERENCE_STUDY.md on why low IKZF1 must go
with standard-risk), an illness-death history with constant hazards from
:mod:`pipelines.simulate.calibration`, accrual and censoring. Times are converted to
calendar dates with 365.25-day years (the product's convention) and rounded up to whole
days, so an event is never on the diagnosis date and progression never after death.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri

from pipelines.simulate.calibration import Hazards
from pipelines.simulate.parameters import STUDY_GENES, ModelParameters

#: Minimum digits of the patient number (SIM-0001); more when the cohort needs them.
PATIENT_NUMBER_DIGITS = 4
#: ISO 8601 calendar date, the raw contract's only date format.
ISO_DATE = "%Y-%m-%d"
PATIENT_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "sex",
    "age_at_diagnosis",
    "diagnosis_date",
    "iss_stage",
    "treatment",
    "progression_date",
    "death_date",
    "last_followup_date",
    "is_simulated",
)


@dataclass(frozen=True)
class Cohort:
    """Per-patient truth (arrays aligned with ``patient_ids``); never written as such."""

    patient_ids: tuple[str, ...]
    #: Latent standardised expression, shape (patients, 4), columns as STUDY_GENES.
    latent_expression: NDArray[np.float64]
    is_high_risk: NDArray[np.bool_]
    #: Days from the accrual start to diagnosis.
    diagnosis_offset_days: NDArray[np.int64]
    #: Days from diagnosis; -1 where the event was not observed.
    progression_day: NDArray[np.int64]
    death_day: NDArray[np.int64]
    last_followup_day: NDArray[np.int64]

    @property
    def size(self) -> int:
        return len(self.patient_ids)

    def latent(self, gene: str) -> NDArray[np.float64]:
        return self.latent_expression[:, STUDY_GENES.index(gene)]


def patient_ids(count: int, prefix: str) -> tuple[str, ...]:
    """Pseudonymous, zero-padded, sortable: SIM-0001 ... (wider for > 9,999 patients)."""
    width = max(PATIENT_NUMBER_DIGITS, len(str(count)))
    return tuple(f"{prefix}{number:0{width}d}" for number in range(1, count + 1))


def is_latent_lowest_quartile(
    latent: NDArray[np.float64], quartile_fraction: float
) -> NDArray[np.bool_]:
    """Q1 = lowest expression (= highest dCt), by the population quantile of N(0, 1)."""
    return latent <= ndtri(quartile_fraction)


def patient_hazards(
    latent_expression: NDArray[np.float64],
    is_high_risk: NDArray[np.bool_],
    hazards: Hazards,
    parameters: ModelParameters,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """PFS hazard and post-progression death hazard of every patient (per year).

    IKZF1 (PFS and post-progression), IKZF3 and BSG (PFS) act in standard-risk patients
    only, as Q2-Q4 vs Q1 multipliers; high-risk patients share one pair of hazards; CRBN
    has no effect (the published null finding).
    """
    q = parameters.quartile_fraction
    low = {
        gene: is_latent_lowest_quartile(latent_expression[:, i], q)
        for i, gene in enumerate(STUDY_GENES)
    }
    pfs = np.where(low["IKZF1"], hazards.pfs_standard_risk_q1, hazards.pfs_standard_risk_rest)
    pfs = pfs * np.where(low["IKZF3"], 1.0, parameters.ikzf3_pfs_hazard_ratio)
    pfs = pfs * np.where(low["BSG"], 1.0, parameters.bsg_pfs_hazard_ratio)
    post = np.where(
        low["IKZF1"],
        hazards.post_progression_standard_risk_q1,
        hazards.post_progression_standard_risk_rest,
    )
    pfs = np.where(is_high_risk, hazards.pfs_high_risk, pfs)
    post = np.where(is_high_risk, hazards.post_progression_high_risk, post)
    return pfs, post


def draw_latent_and_risk(
    rng: np.random.Generator, count: int, hazards: Hazards, parameters: ModelParameters
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Latent expression of the study genes and high-risk status (depends on IKZF1 only)."""
    latent = rng.standard_normal((count, len(STUDY_GENES)))
    in_q1 = is_latent_lowest_quartile(
        latent[:, STUDY_GENES.index("IKZF1")], parameters.quartile_fraction
    )
    probability = np.where(
        in_q1, hazards.high_risk_probability_q1, hazards.high_risk_probability_rest
    )
    return latent, rng.random(count) < probability


def draw_cohort(
    rng: np.random.Generator,
    count: int,
    hazards: Hazards,
    parameters: ModelParameters,
    *,
    extra_log_hazard: NDArray[np.float64] | None = None,
) -> Cohort:
    """Draw histories; ``extra_log_hazard`` (scale mode) multiplies both hazards."""
    latent, is_high_risk = draw_latent_and_risk(rng, count, hazards, parameters)
    pfs_hazard, post_hazard = patient_hazards(latent, is_high_risk, hazards, parameters)
    if extra_log_hazard is not None:
        pfs_hazard = pfs_hazard * np.exp(extra_log_hazard)
        post_hazard = post_hazard * np.exp(extra_log_hazard)
    year = parameters.days_per_year
    pfs_years = rng.exponential(1.0 / pfs_hazard)
    dies_first = rng.random(count) < parameters.death_without_progression_fraction
    post_years = rng.exponential(1.0 / post_hazard)
    loss_years = rng.exponential(1.0 / parameters.loss_to_followup_rate, count)
    accrual_days = round(parameters.accrual_years * year)
    offsets = rng.integers(0, accrual_days, count)

    first_event_day = np.ceil(pfs_years * year).astype(np.int64)
    death_day_all = np.where(
        dies_first, first_event_day, np.ceil((pfs_years + post_years) * year).astype(np.int64)
    )
    cutoff_days = (parameters.data_cutoff - parameters.accrual_start).days - offsets
    censor_day = np.minimum(cutoff_days, np.ceil(loss_years * year).astype(np.int64))
    progression_seen = ~dies_first & (first_event_day <= censor_day)
    death_seen = death_day_all <= censor_day
    return Cohort(
        patient_ids=patient_ids(count, parameters.patient_id_prefix),
        latent_expression=latent,
        is_high_risk=is_high_risk,
        diagnosis_offset_days=offsets.astype(np.int64),
        progression_day=np.where(progression_seen, first_event_day, -1),
        death_day=np.where(death_seen, death_day_all, -1),
        last_followup_day=np.where(death_seen, death_day_all, censor_day),
    )


def patients_table(
    rng: np.random.Generator, cohort: Cohort, parameters: ModelParameters
) -> pl.DataFrame:
    """The ``patients`` table as text (raw contract v1 plus the ``is_simulated`` marker)."""
    n = cohort.size
    age = _truncated_normal_ages(rng, n, parameters)
    sex = np.where(rng.random(n) < parameters.male_fraction, "M", "F")
    sex_missing = rng.random(n) < parameters.sex_missing_fraction
    stages = [stage for stage, _ in parameters.iss_stages]
    weights = np.array([weight for _, weight in parameters.iss_stages])
    iss = rng.choice(stages, size=n, p=weights / weights.sum())
    iss_missing = rng.random(n) < parameters.iss_missing_fraction
    diagnosis = np.datetime64(parameters.accrual_start, "D") + cohort.diagnosis_offset_days

    def event_dates(days: NDArray[np.int64]) -> pl.Series:
        present = days >= 0
        stamps = diagnosis + np.where(present, days, 0).astype("timedelta64[D]")
        return pl.Series(stamps).dt.to_string(ISO_DATE).set(pl.Series(~present), None)

    frame = pl.DataFrame(
        {
            "patient_id": list(cohort.patient_ids),
            "sex": pl.Series(sex).set(pl.Series(sex_missing), None),
            "age_at_diagnosis": pl.Series(age).cast(pl.String),
            "diagnosis_date": pl.Series(diagnosis).dt.to_string(ISO_DATE),
            "iss_stage": pl.Series(iss).set(pl.Series(iss_missing), None),
            "treatment": [parameters.treatment] * n,
            "progression_date": event_dates(cohort.progression_day),
            "death_date": event_dates(cohort.death_day),
            "last_followup_date": event_dates(cohort.last_followup_day),
            "is_simulated": ["true"] * n,
        }
    )
    return frame.select(PATIENT_COLUMNS)


def _truncated_normal_ages(
    rng: np.random.Generator, count: int, parameters: ModelParameters
) -> NDArray[np.int64]:
    """Whole years from a normal truncated to the intensive-therapy age range (inverse CDF)."""
    low = ndtr((parameters.age_min - parameters.age_location) / parameters.age_scale)
    high = ndtr((parameters.age_max + 1 - parameters.age_location) / parameters.age_scale)
    quantiles = low + (high - low) * rng.random(count)
    years = parameters.age_location + parameters.age_scale * ndtri(quantiles)
    return np.clip(np.floor(years), parameters.age_min, parameters.age_max).astype(np.int64)
