"""``analysis.rmst`` against R survival's restricted mean and survRM2's contrasts.

Source of every number: ``tests/reference/r/rmst.json``, written by
``tests/reference/r/rmst.R`` (committed beside it; R and survival versions are in the
JSON). Per group: ``summary(survfit(Surv(time, event) ~ group), rmean = tau)$table``
``rmean`` and ``se(rmean)``. Contrasts: survRM2::rmst2's unadjusted difference and ratio
formulas (transcribed from its ``R/rmst2.R``, and checked against survRM2 1.0-4 itself
when the JSON was generated). The JSON holds the exact time, event and group vectors R
used, so nothing is re-derived here.

Tolerance: 1e-9 relative on everything. Both sides evaluate the same closed form on the
same doubles (written with 17 significant digits); they differ only in summation order
(and, for p, erfc against R's pnorm). Observed: 1e-15 relative on rmean and se, up to
3e-13 on differences (cancellation) and p-values, so 1e-9 leaves a margin of 3,000
while any change of formula (an n / (n - 1) factor, a missing or extra variance term)
moves the values by far more. A zero standard error is exactly zero on both sides.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analysis.rmst import compare_rmst, followup_limit, restricted_mean, rmst2_max_tau

REFERENCE = json.loads((Path(__file__).parent / "r" / "rmst.json").read_text())
CASES: list[dict[str, Any]] = REFERENCE["cases"]
RTOL = 1e-9
TAUS = [(case, tau) for case in CASES for tau in case["taus"]]
TAU_IDS = [f"{case['id']}-{tau['role']}-{tau['tau_days']:g}" for case, tau in TAUS]


def _input(case: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    data = case["input"]
    time, event = np.asarray(data["time"], dtype=float), np.asarray(data["event"], dtype=float)
    return time, event, np.asarray(data["group"], dtype=object), list(data["group_order"])


@pytest.mark.parametrize(("case", "tau"), TAUS, ids=TAU_IDS)
def test_restricted_mean_equals_survfit_rmean(case: dict[str, Any], tau: dict[str, Any]) -> None:
    time, event, group, _ = _input(case)
    for theirs in tau["groups"]:
        in_group = group == theirs["group"]
        ours = restricted_mean(time[in_group], event[in_group], tau["tau_days"])
        assert int(in_group.sum()) == theirs["n"]
        assert ours.rmst_days == pytest.approx(theirs["rmean"], rel=RTOL)
        assert np.sqrt(ours.variance) == pytest.approx(theirs["se_rmean"], rel=RTOL)


@pytest.mark.parametrize(("case", "tau"), TAUS, ids=TAU_IDS)
def test_compare_rmst_equals_r_and_survrm2(case: dict[str, Any], tau: dict[str, Any]) -> None:
    time, event, group, order = _input(case)
    result = compare_rmst(time, event, group, order, horizon_days=tau["tau_days"])
    assert result.tau_days == tau["tau_days"]
    assert result.horizon_source == "given"
    for ours, theirs in zip(result.groups, tau["groups"], strict=True):
        assert ours.group_label == theirs["group"]
        assert ours.status in ("ok", "no_events", "survival_zero")
        assert ours.rmst_days == pytest.approx(theirs["rmean"], rel=RTOL)
        assert ours.se == pytest.approx(theirs["se_rmean"], rel=RTOL)
        assert (ours.ci_lower is None) == (theirs["se_rmean"] == 0)
    # Every contrast lies within survRM2's bound at these taus, so R gave all of them.
    assert len(tau["contrasts"]) == len(order) - 1
    contrasts = {(c.group_label, c.measure): c for c in result.contrasts}
    for theirs in tau["contrasts"]:
        assert theirs["reference"] == order[0]
        difference = contrasts[theirs["group"], "difference"]
        ratio = contrasts[theirs["group"], "ratio"]
        assert (difference.estimate, difference.se) == pytest.approx(
            (theirs["difference"], theirs["difference_se"]), rel=RTOL
        )
        assert (ratio.estimate, ratio.se) == pytest.approx(
            (theirs["ratio"], theirs["log_ratio_se"]), rel=RTOL
        )
        zero_variance = [
            group for group in result.groups
            if group.group_label in (theirs["group"], order[0]) and group.se == 0.0
        ]  # fmt: skip
        if zero_variance:
            # survRM2 gives a CI and p resting on the other group's variance alone; we
            # refuse them (a group without events has a variance estimate of 0).
            assert difference.status == ratio.status == zero_variance[0].status != "ok"
            assert (difference.p_value, ratio.p_value, ratio.ci_lower) == (None, None, None)
            continue
        assert (difference.status, ratio.status) == ("ok", "ok")
        assert (difference.ci_lower, difference.ci_upper, difference.p_value) == pytest.approx(
            (theirs["difference_lower"], theirs["difference_upper"], theirs["difference_p"]),
            rel=RTOL,
        )
        assert (ratio.ci_lower, ratio.ci_upper, ratio.p_value) == pytest.approx(
            (theirs["ratio_lower"], theirs["ratio_upper"], theirs["ratio_p"]), rel=RTOL
        )


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_horizon_rules_equal_r(case: dict[str, Any]) -> None:
    """The default tau (largest landmark with n.risk >= 1 in every group, from R's
    ``summary(fit, times, extend = TRUE)``) and survRM2's largest accepted tau."""
    time, event, group, order = _input(case)
    result = compare_rmst(time, event, group, order, landmarks_days=case["landmarks_days"])
    assert result.tau_days == case["default_tau_days"]
    if case["default_tau_days"] is None:
        assert result.horizon_source == "none"
        assert {row.status for row in (*result.groups, *result.contrasts)} == {"beyond_followup"}
    else:
        assert result.horizon_source == "landmark"
    for followup in case["followup"]:
        in_group = group == followup["group"]
        limit = followup_limit(time[in_group], event[in_group])
        assert limit == (math.inf if followup["last_is_event"] else followup["last_time"])
    reference = group == order[0]
    bounds = [
        rmst2_max_tau(
            time[group == label], event[group == label], time[reference], event[reference]
        )
        for label in order[1:]
    ]
    assert min(bounds) == case["rmst2_max_tau_days"]


def test_reference_covers_the_hard_cases() -> None:
    """Guards against a regenerated JSON that silently lost them."""
    roles = {tau["role"] for case in CASES for tau in case["taus"]}
    assert roles >= {"event_time", "between_times", "tied_events", "rmst2_default", "landmark"}
    zero_se = [g for _, tau in TAUS for g in tau["groups"] if g["se_rmean"] == 0]
    assert len(zero_se) >= 3  # aml at day 8, ovarian rx 2 at day 353, lung ph.ecog 3
    assert any(len(case["input"]["group_order"]) == 4 for case in CASES)
    assert any(case["default_tau_days"] is None for case in CASES)
    assert {"uams_os_b2m_q1", "mgus2_os_hgb_q1"} <= {case["id"] for case in CASES}
    uams = next(case for case in CASES if case["id"] == "uams_os_b2m_q1")
    assert 0 in uams["input"]["time"]  # a death on the day of diagnosis
