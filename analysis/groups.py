"""Expression groups from a biomarker's values: quartiles, median, tertiles, Q1 vs rest.

The cut points follow the study convention (docs/statistics.md, "Groups"): quantiles of
the patients *with a value*, R type 7 (linear interpolation, NumPy ``"linear"``); a value
equal to a cut point belongs to the lower group (Q1 = value <= q25, Q2 = q25 < value <=
q50, ...). Ties can make groups unequal; the sizes are reported, never rebalanced.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.vocabulary import Grouping, GroupingStatus

#: Quantile probabilities and group labels per grouping, lowest expression first. The first
#: label is the reference group of every comparison (Q1 = lowest expression).
CUTS: dict[Grouping, tuple[tuple[float, ...], tuple[str, ...]]] = {
    "q1_vs_rest": ((0.25,), ("Q1", "Q2-Q4")),
    "quartiles": ((0.25, 0.50, 0.75), ("Q1", "Q2", "Q3", "Q4")),
    "median": ((0.50,), ("M1", "M2")),
    "tertiles": ((1 / 3, 2 / 3), ("T1", "T2", "T3")),
}

#: Fewer values than this cannot make four quartile groups; reported as "too_few_values".
MIN_VALUES = 4


@dataclass(frozen=True)
class GroupAssignment:
    """The groups of one biomarker under one grouping.

    Attributes
    ----------
    labels : np.ndarray
        Object array, one label per input value; ``None`` where the value is missing.
    group_order : tuple of str
        Labels from lowest to highest expression; ``group_order[0]`` is the reference.
    cutpoints : dict
        ``{label: (low, high)}``. The interval is ``(low, high]`` except for the first
        group, whose ``low`` is the minimum value and is *included* ([min, q25]). The last
        group's ``high`` is the maximum value. Empty when there are no values.
    quantiles : tuple of float
        The cut points themselves (R type 7), in increasing order.
    group_sizes : dict
        ``{label: number of patients}``, every label present (0 for an empty group).
    status : str
        ``"ok"``; ``"ties_at_cutpoint"`` (two or more patients share a value equal to a cut
        point, so the groups are unequal: still fine to analyse); ``"too_few_values"``
        (fewer than 4 values); ``"single_group"`` (all values fall in one group, e.g. all
        equal).
    grouping : str
        The grouping name.
    """

    labels: np.ndarray
    group_order: tuple[str, ...]
    cutpoints: dict[str, tuple[float, float]]
    quantiles: tuple[float, ...]
    group_sizes: dict[str, int]
    status: GroupingStatus
    grouping: Grouping
    notes: list[str] = field(default_factory=list)


def quantile_type7(values: np.ndarray, probs: np.ndarray | list[float]) -> np.ndarray:
    """Sample quantiles by R's default definition (Hyndman & Fan type 7).

    Type 7 interpolates linearly between order statistics: with ``h = (n - 1) p``, the
    quantile is ``x[floor(h)] + (h - floor(h)) (x[floor(h) + 1] - x[floor(h)])``. NumPy
    calls this method ``"linear"``. Missing values (NaN) are ignored, as the study
    convention takes quantiles over the patients with a value.

    Parameters
    ----------
    values : array_like of float
    probs : array_like of float, each in [0, 1]

    Returns
    -------
    np.ndarray
        One quantile per probability; NaN for all if there is no value.

    Examples
    --------
    >>> quantile_type7([1, 2, 3, 4], [0.25, 0.5, 0.75]).tolist()
    [1.75, 2.5, 3.25]
    """
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    probabilities = np.asarray(probs, dtype=float)
    if np.any((probabilities < 0) | (probabilities > 1)):
        raise ValueError("probabilities must lie in [0, 1]")
    if array.size == 0:
        return np.full(probabilities.shape, np.nan)
    return np.quantile(array, probabilities, method="linear")


def assign_groups(values: np.ndarray, grouping: Grouping) -> GroupAssignment:
    """Assign each patient to an expression group.

    Parameters
    ----------
    values : np.ndarray of float
        One expression value per patient (already on the "higher = more expression"
        scale; for qRT-PCR pass -ΔCt, not ΔCt). NaN means no value: label ``None``.
    grouping : {"q1_vs_rest", "quartiles", "median", "tertiles"}

    Returns
    -------
    GroupAssignment

    Notes
    -----
    A value equal to a cut point goes to the lower group (R ``cut(..., right=TRUE)``
    semantics). When several patients share that value the groups become unequal; the
    status says so and the sizes are reported; nothing is moved between groups.

    Examples
    --------
    >>> result = assign_groups(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]), "q1_vs_rest")
    >>> result.labels.tolist()
    ['Q1', 'Q1', 'Q2-Q4', 'Q2-Q4', 'Q2-Q4', 'Q2-Q4', 'Q2-Q4', 'Q2-Q4']
    """
    if grouping not in CUTS:
        raise ValueError(f"unknown grouping {grouping!r}; expected one of {list(CUTS)}")
    probabilities, group_order = CUTS[grouping]
    array = np.asarray(values, dtype=float)
    present = ~np.isnan(array)
    observed = array[present]
    labels = np.full(array.shape, None, dtype=object)
    if observed.size == 0:
        return GroupAssignment(
            labels=labels,
            group_order=group_order,
            cutpoints={},
            quantiles=(),
            group_sizes=dict.fromkeys(group_order, 0),
            status="too_few_values",
            grouping=grouping,
        )
    cuts = quantile_type7(observed, probabilities)
    # searchsorted(side="left") puts a value equal to a cut point in the lower group.
    indices = np.searchsorted(cuts, observed, side="left")
    labels[present] = np.asarray(group_order, dtype=object)[indices]
    sizes = {label: int(np.sum(indices == position)) for position, label in enumerate(group_order)}
    lows = (float(observed.min()), *(float(cut) for cut in cuts))
    highs = (*(float(cut) for cut in cuts), float(observed.max()))
    cutpoints = {label: (lows[i], highs[i]) for i, label in enumerate(group_order)}
    status = _status(observed, cuts, sizes)
    return GroupAssignment(
        labels=labels,
        group_order=group_order,
        cutpoints=cutpoints,
        quantiles=tuple(float(cut) for cut in cuts),
        group_sizes=sizes,
        status=status,
        grouping=grouping,
    )


def _status(observed: np.ndarray, cuts: np.ndarray, sizes: dict[str, int]) -> GroupingStatus:
    """Most serious condition first: too few values, one group, ties at a cut point."""
    if observed.size < MIN_VALUES:
        return "too_few_values"
    if sum(1 for size in sizes.values() if size > 0) < 2:
        return "single_group"
    for cut in cuts:
        if np.sum(observed == cut) >= 2:
            return "ties_at_cutpoint"
    return "ok"
