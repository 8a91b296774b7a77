"""Schoenfeld's events-based power, detectable hazard ratio and required events, pinned.

Sources (each number below cites one of these):
[R]       tests/reference/r/power.json, written by tests/reference/r/power.R (committed
          beside it; ``Rscript tests/reference/r/power.R``): the same formulas with R's
          qnorm/pnorm over a grid. Checks arithmetic and normal quantiles only.
[HMISC]   the same file, "hmisc_cpower": Hmisc::cpower (Harrell), an independent
          implementation (variance 1/m_c + 1/m_i of log HR, both tails), run with equal
          events per group, where it must equal our p = 1/2 power plus the opposite tail.
[STATMED] Stat Med 2017;36(26):4121-4140, doi:10.1002/sim.7421, Table 3, columns
          "# Events N for PH assumption (80% power, alpha = 0.05 one-sided, r = 1)";
          "N is rounded up to an even number". pmc.ncbi.nlm.nih.gov/articles/PMC6478034
          (table T3). The caption does not name the formula; every entry equals
          Schoenfeld's D rounded up to an even number (and not Freedman's 1982 formula,
          which gives 56, not 52, at HR 0.5). One-sided 0.05 is our two-sided 0.10.
[F2X2]    R package factorial2x2 (Leifer & Troendle, CRAN), help page of lgrkPower,
          example: hr 0.5, nevent 98, alpha 0.05, rprob 0.5 -> power 0.9293463. Its code
          is pnorm(-sqrt(nevent rprob (1 - rprob)) log(hr) - qnorm(1 - alpha/2)): one
          tail, as ours. search.r-project.org/CRAN/refmans/factorial2x2/html/lgrkPower.html
[CBU]     MRC Cognition and Brain Sciences Unit statistics wiki, FAQ/powsurv
          (imaging.mrc-cbu.cam.ac.uk/statswiki/FAQ/powsurv): with z(0.05/2) = 1.96 and
          z(0.8) = 0.84, 4 (1.96 + 0.84)^2 / [log(log(0.75)/log(0.37))]^2 = 20.39 events.
Printed values are rounded; tolerances are half a unit of the last printed digit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from statistics import NormalDist

import pytest

from analysis.distributions import normal_sf
from analysis.power import minimum_detectable_hazard_ratio, required_events, schoenfeld_power

REFERENCE = Path(__file__).resolve().parent / "r" / "power.json"
RELATIVE_TOLERANCE = 1e-12


def _half_unit(printed: str) -> float:
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return 0.5 * 10.0**-decimals + 1e-12


def _rows(section: str) -> list[dict[str, float]]:
    columns = json.loads(REFERENCE.read_text())[section]
    names = [name for name, values in columns.items() if isinstance(values, list)]
    return [
        dict(zip(names, values, strict=True))
        for values in zip(*(columns[n] for n in names), strict=True)
    ]


# --- [R] the formulas, over a grid ----------------------------------------------------------


def test_power_equals_r_pnorm() -> None:
    rows = _rows("power")
    assert len(rows) == 672
    for row in rows:
        result = schoenfeld_power(
            row["events"], row["allocation"], row["hazard_ratio"], alpha=row["alpha"]
        )
        assert result.status == "ok"
        assert result.power == pytest.approx(row["power"], rel=RELATIVE_TOLERANCE), row


def test_minimum_detectable_hazard_ratio_equals_r() -> None:
    for row in _rows("minimum_detectable_hazard_ratio"):
        result = minimum_detectable_hazard_ratio(
            row["events"], row["allocation"], alpha=row["alpha"], power=row["power"]
        )
        assert result.hazard_ratio == pytest.approx(row["hazard_ratio"], rel=RELATIVE_TOLERANCE)


def test_required_events_equal_r() -> None:
    for row in _rows("required_events"):
        result = required_events(
            row["hazard_ratio"], row["allocation"], alpha=row["alpha"], power=row["power"]
        )
        assert result.events == pytest.approx(row["events"], rel=RELATIVE_TOLERANCE), row


# --- [HMISC] an independent implementation ----------------------------------------------------


def test_hmisc_cpower_is_our_power_plus_the_opposite_tail() -> None:
    """cpower reports both tails; ours leaves out Phi(-sqrt(D p (1-p)) |log HR| - z)."""
    rows = _rows("hmisc_cpower")
    assert len(rows) == 32
    for row in rows:
        events, hazard_ratio, alpha = row["events"], row["hazard_ratio"], row["alpha"]
        ours = schoenfeld_power(events, 0.5, hazard_ratio, alpha=alpha).power
        shift = math.sqrt(events / 4.0) * abs(math.log(hazard_ratio))
        opposite_tail = normal_sf(shift + NormalDist().inv_cdf(1.0 - alpha / 2.0))
        assert ours + opposite_tail == pytest.approx(row["power_both_tails"], abs=1e-12), row


# --- published values -------------------------------------------------------------------------

# [STATMED] Table 3: hazard ratio -> events, 80% power, one-sided 0.05, 1:1, rounded up to even.
STATMED_EVENTS = {
    "0.85": 938, "0.8": 498, "0.75": 300, "0.7": 196, "0.65": 134,
    "0.6": 96, "0.55": 70, "0.5": 52, "0.45": 40, "0.4": 30,
}  # fmt: skip


@pytest.mark.parametrize(("hazard_ratio", "printed_events"), STATMED_EVENTS.items())
def test_required_events_statmed_2017_table_3(hazard_ratio: str, printed_events: int) -> None:
    result = required_events(float(hazard_ratio), 0.5, alpha=0.10, power=0.8)
    rounded_up = result.events_rounded_up
    assert rounded_up + rounded_up % 2 == printed_events


def test_power_factorial2x2_example() -> None:
    """[F2X2] lgrkPower(0.5, 98, alpha = 0.05, rprob = 0.5)$power printed as 0.9293463."""
    printed = "0.9293463"
    power = schoenfeld_power(98, 0.5, 0.5, alpha=0.05).power
    assert abs(power - float(printed)) <= _half_unit(printed)


def test_required_events_mrc_cbu_worked_example() -> None:
    """[CBU] the wiki rounds the quantiles to 1.96 and 0.84; we pass the alpha and power
    whose quantiles those are, so that the printed 20.39 is reproduced, not approximated."""
    printed = "20.39"
    alpha = 2.0 * normal_sf(1.96)  # z_{1 - alpha/2} = 1.96
    power = 1.0 - normal_sf(0.84)  # z_power = 0.84
    hazard_ratio = math.log(0.75) / math.log(0.37)
    events = required_events(hazard_ratio, 0.5, alpha=alpha, power=power).events
    assert abs(events - float(printed)) <= _half_unit(printed)
