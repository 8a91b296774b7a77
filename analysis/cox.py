"""Cox proportional hazards models, converged as tightly as R's coxph.

Conventions (docs/statistics.md, "Cox"): Efron ties (lifelines' and R's default), Newton-
Raphson to a relative log-likelihood change of 1e-12 (:mod:`analysis.cox_fitter`, numpy; equal
to lifelines at ``precision = r_precision = 1e-12`` and to published R output in the
tests), 95% Wald intervals and Wald p-values, and the proportional-hazards test of R
survival >= 3.0 ``cox.zph`` (score test, left-continuous Kaplan-Meier time transform,
:mod:`analysis.zph`).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.vocabulary import MIN_EVENTS_PER_VARIABLE, WALD_Z, Status

#: lifelines settings that reproduce R's convergence (used by the tests' reference fits).
FIT_OPTIONS = {"precision": 1e-12, "r_precision": 1e-12}
PH_TIME_TRANSFORM = "km"


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
    #: This term's own status when it differs from the model's (e.g. a covariate
    #: estimated while the biomarker term is not estimable); None = the model's status.
    status: Status | None = None
    #: Why this term has no estimate, or how it was estimated, in words.
    note: str | None = None


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
    status: Status
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


def _degenerate_terms(
    frame: pd.DataFrame, event_col: str, terms: Sequence[str]
) -> dict[str, float]:
    """0/1 terms one of whose levels has no events (the estimate would be +/- infinity),
    with that level (1.0 or 0.0)."""
    found: dict[str, float] = {}
    for term in terms:
        column = frame[term]
        if set(np.unique(column)) <= {0, 1}:
            for level in (1.0, 0.0):
                if frame.loc[column == level, event_col].sum() == 0:
                    found[term] = level
                    break
    return found


def _limit_fit(
    data: pd.DataFrame,
    duration_col: str,
    event_col: str,
    terms: Sequence[str],
    degenerate: dict[str, float],
    reference_terms: Sequence[str],
    reference_degenerate: bool,
    *,
    min_events_per_variable: float,
    ph_test: bool,
    notes: list[str],
) -> CoxResult:
    """The other terms' MLE when some 0/1 terms have a level without events.

    Such a term's coefficient diverges (monotone likelihood); the patients of its
    event-free level then drop out of every risk set, so the profile likelihood of the
    other coefficients tends to the partial likelihood of the remaining patients. Their
    MLE there is the limit of the joint MLE (what R ``coxph`` approaches with its
    "coefficient may be infinite" warning), reported with the reason; the diverging terms
    get no estimate.
    """
    keep = np.ones(len(data), dtype=bool)
    for term, level in degenerate.items():
        keep &= data[term].to_numpy() != level
    nuisance: list[str] = []
    if reference_degenerate:
        keep &= (data[list(reference_terms)] != 0).any(axis=1).to_numpy()
        # Each remaining patient is in one non-reference group: the first present group
        # becomes the baseline and the others stay in the model as unreported nuisance
        # terms, so that the covariates are still adjusted for the grouping.
        present = [t for t in reference_terms if data.loc[keep, t].sum() > 0]
        nuisance = present[1:]
    subset = data.loc[keep].reset_index(drop=True)
    blocked = set(degenerate) | (set(reference_terms) if reference_degenerate else set())
    estimable = [t for t in terms if t not in blocked and subset[t].nunique() > 1]
    first_event = data.loc[data[event_col] > 0, duration_col].min()
    reasons = {
        term: (
            f"not estimable: the patients with {term} = {level:g} are all censored before "
            "the first event, so the data carry no information on this hazard ratio"
            if data.loc[data[term] == level, duration_col].max() < first_event
            else f"not estimable: no events among the patients with {term} = {level:g}, so "
            f"the hazard ratio is {'0' if level == 1.0 else 'infinite'} (monotone likelihood)"
        )
        for term, level in degenerate.items()
    }
    for term in reference_terms if reference_degenerate else ():
        reasons.setdefault(
            term,
            "not estimable: the reference group has no events, so the hazard ratio is "
            "infinite (monotone likelihood)",
        )
    limit = None
    if estimable:
        limit = _fit_frame(
            subset,
            duration_col,
            event_col,
            [*estimable, *nuisance],
            min_events_per_variable=min_events_per_variable,
            ph_test=ph_test,
        )
    dropped = ", ".join(sorted(blocked))
    rows = []
    for term in terms:
        fitted = limit.term(term) if limit is not None and term in estimable else None
        if limit is not None and fitted is not None and fitted.coef is not None:
            note = (
                f"estimated without {dropped} (not estimable): the fit on the "
                f"{len(subset)} patients outside its event-free level, the limit of the joint "
                "maximum likelihood"
            )
            rows.append(
                dataclasses.replace(
                    fitted, status=fitted.status or limit.status, note=fitted.note or note
                )
            )
        else:
            reason = reasons.get(
                term,
                f"not estimable jointly with {dropped}: constant "
                "among the patients outside the event-free level(s)",
            )
            rows.append(
                CoxTerm(
                    term,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    "no_events_in_group" if term in blocked else "single_group",
                    reason,
                )
            )
    notes.append(f"no events in a level of: {dropped}")
    events = int(data[event_col].sum())
    epv = events / len(terms)
    return CoxResult(
        tuple(rows),
        len(data),
        events,
        epv,
        limit.ph_test_global_p if limit is not None else None,
        None,
        "no_events_in_group",
        tuple(notes),
    )


#: Column names of the internal frame; a term may not use them.
_TIME, _EVENT = "__time__", "__event__"


def cox_model(
    x: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    terms: Sequence[str],
    *,
    reference_terms: Sequence[str] = (),
    min_events_per_variable: float = MIN_EVENTS_PER_VARIABLE,
    ph_test: bool = True,
) -> CoxResult:
    """Fit ``Surv(time, event) ~ x`` with Efron ties and R-level convergence.

    Parameters
    ----------
    x : np.ndarray
        (n, p) numeric design, one column per term (group dummies already made); rows
        with a missing value in ``x``, ``time`` or ``event`` are dropped (complete cases,
        as R's ``na.omit``).
    time, event : np.ndarray
        Follow-up times and 0/1 event indicators.
    terms : sequence of str
        Names of the columns of ``x``, in order.
    reference_terms : sequence of str
        The 0/1 dummies of one factor (e.g. "Q2", "Q3", "Q4"); the rows where all are 0
        form the reference group, which must also have events.
    min_events_per_variable : float
        Below this, status "few_events_per_variable" (results still reported).
    ph_test : bool
        Run the proportional-hazards test of R survival >= 3.0 ``cox.zph`` (per term and
        global; :func:`_ph_test`).

    Returns
    -------
    CoxResult
    """
    design = np.asarray(x, dtype=float)
    design = design[:, None] if design.ndim == 1 else design
    names = list(terms)
    if design.shape[1] != len(names) or {_TIME, _EVENT} & set(names):
        raise ValueError(f"x must have one column per term, none named {_TIME} or {_EVENT}")
    frame = pd.DataFrame(design, columns=names)
    frame[_TIME] = np.asarray(time, dtype=float)
    frame[_EVENT] = np.asarray(event, dtype=float)
    return _fit_frame(
        frame,
        _TIME,
        _EVENT,
        names,
        reference_terms=reference_terms,
        min_events_per_variable=min_events_per_variable,
        ph_test=ph_test,
    )


def _fit_frame(
    frame: pd.DataFrame,
    duration_col: str,
    event_col: str,
    terms: list[str],
    *,
    reference_terms: Sequence[str] = (),
    min_events_per_variable: float = MIN_EVENTS_PER_VARIABLE,
    ph_test: bool = True,
) -> CoxResult:
    """:func:`cox_model` on a frame with the time and event columns named."""
    from analysis.cox_fitter import fit_efron
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
    reference_degenerate = bool(reference_terms) and (
        data.loc[(data[list(reference_terms)] == 0).all(axis=1), event_col].sum() == 0
    )
    if reference_degenerate:
        for term in reference_terms:  # "Qk vs Q1" diverges for every k, not as a level
            degenerate.pop(term, None)
    if degenerate or reference_degenerate:
        return _limit_fit(
            data,
            duration_col,
            event_col,
            terms,
            degenerate,
            reference_terms,
            reference_degenerate,
            min_events_per_variable=min_events_per_variable,
            ph_test=ph_test,
            notes=notes,
        )
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
        _ph_test(
            data[terms].to_numpy(),
            data[duration_col].to_numpy(),
            data[event_col].to_numpy() > 0,
            fit.coef,
            terms,
            notes,
        )
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
    x: np.ndarray,
    durations: np.ndarray,
    observed: np.ndarray,
    coef: np.ndarray,
    terms: Sequence[str],
    notes: list[str],
) -> tuple[dict[str, float | None], float | None]:
    """Per-term and global proportional-hazards tests; an undefined test becomes a note.

    R survival >= 3.0 ``cox.zph(fit, transform = "km")``: the score test for adding
    ``x * g(t)`` at the fitted coefficients, g the left-continuous 1 - KM(t-) of the
    pooled data, Efron weights as the fit (:func:`analysis.zph.cox_zph`, equal to R's
    output in ``tests/reference/test_r_cox_zph.py``).
    """
    from analysis.zph import cox_zph

    result = cox_zph(x, durations, observed, coef, ties="efron", transform=PH_TIME_TRANSFORM)
    if result.status != "ok":
        notes.append(f"proportional-hazards test undefined ({result.status})")
        return {}, None
    per_term = {term: test.p_value for term, test in zip(terms, result.terms, strict=True)}
    return per_term, result.global_test.p_value
