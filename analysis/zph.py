"""Proportional-hazards test of R survival >= 3.0 ``cox.zph``: a score test at the fitted beta.

Why a port: survival 3.0 (2019) replaced the Grambsch-Therneau approximation (scaled
Schoenfeld residuals regressed on g(t), which lifelines still computes) by the exact
score test for adding ``x * g(t)`` to the model, evaluated at the fitted coefficients.
The approximation replaces each risk set's variance of x by one average, so the two
differ in general (ovarian, no ties: 0.16 against R's 0.22 for age), and the older
right-continuous KM transform moves tied data further (aml: 0.024 against 0.0079);
R's published p-values can only be reproduced with the score test.
Source: github.com/therneau/survival, ``R/cox.zph.R`` and ``src/zph1.c``; pinned to
R's own output in ``tests/reference/test_r_cox_zph.py``.

The test (one column per term, no strata, no case weights): at each distinct death
time, with risk weights ``exp(x beta)``, let ``V(t)`` be the weighted covariance of x
over the risk set (Efron: one term per tied death, the tied deaths' weights scaled by
l/d, l = 0..d-1, as the fit; Breslow: d times the full risk set). With ``g`` the time
transform centred at its mean over the deaths, the score for the p extra terms is
``U = sum_deaths g(t) (x - xbar(t))`` and the 2p x 2p information has blocks
``sum V``, ``sum g V`` and ``sum g^2 V``. The score for beta is zero at the MLE (R sets it
to zero rather than using the computed value), so a term's statistic is
``u' I_kk^-1 u`` over the p beta rows plus that term's row, and the global statistic
uses all 2p rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from analysis.distributions import chi2_sf

Ties = Literal["efron", "breslow"]
TimeTransform = Literal["km", "identity", "rank", "log"]
ZphStatus = Literal[
    "ok",
    "no_events",
    "deaths_at_one_time",
    "constant_column",
    "non_finite_input",
    "log_of_nonpositive_time",
    "singular_information",
]
TIES: tuple[str, ...] = ("efron", "breslow")
TIME_TRANSFORMS: tuple[str, ...] = ("km", "identity", "rank", "log")
#: R's ``solve`` refuses a system whose reciprocal condition number (1-norm) is below
#: machine epsilon ("system is computationally singular"); we refuse at the same point.
SINGULAR_RCOND = float(np.finfo(float).eps)


@dataclass(frozen=True)
class ZphTest:
    """One chi-square test; ``chisq`` and ``p_value`` are None when it is undefined."""

    chisq: float | None
    df: int
    p_value: float | None


@dataclass(frozen=True)
class ZphResult:
    """Per-term tests (one per column of x, in order) and the global test.

    ``status``: ``"ok"``; ``"no_events"``; ``"deaths_at_one_time"`` (one distinct death
    time: the centred g(t) is zero, nothing to test); ``"constant_column"``;
    ``"non_finite_input"`` (NaN or inf in an input, or exp(x beta) overflows);
    ``"log_of_nonpositive_time"`` (transform "log" with a time <= 0);
    ``"singular_information"`` (R's ``solve`` would stop). Every statistic is None
    unless the status is "ok".
    """

    terms: tuple[ZphTest, ...]
    global_test: ZphTest
    transform: TimeTransform
    ties: Ties
    status: ZphStatus


def transformed_times(time: np.ndarray, event: np.ndarray, transform: TimeTransform) -> np.ndarray:
    """g(t) for every subject, before centring, as ``cox.zph`` computes it.

    "km" is ``1 - S(t-)``: the Kaplan-Meier curve of all subjects just *before* t (R's
    ``findInterval(..., left.open = TRUE)``), so the first death time maps to 0.
    "rank" uses average ranks of all times (R's ``rank`` default). "log" of a time <= 0
    is returned as non-finite; the caller reports it.
    """
    if transform == "identity":
        return time.astype(float)
    if transform == "log":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(time)
    ordered = np.sort(time)
    if transform == "rank":
        below = np.searchsorted(ordered, time, side="left")
        up_to = np.searchsorted(ordered, time, side="right")
        return (below + up_to + 1) / 2.0
    death_times, deaths = np.unique(time[event], return_counts=True)
    at_risk = len(time) - np.searchsorted(ordered, death_times, side="left")
    survival_after = np.cumprod(1.0 - deaths / at_risk)
    deaths_before = np.searchsorted(death_times, time, side="left")
    return 1.0 - np.concatenate(([1.0], survival_after))[deaths_before]


def _score_and_information(
    x: np.ndarray, time: np.ndarray, event: np.ndarray, coef: np.ndarray, g: np.ndarray, ties: Ties
) -> tuple[np.ndarray, np.ndarray]:
    """The score for the p time-varying terms and the full 2p x 2p information."""
    # Centring (as zph1.c does) changes no covariance but keeps S2/S0 - mean^2 accurate.
    centred = x - x.mean(axis=0)
    linear = centred @ coef
    weight = np.exp(linear - linear.mean())
    order = np.argsort(time, kind="stable")
    sorted_time, sorted_x, sorted_weight = time[order], centred[order], weight[order]
    products = sorted_x[:, :, None] * sorted_x[:, None, :]

    def from_the_end(values: np.ndarray) -> np.ndarray:
        return np.cumsum(values[::-1], axis=0)[::-1]

    death_times, counts = np.unique(time[event], return_counts=True)
    first_at_risk = np.searchsorted(sorted_time, death_times, side="left")
    risk_s0 = from_the_end(sorted_weight)[first_at_risk]
    risk_s1 = from_the_end(sorted_weight[:, None] * sorted_x)[first_at_risk]
    risk_s2 = from_the_end(sorted_weight[:, None, None] * products)[first_at_risk]

    is_death = event[order]
    death_x, death_weight = sorted_x[is_death], sorted_weight[is_death]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    dead_s0 = np.add.reduceat(death_weight, starts)
    dead_s1 = np.add.reduceat(death_weight[:, None] * death_x, starts)
    dead_s2 = np.add.reduceat(death_weight[:, None, None] * products[is_death], starts)

    # One row per death: its time's index and Efron's share l/d of the tied deaths.
    group = np.repeat(np.arange(len(death_times)), counts)
    fraction = (np.arange(len(group)) - starts[group]) / counts[group]
    if ties == "breslow":
        fraction = np.zeros_like(fraction)
    s0 = risk_s0[group] - fraction * dead_s0[group]
    mean = (risk_s1[group] - fraction[:, None] * dead_s1[group]) / s0[:, None]
    second = (risk_s2[group] - fraction[:, None, None] * dead_s2[group]) / s0[:, None, None]
    covariance = second - mean[:, :, None] * mean[:, None, :]

    death_g = g[order][is_death]  # equal within a time, so pairing rows with deaths is free
    score = death_g @ (death_x - mean)
    beta_block = covariance.sum(axis=0)
    cross_block = np.einsum("r,rij->ij", death_g, covariance)
    time_block = np.einsum("r,rij->ij", death_g**2, covariance)
    information = np.block([[beta_block, cross_block], [cross_block.T, time_block]])
    return score, information


def _reciprocal_condition(matrix: np.ndarray) -> float:
    """1-norm reciprocal condition number (what R's ``solve`` checks); 0 if singular."""
    try:
        inverse = np.linalg.inv(matrix)
    except np.linalg.LinAlgError:
        return 0.0
    norms = np.linalg.norm(matrix, 1) * np.linalg.norm(inverse, 1)
    return float(1.0 / norms) if np.isfinite(norms) and norms > 0 else 0.0


def cox_zph(
    x: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    coef: np.ndarray,
    *,
    ties: Ties = "efron",
    transform: TimeTransform = "km",
) -> ZphResult:
    """R's ``cox.zph(fit, transform, terms = TRUE, global = TRUE)`` for a fitted Cox model.

    Parameters
    ----------
    x : np.ndarray
        n x p design, one numeric column per term (a 1-D array is one column), the rows
        the model was fitted on.
    time : np.ndarray
        Follow-up times (n).
    event : np.ndarray
        1/True for a death (n).
    coef : np.ndarray
        The fitted coefficients (p): the test is a score test at this beta, so it must
        be the maximum of the same partial likelihood (``ties``) for R's values.
    ties : {"efron", "breslow"}
        How the fit handled tied deaths; the information is weighted the same way.
    transform : {"km", "identity", "rank", "log"}
        g(t); "km" (R's default) is 1 - the left-continuous Kaplan-Meier curve.

    Returns
    -------
    ZphResult
        Per-term chi-square (1 df each) and the global chi-square (p df), or None values
        with a status saying why the test is undefined (never NaN, never an exception).

    Raises
    ------
    ValueError
        For an unknown ``ties`` or ``transform``, or arrays whose lengths do not agree
        (programming errors, not data problems).
    """
    if ties not in TIES or transform not in TIME_TRANSFORMS:
        raise ValueError(f"ties must be one of {TIES}, transform one of {TIME_TRANSFORMS}")
    x = np.asarray(x, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    time = np.asarray(time, dtype=float)
    event_values = np.asarray(event, dtype=float)
    coef = np.atleast_1d(np.asarray(coef, dtype=float))
    n, p = x.shape
    if time.shape != (n,) or event_values.shape != (n,) or coef.shape != (p,):
        raise ValueError(f"need time and event of length {n} and coef of length {p}")

    def refused(status: ZphStatus) -> ZphResult:
        terms = tuple(ZphTest(None, 1, None) for _ in range(p))
        return ZphResult(terms, ZphTest(None, p, None), transform, ties, status)

    if not all(np.isfinite(values).all() for values in (x, time, event_values, coef)):
        return refused("non_finite_input")
    event = event_values != 0
    if not event.any():
        return refused("no_events")
    if np.unique(time[event]).size < 2:
        return refused("deaths_at_one_time")
    if (np.ptp(x, axis=0) == 0).any():
        return refused("constant_column")
    g = transformed_times(time, event, transform)
    if not np.isfinite(g).all():
        return refused("log_of_nonpositive_time")
    with np.errstate(over="ignore", invalid="ignore"):
        score, information = _score_and_information(x, time, event, coef, g - g[event].mean(), ties)
    if not (np.isfinite(score).all() and np.isfinite(information).all()):
        return refused("non_finite_input")
    # Eigenvalues of a principal block interlace the whole's: if the full symmetric
    # information is well conditioned, so is every per-term block.
    if _reciprocal_condition(information) < SINGULAR_RCOND:
        return refused("singular_information")
    padded = np.concatenate((np.zeros(p), score))

    def test(rows: list[int]) -> ZphTest:
        chisq = float(padded[rows] @ np.linalg.solve(information[np.ix_(rows, rows)], padded[rows]))
        df = len(rows) - p
        return ZphTest(chisq, df, chi2_sf(chisq, df))

    beta_rows = list(range(p))
    terms = tuple(test([*beta_rows, p + column]) for column in range(p))
    global_test = test(list(range(2 * p)))
    return ZphResult(terms, global_test, transform, ties, "ok")
