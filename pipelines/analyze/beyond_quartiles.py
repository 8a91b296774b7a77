"""Beyond the quartile split: continuous and spline Cox models, RMST and cut-point tests.

For every biomarker x endpoint x subgroup the quartile analysis is joined by what a
methodologist asks next (docs/statistics.md): is the effect a smooth trend rather than a
step at the cut (per-unit, per-SD and restricted cubic spline Cox,
:mod:`analysis.continuous`), what does the difference mean when hazards are not
proportional (restricted mean survival time, :mod:`analysis.rmst`), and how much of a
"significant" cut point is selection (maximally selected log-rank statistic and the
permutation-corrected smallest p over every cut tried, :mod:`analysis.cutpoint`). This
module only turns the pure results into the rows of the ``results`` tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from pipelines.spec import StudySpec

CONTINUOUS_SCHEMA = {
    "model": pl.String,
    "scale": pl.String,
    "increment": pl.Float64,
    "n": pl.Int64,
    "events": pl.Int64,
    "coef": pl.Float64,
    "se": pl.Float64,
    "hazard_ratio": pl.Float64,
    "hr_ci_lower": pl.Float64,
    "hr_ci_upper": pl.Float64,
    "wald_p": pl.Float64,
    "lr_statistic": pl.Float64,
    "lr_df": pl.Int64,
    "lr_p": pl.Float64,
    "nonlinearity_statistic": pl.Float64,
    "nonlinearity_df": pl.Int64,
    "nonlinearity_p": pl.Float64,
    "knots": pl.String,
    "status": pl.String,
    "note": pl.String,
}
CURVE_SCHEMA = {
    "value": pl.Float64,
    "log_hr": pl.Float64,
    "ci_lower": pl.Float64,
    "ci_upper": pl.Float64,
}


def continuous_frames(
    values: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    *,
    scale: str,
    spec: StudySpec,
) -> Iterator[tuple[str, pl.DataFrame]]:
    """Rows of ``results.continuous_models`` and ``results.continuous_curves``."""
    from analysis.continuous import continuous_models

    result = continuous_models(values, time, event, scale=scale, knots=spec.spline_knots)
    rows = [
        {column: getattr(row, column) for column in CONTINUOUS_SCHEMA if hasattr(row, column)}
        | {
            "knots": json.dumps(list(row.knots)) if row.knots else None,
            "note": "; ".join(row.notes) or None,
        }
        for row in result.rows
    ]
    yield "continuous_models", pl.DataFrame(rows, schema=CONTINUOUS_SCHEMA)
    if result.curve is not None:
        curve = result.curve
        yield (
            "continuous_curves",
            pl.DataFrame(
                {
                    "value": curve.value,
                    "log_hr": curve.log_hr,
                    "ci_lower": curve.ci_lower,
                    "ci_upper": curve.ci_upper,
                },
                schema=CURVE_SCHEMA,
            ).with_columns(pl.col(pl.Float64).fill_nan(None)),
        )


def rmst_frame(
    time: np.ndarray,
    event: np.ndarray,
    labels: np.ndarray,
    group_order: Sequence[str],
    *,
    spec: StudySpec,
    ph_flagged: bool,
) -> pl.DataFrame | None:
    """Rows of ``results.rmst`` for one grouping, or None when the spec does not ask
    (``rmst: never``, or ``auto`` and no proportional-hazards test flagged the model)."""
    from analysis.rmst import compare_rmst

    if spec.rmst == "never" or (spec.rmst == "auto" and not ph_flagged):
        return None
    horizon = spec.rmst_horizon_years * spec.days_per_year if spec.rmst_horizon_years else None
    analysis = compare_rmst(
        time,
        event,
        labels,
        group_order,
        landmarks_days=[years * spec.days_per_year for years in spec.landmarks_years],
        horizon_days=horizon,
    )
    return analysis.to_frame()


def cutpoint_frames(
    time: np.ndarray,
    event: np.ndarray,
    values: np.ndarray,
    *,
    spec: StudySpec,
    earlier_choices: Sequence[str],
    labels: dict[str, np.ndarray] | None,
) -> Iterator[tuple[str, pl.DataFrame]]:
    """Rows of ``results.cutpoint_tests`` (the maximally selected log-rank cut, labelled
    exploratory wherever shown) and ``results.cutpoint_family_tests`` (the smallest p over
    every cut-point choice this study has tried on this cohort, corrected by permutation).

    The family is the spec's groupings, the choices of the ledger (``earlier_choices``:
    what earlier runs tried on the same data) and maxstat, in the vocabulary's order.
    """
    from analysis.cutpoint import cutpoint_family_test
    from analysis.vocabulary import CUTPOINT_CHOICES

    wanted = {*spec.groupings, *earlier_choices, "maxstat"}
    choices = [choice for choice in CUTPOINT_CHOICES if choice in wanted]
    family = cutpoint_family_test(
        time,
        event,
        values,
        choices,
        seed=spec.permutation_seed,
        permutations=spec.permutations,
        labels={k: v for k, v in (labels or {}).items() if k in choices} or None,
    )
    if family.maxstat is not None:
        yield "cutpoint_tests", pl.DataFrame([family.maxstat.to_row()])
    yield (
        "cutpoint_family_tests",
        pl.DataFrame([{**family.to_row(), "status": family.status}]),
    )
