"""Group assignment: R type 7 cut points, lower-group ties, status values."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.groups import assign_groups, quantile_type7


def test_quantile_type7_matches_r_default() -> None:
    # R: quantile(c(1, 2, 3, 4, 10), c(.25, .5, .75)) -> 2, 3, 4 (type 7).
    assert quantile_type7([1, 2, 3, 4, 10], [0.25, 0.5, 0.75]).tolist() == [2.0, 3.0, 4.0]
    # h = (n - 1) p = 0.75 -> 1 + 0.75 * (2 - 1)
    assert quantile_type7([1, 2, 3, 4], [0.25]).tolist() == [1.75]
    assert quantile_type7([np.nan, 1, 2, 3, 4], [0.25]).tolist() == [1.75]


def test_quartiles_value_on_cut_goes_to_lower_group() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0])  # q25 = 2, q50 = 3, q75 = 4
    result = assign_groups(values, "quartiles")
    assert result.labels.tolist() == ["Q1", "Q1", "Q2", "Q3", "Q4"]
    assert result.group_order == ("Q1", "Q2", "Q3", "Q4")
    assert result.cutpoints["Q1"] == (1.0, 2.0)
    assert result.cutpoints["Q4"] == (4.0, 5.0)
    assert result.status == "ok"


def test_q1_vs_rest_labels_and_missing() -> None:
    values = np.array([5.0, np.nan, 1.0, 2.0, 3.0, 4.0, 6.0, 7.0, 8.0])
    result = assign_groups(values, "q1_vs_rest")
    assert result.labels[1] is None
    assert result.group_order == ("Q1", "Q2-Q4")
    assert result.group_sizes == {"Q1": 2, "Q2-Q4": 6}
    assert set(result.labels[~np.isnan(values)]) == {"Q1", "Q2-Q4"}


@pytest.mark.parametrize(
    ("grouping", "order"),
    [("median", ("M1", "M2")), ("tertiles", ("T1", "T2", "T3"))],
)
def test_other_groupings(grouping: str, order: tuple[str, ...]) -> None:
    result = assign_groups(np.arange(12.0), grouping)
    assert result.group_order == order
    assert sum(result.group_sizes.values()) == 12
    assert all(size == 12 // len(order) for size in result.group_sizes.values())


def test_ties_at_cut_point_are_reported_not_rebalanced() -> None:
    values = np.array([1.0, 2.0, 2.0, 2.0, 3.0, 4.0, 5.0, 6.0])  # q25 = 2
    result = assign_groups(values, "q1_vs_rest")
    assert result.status == "ties_at_cutpoint"
    assert result.group_sizes == {"Q1": 4, "Q2-Q4": 4}


def test_degenerate_statuses() -> None:
    assert assign_groups(np.array([1.0, 2.0, 3.0]), "quartiles").status == "too_few_values"
    assert assign_groups(np.full(8, 2.0), "quartiles").status == "single_group"
    empty = assign_groups(np.array([np.nan, np.nan]), "quartiles")
    assert empty.status == "too_few_values"
    assert empty.labels.tolist() == [None, None]


def test_unknown_grouping_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown grouping"):
        assign_groups(np.arange(5.0), "quintiles")


def test_every_grouping_of_the_vocabulary_has_cut_points() -> None:
    """analysis.vocabulary names the groupings; analysis.groups defines each one's cuts."""
    from analysis.groups import CUTS
    from analysis.vocabulary import GROUPINGS

    assert tuple(CUTS) == GROUPINGS
