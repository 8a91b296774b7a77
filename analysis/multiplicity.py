"""Multiple-testing adjustment: Holm (1979) and Benjamini & Hochberg (1995).

Both equal R ``p.adjust(p, method = "holm")`` and ``p.adjust(p, method = "BH")``
(stats package, R 4.2), computed the way R computes them so that they agree to rounding.

**The family is the tests that produced a p-value.** Missing entries (NaN, or None in
the input) are tests that were not performed: a gene with too few values, an endpoint
with a single group. They stay missing in the output and do not count in the family
size m. This is R's default too: ``p.adjust``'s ``n = length(p)`` is evaluated only
after the NAs have been dropped, so ``n`` is the number of non-missing p-values
(checked in tests/reference/r/multiplicity.R). Counting untested entries in m would
make every adjusted p-value depend on how many tests were *attempted* rather than
performed; a caller who wants that must pad the family with p = 1 explicitly.

The whole array is one family, whatever its shape; the result has the same shape.
Entries outside [0, 1] (including infinities) are refused with a ValueError naming
the first one: a p-value there is a bug upstream, not something to adjust.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def holm(p: ArrayLike) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values, equal to R ``p.adjust(p, "holm")``.

    With the m present p-values sorted, ``p_(1) <= ... <= p_(m)``:
    ``adjusted_(i) = min(1, max_{j <= i} (m - j + 1) p_(j))``. Controls the family-wise
    error rate under any dependence. Missing entries stay NaN and are not counted in m.

    Examples
    --------
    >>> holm([0.01, None, 0.04, 0.03]).tolist()
    [0.03, nan, 0.06, 0.06]
    """
    values, present = _p_values(p)
    adjusted = np.full(values.shape, np.nan)
    observed = values[present]
    m = observed.size
    if m == 0:
        return adjusted
    ascending = np.argsort(observed, kind="stable")
    multipliers = np.arange(m, 0, -1, dtype=np.float64)  # m + 1 - i for i = 1..m
    stepped = np.maximum.accumulate(multipliers * observed[ascending])
    result = np.empty(m)
    result[ascending] = np.minimum(stepped, 1.0)
    adjusted[present] = result
    return adjusted


def benjamini_hochberg(p: ArrayLike) -> np.ndarray:
    """Benjamini & Hochberg (1995) q-values, equal to R ``p.adjust(p, "BH")``.

    With the m present p-values sorted, ``q_(i) = min(1, min_{j >= i} m p_(j) / j)``,
    which makes the q-values monotone in p. Controls the false discovery rate for
    independent or positively dependent tests. Missing entries stay NaN and are not
    counted in m.

    Examples
    --------
    >>> benjamini_hochberg([0.01, None, 0.04, 0.03]).tolist()
    [0.03, nan, 0.04, 0.04]
    """
    values, present = _p_values(p)
    adjusted = np.full(values.shape, np.nan)
    observed = values[present]
    m = observed.size
    if m == 0:
        return adjusted
    descending = np.argsort(observed, kind="stable")[::-1]
    ranks = np.arange(m, 0, -1, dtype=np.float64)
    # m / rank first, then times p: R's order of operations (n/i * p[o]).
    stepped = np.minimum.accumulate(m / ranks * observed[descending])
    result = np.empty(m)
    result[descending] = np.minimum(stepped, 1.0)
    adjusted[present] = result
    return adjusted


def _p_values(p: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The p-values as float64 (None becomes NaN) and the mask of present ones."""
    values = np.asarray(p, dtype=np.float64)
    present = ~np.isnan(values)
    outside = present & ~((values >= 0.0) & (values <= 1.0))
    if outside.any():
        index = tuple(int(i) for i in np.argwhere(outside)[0])
        position = index[0] if len(index) == 1 else index
        raise ValueError(
            f"p-values must lie in [0, 1]; entry {position} is {float(values[index])!r} "
            f"({int(outside.sum())} such entries)"
        )
    return values, present
