"""analysis.firth checked independently of its own code.

The penalised partial likelihood ``l(b) + 1/2 log|I(b)|`` is rebuilt here from scratch:
``l`` by a plain loop over death times (Breslow, and Efron's ``l/d`` down-weighting of tied
deaths), ``I`` as minus the numeric second differences of that loop-based ``l``
(Richardson-extrapolated central differences), and maximised with
``scipy.optimize.minimize`` (Nelder-Mead). Nothing is shared with analysis/firth.py.
(R's coxphf values are checked in tests/reference/test_r_coxphf.py.)
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
from scipy.optimize import minimize

from analysis.cox_fitter import fit_efron
from analysis.firth import FirthResult, fit_firth

#: Second-difference step: large enough that rounding in ``l`` (about 1e-14) stays far
#: below the differences, with Richardson extrapolation removing the O(h^2) error.
DIFFERENCE_STEP = 1e-2


def _loop_loglik(
    beta: np.ndarray, x: np.ndarray, time: np.ndarray, event: np.ndarray, ties: str
) -> float:
    """Cox partial log-likelihood, one death time at a time."""
    eta = x @ beta
    parts = []
    for death_time in np.unique(time[event]):
        at_risk = time >= death_time
        dying = event & (time == death_time)
        deaths = int(dying.sum())
        risk_sum = math.fsum(np.exp(eta[at_risk]))
        death_sum = math.fsum(np.exp(eta[dying]))
        parts.append(math.fsum(eta[dying]))
        for tie in range(deaths):
            fraction = tie / deaths if ties == "efron" else 0.0
            parts.append(-math.log(risk_sum - fraction * death_sum))
    return math.fsum(parts)


def _numeric_information(beta: np.ndarray, *data: Any) -> np.ndarray:
    """Minus the Hessian of the loop-based log-likelihood, by second differences."""
    p = len(beta)

    def hessian(step: float) -> np.ndarray:
        out = np.empty((p, p))
        for j in range(p):
            for k in range(j, p):
                ej, ek = np.eye(p)[j] * step, np.eye(p)[k] * step
                out[j, k] = out[k, j] = (
                    _loop_loglik(beta + ej + ek, *data)
                    - _loop_loglik(beta + ej - ek, *data)
                    - _loop_loglik(beta - ej + ek, *data)
                    + _loop_loglik(beta - ej - ek, *data)
                ) / (4.0 * step * step)
        return out

    return -(4.0 * hessian(DIFFERENCE_STEP / 2.0) - hessian(DIFFERENCE_STEP)) / 3.0


def _loop_penalised(beta: np.ndarray, *data: Any) -> float:
    sign, log_det = np.linalg.slogdet(_numeric_information(beta, *data))
    return _loop_loglik(beta, *data) + 0.5 * log_det if sign > 0 else -1e10


def _small_cohort(seed: int, n: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded data with tied times (rounded) and a 0/1 covariate."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.normal(size=n), (rng.random(n) < 0.5).astype(float)])
    time = np.round(rng.exponential(8.0, n) * np.exp(-0.5 * x[:, 0])) + 1.0
    return x, time, rng.random(n) < 0.7


def _coefs(result: FirthResult) -> np.ndarray:
    return np.array([row.coef for row in result.terms], dtype=float)


def _assert_is_the_loop_maximum(ours: np.ndarray, data: tuple[Any, ...]) -> None:
    """``ours`` maximises the loop-based penalised likelihood, as far as it can tell.

    The loop's l* carries rounding noise of about 1e-10 (second differences of an ``l``
    exact to ~1e-14, over a step^2 of 2.5e-5), so Nelder-Mead stops wherever the noise
    says, up to ~sqrt(1e-10 / curvature) away: 1e-4 covers a flat monotone likelihood.
    Sharper: no point it finds is higher than ours beyond that noise, and the central-
    difference gradient of the loop's l* at ours (step 1e-3, noise ~1e-7) is ~0.
    """
    found = minimize(
        lambda beta: -_loop_penalised(beta, *data),
        np.zeros(len(ours)),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 5000},
    )
    assert ours == pytest.approx(found.x, abs=1e-4)
    assert _loop_penalised(ours, *data) >= -found.fun - 1e-9
    step = 1e-3
    gradient = [
        (_loop_penalised(ours + step * unit, *data) - _loop_penalised(ours - step * unit, *data))
        / (2.0 * step)
        for unit in np.eye(len(ours))
    ]
    assert np.abs(gradient).max() < 1e-6


CHECKS = [
    pytest.param("breslow", [0], id="breslow-1"),
    pytest.param("breslow", [0, 1], id="breslow-2", marks=pytest.mark.slow),
    pytest.param("efron", [0], id="efron-1"),
    pytest.param("efron", [0, 1], id="efron-2", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("ties", "columns"), CHECKS)
def test_maximum_equals_an_independent_loop_and_optimiser(ties: str, columns: list[int]) -> None:
    x, time, event = _small_cohort(seed=7)
    x = x[:, columns]
    data = (x, time, event, ties)
    result = fit_firth(x, time, event, ties=ties)
    assert result.status == "ok"
    ours = _coefs(result)
    _assert_is_the_loop_maximum(ours, data)
    assert result.penalised_log_likelihood == pytest.approx(_loop_penalised(ours, *data), abs=1e-9)
    standard_errors = np.sqrt(np.diag(np.linalg.inv(_numeric_information(ours, *data))))
    assert [row.se for row in result.terms] == pytest.approx(standard_errors, rel=1e-7)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_interval_and_test_are_the_loop_likelihood_ratio(ties: str) -> None:
    """One term: no other coefficient to profile out, so the loop's l* checks directly
    that each bound lies q/2 below the maximum and that chisq = 2 [l*(b_hat) - l*(0)]."""
    x, time, event = _small_cohort(seed=9)
    data = (x[:, [0]], time, event, ties)
    row = fit_firth(*data[:3], ties=ties).terms[0]
    top = _loop_penalised(np.array([row.coef]), *data)
    critical = 3.841458820694124  # chi-square(1) 95% quantile
    for bound in (row.ci_lower, row.ci_upper):
        fall = top - _loop_penalised(np.array([math.log(bound)]), *data)
        assert fall == pytest.approx(critical / 2.0, abs=1e-8)
    assert row.chi_square == pytest.approx(
        2.0 * (top - _loop_penalised(np.zeros(1), *data)), abs=1e-8
    )


def test_monotone_likelihood_has_a_finite_penalised_maximum() -> None:
    """A group without deaths: the Cox MLE diverges, Firth's estimate is finite."""
    x, time, event = _small_cohort(seed=3)
    event = event & (x[:, 1] == 1.0)  # no deaths in the reference level
    group = x[:, [1]]
    assert not fit_efron(group, time, event).converged
    result = fit_firth(group, time, event, terms=["group"])
    row = result.term("group")
    assert result.status == "ok"
    assert row.coef is not None and 0.5 < row.coef < 10.0
    assert row.ci_lower is not None and row.ci_upper is not None
    assert row.ci_lower < row.hazard_ratio < row.ci_upper < 1e6
    _assert_is_the_loop_maximum(_coefs(result), (group, time, event, "breslow"))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_large_sample_estimates_are_the_mle_shrunk_slightly(seed: int) -> None:
    """Firth's bias correction is O(1/n): close to the MLE, slightly nearer 0."""
    rng = np.random.default_rng(seed)
    n = 1500
    x = np.column_stack([rng.normal(size=n), (rng.random(n) < 0.4).astype(float)])
    time = rng.exponential(1.0, n) * np.exp(-(0.5 * x[:, 0] - 0.7 * x[:, 1]))  # no ties
    event = rng.random(n) < 0.8
    mle = fit_efron(x, time, event)
    firth = _coefs(fit_firth(x, time, event))
    assert (np.abs(firth) < np.abs(mle.coef)).all()
    assert firth == pytest.approx(mle.coef, rel=2e-3)
    assert np.abs(firth - mle.coef).max() < 0.05 * mle.standard_errors.min()


def test_efron_equals_breslow_without_ties() -> None:
    x, time, event = _small_cohort(seed=5)
    time = time + np.arange(len(time)) * 1e-3  # all distinct
    breslow, efron = (fit_firth(x, time, event, ties=ties) for ties in ("breslow", "efron"))
    assert _coefs(efron) == pytest.approx(_coefs(breslow), rel=1e-12)
    assert efron.terms[0].ci_upper == pytest.approx(breslow.terms[0].ci_upper, rel=1e-9)


def test_estimates_follow_the_units_of_the_covariates() -> None:
    x, time, event = _small_cohort(seed=11)
    plain = fit_firth(x, time, event)
    scaled = fit_firth(x * np.array([10.0, 1.0]) + 3.0, time, event)
    assert _coefs(scaled) == pytest.approx(_coefs(plain) / np.array([10.0, 1.0]), rel=1e-9)
    assert scaled.terms[0].p_value == pytest.approx(plain.terms[0].p_value, rel=1e-8)
    assert scaled.lr_chi_square == pytest.approx(plain.lr_chi_square, rel=1e-9)
    # l* = l + 1/2 log|I|: x times 10 makes that coefficient's information 100 times larger.
    assert scaled.penalised_log_likelihood == pytest.approx(
        plain.penalised_log_likelihood + math.log(10.0), rel=1e-10
    )


def test_narrower_confidence_gives_a_nested_interval() -> None:
    x, time, event = _small_cohort(seed=2)
    wide, narrow = (fit_firth(x, time, event, confidence=level) for level in (0.95, 0.80))
    for outer, inner in zip(wide.terms, narrow.terms, strict=True):
        assert outer.ci_lower < inner.ci_lower < inner.hazard_ratio < inner.ci_upper
        assert inner.ci_upper < outer.ci_upper


def _assert_no_nan_or_inf(result: FirthResult) -> None:
    values = [value for row in result.terms for value in dataclasses.astuple(row)[1:]]
    values += [result.penalised_log_likelihood, result.lr_chi_square, result.lr_p_value]
    assert all(value is None or math.isfinite(value) for value in values)


@pytest.mark.parametrize(
    ("x", "time", "event", "status"),
    [
        pytest.param([[0.0], [1.0], [0.0]], [1, 2, 3], [0, 0, 0], "no_events", id="no-events"),
        pytest.param(np.zeros((0, 2)), [], [], "no_events", id="empty"),
        pytest.param([[1.0], [1.0], [1.0]], [1, 2, 3], [1, 0, 1], "single_group", id="constant"),
        pytest.param([[1.0]], [5.0], [1], "single_group", id="one-subject"),
        pytest.param(
            [[0.0, 0.0], [1.0, 2.0], [0.0, 0.0], [1.0, 2.0], [1.0, 2.0]],
            [1, 2, 3, 4, 5],
            [1, 1, 0, 1, 1],
            "did_not_converge",
            id="collinear",
        ),
    ],
)
def test_degenerate_inputs_return_a_status(
    x: object, time: object, event: object, status: str
) -> None:
    result = fit_firth(np.asarray(x, dtype=float), np.asarray(time), np.asarray(event))
    assert result.status == status
    assert not result.converged
    assert all(row.coef is None and row.p_value is None for row in result.terms)
    assert result.notes
    _assert_no_nan_or_inf(result)


def test_results_hold_only_finite_numbers_or_none() -> None:
    x, time, event = _small_cohort(seed=3)
    event = event & (x[:, 1] == 1.0)
    for columns in ([1], [0, 1]):
        _assert_no_nan_or_inf(fit_firth(x[:, columns], time, event))


def test_one_dimensional_design_and_term_names() -> None:
    x, time, event = _small_cohort(seed=4)
    result = fit_firth(x[:, 0], time, event)
    assert [row.term for row in result.terms] == ["x1"]
    assert result.term("x1").coef == fit_firth(x[:, [0]], time, event).terms[0].coef
    with pytest.raises(KeyError):
        result.term("age")


@pytest.mark.parametrize(
    "arguments",
    [
        {"ties": "exact"},
        {"confidence": 1.0},
        {"terms": ["only_one"]},
    ],
)
def test_misuse_raises(arguments: dict[str, Any]) -> None:
    x, time, event = _small_cohort(seed=1)
    with pytest.raises(ValueError):
        fit_firth(x, time, event, **arguments)


def test_mismatched_or_missing_data_raise() -> None:
    x, time, event = _small_cohort(seed=1)
    with pytest.raises(ValueError, match="n times"):
        fit_firth(x, time[:-1], event)
    x[0, 0] = np.nan
    with pytest.raises(ValueError, match="incomplete rows"):
        fit_firth(x, time, event)
