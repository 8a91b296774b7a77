"""``analysis.zph.cox_zph`` against R survival's ``cox.zph`` (score test, survival >= 3.0).

Source of every number: ``tests/reference/r/cox_zph.json``, written by
``tests/reference/r/cox_zph.R`` (committed beside it; R and survival versions are in the
JSON). The JSON holds the exact design matrix, times and events R used for each case, so
nothing is re-derived here.

Tolerances:
- Given R's coefficients, both computations evaluate the same closed form; the only
  differences are summation order and the JSON's 15 significant digits (relative 5e-16
  on every input). Observed agreement is better than 1e-12, so 1e-10 leaves a margin
  of 100, and is eight orders of magnitude below the pre-3.0 approximation's miss
  (1% to 200% on these cases; ``tests/unit/analysis/test_zph.py`` shows it on aml).
- Given our own Efron fit (:func:`analysis.cox_fitter.fit_efron`, relative log-likelihood
  change 1e-12; R's fit used eps = 1e-11), the coefficients differ by up to ~2e-10
  (observed), which moves a statistic by about as much; 1e-8 leaves a margin of 50.
  We have no Breslow fitter, so the Breslow cases use R's coefficients only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analysis.cox_fitter import fit_efron
from analysis.zph import ZphResult, cox_zph

REFERENCE = json.loads((Path(__file__).parent / "r" / "cox_zph.json").read_text())
CASES: list[dict[str, Any]] = REFERENCE["cases"]
EFRON_CASES = [case for case in CASES if case["ties"] == "efron"]
RTOL_GIVEN_R_COEF = 1e-10
RTOL_GIVEN_OUR_FIT = 1e-8
#: R's coxph(eps = 1e-11) and ours (1e-12) reach the same maximum to about 1e-10.
COEF_ATOL = 1e-8


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["name"] for case in cases]


def _design(case: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(case["x"], dtype=float).reshape(case["n"], len(case["columns"]))
    return x, np.asarray(case["time"], dtype=float), np.asarray(case["event"]) == 1


def _assert_matches_r(result: ZphResult, case: dict[str, Any], rtol: float) -> None:
    assert result.status == "ok"
    assert len(result.terms) == len(case["terms"])
    tests = (*result.terms, result.global_test)
    for ours, theirs in zip(tests, [*case["terms"], case["global"]], strict=True):
        assert ours.df == theirs["df"]
        assert ours.chisq == pytest.approx(theirs["chisq"], rel=rtol)
        assert ours.p_value == pytest.approx(theirs["p"], rel=rtol)


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_statistics_equal_r_given_r_coefficients(case: dict[str, Any]) -> None:
    x, time, event = _design(case)
    result = cox_zph(
        x, time, event, np.asarray(case["coef"]), ties=case["ties"], transform=case["transform"]
    )
    _assert_matches_r(result, case, RTOL_GIVEN_R_COEF)


@pytest.mark.parametrize("case", EFRON_CASES, ids=_ids(EFRON_CASES))
def test_statistics_equal_r_given_our_efron_fit(case: dict[str, Any]) -> None:
    x, time, event = _design(case)
    fit = fit_efron(x, time, event)
    assert fit.converged
    assert fit.coef == pytest.approx(case["coef"], rel=0, abs=COEF_ATOL)
    result = cox_zph(x, time, event, fit.coef, transform=case["transform"])
    _assert_matches_r(result, case, RTOL_GIVEN_OUR_FIT)


def test_reference_covers_ties_transforms_interaction_and_a_real_cohort() -> None:
    """Guards against a regenerated JSON that silently lost the hard cases."""
    assert {case["transform"] for case in CASES} == {"km", "identity", "rank", "log"}
    assert {case["ties"] for case in CASES} == {"efron", "breslow"}
    assert any(":" in column for case in CASES for column in case["columns"])
    uams = next(case for case in CASES if case["name"] == "uams_b2m_q1_karyotype")
    _, time, event = _design(uams)
    assert np.unique(time[event]).size < event.sum()  # tied death times
