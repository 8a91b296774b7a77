"""analysis.firth against R's coxphf 1.13.1 (Heinze & Schemper's Firth-penalised Cox).

Source of every number: ``tests/reference/r/coxphf.json``, written by
``tests/reference/r/coxphf.R`` (committed beside it; R, coxphf and survival versions are
recorded in the JSON) from aml, ovarian and lung (R's survival data sets), the UAMS
myeloma cohort, and four monotone-likelihood cases built from ovarian and UAMS in which
one level of a 0/1 term has no deaths (the Cox MLE is infinite). Each case stores the
design matrix, times and events R used.

Tolerance: relative 1e-8 on every value. R was run with ``epsilon = gconv = 1e-10``
(coefficient change and score, on unit-SD covariates) and its profile-interval
iterations stop within 1e-10 of the target penalised likelihood; the JSON keeps 15
significant digits. Measured: the largest relative difference over all cases is 6e-10
(an ovarian coefficient), so 1e-8 leaves a 15-fold margin while a convention change (ties,
penalty, interval or test definition) moves values by 1e-3 or more. coxphf's p-values
are ``1 - pchisq(chisq)``, exact only to about 1e-16 absolute, hence ``abs=1e-15`` there.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analysis.firth import fit_firth

REFERENCE = Path(__file__).resolve().parent / "r" / "coxphf.json"
RELATIVE = 1e-8
P_ABSOLUTE = 1e-15


def _reference() -> dict[str, Any]:
    return json.loads(REFERENCE.read_text())


CASES = _reference()["cases"]


def test_reference_records_its_provenance() -> None:
    reference = _reference()
    assert reference["coxphf_version"] == "1.13.1"
    assert reference["control"]["ties"] == "breslow"
    assert reference["control"]["epsilon"] <= 1e-10
    assert reference["r_version"].startswith("R version")
    assert len(CASES) == 9


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_firth_cox_equals_coxphf(case: dict[str, Any]) -> None:
    result = fit_firth(
        np.asarray(case["x"], dtype=float),
        np.asarray(case["time"], dtype=float),
        np.asarray(case["event"]),
        terms=case["terms"],
    )
    assert result.status == "ok"
    assert result.converged
    assert result.n == len(case["time"])
    for column, name in [
        ("coef", "coef"),
        ("se", "se"),
        ("hazard_ratio", "hazard_ratio"),
        ("ci_lower", "ci_lower"),
        ("ci_upper", "ci_upper"),
        ("chisq", "chi_square"),
    ]:
        ours = [getattr(row, name) for row in result.terms]
        assert ours == pytest.approx(case[column], rel=RELATIVE), column
    p_values = [row.p_value for row in result.terms]
    assert p_values == pytest.approx(case["p"], rel=RELATIVE, abs=P_ABSOLUTE)
    # coxphf's log-likelihoods are for unit-SD covariates: lower by sum(log sd).
    shift = math.fsum(math.log(sd) for sd in case["column_sd"])
    assert result.penalised_log_likelihood == pytest.approx(
        case["loglik_unit_sd"] + shift, rel=RELATIVE
    )
    assert result.null_penalised_log_likelihood == pytest.approx(
        case["loglik_null_unit_sd"] + shift, rel=RELATIVE
    )
    assert result.lr_chi_square == pytest.approx(case["lr_chisq"], rel=RELATIVE)


@pytest.mark.parametrize("name", [case["name"] for case in CASES if "monotone" in case["name"]])
def test_monotone_cases_have_a_level_without_deaths(name: str) -> None:
    """The zero-event cases are what they claim: a 0/1 level with no deaths."""
    case = next(case for case in CASES if case["name"] == name)
    group = np.asarray(case["x"], dtype=float)[:, 0]
    event = np.asarray(case["event"]) == 1
    assert set(np.unique(group)) == {0.0, 1.0}
    assert not event[group == 0].any()
    assert event[group == 1].sum() >= 8
