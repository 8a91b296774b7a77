"""The long ``expression`` table in qRT-PCR mode: raw Ct values in technical triplicate.

Conventions (REFERENCE_STUDY.md, qRT-PCR): a Ct value is inversely related to mRNA;
dCt = mean Ct(target) - mean Ct(reference gene); log2 expression = -dCt, so the lowest
quartile of expression is the highest quartile of dCt. Each patient has a reference-gene
Ct (input amount varies between samples) and, per target gene, a dCt of
``mean - sd * latent`` (higher latent expression = lower dCt).

Replicate wells scatter around the patient's value with SD ``replicate_sd`` and rare
noisy wells (SD ``noisy_well_sd``) that trip the "replicate SD > 0.5" quality flag. The
well deviations of a triplicate are centred on zero, so the triplicate mean reproduces
the patient's value: prognosis (which depends on the latent value) and measured quartile
agree, as the calibration assumes (docs/simulated-cohort.md explains the choice).
Missing measurements are absent rows: a failed target assay drops a whole triplicate,
a failed well drops one row; the reference gene always keeps at least two wells.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from pipelines.simulate.clinical import Cohort
from pipelines.simulate.parameters import STUDY_GENES, ModelParameters

EXPRESSION_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "gene",
    "value",
    "assay",
    "unit",
    "replicate",
    "reference_gene",
)


def decimal_text(values: np.ndarray, decimals: int) -> pl.Series:
    """Round half-to-even to ``decimals`` and print the shortest exact decimal text."""
    return pl.Series(np.round(values.astype(np.float64), decimals)).cast(pl.String)


def qrtpcr_table(
    rng: np.random.Generator,
    cohort: Cohort,
    parameters: ModelParameters,
    genes: Sequence[str],
) -> pl.DataFrame:
    """Ct rows for ``genes`` (subset of the study genes) and the reference gene.

    All random draws are made for all four study genes whatever ``genes`` holds, so a
    gene's values do not change when other genes are left out.
    """
    n, wells = cohort.size, parameters.replicates
    delta_ct = {gene: (mean, sd) for gene, mean, sd in parameters.delta_ct}
    reference_ct = rng.normal(parameters.reference_ct_mean, parameters.reference_ct_sd, n)
    base = np.empty((n, len(STUDY_GENES) + 1))
    for column, gene in enumerate(STUDY_GENES):
        mean, sd = delta_ct[gene]
        base[:, column] = reference_ct + mean - sd * cohort.latent(gene)
    base[:, -1] = reference_ct

    noise = rng.normal(0.0, parameters.replicate_sd, (n, base.shape[1], wells))
    noisy = rng.random(noise.shape) < parameters.noisy_well_fraction
    noise += noisy * rng.normal(0.0, parameters.noisy_well_sd, noise.shape)
    noise -= noise.mean(axis=2, keepdims=True)
    ct = base[:, :, None] + noise

    keep = np.ones(ct.shape, dtype=bool)
    failed_assay = rng.random((n, base.shape[1])) < parameters.missing_target_fraction
    failed_assay[:, -1] = False
    keep &= ~failed_assay[:, :, None]
    failed_well = rng.random((n, base.shape[1])) < wells * parameters.missing_well_fraction
    which_well = rng.integers(0, wells, (n, base.shape[1]))
    keep[(*np.nonzero(failed_well), which_well[failed_well])] = False

    gene_names = np.array([*STUDY_GENES, parameters.reference_gene])
    columns = [STUDY_GENES.index(gene) for gene in genes] + [len(STUDY_GENES)]
    ct, keep = ct[:, columns, :], keep[:, columns, :]
    # C order: patient-major, then gene (reference last), then replicate
    patient_index, gene_index, well_index = np.nonzero(keep)
    rows = patient_index.size
    return pl.DataFrame(
        {
            "patient_id": np.array(cohort.patient_ids)[patient_index],
            "gene": gene_names[columns][gene_index],
            "value": decimal_text(ct[keep], parameters.ct_decimals),
            "assay": [parameters.qrtpcr_assay] * rows,
            "unit": [parameters.qrtpcr_unit] * rows,
            "replicate": (well_index + 1).astype(str),
            "reference_gene": [parameters.reference_gene] * rows,
        },
        schema=dict.fromkeys(EXPRESSION_COLUMNS, pl.String),
    )
