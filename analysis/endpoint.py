"""The analysis of one endpoint under one grouping: what the orchestrator calls.

``analyze_groups`` takes per-patient arrays (time in days, 0/1 event, group label) and
returns tidy Polars frames without run or biomarker keys (the orchestrator adds them).
Degenerate data never raise and never produce NaN: they produce explicit status values
and None (see docs/statistics.md, "Status values").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import polars as pl

from analysis.cox import CoxResult, cox_model
from analysis.interaction import interaction_test
from analysis.logrank import TestResult, logrank_test, logrank_trend_test
from analysis.survival import CURVE_COLUMNS, km_at, km_curve, median_survival
from analysis.vocabulary import CIMethod, FirthMode

#: Statuses of a maximum-likelihood fit for which ``firth="auto"`` adds the Firth rows.
FIRTH_WHEN = ("no_events_in_group", "did_not_converge")

__all__ = ["GroupAnalysis", "analyze_groups", "interaction_test", "valid_rows"]

GROUP_SUMMARY_SCHEMA = {
    "group_label": pl.String,
    "n": pl.Int64,
    "events": pl.Int64,
    "median_days": pl.Float64,
    "median_ci_lower": pl.Float64,
    "median_ci_upper": pl.Float64,
    "status": pl.String,
}
LANDMARK_SCHEMA = {
    "group_label": pl.String,
    "time_days": pl.Float64,
    "n_at_risk": pl.Int64,
    "survival": pl.Float64,
    "ci_lower": pl.Float64,
    "ci_upper": pl.Float64,
    "ci_status": pl.String,
    "ci_method": pl.String,
}
LOGRANK_SCHEMA = {
    "test": pl.String,
    "statistic": pl.Float64,
    "df": pl.Int64,
    "p_value": pl.Float64,
    "status": pl.String,
}
COX_SCHEMA = {
    "model": pl.String,
    "method": pl.String,
    "term": pl.String,
    "hazard_ratio": pl.Float64,
    "ci_lower": pl.Float64,
    "ci_upper": pl.Float64,
    "p_value": pl.Float64,
    "n": pl.Int64,
    "events": pl.Int64,
    "events_per_variable": pl.Float64,
    "ph_test_p": pl.Float64,
    "ph_test_global_p": pl.Float64,
    "status": pl.String,
    "note": pl.String,
}


@dataclass(frozen=True)
class GroupAnalysis:
    """All results of one endpoint x grouping (x subgroup), as tidy frames."""

    group_summary: pl.DataFrame
    km_landmarks: pl.DataFrame
    km_curves: pl.DataFrame
    logrank: pl.DataFrame
    cox: pl.DataFrame
    n_used: int
    n_dropped: int
    warnings: list[str] = field(default_factory=list)


def valid_rows(time_days: np.ndarray, event: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Rows usable for analysis: a label, a finite non-negative time and a 0/1 event."""
    times = np.asarray(time_days, dtype=float)
    events = np.asarray(event, dtype=float)
    has_label = np.array([label is not None and label == label for label in labels], dtype=bool)
    return has_label & np.isfinite(times) & (times >= 0) & np.isin(events, (0.0, 1.0))


def analyze_groups(
    time_days: np.ndarray,
    event: np.ndarray,
    labels: np.ndarray,
    group_order: Sequence[str],
    *,
    landmarks_days: Sequence[float],
    ci_method: CIMethod = "log-log",
    covariates: pd.DataFrame | None = None,
    firth: FirthMode = "auto",
) -> GroupAnalysis:
    """Kaplan-Meier, landmarks, medians, log-rank (and trend), Cox for one grouping.

    Parameters
    ----------
    time_days : np.ndarray of float
        Time from origin to event or censoring, in days.
    event : np.ndarray of {0, 1}
    labels : np.ndarray of str or None
        Group label per patient (from :func:`analysis.groups.assign_groups`).
    group_order : sequence of str
        Lowest expression first; ``group_order[0]`` is the reference of every hazard
        ratio ("Q2-Q4 vs Q1") and scores 1..k of the trend test follow this order.
    landmarks_days : sequence of float
        Times at which to report the (right-continuous) Kaplan-Meier value.
    ci_method : {"log-log", "log", "plain"}
    covariates : pd.DataFrame, optional
        Numeric adjustment columns aligned row by row with the arrays; when given, an
        "adjusted" Cox model (group dummies + these columns, complete cases) is added.
    firth : {"auto", "always", "never"}
        Firth-penalised Cox rows (``method = "firth"``, :mod:`analysis.firth`) next to the
        maximum-likelihood ones: where the MLE does not exist ("auto"), for every model,
        or never.

    Returns
    -------
    GroupAnalysis
        Rows with a missing or unknown label, a missing or negative time, or an event not
        0/1 are dropped and counted in ``n_dropped``.
    """
    order = [str(label) for label in group_order]
    label_array = np.asarray(labels, dtype=object)
    keep = valid_rows(time_days, event, label_array)
    unknown = keep & ~np.isin(label_array.astype(str), order)
    keep &= ~unknown
    notes = [f"{int(unknown.sum())} rows with a label not in group_order dropped"] * bool(
        unknown.any()
    )
    times = np.asarray(time_days, dtype=float)[keep]
    events = np.asarray(event, dtype=float)[keep]
    group = label_array[keep].astype(str)
    summary_rows, landmark_rows, curves = [], [], []
    for label in order:
        in_group = group == label
        n, n_events = int(in_group.sum()), int(events[in_group].sum())
        if n == 0:
            summary_rows.append((label, 0, 0, None, None, None, "empty_group"))
            landmark_rows += [
                (label, float(t), 0, None, None, None, "empty_group", ci_method)
                for t in landmarks_days
            ]
            continue
        curve = km_curve(times[in_group], events[in_group], ci_method=ci_method)
        curves.append(curve.select(CURVE_COLUMNS).with_columns(group_label=pl.lit(label)))
        median = median_survival(curve)
        status = "ok" if n_events else "no_events"
        summary_rows.append((label, n, n_events, *median, status))
        for t in landmarks_days:
            point = km_at(curve, float(t))
            landmark_rows.append((label, float(t), *point, ci_method))
    km_curves = (
        pl.concat(curves).select(["group_label", *CURVE_COLUMNS])
        if curves
        else pl.DataFrame(
            schema={"group_label": pl.String} | {c: pl.Float64 for c in CURVE_COLUMNS}
        )
    )
    cox_frames = [_univariable_cox(times, events, group, order, firth)]
    if covariates is not None:
        cox_frames.append(
            _adjusted_cox(times, events, group, order, covariates[keep], notes, firth)
        )
    return GroupAnalysis(
        group_summary=pl.DataFrame(summary_rows, schema=GROUP_SUMMARY_SCHEMA, orient="row"),
        km_landmarks=pl.DataFrame(landmark_rows, schema=LANDMARK_SCHEMA, orient="row"),
        km_curves=km_curves,
        logrank=_logrank_frame(times, events, group, order),
        cox=pl.concat(cox_frames),
        n_used=int(keep.sum()),
        n_dropped=int((~keep).sum()),
        warnings=notes,
    )


def _logrank_frame(
    times: np.ndarray, events: np.ndarray, group: np.ndarray, order: list[str]
) -> pl.DataFrame:
    rows: list[tuple[str, TestResult]] = [("logrank", logrank_test(times, events, group))]
    if len(order) > 2:
        scores = np.array([order.index(label) + 1 for label in group], dtype=float)
        rows.append(("logrank_trend", logrank_trend_test(times, events, scores)))
    return pl.DataFrame(
        [(name, r.statistic, r.df, r.p_value, r.status) for name, r in rows],
        schema=LOGRANK_SCHEMA,
        orient="row",
    )


def _dummies(group: np.ndarray, order: list[str]) -> pd.DataFrame:
    """0/1 indicator per non-reference group (treatment contrasts against order[0])."""
    return pd.DataFrame({label: (group == label).astype(float) for label in order[1:]})


def _term_name(label: str, reference: str) -> str:
    return f"{label} vs {reference}"


def _cox_rows(model: str, result: CoxResult, order: list[str], extra: Sequence[str]) -> list:
    rows = []
    names = {label: _term_name(label, order[0]) for label in order[1:]} | {c: c for c in extra}
    for term in result.terms:
        rows.append(
            (
                model,
                "mle",
                names[term.term],
                term.hazard_ratio,
                term.ci_lower,
                term.ci_upper,
                term.p_value,
                result.n,
                result.events,
                result.events_per_variable,
                term.ph_test_p,
                result.ph_test_global_p,
                term.status or result.status,
                _readable(term.note, order),
            )
        )
    return rows


def _readable(note: str | None, order: list[str]) -> str | None:
    """A Cox note in the groups' words: "no events in Q1 (the reference group)"
    rather than in terms of the 0/1 design columns."""
    if note is None:
        return None
    note = note.replace("the reference group has", f"{order[0]}, the reference group, has")
    for label in order[1:]:
        note = note.replace(f"among the patients with {label} = 1", f"in {label}")
        note = note.replace(f"the patients with {label} = 1 are", f"the patients of {label} are")
    return note


def _fit_groups(
    model: str, frame: pd.DataFrame, order: list[str], extra: Sequence[str], firth: FirthMode
) -> pl.DataFrame:
    """Fit one model; groups of size 0 and impossible contrasts become status rows.

    ``firth`` ("auto", "always", "never"): whether Firth-penalised rows
    (``method = "firth"``) follow the maximum-likelihood rows; "auto" adds them where the
    MLE does not exist (a group without events: monotone likelihood).
    """
    sizes = {label: int(frame[label].sum()) for label in order[1:]}
    reference_size = int((frame[order[1:]] == 0).all(axis=1).sum())
    present = [label for label in order[1:] if sizes[label] > 0]
    n, n_events = len(frame), int(frame["event"].sum())
    if len(present) + (reference_size > 0) < 2 or reference_size == 0:
        status = "single_group" if len(present) + (reference_size > 0) < 2 else "empty_group"
        with_patients = [order[0]] * (reference_size > 0) + present
        note = (
            f"not estimable: only {', '.join(with_patients) or 'no group'} has patients"
            if status == "single_group"
            else f"not estimable: {order[0]}, the reference group, has no patients"
        )
        return _status_rows(model, order, order[1:], extra, n, n_events, status, note)
    terms = [*present, *extra]
    result = cox_model(
        frame[terms].to_numpy(dtype=float),
        frame["time"].to_numpy(dtype=float),
        frame["event"].to_numpy(dtype=float),
        terms,
        reference_terms=present,
    )
    parts = [pl.DataFrame(_cox_rows(model, result, order, extra), schema=COX_SCHEMA, orient="row")]
    if firth == "always" or (firth == "auto" and result.status in FIRTH_WHEN):
        parts.append(_firth_rows(model, frame, [*present, *extra], order))
    missing = [label for label in order[1:] if sizes[label] == 0]
    if missing:
        note = "not estimable: the group has no patients"
        parts.append(_status_rows(model, order, missing, (), n, n_events, "empty_group", note))
    if len(parts) == 1:
        return parts[0]
    term_order = [_term_name(label, order[0]) for label in order[1:]] + list(extra)
    return (
        pl.concat(parts)
        .with_columns(position=pl.col("term").replace_strict(term_order, range(len(term_order))))
        .sort("position", pl.col("method") != "mle", maintain_order=True)
        .drop("position")
    )


def _firth_rows(
    model: str, frame: pd.DataFrame, terms: list[str], order: list[str]
) -> pl.DataFrame:
    """Firth-penalised estimates of the same model (R ``coxphf``: Breslow ties, 95%
    profile penalised-likelihood interval, penalised likelihood-ratio p)."""
    from analysis.firth import fit_firth

    # Patients censored before the first event are in no risk set at an event time: they
    # add nothing to the (penalised) partial likelihood, and a group made only of them
    # has no estimate at all, penalised or not (its information is 0).
    informative = frame["time"] >= frame.loc[frame["event"] > 0, "time"].min()
    used = frame.loc[informative]
    silent = [t for t in terms if used[t].nunique() < 2]
    fitted = [t for t in terms if t not in silent]
    names = {label: _term_name(label, order[0]) for label in order[1:]}
    epv = int(frame["event"].sum()) / len(terms)
    reasons = {
        t: f"not estimable: the patients of {t} are all censored before the first event"
        if t in names
        else f"not estimable: {t} does not vary among the patients at risk at an event time"
        for t in silent
    }
    rows = [
        (model, "firth", names.get(t, t), None, None, None, None, len(frame),
         int(frame["event"].sum()), epv, None, None, "no_events_in_group", reasons[t])
        for t in silent
    ]  # fmt: skip
    if not fitted:
        return pl.DataFrame(rows, schema=COX_SCHEMA, orient="row")
    fit = fit_firth(
        used[fitted].to_numpy(dtype=float),
        used["time"].to_numpy(dtype=float),
        used["event"].to_numpy(dtype=float),
        terms=fitted,
    )
    note = "; ".join(fit.notes) or None
    rows += [
        (
            model,
            "firth",
            names.get(term.term, term.term),
            term.hazard_ratio,
            term.ci_lower,
            term.ci_upper,
            term.p_value,
            len(frame),
            fit.events,
            epv,
            None,
            None,
            fit.status,
            note,
        )
        for term in fit.terms
    ]
    return pl.DataFrame(rows, schema=COX_SCHEMA, orient="row")


def _status_rows(
    model: str,
    order: list[str],
    labels: Sequence[str],
    extra: Sequence[str],
    n: int,
    n_events: int,
    status: str,
    note: str | None = None,
) -> pl.DataFrame:
    """Rows without estimates (None, never NaN) that say why."""
    names = [_term_name(label, order[0]) for label in labels] + list(extra)
    rows = [
        (model, "mle", name, None, None, None, None, n, n_events, None, None, None, status, note)
        for name in names
    ]
    return pl.DataFrame(rows, schema=COX_SCHEMA, orient="row")


def _univariable_cox(
    times: np.ndarray, events: np.ndarray, group: np.ndarray, order: list[str], firth: FirthMode
) -> pl.DataFrame:
    frame = pd.concat(
        [pd.DataFrame({"time": times, "event": events}), _dummies(group, order)], axis=1
    )
    return _fit_groups("univariable", frame, order, (), firth)


def _adjusted_cox(
    times: np.ndarray,
    events: np.ndarray,
    group: np.ndarray,
    order: list[str],
    covariates: pd.DataFrame,
    notes: list[str],
    firth: FirthMode,
) -> pl.DataFrame:
    extra = [str(column) for column in covariates.columns]
    clash = set(extra) & {"time", "event", *order}
    if clash:
        raise ValueError(f"covariate names clash with reserved names: {sorted(clash)}")
    frame = pd.concat(
        [
            pd.DataFrame({"time": times, "event": events}),
            _dummies(group, order),
            covariates.reset_index(drop=True).set_axis(extra, axis=1).astype(float),
        ],
        axis=1,
    )
    complete = frame.dropna()
    if len(complete) < len(frame):
        notes.append(f"adjusted model: {len(frame) - len(complete)} rows with missing covariates")
    return _fit_groups("adjusted", complete.reset_index(drop=True), order, extra, firth)
