"""Properties of Holm and Benjamini-Hochberg adjustment (values against R: tests/reference).

Property tests with hypothesis, derandomised: for any family the adjusted p-values lie
between the raw p-value and 1, are monotone in p, do not depend on the order of the
tests, and ignore missing entries; plus the definitions written out the slow way.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.multiplicity import benjamini_hochberg, holm

FAST = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
METHODS = pytest.mark.parametrize("adjust", [holm, benjamini_hochberg], ids=["holm", "bh"])
#: Room for one rounding of m * p / rank when comparing with a looser formula.
ROUNDING = 1e-15

#: Draws from a few fixed values as well as anywhere in [0, 1], so that ties, zeros and
#: ones are common.
p_value = st.one_of(
    st.sampled_from([0.0, 1e-300, 0.001, 0.01, 0.05, 0.5, 1.0]),
    st.floats(0.0, 1.0, allow_nan=False),
)
families = st.lists(p_value, min_size=0, max_size=40).map(lambda p: np.array(p, dtype=float))
families_with_missing = st.lists(st.one_of(p_value, st.just(math.nan)), max_size=40).map(
    lambda p: np.array(p, dtype=float)
)


def _holm_by_definition(p: np.ndarray) -> np.ndarray:
    """adjusted_(i) = min(1, max over j <= i of (m - j + 1) p_(j)), as the definition reads."""
    present = np.flatnonzero(~np.isnan(p))
    ordered = sorted(present, key=lambda i: p[i])
    m = len(ordered)
    adjusted = np.full(p.shape, np.nan)
    for rank, index in enumerate(ordered, start=1):
        steps = [(m - j + 1) * p[ordered[j - 1]] for j in range(1, rank + 1)]
        adjusted[index] = min(1.0, max(steps))
    return adjusted


def _bh_by_definition(p: np.ndarray) -> np.ndarray:
    """q_(i) = min over j >= i of min(1, m p_(j) / j), as the definition reads."""
    present = np.flatnonzero(~np.isnan(p))
    ordered = sorted(present, key=lambda i: p[i])
    m = len(ordered)
    q = np.full(p.shape, np.nan)
    for rank, index in enumerate(ordered, start=1):
        q[index] = min(min(1.0, m / j * p[ordered[j - 1]]) for j in range(rank, m + 1))
    return q


@METHODS
@FAST
@given(families_with_missing)
def test_between_raw_p_and_one(adjust, p: np.ndarray) -> None:
    adjusted = adjust(p)
    present = ~np.isnan(p)
    assert np.array_equal(np.isnan(adjusted), ~present)
    assert np.all(adjusted[present] >= p[present])
    assert np.all(adjusted[present] <= 1.0)


@METHODS
@FAST
@given(families_with_missing)
def test_monotone_in_p(adjust, p: np.ndarray) -> None:
    present = ~np.isnan(p)
    order = np.argsort(p[present], kind="stable")
    adjusted = adjust(p)[present][order]
    assert np.all(np.diff(adjusted) >= 0.0)
    raw = p[present][order]
    tied = np.diff(raw) == 0.0
    assert np.all(np.diff(adjusted)[tied] == 0.0)  # equal p, equal adjusted p


@METHODS
@FAST
@given(families, st.randoms(use_true_random=False))
def test_order_of_the_tests_does_not_matter(adjust, p: np.ndarray, random) -> None:
    permutation = np.array(random.sample(range(p.size), p.size), dtype=int)
    np.testing.assert_array_equal(adjust(p[permutation]), adjust(p)[permutation])


@METHODS
@FAST
@given(families, st.lists(st.integers(0, 40), max_size=10))
def test_missing_entries_change_nothing_else(adjust, p: np.ndarray, positions) -> None:
    """The family is the tests that produced a p-value: inserting untested entries
    leaves every other adjusted value exactly as it was."""
    padded = p.copy()
    for position in positions:
        padded = np.insert(padded, min(position, padded.size), np.nan)
    present = ~np.isnan(padded)
    np.testing.assert_array_equal(adjust(padded)[present], adjust(p))


@FAST
@given(families_with_missing)
def test_holm_equals_its_definition(p: np.ndarray) -> None:
    np.testing.assert_allclose(holm(p), _holm_by_definition(p), rtol=ROUNDING, atol=0.0)


@FAST
@given(families_with_missing)
def test_bh_equals_its_definition(p: np.ndarray) -> None:
    np.testing.assert_allclose(benjamini_hochberg(p), _bh_by_definition(p), rtol=ROUNDING, atol=0.0)


@FAST
@given(families_with_missing)
def test_bh_never_exceeds_holm(p: np.ndarray) -> None:
    """(m - i + 1) p >= m p / i for every rank i, so FDR control is never the stricter."""
    present = ~np.isnan(p)
    assert np.all(benjamini_hochberg(p)[present] <= holm(p)[present] * (1 + ROUNDING))


@METHODS
def test_a_single_test_is_unchanged(adjust) -> None:
    assert adjust(np.array([0.03])).tolist() == [0.03]
    assert adjust([None, 0.03, math.nan])[1] == 0.03


@METHODS
def test_nothing_tested(adjust) -> None:
    assert adjust(np.array([])).shape == (0,)
    assert np.isnan(adjust([None, math.nan])).all()


@METHODS
def test_shape_is_kept_and_the_whole_array_is_one_family(adjust) -> None:
    matrix = np.array([[0.01, 0.04], [np.nan, 0.03]])
    np.testing.assert_array_equal(adjust(matrix).ravel(), adjust(matrix.ravel()))
    assert adjust(matrix).shape == (2, 2)


def test_small_worked_example() -> None:
    """m = 3 (the None is not counted): Holm 3p, 2p, 1p with a running maximum; BH
    3p/1, 3p/2, 3p/3 with a running minimum from the top."""
    p = [0.01, None, 0.04, 0.03]
    np.testing.assert_allclose(holm(p), [0.03, np.nan, 0.06, 0.06], rtol=ROUNDING)
    np.testing.assert_allclose(benjamini_hochberg(p), [0.03, np.nan, 0.04, 0.04], rtol=ROUNDING)


@METHODS
@pytest.mark.parametrize("bad", [-0.01, 1.5, math.inf, -math.inf])
def test_p_outside_unit_interval_is_refused(adjust, bad: float) -> None:
    with pytest.raises(ValueError, match=r"entry 2 is"):
        adjust([0.2, 0.5, bad, 0.1])


def test_imports_stay_light() -> None:
    """The statistics core must not pull in scipy (about a second to import)."""
    code = "import sys, analysis.multiplicity; print('scipy' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"
