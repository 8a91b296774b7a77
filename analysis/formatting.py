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


#: What a reader is told instead of an interval that would collapse to a point or is
#: undefined (``km_landmarks.ci_status``; analysis.survival.CI_STATUSES).
CI_NOT_ESTIMABLE = {
    "no_events": "CI not estimable: no events",
    "survival_zero": "CI not estimable: survival 0",
}


def format_percent(value: float | None) -> str:
    """A survival probability as a whole percentage: ``86%``; ``-`` when missing."""
    return "-" if value is None else f"{100 * value:.0f}%"


def format_survival(
    survival: float | None,
    lower: float | None,
    upper: float | None,
    ci_status: str | None = "ok",
) -> str:
    """A landmark survival with its interval, or the reason there is none.

    >>> format_survival(0.8, 0.5, 0.93)
    '80% (50-93)'
    >>> format_survival(1.0, None, None, "no_events")
    '100% (CI not estimable: no events)'
    >>> format_survival(None, None, None, "beyond_followup")
    '- (beyond follow-up)'
    """
    if survival is None:
        return "- (beyond follow-up)" if ci_status == "beyond_followup" else "-"
    if lower is None or upper is None:
        reason = CI_NOT_ESTIMABLE.get(str(ci_status), "CI not estimable")
        return f"{format_percent(survival)} ({reason})"
    return f"{format_percent(survival)} ({100 * lower:.0f}-{100 * upper:.0f})"


def format_ratio(value: float) -> str:
    """A hazard ratio to three significant digits (``3.96``, ``13.1``, ``0.824``,
    ``1,190``): enough to compare with a rerun in R, no more than the data support.

    >>> [format_ratio(v) for v in (3.9612, 13.06, 0.82449, 1.2, 1190.4, 100.2)]
    ['3.96', '13.1', '0.824', '1.20', '1,190', '100']
    """
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:#.3g}".rstrip(".")


def format_hr(hr: float | None, lower: float | None, upper: float | None) -> str:
    """``3.96 (1.20-13.1)``; ``n/a`` without an estimate; an open bound says so.

    >>> format_hr(3.9612, 1.2, 13.06), format_hr(None, None, None)
    ('3.96 (1.20-13.1)', 'n/a')
    """
    if hr is None:
        return "n/a"
    low = "n/a" if lower is None else format_ratio(lower)
    high = "n/a" if upper is None else format_ratio(upper)
    return f"{format_ratio(hr)} ({low}-{high})"
