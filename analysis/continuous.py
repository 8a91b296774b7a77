"""Cox models of a biomarker as a continuous value: per unit, per SD, restricted cubic spline.

Conventions (issue 14, "Continuous biomarker models"; R references in
``tests/reference/r/continuous.R``):

- The value is analysed as the marts hold it, never log-transformed: for log2 expression
  and -dCt one unit is a doubling; zero and negative values are valid.
- Per unit: R ``coxph(Surv(time, event) ~ x)`` (Efron ties, :func:`analysis.cox.cox_model`),
  95% Wald interval and p, and the likelihood-ratio test against the null model (df 1).
  Per SD: the same model for ``x / sd(x)`` with the sample SD (ddof 1), i.e. coef and se
  times the SD; the Wald and likelihood-ratio p-values are the per-unit ones. Both rows
  come from one fit on the standardised value, because ``fit_efron`` takes a coefficient
  beyond 30 for divergence and a per-unit coefficient can legitimately be that large
  when the unit is small.
- Restricted cubic spline: knots at R type 7 quantiles of the analysed patients at Harrell's
  default probabilities (``KNOT_PROBABILITIES``), the basis of
  ``Hmisc::rcspline.eval(x, knots, inclx = TRUE)`` (what ``rms::rcs`` fits), the overall
  likelihood-ratio test (df k - 1) and the test of non-linearity, spline against linear
  (df k - 2). The test statistics do not depend on the basis; the coefficients do, and are
  reported in R's basis (fitted on an orthonormal basis of the same space, mapped back).
- Partial effect: log relative hazard against the median, ``(B(x) - B(median)) beta``, with
  the pointwise 95% Wald interval from the spline coefficients' covariance (R
  ``rms::Predict(fit, ref.zero = TRUE)``).

Statuses, not exceptions or NaN (``analysis.vocabulary.Status``): every row is returned; a
model that cannot be fitted has None for its numbers and says why. The per-unit and per-SD
rows take :func:`~analysis.cox.cox_model`'s status (``no_events``, ``single_group`` for a
constant value, ``did_not_converge``; fewer than 10 events per coefficient is
``few_events_per_variable``, fitted and reported). The spline is fitted on the same rule
with its k - 1 coefficients, so it is flagged below 10 (k - 1) events (Harrell's 10 to 20
events per degree of freedom); it is refused as ``too_few_values`` when the value has fewer
distinct values than knots or its type 7 knots coincide (heavy ties, e.g. many values at
a detection limit), where R's ``rcspline.eval`` would silently drop knots.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.cox import CoxResult, cox_model
from analysis.cox_fitter import fit_efron
from analysis.distributions import chi2_sf
from analysis.groups import quantile_type7
from analysis.vocabulary import WALD_Z, ContinuousModel, Status

#: Harrell's default knot placement (``Hmisc::rcspline.eval``, which ``rms::rcs`` calls):
#: quantiles of the value at these probabilities, by number of knots. rcspline.eval itself
#: moves the outer knots to the 5th smallest and largest values below 100 patients and
#: handles heavily tied ends specially; the study convention (issue 14) is plain R type 7
#: quantiles of the analysed patients, which R reproduces with ``knots = quantile(x, p)``.
KNOT_PROBABILITIES: dict[int, tuple[float, ...]] = {
    3: (0.10, 0.50, 0.90),
    4: (0.05, 0.35, 0.65, 0.95),
    5: (0.05, 0.275, 0.50, 0.725, 0.95),
}
#: The partial-effect curve spans these type 7 quantiles of the value, so that one extreme
#: patient does not stretch the axis (the rug of patients shows the rest).
CURVE_RANGE_PROBABILITIES = (0.01, 0.99)
#: Evenly spaced values of the curve (the median is added to them).
CURVE_POINTS = 100


@dataclass(frozen=True)
class ContinuousModelRow:
    """One row of ``results.continuous_models``; numbers are None (never NaN) when absent.

    ``increment`` is the change in value the coefficient refers to: 1 per unit, the
    sample SD per SD, None for the spline (its effect is the curve). The spline row has no
    single coefficient, so ``coef`` to ``wald_p`` are None; its ``lr_*`` fields are the
    overall test, ``nonlinearity_*`` the test against the linear model, and ``knots`` the
    knot values. ``notes`` say why a status is not ``ok``.
    """

    model: ContinuousModel
    scale: str
    n: int
    events: int
    increment: float | None
    coef: float | None
    se: float | None
    hazard_ratio: float | None
    hr_ci_lower: float | None
    hr_ci_upper: float | None
    wald_p: float | None
    lr_statistic: float | None
    lr_df: int | None
    lr_p: float | None
    nonlinearity_statistic: float | None
    nonlinearity_df: int | None
    nonlinearity_p: float | None
    knots: tuple[float, ...]
    status: Status
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class SplineFit:
    """The fitted spline: knots, coefficients of the rcspline.eval basis, covariance."""

    knots: tuple[float, ...]
    coef: np.ndarray
    variance: np.ndarray
    reference_value: float

    def log_relative_hazard(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log relative hazard at ``values`` against ``reference_value``, and its SE.

        ``(B(x) - B(ref)) beta`` and ``sqrt(d V d')`` with ``d = B(x) - B(ref)``: the
        contrast R ``rms::Predict(ref.zero = TRUE)`` computes.
        """
        at = np.atleast_1d(np.asarray(values, dtype=float))
        contrast = spline_basis(at, self.knots) - spline_basis(
            np.array([self.reference_value]), self.knots
        )
        estimate = contrast @ self.coef
        variance = np.einsum("ij,jk,ik->i", contrast, self.variance, contrast)
        return estimate, np.sqrt(np.maximum(variance, 0.0))


@dataclass(frozen=True)
class PartialEffectCurve:
    """Rows of ``results.continuous_curves``: log relative hazard against the median."""

    value: np.ndarray
    log_hr: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    reference_value: float


@dataclass(frozen=True)
class ContinuousResult:
    """Per-unit, per-SD and spline models of one biomarker and endpoint.

    ``spline`` and ``curve`` are None when the spline could not be fitted (see
    ``rcs.status``); ``sd`` and ``median`` are None without values.
    """

    per_unit: ContinuousModelRow
    per_sd: ContinuousModelRow
    rcs: ContinuousModelRow
    spline: SplineFit | None
    curve: PartialEffectCurve | None
    sd: float | None
    median: float | None

    @property
    def rows(self) -> tuple[ContinuousModelRow, ...]:
        """The three rows of ``results.continuous_models``, in the vocabulary's order."""
        return (self.per_unit, self.per_sd, self.rcs)


def spline_knots(values: np.ndarray, knots: int) -> np.ndarray:
    """Knot values: R type 7 quantiles at Harrell's default probabilities.

    >>> spline_knots(np.arange(1.0, 22.0), 3).tolist()
    [3.0, 11.0, 19.0]
    """
    if knots not in KNOT_PROBABILITIES:
        raise ValueError(f"knots must be one of {sorted(KNOT_PROBABILITIES)}, not {knots}")
    return quantile_type7(np.asarray(values, dtype=float), KNOT_PROBABILITIES[knots])


def spline_basis(values: np.ndarray, knots: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """The restricted cubic spline basis of ``Hmisc::rcspline.eval(x, knots, inclx = TRUE)``.

    Columns: x, then for j = 1..k-2 ``(x - t_j)+^3 - (x - t_{k-1})+^3 (t_k - t_j) /
    (t_k - t_{k-1}) + (x - t_k)+^3 (t_{k-1} - t_j) / (t_k - t_{k-1})``, divided by
    ``(t_k - t_1)^2`` (Harrell's ``norm = 2``, which keeps the columns on the scale of x).
    Linear beyond the outer knots.
    """
    x = np.asarray(values, dtype=float)
    t = np.asarray(knots, dtype=float)
    last, before_last = t[-1], t[-2]
    scale = (last - t[0]) ** (2.0 / 3.0)

    def cube(knot: float | np.ndarray) -> np.ndarray:
        return np.maximum((x[:, None] - knot) / scale, 0.0) ** 3

    inner = t[:-2]
    columns = cube(inner) + (
        (before_last - inner) * cube(last) - (last - inner) * cube(before_last)
    ) / (last - before_last)
    return np.column_stack([x, columns])


def continuous_models(
    values: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    *,
    scale: str,
    knots: int = 4,
    curve_points: int = CURVE_POINTS,
) -> ContinuousResult:
    """Cox models of ``Surv(time, event)`` on a continuous value: per unit, per SD, spline.

    Parameters
    ----------
    values : np.ndarray
        The analysis value per patient, as stored (never transformed here); NaN = missing.
    time, event : np.ndarray
        Follow-up in days and 0/1 events. Patients missing any of the three are dropped
        before anything is computed (knots and SD are over the analysed patients).
    scale : str
        The value's scale as the marts name it (e.g. ``"log2 relative expression (-dCt)"``
        or ``"mg/l"``), recorded in every row: what "per unit" means.
    knots : int
        Number of spline knots, 3 to 5 (spec ``spline_knots``).
    curve_points : int
        Evenly spaced values of the partial-effect curve.

    Returns
    -------
    ContinuousResult

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> value = rng.normal(0.0, 1.5, 80)  # log2 expression: negative values are fine
    >>> time = np.ceil(rng.exponential(900.0 * np.exp(-0.5 * value)))
    >>> event = (rng.random(80) < 0.7).astype(float)
    >>> result = continuous_models(value, time, event, scale="log2", knots=3)
    >>> for row in result.rows:
    ...     hazard_ratio = row.hazard_ratio and round(row.hazard_ratio, 2)
    ...     nonlinearity_p = row.nonlinearity_p and round(row.nonlinearity_p, 2)
    ...     print(row.model, row.status, hazard_ratio, row.lr_df, f"{row.lr_p:.1e}", nonlinearity_p)
    per_unit ok 1.91 1 1.1e-07 None
    per_sd ok 2.28 1 1.1e-07 None
    rcs ok None 2 5.5e-07 0.43
    """
    if knots not in KNOT_PROBABILITIES:
        raise ValueError(f"knots must be one of {sorted(KNOT_PROBABILITIES)}, not {knots}")
    x, durations, observed = _complete_cases(values, time, event)
    n = len(x)
    if n == 0:
        rows = [
            _empty_row(model, scale, 0, 0, "too_few_values", ("no patient with a value",))
            for model in ("per_unit", "per_sd", "rcs")
        ]
        return ContinuousResult(*rows, spline=None, curve=None, sd=None, median=None)
    null_log_likelihood = _null_log_likelihood(durations, observed)
    sd = float(np.std(x, ddof=1)) if n > 1 else None
    median = float(np.median(x))
    # Fitted per SD: a per-unit coefficient can be large for a value with small units
    # (fit_efron stops at |coef| > 30 as divergence); the per-unit row is the same fit.
    standardised = (x - x.mean()) / sd if sd else x
    linear = cox_model(standardised, durations, observed, ["value_per_sd"], ph_test=False)
    per_unit = _linear_row("per_unit", scale, linear, sd, 1.0, null_log_likelihood)
    per_sd = _linear_row("per_sd", scale, linear, sd, sd, null_log_likelihood)
    spline, rcs = _spline_model(x, durations, observed, knots, scale, linear, null_log_likelihood)
    curve = _partial_effect_curve(spline, x, curve_points) if spline is not None else None
    return ContinuousResult(per_unit, per_sd, rcs, spline, curve, sd, median)


def _spline_model(
    x: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    knots: int,
    scale: str,
    linear: CoxResult,
    null_log_likelihood: float,
) -> tuple[SplineFit | None, ContinuousModelRow]:
    """The spline fit (None if refused or not fitted) and its row.

    Harrell's basis columns are nearly collinear and their coefficients can be large with
    opposite signs (|coef| ~ 40 on 60 UAMS patients), so the model is fitted on
    orthonormal columns spanning the same space (QR of the centred basis, scaled to unit
    SD: the same likelihood) and the estimates are mapped back to R's basis.
    """
    knot_values = spline_knots(x, knots)
    n, events = len(x), int(event.sum())
    knot_tuple = tuple(float(knot) for knot in knot_values)
    refusal = _spline_refusal(x, knot_values)
    if refusal is not None:
        row = _empty_row("rcs", scale, n, events, "too_few_values", (refusal,), knot_tuple)
        return None, row
    basis = spline_basis(x, knot_values)
    centred = basis - basis.mean(axis=0)
    if np.linalg.matrix_rank(centred) < knots - 1:
        note = "spline basis columns collinear: too few distinct values between the knots"
        return None, _empty_row("rcs", scale, n, events, "too_few_values", (note,), knot_tuple)
    orthonormal, triangular = np.linalg.qr(centred)
    design = orthonormal * np.sqrt(n - 1.0)
    names = [f"value_spline_{index}" for index in range(knots - 1)]
    fit = cox_model(design, time, event, names, ph_test=False)
    row = _spline_row(scale, fit, linear, knot_values, null_log_likelihood)
    if fit.log_likelihood is None:
        return None, row
    # centred @ to_basis = design, so the linear predictor is design @ g = centred @ (to_basis g).
    to_basis = np.linalg.inv(triangular) * np.sqrt(n - 1.0)
    coef = np.array([term.coef for term in fit.terms], dtype=float)
    variance = _coefficient_covariance(design, time, event)
    spline = SplineFit(
        knots=knot_tuple,
        coef=to_basis @ coef,
        variance=to_basis @ variance @ to_basis.T,
        reference_value=float(np.median(x)),
    )
    return spline, row


def _complete_cases(
    values: np.ndarray, time: np.ndarray, event: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(values, dtype=float).ravel()
    durations = np.asarray(time, dtype=float).ravel()
    events = np.asarray(event, dtype=float).ravel()
    if not len(x) == len(durations) == len(events):
        raise ValueError("values, time and event must have the same length")
    keep = np.isfinite(x) & np.isfinite(durations) & np.isfinite(events)
    return x[keep], durations[keep], events[keep] > 0


def _null_log_likelihood(time: np.ndarray, event: np.ndarray) -> float:
    """Efron log partial likelihood at beta = 0 (R ``coxph``'s ``loglik[1]``).

    With equal weights the l-th of d tied deaths at t has denominator ``R(t) - l``
    (R(t) = number at risk), so the value is ``-sum_t sum_l log(R(t) - l)``.
    """
    death_times, tied = np.unique(time[event], return_counts=True)
    at_risk = len(time) - np.searchsorted(np.sort(time), death_times, side="left")
    return -float(
        sum(
            np.log(risk - np.arange(count)).sum() for risk, count in zip(at_risk, tied, strict=True)
        )
    )


def _likelihood_ratio(statistic: float, df: int) -> tuple[float, int, float]:
    """Statistic (a rounding-level negative difference becomes 0), df, chi-square p."""
    statistic = max(statistic, 0.0)
    return statistic, df, chi2_sf(statistic, df)


def _empty_row(
    model: ContinuousModel,
    scale: str,
    n: int,
    events: int,
    status: Status,
    notes: tuple[str, ...],
    knots: tuple[float, ...] = (),
) -> ContinuousModelRow:
    return ContinuousModelRow(
        model, scale, n, events, None, None, None, None, None, None, None,
        None, None, None, None, None, None, knots, status, notes,
    )  # fmt: skip


def _linear_row(
    model: ContinuousModel,
    scale: str,
    fit: CoxResult,
    sd: float | None,
    increment: float | None,
    null_log_likelihood: float,
) -> ContinuousModelRow:
    """The per-unit row (increment 1) or the per-SD row (increment = SD) of the per-SD fit."""
    term = fit.terms[0]
    if term.coef is None or term.se is None or fit.log_likelihood is None or not sd:
        return _empty_row(model, scale, fit.n, fit.events, fit.status, fit.warnings)
    assert increment is not None
    coef, se = term.coef * increment / sd, term.se * increment / sd
    lr_statistic, lr_df, lr_p = _likelihood_ratio(
        2.0 * (fit.log_likelihood - null_log_likelihood), 1
    )
    return ContinuousModelRow(
        model=model,
        scale=scale,
        n=fit.n,
        events=fit.events,
        increment=increment,
        coef=coef,
        se=se,
        hazard_ratio=float(np.exp(coef)),
        hr_ci_lower=float(np.exp(coef - WALD_Z * se)),
        hr_ci_upper=float(np.exp(coef + WALD_Z * se)),
        wald_p=term.p_value,
        lr_statistic=lr_statistic,
        lr_df=lr_df,
        lr_p=lr_p,
        nonlinearity_statistic=None,
        nonlinearity_df=None,
        nonlinearity_p=None,
        knots=(),
        status=fit.status,
        notes=fit.warnings,
    )


def _spline_refusal(x: np.ndarray, knot_values: np.ndarray) -> str | None:
    """Why no spline can be fitted, or None."""
    distinct = len(np.unique(x))
    if distinct < len(knot_values):
        return f"{distinct} distinct values, fewer than the {len(knot_values)} knots"
    if np.any(np.diff(knot_values) <= 0):
        shown = ", ".join(f"{knot:g}" for knot in knot_values)
        return f"knots not distinct ({shown}): too many tied values for {len(knot_values)} knots"
    return None


def _spline_row(
    scale: str,
    fit: CoxResult,
    linear: CoxResult,
    knot_values: np.ndarray,
    null_log_likelihood: float,
) -> ContinuousModelRow:
    knots = tuple(float(knot) for knot in knot_values)
    if fit.log_likelihood is None:
        return _empty_row("rcs", scale, fit.n, fit.events, fit.status, fit.warnings, knots)
    lr_statistic, lr_df, lr_p = _likelihood_ratio(
        2.0 * (fit.log_likelihood - null_log_likelihood), len(knots) - 1
    )
    nonlinearity: tuple[float | None, int | None, float | None] = (None, None, None)
    if linear.log_likelihood is not None:
        nonlinearity = _likelihood_ratio(
            2.0 * (fit.log_likelihood - linear.log_likelihood), len(knots) - 2
        )
    return ContinuousModelRow(
        model="rcs",
        scale=scale,
        n=fit.n,
        events=fit.events,
        increment=None,
        coef=None,
        se=None,
        hazard_ratio=None,
        hr_ci_lower=None,
        hr_ci_upper=None,
        wald_p=None,
        lr_statistic=lr_statistic,
        lr_df=lr_df,
        lr_p=lr_p,
        nonlinearity_statistic=nonlinearity[0],
        nonlinearity_df=nonlinearity[1],
        nonlinearity_p=nonlinearity[2],
        knots=knots,
        status=fit.status,
        notes=fit.warnings,
    )


def _coefficient_covariance(design: np.ndarray, time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """Covariance (inverse information) of the coefficients of a fitted design.

    :class:`~analysis.cox.CoxResult` keeps standard errors only, and the curve's interval
    needs the covariances: :func:`analysis.cox_fitter.fit_efron` on the same design is the
    same deterministic computation :func:`cox_model` ran, so its maximum is the same.
    """
    return fit_efron(design, time, event).variance


def _partial_effect_curve(spline: SplineFit, x: np.ndarray, points: int) -> PartialEffectCurve:
    """Evenly spaced values between the 1st and 99th type 7 percentiles, plus the median."""
    low, high = quantile_type7(x, CURVE_RANGE_PROBABILITIES)
    grid = np.union1d(np.linspace(low, high, points), [spline.reference_value])
    log_hr, se = spline.log_relative_hazard(grid)
    return PartialEffectCurve(
        value=grid,
        log_hr=log_hr,
        ci_lower=log_hr - WALD_Z * se,
        ci_upper=log_hr + WALD_Z * se,
        reference_value=spline.reference_value,
    )
