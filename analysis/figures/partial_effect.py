"""Partial-effect plot of a continuous biomarker, in the style of R ``rms::Predict`` plots.

Drawn from ``results.continuous_curves`` rows, never recomputed: the restricted cubic
spline's log relative hazard against the biomarker value, relative to the median value
(so the curve crosses 0 there), with its pointwise 95% band. The quartile cut points are
dotted vertical lines, so a reader sees where the Q1 vs Q2-Q4 split sits on the curve, and
a rug of the patients' values shows where the curve rests on data and where it is
extrapolated. :func:`draw_partial_effect` returns exactly what it plotted (tested against
the table rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from matplotlib.transforms import blended_transform_factory

from analysis.formatting import format_p

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Okabe & Ito (2008) blue, as the first group of the Kaplan-Meier panels.
CURVE_COLOUR = "#0072B2"
Y_LABEL = "log relative hazard vs the median"
#: Height of a rug tick, as a fraction of the axes.
RUG_HEIGHT = 0.035


@dataclass(frozen=True)
class PlottedCurve:
    """The spline curve and its band, exactly as plotted (sorted by value)."""

    value: np.ndarray
    log_hr: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray


def spline_test_text(lr_p: float | None, nonlinearity_p: float | None) -> str:
    """The spline's two likelihood-ratio tests as printed on the figure.

    >>> spline_test_text(0.1536, 0.0004)
    'spline p=0.154, non-linearity p<0.001'
    >>> spline_test_text(None, None)
    'spline p n/a, non-linearity p n/a'
    """
    return f"spline {format_p(lr_p)}, non-linearity {format_p(nonlinearity_p)}"


def draw_partial_effect(
    axes: Axes,
    curve: pl.DataFrame,
    *,
    value_label: str,
    cut_points: Sequence[float] = (),
    patient_values: Sequence[float] | np.ndarray = (),
    annotation: str | None = None,
) -> PlottedCurve:
    """Draw ``curve`` (rows with value, log_hr, ci_lower, ci_upper) on ``axes``.

    ``value_label`` names the x axis (biomarker and scale), ``cut_points`` are drawn as
    dotted lines, ``patient_values`` as a rug along the bottom; ``annotation`` (e.g.
    :func:`spline_test_text`) is printed in the upper right corner.
    """
    rows = curve.sort("value")
    plotted = PlottedCurve(
        value=rows["value"].to_numpy(),
        log_hr=rows["log_hr"].to_numpy(),
        ci_lower=rows["ci_lower"].to_numpy(),
        ci_upper=rows["ci_upper"].to_numpy(),
    )
    axes.fill_between(
        plotted.value,
        plotted.ci_lower,
        plotted.ci_upper,
        color=CURVE_COLOUR,
        alpha=0.2,
        linewidth=0,
        label="95% CI (pointwise)",
    )
    axes.plot(plotted.value, plotted.log_hr, color=CURVE_COLOUR, linewidth=1.4, label="spline")
    axes.axhline(0.0, color="0.4", linewidth=0.8)
    for index, cut in enumerate(cut_points):
        axes.axvline(
            cut,
            color="0.3",
            linewidth=0.8,
            linestyle=":",
            label="quartile cut points" if index == 0 else None,
        )
    if len(patient_values):
        # x in data units, y in axes units: the rug stays at the bottom whatever the scale.
        rug = blended_transform_factory(axes.transData, axes.transAxes)
        axes.vlines(
            np.asarray(patient_values, dtype=float),
            0.0,
            RUG_HEIGHT,
            transform=rug,
            color="black",
            linewidth=0.5,
            label="patients",
        )
    # headroom above the band for the tests, so they never sit on the curve
    low = float(np.nanmin([*plotted.ci_lower, *plotted.log_hr, 0.0]))
    high = float(np.nanmax([*plotted.ci_upper, *plotted.log_hr, 0.0]))
    span = (high - low) or 1.0
    axes.set_ylim(low - 0.1 * span, high + 0.3 * span)
    shown = np.concatenate([plotted.value, np.asarray(patient_values, dtype=float)])
    if shown.size:
        # a small margin, so the outermost patients' ticks do not vanish into the spine
        left, right = float(np.nanmin(shown)), float(np.nanmax(shown))
        margin = 0.02 * ((right - left) or 1.0)
        axes.set_xlim(left - margin, right + margin)
    axes.set_xlabel(value_label)
    axes.set_ylabel(Y_LABEL)
    # under the axis title, out of the way of the curve and the tests
    axes.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
        ncols=2,
        frameon=False,
        fontsize=6,
        handlelength=2.5,
    )
    if annotation:
        axes.text(
            0.98,
            0.98,
            annotation,
            transform=axes.transAxes,
            ha="right",
            va="top",
            fontsize=7,
            # the cut-point lines pass behind the text, not through it
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0},
            zorder=5,
        )
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return plotted
