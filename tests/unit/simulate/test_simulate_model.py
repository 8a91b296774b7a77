"""The generative model's building blocks: survival formulas, hazards, measurement."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest

from pipelines.simulate import DEFAULT_PARAMETERS, STUDY_GENES
from pipelines.simulate.calibration import (
    high_risk_probabilities,
    os_survival,
    pfs_survival,
    solve_hazards,
)
from pipelines.simulate.clinical import draw_cohort, patient_hazards
from pipelines.simulate.expression import qrtpcr_table


def test_illness_death_os_formula_matches_monte_carlo() -> None:
    rng = np.random.default_rng(0)
    pfs_hazard, post_hazard, death_share, years = 0.3, 0.5, 0.1, 3.0
    first = rng.exponential(1 / pfs_hazard, 400_000)
    dies_first = rng.random(first.size) < death_share
    death = np.where(dies_first, first, first + rng.exponential(1 / post_hazard, first.size))
    assert float(os_survival(pfs_hazard, post_hazard, death_share, years)) == pytest.approx(
        np.mean(death > years), abs=0.003
    )
    assert float(pfs_survival(pfs_hazard, years)) == pytest.approx(
        np.mean(first > years), abs=0.003
    )


def test_os_formula_is_continuous_where_the_two_hazards_meet() -> None:
    equal = float(os_survival(0.4, 0.4, 0.0, 2.0))
    near = float(os_survival(0.4, 0.4 + 1e-7, 0.0, 2.0))
    assert equal == pytest.approx(near, abs=1e-6)
    assert equal == pytest.approx(np.exp(-0.8) * (1 + 0.8))


def test_high_risk_prevalence_splits_into_quartile_groups() -> None:
    in_q1, rest = high_risk_probabilities(DEFAULT_PARAMETERS)
    overall = 0.25 * in_q1 + 0.75 * rest
    assert overall == pytest.approx(DEFAULT_PARAMETERS.high_risk_prevalence)
    assert in_q1 < 0.05 < rest


def test_unreachable_targets_are_refused() -> None:
    impossible = dataclasses.replace(
        DEFAULT_PARAMETERS, high_risk_prevalence_ikzf1_q1=0.2, target_os_q1=0.995
    )
    with pytest.raises(ValueError, match="cannot be reached"):
        solve_hazards(impossible)


def test_gene_effects_act_in_standard_risk_only_and_crbn_never() -> None:
    hazards = solve_hazards(DEFAULT_PARAMETERS)
    low, high = -2.0, 2.0
    latent = np.array(
        [
            [low, low, low, low],
            [high, low, low, low],
            [low, high, low, low],
            [low, low, high, low],
            [low, low, low, high],
        ]
        * 2
    )
    is_high_risk = np.repeat([False, True], 5)
    pfs, post = patient_hazards(latent, is_high_risk, hazards, DEFAULT_PARAMETERS)
    standard_pfs, high_pfs = pfs[:5], pfs[5:]
    assert standard_pfs[1] / standard_pfs[0] == pytest.approx(
        hazards.pfs_standard_risk_rest / hazards.pfs_standard_risk_q1
    )
    assert standard_pfs[2] / standard_pfs[0] == pytest.approx(
        DEFAULT_PARAMETERS.ikzf3_pfs_hazard_ratio
    )
    assert standard_pfs[3] == standard_pfs[0]  # CRBN
    assert standard_pfs[4] / standard_pfs[0] == pytest.approx(
        DEFAULT_PARAMETERS.bsg_pfs_hazard_ratio
    )
    assert np.all(high_pfs == hazards.pfs_high_risk)
    assert np.all(post[5:] == hazards.post_progression_high_risk)


def test_measured_delta_ct_reproduces_the_latent_value() -> None:
    """Wells are centred, so dCt from complete triplicates equals the model value."""
    parameters = DEFAULT_PARAMETERS
    hazards = solve_hazards(parameters)
    cohort = draw_cohort(np.random.default_rng(1), 500, hazards, parameters)
    table = qrtpcr_table(np.random.default_rng(2), cohort, parameters, STUDY_GENES)
    means = (
        table.with_columns(pl.col("value").cast(pl.Float64))
        .group_by("patient_id", "gene")
        .agg(pl.col("value").mean(), wells=pl.len())
    )
    reference = means.filter(pl.col("gene") == "GAPDH").select(
        "patient_id", ref="value", ref_wells="wells"
    )
    ikzf1 = (
        means.filter(pl.col("gene") == "IKZF1")
        .join(reference, on="patient_id")
        .filter((pl.col("wells") == 3) & (pl.col("ref_wells") == 3))
        .sort("patient_id")
    )
    mean, sd = next((mean, sd) for gene, mean, sd in parameters.delta_ct if gene == "IKZF1")
    model = {
        pid: mean - sd * value
        for pid, value in zip(cohort.patient_ids, cohort.latent("IKZF1"), strict=True)
    }
    measured = (ikzf1["value"] - ikzf1["ref"]).to_numpy()
    expected = np.array([model[pid] for pid in ikzf1["patient_id"]])
    assert ikzf1.height > 400
    # rounding of six Ct values to 0.01 moves the difference of means by < 0.01
    assert np.max(np.abs(measured - expected)) < 0.01
