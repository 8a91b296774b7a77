"""Kaplan-Meier curves, landmark values and median survival, as R's ``survfit`` does them.

Conventions (docs/statistics.md, "Kaplan-Meier"): product-limit estimate, Greenwood
variance, 95% pointwise intervals on the log(-log) scale by default ("log" is R's
``survfit`` default and "plain" is the untransformed interval; both are available), the
value at a landmark t is the right-continuous step function at t (events at exactly t
count), and the median is the smallest time with S(t) <= 0.5.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import NamedTuple

import numpy as np
import polars as pl

from analysis.vocabulary import CI_METHODS, CIMethod, CIStatus

CONFIDENCE_LEVEL = 0.95

CURVE_SCHEMA = {
    "time_days": pl.Float64,
    "n_at_risk": pl.Int64,
    "events": pl.Int64,
    "censored": pl.Int64,
    "survival": pl.Float64,
    "std_err": pl.Float64,
    "ci_lower": pl.Float64,
    "ci_upper": pl.Float64,
}


class KMPoint(NamedTuple):
    """Kaplan-Meier value at one time (see :func:`km_at`).

    ``ci_status`` says why ``ci_lower``/``ci_upper`` are None
    (:data:`analysis.vocabulary.CI_STATUSES`): ``no_events``: S = 1, no event up to t, so
    the Greenwood variance is 0 and every interval would collapse to the point 1;
    ``survival_zero``: S = 0, the log scales are undefined; ``beyond_followup``: no
    estimate at t; ``empty_group``: no patients (set by :mod:`analysis.endpoint`).
    """

    n_at_risk: int
    survival: float | None
    ci_lower: float | None
    ci_upper: float | None
    ci_status: CIStatus = "ok"


#: Columns of a Kaplan-Meier curve as stored in the result tables (km_curves and
#: gene_scan_curves), in order.
CURVE_COLUMNS = ["time_days", "n_at_risk", "events", "censored", "survival", "ci_lower", "ci_upper"]


def km_curve(
    time: np.ndarray, event: np.ndarray, *, ci_method: CIMethod = "log-log"
) -> pl.DataFrame:
    """Kaplan-Meier estimate with Greenwood standard errors and pointwise 95% intervals.

    Parameters
    ----------
    time : np.ndarray of float
        Follow-up time (days), >= 0, no missing values.
    event : np.ndarray of {0, 1} or bool
        1 = event, 0 = censored.
    ci_method : {"log-log", "log", "plain"}
        Scale of the interval, as R's ``conf.type``. "log-log" (the study default):
        ``exp(-exp(log(-log S) +/- z se / log S))``; "log": ``S exp(+/- z se)``, capped at
        1; "plain": ``S +/- z S se``, clipped to [0, 1]; where ``se`` is the Greenwood
        standard error of log S.

    Returns
    -------
    pl.DataFrame
        One row per distinct time (events or censoring), preceded by a row at time 0 with
        survival 1 unless there are observations at time 0 (then the time-0 row already
        includes the events at 0: right-continuous). Columns ``time_days, n_at_risk``
        (number with time >= t, R's ``n.risk``), ``events, censored, survival, std_err``
        (Greenwood standard error *of S*, as R's ``summary.survfit`` prints it),
        ``ci_lower, ci_upper``. Undefined values are null, never NaN: the interval
        where S = 1 (no event yet: it would be the point 1) and where S = 0 on the
        log scales, and the standard error after everybody died.
    """
    if ci_method not in CI_METHODS:
        raise ValueError(f"ci_method must be one of {CI_METHODS}, got {ci_method!r}")
    times = np.asarray(time, dtype=float)
    events = np.asarray(event, dtype=float)
    if times.shape != events.shape:
        raise ValueError("time and event must have the same length")
    if times.size and (np.isnan(times).any() or times.min() < 0):
        raise ValueError("time must be non-negative and not missing")
    unique_times, inverse = np.unique(times, return_inverse=True)
    deaths = np.bincount(inverse, weights=events, minlength=unique_times.size)
    leaving = np.bincount(inverse, minlength=unique_times.size).astype(float)
    at_risk = leaving[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(1.0 - deaths / at_risk)
        greenwood = np.cumsum(deaths / (at_risk * (at_risk - deaths)))
    if unique_times.size == 0 or unique_times[0] > 0:
        unique_times = np.concatenate([[0.0], unique_times])
        deaths = np.concatenate([[0.0], deaths])
        leaving = np.concatenate([[0.0], leaving])
        at_risk = np.concatenate([[float(times.size)], at_risk])
        survival = np.concatenate([[1.0], survival])
        greenwood = np.concatenate([[0.0], greenwood])
    lower, upper = _interval(survival, greenwood, ci_method)
    with np.errstate(invalid="ignore"):
        std_err = survival * np.sqrt(greenwood)
    frame = pl.DataFrame(
        {
            "time_days": unique_times,
            "n_at_risk": at_risk.astype(np.int64),
            "events": deaths.astype(np.int64),
            "censored": (leaving - deaths).astype(np.int64),
            "survival": survival,
            "std_err": std_err,
            "ci_lower": lower,
            "ci_upper": upper,
        },
        schema=CURVE_SCHEMA,
    )
    return frame.with_columns(pl.col(pl.Float64).fill_nan(None))


def _interval(
    survival: np.ndarray, greenwood: np.ndarray, ci_method: str
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise interval as R's ``survfit`` (``conf.type``); NaN where undefined."""
    z = NormalDist().inv_cdf(1 - (1 - CONFIDENCE_LEVEL) / 2)  # stdlib: no scipy import
    se_log = np.sqrt(greenwood)
    with np.errstate(divide="ignore", invalid="ignore"):
        if ci_method == "plain":
            lower = np.clip(survival - z * se_log * survival, 0.0, 1.0)
            upper = np.clip(survival + z * se_log * survival, 0.0, 1.0)
        elif ci_method == "log":
            lower = np.where(survival > 0, survival * np.exp(-z * se_log), np.nan)
            upper = np.where(survival > 0, np.minimum(survival * np.exp(z * se_log), 1.0), np.nan)
        else:
            log_s = np.log(survival)
            centre = np.log(-log_s)
            lower = np.exp(-np.exp(centre - z * se_log / log_s))
            upper = np.exp(-np.exp(centre + z * se_log / log_s))
            lower = np.where(survival == 0, np.nan, lower)
            upper = np.where(survival == 0, np.nan, upper)
    # S = 1 (no event yet): the Greenwood variance is 0 and any interval is the point
    # (1, 1), which would claim certainty the data do not have. R gives NA on the
    # log(-log) scale and the point (1, 1) for "log" and "plain"; we give no interval
    # for all three (docs/statistics.md, "Kaplan-Meier").
    lower = np.where(survival == 1, np.nan, lower)
    upper = np.where(survival == 1, np.nan, upper)
    return lower, upper


def km_at(curve: pl.DataFrame, t_days: float) -> KMPoint:
    """Kaplan-Meier value at a landmark time, as R's ``summary(fit, times = t)``.

    The survival and interval are those of the last curve row at or before ``t_days``
    (right-continuous: events at exactly t are included). ``n_at_risk`` is R's
    ``n.risk`` at t: the number of patients with follow-up time >= t. Beyond the last
    follow-up time the estimate is undefined (R drops such times unless
    ``extend=TRUE``): survival and interval are None and ``n_at_risk`` is 0, except when
    the curve has reached 0, which stays 0.
    """
    if curve.height == 0:
        return KMPoint(0, None, None, None, "beyond_followup")
    times = curve["time_days"].to_numpy()
    leaving = (curve["events"] + curve["censored"]).to_numpy()
    n_at_risk = int(leaving[times >= t_days].sum())
    position = int(np.searchsorted(times, t_days, side="right")) - 1
    if position < 0:
        return KMPoint(n_at_risk, 1.0, None, None, "no_events")
    row = curve.row(position, named=True)
    if t_days > times[-1] and row["survival"] > 0:
        return KMPoint(0, None, None, None, "beyond_followup")
    status = "ok"
    if row["survival"] == 1.0:
        status = "no_events"
    elif row["survival"] == 0.0:
        status = "survival_zero"
    if row["ci_lower"] is None or row["ci_upper"] is None:
        status = "survival_zero" if status == "ok" else status
    return KMPoint(n_at_risk, row["survival"], row["ci_lower"], row["ci_upper"], status)


def median_survival(curve: pl.DataFrame) -> tuple[float | None, float | None, float | None]:
    """Median survival and its 95% interval, read off the curve as R's ``survfit`` prints.

    The median is the smallest time with S(t) <= 0.5; the lower limit is the smallest
    time where the *lower* confidence curve is <= 0.5 and the upper limit the smallest
    time where the *upper* confidence curve is <= 0.5 (Brookmeyer & Crowley construction
    on the chosen CI scale). None when a curve never reaches 0.5 ("not reached").

    Notes
    -----
    R takes the midpoint of a horizontal segment lying exactly at 0.5; this function,
    like lifelines, takes the start of that segment. The two differ only in that case.
    """
    return (
        _first_time_at_or_below(curve, "survival"),
        _first_time_at_or_below(curve, "ci_lower"),
        _first_time_at_or_below(curve, "ci_upper"),
    )


def _first_time_at_or_below(curve: pl.DataFrame, column: str) -> float | None:
    # A tiny tolerance so that a product that is 0.5 in exact arithmetic counts as 0.5.
    hits = curve.filter(pl.col(column).is_not_null() & (pl.col(column) <= 0.5 + 1e-12))
    return None if hits.height == 0 else float(hits["time_days"][0])
