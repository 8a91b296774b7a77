"""Restricted mean survival time (RMST) per group and between groups, as R computes it.

The RMST up to a horizon tau is the area under the Kaplan-Meier curve on [0, tau]: the
expected survival time within the first tau days. It needs no proportional-hazards
assumption, which is why the study reports it beside the hazard ratio.

Conventions (each cited where it is used):

- Per group: ``rmean`` and ``se(rmean)`` of R survival's ``print(survfit(...),
  rmean = tau)`` (``survival:::survmean``): area of the right-continuous step function
  from time 0, and the variance ``sum over distinct times t_j <= tau of
  d_j / (n_j (n_j - d_j)) * (area under S from t_j to tau)^2``, with the term set to 0
  where ``n_j = d_j`` (R's choice; the area after such a time is 0 anyway). survRM2's
  ``rmst1`` computes the same numbers. The 95% interval is normal, RMST +/- 1.96 SE, as
  ``survRM2::rmst1`` reports it (R's print shows no interval).
- Contrasts, each non-reference group against ``group_order[0]`` (survRM2's arm 1 minus
  arm 0 unadjusted results, ``R/rmst2.R``): difference ``r1 - r0`` with SE
  ``sqrt(v1 + v0)``; ratio ``r1 / r0`` with ``se(log ratio) = sqrt(v1 / r1^2 + v0 / r0^2)``
  (delta method) and its interval ``exp(log ratio +/- 1.96 se)``; two-sided normal p
  ``2 P(Z > |estimate| / se)`` (for the ratio, of the log ratio).
- Horizon: a given tau is refused (status ``beyond_followup``) where survRM2 refuses it
  (``rmst2``, "initial check"): for a group, past its largest observed time unless its
  last observation is an event (its curve has reached 0 and stays there), and past the
  largest observed time of all groups; for a contrast, past survRM2's bound for its two
  groups (:func:`rmst2_max_tau`). Without a given tau, the default is the largest of the
  study's landmarks at which every non-empty group still has a patient at risk (R's
  ``n.risk``: follow-up time >= the landmark), which always satisfies those rules; no
  such landmark: no tau, every row ``beyond_followup``.

Degenerate data never raise and never give NaN: rows carry a status and None instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import polars as pl

from analysis.distributions import normal_sf
from analysis.vocabulary import (
    RMST_STATUSES,
    WALD_Z,
    HorizonSource,
    RmstMeasure,
    RmstStatus,
)

#: Statuses from most to least serious; a contrast takes the most serious of its groups'.
STATUS_PRECEDENCE = RMST_STATUSES

#: Columns of ``results.rmst`` without the run keys (run_id, biomarker, endpoint, grouping,
#: subgroup), which the orchestrator adds. ``se`` is that of ``rmst_days`` (group rows),
#: of ``difference_days`` (difference rows) or of log(``ratio``) (ratio rows); the interval
#: is on the row's own scale.
RMST_SCHEMA = {
    "group_label": pl.String,
    "contrast": pl.String,
    "measure": pl.String,
    "tau_days": pl.Float64,
    "rmst_days": pl.Float64,
    "se": pl.Float64,
    "ci_lower": pl.Float64,
    "ci_upper": pl.Float64,
    "difference_days": pl.Float64,
    "ratio": pl.Float64,
    "p_value": pl.Float64,
    "status": pl.String,
}


class RestrictedMean(NamedTuple):
    """RMST of one sample up to tau and its variance (``se(rmean)`` squared)."""

    rmst_days: float
    variance: float


@dataclass(frozen=True)
class GroupRmst:
    """One group's RMST; values are None unless ``status`` is "ok" (the interval is also
    None for "no_events" and "survival_zero": its SE is 0 and it would be a point)."""

    group_label: str
    n: int
    events: int
    rmst_days: float | None
    se: float | None
    ci_lower: float | None
    ci_upper: float | None
    status: RmstStatus


@dataclass(frozen=True)
class RmstContrast:
    """A group against the reference: ``estimate`` is the difference in days or the
    ratio; ``se`` that of the difference or of the log ratio; the interval on the
    estimate's own scale."""

    contrast: str
    group_label: str
    reference_label: str
    measure: RmstMeasure
    estimate: float | None
    se: float | None
    ci_lower: float | None
    ci_upper: float | None
    p_value: float | None
    status: RmstStatus


@dataclass(frozen=True)
class RmstAnalysis:
    """RMST of every group of one grouping and its contrasts against the reference."""

    tau_days: float | None
    horizon_source: HorizonSource
    groups: tuple[GroupRmst, ...]
    contrasts: tuple[RmstContrast, ...]
    n_used: int
    n_dropped: int

    def to_frame(self) -> pl.DataFrame:
        """Rows for ``results.rmst`` (:data:`RMST_SCHEMA`): the groups in ``group_order``,
        then per contrast its difference and ratio rows."""
        rows = [
            {
                "group_label": g.group_label,
                "measure": "rmst",
                "rmst_days": g.rmst_days,
                "se": g.se,
                "ci_lower": g.ci_lower,
                "ci_upper": g.ci_upper,
                "status": g.status,
            }
            for g in self.groups
        ]
        rows += [
            {
                "group_label": c.group_label,
                "contrast": c.contrast,
                "measure": c.measure,
                "se": c.se,
                "ci_lower": c.ci_lower,
                "ci_upper": c.ci_upper,
                "difference_days": c.estimate if c.measure == "difference" else None,
                "ratio": c.estimate if c.measure == "ratio" else None,
                "p_value": c.p_value,
                "status": c.status,
            }
            for c in self.contrasts
        ]
        frame = pl.DataFrame(
            [{column: row.get(column) for column in RMST_SCHEMA} for row in rows],
            schema=RMST_SCHEMA,
        )
        return frame.with_columns(tau_days=pl.lit(self.tau_days, dtype=pl.Float64))


def restricted_mean(time: np.ndarray, event: np.ndarray, tau_days: float) -> RestrictedMean:
    """Area under the Kaplan-Meier curve on [0, tau] and its variance, as R's survmean.

    Past the last observed time the curve is carried at its last value, as R does; callers
    decide whether that is allowed (:func:`followup_limit`). Events at exactly tau count
    in S(tau) but add no area. Requires at least one observation, non-negative times.

    Examples
    --------
    >>> restricted_mean([2.0, 4.0], [1, 1], tau_days=3.0)  # area 2 * 1 + 1 * 0.5
    RestrictedMean(rmst_days=2.5, variance=0.125)
    """
    times = np.asarray(time, dtype=float)
    events = np.asarray(event, dtype=float)
    unique_times, inverse = np.unique(times, return_inverse=True)
    deaths = np.bincount(inverse, weights=events, minlength=unique_times.size)
    leaving = np.bincount(inverse, minlength=unique_times.size).astype(float)
    at_risk = leaving[::-1].cumsum()[::-1]
    survival = np.cumprod(1.0 - deaths / at_risk)
    upto = unique_times <= tau_days
    # Rectangles between consecutive knots 0, t_1, ..., t_m, tau; height S of the left knot.
    knots = np.concatenate([[0.0], unique_times[upto], [tau_days]])
    heights = np.concatenate([[1.0], survival[upto]])
    areas = np.diff(knots) * heights
    # Area under S from t_j to tau, for each t_j <= tau.
    area_after = areas[1:][::-1].cumsum()[::-1]
    survivors = at_risk[upto] - deaths[upto]
    hazard_term = np.zeros_like(survivors)
    positive = survivors > 0
    hazard_term[positive] = deaths[upto][positive] / (at_risk[upto] * survivors)[positive]
    return RestrictedMean(float(areas.sum()), float(np.sum(hazard_term * area_after**2)))


def followup_limit(time: np.ndarray, event: np.ndarray) -> float:
    """Largest tau at which one group's Kaplan-Meier curve is known (survRM2's rule).

    The group's largest observed time, unless every observation at that time is an
    event (``min(status[time == max(time)]) == 1`` in ``survRM2::rmst2``): then the
    curve has reached 0 and stays there (``math.inf``).
    """
    times = np.asarray(time, dtype=float)
    last = float(times.max())
    ends_in_event = bool(np.all(np.asarray(event, dtype=float)[times == last] == 1))
    return math.inf if ends_in_event else last


def rmst2_max_tau(
    time: np.ndarray, event: np.ndarray, reference_time: np.ndarray, reference_event: np.ndarray
) -> float:
    """Largest tau ``survRM2::rmst2`` accepts for two groups (its default tau).

    Its four cases ("initial check" in ``R/rmst2.R``) come to: the smaller follow-up
    limit of the two (:func:`followup_limit`), or, when both groups end in an event, the
    larger of their last times. Both groups must have patients.
    """
    limit = min(followup_limit(time, event), followup_limit(reference_time, reference_event))
    if math.isinf(limit):
        return float(max(np.max(time), np.max(reference_time)))
    return limit


def default_horizon(
    time: np.ndarray,
    labels: np.ndarray,
    group_order: Sequence[str],
    landmarks_days: Sequence[float],
) -> float | None:
    """The largest landmark at which every non-empty group has a patient at risk.

    At risk at t means follow-up time >= t (R's ``n.risk``; ``analysis.survival.km_at``).
    None when no landmark qualifies (or no group has patients).
    """
    times = np.asarray(time, dtype=float)
    label_array = np.asarray(labels, dtype=object)
    in_groups = [label_array == label for label in group_order]
    last_times = [times[rows].max() for rows in in_groups if rows.any()]
    if not last_times:
        return None
    reached = [float(t) for t in landmarks_days if t <= min(last_times)]
    return max(reached) if reached else None


def compare_rmst(
    time_days: np.ndarray,
    event: np.ndarray,
    labels: np.ndarray,
    group_order: Sequence[str],
    *,
    landmarks_days: Sequence[float] = (),
    horizon_days: float | None = None,
) -> RmstAnalysis:
    """RMST per group up to tau, and each group against ``group_order[0]``.

    Parameters
    ----------
    time_days, event, labels : np.ndarray
        Follow-up in days, 0/1 event, group label per patient (as for
        :func:`analysis.endpoint.analyze_groups`). Rows with a missing or unknown label, a
        missing or negative time, or an event not 0/1 are dropped and counted.
    group_order : sequence of str
        ``group_order[0]`` is the reference ("Q2-Q4 vs Q1" is Q2-Q4 minus Q1).
    landmarks_days : sequence of float
        The study's landmarks; the default tau is the largest one at which every
        non-empty group still has a patient at risk.
    horizon_days : float, optional
        tau from the spec (``rmst_horizon_years`` times the study's days per year).

    Returns
    -------
    RmstAnalysis
        ``tau_days`` None (every row "beyond_followup") when no landmark qualifies.

    Raises
    ------
    ValueError
        ``horizon_days`` not a positive number, or neither it nor a landmark given
        (spec validation reports these before anything is computed).

    Examples
    --------
    Both groups are followed past 6 days but not 12, so tau is the 6-day landmark:

    >>> result = compare_rmst(
    ...     np.array([2.0, 5.0, 9.0, 1.0, 4.0, 6.0]),
    ...     np.array([1, 1, 0, 1, 1, 0]),
    ...     np.array(["Q1"] * 3 + ["Q2-Q4"] * 3, dtype=object),
    ...     ["Q1", "Q2-Q4"],
    ...     landmarks_days=[3.0, 6.0, 12.0],
    ... )
    >>> result.tau_days, result.horizon_source
    (6.0, 'landmark')
    >>> result.to_frame().select(
    ...     "group_label", "measure", "rmst_days", "difference_days", "ratio", "status"
    ... )
    shape: (4, 6)
    ┌─────────────┬────────────┬───────────┬─────────────────┬──────────┬────────┐
    │ group_label ┆ measure    ┆ rmst_days ┆ difference_days ┆ ratio    ┆ status │
    │ ---         ┆ ---        ┆ ---       ┆ ---             ┆ ---      ┆ ---    │
    │ str         ┆ str        ┆ f64       ┆ f64             ┆ f64      ┆ str    │
    ╞═════════════╪════════════╪═══════════╪═════════════════╪══════════╪════════╡
    │ Q1          ┆ rmst       ┆ 4.333333  ┆ null            ┆ null     ┆ ok     │
    │ Q2-Q4       ┆ rmst       ┆ 3.666667  ┆ null            ┆ null     ┆ ok     │
    │ Q2-Q4       ┆ difference ┆ null      ┆ -0.666667       ┆ null     ┆ ok     │
    │ Q2-Q4       ┆ ratio      ┆ null      ┆ null            ┆ 0.846154 ┆ ok     │
    └─────────────┴────────────┴───────────┴─────────────────┴──────────┴────────┘
    """
    if horizon_days is not None and not (math.isfinite(horizon_days) and horizon_days > 0):
        raise ValueError(f"horizon_days must be a positive number, got {horizon_days!r}")
    if horizon_days is None and len(landmarks_days) == 0:
        raise ValueError("give horizon_days or at least one landmark")
    order = [str(label) for label in group_order]
    times, events, group, n_dropped = _usable_rows(time_days, event, labels, order)
    if horizon_days is not None:
        tau, source = float(horizon_days), "given"
    else:
        tau = default_horizon(times, group, order, landmarks_days)
        source = "landmark" if tau is not None else "none"
    samples = [(times[group == label], events[group == label]) for label in order]
    observed = [sample for sample in samples if sample[0].size]
    # survRM2 refuses a tau past everyone's follow-up even where all curves reached 0.
    latest = max((float(t.max()) for t, _ in observed), default=0.0)
    groups = tuple(
        _group_rmst(*sample, label, tau, latest)
        for sample, label in zip(samples, order, strict=True)
    )
    contrasts: list[RmstContrast] = []
    for index in range(1, len(order)):
        allowed = _pair_allows(tau, samples[index], samples[0])
        contrasts.append(_difference(groups[index], groups[0], allowed))
        contrasts.append(_ratio(groups[index], groups[0], allowed))
    return RmstAnalysis(tau, source, groups, tuple(contrasts), int(times.size), n_dropped)


def _usable_rows(
    time_days: np.ndarray, event: np.ndarray, labels: np.ndarray, order: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The rule of ``analysis.endpoint.valid_rows``, plus a label in ``group_order``."""
    times = np.asarray(time_days, dtype=float)
    events = np.asarray(event, dtype=float)
    label_array = np.array([None if x is None or x != x else str(x) for x in labels], dtype=object)
    keep = np.isin(label_array, order) & np.isfinite(times) & np.isin(events, (0.0, 1.0))
    keep[keep] &= times[keep] >= 0
    return times[keep], events[keep], label_array[keep], int((~keep).sum())


def _pair_allows(
    tau: float | None,
    sample: tuple[np.ndarray, np.ndarray],
    reference: tuple[np.ndarray, np.ndarray],
) -> bool:
    """survRM2's bound for one contrast (an empty group is refused by its own status)."""
    if tau is None:
        return False
    if sample[0].size == 0 or reference[0].size == 0:
        return True
    return tau <= rmst2_max_tau(*sample, *reference)


def _group_rmst(
    times: np.ndarray, events: np.ndarray, label: str, tau: float | None, latest: float
) -> GroupRmst:
    n, n_events = int(times.size), int(events.sum())
    if n == 0:
        return GroupRmst(label, 0, 0, None, None, None, None, "empty_group")
    if tau is None or tau > followup_limit(times, events) or tau > latest:
        return GroupRmst(label, n, n_events, None, None, None, None, "beyond_followup")
    rmst, variance = restricted_mean(times, events, tau)
    se = math.sqrt(variance)
    if not np.any(events[times < tau] == 1):
        # S = 1 on [0, tau): RMST = tau, SE 0 (R and survRM2); no interval to give.
        return GroupRmst(label, n, n_events, rmst, se, None, None, "no_events")
    if variance == 0.0:
        # The first event before tau took everyone at risk: S = 0 from then on.
        return GroupRmst(label, n, n_events, rmst, se, None, None, "survival_zero")
    lower, upper = rmst - WALD_Z * se, rmst + WALD_Z * se
    return GroupRmst(label, n, n_events, rmst, se, lower, upper, "ok")


def _worst(*statuses: RmstStatus) -> RmstStatus:
    return min(statuses, key=STATUS_PRECEDENCE.index)


def _difference(group: GroupRmst, reference: GroupRmst, allowed: bool) -> RmstContrast:
    """survRM2 ``rmst2``: ``rmst.diff.10`` and its normal interval and p."""
    contrast = f"{group.group_label} vs {reference.group_label}"
    head = (contrast, group.group_label, reference.group_label, "difference")
    status = _worst(group.status, reference.status, "ok" if allowed else "beyond_followup")
    if group.rmst_days is None or reference.rmst_days is None or not allowed:
        return RmstContrast(*head, None, None, None, None, None, status)
    difference = group.rmst_days - reference.rmst_days
    se = math.hypot(group.se or 0.0, reference.se or 0.0)
    if se == 0.0 or status != "ok":
        # A group without events (or at survival 0) has a variance estimate of 0, which
        # understates its uncertainty: survRM2 would still give a CI and p, resting on
        # the other group alone. We give the estimate, and say why there is no more.
        return RmstContrast(*head, difference, se, None, None, None, status)
    lower, upper = difference - WALD_Z * se, difference + WALD_Z * se
    p_value = 2.0 * normal_sf(abs(difference) / se)
    return RmstContrast(*head, difference, se, lower, upper, p_value, "ok")


def _ratio(group: GroupRmst, reference: GroupRmst, allowed: bool) -> RmstContrast:
    """survRM2 ``rmst2``: ``rmst.log.ratio.10``, delta-method SE, interval exponentiated."""
    contrast = f"{group.group_label} vs {reference.group_label}"
    head = (contrast, group.group_label, reference.group_label, "ratio")
    status = _worst(group.status, reference.status, "ok" if allowed else "beyond_followup")
    if group.rmst_days is None or reference.rmst_days is None or not allowed:
        return RmstContrast(*head, None, None, None, None, None, status)
    if group.rmst_days == 0.0 or reference.rmst_days == 0.0:
        # Everyone died at time 0: no log ratio.
        return RmstContrast(*head, None, None, None, None, None, "survival_zero")
    log_ratio = math.log(group.rmst_days) - math.log(reference.rmst_days)
    se = math.hypot(
        (group.se or 0.0) / group.rmst_days, (reference.se or 0.0) / reference.rmst_days
    )
    ratio = math.exp(log_ratio)
    if se == 0.0 or status != "ok":  # as for the difference
        return RmstContrast(*head, ratio, se, None, None, None, status)
    lower, upper = math.exp(log_ratio - WALD_Z * se), math.exp(log_ratio + WALD_Z * se)
    p_value = 2.0 * normal_sf(abs(log_ratio) / se)
    return RmstContrast(*head, ratio, se, lower, upper, p_value, "ok")
