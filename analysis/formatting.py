"""How a number is printed: one rule each for the figures, the report and the terminal.

p-values get three decimals with a floor of ``<0.001``, a common convention of clinical
journals; a missing or undefined p (NULL, NaN) is said to be missing rather than shown as
a number. Hazard ratios get three significant digits, survival whole percentages, years
one decimal. Every user-visible statistic goes through this module, so the terminal
summary, the HTML report and the figures cannot print the same number two ways.
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
#: undefined (``km_landmarks.ci_status``; analysis.vocabulary.CI_STATUSES).
CI_NOT_ESTIMABLE = {
    "no_events": "CI not estimable: no events",
    "survival_zero": "CI not estimable: survival 0",
}


def format_percent(value: float | None) -> str:
    """A probability (survival, power) as a whole percentage: ``86%``; ``-`` when missing.

    >>> format_percent(0.86), format_percent(0.354), format_percent(None)
    ('86%', '35%', '-')
    """
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


def format_level(value: float) -> str:
    """A significance level or FDR threshold as a reader writes it: ``0.05``, ``0.1``.

    >>> format_level(0.05), format_level(0.1), format_level(0.025)
    ('0.05', '0.1', '0.025')
    """
    return f"{value:g}"


def format_count(value: int) -> str:
    """A count with thousands separators: ``1,234``.

    >>> format_count(504), format_count(12345)
    ('504', '12,345')
    """
    return f"{value:,}"


def format_statistic(value: float) -> str:
    """A test statistic (chi-square) to two decimals: ``6.60``.

    >>> format_statistic(6.6), format_statistic(12.345)
    ('6.60', '12.35')
    """
    return f"{value:.2f}"


def format_expression(value: float) -> str:
    """A biomarker expression value (a quartile cut point) to two decimals: ``0.51``.

    >>> format_expression(0.5123)
    '0.51'
    """
    return f"{value:.2f}"


def format_events_per_variable(value: float) -> str:
    """Events per model variable to one decimal: ``11.5``.

    >>> format_events_per_variable(23 / 2)
    '11.5'
    """
    return f"{value:.1f}"


def format_landmark(years: float) -> str:
    """The label of a landmark time: ``3-y``; a fractional landmark keeps its digits.

    >>> format_landmark(3.0), format_landmark(2.5)
    ('3-y', '2.5-y')
    """
    return f"{years:g}-y"


def format_years(days: float | None, *, days_per_year: float) -> str:
    """A time in days as years to one decimal (``NR``, not reached, when missing).

    ``days_per_year`` is the study's convention (365.25 under IMWG), recorded with the run.

    >>> format_years(900, days_per_year=365.25), format_years(None, days_per_year=365.25)
    ('2.5', 'NR')
    """
    return "NR" if days is None else f"{days / days_per_year:.1f}"


def format_median_years(
    median_days: float | None,
    lower_days: float | None,
    upper_days: float | None,
    *,
    days_per_year: float,
) -> str:
    """A median survival in years with its interval; a missing median is ``not reached``
    (the curve stays above 50 %), a missing bound is ``NR``.

    >>> format_median_years(900, 700, None, days_per_year=365.25)
    '2.5 (1.9-NR)'
    >>> format_median_years(None, None, None, days_per_year=365.25)
    'not reached'
    """
    if median_days is None:
        return "not reached"
    return (
        f"{format_years(median_days, days_per_year=days_per_year)} "
        f"({format_years(lower_days, days_per_year=days_per_year)}-"
        f"{format_years(upper_days, days_per_year=days_per_year)})"
    )


def format_months(days: float, *, days_per_year: float, signed: bool = False) -> str:
    """A time (or a difference of times) in days as months to one decimal.

    >>> format_months(-150.0, days_per_year=365.25, signed=True)
    '-4.9'
    >>> format_months(91.3125, days_per_year=365.25, signed=True)
    '+3.0'
    """
    months = days / (days_per_year / 12.0)
    return f"{months:+.1f}" if signed else f"{months:.1f}"
