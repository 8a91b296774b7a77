"""What the figure step hands to the HTML step: one record per saved figure."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Figure kinds, in the order the report shows them.
FIGURE_KINDS = (
    "km_q1_vs_rest",
    "km_quartiles",
    "partial_effect",
    "km_subgroups",
    "forest",
)
#: Figures of the genome-wide scan, when the study spec asks for one.
SCAN_FIGURE_KINDS = ("scan_volcano", "scan_top_genes")


@dataclass(frozen=True)
class FigureFile:
    """A figure saved as PNG (300 dpi) and SVG, with what it shows."""

    kind: str
    biomarker: str | None
    endpoint: str | None
    png_path: Path
    svg_path: Path
    caption: str
