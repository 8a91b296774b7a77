"""``analysis.cutpoint.maxstat_test`` against R ``maxstat::maxstat.test(..., smethod =
"LogRank")`` with pmethod Lau92, Lau94 and condMC.

Source of every number: ``tests/reference/r/maxstat.json``, written by
``tests/reference/r/maxstat.R`` (committed beside it; R, maxstat, exactRankTests and
survival versions and R's RNG kinds are in the JSON). Each case holds the exact time,
event and x vectors R used (UAMS and mgus2 raw-contract cohorts, textbook sets,
hand-built edge cases), so nothing is re-derived here.

Tolerances:
- Scores, cut statistics, the maximum: the same closed forms summed in another order
  (R's ``cumsum`` accumulates in long double); numbers in the JSON carry 17 digits.
  Observed agreement is 1e-14 (absolute for scores near 0, relative for statistics);
  1e-10 leaves a wide margin. Cut points, the estimate and n_low are compared exactly.
- Lau92: the same formula, relative 1e-10; R's value clipped to [0, 1] as ours.
- Lau94: R computes the normal tail as ``1 - (pnorm(b) - pnorm(-b))``, which loses all
  digits of 2 Phi(-b) below about 1e-16 (relative error 1e-7 at b = 6.7, and the tail
  vanishes beyond b = 8.3); ours uses erfc. So: relative 1e-9 plus absolute 1e-15, R's
  value clipped to [2 Phi(-b), 1] as documented in :func:`analysis.cutpoint.lausen94_p`.
- condMC: both are Monte-Carlo estimates from different generators (R's
  Mersenne-Twister, numpy's PCG64), so they agree only within Monte-Carlo error: the
  pooled two-proportion z statistic must stay below 4.5 (a false alarm about once in
  150,000 comparisons), with half a count of continuity slack.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analysis.cutpoint import MaxstatResult, logrank_scores, maxstat_test

REFERENCE = json.loads((Path(__file__).parent / "r" / "maxstat.json").read_text())
CASES: list[dict[str, Any]] = REFERENCE["cases"]
TESTED = [case for case in CASES if "r_error" not in case]
REFUSED = [case for case in CASES if "r_error" in case]
RTOL = 1e-10
LAU94_RTOL, LAU94_ATOL = 1e-9, 1e-15
MONTE_CARLO_Z = 4.5
#: Our permutations per case: as R's B.
PERMUTATIONS = 10_000


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["name"] for case in cases]


def _arrays(case: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(np.asarray(case[key], dtype=float) for key in ("time", "event", "x"))


def _ours(case: dict[str, Any]) -> MaxstatResult:
    return _ours_by_name(case["name"])


@functools.cache
def _ours_by_name(name: str) -> MaxstatResult:
    """One run per case (10,000 permutations each), shared by the tests below."""
    case = next(case for case in CASES if case["name"] == name)
    return maxstat_test(
        *_arrays(case),
        seed=case.get("condmc_seed", 1),
        permutations=PERMUTATIONS,
        min_prop=case["minprop"],
        max_prop=case["maxprop"],
    )


def test_generator_is_recorded() -> None:
    assert REFERENCE["generated_by"] == "tests/reference/r/maxstat.R"
    for key in ("r_version", "maxstat_version", "exact_rank_tests_version", "rng_kind"):
        assert REFERENCE[key]
    assert {case["name"].split("_")[0] for case in CASES} >= {"uams", "mgus2", "lung", "ovarian"}


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_scores_equal_exact_rank_tests(case: dict[str, Any]) -> None:
    time, event, _ = _arrays(case)
    np.testing.assert_allclose(logrank_scores(time, event), case["scores"], rtol=0, atol=RTOL)


@pytest.mark.parametrize("case", TESTED, ids=_ids(TESTED))
def test_statistic_cuts_and_estimate_equal_r(case: dict[str, Any]) -> None:
    ours = _ours(case)
    assert ours.status == "ok"
    assert ours.n == case["n"] and ours.events == case["events"]
    assert list(ours.cutpoints) == case["cuts"]
    np.testing.assert_allclose(ours.statistics, case["stats"], rtol=RTOL)
    assert ours.statistic == pytest.approx(case["statistic"], rel=RTOL)
    assert ours.cutpoint == case["estimate"]
    assert ours.n_low == case["n_low"] and ours.n_high == case["n"] - case["n_low"]


@pytest.mark.parametrize("case", TESTED, ids=_ids(TESTED))
def test_lausen_p_values_equal_r(case: dict[str, Any]) -> None:
    ours = _ours(case)
    assert ours.p_lau92 == pytest.approx(min(case["p_lau92"], 1.0), rel=RTOL)
    tail = math.erfc(case["statistic"] / math.sqrt(2.0))
    expected = min(max(case["p_lau94"], tail), 1.0)
    assert ours.p_lau94 == pytest.approx(expected, rel=LAU94_RTOL, abs=LAU94_ATOL)


@pytest.mark.parametrize("case", TESTED, ids=_ids(TESTED))
def test_permutation_p_agrees_with_cond_mc_within_monte_carlo_error(case: dict[str, Any]) -> None:
    ours = _ours(case)
    theirs, their_permutations = case["p_condmc"], case["condmc_permutations"]
    assert ours.permutations == PERMUTATIONS and ours.seed == case["condmc_seed"]
    pooled = (ours.p_permutation * PERMUTATIONS + theirs * their_permutations) / (
        PERMUTATIONS + their_permutations
    )
    se = math.sqrt(pooled * (1 - pooled) * (1 / PERMUTATIONS + 1 / their_permutations))
    slack = 0.5 / PERMUTATIONS + 0.5 / their_permutations
    assert abs(ours.p_permutation - theirs) <= MONTE_CARLO_Z * se + slack


def test_some_cases_exercise_the_clipping_and_the_ties() -> None:
    """The reference covers R's out-of-range bounds and tied x values."""
    by_name = {case["name"]: case for case in TESTED}
    assert by_name["lung_meal_cal_25_75"]["p_lau94"] > 1  # clipped to 1
    assert by_name["mgus2_creat_os"]["p_lau94"] < 0  # clipped to 2 Phi(-b)
    assert len(set(by_name["lung_ph_karno"]["x"])) < 10  # heavy ties in x


@pytest.mark.parametrize("case", REFUSED, ids=_ids(REFUSED))
def test_where_r_stops_we_give_a_status(case: dict[str, Any]) -> None:
    """maxstat.test stops (constant x: no admissible cut; no events: 0/0); we return a
    row with a status and no numbers."""
    ours = _ours(case)
    assert (
        ours.status
        == {"hand_constant": "single_group", "hand_no_events": "no_events"}[case["name"]]
    )
    assert ours.statistic is None and ours.p_permutation is None
