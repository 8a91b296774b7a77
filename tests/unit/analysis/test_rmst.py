"""Restricted mean survival time by hand: area, variance, contrasts, horizon rules, statuses.

R's own numbers are in tests/reference/test_r_rmst.py; here the identities any RMST must
satisfy, survRM2's four horizon cases, and the statuses of degenerate data.
"""

from __future__ import annotations

import math
from fractions import Fraction
from statistics import NormalDist

import numpy as np
import polars as pl
import pytest

from analysis.rmst import (
    RMST_SCHEMA,
    compare_rmst,
    default_horizon,
    followup_limit,
    restricted_mean,
    rmst2_max_tau,
)
from analysis.vocabulary import WALD_Z

# Six patients: events at 1, 3, 3 and 6; censored at 2 and 5 (test_analysis_survival's set).
TIME = np.array([1.0, 2.0, 3.0, 3.0, 5.0, 6.0])
EVENT = np.array([1, 0, 1, 1, 0, 1])
RNG = np.random.default_rng(20_240_514)


def _two_groups(
    time_a: list[float], event_a: list[int], time_b: list[float], event_b: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group "A" (the reference) and group "B" as the arrays compare_rmst takes."""
    time = np.array([*time_a, *time_b], dtype=float)
    event = np.array([*event_a, *event_b], dtype=float)
    labels = np.array(["A"] * len(time_a) + ["B"] * len(time_b), dtype=object)
    return time, event, labels


# -- the estimate --------------------------------------------------------------------------


@pytest.mark.parametrize("tau", [0.5, 3.0, 7.5, 12.0, 40.0, 1_000.0])
def test_uncensored_rmst_is_the_mean_of_min_t_tau(tau: float) -> None:
    """Without censoring the Kaplan-Meier curve is the empirical survival function, so
    its area to tau is mean(min(T, tau)), and R's variance is the plug-in variance of
    min(T, tau) over n (divisor n, not n - 1). Ties and a death at 0 included."""
    time = np.concatenate([np.round(RNG.exponential(10.0, size=40)), [0.0, 3.0, 3.0]])
    truncated = np.minimum(time, tau)
    result = restricted_mean(time, np.ones_like(time), tau)
    assert result.rmst_days == pytest.approx(truncated.mean(), rel=1e-12)
    assert result.variance == pytest.approx(truncated.var() / time.size, rel=1e-12)


def test_area_and_variance_by_hand_with_censoring() -> None:
    # S = 1 on [0, 1), 5/6 on [1, 3), 5/12 on [3, 4]; censoring at 2 moves nothing.
    result = restricted_mean(TIME, EVENT, 4.0)
    assert result.rmst_days == pytest.approx(float(Fraction(37, 12)), rel=1e-15)
    # d / (n (n - d)) * (area from t to tau)^2 at t = 1 (n 6, d 1) and t = 3 (n 4, d 2).
    variance = Fraction(1, 30) * Fraction(25, 12) ** 2 + Fraction(1, 4) * Fraction(5, 12) ** 2
    assert result.variance == pytest.approx(float(variance), rel=1e-15)


def test_rmst_is_continuous_in_tau_and_events_at_tau_add_no_area() -> None:
    at_event = restricted_mean(TIME, EVENT, 3.0)
    just_before = restricted_mean(TIME, EVENT, 3.0 - 1e-9)
    assert at_event.rmst_days == pytest.approx(just_before.rmst_days, abs=1e-8)
    assert at_event.rmst_days == pytest.approx(1 + 2 * 5 / 6)
    taus = np.linspace(0.1, 8.0, 60)
    areas = [restricted_mean(TIME, EVENT, tau).rmst_days for tau in taus]
    assert np.all(np.diff(areas) >= 0)
    # Past the last time (an event: S = 0) the area stops growing.
    assert restricted_mean(TIME, EVENT, 8.0).rmst_days == restricted_mean(TIME, EVENT, 6.0)[0]


# -- contrasts -----------------------------------------------------------------------------


def test_difference_and_ratio_follow_survrm2_formulas() -> None:
    time, event, labels = _two_groups(
        [2, 4, 4, 7, 9, 12, 15],
        [1, 1, 0, 1, 1, 0, 0],
        [1, 3, 3, 5, 6, 8, 10],
        [1, 1, 1, 0, 1, 1, 0],
    )
    result = compare_rmst(time, event, labels, ["A", "B"], horizon_days=9.0)
    reference, group = result.groups
    difference, ratio = result.contrasts
    assert (difference.contrast, difference.measure, ratio.measure) == (
        "B vs A",
        "difference",
        "ratio",
    )
    assert difference.estimate == pytest.approx(group.rmst_days - reference.rmst_days)
    assert difference.se == pytest.approx(math.sqrt(group.se**2 + reference.se**2))
    z = difference.estimate / difference.se
    assert difference.p_value == pytest.approx(2 * NormalDist().cdf(-abs(z)), rel=1e-12)
    assert difference.ci_lower == pytest.approx(difference.estimate - WALD_Z * difference.se)
    log_ratio = math.log(group.rmst_days / reference.rmst_days)
    log_se = math.sqrt(
        (group.se / group.rmst_days) ** 2 + (reference.se / reference.rmst_days) ** 2
    )
    assert ratio.estimate == pytest.approx(math.exp(log_ratio))
    assert ratio.se == pytest.approx(log_se)
    assert ratio.ci_upper == pytest.approx(math.exp(log_ratio + WALD_Z * log_se))
    assert ratio.p_value == pytest.approx(2 * NormalDist().cdf(-abs(log_ratio) / log_se))
    assert reference.ci_lower == pytest.approx(reference.rmst_days - WALD_Z * reference.se)


def test_every_non_reference_group_is_compared_with_the_first() -> None:
    time = np.tile([2.0, 4.0, 6.0, 8.0, 10.0], 3)
    event = np.tile([1, 0, 1, 1, 0], 3)
    labels = np.repeat(["Q1", "Q2", "Q3"], 5).astype(object)
    result = compare_rmst(time, event, labels, ["Q1", "Q2", "Q3"], horizon_days=9.0)
    assert [c.contrast for c in result.contrasts] == ["Q2 vs Q1"] * 2 + ["Q3 vs Q1"] * 2
    # Identical groups: difference 0, ratio 1, p 1.
    assert {c.estimate for c in result.contrasts} == {0.0, 1.0}
    assert {c.p_value for c in result.contrasts} == {1.0}


# -- horizon -------------------------------------------------------------------------------


def test_default_horizon_is_the_largest_landmark_every_group_reaches() -> None:
    time, event, labels = _two_groups([5, 10, 30], [1, 0, 0], [5, 20, 25], [1, 1, 0])
    landmarks = [10.0, 25.0, 30.0]
    # B's last patient (25) is still at risk at 25 (R's n.risk counts time >= t); 30 is not.
    assert default_horizon(time, labels, ["A", "B"], landmarks) == 25.0
    result = compare_rmst(time, event, labels, ["A", "B"], landmarks_days=landmarks)
    assert (result.tau_days, result.horizon_source) == (25.0, "landmark")
    assert {row.status for row in (*result.groups, *result.contrasts)} == {"ok"}


def test_no_landmark_reached_refuses_every_row() -> None:
    time, event, labels = _two_groups([5, 10, 30], [1, 0, 0], [2, 4], [1, 0])
    result = compare_rmst(time, event, labels, ["A", "B"], landmarks_days=[10.0, 20.0])
    assert (result.tau_days, result.horizon_source) == (None, "none")
    frame = result.to_frame()
    assert frame["status"].unique().to_list() == ["beyond_followup"]
    assert frame["tau_days"].null_count() == frame.height


def test_empty_groups_do_not_block_the_default_horizon() -> None:
    time, event, labels = _two_groups([5, 10, 30], [1, 0, 0], [5, 20, 25], [1, 1, 0])
    order = ["A", "B", "C"]
    result = compare_rmst(time, event, labels, order, landmarks_days=[10.0, 25.0])
    assert result.tau_days == 25.0
    assert [g.status for g in result.groups] == ["ok", "ok", "empty_group"]


@pytest.mark.parametrize(
    ("time_b", "event_b", "time_a", "event_a", "bound"),
    [
        # case 1: both end in an event -> the larger last time
        ([3, 8], [1, 1], [2, 12], [0, 1], 12.0),
        # case 2: the shorter ends in an event, the longer is censored -> the longer
        ([3, 8], [1, 1], [2, 12], [1, 0], 12.0),
        ([3, 12], [0, 0], [2, 8], [0, 1], 12.0),
        # case 3: the shorter is censored, the longer ends in an event -> the shorter
        ([3, 8], [1, 0], [2, 12], [0, 1], 8.0),
        ([3, 12], [1, 1], [2, 8], [0, 0], 8.0),
        # case 4: both censored -> the shorter
        ([3, 8], [1, 0], [2, 12], [1, 0], 8.0),
        # equal last times: an event and a censoring there -> that time
        ([3, 8], [1, 1], [2, 8], [1, 0], 8.0),
    ],
)
def test_rmst2_max_tau_follows_survrm2s_four_cases(
    time_b: list[float], event_b: list[int], time_a: list[float], event_a: list[int], bound: float
) -> None:
    arrays = [np.asarray(x, dtype=float) for x in (time_b, event_b, time_a, event_a)]
    assert rmst2_max_tau(*arrays) == bound


def test_last_time_with_an_event_and_a_censoring_is_not_an_event_ending() -> None:
    """survRM2 takes min(status) over the observations at the last time."""
    assert followup_limit(np.array([1.0, 5.0, 5.0]), np.array([1, 1, 0])) == 5.0
    assert followup_limit(np.array([1.0, 5.0, 5.0]), np.array([1, 1, 1])) == math.inf


def test_tau_past_a_censored_groups_follow_up_is_refused_for_it_and_its_contrasts() -> None:
    time, event, labels = _two_groups([5, 10, 30], [1, 0, 0], [5, 20, 25], [1, 1, 0])
    result = compare_rmst(time, event, labels, ["A", "B"], horizon_days=28.0)
    assert [g.status for g in result.groups] == ["ok", "beyond_followup"]
    assert result.groups[1].rmst_days is None
    assert {c.status for c in result.contrasts} == {"beyond_followup"}
    assert {c.estimate for c in result.contrasts} == {None}


def test_tau_past_a_group_that_ended_in_an_event_is_allowed() -> None:
    """survRM2 case 2: B's curve reached 0 at 20, A is followed to 30."""
    time, event, labels = _two_groups([5, 10, 30], [1, 0, 0], [5, 20], [1, 1])
    result = compare_rmst(time, event, labels, ["A", "B"], horizon_days=28.0)
    assert [g.status for g in result.groups] == ["ok", "ok"]
    assert result.groups[1].rmst_days == pytest.approx(5 + 15 * 0.5)
    assert {c.status for c in result.contrasts} == {"ok"}


def test_tau_past_everyones_follow_up_is_refused_even_when_all_curves_reached_zero() -> None:
    """survRM2 case 1: both end in an event; tau up to the larger last time only."""
    time, event, labels = _two_groups([5, 30], [1, 1], [5, 20], [1, 1])
    allowed = compare_rmst(time, event, labels, ["A", "B"], horizon_days=30.0)
    assert {row.status for row in (*allowed.groups, *allowed.contrasts)} == {"ok"}
    refused = compare_rmst(time, event, labels, ["A", "B"], horizon_days=31.0)
    assert {row.status for row in (*refused.groups, *refused.contrasts)} == {"beyond_followup"}


def test_each_contrast_has_survrm2s_bound_for_its_own_pair() -> None:
    """A and B end in events (10, 12), C is censored at 20: at tau 15 every group's curve
    is known, but rmst2(B vs A) stops (15 > 12) while rmst2(C vs A) runs."""
    time = np.array([4.0, 10.0, 6.0, 12.0, 3.0, 20.0])
    event = np.array([1, 1, 1, 1, 1, 0])
    labels = np.array(["A", "A", "B", "B", "C", "C"], dtype=object)
    result = compare_rmst(time, event, labels, ["A", "B", "C"], horizon_days=15.0)
    assert [g.status for g in result.groups] == ["ok", "ok", "ok"]
    assert [c.status for c in result.contrasts] == ["beyond_followup"] * 2 + ["ok"] * 2


@pytest.mark.parametrize("horizon", [0.0, -1.0, math.nan, math.inf])
def test_invalid_horizon_is_an_error(horizon: float) -> None:
    with pytest.raises(ValueError, match="horizon_days"):
        compare_rmst(TIME, EVENT, np.array(["A"] * 6, dtype=object), ["A"], horizon_days=horizon)


def test_no_horizon_and_no_landmarks_is_an_error() -> None:
    with pytest.raises(ValueError, match="landmark"):
        compare_rmst(TIME, EVENT, np.array(["A"] * 6, dtype=object), ["A"])


# -- statuses ------------------------------------------------------------------------------


def test_no_events_before_tau() -> None:
    """S = 1 on [0, tau): RMST = tau with SE 0 (as R); no interval, status no_events. An
    event exactly at tau adds no area and changes nothing."""
    time, event, labels = _two_groups([4, 6, 9], [1, 1, 0], [8, 9, 12], [1, 0, 0])
    result = compare_rmst(time, event, labels, ["A", "B"], horizon_days=8.0)
    group = result.groups[1]
    assert (group.rmst_days, group.se, group.status) == (8.0, 0.0, "no_events")
    assert (group.ci_lower, group.ci_upper) == (None, None)
    # The contrasts keep their estimates; no CI or p, since B's variance of 0 would make
    # them rest on A's alone (survRM2 reports them; we say why we do not).
    assert {c.status for c in result.contrasts} == {"no_events"}
    assert all(c.estimate is not None and c.p_value is None for c in result.contrasts)


def test_no_events_in_either_group_gives_estimates_without_intervals() -> None:
    time, event, labels = _two_groups([4, 6, 9], [0, 0, 0], [8, 9, 12], [0, 0, 0])
    result = compare_rmst(time, event, labels, ["A", "B"], horizon_days=4.0)
    difference, ratio = result.contrasts
    assert (difference.estimate, difference.se, difference.p_value) == (0.0, 0.0, None)
    assert (ratio.estimate, ratio.ci_lower, ratio.status) == (1.0, None, "no_events")


def test_survival_zero_before_tau() -> None:
    """One patient who died at 3: RMST 3, SE 0 (R sets d / (n (n - d)) to 0 at n = d)."""
    time, event, labels = _two_groups([2, 5, 9], [1, 1, 0], [3], [1])
    result = compare_rmst(time, event, labels, ["A", "B"], horizon_days=8.0)
    group = result.groups[1]
    assert (group.rmst_days, group.se, group.status, group.ci_lower) == (
        3.0,
        0.0,
        "survival_zero",
        None,
    )


def test_everyone_dead_at_time_zero_has_no_ratio() -> None:
    time, event, labels = _two_groups([2, 5, 9], [1, 1, 0], [0, 0], [1, 1])
    result = compare_rmst(time, event, labels, ["A", "B"], horizon_days=8.0)
    assert result.groups[1].rmst_days == 0.0
    difference, ratio = result.contrasts
    assert (difference.status, difference.p_value) == ("survival_zero", None)
    assert (ratio.estimate, ratio.status) == (None, "survival_zero")


def test_empty_group_and_no_data() -> None:
    time, event, labels = _two_groups([2, 5, 9], [1, 1, 0], [], [])
    result = compare_rmst(time, event, labels, ["A", "B"], horizon_days=8.0)
    assert [g.status for g in result.groups] == ["ok", "empty_group"]
    assert {c.status for c in result.contrasts} == {"empty_group"}
    empty = compare_rmst(np.array([]), np.array([]), np.array([]), ["A", "B"], landmarks_days=[5])
    assert (empty.tau_days, empty.n_used) == (None, 0)
    assert {g.status for g in empty.groups} == {"empty_group"}
    assert empty.to_frame().height == 4


def test_unusable_rows_are_dropped_and_counted() -> None:
    time = np.array([2.0, 5.0, 9.0, math.nan, -1.0, 4.0, 3.0, 6.0])
    event = np.array([1, 1, 0, 1, 1, 2, 1, 0])
    labels = np.array(["A", "A", "A", "A", "A", "A", None, "Z"], dtype=object)
    result = compare_rmst(time, event, labels, ["A"], horizon_days=8.0)
    assert (result.n_used, result.n_dropped) == (3, 5)
    assert result.groups[0].n == 3


# -- the result table ----------------------------------------------------------------------


def test_frame_rows_for_results_rmst() -> None:
    time, event, labels = _two_groups([2, 5, 5, 9, 12], [1, 1, 0, 1, 0], [1, 4, 6], [1, 1, 0])
    frame = compare_rmst(time, event, labels, ["A", "B"], horizon_days=6.0).to_frame()
    assert frame.schema == pl.Schema(RMST_SCHEMA)
    assert frame["measure"].to_list() == ["rmst", "rmst", "difference", "ratio"]
    assert frame["group_label"].to_list() == ["A", "B", "B", "B"]
    assert frame["contrast"].to_list() == [None, None, "B vs A", "B vs A"]
    assert frame["tau_days"].to_list() == [6.0] * 4
    assert frame["rmst_days"].null_count() == 2
    assert frame["difference_days"].drop_nulls().len() == 1
    assert frame["ratio"].drop_nulls().len() == 1
    assert frame["p_value"].to_list()[:2] == [None, None]
    floats = frame.select(pl.col(pl.Float64))
    assert not any(floats[column].is_nan().any() for column in floats.columns)
