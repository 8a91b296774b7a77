"""analyze_groups and interaction_test: frames, reference direction, degenerate cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from analysis.endpoint import analyze_groups, interaction_test
from analysis.groups import assign_groups


def _cohort(seed: int = 0, n: int = 120):
    rng = np.random.default_rng(seed)
    expression = rng.normal(size=n)
    groups = assign_groups(expression, "quartiles")
    hazard = np.where(groups.labels == "Q1", 0.5, 1.0)
    time = rng.exponential(1000 / hazard)
    event = (time < 1500).astype(int)
    time = np.minimum(time, 1500)
    return time, event, groups


def test_frames_have_the_documented_columns() -> None:
    time, event, groups = _cohort()
    result = analyze_groups(
        time, event, groups.labels, groups.group_order, landmarks_days=[365.25, 1095.75]
    )
    assert result.group_summary.columns == [
        "group_label", "n", "events", "median_days", "median_ci_lower", "median_ci_upper",
        "status",
    ]  # fmt: skip
    assert result.km_landmarks.columns == [
        "group_label", "time_days", "n_at_risk", "survival", "ci_lower", "ci_upper", "ci_status",
        "ci_method",
    ]  # fmt: skip
    assert result.km_curves.columns == [
        "group_label", "time_days", "n_at_risk", "events", "censored", "survival", "ci_lower",
        "ci_upper",
    ]  # fmt: skip
    assert result.logrank["test"].to_list() == ["logrank", "logrank_trend"]
    assert result.cox["term"].to_list() == ["Q2 vs Q1", "Q3 vs Q1", "Q4 vs Q1"]
    assert result.km_landmarks.height == 8
    assert result.n_dropped == 0


def test_hazard_ratios_are_higher_groups_versus_q1() -> None:
    time, event, groups = _cohort(n=400)
    labels = np.where(groups.labels == "Q1", "Q1", "Q2-Q4").astype(object)
    result = analyze_groups(time, event, labels, ("Q1", "Q2-Q4"), landmarks_days=[365.25])
    row = result.cox.row(0, named=True)
    assert row["term"] == "Q2-Q4 vs Q1"
    assert row["hazard_ratio"] > 1  # Q1 was simulated with half the hazard
    assert result.logrank["test"].to_list() == ["logrank"]  # no trend for two groups


def test_missing_rows_are_dropped_and_counted() -> None:
    time, event, groups = _cohort()
    time = time.copy()
    time[0] = np.nan
    labels = groups.labels.copy()
    labels[1] = None
    result = analyze_groups(time, event, labels, groups.group_order, landmarks_days=[365.25])
    assert result.n_dropped == 2
    assert result.group_summary["n"].sum() == len(time) - 2


def test_adjusted_model_adds_rows() -> None:
    time, event, groups = _cohort()
    covariates = pd.DataFrame({"age": np.random.default_rng(5).normal(60, 8, len(time))})
    result = analyze_groups(
        time, event, groups.labels, groups.group_order, landmarks_days=[], covariates=covariates
    )
    adjusted = result.cox.filter(pl.col("model") == "adjusted")
    assert adjusted["term"].to_list() == ["Q2 vs Q1", "Q3 vs Q1", "Q4 vs Q1", "age"]


def test_empty_group_and_group_without_events() -> None:
    time, event, groups = _cohort()
    labels = groups.labels.copy()
    labels[labels == "Q3"] = "Q2"  # Q3 now empty
    event = event.copy()
    event[labels == "Q4"] = 0  # Q4 has no events
    result = analyze_groups(time, event, labels, groups.group_order, landmarks_days=[365.25])
    summary = dict(
        zip(result.group_summary["group_label"], result.group_summary["status"], strict=True)
    )
    assert summary == {"Q1": "ok", "Q2": "ok", "Q3": "empty_group", "Q4": "no_events"}
    mle = result.cox.filter(pl.col("method") == "mle")
    cox = dict(zip(mle["term"], mle["status"], strict=True))
    assert cox["Q3 vs Q1"] == "empty_group"
    assert cox["Q4 vs Q1"] == "no_events_in_group"
    # Q4's coefficient diverges; Q2 vs Q1 is still estimable: its limit is the fit
    # without Q4's patients (who drop out of every risk set), and says so.
    assert mle["hazard_ratio"].null_count() == 2
    # Firth's penalised likelihood gives Q4 vs Q1 a finite estimate (rows of their own).
    firth = result.cox.filter(pl.col("method") == "firth")
    assert firth["term"].to_list() == ["Q2 vs Q1", "Q4 vs Q1"]
    q4 = firth.row(1, named=True)
    assert q4["status"] == "ok" and 0 < q4["hazard_ratio"] < 1 and q4["ci_lower"] > 0
    without_q4 = labels != "Q4"
    alone = analyze_groups(
        time[without_q4], event[without_q4], labels[without_q4], ["Q1", "Q2"], landmarks_days=[]
    ).cox.row(0, named=True)
    row = mle.filter(pl.col("term") == "Q2 vs Q1").row(0, named=True)
    assert row["hazard_ratio"] == pytest.approx(alone["hazard_ratio"], rel=1e-12)
    assert row["status"] == "ok" and "estimated without Q4 (not estimable)" in row["note"]
    assert "no events in Q4" in mle["note"][2]
    for frame in (result.group_summary, result.km_landmarks, result.logrank, result.cox):
        assert not frame.select(pl.col(pl.Float64).is_nan().any()).row(0).count(True)


def test_all_censored_and_single_group() -> None:
    time, _, groups = _cohort()
    result = analyze_groups(
        time, np.zeros(len(time)), groups.labels, groups.group_order, landmarks_days=[365.25]
    )
    assert set(result.logrank["status"]) == {"no_events"}
    assert set(result.cox["status"]) == {"no_events"}
    single = np.full(len(time), "Q2", dtype=object)
    result = analyze_groups(time, time < 900, single, ("Q1", "Q2"), landmarks_days=[365.25])
    assert result.logrank["status"].to_list() == ["single_group"]
    assert result.cox["status"].to_list() == ["single_group"]


def test_interaction_reports_lrt() -> None:
    time, event, groups = _cohort(n=300)
    labels = np.where(groups.labels == "Q1", "Q1", "Q2-Q4").astype(object)
    subgroup = np.where(np.arange(len(time)) % 3 == 0, "high", "standard").astype(object)
    result = interaction_test(
        time, event, labels, ("Q1", "Q2-Q4"), subgroup, subgroup_order=["standard", "high"]
    )
    row = result.row(0, named=True)
    assert row["term"] == "Q2-Q4 vs Q1 x high vs standard"
    assert row["lrt_df"] == 1  # statistic and p equal R's anova(): test_r_generated.py
    assert row["status"] in {"ok", "few_events_per_variable"}


def test_interaction_with_empty_cell_events() -> None:
    time, event, groups = _cohort()
    labels = np.where(groups.labels == "Q1", "Q1", "Q2-Q4").astype(object)
    subgroup = np.where(labels == "Q1", "standard", "high").astype(object)
    subgroup[:3] = "high"
    event = event.copy()
    event[(labels == "Q1") & (subgroup == "high")] = 0
    result = interaction_test(time, event, labels, ("Q1", "Q2-Q4"), subgroup)
    assert result["status"].to_list() == ["no_events_in_group"]
    assert result["hazard_ratio"].to_list() == [None]


@pytest.mark.parametrize("ci_method", ["log-log", "log", "plain"])
def test_ci_method_is_recorded(ci_method: str) -> None:
    time, event, groups = _cohort()
    result = analyze_groups(
        time, event, groups.labels, groups.group_order, landmarks_days=[365.25],
        ci_method=ci_method,
    )  # fmt: skip
    assert set(result.km_landmarks["ci_method"]) == {ci_method}


def test_interaction_says_why_it_cannot_be_estimated() -> None:
    """No silent omission: an empty cell and an event-free cell are named in words."""
    time, event, groups = _cohort()
    labels = np.where(groups.labels == "Q1", "Q1", "Q2-Q4").astype(object)
    subgroup = np.where(labels == "Q1", "standard", "high").astype(object)
    subgroup[labels == "Q2-Q4"] = np.where(
        np.arange((labels == "Q2-Q4").sum()) % 2, "high", "standard"
    )
    empty_cell = interaction_test(
        time, event, labels, ("Q1", "Q2-Q4"), subgroup, subgroup_name="cytogenetic_risk"
    ).row(0, named=True)
    assert empty_cell["note"] == (
        "interaction not estimable: Q1 holds no patient with cytogenetic_risk = high"
    )
    subgroup[np.flatnonzero(labels == "Q1")[:3]] = "high"
    event = event.copy()
    event[(labels == "Q1") & (subgroup == "high")] = 0
    no_events = interaction_test(
        time, event, labels, ("Q1", "Q2-Q4"), subgroup, subgroup_name="cytogenetic_risk"
    ).row(0, named=True)
    q1_high = int(((labels == "Q1") & (subgroup == "high")).sum())
    assert no_events["note"].startswith(
        f"interaction not estimable: no events among the {q1_high} Q1 patients with "
        "cytogenetic_risk = high"
    )
