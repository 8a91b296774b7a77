"""Log-rank tests: k-group Mantel-Haenszel test (R ``survdiff``, rho = 0) and trend test.

Both are computed from the same per-event-time tables, vectorised over event times:
at each distinct event time t with n at risk and d events, group g contributes observed
d_g and expected n_g d / n, and the hypergeometric covariance
``V_gh = d (n - d) / (n - 1) * (n_g / n) (delta_gh - n_h / n)`` (0 when n = 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.distributions import chi2_sf
from analysis.vocabulary import Status

#: Relative tolerance for the rank and the generalised inverse of the k-group covariance.
PINV_RCOND = 1e-10
#: A trend-test variance at or below this carries no information ("no_events").
ZERO_VARIANCE = 1e-12
#: A group's expected events count as zero at or below this (relative to the events):
#: R ``survdiff`` counts only groups with E > 0 in its degrees of freedom.
EXPECTED_TOLERANCE = 1e-9


@dataclass(frozen=True)
class TestResult:
    """A chi-square test result.

    ``status`` is ``"ok"``, ``"single_group"`` (fewer than two non-empty groups) or
    ``"no_events"`` (no events, or no information: zero variance); statistic and p-value
    are then None.
    """

    __test__ = False  # not a pytest class

    statistic: float | None
    df: int | None
    p_value: float | None
    status: Status
    observed: tuple[float, ...] = ()
    expected: tuple[float, ...] = ()


def logrank_tables(
    time: np.ndarray, event: np.ndarray, group_codes: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed, expected and hypergeometric covariance matrix summed over event times.

    Parameters
    ----------
    time, event : np.ndarray
        Follow-up times and 0/1 event indicators.
    group_codes : np.ndarray of int
        Group index 0..n_groups-1 per patient.

    Returns
    -------
    observed, expected : np.ndarray, shape (n_groups,)
    covariance : np.ndarray, shape (n_groups, n_groups)
    """
    times = np.asarray(time, dtype=float)
    events = np.asarray(event, dtype=float)
    codes = np.asarray(group_codes, dtype=np.int64)
    event_times = np.unique(times[events > 0])
    if event_times.size == 0:
        zeros = np.zeros(n_groups)
        return zeros, zeros.copy(), np.zeros((n_groups, n_groups))
    # at_risk[t, g] = number in group g with time >= t; deaths[t, g] = events at t.
    at_risk = np.empty((event_times.size, n_groups))
    deaths = np.zeros((event_times.size, n_groups))
    for g in range(n_groups):
        group_times = np.sort(times[codes == g])
        at_risk[:, g] = group_times.size - np.searchsorted(group_times, event_times, side="left")
        died = (codes == g) & (events > 0)
        positions = np.searchsorted(event_times, times[died])
        deaths[:, g] = np.bincount(positions, minlength=event_times.size)
    n = at_risk.sum(axis=1)
    d = deaths.sum(axis=1)
    share = at_risk / n[:, None]
    expected = (share * d[:, None]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    covariance = np.einsum("t,tg->g", factor, share) * np.eye(n_groups) - np.einsum(
        "t,tg,th->gh", factor, share, share
    )
    return deaths.sum(axis=0), expected, covariance


def _codes(groups: np.ndarray) -> tuple[np.ndarray, list[object]]:
    levels = list(dict.fromkeys(np.asarray(groups, dtype=object).tolist()))
    lookup = {level: index for index, level in enumerate(levels)}
    return np.array([lookup[g] for g in np.asarray(groups, dtype=object)], dtype=np.int64), levels


def logrank_test(time: np.ndarray, event: np.ndarray, groups: np.ndarray) -> TestResult:
    """k-group log-rank test (Mantel-Haenszel, hypergeometric variance; R ``survdiff``).

    The statistic is ``(O - E)' V^- (O - E)`` over the groups present, with V^- a
    generalised inverse; df = (number of groups with expected events > 0) - 1, as R's
    ``survdiff`` counts them (so a group censored before the first event adds no degree
    of freedom). Invariant to the labels' order.

    Parameters
    ----------
    time, event : np.ndarray
    groups : np.ndarray
        Any hashable labels; each distinct label is a group.

    Returns
    -------
    TestResult
        ``observed``/``expected`` follow the order of first appearance of the labels.
    """
    codes, levels = _codes(groups)
    if len(levels) < 2:
        return TestResult(None, None, None, "single_group")
    observed, expected, covariance = logrank_tables(time, event, codes, len(levels))
    if observed.sum() == 0:
        return TestResult(None, None, None, "no_events", tuple(observed), tuple(expected))
    difference = observed - expected
    rank = int(np.linalg.matrix_rank(covariance, tol=PINV_RCOND * max(1.0, covariance.max())))
    if rank == 0:
        return TestResult(None, None, None, "no_events", tuple(observed), tuple(expected))
    statistic = float(difference @ np.linalg.pinv(covariance, rcond=PINV_RCOND) @ difference)
    # R survdiff: df = number of groups with expected events > 0, minus 1. A group whose
    # patients were all censored before the first event contributes nothing to the test.
    df = int(np.sum(expected > EXPECTED_TOLERANCE * max(1.0, observed.sum()))) - 1
    if df < 1:
        return TestResult(None, None, None, "no_events", tuple(observed), tuple(expected))
    return TestResult(
        statistic, df, chi2_sf(float(statistic), int(df)), "ok", tuple(observed), tuple(expected)
    )


def logrank_trend_test(time: np.ndarray, event: np.ndarray, scores: np.ndarray) -> TestResult:
    """Log-rank test for trend across ordered groups (1 df).

    ``U = sum_g w_g (O_g - E_g)``, ``Var(U) = w' V w`` with V the hypergeometric
    covariance of the k-group test, statistic ``U^2 / Var(U)`` ~ chi-square(1). Each
    distinct score is one group and is its own weight (Collett, *Modelling Survival
    Data in Medical Research*, section 2.6; Peto et al. 1977).

    Parameters
    ----------
    time, event : np.ndarray
    scores : np.ndarray of float
        The group score per patient (e.g. 1..4 for Q1..Q4).
    """
    score_values = np.asarray(scores, dtype=float)
    codes, levels = _codes(score_values)
    if len(levels) < 2:
        return TestResult(None, None, None, "single_group")
    observed, expected, covariance = logrank_tables(time, event, codes, len(levels))
    if observed.sum() == 0:
        return TestResult(None, None, None, "no_events", tuple(observed), tuple(expected))
    weights = np.asarray(levels, dtype=float)
    u = float(weights @ (observed - expected))
    variance = float(weights @ covariance @ weights)
    if variance <= ZERO_VARIANCE:
        return TestResult(None, None, None, "no_events", tuple(observed), tuple(expected))
    statistic = u * u / variance
    return TestResult(
        statistic, 1, chi2_sf(float(statistic), 1), "ok", tuple(observed), tuple(expected)
    )
