"""Continuous biomarker models: statuses, knot placement, per-SD scaling, the curve.

R agreement is in ``tests/reference/test_r_continuous.py``; here are the properties that
hold by construction, on small seeded cohorts.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.continuous import (
    CURVE_POINTS,
    KNOT_PROBABILITIES,
    ContinuousResult,
    continuous_models,
    spline_basis,
    spline_knots,
)
from analysis.groups import quantile_type7
from analysis.vocabulary import CONTINUOUS_MODELS, STATUSES


def _cohort(
    seed: int = 0, n: int = 150, censoring: float = 0.3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A log2-like value (negative and positive) with a non-linear (U-shaped) effect."""
    rng = np.random.default_rng(seed)
    value = rng.normal(0.0, 1.5, n)
    hazard = np.exp(0.4 * value + 0.3 * value**2)
    time = np.ceil(rng.exponential(1000.0 / hazard))  # whole days: tied times
    event = (rng.random(n) > censoring).astype(float)
    return value, time, event


def _fit(value: np.ndarray, time: np.ndarray, event: np.ndarray, **options) -> ContinuousResult:
    return continuous_models(value, time, event, scale="log2", **options)


def test_rows_are_the_vocabulary_models_with_scale_and_counts() -> None:
    value, time, event = _cohort()
    result = _fit(value, time, event)
    assert tuple(row.model for row in result.rows) == CONTINUOUS_MODELS
    for row in result.rows:
        assert row.status == "ok"
        assert row.status in STATUSES
        assert row.scale == "log2"
        assert (row.n, row.events) == (len(value), int(event.sum()))
    assert result.rcs.coef is None and result.rcs.hazard_ratio is None  # effect = curve
    assert result.rcs.lr_df == 3 and result.rcs.nonlinearity_df == 2
    assert result.per_unit.nonlinearity_statistic is None and result.per_unit.knots == ()


def test_per_sd_is_per_unit_times_the_sample_sd() -> None:
    value, time, event = _cohort(seed=1)
    result = _fit(value, time, event)
    sd = np.std(value, ddof=1)
    unit, per_sd = result.per_unit, result.per_sd
    assert result.sd == pytest.approx(sd, rel=1e-15)
    assert (unit.increment, per_sd.increment) == (1.0, result.sd)
    assert per_sd.coef == pytest.approx(unit.coef * sd, rel=1e-12)
    assert per_sd.se == pytest.approx(unit.se * sd, rel=1e-12)
    assert per_sd.hazard_ratio == pytest.approx(unit.hazard_ratio**sd, rel=1e-12)
    assert per_sd.hr_ci_lower == pytest.approx(unit.hr_ci_lower**sd, rel=1e-12)
    assert per_sd.hr_ci_upper == pytest.approx(unit.hr_ci_upper**sd, rel=1e-12)
    for field in ("wald_p", "lr_statistic", "lr_df", "lr_p"):
        assert getattr(per_sd, field) == getattr(unit, field)


def test_likelihood_ratio_of_the_linear_model_is_near_the_wald_test() -> None:
    # Both test beta = 0 with df 1; in a large sample they agree to a few per cent.
    value, time, event = _cohort(seed=2, n=400)
    unit = _fit(value, time, event).per_unit
    wald_chisq = (unit.coef / unit.se) ** 2
    assert unit.lr_statistic == pytest.approx(wald_chisq, rel=0.1)


@pytest.mark.parametrize("knots", sorted(KNOT_PROBABILITIES))
def test_knots_are_type_7_quantiles_at_harrells_probabilities(knots: int) -> None:
    value, time, event = _cohort(seed=3, n=57)  # n - 1 not a multiple: interpolated
    expected = quantile_type7(value, KNOT_PROBABILITIES[knots])
    assert spline_knots(value, knots) == pytest.approx(expected, rel=0, abs=0)
    result = _fit(value, time, event, knots=knots)
    assert result.rcs.knots == tuple(expected)
    assert (result.rcs.lr_df, result.rcs.nonlinearity_df) == (knots - 1, knots - 2)


def test_knot_probabilities_are_harrells_defaults() -> None:
    assert KNOT_PROBABILITIES == {
        3: (0.10, 0.50, 0.90),
        4: (0.05, 0.35, 0.65, 0.95),
        5: (0.05, 0.275, 0.50, 0.725, 0.95),
    }


def test_knots_are_computed_over_the_analysed_patients_only() -> None:
    value, time, event = _cohort(seed=4)
    with_missing = np.append(value, [np.nan, 100.0])
    result = _fit(with_missing, np.append(time, [10.0, np.nan]), np.append(event, [1.0, 0.0]))
    assert result.rcs.knots == tuple(quantile_type7(value, KNOT_PROBABILITIES[4]))
    assert result.per_unit.n == len(value)


def test_basis_is_linear_beyond_the_outer_knots_and_normalised() -> None:
    knots = np.array([0.0, 1.0, 3.0, 6.0])
    x = np.array([-5.0, -1.0, 0.0, 6.0, 8.0, 10.0])
    basis = spline_basis(x, knots)
    assert basis[:, 0] == pytest.approx(x)
    assert basis[:3, 1:] == pytest.approx(0.0)  # zero up to the first knot
    slopes = np.diff(basis[3:, 1:], axis=0) / np.diff(x[3:])[:, None]
    assert slopes[0] == pytest.approx(slopes[1])  # linear after the last knot
    # Harrell's norm = 2: (x - t1)^3 / (t_k - t1)^2 between the first and second knot.
    assert spline_basis(np.array([0.5]), knots)[0, 1] == pytest.approx(0.5**3 / 36.0)


def test_curve_is_zero_at_the_median_with_a_degenerate_interval() -> None:
    value, time, event = _cohort(seed=5)
    result = _fit(value, time, event)
    curve, spline = result.curve, result.spline
    assert curve is not None and spline is not None
    assert curve.reference_value == result.median == np.median(value)
    at_median = np.flatnonzero(curve.value == result.median)
    assert at_median.size == 1
    assert curve.log_hr[at_median] == pytest.approx(0.0, abs=1e-14)
    assert curve.ci_lower[at_median] == pytest.approx(0.0, abs=1e-7)
    assert curve.ci_upper[at_median] == pytest.approx(0.0, abs=1e-7)
    estimate, se = spline.log_relative_hazard(np.array([result.median]))
    assert estimate[0] == pytest.approx(0.0, abs=1e-14) and se[0] == pytest.approx(0.0, abs=1e-7)
    assert np.all(curve.ci_lower <= curve.log_hr) and np.all(curve.log_hr <= curve.ci_upper)


def test_curve_spans_the_1st_to_99th_percentile() -> None:
    value, time, event = _cohort(seed=6)
    curve = _fit(value, time, event).curve
    assert curve is not None
    low, high = quantile_type7(value, [0.01, 0.99])
    assert (curve.value[0], curve.value[-1]) == (low, high)
    assert len(curve.value) in (CURVE_POINTS, CURVE_POINTS + 1)  # + the median
    assert np.all(np.diff(curve.value) > 0)


def test_u_shaped_effect_is_detected_as_non_linear() -> None:
    value, time, event = _cohort(seed=7, n=300)
    result = _fit(value, time, event)
    assert result.rcs.nonlinearity_p < 1e-3
    curve = result.curve
    assert curve is not None
    assert curve.log_hr[0] > 0 and curve.log_hr[-1] > 0  # both ends above the median


def test_likelihood_ratio_tests_do_not_change_when_values_are_shifted() -> None:
    value, time, event = _cohort(seed=8)
    base = _fit(value, time, event)
    shifted = _fit(value - 7.25, time, event)  # e.g. log2 ratios against another reference
    for ours, theirs in zip(base.rows, shifted.rows, strict=True):
        for field in ("lr_statistic", "lr_p", "nonlinearity_statistic", "nonlinearity_p"):
            if getattr(ours, field) is not None:
                assert getattr(theirs, field) == pytest.approx(getattr(ours, field), rel=1e-9)
    assert shifted.per_unit.coef == pytest.approx(base.per_unit.coef, rel=1e-9)
    assert shifted.rcs.knots == pytest.approx(np.array(base.rcs.knots) - 7.25, abs=1e-12)
    assert base.curve is not None and shifted.curve is not None
    assert shifted.curve.log_hr == pytest.approx(base.curve.log_hr, abs=1e-9)


def test_negative_and_zero_values_are_fitted_as_given() -> None:
    value, time, event = _cohort(seed=9)
    value[:10] = 0.0
    assert (value < 0).any()
    result = _fit(value, time, event)
    assert [row.status for row in result.rows] == ["ok", "ok", "ok"]


def test_fewer_distinct_values_than_knots_refuses_only_the_spline() -> None:
    value, time, event = _cohort(seed=10)
    three_levels = np.digitize(value, [-1.0, 1.0]).astype(float)  # 0, 1, 2
    result = _fit(three_levels, time, event, knots=4)
    assert result.per_unit.status == "ok"
    assert result.rcs.status == "too_few_values"
    assert result.rcs.lr_statistic is None and result.curve is None and result.spline is None
    assert "3 distinct values" in result.rcs.notes[0]


def test_tied_knots_refuse_the_spline_with_the_knots_shown() -> None:
    value, time, event = _cohort(seed=11, n=100)
    value[:60] = -2.0  # a detection limit: 60% of the patients at one value
    result = _fit(value, time, event, knots=4)
    assert result.rcs.status == "too_few_values"
    assert result.rcs.knots[0] == result.rcs.knots[1] == -2.0
    assert "not distinct" in result.rcs.notes[0]
    assert result.per_unit.status == "ok"


def test_constant_value() -> None:
    _, time, event = _cohort(seed=12)
    result = _fit(np.full(len(time), 3.5), time, event)
    assert result.per_unit.status == result.per_sd.status == "single_group"
    assert result.rcs.status == "too_few_values"
    assert all(row.coef is None and row.lr_p is None for row in result.rows)
    assert result.sd == 0.0 and result.curve is None


def test_no_events() -> None:
    value, time, _ = _cohort(seed=13)
    result = _fit(value, time, np.zeros(len(time)))
    assert [row.status for row in result.rows] == ["no_events"] * 3
    assert all(row.hazard_ratio is None and row.lr_statistic is None for row in result.rows)


def test_no_patient_with_a_value() -> None:
    _, time, event = _cohort(seed=14, n=20)
    result = _fit(np.full(len(time), np.nan), time, event)
    assert [row.status for row in result.rows] == ["too_few_values"] * 3
    assert result.sd is None and result.median is None and result.curve is None


def test_few_events_are_fitted_and_flagged_per_coefficient() -> None:
    # 9 events: below 10 per coefficient for every model (the linear one has 1).
    value, time, event = _cohort(seed=15, n=60)
    event = np.zeros(len(time))
    event[np.argsort(time)[:9]] = 1.0
    result = _fit(value, time, event, knots=3)
    assert [row.status for row in result.rows] == ["few_events_per_variable"] * 3
    assert result.per_unit.hazard_ratio is not None
    assert result.rcs.nonlinearity_p is not None and result.curve is not None


def test_spline_is_flagged_below_ten_events_per_coefficient() -> None:
    # 25 events: enough for the linear model (1 coefficient), not for 3 spline terms.
    value, time, event = _cohort(seed=16, n=60)
    event = np.zeros(len(time))
    event[np.argsort(time)[:25]] = 1.0
    result = _fit(value, time, event, knots=4)
    assert result.per_unit.status == "ok"
    assert result.rcs.status == "few_events_per_variable"
    assert result.curve is not None


def test_large_per_unit_coefficient_of_a_small_unit_converges() -> None:
    # A value in units of 1/1000: per-unit log HR ~ 100, beyond fit_efron's divergence
    # guard (|coef| > 30) if it were fitted on that scale.
    value, time, event = _cohort(seed=17)
    result = _fit(value / 1000.0, time, event)
    reference = _fit(value, time, event)
    assert result.per_unit.status == "ok"
    assert result.per_unit.coef > 30.0
    assert result.per_unit.coef == pytest.approx(1000.0 * reference.per_unit.coef, rel=1e-9)
    assert result.rcs.lr_statistic == pytest.approx(reference.rcs.lr_statistic, rel=1e-9)


@pytest.mark.parametrize("knots", [2, 6, 7])
def test_knots_outside_3_to_5_are_an_error(knots: int) -> None:
    value, time, event = _cohort(seed=18, n=30)
    with pytest.raises(ValueError, match="knots must be one of"):
        _fit(value, time, event, knots=knots)


def test_mismatched_lengths_are_an_error() -> None:
    value, time, event = _cohort(seed=19, n=30)
    with pytest.raises(ValueError, match="same length"):
        _fit(value[:-1], time, event)
