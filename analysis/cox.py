"""Cox proportional hazards models, converged as tightly as R's coxph.

Conventions (docs/statistics.md, "Cox"): Efron ties (lifelines' and R's default), Newton-
Raphson to a relative log-likelihood change of 1e-12 (:mod:`analysis.coxph`, numpy; equal
to lifelines at ``precision = r_precision = 1e-12`` and to published R output in the
tests), 95% Wald intervals and Wald p-values,
proportional-hazards test on Schoenfeld residuals with the Kaplan-Meier time transform
(R ``cox.zph``'s default ``transform = "km"``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: lifelines settings that reproduce R's convergence (used by the tests' reference fits).
FIT_OPTIONS = {"precision": 1e-12, "r_precision": 1e-12}
MIN_EVENTS_PER_VARIABLE = 10
PH_TIME_TRANSFORM = "km"
#: Two-sided 95% normal quantile, as lifelines (alpha 0.05) and R's confint use.
WALD_Z = 1.959963984540054


@dataclass(frozen=True)
class CoxTerm:
    """One coefficient. Values are None (never NaN) when the model could not be fitted."""

    term: str
    coef: float | None
    se: float | None
    hazard_ratio: float | None
    ci_lower: float | None
    ci_upper: float | None
    p_value: float | None
    ph_test_p: float | None


@dataclass(frozen=True)
class CoxResult:
    """A fitted (or refused) Cox model.

    ``status``: ``"ok"``; ``"few_events_per_variable"`` (fitted and reported, but fewer
    than 10 events per term: estimates are unstable); ``"no_events"``;
    ``"no_events_in_group"`` (a 0/1 term's level has no events: the hazard ratio is
    infinite, nothing is reported); ``"single_group"`` (a term is constant);
    ``"did_not_converge"``.
    """

    terms: tuple[CoxTerm, ...]
    n: int
    events: int
    events_per_variable: float | None
    ph_test_global_p: float | None
    log_likelihood: float | None
    status: str
    warnings: tuple[str, ...] = field(default=())

    def term(self, name: str) -> CoxTerm:
        """The row for one term."""
        for row in self.terms:
            if row.term == name:
                return row
        raise KeyError(name)


def _empty(
    terms: Sequence[str], n: int, events: int, epv: float | None, status: str, notes: list[str]
) -> CoxResult:
    rows = tuple(CoxTerm(term, None, None, None, None, None, None, None) for term in terms)
    return CoxResult(rows, n, events, epv, None, None, status, tuple(notes))


def _degenerate_terms(frame: pd.DataFrame, event_col: str, terms: Sequence[str]) -> list[str]:
    """0/1 terms one of whose levels has no events (the estimate would be +/- infinity)."""
    found = []
    for term in terms:
        column = frame[term]
        if set(np.unique(column)) <= {0, 1}:
            events_at_one = frame.loc[column == 1, event_col].sum()
            events_at_zero = frame.loc[column == 0, event_col].sum()
            if events_at_one == 0 or events_at_zero == 0:
                found.append(term)
    return found


def cox_model(
    frame: pd.DataFrame,
    duration_col: str,
    event_col: str,
    terms: list[str],
    *,
    reference_terms: Sequence[str] = (),
    min_events_per_variable: float = MIN_EVENTS_PER_VARIABLE,
    ph_test: bool = True,
) -> CoxResult:
    """Fit ``Surv(duration, event) ~ terms`` with Efron ties and R-level convergence.

    Parameters
    ----------
    frame : pd.DataFrame
        Numeric columns only (group dummies already made); rows with a missing value in
        the used columns are dropped (complete cases, as R's ``na.omit``).
    duration_col, event_col : str
    terms : list of str
        Columns to use as covariates, in order.
    reference_terms : sequence of str
        The 0/1 dummies of one factor (e.g. "Q2", "Q3", "Q4"); the rows where all are 0
        form the reference group, which must also have events.
    min_events_per_variable : float
        Below this, status "few_events_per_variable" (results still reported).
    ph_test : bool
        Run the Schoenfeld-residual test (lifelines ``proportional_hazard_test`` with
        ``time_transform="km"``, the Grambsch-Therneau approximation used by R's
        ``cox.zph`` before survival 3.0).

    Returns
    -------
    CoxResult
    """
    from analysis.coxph import fit_efron
    from analysis.distributions import normal_sf

    data = frame[[duration_col, event_col, *terms]].dropna().astype(float)
    n = len(data)
    events = int(data[event_col].sum())
    epv = events / len(terms) if terms else None
    notes: list[str] = []
    if n < len(frame):
        notes.append(f"{len(frame) - n} rows with missing values dropped")
    if events == 0:
        return _empty(terms, n, events, epv, "no_events", notes)
    constant = [term for term in terms if data[term].nunique() < 2]
    if constant:
        notes.append(f"constant terms: {constant}")
        return _empty(terms, n, events, epv, "single_group", notes)
    degenerate = _degenerate_terms(data, event_col, terms)
    if (
        reference_terms
        and data.loc[(data[list(reference_terms)] == 0).all(axis=1), event_col].sum() == 0
    ):
        degenerate.append("reference group")
    if degenerate:
        notes.append(f"no events in a level of: {degenerate}")
        return _empty(terms, n, events, epv, "no_events_in_group", notes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # overflow in a diverging fit is reported below
        fit = fit_efron(
            data[terms].to_numpy(),
            data[duration_col].to_numpy(),
            data[event_col].to_numpy() > 0,
        )
    if not fit.converged:
        notes.append("Newton-Raphson did not converge (monotone likelihood?)")
        return _empty(terms, n, events, epv, "did_not_converge", notes)
    ph_terms, ph_global = (
        _ph_test(fit, data[duration_col].to_numpy(), data[event_col].to_numpy() > 0, terms, notes)
        if ph_test
        else ({}, None)
    )
    errors = fit.standard_errors
    rows = tuple(
        CoxTerm(
            term=term,
            coef=float(fit.coef[index]),
            se=float(errors[index]),
            hazard_ratio=float(np.exp(fit.coef[index])),
            ci_lower=float(np.exp(fit.coef[index] - WALD_Z * errors[index])),
            ci_upper=float(np.exp(fit.coef[index] + WALD_Z * errors[index])),
            p_value=float(2.0 * normal_sf(abs(fit.coef[index] / errors[index]))),
            ph_test_p=ph_terms.get(term),
        )
        for index, term in enumerate(terms)
    )
    if not all(np.isfinite(row.coef) and np.isfinite(row.se) for row in rows):
        notes.append("non-finite estimate")
        return _empty(terms, n, events, epv, "did_not_converge", notes)
    status = "ok"
    if epv is not None and epv < min_events_per_variable:
        status = "few_events_per_variable"
        notes.append(f"{epv:.1f} events per variable (< {min_events_per_variable:g})")
    return CoxResult(rows, n, events, epv, ph_global, fit.log_likelihood, status, tuple(notes))


def _ph_test(
    fit: object,
    durations: np.ndarray,
    observed: np.ndarray,
    terms: Sequence[str],
    notes: list[str],
) -> tuple[dict[str, float], float | None]:
    """Per-term and global Schoenfeld-residual tests; a failure becomes a note.

    Grambsch-Therneau statistics on the scaled Schoenfeld residuals r and the centred,
    transformed death times g ("km": 1 - KM(t), R ``cox.zph`` before survival 3.0):
    per term ``(g'r_k)^2 / (d V_kk sum g^2)`` (the formula of lifelines'
    ``proportional_hazard_test``, tested against it) and globally
    ``(g'r) V^-1 (g'r)' / (d sum g^2)``, with V the coefficient covariance and d the
    number of deaths.
    """
    from analysis.distributions import chi2_sf
    from analysis.survival import km_curve

    curve = km_curve(durations, observed)
    grid = curve["time_days"].to_numpy()
    survival = curve["survival"].to_numpy()
    times = 1.0 - survival[np.searchsorted(grid, fit.death_times, side="right") - 1]
    scaled = fit.scaled_schoenfeld()
    variance = fit.variance
    deaths = float(len(fit.death_times))
    centred = times - times.mean()
    spread = float(np.sum(centred**2))
    if spread == 0.0:
        notes.append("proportional-hazards test undefined (all deaths at one time)")
        return {}, None
    weighted = centred @ scaled
    per_term = weighted**2 / (deaths * np.diag(variance) * spread)
    statistic = float(weighted @ np.linalg.solve(variance, weighted)) / (deaths * spread)
    return (
        {term: chi2_sf(float(value), 1) for term, value in zip(terms, per_term, strict=True)},
        chi2_sf(statistic, len(terms)),
    )
