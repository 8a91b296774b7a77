"""Tail probabilities of the normal and chi-square distributions, in closed form.

Scalar functions for the single-biomarker path; array versions (``*_array``) for the
genome-wide scan, which needs 40,000 p-values at once.

Why not scipy.stats: its import costs more than every test of a study together
(docs/performance.md, "Start-up"); for integer degrees of freedom the chi-square tail
has an exact finite series (Abramowitz & Stegun 26.4.4-26.4.5). Tested against scipy to 1e-12.
"""

from __future__ import annotations

import math

import numpy as np


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def chi2_sf(statistic: float, df: int) -> float:
    """P(X > statistic) for X ~ chi-square with integer ``df`` >= 1."""
    if df < 1 or int(df) != df:
        raise ValueError(f"df must be a positive integer, not {df}")
    if statistic <= 0:
        return 1.0
    half = statistic / 2.0
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for i in range(1, df // 2):
            term *= half / i
            total += term
        return min(1.0, math.exp(-half) * total)
    total = math.erfc(math.sqrt(half))
    term = math.sqrt(half) / math.gamma(1.5)
    for i in range(1, (df - 1) // 2 + 1):
        total += math.exp(-half) * term
        term *= half / (i + 0.5)
    return min(1.0, total)


# --- the same, vectorised over numpy arrays (the genome-wide scan) ----------------------

#: erfc: power series of erf below this argument, continued fraction above (both with
#: enough terms for ~1e-14 relative accuracy against math.erfc; tested).
_ERFC_SWITCH = 1.5
_ERFC_SERIES_TERMS = 60
_ERFC_FRACTION_DEPTH = 80


def erfc_array(x: np.ndarray) -> np.ndarray:
    """Complementary error function of x >= 0, vectorised (numpy has none, and scipy.special
    is slow to import: docs/performance.md). NaN stays NaN.

    Small x: ``erf x = 2/sqrt(pi) exp(-x^2) sum_n (2x^2)^n x / (1*3*...*(2n+1))``
    (positive terms, A&S 7.1.6). Large x: the continued fraction
    ``erfc x = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))``
    (A&S 7.1.14), evaluated backwards from a fixed depth.
    """
    x = np.asarray(x, dtype=np.float64)
    result = np.full(x.shape, np.nan)
    small = x < _ERFC_SWITCH
    large = x >= _ERFC_SWITCH
    low = x[small]
    term, total, factor = low.copy(), low.copy(), 2.0 * low * low
    for index in range(1, _ERFC_SERIES_TERMS):
        term = term * factor / (2 * index + 1)
        total += term
    result[small] = 1.0 - 2.0 / math.sqrt(math.pi) * _exp_minus_square(low) * total
    high = x[large]
    fraction = high.copy()
    for depth in range(_ERFC_FRACTION_DEPTH, 0, -1):
        fraction = high + (depth / 2.0) / fraction
    with np.errstate(invalid="ignore"):
        result[large] = _exp_minus_square(high) / (math.sqrt(math.pi) * fraction)
    result[np.isposinf(x)] = 0.0
    return result


def _exp_minus_square(x: np.ndarray) -> np.ndarray:
    """exp(-x^2) without the rounding error of x*x at large x: x = hi + lo, hi^2 exact."""
    high = np.round(x * 64.0) / 64.0
    low = x - high
    return np.exp(-high * high) * np.exp(-low * (2.0 * high + low))


def chi2_sf_array(statistic: np.ndarray, df: np.ndarray) -> np.ndarray:
    """P(X > statistic) for chi-square with integer df >= 1, vectorised (A&S 26.4.4-5,
    the series of analysis.distributions.chi2_sf). NaN in either gives NaN."""
    statistic = np.asarray(statistic, dtype=np.float64)
    df = np.asarray(df, dtype=np.float64)
    defined = np.isfinite(statistic) & np.isfinite(df) & (df >= 1)
    half = np.where(defined, np.maximum(statistic, 0.0), 0.0) / 2.0
    degrees = np.where(defined, df, 1.0).astype(np.int64)
    odd = degrees % 2 == 1
    root = np.sqrt(half)
    result = np.where(odd, erfc_array(root), 0.0)
    exp_half = np.exp(-half)
    # even df: exp(-h) sum_{i < df/2} h^i / i!
    # odd df: erfc(sqrt h) + exp(-h) sum_{i = 1..(df-1)/2} h^(i - 1/2) / Gamma(i + 1/2)
    term = np.where(odd, root / math.gamma(1.5), 1.0)
    count = np.where(odd, (degrees - 1) // 2, degrees // 2)
    for index in range(int(count.max(initial=0))):
        result += np.where(index < count, exp_half * term, 0.0)
        term = term * half / np.where(odd, index + 1.5, index + 1.0)
    return np.where(defined, np.minimum(result, 1.0), np.nan)
