"""Events-based power for the two-group log-rank test or Cox model (Schoenfeld 1983).

Schoenfeld (1983, Biometrics 39:499-503): with D events in total and a share p of the
patients in one group, the log-rank (Cox score) statistic for a hazard ratio HR is
approximately normal with mean ``sqrt(D p (1 - p)) |log HR|`` and variance 1. For a
two-sided test at level alpha, with ``z_q`` the standard normal q-quantile:

* power at HR:                  ``Phi(sqrt(D p (1 - p)) |log HR| - z_{1-alpha/2})``
* minimum detectable HR:        ``exp((z_{1-alpha/2} + z_power) / sqrt(D p (1 - p)))``
* events required to detect HR: ``(z_{1-alpha/2} + z_power)^2 / (p (1 - p) log(HR)^2)``

**The other tail is not added.** The two-sided test also rejects when the statistic
falls below ``-z_{1-alpha/2}``, which adds ``Phi(-sqrt(D p (1 - p)) |log HR| -
z_{1-alpha/2})``: a rejection in the wrong direction, and never more than alpha/2. It
is left out, as in Schoenfeld's formula and in R gsDesign's ``nEvents``, so that the
three functions are exact inverses of one another. Whenever the reported power is at
least 0.5 the omitted term is below ``Phi(-2 z_{1-alpha/2})`` (4.4e-5 at alpha = 0.05).
Near HR = 1 it is not negligible (the formula gives alpha/2 there, not alpha), which is
one reason HR = 1 gets no number (status ``"no_effect"``).

p is the share of patients in one group: the randomised fraction in a trial, the
observed share (0.25 for Q1 vs Q2-Q4 quartiles) in a cohort; the formula is symmetric
in p and 1 - p. D counts events in both groups together.

Each function returns a :class:`PowerCalculation` holding the whole design, the solved
quantity filled in. Degenerate designs give ``None`` (never NaN or inf) and a status:
``"no_events"`` (D = 0), ``"single_group"`` (p = 0 or 1), ``"invalid_hazard_ratio"``
(HR <= 0, NaN or infinite), ``"no_effect"`` (HR = 1), ``"not_detectable"`` (the
minimum detectable HR exceeds the largest float: D p (1 - p) below about 1e-5). The
first that applies wins, in that order. Settings that are errors, not designs (alpha or
power outside (0, 1), power <= alpha/2, D negative or not finite, p outside [0, 1]),
raise ValueError.

Quantiles by ``statistics.NormalDist`` (Wichura's AS 241, as R's ``qnorm``); the normal
tail by :func:`analysis.distributions.normal_sf`, which keeps relative accuracy for
small powers. No scipy import.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

from analysis.distributions import normal_sf

PowerStatus = Literal[
    "ok", "no_events", "single_group", "invalid_hazard_ratio", "no_effect", "not_detectable"
]

_STANDARD_NORMAL = NormalDist()
#: exp() of anything larger overflows a double.
_LARGEST_EXPONENT = math.log(sys.float_info.max)


@dataclass(frozen=True)
class PowerCalculation:
    """A two-group events-based design (Schoenfeld 1983), one quantity solved for.

    Attributes
    ----------
    events : float or None
        Total events D in both groups (given, or solved: unrounded; see
        :attr:`events_rounded_up`). None when it could not be solved.
    allocation : float
        Share p of the patients in one group.
    hazard_ratio : float or None
        Given HR, or the minimum detectable HR (> 1; its reciprocal is detected with the
        same power). None when it could not be solved or was not a valid ratio.
    alpha : float
        Two-sided significance level.
    power : float or None
        Power at ``hazard_ratio`` (given, or solved, without the opposite tail: see the
        module docstring). None when it could not be solved.
    status : str
        ``"ok"`` or the reason the solved quantity is None (module docstring).
    """

    events: float | None
    allocation: float
    hazard_ratio: float | None
    alpha: float
    power: float | None
    status: PowerStatus

    @property
    def events_rounded_up(self) -> int | None:
        """The events a study must observe: :attr:`events` rounded up to a whole number
        (conservatively: a value a rounding error above a whole number goes up by one)."""
        return None if self.events is None else math.ceil(self.events)


def schoenfeld_power(
    events: float, allocation: float, hazard_ratio: float, *, alpha: float = 0.05
) -> PowerCalculation:
    """Power of the two-sided log-rank test to detect ``hazard_ratio`` with ``events``.

    ``Phi(sqrt(D p (1 - p)) |log HR| - z_{1-alpha/2})`` (Schoenfeld 1983), without the
    opposite tail.

    Examples
    --------
    >>> schoenfeld_power(98, 0.5, 0.5).power  # doctest: +ELLIPSIS
    0.92934626...
    """
    _check_alpha(alpha)
    _check_design(events, allocation)
    status = _design_status(events, allocation) or _hazard_ratio_status(hazard_ratio)
    given_ratio = None if status == "invalid_hazard_ratio" else hazard_ratio
    if status is not None:
        return PowerCalculation(events, allocation, given_ratio, alpha, None, status)
    shift = math.sqrt(events * allocation * (1.0 - allocation)) * abs(math.log(hazard_ratio))
    power = normal_sf(_critical_value(alpha) - shift)  # Phi(shift - z) = P(Z > z - shift)
    return PowerCalculation(events, allocation, hazard_ratio, alpha, power, "ok")


def minimum_detectable_hazard_ratio(
    events: float, allocation: float, *, alpha: float = 0.05, power: float = 0.8
) -> PowerCalculation:
    """The smallest hazard ratio above 1 detected with ``power`` given ``events``.

    ``exp((z_{1-alpha/2} + z_power) / sqrt(D p (1 - p)))`` (Schoenfeld 1983); its
    reciprocal is the largest detectable ratio below 1.

    Examples
    --------
    >>> round(minimum_detectable_hazard_ratio(100, 0.25).hazard_ratio, 4)
    1.9098
    """
    _check_alpha(alpha)
    _check_power(power, alpha)
    _check_design(events, allocation)
    status = _design_status(events, allocation)
    if status is None:
        exponent = _quantile_sum(alpha, power) / math.sqrt(events * allocation * (1.0 - allocation))
        if exponent <= _LARGEST_EXPONENT:
            return PowerCalculation(events, allocation, math.exp(exponent), alpha, power, "ok")
        status = "not_detectable"
    return PowerCalculation(events, allocation, None, alpha, power, status)


def required_events(
    hazard_ratio: float, allocation: float, *, alpha: float = 0.05, power: float = 0.8
) -> PowerCalculation:
    """Total events needed to detect ``hazard_ratio`` with ``power`` (Schoenfeld 1983).

    ``(z_{1-alpha/2} + z_power)^2 / (p (1 - p) log(HR)^2)``, unrounded in
    :attr:`PowerCalculation.events`; a study plans for
    :attr:`PowerCalculation.events_rounded_up`.

    Examples
    --------
    >>> required_events(2.0, 0.5).events_rounded_up
    66
    """
    _check_alpha(alpha)
    _check_power(power, alpha)
    if not (0.0 <= allocation <= 1.0):
        raise ValueError(f"allocation must lie in [0, 1], not {allocation!r}")
    status = "single_group" if allocation in (0.0, 1.0) else _hazard_ratio_status(hazard_ratio)
    given_ratio = None if status == "invalid_hazard_ratio" else hazard_ratio
    if status is not None:
        return PowerCalculation(None, allocation, given_ratio, alpha, power, status)
    events = _quantile_sum(alpha, power) ** 2 / (
        allocation * (1.0 - allocation) * math.log(hazard_ratio) ** 2
    )
    return PowerCalculation(events, allocation, hazard_ratio, alpha, power, "ok")


# --- helpers ------------------------------------------------------------------------------


def _critical_value(alpha: float) -> float:
    """z_{1-alpha/2}: the two-sided critical value."""
    return _STANDARD_NORMAL.inv_cdf(1.0 - alpha / 2.0)


def _quantile_sum(alpha: float, power: float) -> float:
    return _critical_value(alpha) + _STANDARD_NORMAL.inv_cdf(power)


def _design_status(events: float, allocation: float) -> PowerStatus | None:
    if events == 0:
        return "no_events"
    if allocation in (0.0, 1.0):
        return "single_group"
    return None


def _hazard_ratio_status(hazard_ratio: float) -> PowerStatus | None:
    if not (math.isfinite(hazard_ratio) and hazard_ratio > 0.0):
        return "invalid_hazard_ratio"
    if math.log(hazard_ratio) == 0.0:  # HR = 1, or so close that log rounds to 0
        return "no_effect"
    return None


def _check_alpha(alpha: float) -> None:
    if not (0.0 < alpha < 1.0):
        raise ValueError(f"alpha must lie in (0, 1), not {alpha!r}")


def _check_power(power: float, alpha: float) -> None:
    if not (0.0 < power < 1.0):
        raise ValueError(f"power must lie in (0, 1), not {power!r}")
    if _quantile_sum(alpha, power) <= 0.0:
        raise ValueError(
            f"power must exceed alpha / 2 = {alpha / 2!r} (the power at HR = 1 without the "
            f"opposite tail), not {power!r}"
        )


def _check_design(events: float, allocation: float) -> None:
    if not (math.isfinite(events) and events >= 0.0):
        raise ValueError(f"events must be a finite number >= 0, not {events!r}")
    if not (0.0 <= allocation <= 1.0):
        raise ValueError(f"allocation must lie in [0, 1], not {allocation!r}")
