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
from analysis.figures.partial_effect import draw_partial_effect
from analysis.survival import km_curve
from pipelines.report import figures as report_figures
from pipelines.report.figures import continuous_curve, km_panel_steps, render_figures
from pipelines.report.files import FIGURE_KINDS

RUN = "run-1"
SUBGROUPS = ("all", "cytogenetic_risk=standard", "cytogenetic_risk=high")
GROUPS = {"q1_vs_rest": ("Q1", "Q2-Q4"), "quartiles": ("Q1", "Q2", "Q3", "Q4")}
SCALE = "log2 relative expression (-dCt)"
#: IKZF1 values of 8 patients (negative, as -dCt values are) and their quartile cuts.
VALUES = (-9.5, -8.8, -8.0, -7.6, -7.1, -6.6, -5.9, -4.4)
CUTS = (-8.1, -7.35, -6.475)


def _spline_curve(subgroup: str, slope: float) -> pl.DataFrame:
    value = np.linspace(-9.5, -4.4, 21)
    log_hr = slope * (value - np.median(VALUES)) + 0.05 * (value + 7.35) ** 2
    return pl.DataFrame(
        {
            "run_id": RUN,
            "biomarker": "IKZF1",
            "endpoint": "pfs",
            "subgroup": subgroup,
            "value": value,
            "log_hr": log_hr,
            "ci_lower": log_hr - 0.4 - 0.1 * np.abs(value + 7.35),
            "ci_upper": log_hr + 0.4 + 0.1 * np.abs(value + 7.35),
        }
    )


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
    spline = pl.concat(  # noqa: F841 (read by DuckDB)
        [_spline_curve("all", 0.3), _spline_curve("cytogenetic_risk=high", -0.2)]
    )
    connection.sql("create table results.continuous_curves as select * from spline")
    connection.sql(
        "create table results.continuous_models (run_id varchar, biomarker varchar, "
        "endpoint varchar, subgroup varchar, model varchar, scale varchar, "
        "hazard_ratio double, lr_p double, nonlinearity_p double, knots json, "
        "status varchar, note varchar)"
    )
    connection.sql(
        f"""insert into results.continuous_models values
        ('{RUN}', 'IKZF1', 'pfs', 'all', 'per_unit', '{SCALE}', 1.33, 0.066, null, null,
         'ok', null),
        ('{RUN}', 'IKZF1', 'pfs', 'all', 'rcs', '{SCALE}', null, 0.154, 0.0389,
         '[-9.2, -7.9, -6.6, -4.6]', 'few_events_per_variable',
         '9.3 events per variable (< 10)')"""
    )
    connection.sql(
        "create table results.group_summary (run_id varchar, biomarker varchar, "
        "endpoint varchar, grouping varchar, subgroup varchar, group_label varchar, "
        "cutpoint_low double, cutpoint_high double)"
    )
    bounds = (min(VALUES), *CUTS, max(VALUES))
    for index in range(4):
        connection.execute(
            "insert into results.group_summary values (?, 'IKZF1', 'pfs', 'quartiles', "
            "'all', ?, ?, ?)",
            [RUN, f"Q{index + 1}", bounds[index], bounds[index + 1]],
        )
    connection.sql(
        "create table results.group_assignments (run_id varchar, biomarker varchar, "
        "grouping varchar, subgroup varchar, patient_id varchar, value double, "
        "group_label varchar)"
    )
    for grouping in GROUPS:
        for number, value in enumerate(VALUES):
            connection.execute(
                "insert into results.group_assignments values (?, 'IKZF1', ?, 'all', ?, ?, null)",
                [RUN, grouping, f"PATIENT-{number}", value],
            )
    return connection


@pytest.fixture
def figures(con, tmp_path):
    return render_figures(con, RUN, tmp_path)


def test_every_kind_is_saved_as_png_at_300_dpi_and_svg(figures):
    assert sorted({f.kind for f in figures}) == sorted(FIGURE_KINDS)
    assert len(figures) == 5
    for figure in figures:
        assert figure.png_path.stat().st_size > 0
        assert figure.svg_path.stat().st_size > 0
        assert figure.caption.endswith(".")
        with Image.open(figure.png_path) as image:
            assert image.info["dpi"] == pytest.approx((300, 300), abs=0.5)
    names = {f.png_path.name for f in figures}
    assert "km_q1_vs_rest_IKZF1_pfs.png" in names
    assert "partial_effect_IKZF1_pfs.png" in names
    # next to the biomarker's Kaplan-Meier panels
    assert [f.kind for f in figures] == [
        "km_q1_vs_rest",
        "km_quartiles",
        "partial_effect",
        "km_subgroups",
        "forest",
    ]
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
    assert "spline p=0.154, non-linearity p=0.039" in svg["partial_effect"]
    assert "9.3 events per variable (&lt; 10)" in svg["partial_effect"]
    assert f"IKZF1, {SCALE}" in svg["partial_effect"]
    assert "log relative hazard vs the median" in svg["partial_effect"]
    assert all("PATIENT-" not in text for text in svg.values())  # values only, never ids
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


def test_partial_effect_curve_equals_the_table_rows(con):
    rows = continuous_curve(con, RUN, "IKZF1", "pfs", "all")
    direct = con.sql(
        "select value, log_hr, ci_lower, ci_upper from results.continuous_curves "
        f"where run_id = '{RUN}' and biomarker = 'IKZF1' and endpoint = 'pfs' "
        "and subgroup = 'all' order by value"
    ).pl()
    figure, axes = plt.subplots()
    plotted = draw_partial_effect(
        axes, rows, value_label=f"IKZF1, {SCALE}", cut_points=CUTS, patient_values=VALUES
    )
    lines = axes.get_lines()
    plt.close(figure)
    for column in ("value", "log_hr", "ci_lower", "ci_upper"):
        np.testing.assert_array_equal(getattr(plotted, column), direct[column].to_numpy())
    [curve] = [line for line in lines if line.get_label() == "spline"]
    np.testing.assert_array_equal(curve.get_xdata(), direct["value"].to_numpy())
    np.testing.assert_array_equal(curve.get_ydata(), direct["log_hr"].to_numpy())
    cut_lines = [line.get_xdata()[0] for line in lines if line.get_linestyle() == ":"]
    assert cut_lines == list(CUTS)


def test_no_partial_effect_without_curve_rows(con, tmp_path):
    con.sql("delete from results.continuous_curves where subgroup = 'all'")
    kinds = [f.kind for f in render_figures(con, RUN, tmp_path / "no_rows")]
    assert "partial_effect" not in kinds and len(kinds) == 4
    # a run recorded before the continuous models existed has no such tables at all
    con.sql("drop table results.continuous_curves")
    kinds = [f.kind for f in render_figures(con, RUN, tmp_path / "no_table")]
    assert "partial_effect" not in kinds and len(kinds) == 4


def test_km_times_use_the_runs_days_per_year(con, tmp_path, monkeypatch):
    steps = km_panel_steps(con, RUN, "IKZF1", "pfs", "q1_vs_rest", "all")
    q1 = steps.filter(pl.col("group_label") == "Q1")
    for days_per_year in (365.25, 300.0):
        figure, axes = plt.subplots()
        draw_km_panel(axes, q1, ("Q1",), days_per_year=days_per_year, landmark_years=3.0)
        [step, *_] = axes.get_lines()
        [landmark] = axes.collections
        plt.close(figure)
        np.testing.assert_allclose(step.get_xdata(), q1["time_days"].to_numpy() / days_per_year)
        assert landmark.get_segments()[0][0][0] == pytest.approx(3.0)
    # render_figures hands the run's days_per_year to every KM panel
    seen = []
    original = report_figures.draw_km_panel
    monkeypatch.setattr(
        report_figures,
        "draw_km_panel",
        lambda *args, **kwargs: seen.append(kwargs["days_per_year"]) or original(*args, **kwargs),
    )
    render_figures(con, RUN, tmp_path, days_per_year=300.0)
    assert seen and set(seen) == {300.0}
