"""Report figures: every kind saved as PNG (300 dpi) + SVG, drawn from the table rows."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import duckdb
import numpy as np
import polars as pl
import pytest
from matplotlib import pyplot as plt
from PIL import Image

from analysis.figures.km import draw_km_panel
from analysis.survival import km_curve
from pipelines.report.figures import km_panel_steps, render_figures
from pipelines.report.files import FIGURE_KINDS

RUN = "run-1"
SUBGROUPS = ("all", "cytogenetic_risk=standard", "cytogenetic_risk=high")
GROUPS = {"q1_vs_rest": ("Q1", "Q2-Q4"), "quartiles": ("Q1", "Q2", "Q3", "Q4")}


def _curve_rows(rng: np.random.Generator) -> pl.DataFrame:
    frames = []
    for grouping, labels in GROUPS.items():
        for subgroup in SUBGROUPS:
            for label in labels:
                time = np.round(rng.exponential(900.0, 12)) + 1
                event = (rng.random(12) < 0.6).astype(int)
                frames.append(
                    km_curve(time, event)
                    .drop("std_err")
                    .with_columns(
                        pl.lit(RUN).alias("run_id"),
                        pl.lit("IKZF1").alias("biomarker"),
                        pl.lit("pfs").alias("endpoint"),
                        pl.lit(grouping).alias("grouping"),
                        pl.lit(subgroup).alias("subgroup"),
                        pl.lit(label).alias("group_label"),
                    )
                )
    return pl.concat(frames)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.sql("create schema results")
    connection.sql(
        "create table results.analysis_runs (run_id varchar, study varchar, is_simulated boolean)"
    )
    connection.sql(f"insert into results.analysis_runs values ('{RUN}', 'demo', true)")
    curves = _curve_rows(np.random.default_rng(7))  # noqa: F841 (read by DuckDB)
    connection.sql(
        "create table results.km_curves as select run_id, biomarker, endpoint, grouping, "
        "subgroup, group_label, time_days, n_at_risk, events, censored, survival, ci_lower, "
        "ci_upper from curves"
    )
    connection.sql(
        "create table results.logrank_tests (run_id varchar, biomarker varchar, "
        "endpoint varchar, grouping varchar, subgroup varchar, test varchar, "
        "statistic double, df integer, p_value double, status varchar)"
    )
    connection.sql(
        f"""insert into results.logrank_tests values
        ('{RUN}', 'IKZF1', 'pfs', 'q1_vs_rest', 'all', 'logrank', 5.1, 1, 0.024, 'ok'),
        ('{RUN}', 'IKZF1', 'pfs', 'quartiles', 'all', 'logrank', 6.0, 3, 0.11, 'ok'),
        ('{RUN}', 'IKZF1', 'pfs', 'quartiles', 'all', 'logrank_trend', 4.0, 1, 0.045, 'ok')"""
    )
    connection.sql(
        "create table results.cox_models (run_id varchar, biomarker varchar, "
        "endpoint varchar, grouping varchar, subgroup varchar, model varchar, term varchar, "
        "hazard_ratio double, ci_lower double, ci_upper double, p_value double, "
        "lrt_p_value double, status varchar, method varchar, note varchar)"
    )
    connection.sql(
        f"""insert into results.cox_models values
        ('{RUN}', 'IKZF1', 'pfs', 'q1_vs_rest', 'all', 'univariable', 'Q2-Q4 vs Q1',
         2.5, 1.1, 5.7, 0.03, null, 'ok', 'mle', null),
        ('{RUN}', 'IKZF1', 'pfs', 'q1_vs_rest', 'cytogenetic_risk=standard', 'univariable',
         'Q2-Q4 vs Q1', 1.8, 0.6, 5.4, 0.29, null, 'ok', 'mle', null),
        ('{RUN}', 'IKZF1', 'pfs', 'q1_vs_rest', 'cytogenetic_risk=high', 'univariable',
         'Q2-Q4 vs Q1', null, null, null, null, null, 'no_events_in_group', 'mle',
         'not estimable: Q1, the reference group, has no events'),
        ('{RUN}', 'IKZF1', 'pfs', 'q1_vs_rest', 'cytogenetic_risk=high', 'univariable',
         'Q2-Q4 vs Q1', 4.2, 1.1, 60.0, 0.02, null, 'ok', 'firth', null),
        ('{RUN}', 'IKZF1', 'pfs', 'q1_vs_rest', 'cytogenetic_risk interaction', 'interaction',
         'Q2-Q4 vs Q1', 1.2, 0.3, 4.0, 0.7, 0.321, 'ok', 'mle', null)"""
    )
    return connection


@pytest.fixture
def figures(con, tmp_path):
    return render_figures(con, RUN, tmp_path)


def test_every_kind_is_saved_as_png_at_300_dpi_and_svg(figures):
    assert sorted({f.kind for f in figures}) == sorted(FIGURE_KINDS)
    assert len(figures) == 4
    for figure in figures:
        assert figure.png_path.stat().st_size > 0
        assert figure.svg_path.stat().st_size > 0
        assert figure.caption.endswith(".")
        with Image.open(figure.png_path) as image:
            assert image.info["dpi"] == pytest.approx((300, 300), abs=0.5)
    names = {f.png_path.name for f in figures}
    assert "km_q1_vs_rest_IKZF1_pfs.png" in names
    assert "forest.png" in names
    assert not plt.get_fignums()  # every figure closed


def test_figure_text_reads_the_tables(figures):
    svg = {f.kind: f.svg_path.read_text() for f in figures}
    # Where the MLE does not exist the Firth estimate is shown, labelled as such.
    assert "IKZF1 PFS, high (Firth)" in svg["forest"]
    assert "4.20 (1.10-60.0), p=0.020" in svg["forest"]
    assert "Firth HR 4.20 (1.10-60.0)" in svg["km_subgroups"]
    # Every subgroup row and panel carries its interaction test.
    assert svg["forest"].count("cytogenetic risk interaction p=0.321 (LRT)") == 2
    assert "interaction p=0.321" in svg["km_subgroups"]
    assert "log-rank p=0.024" in svg["km_q1_vs_rest"]
    assert "HR 2.50 (1.10-5.70)" in svg["km_q1_vs_rest"]
    assert "trend p=0.045" in svg["km_quartiles"]
    assert all("(simulated data)" in text for text in svg.values())


def test_km_steps_equal_the_table_rows(con):
    steps = km_panel_steps(con, RUN, "IKZF1", "pfs", "q1_vs_rest", "all")
    direct = con.sql(
        "select group_label, time_days, survival from results.km_curves "
        f"where run_id = '{RUN}' and biomarker = 'IKZF1' and endpoint = 'pfs' "
        "and grouping = 'q1_vs_rest' and subgroup = 'all' order by group_label, time_days"
    ).pl()
    figure, (axes, risk) = plt.subplots(2, 1)
    plotted = draw_km_panel(
        axes, steps, ("Q1", "Q2-Q4"), risk_axes=risk, risk_times_units=[0, 1, 2]
    )
    plt.close(figure)
    assert [p.group_label for p in plotted] == ["Q1", "Q2-Q4"]
    for step in plotted:
        rows = direct.filter(pl.col("group_label") == step.group_label)
        np.testing.assert_array_equal(step.time_days, rows["time_days"].to_numpy())
        np.testing.assert_array_equal(step.survival, rows["survival"].to_numpy())
