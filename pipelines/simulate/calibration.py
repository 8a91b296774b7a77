"""Derive the hazards that make the simulated cohort reproduce the published targets.

The survival model is an illness-death model with constant hazards per patient type
(risk group x latent IKZF1 group x latent IKZF3/BSG groups). Its expected 3-year PFS and
OS in each IKZF1 group are finite mixtures of closed-form survival functions,
so the calibration is exact arithmetic, not a fit to a random draw:

* PFS(t) = exp(-lambda t), where lambda is the hazard of the first event (progression,
  or death without progression with probability ``death_without_progression_fraction``);
* OS(t) = exp(-lambda t) + alpha (exp(-mu t) - exp(-lambda t)) / (lambda - mu), with
  alpha = (1 - pi) lambda the progression hazard and mu the post-progression death hazard.

Quartile groups here are *latent* (population) quartiles. The writers make the measured
value reproduce the latent one (qRT-PCR replicate wells are centred on the patient's
dCt), so the measured quartile of a large cohort is the latent one; see
``docs/simulated-cohort.md`` for why (measurement error would otherwise move latent
Q2-Q4 patients into Q1 and make a 3-year OS of 97.5% in Q1 unreachable).

Six unknowns (lambda and mu for standard-risk latent-Q1, standard-risk Q2-Q4 and
high-risk patients) are solved from six equations: the four landmark targets and the two
high-risk hazard ratios, the latter expressed as ratios of 3-year cumulative hazards of
high-risk vs standard-risk Q2-Q4 patients (exact for PFS, whose hazards are
proportional; an approximation for OS, checked by the large-n Cox test).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pipelines.simulate.parameters import ModelParameters

#: Root-finder tolerance on the residuals (probabilities and log hazard ratios).
SOLVER_TOLERANCE = 1e-10
#: Largest residual accepted as "targets reached".
ACCEPTED_RESIDUAL = 1e-8
#: Below this |lambda - mu| the OS formula uses its analytic limit (no 0/0).
EQUAL_HAZARDS = 1e-12
#: Starting hazards per year (lambda SR-Q1, SR-rest, high-risk; mu likewise): PFS near
#: -log(target)/t, post-progression rates from a few per cent to about one per year.
SOLVER_START: tuple[float, ...] = (0.04, 0.1, 0.7, 0.05, 0.2, 0.8)


@dataclass(frozen=True)
class Hazards:
    """Derived constant hazards (per year) and high-risk probabilities.

    ``pfs_*`` is the hazard of the first PFS event; for standard-risk patients it is the
    value for IKZF3-Q1 and BSG-Q1 patients (the Q2-Q4 multipliers apply on top).
    ``post_progression_*`` is the death hazard after progression.
    """

    pfs_standard_risk_q1: float
    pfs_standard_risk_rest: float
    pfs_high_risk: float
    post_progression_standard_risk_q1: float
    post_progression_standard_risk_rest: float
    post_progression_high_risk: float
    high_risk_probability_q1: float
    high_risk_probability_rest: float

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


def pfs_survival(pfs_hazard: ArrayLike, years: float) -> NDArray[np.float64]:
    """Exponential PFS: probability of no progression and no death by ``years``."""
    return np.exp(-np.asarray(pfs_hazard, dtype=float) * years)


def os_survival(
    pfs_hazard: ArrayLike, post_progression_hazard: ArrayLike, death_share: float, years: float
) -> NDArray[np.float64]:
    """Illness-death OS: event-free, or progressed at s < t and alive t - s later."""
    lam = np.asarray(pfs_hazard, dtype=float)
    mu = np.asarray(post_progression_hazard, dtype=float)
    progression_hazard = (1.0 - death_share) * lam
    difference = lam - mu
    safe = np.where(np.abs(difference) < EQUAL_HAZARDS, 1.0, difference)
    # integral_0^t exp(-(lam - mu) s) ds, with its limit t when lam == mu
    window = np.where(np.abs(difference) < EQUAL_HAZARDS, years, -np.expm1(-safe * years) / safe)
    return np.exp(-lam * years) + progression_hazard * np.exp(-mu * years) * window


def _standard_risk_mixture(parameters: ModelParameters) -> tuple[NDArray, NDArray]:
    """Probabilities and PFS multipliers of the four IKZF3 x BSG latent-group cells."""
    q = parameters.quartile_fraction
    probabilities, multipliers = [], []
    for ikzf3_rest in (False, True):
        for bsg_rest in (False, True):
            probabilities.append((1 - q if ikzf3_rest else q) * (1 - q if bsg_rest else q))
            multipliers.append(
                (parameters.ikzf3_pfs_hazard_ratio if ikzf3_rest else 1.0)
                * (parameters.bsg_pfs_hazard_ratio if bsg_rest else 1.0)
            )
    return np.array(probabilities), np.array(multipliers)


def expected_landmarks(
    hazards: Hazards, parameters: ModelParameters, years: float | None = None
) -> dict[str, float]:
    """Expected PFS/OS at ``years`` per IKZF1 group, and the implied hazard ratios.

    Hazard ratios are ratios of cumulative hazards at ``years``: high-risk vs
    standard-risk Q2-Q4, and standard-risk Q2-Q4 vs standard-risk Q1 (IKZF1 effect).
    """
    t = parameters.landmark_years if years is None else years
    pi = parameters.death_without_progression_fraction
    cell_probability, cell_multiplier = _standard_risk_mixture(parameters)

    def standard_risk(pfs_hazard: float, post_hazard: float) -> tuple[float, float]:
        pfs = float(cell_probability @ pfs_survival(pfs_hazard * cell_multiplier, t))
        overall = float(
            cell_probability @ os_survival(pfs_hazard * cell_multiplier, post_hazard, pi, t)
        )
        return pfs, overall

    sr_q1 = standard_risk(hazards.pfs_standard_risk_q1, hazards.post_progression_standard_risk_q1)
    sr_rest = standard_risk(
        hazards.pfs_standard_risk_rest, hazards.post_progression_standard_risk_rest
    )
    high = (
        float(pfs_survival(hazards.pfs_high_risk, t)),
        float(os_survival(hazards.pfs_high_risk, hazards.post_progression_high_risk, pi, t)),
    )
    groups = {
        "q1": (hazards.high_risk_probability_q1, sr_q1),
        "rest": (hazards.high_risk_probability_rest, sr_rest),
    }
    result: dict[str, float] = {}
    for group, (risk_probability, standard) in groups.items():
        for endpoint, index in (("pfs", 0), ("os", 1)):
            result[f"{endpoint}_{group}"] = (
                risk_probability * high[index] + (1 - risk_probability) * standard[index]
            )
    result["pfs_hazard_ratio_high_risk"] = math.log(high[0]) / math.log(sr_rest[0])
    result["os_hazard_ratio_high_risk"] = math.log(high[1]) / math.log(sr_rest[1])
    result["ikzf1_pfs_hazard_ratio_standard_risk"] = math.log(sr_rest[0]) / math.log(sr_q1[0])
    result["ikzf1_os_hazard_ratio_standard_risk"] = math.log(sr_rest[1]) / math.log(sr_q1[1])
    return result


def high_risk_probabilities(parameters: ModelParameters) -> tuple[float, float]:
    """P(high-risk | latent IKZF1 Q1) and P(high-risk | Q2-Q4) from overall prevalence."""
    q = parameters.quartile_fraction
    in_q1 = parameters.high_risk_prevalence_ikzf1_q1
    rest = (parameters.high_risk_prevalence - q * in_q1) / (1 - q)
    if not 0.0 <= rest <= 1.0:
        raise ValueError("high-risk prevalences are inconsistent (Q2-Q4 share outside 0..1)")
    return in_q1, rest


@lru_cache(maxsize=8)
def solve_hazards(parameters: ModelParameters) -> Hazards:
    """Solve the six hazards so that the expected landmarks equal the targets exactly."""
    from scipy.optimize import root

    in_q1, rest = high_risk_probabilities(parameters)
    targets = np.array(
        [
            parameters.target_pfs_q1,
            parameters.target_pfs_rest,
            parameters.target_os_q1,
            parameters.target_os_rest,
            math.log(parameters.target_pfs_hazard_ratio_high_risk),
            math.log(parameters.target_os_hazard_ratio_high_risk),
        ]
    )

    def build(log_rates: NDArray[np.float64]) -> Hazards:
        rates = np.exp(log_rates)
        return Hazards(*map(float, rates), in_q1, rest)

    def residuals(log_rates: NDArray[np.float64]) -> NDArray[np.float64]:
        expected = expected_landmarks(build(log_rates), parameters)
        achieved = np.array(
            [
                expected["pfs_q1"],
                expected["pfs_rest"],
                expected["os_q1"],
                expected["os_rest"],
                math.log(expected["pfs_hazard_ratio_high_risk"]),
                math.log(expected["os_hazard_ratio_high_risk"]),
            ]
        )
        return achieved - targets

    start = np.log(SOLVER_START)
    solution = root(residuals, start, method="hybr", tol=SOLVER_TOLERANCE)
    if not solution.success or np.max(np.abs(residuals(solution.x))) > ACCEPTED_RESIDUAL:
        raise ValueError(
            f"the calibration targets cannot be reached with these parameters ({solution.message})"
        )
    return build(solution.x)
