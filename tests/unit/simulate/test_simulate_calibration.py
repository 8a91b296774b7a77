"""The simulated cohort reproduces the published targets in expectation (REFERENCE_STUDY.md).

Two layers: the closed-form calibration hits the targets exactly, and one large seeded
draw, analysed independently from the *written files* (dates -> endpoints, Ct -> dCt ->
R type 7 quartiles, spellings -> risk) with lifelines, lands within sampling error of
them. The seed is arbitrary; nothing is tuned to it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from pipelines.simulate import DEFAULT_PARAMETERS, simulate
from pipelines.simulate.calibration import expected_landmarks, solve_hazards

LARGE_COHORT = 20_000
ARBITRARY_SEED = 1
LANDMARK_YEARS = 3.0
DAYS_PER_YEAR = 365.25
PERCENTAGE_POINTS = 0.05
#: Spelling -> canonical risk aberration, as documented in docs/simulated-cohort.md.
RISK_SPELLINGS = {
    "del(17p)": "del(17p)",
    "del(17p13)": "del(17p)",
    "del17p": "del(17p)",
    "17p-": "del(17p)",
    "t(4;14)": "t(4;14)",
    "t(4;14)(p16;q32)": "t(4;14)",
    "t(14;16)": "t(14;16)",
    "t(14;16)(q32;q23)": "t(14;16)",
}
GENES = ("IKZF1", "IKZF3", "CRBN", "BSG")


def test_closed_form_calibration_hits_every_target_exactly() -> None:
    parameters = DEFAULT_PARAMETERS
    expected = expected_landmarks(solve_hazards(parameters), parameters)
    assert expected["pfs_q1"] == pytest.approx(parameters.target_pfs_q1, abs=1e-9)
    assert expected["pfs_rest"] == pytest.approx(parameters.target_pfs_rest, abs=1e-9)
    assert expected["os_q1"] == pytest.approx(parameters.target_os_q1, abs=1e-9)
    assert expected["os_rest"] == pytest.approx(parameters.target_os_rest, abs=1e-9)
    assert expected["pfs_hazard_ratio_high_risk"] == pytest.approx(5.0, rel=1e-9)
    assert expected["os_hazard_ratio_high_risk"] == pytest.approx(7.0, rel=1e-9)


def cohort_frame(folder: Path) -> pd.DataFrame:
    """One row per patient: PFS/OS in years, dCt per gene, cytogenetic risk."""
    patients = pl.read_csv(folder / "patients_simulated.csv", infer_schema=False)
    expression = pl.read_csv(folder / "expression_simulated.csv", infer_schema=False)
    cytogenetics = pl.read_csv(folder / "cytogenetics_simulated.csv", infer_schema=False)

    def date(column: str) -> pl.Expr:
        return pl.col(column).str.to_date("%Y-%m-%d")

    endpoints = patients.select(
        "patient_id",
        pfs_years=(
            pl.min_horizontal(
                date("progression_date"), date("death_date"), date("last_followup_date")
            )
            - date("diagnosis_date")
        ).dt.total_days()
        / DAYS_PER_YEAR,
        pfs_event=pl.col("progression_date").is_not_null() | pl.col("death_date").is_not_null(),
        os_years=(date("last_followup_date") - date("diagnosis_date")).dt.total_days()
        / DAYS_PER_YEAR,
        os_event=pl.col("death_date").is_not_null(),
    )
    mean_ct = (
        expression.with_columns(pl.col("value").cast(pl.Float64))
        .group_by("patient_id", "gene")
        .agg(pl.col("value").mean())
    )
    reference = mean_ct.filter(pl.col("gene") == "GAPDH").select("patient_id", ref="value")
    delta_ct = (
        mean_ct.filter(pl.col("gene") != "GAPDH")
        .join(reference, on="patient_id")
        .with_columns(delta_ct=pl.col("value") - pl.col("ref"))
        .pivot(on="gene", index="patient_id", values="delta_ct")
    )
    risk = (
        cytogenetics.with_columns(
            canonical=pl.col("aberration").replace_strict(RISK_SPELLINGS, default=None)
        )
        .filter(pl.col("canonical").is_not_null())
        .group_by("patient_id")
        .agg(
            any_present=(pl.col("status") == "present").any(),
            evaluated=pl.col("canonical").filter(pl.col("status") != "not_evaluable").n_unique(),
        )
        .select(
            "patient_id",
            risk=pl.when("any_present")
            .then(pl.lit("high"))
            .when(pl.col("evaluated") == 3)
            .then(pl.lit("standard"))
            .otherwise(pl.lit("unknown")),
        )
    )
    frame = (
        endpoints.join(delta_ct, on="patient_id", how="left")
        .join(risk, on="patient_id", how="left")
        .to_pandas()
    )
    for gene in GENES:
        frame[f"{gene}_q2_q4"] = lowest_quartile_complement(frame[gene].to_numpy())
    return frame


def lowest_quartile_complement(delta_ct: np.ndarray) -> np.ndarray:
    """1 for Q2-Q4, 0 for Q1, NaN if missing; Q1 = log2 expression (-dCt) <= R type 7 q25."""
    expression = -delta_ct
    present = ~np.isnan(expression)
    q25 = np.quantile(expression[present], 0.25, method="linear")
    return np.where(present, (expression > q25).astype(float), np.nan)


def landmark(frame: pd.DataFrame, endpoint: str) -> float:
    from lifelines import KaplanMeierFitter

    fitted = KaplanMeierFitter().fit(frame[f"{endpoint}_years"], frame[f"{endpoint}_event"])
    return float(fitted.survival_function_at_times(LANDMARK_YEARS).iloc[0])


def hazard_ratios(frame: pd.DataFrame, endpoint: str, covariates: list[str]) -> dict[str, float]:
    from lifelines import CoxPHFitter

    data = frame[[f"{endpoint}_years", f"{endpoint}_event", *covariates]].dropna()
    fitted = CoxPHFitter().fit(data, f"{endpoint}_years", f"{endpoint}_event")
    return {name: float(np.exp(value)) for name, value in fitted.params_.items()}


@pytest.fixture(scope="module")
def large_cohort(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("large") / "cohort"
    simulate(folder, patients=LARGE_COHORT, seed=ARBITRARY_SEED)
    frame = cohort_frame(folder)
    frame["high_risk"] = (frame["risk"] == "high").astype(float)
    return frame


def test_three_year_landmarks_by_ikzf1_quartile(large_cohort: pd.DataFrame) -> None:
    low = large_cohort[large_cohort["IKZF1_q2_q4"] == 0]
    rest = large_cohort[large_cohort["IKZF1_q2_q4"] == 1]
    assert len(low) == pytest.approx(len(large_cohort) / 4, rel=0.05)
    assert landmark(low, "pfs") == pytest.approx(0.86, abs=PERCENTAGE_POINTS)
    assert landmark(rest, "pfs") == pytest.approx(0.51, abs=PERCENTAGE_POINTS)
    assert landmark(low, "os") >= 0.95
    assert landmark(rest, "os") == pytest.approx(0.74, abs=PERCENTAGE_POINTS)


def test_high_risk_prevalence_and_hazard_ratios(large_cohort: pd.DataFrame) -> None:
    known = large_cohort[large_cohort["risk"].isin(["high", "standard"])]
    assert 0.20 <= known["high_risk"].mean() <= 0.25
    assert known.loc[known["IKZF1_q2_q4"] == 0, "high_risk"].mean() < 0.05
    covariates = ["high_risk", "IKZF1_q2_q4"]
    assert 4.0 <= hazard_ratios(known, "pfs", covariates)["high_risk"] <= 6.5
    assert 5.5 <= hazard_ratios(known, "os", covariates)["high_risk"] <= 9.0


def test_gene_effects_only_in_standard_risk(large_cohort: pd.DataFrame) -> None:
    standard = large_cohort[large_cohort["risk"] == "standard"]
    high = large_cohort[large_cohort["risk"] == "high"]
    ikzf1_standard = hazard_ratios(standard, "pfs", ["IKZF1_q2_q4"])["IKZF1_q2_q4"]
    assert ikzf1_standard > 2.0
    assert 0.7 <= hazard_ratios(high, "pfs", ["IKZF1_q2_q4"])["IKZF1_q2_q4"] <= 1.4
    for gene in ("IKZF3", "BSG"):
        weaker = hazard_ratios(standard, "pfs", [f"{gene}_q2_q4"])[f"{gene}_q2_q4"]
        assert 1.2 <= weaker < ikzf1_standard
        assert 0.75 <= hazard_ratios(high, "pfs", [f"{gene}_q2_q4"])[f"{gene}_q2_q4"] <= 1.3
    for endpoint in ("pfs", "os"):
        crbn = hazard_ratios(large_cohort, endpoint, ["CRBN_q2_q4"])["CRBN_q2_q4"]
        assert 0.85 <= crbn <= 1.15


def test_median_follow_up_by_reverse_kaplan_meier(large_cohort: pd.DataFrame) -> None:
    from lifelines import KaplanMeierFitter

    reverse = KaplanMeierFitter().fit(large_cohort["os_years"], ~large_cohort["os_event"])
    assert 3.5 <= reverse.median_survival_time_ <= 4.5
