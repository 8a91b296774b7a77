"""Log-rank and trend tests against lifelines and against a plain loop."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from analysis.logrank import logrank_test, logrank_trend_test


def _random_cohort(seed: int, n: int = 120, k: int = 3):
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, k, size=n)
    time = np.round(rng.exponential(100 * (1 + groups / 2)), 0)  # rounding makes ties
    event = (rng.random(n) < 0.7).astype(int)
    return time, event, groups


@pytest.mark.parametrize("seed", range(5))
def test_k_group_matches_lifelines(seed: int) -> None:
    from lifelines.statistics import multivariate_logrank_test

    time, event, groups = _random_cohort(seed)
    ours = logrank_test(time, event, groups)
    theirs = multivariate_logrank_test(time, groups, event)
    assert ours.statistic == pytest.approx(theirs.test_statistic, rel=1e-10)
    assert ours.p_value == pytest.approx(theirs.p_value, rel=1e-10)
    assert ours.df == 2


def test_two_group_matches_lifelines() -> None:
    from lifelines.statistics import logrank_test as lifelines_logrank

    time, event, groups = _random_cohort(7, k=2)
    ours = logrank_test(time, event, groups)
    a, b = groups == 0, groups == 1
    theirs = lifelines_logrank(time[a], time[b], event[a], event[b])
    assert ours.statistic == pytest.approx(theirs.test_statistic, rel=1e-10)


def _trend_by_loop(time, event, scores) -> float:
    """Straightforward reference: loop over event times, build O - E and V by hand."""
    levels = sorted(set(scores))
    u, var = 0.0, 0.0
    for t in sorted(set(time[event == 1])):
        at_risk = np.array([np.sum((time >= t) & (scores == s)) for s in levels], dtype=float)
        died = np.array([np.sum((time == t) & (event == 1) & (scores == s)) for s in levels])
        n, d = at_risk.sum(), died.sum()
        w = np.array(levels, dtype=float)
        u += float(w @ (died - d * at_risk / n))
        if n > 1:
            p = at_risk / n
            cov = d * (n - d) / (n - 1) * (np.diag(p) - np.outer(p, p))
            var += float(w @ cov @ w)
    return u * u / var


@pytest.mark.parametrize("seed", range(3))
def test_trend_matches_loop(seed: int) -> None:
    time, event, groups = _random_cohort(seed, k=4)
    scores = groups + 1.0
    ours = logrank_trend_test(time, event, scores)
    expected = _trend_by_loop(time, event, scores)
    assert ours.statistic == pytest.approx(expected, rel=1e-10)
    assert ours.p_value == pytest.approx(chi2.sf(expected, 1), rel=1e-10)
    assert ours.df == 1


def test_trend_with_two_groups_equals_logrank() -> None:
    time, event, groups = _random_cohort(11, k=2)
    trend = logrank_trend_test(time, event, groups + 1.0)
    plain = logrank_test(time, event, groups)
    assert trend.statistic == pytest.approx(plain.statistic, rel=1e-10)


def test_statuses() -> None:
    time = np.array([1.0, 2.0, 3.0, 4.0])
    assert logrank_test(time, np.array([1, 1, 0, 1]), np.zeros(4)).status == "single_group"
    result = logrank_test(time, np.zeros(4), np.array([0, 0, 1, 1]))
    assert (result.status, result.statistic, result.p_value) == ("no_events", None, None)
    trend = logrank_trend_test(time, np.zeros(4), np.array([1.0, 1, 2, 2]))
    assert trend.status == "no_events"


def _censored_early_group() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """16 patients, 4 per quartile of ``values = 1..16``; Q4's patients are censored
    before the first event, so they are never at risk at an event time (E = 0)."""
    time = np.array([5, 8, 12, 20, 6, 9, 15, 22, 7, 11, 18, 25, 2, 3, 1, 4], dtype=float)
    event = np.array([1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0])
    values = np.arange(1.0, 17.0)
    return time, event, values


def test_df_counts_only_groups_with_expected_events_as_r_survdiff() -> None:
    """R: ``df = sum(E > 0) - 1`` (print.survdiff). The statistic is that of the three
    groups at risk; df 2, not 3, and the p-value follows."""
    from analysis.groups import assign_groups

    time, event, values = _censored_early_group()
    groups = assign_groups(values, "quartiles").labels
    assert list(groups[12:]) == ["Q4"] * 4
    ours = logrank_test(time, event, groups)
    assert ours.expected[3] == 0.0
    assert ours.df == 2
    at_risk = groups != "Q4"
    three = logrank_test(time[at_risk], event[at_risk], groups[at_risk])
    assert ours.statistic == pytest.approx(three.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(chi2.sf(ours.statistic, 2), rel=1e-12)


def test_scan_counts_the_same_degrees_of_freedom() -> None:
    """The scan's 4-quartile test follows the same rule as the single-biomarker path."""
    from analysis.groups import assign_groups
    from analysis.scan import quartile_scan

    time, event, values = _censored_early_group()
    result = quartile_scan(values[:, None], time, event, min_patients=4)
    single = logrank_test(time, event, assign_groups(values, "quartiles").labels)
    assert result.quartiles_df[0] == single.df == 2
    assert result.quartiles_statistic[0] == pytest.approx(single.statistic, rel=1e-9)
    assert result.quartiles_p[0] == pytest.approx(single.p_value, rel=1e-9)
