"""The run's primary family of tests, adjusted for multiplicity (spec key ``multiplicity``).

A run reports dozens of log-rank p-values (4 biomarkers x 2 endpoints x groupings x
subgroups). Only the primary family — by default the whole-cohort Q1 vs Q2-Q4 log-rank
test of every biomarker x endpoint, declared before the data are seen — gets Holm
(family-wise error) and Benjamini-Hochberg (false discovery rate) adjusted values;
every other p-value stays nominal and is marked ``secondary``. The adjustment itself is
:mod:`analysis.multiplicity` (equal to R ``p.adjust``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from analysis.multiplicity import benjamini_hochberg, holm

if TYPE_CHECKING:
    from pipelines.spec import StudySpec

#: The test whose p-values form the primary family (the reference study's question).
PRIMARY_TEST = "logrank"


def family_members(spec: StudySpec) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """Biomarkers, endpoints and grouping of the primary family (defaults resolved).

    With ``biomarkers: all`` the family is empty: the genome-wide scan's BH q-values
    across all genes are the adjusted values, and the top genes' full analyses are
    secondary (they were selected by their p-values).
    """
    family = spec.multiplicity
    if isinstance(spec.biomarkers, str):
        biomarkers: tuple[str, ...] = ()
    else:
        biomarkers = family.biomarkers if family.biomarkers is not None else spec.biomarkers
    endpoints = family.endpoints if family.endpoints is not None else spec.endpoints
    return biomarkers, endpoints, family.grouping


def adjust_primary_family(logrank: pl.DataFrame, spec: StudySpec) -> pl.DataFrame:
    """``logrank`` (rows of ``results.logrank_tests``) with ``family``, ``p_holm``, ``q_bh``.

    Rows of the primary family get ``family = 'primary'`` and the adjusted values of the
    methods the spec names (NULL for a method it does not name); every other row is
    ``secondary`` with NULL adjusted values. A family test without a p-value (e.g. no
    events) stays NULL and does not count in the family size.
    """
    biomarkers, endpoints, grouping = family_members(spec)
    in_family = (
        pl.col("biomarker").is_in(list(biomarkers))
        & pl.col("endpoint").is_in(list(endpoints))
        & (pl.col("grouping") == grouping)
        & (pl.col("subgroup") == "all")
        & (pl.col("test") == PRIMARY_TEST)
    )
    frame = logrank.with_row_index("_row").with_columns(
        family=pl.when(in_family).then(pl.lit("primary")).otherwise(pl.lit("secondary"))
    )
    members = frame.filter(pl.col("family") == "primary")
    p_values = members["p_value"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    methods = spec.multiplicity.methods
    adjusted = pl.DataFrame(
        {
            "_row": members["_row"],
            "p_holm": _or_null(holm(p_values)) if "holm" in methods else [None] * len(p_values),
            "q_bh": _or_null(benjamini_hochberg(p_values))
            if "bh" in methods
            else [None] * len(p_values),
        },
        schema={"_row": pl.UInt32, "p_holm": pl.Float64, "q_bh": pl.Float64},
    )
    return frame.join(adjusted, on="_row", how="left").sort("_row").drop("_row")


def _or_null(values: np.ndarray) -> list[float | None]:
    return [None if np.isnan(value) else float(value) for value in values]
