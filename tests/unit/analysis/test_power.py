"""Schoenfeld events-based power: inverses, symmetries, statuses, refusals.

Values against R and published tables are in tests/reference/test_r_power.py; here the
three functions are checked against one another (hypothesis, derandomised) and every
degenerate design against its status.
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from statistics import NormalDist

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.power import (
    PowerCalculation,
    minimum_detectable_hazard_ratio,
    required_events,
    schoenfeld_power,
)

FAST = settings(
    max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
#: The inverses round-trip through log, exp, sqrt and squares: a few ulps.
ROUND_TRIP = 1e-12

event_counts = st.floats(1.0, 1e5)
allocations = st.floats(0.01, 0.99)
alphas = st.sampled_from([0.001, 0.01, 0.05, 0.1, 0.2])
powers = st.floats(0.5, 0.999)
log_ratios = st.floats(0.01, 3.0).flatmap(lambda size: st.sampled_from([size, -size]))


def _z(probability: float) -> float:
    return NormalDist().inv_cdf(probability)


# --- the three functions are inverses ---------------------------------------------------------


@FAST
@given(log_ratios, allocations, alphas, powers)
def test_power_at_the_required_events_is_the_target(log_ratio, allocation, alpha, power) -> None:
    design = required_events(math.exp(log_ratio), allocation, alpha=alpha, power=power)
    achieved = schoenfeld_power(design.events, allocation, math.exp(log_ratio), alpha=alpha)
    assert achieved.power == pytest.approx(power, rel=ROUND_TRIP)


@FAST
@given(event_counts, allocations, alphas, powers)
def test_power_at_the_detectable_ratio_is_the_target(events, allocation, alpha, power) -> None:
    detectable = minimum_detectable_hazard_ratio(events, allocation, alpha=alpha, power=power)
    assert detectable.hazard_ratio > 1.0
    for ratio in (detectable.hazard_ratio, 1.0 / detectable.hazard_ratio):
        achieved = schoenfeld_power(events, allocation, ratio, alpha=alpha)
        assert achieved.power == pytest.approx(power, rel=ROUND_TRIP)


@FAST
@given(event_counts, allocations, alphas, powers)
def test_events_for_the_detectable_ratio_are_the_events(events, allocation, alpha, power) -> None:
    detectable = minimum_detectable_hazard_ratio(events, allocation, alpha=alpha, power=power)
    needed = required_events(detectable.hazard_ratio, allocation, alpha=alpha, power=power)
    assert needed.events == pytest.approx(events, rel=ROUND_TRIP)


# --- symmetries and monotonicity --------------------------------------------------------------


@FAST
@given(event_counts, allocations, log_ratios, alphas)
def test_symmetric_in_ratio_and_in_allocation(events, allocation, log_ratio, alpha) -> None:
    power = schoenfeld_power(events, allocation, math.exp(log_ratio), alpha=alpha).power
    assert schoenfeld_power(events, allocation, math.exp(-log_ratio), alpha=alpha).power == (
        pytest.approx(power, rel=ROUND_TRIP)
    )
    assert schoenfeld_power(events, 1.0 - allocation, math.exp(log_ratio), alpha=alpha).power == (
        pytest.approx(power, rel=ROUND_TRIP)
    )


@FAST
@given(event_counts, allocations, st.floats(0.01, 3.0), alphas)
def test_more_events_or_a_larger_effect_never_lose_power(events, allocation, size, alpha) -> None:
    power = schoenfeld_power(events, allocation, math.exp(size), alpha=alpha).power
    assert schoenfeld_power(2 * events, allocation, math.exp(size), alpha=alpha).power >= power
    assert schoenfeld_power(events, allocation, math.exp(1.5 * size), alpha=alpha).power >= power
    assert schoenfeld_power(events, 0.5, math.exp(size), alpha=alpha).power >= power  # p = 1/2 best


def test_a_balanced_design_needs_the_fewest_events() -> None:
    needed = [required_events(1.5, share).events for share in (0.5, 1 / 3, 0.25, 0.1)]
    assert needed == sorted(needed)
    assert needed[2] / needed[0] == pytest.approx(0.25 / (0.25 * 0.75))  # Q1 vs Q2-Q4: x 4/3


# --- the formula, written out -----------------------------------------------------------------


def test_worked_example_hazard_ratio_two() -> None:
    """1:1, two-sided 0.05, 80%: D = 4 (1.959964 + 0.841621)^2 / log(2)^2 = 65.35, so 66
    events; the commonly quoted figure (checked against R in tests/reference)."""
    design = required_events(2.0, 0.5)
    expected = 4 * (_z(0.975) + _z(0.8)) ** 2 / math.log(2.0) ** 2
    assert design.events == pytest.approx(expected, rel=1e-15)
    assert design.events == pytest.approx(65.3457, abs=5e-5)
    assert design.events_rounded_up == 66
    assert required_events(1.5, 0.5).events_rounded_up == 191


def test_the_opposite_tail_is_not_added() -> None:
    """Near HR = 1 the power tends to alpha/2, not alpha (module docstring)."""
    power = schoenfeld_power(100, 0.5, 1.0 + 1e-12, alpha=0.05).power
    assert power == pytest.approx(0.025, rel=1e-9)


@FAST
@given(event_counts, allocations, log_ratios, alphas)
def test_the_omitted_tail_is_tiny_whenever_power_is_at_least_half(
    events, allocation, log_ratio, alpha
) -> None:
    power = schoenfeld_power(events, allocation, math.exp(log_ratio), alpha=alpha).power
    shift = math.sqrt(events * allocation * (1 - allocation)) * abs(log_ratio)
    omitted = NormalDist().cdf(-shift - _z(1 - alpha / 2))
    if power >= 0.5:
        assert omitted <= NormalDist().cdf(-2 * _z(1 - alpha / 2))
    assert omitted <= alpha / 2


def test_defaults_are_alpha_005_and_power_08() -> None:
    assert required_events(1.5, 0.5) == required_events(1.5, 0.5, alpha=0.05, power=0.8)
    assert schoenfeld_power(100, 0.5, 1.5) == schoenfeld_power(100, 0.5, 1.5, alpha=0.05)
    assert minimum_detectable_hazard_ratio(100, 0.5).power == 0.8


# --- degenerate designs: a status and None, never NaN or inf ----------------------------------


def _assert_no_nan_or_inf(result: PowerCalculation) -> None:
    for field in dataclasses.fields(result):
        value = getattr(result, field.name)
        if isinstance(value, float):
            assert math.isfinite(value), field.name


@pytest.mark.parametrize(
    ("events", "allocation", "hazard_ratio", "status"),
    [
        (0, 0.5, 2.0, "no_events"),
        (0.0, 0.0, 1.0, "no_events"),  # the first that applies wins
        (50, 0.0, 2.0, "single_group"),
        (50, 1.0, 2.0, "single_group"),
        (50, 0.5, 1.0, "no_effect"),
        (50, 0.5, 0.0, "invalid_hazard_ratio"),
        (50, 0.5, -2.0, "invalid_hazard_ratio"),
        (50, 0.5, math.nan, "invalid_hazard_ratio"),
        (50, 0.5, math.inf, "invalid_hazard_ratio"),
    ],
)
def test_power_of_a_degenerate_design(events, allocation, hazard_ratio, status) -> None:
    result = schoenfeld_power(events, allocation, hazard_ratio)
    assert result.status == status
    assert result.power is None
    _assert_no_nan_or_inf(result)


@pytest.mark.parametrize(
    ("events", "allocation", "status"),
    [(0, 0.5, "no_events"), (50, 0.0, "single_group"), (50, 1.0, "single_group"),
     (1e-6, 0.5, "not_detectable")],
)  # fmt: skip
def test_detectable_ratio_of_a_degenerate_design(events, allocation, status) -> None:
    result = minimum_detectable_hazard_ratio(events, allocation)
    assert (result.status, result.hazard_ratio) == (status, None)
    _assert_no_nan_or_inf(result)


@pytest.mark.parametrize(
    ("hazard_ratio", "allocation", "status"),
    [(1.0, 0.5, "no_effect"), (2.0, 0.0, "single_group"), (2.0, 1.0, "single_group"),
     (0.0, 0.5, "invalid_hazard_ratio"), (-1.5, 0.5, "invalid_hazard_ratio"),
     (math.nan, 0.5, "invalid_hazard_ratio"), (math.inf, 0.5, "invalid_hazard_ratio")],
)  # fmt: skip
def test_required_events_of_a_degenerate_design(hazard_ratio, allocation, status) -> None:
    result = required_events(hazard_ratio, allocation)
    assert (result.status, result.events, result.events_rounded_up) == (status, None, None)
    _assert_no_nan_or_inf(result)


def test_extreme_but_valid_designs_stay_finite() -> None:
    for result in (
        schoenfeld_power(1e12, 0.5, 3.0),
        schoenfeld_power(1e-3, 0.5, 1.001),
        required_events(1.0 + 1e-15, 0.5),
        required_events(1e-300, 0.5),
        minimum_detectable_hazard_ratio(1e-4, 0.5),
    ):
        assert result.status == "ok"
        _assert_no_nan_or_inf(result)


# --- settings that are errors, not designs -----------------------------------------------------


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.05, 1.5, math.nan])
def test_alpha_outside_unit_interval_is_refused(alpha: float) -> None:
    with pytest.raises(ValueError, match="alpha"):
        schoenfeld_power(100, 0.5, 1.5, alpha=alpha)
    with pytest.raises(ValueError, match="alpha"):
        required_events(1.5, 0.5, alpha=alpha)


@pytest.mark.parametrize("power", [0.0, 1.0, 1.2, math.nan, 0.02])
def test_power_outside_its_range_is_refused(power: float) -> None:
    """0.02 < alpha/2 = 0.025: no hazard ratio has so little power without the other tail."""
    with pytest.raises(ValueError, match="power"):
        minimum_detectable_hazard_ratio(100, 0.5, power=power)
    with pytest.raises(ValueError, match="power"):
        required_events(1.5, 0.5, power=power)


@pytest.mark.parametrize(
    ("events", "allocation"),
    [(-1, 0.5), (math.inf, 0.5), (math.nan, 0.5), (100, -0.1), (100, 1.1), (100, math.nan)],
)
def test_impossible_designs_are_refused(events: float, allocation: float) -> None:
    with pytest.raises(ValueError, match=r"events|allocation"):
        schoenfeld_power(events, allocation, 1.5)
    with pytest.raises(ValueError, match=r"events|allocation"):
        minimum_detectable_hazard_ratio(events, allocation)


def test_result_is_frozen() -> None:
    result = required_events(1.5, 0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.events = 1.0  # type: ignore[misc]


def test_imports_stay_light() -> None:
    """The statistics core must not pull in scipy (about a second to import)."""
    code = "import sys, analysis.power; print('scipy' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"
