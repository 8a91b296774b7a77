"""Scale mode: a synthetic RNA-seq matrix (log2 expression) with a known truth.

Gene names are the four study genes followed by synthetic ``GENE00001`` ... names. The
study genes keep their roles from the clinical model (their log2 value is an increasing
function of the latent expression, so quartiles agree). A small, seeded set of synthetic
genes is truly prognostic: each multiplies every hazard of a patient (PFS hazard and
post-progression death hazard) by exp(beta * feature), where the feature is either the
centred indicator of being in Q2-Q4 (``quartile`` effect) or the latent standard-normal
value (``continuous`` effect, per SD). Effect sizes are heavy-tailed (exponential) with
random signs and are scaled so that the summed synthetic log-hazard has a fixed variance:
a few strong genes, many weak ones, and no explosion of heterogeneity as the gene count
grows. All other synthetic genes are null. Everything is vectorised: no Python loop runs
over patients or genes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy.special import ndtri

from pipelines.simulate.calibration import Hazards
from pipelines.simulate.clinical import Cohort
from pipelines.simulate.expression import EXPRESSION_COLUMNS
from pipelines.simulate.parameters import STUDY_GENES, ModelParameters

TRUTH_COLUMNS: tuple[str, ...] = (
    "gene",
    "endpoint",
    "effect_type",
    "subgroup",
    "log_hazard_ratio",
    "is_prognostic",
)
QUARTILE, CONTINUOUS, NONE = "quartile", "continuous", "none"
#: Minimum digits of synthetic gene numbers (GENE00001).
GENE_NUMBER_DIGITS = 5


@dataclass(frozen=True)
class ScaleGenes:
    """The synthetic part of the matrix and its truth (arrays over synthetic genes)."""

    names: tuple[str, ...]
    #: Latent standard-normal values, shape (patients, synthetic genes), float32.
    latent: NDArray[np.float32]
    mean: NDArray[np.float32]
    sd: NDArray[np.float32]
    effect_type: NDArray[np.str_]
    log_hazard_ratio: NDArray[np.float64]

    def linear_predictor(self, quartile_fraction: float) -> NDArray[np.float64]:
        """Summed log-hazard multiplier per patient (mean zero by construction)."""
        prognostic = np.flatnonzero(self.effect_type != NONE)
        if prognostic.size == 0:
            return np.zeros(self.latent.shape[0])
        values = self.latent[:, prognostic].astype(np.float64)
        is_quartile = self.effect_type[prognostic] == QUARTILE
        above_q1 = (values > ndtri(quartile_fraction)) - (1.0 - quartile_fraction)
        features = np.where(is_quartile[None, :], above_q1, values)
        return features @ self.log_hazard_ratio[prognostic]


def synthetic_gene_names(count: int, prefix: str) -> tuple[str, ...]:
    width = max(GENE_NUMBER_DIGITS, len(str(count)))
    return tuple(f"{prefix}{number:0{width}d}" for number in range(1, count + 1))


def prognostic_gene_count(synthetic: int, parameters: ModelParameters) -> int:
    """About ``scale_prognostic_fraction`` of the synthetic genes, at least a few."""
    wanted = max(
        parameters.scale_min_prognostic_genes,
        round(parameters.scale_prognostic_fraction * synthetic),
    )
    return min(synthetic, wanted)


def draw_scale_genes(
    rng: np.random.Generator, patients: int, synthetic: int, parameters: ModelParameters
) -> ScaleGenes:
    """Latent matrix, per-gene location/scale, and the prognostic truth."""
    latent = rng.standard_normal((patients, synthetic), dtype=np.float32)
    mean = rng.uniform(*parameters.scale_mean_range, synthetic).astype(np.float32)
    sd = rng.uniform(*parameters.scale_sd_range, synthetic).astype(np.float32)
    count = prognostic_gene_count(synthetic, parameters)
    chosen = rng.permutation(synthetic)[:count]
    quartile_count = round(parameters.scale_quartile_effect_share * count)
    effect_type = np.full(synthetic, NONE, dtype="<U10")
    effect_type[chosen[:quartile_count]] = QUARTILE
    effect_type[chosen[quartile_count:]] = CONTINUOUS
    magnitude = rng.exponential(1.0, count) * rng.choice([-1.0, 1.0], count)
    q = parameters.quartile_fraction
    feature_variance = np.where(effect_type[chosen] == QUARTILE, q * (1 - q), 1.0)
    total = float(np.sum(magnitude**2 * feature_variance))
    log_hazard_ratio = np.zeros(synthetic)
    if count:
        scale = np.sqrt(parameters.scale_linear_predictor_variance / total)
        log_hazard_ratio[chosen] = scale * magnitude
    return ScaleGenes(
        names=synthetic_gene_names(synthetic, parameters.scale_gene_prefix),
        latent=latent,
        mean=mean,
        sd=sd,
        effect_type=effect_type,
        log_hazard_ratio=log_hazard_ratio,
    )


def scale_expression_table(
    cohort: Cohort, genes: ScaleGenes, parameters: ModelParameters
) -> pl.DataFrame:
    """Long log2 rows, patient-major, values >= 0 (log2(TPM + 1)-like), no replicates."""
    location = {gene: (mean, sd) for gene, mean, sd in parameters.scale_study_genes}
    study = np.empty((cohort.size, len(STUDY_GENES)), dtype=np.float32)
    for column, gene in enumerate(STUDY_GENES):
        mean, sd = location[gene]
        study[:, column] = mean + sd * cohort.latent(gene)
    synthetic = genes.mean[None, :] + genes.sd[None, :] * genes.latent
    values = np.concatenate([study, synthetic], axis=1)
    step = 10**parameters.scale_decimals
    scaled = np.rint(np.maximum(values, 0.0) * step).astype(np.int32).ravel()
    del values, synthetic
    all_names = pl.Series([*STUDY_GENES, *genes.names], dtype=pl.String)
    n_genes = len(all_names)
    rows = cohort.size * n_genes
    patient_index = np.repeat(np.arange(cohort.size, dtype=np.uint32), n_genes)
    gene_index = np.tile(np.arange(n_genes, dtype=np.uint32), cohort.size)
    return pl.DataFrame(
        {
            "patient_id": pl.Series(cohort.patient_ids, dtype=pl.String).gather(patient_index),
            "gene": all_names.gather(gene_index),
            "value": (pl.Series(scaled).cast(pl.Float64) / step).cast(pl.String),
            "assay": _constant(parameters.scale_assay, rows),
            "unit": _constant(parameters.scale_unit, rows),
            "replicate": _constant(None, rows),
            "reference_gene": _constant(None, rows),
        }
    ).select(EXPRESSION_COLUMNS)


def null_expression_table(
    rng: np.random.Generator, patient_ids: pl.Series, count: int, parameters: ModelParameters
) -> pl.DataFrame:
    """Long log2 rows of ``count`` synthetic genes with no effect on survival.

    Same location/scale distributions and rounding as the scale mode's synthetic genes.
    """
    names = synthetic_gene_names(count, parameters.scale_gene_prefix)
    mean = rng.uniform(*parameters.scale_mean_range, count)
    sd = rng.uniform(*parameters.scale_sd_range, count)
    values = mean[None, :] + sd[None, :] * rng.standard_normal((len(patient_ids), count))
    step = 10**parameters.scale_decimals
    rounded = np.rint(np.maximum(values, 0.0) * step).ravel() / step
    rows = len(rounded)
    return pl.DataFrame(
        {
            "patient_id": patient_ids.gather(np.repeat(np.arange(len(patient_ids)), count)),
            "gene": pl.Series(names, dtype=pl.String).gather(
                np.tile(np.arange(count), len(patient_ids))
            ),
            "value": pl.Series(rounded).cast(pl.String),
            "assay": _constant(parameters.scale_assay, rows),
            "unit": _constant(parameters.scale_unit, rows),
            "replicate": _constant(None, rows),
            "reference_gene": _constant(None, rows),
        }
    ).select(EXPRESSION_COLUMNS)


def _constant(value: str | None, rows: int) -> pl.Series:
    return pl.Series([value], dtype=pl.String).extend_constant(value, rows - 1)


def truth_table(genes: ScaleGenes, hazards: Hazards, parameters: ModelParameters) -> pl.DataFrame:
    """One row per gene and endpoint; see docs/simulated-cohort.md for the definitions.

    ``log_hazard_ratio`` is the log multiplier the model applies: Q2-Q4 vs Q1 for
    quartile effects, per SD of latent expression for continuous ones. For synthetic
    genes it multiplies both hazards (same value for PFS and OS). For the study genes
    it holds in standard-risk patients only: the PFS row is the PFS-hazard multiplier,
    the OS row the post-progression death-hazard multiplier (IKZF3 and BSG: 0, their OS
    effect is indirect, through progression, so they are still prognostic for OS).
    """
    study_pfs = {
        "IKZF1": np.log(hazards.pfs_standard_risk_rest / hazards.pfs_standard_risk_q1),
        "IKZF3": np.log(parameters.ikzf3_pfs_hazard_ratio),
        "CRBN": 0.0,
        "BSG": np.log(parameters.bsg_pfs_hazard_ratio),
    }
    study_os = {gene: 0.0 for gene in STUDY_GENES} | {
        "IKZF1": np.log(
            hazards.post_progression_standard_risk_rest / hazards.post_progression_standard_risk_q1
        ),
    }
    gene_names = [*STUDY_GENES, *genes.names]
    study_types = [QUARTILE if study_pfs[gene] else NONE for gene in STUDY_GENES]
    effect_type = [*study_types, *genes.effect_type.tolist()]
    subgroup = ["standard_risk" if kind != NONE else "all" for kind in study_types]
    subgroup += ["all"] * len(genes.names)
    pfs = np.concatenate([[study_pfs[gene] for gene in STUDY_GENES], genes.log_hazard_ratio])
    overall = np.concatenate([[study_os[gene] for gene in STUDY_GENES], genes.log_hazard_ratio])
    prognostic = np.array([kind != NONE for kind in effect_type])
    frames = [
        pl.DataFrame(
            {
                "order": np.arange(len(gene_names)),
                "gene": gene_names,
                "endpoint": [endpoint] * len(gene_names),
                "effect_type": effect_type,
                "subgroup": subgroup,
                "log_hazard_ratio": np.round(values, 6),
                "is_prognostic": prognostic,
            }
        )
        for endpoint, values in (("PFS", pfs), ("OS", overall))
    ]
    # gene order of the matrix, PFS before OS for each gene
    return pl.concat(frames).sort("order", maintain_order=True).select(TRUTH_COLUMNS)
