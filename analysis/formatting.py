"""How a p-value is printed: one rule for the figures, the report and the terminal.

Three decimals with a floor of ``<0.001``, a common convention of clinical journals; a
missing or undefined p (NULL, NaN) is said to be missing rather than shown as a number.
"""

from __future__ import annotations

import math


def format_p(p: float | None, *, label: str = "p") -> str:
    """``p=0.017``, ``p<0.001`` or ``p n/a``; with ``label=""``: ``0.017``, ``<0.001``, ``n/a``.

    >>> format_p(0.0173), format_p(0.0004), format_p(None), format_p(0.05, label="q")
    ('p=0.017', 'p<0.001', 'p n/a', 'q=0.050')
    >>> format_p(float("nan"), label="")
    'n/a'
    """
    if p is None or math.isnan(p):
        return f"{label} n/a" if label else "n/a"
    if p < 0.001:
        return f"{label}<0.001"
    return f"{label}={p:.3f}" if label else f"{p:.3f}"
