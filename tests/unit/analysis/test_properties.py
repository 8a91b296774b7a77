"""Property tests (hypothesis, derandomised): invariants of KM, log-rank and Cox."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.cox import cox_model
from analysis.logrank import logrank_test
from analysis.survival import km_curve

FAST = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def cohorts(draw, min_size: int = 2, max_size: int = 40):
    n = draw(st.integers(min_size, max_size))
    time = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    event = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    group = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    return np.array(time, dtype=float), np.array(event), np.array(group)


@FAST
@given(cohorts())
def test_km_in_unit_interval_and_non_increasing(cohort) -> None:
    time, event, _ = cohort
    for method in ("log-log", "log", "plain"):
        curve = km_curve(time, event, ci_method=method)
        survival = curve["survival"].to_numpy()
        assert np.all((survival >= 0) & (survival <= 1))
        assert np.all(np.diff(survival) <= 1e-15)
        bounds = curve.select("ci_lower", "ci_upper").drop_nulls().to_numpy()
        assert np.all((bounds >= 0) & (bounds <= 1 + 1e-12))
        assert np.all(bounds[:, 0] <= bounds[:, 1] + 1e-12)


@FAST
@given(cohorts(min_size=4))
def test_km_matches_lifelines(cohort) -> None:
    from lifelines import KaplanMeierFitter

    time, event, _ = cohort
    curve = km_curve(time, event)
    fitter = KaplanMeierFitter().fit(time, event)
    theirs = fitter.survival_function_at_times(curve["time_days"].to_numpy()).to_numpy()
    np.testing.assert_allclose(curve["survival"].to_numpy(), theirs, rtol=1e-12, atol=1e-14)


@FAST
@given(cohorts(min_size=4))
def test_logrank_invariant_to_relabelling(cohort) -> None:
    time, event, group = cohort
    original = logrank_test(time, event, group)
    relabelled = logrank_test(time, event, np.array(["c", "a", "b"])[group])
    assert original.status == relabelled.status
    if original.statistic is not None:
        assert relabelled.statistic == pytest.approx(original.statistic, rel=1e-9, abs=1e-12)


@FAST
@given(cohorts(min_size=4))
def test_logrank_matches_lifelines(cohort) -> None:
    from lifelines.statistics import multivariate_logrank_test

    time, event, group = cohort
    ours = logrank_test(time, event, group)
    if ours.status != "ok" or np.unique(group).size < 2:
        return
    theirs = multivariate_logrank_test(time, group, event)
    assert ours.statistic == pytest.approx(theirs.test_statistic, rel=1e-9, abs=1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_hazard_ratio_reverses_with_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 150
    high = rng.integers(0, 2, n).astype(float)
    frame = pd.DataFrame(
        {"time": rng.exponential(1 / np.exp(0.5 * high)), "event": 1.0, "high": high}
    )
    frame["low"] = 1 - frame["high"]
    forward = cox_model(frame[["high"]].to_numpy(), frame["time"], frame["event"], ["high"]).term(
        "high"
    )
    backward = cox_model(frame[["low"]].to_numpy(), frame["time"], frame["event"], ["low"]).term(
        "low"
    )
    assert forward.hazard_ratio == pytest.approx(1 / backward.hazard_ratio, rel=1e-9)
    assert forward.ci_lower == pytest.approx(1 / backward.ci_upper, rel=1e-9)
    assert forward.p_value == pytest.approx(backward.p_value, rel=1e-7)
