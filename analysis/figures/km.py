"""Kaplan-Meier panels in the style of the reference study's figures and of survminer.

Drawn from ``results.km_curves`` rows, never recomputed, so the picture and the numbers
cannot disagree: :func:`draw_km_panel` returns exactly the step coordinates it plotted
(tested against the table rows). One step curve per group with censoring ticks, the
landmark marked, the test results printed on the panel and a numbers-at-risk table
under the time axis. Colours and line styles differ per group, so the figure reads in
grey-scale and for colour-blind readers (Okabe-Ito palette).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Okabe & Ito (2008) colour-blind-safe palette, with distinct dashes for grey-scale.
GROUP_STYLES: tuple[tuple[str, str], ...] = (
    ("#0072B2", "-"),
    ("#D55E00", "--"),
    ("#009E73", "-."),
    ("#CC79A7", ":"),
    ("#E69F00", (0, (5, 1, 1, 1))),  # type: ignore[assignment]
)
#: Days in a year when a caller has none recorded: the IMWG convention. The report passes
#: the run's recorded ``days_per_year`` instead (``RunSettings.days_per_year``).
IMWG_DAYS_PER_YEAR = 365.25
#: How many of each time unit fit in a year.
UNITS_PER_YEAR = {"years": 1.0, "months": 12.0}


def days_per_unit(time_unit: str, days_per_year: float = IMWG_DAYS_PER_YEAR) -> float:
    """Days in one ``time_unit`` (``years``, ``months``, ``days``) under ``days_per_year``.

    >>> days_per_unit("years"), days_per_unit("months", 360.0), days_per_unit("days")
    (365.25, 30.0, 1.0)
    """
    if time_unit == "days":
        return 1.0
    return days_per_year / UNITS_PER_YEAR[time_unit]


@dataclass(frozen=True)
class PlottedStep:
    """The coordinates of one group's step curve, in days, exactly as plotted."""

    group_label: str
    time_days: np.ndarray
    survival: np.ndarray


def at_risk_at(curve: pl.DataFrame, times_days: Sequence[float]) -> list[int]:
    """Numbers at risk at each time: R ``summary(survfit, times=)`` (time >= t).

    From the curve rows: the at-risk count of the first row at or after t (rows hold the
    number at risk at their own time); 0 beyond the last row.
    """
    times = curve["time_days"].to_numpy()
    at_risk = curve["n_at_risk"].to_numpy()
    events = curve["events"].to_numpy()
    censored = curve["censored"].to_numpy()
    counts = []
    for t in times_days:
        later = np.flatnonzero(times >= t)
        if later.size:
            counts.append(int(at_risk[later[0]]))
        else:
            counts.append(max(0, int(at_risk[-1] - events[-1] - censored[-1])))
    return counts


def draw_km_panel(
    axes: Axes,
    curves: pl.DataFrame,
    group_order: Sequence[str],
    *,
    time_unit: str = "years",
    days_per_year: float = IMWG_DAYS_PER_YEAR,
    landmark_years: float | None = 3.0,
    annotation: str | None = None,
    risk_axes: Axes | None = None,
    risk_times_units: Sequence[float] | None = None,
) -> list[PlottedStep]:
    """Draw the KM curves of ``curves`` (rows of one biomarker x endpoint x grouping x
    subgroup) on ``axes``; return what was plotted, in days.

    ``days_per_year`` is the run's convention (recorded with its settings): it converts
    the stored days into ``time_unit`` and places the landmark.
    """
    per_unit = days_per_unit(time_unit, days_per_year)
    plotted: list[PlottedStep] = []
    for index, label in enumerate(group_order):
        group = curves.filter(pl.col("group_label") == label).sort("time_days")
        if group.height == 0:
            continue
        colour, dash = GROUP_STYLES[index % len(GROUP_STYLES)]
        time_days = group["time_days"].to_numpy()
        survival = group["survival"].to_numpy()
        axes.step(
            time_days / per_unit,
            survival,
            where="post",
            color=colour,
            linestyle=dash,
            linewidth=1.4,
            label=f"{label} (n={int(group['n_at_risk'][0])})",
        )
        censored = group.filter(pl.col("censored") > 0)
        axes.plot(
            censored["time_days"].to_numpy() / per_unit,
            censored["survival"].to_numpy(),
            linestyle="none",
            marker="|",
            markersize=6,
            color=colour,
        )
        plotted.append(PlottedStep(label, time_days, survival))
    if landmark_years is not None:
        # Up to survival 1 only: the test results are printed above the curves.
        axes.vlines(
            landmark_years * days_per_year / per_unit,
            0,
            1.0,
            color="0.5",
            linewidth=0.8,
            linestyle=":",
        )
    axes.set_ylim(0, 1.02)
    axes.set_xlim(left=0)
    axes.set_ylabel("Survival probability")
    axes.set_xlabel(f"Time ({time_unit})")
    axes.legend(loc="lower left", frameon=False, fontsize=7)
    if annotation:
        axes.text(
            0.98, 0.98, annotation, transform=axes.transAxes, ha="right", va="top", fontsize=7
        )
    if risk_axes is not None and risk_times_units is not None:
        _draw_at_risk(risk_axes, curves, group_order, risk_times_units, per_unit)
        risk_axes.set_xlim(axes.get_xlim())
    return plotted


def _draw_at_risk(
    risk_axes: Axes,
    curves: pl.DataFrame,
    group_order: Sequence[str],
    times_units: Sequence[float],
    per_unit: float,
) -> None:
    risk_axes.set_axis_off()
    for row, label in enumerate(group_order):
        group = curves.filter(pl.col("group_label") == label).sort("time_days")
        if group.height == 0:
            continue
        colour, _ = GROUP_STYLES[row % len(GROUP_STYLES)]
        counts = at_risk_at(group, [t * per_unit for t in times_units])
        y = 1.0 - (row + 1) / (len(group_order) + 1)
        risk_axes.text(
            -0.08,
            y,
            label,
            transform=risk_axes.get_yaxis_transform(),
            ha="right",
            va="center",
            fontsize=7,
            color=colour,
        )
        for t, count in zip(times_units, counts, strict=True):
            risk_axes.text(t, y, str(count), ha="center", va="center", fontsize=7)
    risk_axes.text(
        0.0, 1.0, "Number at risk", transform=risk_axes.transAxes, fontsize=7, va="bottom"
    )
