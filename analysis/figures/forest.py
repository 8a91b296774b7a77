"""Forest plot of hazard ratios with 95% intervals, drawn from ``results.cox_models`` rows.

One row per estimate, top to bottom in the frame's order: the point and its interval on a
log axis, a dotted line at HR 1, and the numbers printed beside each row. Rows without an
estimate (``hazard_ratio`` null) are not dropped: they read ``not estimable (<note>)``,
so a reader sees that the model was fitted and why it gave nothing.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import polars as pl
from matplotlib.ticker import NullLocator
from matplotlib.transforms import blended_transform_factory

from analysis.formatting import format_hr, format_p

if TYPE_CHECKING:
    from matplotlib.axes import Axes

FONT_SIZE = 7
#: The x axis never spans more than this (extreme intervals are cut at the edge).
X_LIMITS = (0.05, 20.0)


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value) and value > 0


def draw_forest(axes: Axes, rows: pl.DataFrame) -> None:
    """Draw ``rows`` (label, hazard_ratio, ci_lower, ci_upper, p_value, note and an optional
    ``extra`` text, e.g. the row's interaction test, printed after the estimate) on ``axes``."""
    if "extra" not in rows.columns:
        rows = rows.with_columns(extra=pl.lit(None, dtype=pl.String))
    records = rows.select(
        "label", "hazard_ratio", "ci_lower", "ci_upper", "p_value", "note", "extra"
    ).to_dicts()
    left_text = blended_transform_factory(axes.transAxes, axes.transData)
    values = [
        v for r in records for v in (r["hazard_ratio"], r["ci_lower"], r["ci_upper"]) if _finite(v)
    ]
    low = max(min([*values, 0.5]) / 1.2, X_LIMITS[0])
    high = min(max([*values, 2.0]) * 1.2, X_LIMITS[1])
    for index, record in enumerate(records):
        y = -index
        hr = record["hazard_ratio"]
        extra = f"; {record['extra']}" if record["extra"] else ""
        if not _finite(hr):
            axes.text(
                0.03,
                y,
                f"{record['note'] or 'not estimable'}{extra}",
                transform=left_text,
                ha="left",
                va="center",
                fontsize=FONT_SIZE,
                color="0.35",
                style="italic",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5},
            )
            continue
        lower = record["ci_lower"] if _finite(record["ci_lower"]) else low
        upper = record["ci_upper"] if _finite(record["ci_upper"]) else high
        axes.plot([max(lower, low), min(upper, high)], [y, y], color="black", linewidth=0.9)
        axes.plot([hr], [y], marker="s", markersize=3.5, color="black", linestyle="none")
        axes.text(
            1.03,
            y,
            f"{format_hr(hr, record['ci_lower'], record['ci_upper'])}, "
            f"{format_p(record['p_value'])}{extra}",
            transform=left_text,
            ha="left",
            va="center",
            fontsize=FONT_SIZE,
            clip_on=False,
        )
    axes.axvline(1.0, color="0.4", linewidth=0.8, linestyle=":")
    axes.set_xscale("log")
    axes.set_xlim(low, high)
    ticks = [t for t in (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0) if low <= t <= high]
    axes.set_xticks(ticks, labels=[f"{t:g}" for t in ticks])
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_ylim(-len(records) + 0.4, 0.6)
    axes.set_yticks([-i for i in range(len(records))])
    axes.set_yticklabels([r["label"] for r in records], fontsize=FONT_SIZE)
    axes.tick_params(axis="y", length=0)
    axes.tick_params(axis="x", labelsize=FONT_SIZE)
    axes.set_xlabel("Hazard ratio (95% CI), log scale", fontsize=FONT_SIZE)
    axes.text(
        1.03,
        1.0,
        "HR (95% CI), p",
        transform=axes.transAxes,
        ha="left",
        va="bottom",
        fontsize=FONT_SIZE,
        weight="bold",
    )
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
