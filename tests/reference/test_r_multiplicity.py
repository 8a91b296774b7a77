"""Holm and Benjamini-Hochberg adjustment equal R's ``p.adjust`` (R 4.2, stats).

Source: tests/reference/r/multiplicity.json, written by tests/reference/r/multiplicity.R
(committed beside it; regenerate with ``Rscript tests/reference/r/multiplicity.R``).
Numbers there carry 17 significant digits, so the 1e-12 relative tolerance below is
the comparison's, not the file's. Independently of R, the Benjamini & Hochberg (1995)
paper itself (section 3.2) rejects 4 of its 15 hypotheses at q = 0.05.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.multiplicity import benjamini_hochberg, holm

REFERENCE = Path(__file__).resolve().parent / "r" / "multiplicity.json"
RELATIVE_TOLERANCE = 1e-12
METHODS = {"holm": holm, "bh": benjamini_hochberg}


def _array(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if value is None else value for value in values], dtype=float)


def _reference() -> dict:
    return json.loads(REFERENCE.read_text())


CASES = _reference()["cases"]


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_equals_r_p_adjust(case: dict, method: str) -> None:
    p = _array(case["p"])
    expected = _array(case[method])
    adjusted = METHODS[method](p)
    assert adjusted.shape == expected.shape
    assert np.array_equal(np.isnan(adjusted), np.isnan(expected))  # R's NAs, ours NaN
    np.testing.assert_allclose(adjusted, expected, rtol=RELATIVE_TOLERANCE, atol=0.0)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_none_entries_equal_r_na(method: str) -> None:
    case = next(case for case in CASES if case["name"] == "with_na")
    adjusted = METHODS[method](case["p"])  # JSON null -> None, passed as is
    np.testing.assert_allclose(adjusted, _array(case[method]), rtol=RELATIVE_TOLERANCE)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_missing_entries_are_not_counted_in_the_family(method: str) -> None:
    """R's n is the number of non-NA p-values; counting the NAs (p.adjust(p, n =
    length(p))) gives other, larger values, which we must not reproduce."""
    contrast = _reference()["with_na_n_all"]
    adjusted = METHODS[method](_array(contrast["p"]))
    counted = _array(contrast[method])
    present = ~np.isnan(counted)
    assert np.all(adjusted[present] < counted[present])


def test_benjamini_hochberg_1995_rejects_four() -> None:
    """Benjamini & Hochberg (1995), J R Stat Soc B 57:289-300, section 3.2: of the 15
    p-values, the step-up procedure at q = 0.05 rejects the four smallest."""
    case = next(case for case in CASES if case["name"] == "bh_1995")
    q = benjamini_hochberg(_array(case["p"]))
    assert np.flatnonzero(q <= 0.05).tolist() == [0, 1, 2, 3]
