"""Firth-penalised Cox regression (Heinze & Schemper 2001), numbers equal to R's ``coxphf``.

Why: in a small study a group often has no deaths (say the lowest quartile of a marker);
the partial likelihood then increases for ever as that coefficient goes to infinity
(monotone likelihood) and ``analysis.cox`` can only refuse. Firth's penalised partial
likelihood ``l*(b) = l(b) + 1/2 log|I(b)|`` has a finite maximum, and profile penalised-
likelihood intervals and penalised likelihood-ratio tests stay valid there (Heinze &
Schemper 2001, Biometrics 57:114-119).

Conventions, each as coxphf 1.13.1 (read from its R and Fortran source):

- Breslow ties by default: coxphf implements only Breslow (``method.ties = "breslow"`` is
  hard-coded; its Fortran sums the risk set once per death time, times the number of
  deaths). Efron is available, but then no R program gives the same numbers.
- Score: ``U*_r = U_r + 1/2 tr(I^-1 dI/db_r)``, solved on covariates scaled to unit SD
  (as coxphf): coxphf's steps ``I^-1 U*`` (unpenalised information) for 5 iterations,
  then Newton steps on the numerical Jacobian of ``U*``; each step at most 0.5 per
  coefficient (coxphf ``maxstep``) and halved while l* falls. We stop at |step| and |U*|
  below 1e-9 (coxphf's defaults: 1e-6 and 1e-4). Another path to the same maximum.
- Standard errors: ``sqrt(diag I(b)^-1)`` at the penalised estimate.
- Intervals: profile penalised likelihood, ``{b_k: max l*(b | b_k) >= l*(b_hat) - q/2}``
  with q the chi-square(1) quantile, found by Brent's root finder (coxphf iterates to
  the same points by Venzon & Moolgavkar's method); p-values: penalised likelihood ratio
  ``2[l*(b_hat) - max l*(b | b_k = 0)]`` on 1 df, the penalty always over all terms.

The penalised log-likelihood is reported for the covariates as given; coxphf reports it
for covariates scaled to unit SD, which is lower by ``sum(log sd_k)`` (LR statistics equal).
Checked against coxphf in ``tests/reference/test_r_coxphf.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations_with_replacement, permutations
from statistics import NormalDist
from typing import Literal

import numpy as np

from analysis.distributions import chi2_sf

Ties = Literal["breslow", "efron"]
FirthStatus = Literal["ok", "did_not_converge", "single_group", "no_events"]

#: Largest change of a (unit-SD scaled) coefficient per iteration: coxphf ``maxstep``.
#: (coxphf caps each component; we shrink the whole step, which stays an ascent direction.)
MAX_STEP = 0.5
MAX_HALVINGS = 20
MAX_ITERATIONS = 200
#: coxphf's steps first; Newton on the numerical Jacobian of U* (this step) after that.
PLAIN_ITERATIONS = 5
JACOBIAN_STEP = 1e-7
#: Converged when every |step| and every |penalised score| is below these (unit-SD scale).
STEP_TOLERANCE = 1e-9
SCORE_TOLERANCE = 1e-9
#: A profile bound is sought up to this (unit-SD scale) distance from the estimate.
PROFILE_SEARCH_LIMIT = 60.0
BOUND_TOLERANCE = 1e-11


@dataclass(frozen=True)
class FirthTerm:
    """One coefficient; None (never NaN) where a value could not be computed."""

    term: str
    coef: float | None
    se: float | None
    hazard_ratio: float | None
    ci_lower: float | None
    ci_upper: float | None
    chi_square: float | None
    p_value: float | None


@dataclass(frozen=True)
class FirthResult:
    """A fitted (or refused) Firth Cox model; ``lr_*`` test all coefficients = 0."""

    terms: tuple[FirthTerm, ...]
    n: int
    events: int
    ties: Ties
    confidence: float
    status: FirthStatus
    lr_df: int
    converged: bool = False
    iterations: int = 0
    penalised_log_likelihood: float | None = None
    null_penalised_log_likelihood: float | None = None
    lr_chi_square: float | None = None
    lr_p_value: float | None = None
    notes: tuple[str, ...] = ()

    def term(self, name: str) -> FirthTerm:
        """The row for one term."""
        for row in self.terms:
            if row.term == name:
                return row
        raise KeyError(name)


@dataclass(frozen=True)
class _RiskSets:
    """Sorted design and, per tie level, where its risk set starts and how it is weighted."""

    x: np.ndarray  # (n, p), sorted by time, centred and scaled to unit SD
    powers: np.ndarray  # per subject: 1, x_j, then x_j x_k and x_j x_k x_r for j <= k <= r
    pair_column: np.ndarray  # (p, p): the column of powers holding x_j x_k
    triple_column: np.ndarray  # (p, p, p): the column holding x_j x_k x_r
    death_rows: np.ndarray  # sorted by time
    death_group_starts: np.ndarray
    level_start: np.ndarray  # first sorted row with time >= the level's death time
    level_group: np.ndarray  # which death time
    level_fraction: np.ndarray  # Efron's l/d (0 for Breslow)
    level_count: np.ndarray  # deaths the level stands for (d for Breslow, 1 for Efron)


@dataclass(frozen=True)
class _Point:
    beta: np.ndarray
    penalised: float
    score: np.ndarray  # penalised score U*
    information: np.ndarray


def _risk_sets(x: np.ndarray, time: np.ndarray, event: np.ndarray, ties: Ties) -> _RiskSets:
    order = np.argsort(time, kind="stable")
    x, time, event = x[order], time[order], event[order]
    n, p = x.shape
    columns = [np.ones(n), *x.T]
    pair_column = np.zeros((p, p), dtype=int)
    triple_column = np.zeros((p, p, p), dtype=int)
    for order_, index in ((2, pair_column), (3, triple_column)):
        for combination in combinations_with_replacement(range(p), order_):
            for permutation in permutations(combination):
                index[permutation] = len(columns)
            columns.append(np.prod(x[:, list(combination)], axis=1))
    death_rows = np.flatnonzero(event)
    death_times, group_starts, counts = np.unique(
        time[death_rows], return_index=True, return_counts=True
    )
    groups = np.arange(len(death_times))
    if ties == "breslow":
        level_group, fraction, count = groups, np.zeros(len(groups)), counts.astype(float)
    else:
        level_group = np.repeat(groups, counts)
        fraction = np.concatenate([np.arange(d) / d for d in counts])
        count = np.ones(len(level_group))
    return _RiskSets(
        x=x,
        powers=np.column_stack(columns),
        pair_column=pair_column,
        triple_column=triple_column,
        death_rows=death_rows,
        death_group_starts=group_starts,
        level_start=np.searchsorted(time, death_times, side="left")[level_group],
        level_group=level_group,
        level_fraction=fraction,
        level_count=count,
    )


def _evaluate(risk: _RiskSets, beta: np.ndarray) -> _Point:
    """Penalised log-likelihood, penalised score and information at ``beta``.

    Each tie level has weights ``c_i exp(eta_i)`` (Efron: ``c = 1 - l/d`` for its deaths);
    the information is the weighted covariance summed over levels, ``dI_jk/db_r`` the
    weighted third central moment ``E3_jkr - E2_jk m_r - E2_jr m_k - E2_kr m_j +
    2 m_j m_k m_r``, so the Firth term is ``1/2 tr(I^-1 dI/db_r)``.
    """
    p = risk.x.shape[1]
    eta = risk.x @ beta
    shift = float(eta.max())  # exp() stays finite; the shift cancels in every moment
    weighted = risk.powers * np.exp(eta - shift)[:, None]
    sums = np.cumsum(weighted[::-1], axis=0)[::-1][risk.level_start]
    if risk.level_fraction.any():
        deaths = np.add.reduceat(weighted[risk.death_rows], risk.death_group_starts, axis=0)
        sums = sums - risk.level_fraction[:, None] * deaths[risk.level_group]
    count, s0 = risk.level_count, sums[:, 0]
    mean = sums[:, 1 : 1 + p] / s0[:, None]
    counted_mean = count[:, None] * mean
    second = sums[:, risk.pair_column].reshape(-1, p * p) / s0[:, None]  # E2 per level
    information = (count @ second).reshape(p, p) - counted_mean.T @ mean
    loglik = float(eta[risk.death_rows].sum() - count @ (np.log(s0) + shift))
    score = risk.x[risk.death_rows].sum(axis=0) - count @ mean
    sign, log_det = np.linalg.slogdet(information)
    if not (sign > 0 and np.isfinite(loglik) and np.isfinite(log_det)):
        return _Point(beta, -np.inf, score, information)
    # Level-weighted sums first (matrix products), then the p x p x p arrays.
    third = ((count / s0) @ sums)[risk.triple_column]
    second_mean = (second.T @ counted_mean).reshape(p, p, p)  # sum c E2_jk m_r
    outer = (mean[:, :, None] * mean[:, None, :]).reshape(-1, p * p)
    mean_cubed = (outer.T @ counted_mean).reshape(p, p, p)
    derivative = (
        third
        - second_mean
        - np.einsum("jrk->jkr", second_mean)
        - np.einsum("krj->jkr", second_mean)
        + 2.0 * mean_cubed
    )
    adjustment = 0.5 * np.einsum("jk,jkr->r", np.linalg.inv(information), derivative)
    return _Point(beta, loglik + 0.5 * log_det, score + adjustment, information)


def _maximise(risk: _RiskSets, start: np.ndarray, free: np.ndarray) -> tuple[_Point, int, bool]:
    """Maximise l* over the ``free`` coefficients, the others held at ``start``.

    coxphf's steps ``I^-1 U*`` ignore the curvature of the penalty, so they converge only
    linearly, and in a few tiny data sets hardly at all; after PLAIN_ITERATIONS we take
    full Newton steps on the numerical Jacobian of ``U*`` (same maximum, found faster).
    """
    point = _evaluate(risk, start)
    for iteration in range(1, MAX_ITERATIONS + 1):
        if not np.isfinite(point.penalised):
            return point, iteration, False
        curvature = point.information[np.ix_(free, free)]
        if iteration > PLAIN_ITERATIONS:
            curvature = _newton_curvature(risk, point, free, curvature)
        step = np.zeros_like(start)
        try:
            step[free] = np.linalg.solve(curvature, point.score[free])
        except np.linalg.LinAlgError:
            return point, iteration, False
        step *= min(1.0, MAX_STEP / max(np.abs(step).max(), 1e-300))  # keeps the direction
        candidate = _evaluate(risk, point.beta + step)
        floor = point.penalised - 1e-12 * abs(point.penalised)  # rounding is not a fall
        for _ in range(MAX_HALVINGS):
            if candidate.penalised >= floor:
                break
            step = step / 2.0
            candidate = _evaluate(risk, point.beta + step)
        point = candidate
        if (
            np.abs(step).max() < STEP_TOLERANCE
            and np.abs(point.score[free]).max(initial=0.0) < SCORE_TOLERANCE
        ):
            return point, iteration, True
    return point, MAX_ITERATIONS, False


def _newton_curvature(
    risk: _RiskSets, point: _Point, free: np.ndarray, information: np.ndarray
) -> np.ndarray:
    """Minus the Jacobian of U* (forward differences), or I where that is not positive."""
    columns = []
    for k in np.flatnonzero(free):
        shifted = point.beta.copy()
        shifted[k] += JACOBIAN_STEP
        change = _evaluate(risk, shifted).score[free] - point.score[free]
        columns.append(-change / JACOBIAN_STEP)
    curvature = np.column_stack(columns)
    curvature = (curvature + curvature.T) / 2.0
    return curvature if np.linalg.eigvalsh(curvature).min() > 0.0 else information


class _ProfileFailed(Exception):
    """The constrained maximisation behind one profile value did not converge."""


def _profile(risk: _RiskSets, fit: _Point, term: int, value: float) -> float:
    """max l*(b | b_term = value).

    Each value starts from the same first-order guess, ``b_hat + V_.k / V_kk (value -
    b_hat_k)`` with ``V = I^-1`` (never from the previous value), so that the profile is a
    function of ``value`` alone, as a root finder needs.
    """
    variance = np.linalg.inv(fit.information)[:, term]
    start = fit.beta + variance / variance[term] * (value - fit.beta[term])
    start[term] = value
    free = np.arange(len(start)) != term
    if not free.any():
        return _evaluate(risk, start).penalised
    point, _, converged = _maximise(risk, start, free)
    if not np.isfinite(point.penalised):
        return -np.inf  # a singular information far out: below any target
    if not converged:
        raise _ProfileFailed
    return point.penalised


def _bound(risk: _RiskSets, fit: _Point, term: int, target: float, side: float) -> float | None:
    """Where the profile of ``term`` falls to ``target``, on the ``side`` (-1/+1) of b_hat."""
    from scipy.optimize import brentq

    def excess(value: float) -> float:
        # A singular information (-inf) becomes a large finite fall brentq can bracket.
        return max(_profile(risk, fit, term, value) - target, -1e6)

    width = 2.0 * float(np.sqrt(np.linalg.inv(fit.information)[term, term]))
    inner, outer = fit.beta[term], fit.beta[term] + side * width
    try:
        while excess(outer) > 0.0:
            inner, width = outer, 2.0 * width
            outer = inner + side * width
            if abs(outer - fit.beta[term]) > PROFILE_SEARCH_LIMIT:
                return None
        return float(brentq(excess, min(inner, outer), max(inner, outer), xtol=BOUND_TOLERANCE))
    except _ProfileFailed:
        return None


def fit_firth(
    x: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    *,
    terms: list[str] | None = None,
    ties: Ties = "breslow",
    confidence: float = 0.95,
) -> FirthResult:
    """Fit ``Surv(time, event) ~ x`` by Firth's penalised partial likelihood.

    Parameters
    ----------
    x : np.ndarray
        (n, p) design, complete cases (drop rows with missing values first), p >= 1.
    time, event : np.ndarray
        Follow-up times and event indicators (nonzero = event).
    terms : list of str, optional
        Names of the columns of ``x``; ``x1``, ``x2``, ... by default.
    ties : {"breslow", "efron"}
        Breslow by default because coxphf has only Breslow: the defaults give R's numbers.
    confidence : float
        Level of the profile penalised-likelihood intervals.

    Returns
    -------
    FirthResult
        ``status`` "no_events", "single_group" (a constant column) or "did_not_converge"
        (e.g. collinear columns) carry no estimates; a profile bound that cannot be found
        is None with a note.
    """
    x = np.asarray(x, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    time, observed = np.asarray(time, dtype=float), np.asarray(event) != 0
    n, p = x.shape
    names = list(terms) if terms is not None else [f"x{k + 1}" for k in range(p)]
    if len(time) != n or len(observed) != n or len(names) != p or p == 0:
        raise ValueError("x must be (n, p >= 1) with n times, n events and p term names")
    if ties not in ("breslow", "efron") or not 0.0 < confidence < 1.0:
        raise ValueError(f"ties must be 'breslow' or 'efron' ({ties!r}), 0 < confidence < 1")
    if not (np.isfinite(x).all() and np.isfinite(time).all()):
        raise ValueError("x and time must be finite: drop incomplete rows first")
    events = int(observed.sum())
    scale = x.std(axis=0, ddof=1) if n > 1 else np.zeros(p)
    constant = [names[k] for k in np.flatnonzero(scale == 0.0)]
    empty = tuple(FirthTerm(name, None, None, None, None, None, None, None) for name in names)
    if events == 0 or constant:
        status: FirthStatus = "no_events" if events == 0 else "single_group"
        note = "no events" if events == 0 else f"constant terms: {constant}"
        return FirthResult(empty, n, events, ties, confidence, status, p, notes=(note,))
    # Unit-SD covariates (as coxphf) make MAX_STEP and the tolerances scale-free.
    risk = _risk_sets((x - x.mean(axis=0)) / scale, time, observed, ties)
    fit, iterations, converged = _maximise(risk, np.zeros(p), np.ones(p, dtype=bool))
    if not converged:
        note = "no penalised maximum found (collinear terms?)"
        return FirthResult(
            empty, n, events, ties, confidence, "did_not_converge", p, False, iterations,
            notes=(note,),
        )  # fmt: skip
    null = _evaluate(risk, np.zeros(p))
    critical = NormalDist().inv_cdf(0.5 + confidence / 2.0) ** 2  # chi-square(1) quantile
    rows = tuple(
        _term_row(risk, fit, k, name, scale[k], fit.penalised - critical / 2.0)
        for k, name in enumerate(names)
    )
    notes = [
        f"{row.term}: a profile bound or the LR test not found"
        for row in rows
        if None in (row.ci_lower, row.ci_upper, row.p_value)
    ]
    offset = float(np.log(scale).sum())  # l* for the covariates as given (see module doc)
    lr = max(0.0, 2.0 * float(fit.penalised - null.penalised))
    return FirthResult(
        rows, n, events, ties, confidence, "ok", p, True, iterations,
        penalised_log_likelihood=float(fit.penalised) + offset,
        null_penalised_log_likelihood=float(null.penalised) + offset,
        lr_chi_square=lr,
        lr_p_value=chi2_sf(lr, p),
        notes=tuple(notes),
    )  # fmt: skip


def _term_row(
    risk: _RiskSets, fit: _Point, k: int, name: str, scale: float, target: float
) -> FirthTerm:
    """Estimate, SE, profile interval and penalised LR test of coefficient ``k``."""
    lower, upper = (_bound(risk, fit, k, target, side) for side in (-1.0, 1.0))
    try:
        chi_square = max(0.0, 2.0 * float(fit.penalised - _profile(risk, fit, k, 0.0)))
    except _ProfileFailed:
        chi_square = None
    return FirthTerm(
        term=name,
        coef=float(fit.beta[k] / scale),
        se=float(np.sqrt(np.linalg.inv(fit.information)[k, k]) / scale),
        hazard_ratio=_hazard_ratio(fit.beta[k] / scale),
        ci_lower=None if lower is None else _hazard_ratio(lower / scale),
        ci_upper=None if upper is None else _hazard_ratio(upper / scale),
        chi_square=chi_square,
        p_value=None if chi_square is None else chi2_sf(chi_square, 1),
    )


def _hazard_ratio(coef: float) -> float | None:
    """exp(coef), or None where it overflows (a bound of a covariate in tiny units)."""
    return float(np.exp(coef)) if coef < 700.0 else None
