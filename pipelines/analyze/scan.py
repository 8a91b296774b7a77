"""The genome-wide quartile scan of an analysis run: every gene, every endpoint, q-values.

The single-biomarker path (KM curves, landmarks, adjusted and interaction models) is
too slow per gene for 20,000 genes (docs/performance.md); the scan asks fewer questions
of every gene at once, vectorised over genes (:mod:`analysis.scan`), and controls the
false discovery rate across genes (Benjamini-Hochberg q-values per endpoint, subgroup
and test). Its rows go to ``results.gene_scan`` in the run's transaction; the top genes
can then get the full single-biomarker analysis (``biomarkers: all``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import polars as pl

from pipelines.analyze.cohort import ENDPOINT_COLUMNS, subgroup_filters

if TYPE_CHECKING:
    from pipelines.spec import StudySpec

#: Threads for the scan: numpy releases the GIL in the sorts and sums that dominate it.
WORKERS = min(4, os.cpu_count() or 1)

#: Tests whose p-values get Benjamini-Hochberg q-values (column stem -> q column).
Q_VALUES = {
    "logrank_p": "logrank_q",
    "quartiles_p": "quartiles_q",
    "trend_p": "trend_q",
    "cox_p": "cox_q",
}


def load_matrix(
    con: duckdb.DuckDBPyConnection, patient_ids: Sequence[str], min_patients: int
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Analysable values as a (patients x genes) float matrix, NaN where not measured.

    Rows follow ``patient_ids``; genes measured in fewer than ``min_patients`` of these
    patients are left out, as in the single-biomarker path. The long table is read as
    three numeric columns (the mart numbers patients and genes: ``patient_key``,
    ``gene_key``) and scattered into the matrix, so 20 million values never become
    strings or Python objects.
    """
    keys = con.execute(
        "select patient_key, any_value(patient_id) as patient_id "
        "from marts.cohort_expression group by 1"
    ).fetchnumpy()
    gene_keys = con.execute("select gene_key, gene from marts.cohort_genes order by 1").fetchall()
    row_of_patient = {patient_id: row for row, patient_id in enumerate(patient_ids)}
    mapping = [
        (int(key), row_of_patient[str(patient_id)])
        for key, patient_id in zip(keys["patient_key"], keys["patient_id"], strict=True)
        if str(patient_id) in row_of_patient
    ]
    genes = len(gene_keys)
    values = np.full((len(patient_ids), genes), np.nan)
    if mapping:
        # DuckDB computes each value's flat position in the matrix (in parallel, on
        # integers) and skips patients not asked for; numpy only scatters. Polars'
        # reader is the fastest way out of DuckDB for 20 M numeric rows here.
        con.register(
            "_scan_rows",
            pl.DataFrame(mapping, schema=["patient_key", "row"], orient="row").to_arrow(),
        )
        try:
            columns = con.sql(
                "select r.row::bigint * $genes + (e.gene_key - 1) as position, "
                "e.expression_value from marts.cohort_expression e "
                "join _scan_rows r using (patient_key) where e.is_analysable",
                params={"genes": genes},
            ).pl()
        finally:
            con.unregister("_scan_rows")
        values.reshape(-1)[columns["position"].to_numpy()] = columns["expression_value"].to_numpy()
    measured = np.count_nonzero(~np.isnan(values), axis=0)
    keep = np.flatnonzero(measured >= min_patients)
    names = tuple(str(gene_keys[index][1]) for index in keep)
    return (values if keep.size == values.shape[1] else values[:, keep]), names


def scan_cohort(
    con: duckdb.DuckDBPyConnection, patients: pl.DataFrame, spec: StudySpec
) -> tuple[pl.DataFrame, pl.DataFrame, tuple[str, ...]]:
    """``results.gene_scan`` rows, the top genes' KM curves (both without run_id) and
    the top genes themselves."""
    from analysis.multiplicity import benjamini_hochberg
    from analysis.scan import quartile_cutpoints, quartile_scan

    settings = spec.scan_settings()
    values, genes = load_matrix(con, patients["patient_id"].to_list(), spec.min_patients_per_gene)
    cohort_cutpoints = quartile_cutpoints(values, workers=WORKERS)
    frames = []
    for endpoint in spec.endpoints:
        time_column, event_column = ENDPOINT_COLUMNS[endpoint]
        time = patients[time_column].cast(pl.Float64).to_numpy()
        event = patients[event_column].cast(pl.Float64).to_numpy()
        for subgroup, rows in _subgroup_rows(patients, spec, settings.within_subgroups):
            own = spec.quartiles_within == "subgroup" and subgroup != "all"
            everyone = bool(rows.all())  # no 160 MB copy of the matrix for the whole cohort
            result = quartile_scan(
                values if everyone else values[rows],
                time if everyone else time[rows],
                event if everyone else event[rows],
                cutpoints=None if own else cohort_cutpoints,
                min_patients=spec.min_patients_per_gene,
                workers=WORKERS,
            )
            frame = result.to_frame(genes)
            frame = frame.with_columns(
                *(
                    pl.Series(q, benjamini_hochberg(frame[p].to_numpy()), nan_to_null=True)
                    for p, q in Q_VALUES.items()
                ),
                pl.lit(endpoint).alias("endpoint"),
                pl.lit(subgroup).alias("subgroup"),
            )
            frames.append(frame)
    scan = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
    top = top_genes(scan, settings.top_genes)
    curves = _top_gene_curves(scan, top, values, genes, patients, spec)
    return scan, curves, top


def top_genes(scan: pl.DataFrame, count: int) -> tuple[str, ...]:
    """The ``count`` genes with the smallest Q1 vs Q2-Q4 log-rank p per endpoint
    (whole cohort), most significant first, each gene once."""
    if count == 0 or scan.is_empty():
        return ()
    ranked = (
        scan.filter((pl.col("subgroup") == "all") & pl.col("logrank_p").is_not_null())
        .sort("logrank_p", "gene")
        .group_by("endpoint", maintain_order=True)
        .head(count)
        .sort("logrank_p", "gene")
    )
    return tuple(dict.fromkeys(ranked["gene"].to_list()))


def _top_gene_curves(
    scan: pl.DataFrame,
    top: tuple[str, ...],
    values: np.ndarray,
    genes: tuple[str, ...],
    patients: pl.DataFrame,
    spec: StudySpec,
) -> pl.DataFrame:
    """Q1 vs Q2-Q4 Kaplan-Meier curves of the top genes (whole cohort), for the report.

    The groups are the scan's own (value <= its q25), so the figure shows exactly the
    comparison whose p and q it prints.
    """
    from analysis.survival import CURVE_COLUMNS, km_curve

    column = {gene: index for index, gene in enumerate(genes)}
    parts = []
    for endpoint in spec.endpoints:
        time_column, event_column = ENDPOINT_COLUMNS[endpoint]
        time = patients[time_column].cast(pl.Float64).to_numpy()
        event = patients[event_column].cast(pl.Float64).to_numpy()
        q25 = dict(
            scan.filter((pl.col("endpoint") == endpoint) & (pl.col("subgroup") == "all"))
            .select("gene", "q25")
            .iter_rows()
        )
        for gene in top:
            gene_values = values[:, column[gene]]
            usable = ~np.isnan(gene_values) & np.isfinite(time) & (time >= 0)
            usable &= np.isin(event, (0.0, 1.0))
            if q25.get(gene) is None or not usable.any():
                continue
            in_q1 = gene_values <= q25[gene]
            for label, members in (("Q1", usable & in_q1), ("Q2-Q4", usable & ~in_q1)):
                if members.any():
                    curve = km_curve(time[members], event[members], ci_method=spec.ci_method)
                    parts.append(
                        curve.select(CURVE_COLUMNS).with_columns(
                            gene=pl.lit(gene), endpoint=pl.lit(endpoint), group_label=pl.lit(label)
                        )
                    )
    return pl.concat(parts) if parts else pl.DataFrame()


def _subgroup_rows(
    patients: pl.DataFrame, spec: StudySpec, within_subgroups: bool
) -> Iterator[tuple[str, np.ndarray]]:
    """The whole cohort, then (on request) the same subgroups as the single path."""
    for name, condition in subgroup_filters(patients, spec):
        if condition is None:
            yield name, np.ones(patients.height, dtype=bool)
        elif within_subgroups:
            yield name, patients.select(condition.fill_null(False)).to_series().to_numpy()
