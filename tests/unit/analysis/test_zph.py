"""``analysis.zph``: the time transforms, undefined cases, invariances, and why it exists.

Agreement with R itself is in ``tests/reference/test_r_cox_zph.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.cox_fitter import fit_efron
from analysis.zph import ZphResult, cox_zph, transformed_times

# aml (R survival's data set, tests/data/textbook/aml.csv): x = 1 for "Nonmaintained".
AML_TIME = np.array(
    [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161, 5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45],
    dtype=float,
)
AML_EVENT = np.array([1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]) == 1
AML_X = np.array([0.0] * 11 + [1.0] * 12)
#: R 4.2.2, survival 3.5-3: cox.zph(coxph(Surv(time, status) ~ x, aml))$table["x", "chisq"]
#: (tests/reference/r/cox_zph.json, case "aml_x").
AML_R_CHISQ = 0.00787507772332374


def _tied_data(seed: int = 4, n: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.integers(0, 2, n), rng.normal(size=n)]).astype(float)
    time = np.ceil(rng.exponential(10.0, n) * np.exp(-0.5 * x[:, 0]))  # many ties
    return x, time, rng.random(n) < 0.7


def _assert_refused(result: ZphResult, status: str) -> None:
    assert result.status == status
    assert all(test.chisq is None and test.p_value is None for test in result.terms)
    assert result.global_test.chisq is None and result.global_test.p_value is None


def test_km_transform_is_one_minus_the_left_continuous_curve() -> None:
    # KM: S = 0.8 after t=1 (1 of 5), 0.4 after t=2 (2 of 4), 0 after t=4 (1 of 1).
    time = np.array([1.0, 2.0, 2.0, 3.0, 4.0])
    event = np.array([True, True, True, False, True])
    assert transformed_times(time, event, "km") == pytest.approx([0.0, 0.2, 0.2, 0.6, 0.6])
    assert transformed_times(time, event, "rank") == pytest.approx([1.0, 2.5, 2.5, 4.0, 5.0])
    assert transformed_times(time, event, "identity") == pytest.approx(time)
    assert transformed_times(time, event, "log") == pytest.approx(np.log(time))


def _right_continuous_approximation(x: np.ndarray, time: np.ndarray, event: np.ndarray) -> float:
    """The global test ``analysis/cox.py::_ph_test`` computed before this port: Grambsch-
    Therneau's approximation (overall variance instead of each risk set's) with
    g = 1 - S(t), the right-continuous KM curve."""
    fit = fit_efron(x, time, event)
    death_times, deaths = np.unique(time[event], return_counts=True)
    at_risk = len(time) - np.searchsorted(np.sort(time), death_times, side="left")
    survival = np.cumprod(1.0 - deaths / at_risk)
    g = 1.0 - survival[np.searchsorted(death_times, fit.death_times, side="right") - 1]
    centred = g - g.mean()
    weighted = centred @ fit.scaled_schoenfeld()
    spread = len(fit.death_times) * float(centred @ centred)
    return float(weighted @ np.linalg.solve(fit.variance, weighted)) / spread


def test_the_old_right_continuous_approximation_misses_r_on_tied_aml() -> None:
    """aml has tied deaths (5, 8 and 13 weeks). The pre-3.0 statistic is three times R's,
    so a reference test at any sensible tolerance tells the two apart."""
    old = _right_continuous_approximation(AML_X[:, None], AML_TIME, AML_EVENT)
    assert old == pytest.approx(0.0239, abs=1e-4)
    assert abs(old / AML_R_CHISQ - 1.0) > 1.0
    fit = fit_efron(AML_X[:, None], AML_TIME, AML_EVENT)
    new = cox_zph(AML_X, AML_TIME, AML_EVENT, fit.coef)
    assert new.terms[0].chisq == pytest.approx(AML_R_CHISQ, rel=1e-8)


def test_one_term_global_test_is_the_term_test() -> None:
    result = cox_zph(
        AML_X, AML_TIME, AML_EVENT, fit_efron(AML_X[:, None], AML_TIME, AML_EVENT).coef
    )
    assert result.status == "ok" and result.terms[0].df == 1 and result.global_test.df == 1
    assert result.global_test.chisq == pytest.approx(result.terms[0].chisq, rel=1e-12)
    assert result.global_test.p_value == pytest.approx(result.terms[0].p_value, rel=1e-12)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("transform", ["km", "identity", "rank", "log"])
def test_recoding_and_rescaling_a_column_change_nothing(ties: str, transform: str) -> None:
    """The test is about the model, not the coding: 1 - x with -beta, or 10 x with beta/10,
    is the same model, and the statistics must agree (R's do)."""
    x, time, event = _tied_data()
    coef = fit_efron(x, time, event).coef
    result = cox_zph(x, time, event, coef, ties=ties, transform=transform)
    recoded = np.column_stack([1.0 - x[:, 0], 10.0 * x[:, 1]])
    same = cox_zph(recoded, time, event, coef * [-1.0, 0.1], ties=ties, transform=transform)
    assert result.status == same.status == "ok"
    pairs = zip((*result.terms, result.global_test), (*same.terms, same.global_test), strict=True)
    for ours, theirs in pairs:
        assert 0.0 <= ours.p_value <= 1.0
        assert ours.chisq == pytest.approx(theirs.chisq, rel=1e-9)


def test_breslow_equals_efron_without_ties() -> None:
    x, _, event = _tied_data()
    time = np.arange(1.0, len(event) + 1.0)
    coef = np.array([0.3, -0.2])
    efron = cox_zph(x, time, event, coef, ties="efron")
    breslow = cox_zph(x, time, event, coef, ties="breslow")
    assert efron.global_test.chisq == pytest.approx(breslow.global_test.chisq, rel=1e-12)


def test_ties_change_the_statistic() -> None:
    x, time, event = _tied_data()
    coef = fit_efron(x, time, event).coef
    efron = cox_zph(x, time, event, coef, ties="efron").global_test.chisq
    breslow = cox_zph(x, time, event, coef, ties="breslow").global_test.chisq
    assert abs(efron / breslow - 1.0) > 1e-4


def test_no_events() -> None:
    _assert_refused(cox_zph(AML_X, AML_TIME, np.zeros(23, bool), [0.5]), "no_events")


def test_all_deaths_at_one_time() -> None:
    time = np.array([5.0, 5.0, 5.0, 7.0, 9.0, 9.0])
    event = np.array([True, True, True, False, False, False])
    x = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    _assert_refused(cox_zph(x, time, event, [0.1]), "deaths_at_one_time")


def test_one_event() -> None:
    event = np.zeros(23, bool)
    event[4] = True
    _assert_refused(cox_zph(AML_X, AML_TIME, event, [0.1]), "deaths_at_one_time")


def test_constant_column() -> None:
    x = np.column_stack([AML_X, np.full(23, 3.0)])
    _assert_refused(cox_zph(x, AML_TIME, AML_EVENT, [0.9, 0.0]), "constant_column")


def test_collinear_columns_make_the_information_singular() -> None:
    x = np.column_stack([AML_X, 2.0 * AML_X])
    _assert_refused(cox_zph(x, AML_TIME, AML_EVENT, [0.5, 0.2]), "singular_information")


def test_missing_values_and_overflow_are_non_finite_input() -> None:
    x = AML_X.copy()
    x[3] = np.nan
    _assert_refused(cox_zph(x, AML_TIME, AML_EVENT, [0.9]), "non_finite_input")
    event = AML_EVENT.astype(float)
    event[3] = np.nan
    _assert_refused(cox_zph(AML_X, AML_TIME, event, [0.9]), "non_finite_input")
    _assert_refused(cox_zph(AML_X, AML_TIME, AML_EVENT, [1e4]), "non_finite_input")


def test_log_transform_of_a_zero_time() -> None:
    time = AML_TIME.copy()
    time[0] = 0.0
    _assert_refused(
        cox_zph(AML_X, time, AML_EVENT, [0.9], transform="log"), "log_of_nonpositive_time"
    )


def test_unknown_options_and_mismatched_shapes_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="ties"):
        cox_zph(AML_X, AML_TIME, AML_EVENT, [0.9], ties="exact")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="transform"):
        cox_zph(AML_X, AML_TIME, AML_EVENT, [0.9], transform="sqrt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="length"):
        cox_zph(AML_X, AML_TIME[:-1], AML_EVENT, [0.9])
