"""The long ``cytogenetics`` table: one row per patient and FISH probe tested.

High-risk patients carry one defining aberration (t(4;14), del(17p) or t(14;16)), and a
translocation may come with del(17p); standard-risk patients carry none of the three
(the product's definition: high-risk if any is present). gain(1q21) and del(13q) are
non-risk passengers, more frequent in high-risk disease and not probed in every patient.
Each result is ``not_evaluable`` with a small probability, so, as in real FISH reports,
some patients end up with unknown risk. Aberration names are written in the varied
spellings of ``ModelParameters.spellings`` so that the downstream synonym table is
exercised (canonicalisation is the warehouse's job, never the simulator's).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numpy.typing import NDArray

from pipelines.simulate.clinical import Cohort
from pipelines.simulate.parameters import (
    DEL13Q,
    DEL17P,
    GAIN1Q21,
    HIGH_RISK_ABERRATIONS,
    OTHER_ABERRATIONS,
    ModelParameters,
)

CYTOGENETICS_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "aberration",
    "status",
    "method",
    "clone_fraction",
)
PRESENT, ABSENT, NOT_EVALUABLE = "present", "absent", "not_evaluable"
PERCENT = 100
#: Probe order within a patient (risk probes first, as on a FISH report).
PROBE_ORDER: tuple[str, ...] = HIGH_RISK_ABERRATIONS + OTHER_ABERRATIONS


def carried_aberrations(
    rng: np.random.Generator, is_high_risk: NDArray[np.bool_], parameters: ModelParameters
) -> NDArray[np.bool_]:
    """True presence, shape (patients, len(PROBE_ORDER))."""
    n = len(is_high_risk)
    names = [name for name, _ in parameters.high_risk_primary]
    weights = np.array([weight for _, weight in parameters.high_risk_primary])
    primary = rng.choice(len(names), size=n, p=weights / weights.sum())
    present = np.zeros((n, len(PROBE_ORDER)), dtype=bool)
    for index, name in enumerate(names):
        present[:, PROBE_ORDER.index(name)] = is_high_risk & (primary == index)
    extra_del17p = rng.random(n) < parameters.secondary_del17p_fraction
    column_del17p = PROBE_ORDER.index(DEL17P)
    present[:, column_del17p] |= is_high_risk & extra_del17p
    gain = np.where(
        is_high_risk,
        parameters.gain1q21_prevalence_high_risk,
        parameters.gain1q21_prevalence_standard_risk,
    )
    loss = np.where(
        is_high_risk,
        parameters.del13q_prevalence_high_risk,
        parameters.del13q_prevalence_standard_risk,
    )
    present[:, PROBE_ORDER.index(GAIN1Q21)] = rng.random(n) < gain
    present[:, PROBE_ORDER.index(DEL13Q)] = rng.random(n) < loss
    return present


def cytogenetics_table(
    rng: np.random.Generator, cohort: Cohort, parameters: ModelParameters
) -> pl.DataFrame:
    """Text rows in patient order, then probe order; untested probes have no row."""
    n, probes = cohort.size, len(PROBE_ORDER)
    present = carried_aberrations(rng, cohort.is_high_risk, parameters)
    tested = np.ones((n, probes), dtype=bool)
    for name in OTHER_ABERRATIONS:
        tested[:, PROBE_ORDER.index(name)] = (
            rng.random(n) < parameters.other_aberration_tested_fraction
        )
    not_evaluable = rng.random((n, probes)) < parameters.not_evaluable_fraction
    status = np.where(not_evaluable, NOT_EVALUABLE, np.where(present, PRESENT, ABSENT))

    spelling_lists = dict(parameters.spellings)
    spelling = np.empty((n, probes), dtype=object)
    for column, name in enumerate(PROBE_ORDER):
        options = np.array(spelling_lists[name], dtype=object)
        spelling[:, column] = options[rng.integers(0, len(options), n)]

    methods = [method for method, _ in parameters.fish_methods]
    weights = np.array([weight for _, weight in parameters.fish_methods])
    method = rng.choice(methods, size=n, p=weights / weights.sum())

    alpha, beta = parameters.clone_fraction_beta
    clone = np.rint(PERCENT * rng.beta(alpha, beta, (n, probes))).astype(np.int64)
    clone = np.clip(
        clone, parameters.clone_fraction_min_percent, parameters.clone_fraction_max_percent
    )
    clone_text = np.where(status == PRESENT, clone.astype(str), None)

    keep = tested.ravel()
    return pl.DataFrame(
        {
            "patient_id": np.repeat(np.array(cohort.patient_ids), probes)[keep],
            "aberration": spelling.ravel()[keep].tolist(),
            "status": status.ravel()[keep],
            "method": np.repeat(method, probes)[keep],
            "clone_fraction": clone_text.ravel()[keep].tolist(),
        },
        schema=dict.fromkeys(CYTOGENETICS_COLUMNS, pl.String),
    )
