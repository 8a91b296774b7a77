"""Kaplan-Meier by hand: product limit, Greenwood, intervals, landmarks, medians."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from analysis.survival import km_at, km_curve, median_survival

# Six patients: events at 1, 3, 3 and 6; censored at 2 and 5.
TIME = np.array([1.0, 2.0, 3.0, 3.0, 5.0, 6.0])
EVENT = np.array([1, 0, 1, 1, 0, 1])


def test_product_limit_and_greenwood_by_hand() -> None:
    curve = km_curve(TIME, EVENT)
    assert curve["time_days"].to_list() == [0.0, 1.0, 2.0, 3.0, 5.0, 6.0]
    assert curve["n_at_risk"].to_list() == [6, 6, 5, 4, 2, 1]
    assert curve["events"].to_list() == [0, 1, 0, 2, 0, 1]
    assert curve["censored"].to_list() == [0, 0, 1, 0, 1, 0]
    s1 = 5 / 6
    s3 = s1 * (1 - 2 / 4)
    assert curve["survival"].to_list() == pytest.approx([1, s1, s1, s3, s3, 0.0])
    # Greenwood: var(log S) = sum d / (n (n - d)); std_err is that of S.
    greenwood_3 = 1 / (6 * 5) + 2 / (4 * 2)
    assert curve["std_err"][3] == pytest.approx(s3 * math.sqrt(greenwood_3))
    # Everybody left has died at 6: S = 0, standard error and log intervals undefined.
    assert curve["std_err"][5] is None
    assert curve["ci_lower"][5] is None


def test_log_log_interval_by_hand() -> None:
    curve = km_curve(TIME, EVENT)
    s = 5 / 6
    se = math.sqrt(1 / 30)
    z = 1.959963984540054
    lower = math.exp(-math.exp(math.log(-math.log(s)) - z * se / math.log(s)))
    upper = math.exp(-math.exp(math.log(-math.log(s)) + z * se / math.log(s)))
    assert curve["ci_lower"][1] == pytest.approx(lower)
    assert curve["ci_upper"][1] == pytest.approx(upper)


def test_log_and_plain_intervals() -> None:
    s, se, z = 5 / 6, math.sqrt(1 / 30), 1.959963984540054
    log = km_curve(TIME, EVENT, ci_method="log")
    assert log["ci_lower"][1] == pytest.approx(s * math.exp(-z * se))
    assert log["ci_upper"][1] == 1.0  # capped
    plain = km_curve(TIME, EVENT, ci_method="plain")
    assert plain["ci_lower"][1] == pytest.approx(s - z * s * se)
    with pytest.raises(ValueError, match="ci_method"):
        km_curve(TIME, EVENT, ci_method="arcsin")


def test_landmark_is_right_continuous_and_n_at_risk_is_r_n_risk() -> None:
    curve = km_curve(TIME, EVENT)
    at_3 = km_at(curve, 3.0)
    assert at_3.survival == pytest.approx(5 / 6 * 0.5)  # events at exactly 3 included
    assert at_3.n_at_risk == 4  # time >= 3
    at_4 = km_at(curve, 4.0)
    assert at_4.survival == pytest.approx(5 / 12)
    assert at_4.n_at_risk == 2
    # S = 1 before the first event: no interval (it would be the point 1), and why.
    assert km_at(curve, 0.5) == (6, 1.0, None, None, "no_events")
    assert km_at(curve, 10.0).survival == 0.0  # the curve reached 0: stays 0


def test_landmark_beyond_follow_up_is_undefined() -> None:
    curve = km_curve(np.array([1.0, 2.0, 3.0]), np.array([1, 0, 0]))
    assert km_at(curve, 5.0) == (0, None, None, None, "beyond_followup")


def test_event_at_time_zero_is_kept() -> None:
    curve = km_curve(np.array([0.0, 1.0, 2.0]), np.array([1, 1, 0]))
    assert curve["time_days"][0] == 0.0
    assert curve["survival"][0] == pytest.approx(2 / 3)


def test_median_and_not_reached() -> None:
    assert median_survival(km_curve(TIME, EVENT))[0] == 3.0
    curve = km_curve(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1, 0, 0, 0]))
    # Median not reached, but the lower confidence curve crosses 0.5 at 1 (R prints the same).
    assert median_survival(curve) == (None, 1.0, None)


@pytest.mark.parametrize("method", ["log-log", "log", "plain"])
def test_no_interval_collapses_to_a_point(method: str) -> None:
    """Before the first event S = 1 and the Greenwood variance is 0: every method would
    give the point (1, 1) (R: NA for log-log, (1, 1) for log and plain). We give no
    interval and say why; where S = 0 there is none either."""
    curve = km_curve(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0, 0, 1, 1]), ci_method=method)
    at_start = curve.filter(pl.col("survival") == 1.0)
    assert at_start.height == 3 and at_start["ci_lower"].null_count() == 3
    assert at_start["ci_upper"].null_count() == 3
    assert km_at(curve, 2.5)[2:] == (None, None, "no_events")
    assert km_at(curve, 4.0)[1:] == (0.0, None, None, "survival_zero")
    between = km_at(curve, 3.5)
    assert between.ci_status == "ok" and between.ci_lower < between.survival < between.ci_upper
