"""KM figures plot exactly the stored step data, and the at-risk counts follow R."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import polars as pl
import pytest
from matplotlib import pyplot as plt

from analysis.figures.km import at_risk_at, draw_km_panel
from analysis.survival import km_curve


def curves_frame() -> pl.DataFrame:
    rng = np.random.default_rng(4)
    frames = []
    for label, scale in (("Q1", 2000.0), ("Q2-Q4", 800.0)):
        time = np.round(rng.exponential(scale, 30))
        event = rng.random(30) < 0.7
        frames.append(km_curve(time, event).with_columns(pl.lit(label).alias("group_label")))
    return pl.concat(frames)


def test_plotted_steps_equal_the_table_rows():
    curves = curves_frame()
    figure, (axes, risk) = plt.subplots(2, 1, height_ratios=(4, 1))
    plotted = draw_km_panel(
        axes, curves, ["Q1", "Q2-Q4"], risk_axes=risk, risk_times_units=[0, 1, 2, 3, 4, 5]
    )
    lines = [
        line
        for line in axes.get_lines()
        if line.get_linestyle() != "None" and len(line.get_xdata()) > 2
    ]
    for step, line in zip(plotted, lines, strict=False):
        rows = curves.filter(pl.col("group_label") == step.group_label).sort("time_days")
        assert np.array_equal(step.time_days, rows["time_days"].to_numpy())
        assert np.array_equal(step.survival, rows["survival"].to_numpy())
        assert np.allclose(np.asarray(line.get_xdata()) * 365.25, rows["time_days"].to_numpy())
        assert np.array_equal(np.asarray(line.get_ydata()), rows["survival"].to_numpy())
    plt.close(figure)


def test_numbers_at_risk_follow_r_summary_times():
    # 5 patients: times 1, 2, 2, 4, 6 (events at 1, 2, 4; censored 2, 6)
    curve = km_curve(
        np.array([1.0, 2.0, 2.0, 4.0, 6.0]), np.array([True, True, False, True, False])
    )
    assert at_risk_at(curve, [0, 1, 2, 3, 4, 5, 6, 7]) == [5, 5, 4, 2, 2, 1, 1, 0]


@pytest.mark.parametrize("unit", ["years", "months"])
def test_time_units(unit: str):
    figure, axes = plt.subplots()
    draw_km_panel(axes, curves_frame(), ["Q1", "Q2-Q4"], time_unit=unit)
    assert unit in axes.get_xlabel()
    plt.close(figure)
