"""Cox proportional hazards by Newton-Raphson on the Efron partial likelihood (numpy).

Why our own: a study spec asks for about a hundred small Cox models (4 genes x 2
endpoints x 2 groupings x subgroups, univariable, adjusted and interaction), and
lifelines' fitter is slower per model and costly to import with pandas' and scipy's
statistics (docs/performance.md, "Start-up"). The estimates are the same maximum of the
same likelihood:
``tests/unit/analysis/test_cox_fitter.py`` checks coefficients, standard errors,
log-likelihood and Schoenfeld residuals against lifelines, and the reference tests
check the published R ``coxph`` values.

Efron (1977) for tied death times: at a time with ``d`` deaths, the l-th (l = 0..d-1)
term of the denominator is ``S0(R) - (l/d) S0(D)`` (risk set R, deaths D), and the
same weighting gives the expected covariate of each tied death (Schoenfeld residuals,
as R's ``residuals.coxph`` and lifelines compute them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Newton-Raphson stops when the log-likelihood changes by less than this (relative)
#: and the largest step is below STEP_TOLERANCE: as tight as R's coxph at 1e-12.
LOGLIK_TOLERANCE = 1e-12
STEP_TOLERANCE = 1e-9
MAX_ITERATIONS = 60
#: A step that lowers the log-likelihood is halved, at most this many times.
MAX_HALVINGS = 20
#: |coefficient| beyond this means a monotone likelihood (separation): no finite MLE.
DIVERGED = 30.0


@dataclass(frozen=True)
class CoxFit:
    """A fitted model: estimates, covariance, and what the PH test needs."""

    coef: np.ndarray
    variance: np.ndarray
    log_likelihood: float
    converged: bool
    death_times: np.ndarray
    schoenfeld: np.ndarray

    @property
    def standard_errors(self) -> np.ndarray:
        return np.sqrt(np.diag(self.variance))

    def scaled_schoenfeld(self) -> np.ndarray:
        """Grambsch-Therneau scaling ``d * r V`` (without adding coef; centred tests
        do not depend on it)."""
        return len(self.death_times) * self.schoenfeld @ self.variance


def _tie_groups(time: np.ndarray, event: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each distinct death time: (indices at risk, indices of the deaths)."""
    order = np.argsort(time, kind="stable")
    groups = []
    for death_time in np.unique(time[event]):
        at_risk = order[np.searchsorted(time[order], death_time, side="left") :]
        deaths = np.flatnonzero(event & (time == death_time))
        groups.append((at_risk, deaths))
    return groups


def _efron_terms(
    x: np.ndarray, risk: np.ndarray, groups: list[tuple[np.ndarray, np.ndarray]]
) -> tuple[float, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Log-likelihood, gradient, information, and each tie group's expected x."""
    p = x.shape[1]
    loglik = 0.0
    gradient = np.zeros(p)
    information = np.zeros((p, p))
    expected: list[np.ndarray] = []
    weights = np.exp(risk)
    for at_risk, deaths in groups:
        w_r, x_r = weights[at_risk], x[at_risk]
        w_d, x_d = weights[deaths], x[deaths]
        s0_r, s1_r = w_r.sum(), w_r @ x_r
        s2_r = (x_r * w_r[:, None]).T @ x_r
        s0_d, s1_d = w_d.sum(), w_d @ x_d
        s2_d = (x_d * w_d[:, None]).T @ x_d
        count = len(deaths)
        loglik += risk[deaths].sum()
        gradient += x_d.sum(axis=0)
        mean_sum = np.zeros(p)
        for tie_index in range(count):
            fraction = tie_index / count
            s0 = s0_r - fraction * s0_d
            s1 = s1_r - fraction * s1_d
            s2 = s2_r - fraction * s2_d
            loglik -= np.log(s0)
            mean = s1 / s0
            gradient -= mean
            information += s2 / s0 - np.outer(mean, mean)
            mean_sum += mean
        expected.append(mean_sum / count)
    return loglik, gradient, information, expected


def fit_efron(x: np.ndarray, time: np.ndarray, event: np.ndarray) -> CoxFit:
    """Maximise the Efron partial likelihood of ``event ~ x`` by Newton-Raphson."""
    x = np.asarray(x, dtype=float)
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    # Centring changes no estimate but keeps exp() well scaled (R and lifelines do too).
    centred = x - x.mean(axis=0)
    groups = _tie_groups(time, event)
    coef = np.zeros(x.shape[1])
    loglik, gradient, information, expected = _efron_terms(centred, centred @ coef, groups)
    converged = False
    for _ in range(MAX_ITERATIONS):
        try:
            step = np.linalg.solve(information, gradient)
        except np.linalg.LinAlgError:
            break
        candidate = coef + step
        new = _efron_terms(centred, centred @ candidate, groups)
        halvings = 0
        while new[0] < loglik - LOGLIK_TOLERANCE * abs(loglik) and halvings < MAX_HALVINGS:
            step /= 2.0
            candidate = coef + step
            new = _efron_terms(centred, centred @ candidate, groups)
            halvings += 1
        change = abs(new[0] - loglik)
        coef, (loglik, gradient, information, expected) = candidate, new
        if np.max(np.abs(coef)) > DIVERGED:
            break
        if np.max(np.abs(step)) < STEP_TOLERANCE and change <= LOGLIK_TOLERANCE * abs(loglik):
            converged = True
            break
    try:
        variance = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        variance = np.full_like(information, np.nan)
        converged = False
    death_rows = np.concatenate([deaths for _, deaths in groups]) if groups else np.array([], int)
    means = (
        np.concatenate(
            [
                np.repeat(mean[None, :], len(deaths), axis=0)
                for mean, (_, deaths) in zip(expected, groups, strict=True)
            ]
        )
        if groups
        else np.zeros((0, x.shape[1]))
    )
    order = np.argsort(death_rows, kind="stable")  # deaths back in data order
    residuals = (centred[death_rows] - means)[order]
    return CoxFit(
        coef=coef,
        variance=variance,
        log_likelihood=float(loglik),
        converged=converged,
        death_times=time[death_rows][order],
        schoenfeld=residuals,
    )
