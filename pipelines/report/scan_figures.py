"""The genome-wide scan's figures: a volcano plot and the top genes' KM panels.

Drawn from ``results.gene_scan`` and ``results.gene_scan_curves`` only. The volcano
shows every scanned gene (whole cohort) as the Cox log2 hazard ratio of Q2-Q4 versus Q1
against -log10 of the Q1 vs Q2-Q4 log-rank p, with the Benjamini-Hochberg line: genes
above it have q below the study's FDR threshold.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import matplotlib
import numpy as np
import polars as pl
from matplotlib import pyplot as plt

from analysis.figures.km import draw_km_panel
from analysis.formatting import format_count, format_level, format_p, format_ratio
from pipelines.report.figures import (
    ENDPOINT_NAMES,
    FONTS,
    PANEL_WIDTH_IN,
    save_figure,
)
from pipelines.report.files import FigureFile
from pipelines.report.queries import run_settings

#: Top-gene panels per row.
GRID_COLUMNS = 3


def render_scan_figures(
    con: duckdb.DuckDBPyConnection, run_id: str, out_dir: Path, *, time_unit: str = "years"
) -> list[FigureFile]:
    """Volcano and top-gene figures per endpoint; none when the run has no scan."""
    try:
        scan = con.sql(
            "select * from results.gene_scan where run_id = $run and subgroup = 'all'",
            params={"run": run_id},
        ).pl()
    except duckdb.CatalogException:  # a warehouse from before the scan existed
        return []
    if scan.is_empty():
        return []
    curves = con.sql(
        "select * from results.gene_scan_curves where run_id = $run", params={"run": run_id}
    ).pl()
    settings = run_settings(con, run_id)
    fdr, top_count = settings.scan.fdr, settings.scan.top_genes
    out_dir.mkdir(parents=True, exist_ok=True)
    saved = []
    with matplotlib.rc_context(FONTS):
        for endpoint in sorted(scan["endpoint"].unique().to_list(), key=lambda e: e != "pfs"):
            rows = scan.filter(pl.col("endpoint") == endpoint)
            saved.append(_volcano(rows, endpoint, fdr, out_dir))
            top = rows.filter(pl.col("logrank_p").is_not_null()).sort("logrank_p", "gene")
            chosen = top["gene"].head(top_count).to_list()
            panels = curves.filter((pl.col("endpoint") == endpoint) & pl.col("gene").is_in(chosen))
            if not panels.is_empty():
                saved.append(
                    _top_genes(
                        rows, panels, endpoint, fdr, out_dir, time_unit, settings.days_per_year
                    )
                )
    return saved


def discovery_threshold(p_values: np.ndarray, fdr: float) -> float | None:
    """The largest p with a Benjamini-Hochberg q <= ``fdr`` (None: no discovery)."""
    p = np.sort(p_values[np.isfinite(p_values)])
    if p.size == 0:
        return None
    passing = np.flatnonzero(p <= fdr * np.arange(1, p.size + 1) / p.size)
    return float(p[passing[-1]]) if passing.size else None


def _volcano(rows: pl.DataFrame, endpoint: str, fdr: float, out_dir: Path) -> FigureFile:
    tested = rows.filter(pl.col("logrank_p").is_not_null())
    p = tested["logrank_p"].to_numpy()
    y = -np.log10(np.clip(p, 1e-300, 1.0))
    hr = tested["hazard_ratio"].to_numpy().astype(float)
    x = np.log2(np.where(np.isfinite(hr) & (hr > 0), hr, np.nan))
    discovered = (tested["logrank_q"].to_numpy() <= fdr) & np.isfinite(x)
    figure, axes = plt.subplots(figsize=(PANEL_WIDTH_IN * 1.3, PANEL_WIDTH_IN))
    axes.scatter(x[~discovered], y[~discovered], s=4, color="0.55", linewidths=0)
    axes.scatter(x[discovered], y[discovered], s=8, color="#b2182b", linewidths=0)
    threshold = discovery_threshold(p, fdr)
    if threshold is not None:
        axes.axhline(-math.log10(threshold), color="#b2182b", linewidth=0.8, linestyle="--")
    for index in np.argsort(p)[:5]:
        if np.isfinite(x[index]):
            axes.annotate(tested["gene"][int(index)], (x[index], y[index]), fontsize=6,
                          xytext=(3, 2), textcoords="offset points")  # fmt: skip
    axes.axvline(0, color="0.8", linewidth=0.6)
    axes.set_xlabel("log2 hazard ratio, Q2-Q4 vs Q1 (Cox)")
    axes.set_ylabel("-log10 log-rank p (Q1 vs Q2-Q4)")
    name = ENDPOINT_NAMES.get(endpoint, endpoint.upper())
    discoveries = int(discovered.sum())
    axes.set_title(
        f"{name}: {format_count(tested.height)} genes, {discoveries} with q ≤ {format_level(fdr)}"
    )
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.tight_layout()
    not_estimable = int((~np.isfinite(x)).sum())
    caption = (
        f"Genome-wide quartile scan, {name}: every gene with enough patients, Cox hazard ratio "
        f"of Q2-Q4 versus Q1 (log2) against the Q1 vs Q2-Q4 log-rank p. "
        + (
            f"Above the dashed line (red points) the Benjamini-Hochberg q-value is at most "
            f"{format_level(fdr)}. "
            if threshold is not None
            else f"No gene reaches q ≤ {format_level(fdr)}. "
        )
        + (f"{not_estimable} genes with a non-estimable HR are not drawn." if not_estimable else "")
    )
    return save_figure(figure, out_dir, "scan_volcano", None, endpoint, caption)


def _top_genes(
    rows: pl.DataFrame,
    curves: pl.DataFrame,
    endpoint: str,
    fdr: float,
    out_dir: Path,
    time_unit: str,
    days_per_year: float,
) -> FigureFile:
    genes = (
        rows.filter(pl.col("gene").is_in(curves["gene"].unique().to_list()))
        .sort("logrank_p", "gene")["gene"]
        .to_list()
    )
    count = len(genes)
    columns = min(GRID_COLUMNS, count)
    grid_rows = math.ceil(count / columns)
    figure, axes_grid = plt.subplots(
        grid_rows, columns, figsize=(PANEL_WIDTH_IN * columns * 0.8, 2.6 * grid_rows),
        squeeze=False,
    )  # fmt: skip
    for index, gene in enumerate(genes):
        axes = axes_grid[index // columns][index % columns]
        row = rows.filter(pl.col("gene") == gene).row(0, named=True)
        hr = row["hazard_ratio"]
        q = format_p(row["logrank_q"], label="q")
        annotation = f"log-rank {format_p(row['logrank_p'])}, {q}\n" + (
            f"HR {format_ratio(hr)}" if hr is not None else f"HR n/a ({row['status']})"
        )
        draw_km_panel(
            axes,
            curves.filter(pl.col("gene") == gene),
            ("Q1", "Q2-Q4"),
            time_unit=time_unit,
            days_per_year=days_per_year,
            landmark_years=None,
            annotation=annotation,
        )
        axes.set_ylim(0, 1.3)  # headroom: the test results sit above the curves
        axes.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        axes.set_title(gene, fontsize=8)
    for index in range(count, grid_rows * columns):
        axes_grid[index // columns][index % columns].set_axis_off()
    figure.tight_layout()
    name = ENDPOINT_NAMES.get(endpoint, endpoint.upper())
    caption = (
        f"The scan's top {count} genes for {name} (smallest Q1 vs Q2-Q4 log-rank p): "
        f"Kaplan-Meier curves of the lowest quartile versus the rest, with p, the "
        f"Benjamini-Hochberg q across all scanned genes (discovery: q ≤ {format_level(fdr)}) "
        "and the Cox hazard ratio of Q2-Q4 versus Q1."
    )
    return save_figure(figure, out_dir, "scan_top_genes", None, endpoint, caption)
