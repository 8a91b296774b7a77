"""``results.power``: what each two-group contrast of a run could have detected.

A non-significant log-rank test in 60 patients says little unless the reader knows what
it could have found. For every contrast of a grouping against its reference group
(Q2-Q4 vs Q1, Qk vs Q1, ...) in every endpoint and subgroup, Schoenfeld's events-based
formula (:mod:`analysis.power`) gives, from the contrast's observed events and
allocation, the smallest hazard ratio detectable with 80% power at two-sided alpha 0.05
and the power at the spec's ``target_hr``.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from analysis.power import minimum_detectable_hazard_ratio, schoenfeld_power

#: Conventional design values (recorded in every row of results.power).
ALPHA = 0.05
DESIGN_POWER = 0.8

POWER_SCHEMA = {
    "contrast": pl.String,
    "n_low": pl.Int64,
    "n_high": pl.Int64,
    "events": pl.Int64,
    "allocation": pl.Float64,
    "alpha": pl.Float64,
    "power": pl.Float64,
    "min_detectable_hr": pl.Float64,
    "target_hr": pl.Float64,
    "power_at_target_hr": pl.Float64,
    "status": pl.String,
}


def power_rows(
    group_summary: pl.DataFrame, group_order: Sequence[str], *, target_hr: float
) -> pl.DataFrame:
    """One row per non-reference group vs ``group_order[0]``, from its ``group_summary``.

    ``allocation`` is the reference (lower-expression) group's share of the two groups'
    patients; ``events`` counts both groups' events, as the formula does.
    """
    sizes = {row["group_label"]: row for row in group_summary.iter_rows(named=True)}
    reference = group_order[0]
    rows = []
    for label in group_order[1:]:
        low, high = sizes.get(reference), sizes.get(label)
        n_low = int(low["n"]) if low else 0
        n_high = int(high["n"]) if high else 0
        events = (int(low["events"]) if low else 0) + (int(high["events"]) if high else 0)
        allocation = n_low / (n_low + n_high) if n_low + n_high else 0.0
        detectable = minimum_detectable_hazard_ratio(
            events, allocation, alpha=ALPHA, power=DESIGN_POWER
        )
        at_target = schoenfeld_power(events, allocation, target_hr, alpha=ALPHA)
        rows.append(
            (
                f"{label} vs {reference}",
                n_low,
                n_high,
                events,
                allocation,
                ALPHA,
                DESIGN_POWER,
                detectable.hazard_ratio,
                target_hr,
                at_target.power,
                detectable.status,
            )
        )
    return pl.DataFrame(rows, schema=POWER_SCHEMA, orient="row")
