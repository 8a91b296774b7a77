"""The one format of each number the figures, the report and the terminal show."""

from __future__ import annotations

import math

import pytest

from analysis.formatting import (
    format_count,
    format_events_per_variable,
    format_expression,
    format_hr,
    format_landmark,
    format_level,
    format_median_years,
    format_p,
    format_percent,
    format_statistic,
    format_survival,
    format_years,
)


@pytest.mark.parametrize(
    ("p", "label", "text"),
    [
        (0.0173, "p", "p=0.017"),
        (0.001, "p", "p=0.001"),
        (0.00099, "p", "p<0.001"),
        (1.0, "p", "p=1.000"),
        (None, "p", "p n/a"),
        (math.nan, "p", "p n/a"),
        (0.0499, "q", "q=0.050"),
        (0.0173, "", "0.017"),
        (0.0001, "", "<0.001"),
        (None, "", "n/a"),
    ],
)
def test_p_values_print_with_three_decimals_a_floor_and_n_a(
    p: float | None, label: str, text: str
) -> None:
    assert format_p(p, label=label) == text


@pytest.mark.parametrize(
    ("hr", "lower", "upper", "text"),
    [
        (3.9612, 1.2, 13.06, "3.96 (1.20-13.1)"),
        (0.98512, 0.2661, 3.649, "0.985 (0.266-3.65)"),
        (11.7, 1.55, 1500.2, "11.7 (1.55-1,500)"),
        (2.0, None, 5.0, "2.00 (n/a-5.00)"),
        (None, None, None, "n/a"),
    ],
)
def test_hazard_ratios_print_with_three_significant_digits(
    hr: float | None, lower: float | None, upper: float | None, text: str
) -> None:
    assert format_hr(hr, lower, upper) == text


def test_survival_and_percentages() -> None:
    assert format_percent(0.86) == "86%" and format_percent(None) == "-"
    assert format_survival(0.8, 0.5, 0.93) == "80% (50-93)"
    assert format_survival(1.0, None, None, "no_events") == "100% (CI not estimable: no events)"


@pytest.mark.parametrize(
    ("days_per_year", "text"), [(365.25, "2.5 (1.9-3.3)"), (300.0, "3.0 (2.3-4.0)")]
)
def test_years_use_the_given_days_per_year(days_per_year: float, text: str) -> None:
    assert format_median_years(900, 700, 1200, days_per_year=days_per_year) == text


def test_missing_times_are_not_reached() -> None:
    assert format_years(None, days_per_year=365.25) == "NR"
    assert format_median_years(900, 700, None, days_per_year=365.25) == "2.5 (1.9-NR)"
    assert format_median_years(None, None, None, days_per_year=365.25) == "not reached"


def test_labels_levels_counts_and_statistics() -> None:
    assert [format_landmark(y) for y in (3.0, 5, 2.5)] == ["3-y", "5-y", "2.5-y"]
    assert [format_level(a) for a in (0.05, 0.1)] == ["0.05", "0.1"]
    assert format_count(12345) == "12,345"
    assert format_statistic(6.6) == "6.60"
    assert format_expression(0.5123) == "0.51"
    assert format_events_per_variable(11.54) == "11.5"
