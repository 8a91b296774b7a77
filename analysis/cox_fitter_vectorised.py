"""The exact Efron Cox fit of one 0/1 covariate for many genes at once.

:func:`analysis.cox_fitter.fit_efron` fits one model; a genome-wide scan
(:mod:`analysis.scan`) needs the same fit, Q2-Q4 vs Q1, for 20,000 genes. Here each gene
is a row of (genes x event-time terms) arrays, and Newton-Raphson runs on all rows at
once with ``fit_efron``'s step halving and stopping rule (same tolerances, same
iteration limit), so the hazard ratios are the exact maximum partial likelihood
estimates, not a one-step or score approximation. numpy only, no I/O.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from analysis.cox_fitter import (
    DIVERGED,
    LOGLIK_TOLERANCE,
    MAX_HALVINGS,
    MAX_ITERATIONS,
    STEP_TOLERANCE,
)

#: Below this |beta| the Efron log-likelihood may multiply four terms before the log.
_PRODUCT_SAFE_BETA = 40.0


class Scratch(Protocol):
    """Work arrays by name, reused between calls (``analysis.scan`` keeps one per thread)."""

    def __call__(self, name: str, shape: tuple[int, ...], dtype: type = ...) -> np.ndarray: ...


def _rows(table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return table if table.ndim == 1 else table[rows]


def efron_terms(
    at_risk: np.ndarray,
    deaths: np.ndarray,
    q1_at_risk: np.ndarray,
    q1_deaths: np.ndarray,
    ties: np.ndarray,
    scratch: Scratch,
) -> tuple[np.ndarray, np.ndarray]:
    """The Efron denominators as ``size + rest (exp(beta) - 1)``, one column per event.

    For the l-th of the d tied events at a time, Efron's denominator is
    ``n0 - (l/d) d0 + (n1 - (l/d) d1) exp(beta)`` (Q1: n0, d0; Q2-Q4: n1, d1), i.e.
    ``size + rest (exp(beta) - 1)`` with ``size = n - l`` and ``rest = n1 - (l/d) d1``.
    ``size`` is one row shared by all genes when no gene misses a patient. Columns are
    built per tie multiplicity l over the times with more than l events in the cohort;
    where a gene has d <= l there (missing values) the column is neutral (size 1, rest
    0: log 1 = 0). Neutral columns also pad the width to a multiple of 4 (:func:`_sum_log`).
    """
    genes = q1_at_risk.shape[0]
    sizes = [int(np.sum(ties > tie)) for tie in range(int(ties.max(initial=0)))]
    width = sum(sizes) + (-sum(sizes) % 4)
    risk_set = np.ones(width) if at_risk.ndim == 1 else scratch("risk_set", (genes, width))
    risk_set.fill(1.0)
    rest = scratch("rest", (genes, width))
    rest[:, sizes[0] if sizes else 0 :] = 0.0
    if not sizes:
        return risk_set, rest
    first = sizes[0]  # l = 0: size n, rest n1 wherever the gene has a death
    np.subtract(at_risk, q1_at_risk, out=rest[:, :first])
    risk_set[..., :first] = at_risk
    inactive = deaths == 0  # only where a gene misses patients
    if inactive.any():
        rest[:, :first][np.broadcast_to(inactive, (genes, first))] = 0.0
        risk_set[..., :first][inactive] = 1.0
    for tie, size in enumerate(sizes[1:], start=1):
        columns = np.flatnonzero(ties > tie)
        dead, q1_dead = deaths[..., columns], q1_deaths[:, columns]
        active = dead > tie
        fraction = tie / np.maximum(dead, 1.0)
        target = slice(first, first + size)
        np.copyto(risk_set[..., target], at_risk[..., columns] - tie, where=active)
        rest_term = at_risk[..., columns] - q1_at_risk[:, columns] - fraction * (dead - q1_dead)
        np.copyto(rest[:, target], rest_term, where=active)
        first += size
    return risk_set, rest


def _efron_value(
    risk_set: np.ndarray,
    rest: np.ndarray,
    events_x: np.ndarray,
    beta: np.ndarray,
    scratch: Scratch,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-likelihood, score and information of each row at its own beta.

    Per term, with w = exp(beta), denominator D = size + rest (w - 1) and p = rest w / D:
    loglik = beta d1 - sum log D, score = d1 - sum p, information = sum p (1 - p).
    """
    scale = np.exp(beta)
    if not beta.any():  # the first iteration: the denominators are the risk set sizes
        denominator = risk_set
        log_sum = np.log(risk_set).sum() if risk_set.ndim == 1 else None
    else:
        denominator = np.multiply(
            rest, (scale - 1.0)[:, None], out=scratch("denominator", rest.shape)
        )
        denominator += risk_set
        log_sum = None
    share = np.divide(rest, denominator, out=scratch("share", rest.shape))  # p / w
    total = share.sum(axis=1) * scale
    squares = np.vecdot(share, share) * scale * scale
    if log_sum is None:
        log_sum = _sum_log(denominator, beta, scratch)
    return beta * events_x - log_sum, events_x - total, total - squares


def _sum_log(positive: np.ndarray, beta: np.ndarray, scratch: Scratch) -> np.ndarray:
    """Row sums of log(positive) as logs of products of four terms: a quarter of the
    logarithms. For |beta| <= 40 every term lies within about 1e-20..1e+22, so the
    products cannot leave the floating-point range; other rows are summed term by term."""
    quarter = positive.shape[1] // 4
    product = scratch("product", (positive.shape[0], quarter))
    np.multiply(positive[:, :quarter], positive[:, quarter : 2 * quarter], out=product)
    product *= positive[:, 2 * quarter : 3 * quarter]
    product *= positive[:, 3 * quarter :]
    with np.errstate(divide="ignore", invalid="ignore"):
        total = np.log(product, out=product).sum(axis=1)
        outside = np.flatnonzero(~(np.abs(beta) <= _PRODUCT_SAFE_BETA) | ~np.isfinite(total))
        if outside.size:
            total[outside] = np.log(positive[outside]).sum(axis=1)
    return total


def newton_raphson(
    risk_set: np.ndarray, rest: np.ndarray, events_x: np.ndarray, scratch: Scratch
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row Newton-Raphson with the stopping rule of analysis.cox_fitter.fit_efron.

    Rows that stop (converged, diverged, singular) leave the working arrays, so the
    iterations left for a few slow genes cost little.
    """
    genes = rest.shape[0]
    beta = np.zeros(genes)
    converged = np.zeros(genes, dtype=bool)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        loglik, gradient, information = _efron_value(risk_set, rest, events_x, beta, scratch)
        working = np.arange(genes)
        for _ in range(MAX_ITERATIONS):
            if working.size == 0:
                break
            singular = ~(information[working] != 0.0)
            step = gradient[working] / information[working]
            candidate, new, step = _halve_until_better(
                risk_set, rest, events_x, beta[working], step, loglik[working], scratch
            )
            change = np.abs(new[0] - loglik[working])
            beta[working] = candidate
            loglik[working], gradient[working], information[working] = new
            diverged = ~(np.abs(candidate) <= DIVERGED)
            done = (np.abs(step) < STEP_TOLERANCE) & (change <= LOGLIK_TOLERANCE * np.abs(new[0]))
            done &= ~diverged & ~singular
            converged[working[done]] = True
            still = ~(done | diverged | singular)
            if not still.all():
                risk_set, rest = _rows(risk_set, still), rest[still]
                events_x = events_x[still]
                working = working[still]
    return beta, information, converged


def _halve_until_better(
    risk_set: np.ndarray,
    rest: np.ndarray,
    events_x: np.ndarray,
    beta: np.ndarray,
    step: np.ndarray,
    loglik: np.ndarray,
    scratch: Scratch,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Take the Newton step; halve it (at most 20 times) where the log-likelihood falls."""
    candidate = beta + step
    new = list(_efron_value(risk_set, rest, events_x, candidate, scratch))
    worse = new[0] < loglik - LOGLIK_TOLERANCE * np.abs(loglik)
    for _ in range(MAX_HALVINGS):
        rows = np.flatnonzero(worse)
        if rows.size == 0:
            break
        step[rows] /= 2.0
        candidate[rows] = beta[rows] + step[rows]
        retried = _efron_value(
            _rows(risk_set, rows), rest[rows], events_x[rows], candidate[rows], scratch
        )
        for values, replacement in zip(new, retried, strict=True):
            values[rows] = replacement
        worse[rows] = retried[0] < loglik[rows] - LOGLIK_TOLERANCE * np.abs(loglik[rows])
    return candidate, (new[0], new[1], new[2]), step
