"""The one p-value format of figures, report and terminal."""

from __future__ import annotations

import math

import pytest

from analysis.formatting import format_p


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
