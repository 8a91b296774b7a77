"""Closed-form tails equal scipy's (an independent implementation)."""

from __future__ import annotations

import pytest
from scipy import stats

from analysis.distributions import chi2_sf, normal_sf


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 8])
@pytest.mark.parametrize("statistic", [0.0, 0.01, 0.5, 1.0, 3.84, 10.0, 40.0])
def test_chi2_tail_equals_scipy(df: int, statistic: float) -> None:
    assert chi2_sf(statistic, df) == pytest.approx(
        stats.chi2.sf(statistic, df), rel=1e-12, abs=1e-300
    )


@pytest.mark.parametrize("z", [-3.0, -1.0, 0.0, 1.0, 1.959963984540054, 5.0, 9.0])
def test_normal_tail_equals_scipy(z: float) -> None:
    assert normal_sf(z) == pytest.approx(stats.norm.sf(z), rel=1e-12, abs=1e-300)
