"""Genome-wide quartile scan: every gene of an expression matrix against one endpoint.

The single-biomarker path (:func:`analysis.groups.assign_groups` then
:func:`analysis.endpoint.analyze_groups`) is far too slow per gene (docs/performance.md,
"Genome-wide scan"); a 20,000-gene matrix needs the same statistics for all genes at
once. This module computes them vectorised over genes (numpy only, no I/O), chunk by
chunk to bound memory:

* cut points: R type 7 quantiles (Hyndman & Fan 1996; NumPy ``"linear"``) of *every*
  present value passed in, whatever the patient's follow-up, exactly as ``analyze`` calls
  ``assign_groups`` on all patients with a value before ``analyze_groups`` drops rows
  without a usable time (``analysis.endpoint.valid_rows``). So the groups do not depend
  on the endpoint and a PFS and an OS scan can share :func:`quartile_cutpoints`. A value
  equal to a cut point goes to the lower group (Q1 = value <= q25, ...).
* log-rank tests with the hypergeometric variance (R ``survdiff``; Mantel 1966, Peto et
  al. 1977): Q1 vs Q2-Q4 (1 df), the four quartiles (df = quartiles with expected
  events > 0, minus 1, as R; generalised inverse) and the trend over scores 1..4, as
  :mod:`analysis.logrank`;
* the Cox model with one 0/1 covariate (1 = Q2-Q4, so the hazard ratio is Q2-Q4 vs Q1),
  Efron (1977) ties, fitted by an *exact* Newton-Raphson with the convergence rule of
  :func:`analysis.cox_fitter.fit_efron`, for all genes at once
  (:mod:`analysis.cox_fitter_vectorised`): no one-step or score approximation;
* Benjamini & Hochberg (1995) q-values over genes are computed by the caller with
  :func:`analysis.multiplicity.benjamini_hochberg`.

The work per chunk of genes: patients sorted by time once; per gene a group code per
patient, packed into one int64 (16 bits per quartile) so that a single cumulative sum
gives the four at-risk counts at every distinct event time; death counts from the event
rows only. Everything downstream works on (genes x event times) tables. Work arrays are
reused from chunk to chunk, and chunks can run in threads (``workers``).
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import polars as pl

from analysis.cox_fitter_vectorised import efron_terms, newton_raphson
from analysis.distributions import chi2_sf_array, erfc_array
from analysis.groups import CUTS
from analysis.logrank import EXPECTED_TOLERANCE, PINV_RCOND, ZERO_VARIANCE
from analysis.vocabulary import MIN_EVENTS_PER_VARIABLE, WALD_Z

#: q25, q50, q75: the study's quartile convention, defined once in analysis.groups.
QUARTILE_PROBABILITIES = np.asarray(CUTS["quartiles"][0])
#: Genes with fewer usable patients are not tested ("too_few_values").
MIN_PATIENTS = 20
#: Genes per chunk: about 65 MB of work arrays per worker for 1,000 patients, small enough
#: to stay in cache better than larger chunks (benchmarks/scan_core.py).
CHUNK_GENES = 512

#: Group counts are packed 16 bits per quartile into one int64 (Q1 in the lowest bits).
_FIELD_BITS = 16
_FIELD_MASK = (1 << _FIELD_BITS) - 1
_STATUS_DTYPE = "<U24"
_Part = TypeVar("_Part")


@dataclass(frozen=True)
class ScanResult:
    """Per-gene results of :func:`quartile_scan`; each array has one entry per gene.

    Undefined statistics are NaN here and null in :meth:`to_frame`. ``status`` uses the
    vocabulary of the single-biomarker path (:data:`analysis.vocabulary.STATUSES`, whose
    order is the precedence) for the Q1 vs Q2-Q4 analysis, most serious first:
    ``too_few_values`` (fewer usable patients than ``min_patients``, or no cut points:
    nothing is tested), ``single_group`` (Q1 or
    Q2-Q4 is empty), ``no_events``, ``no_events_in_group`` (Q1 or Q2-Q4 has no event:
    log-rank tests reported, hazard ratio null), ``did_not_converge``,
    ``few_events_per_variable`` (fewer than 10 events: reported, treat as a warning),
    ``ok``. The quartile and trend tests are reported whenever they are defined.

    Attributes
    ----------
    n, events : np.ndarray of int
        Usable patients (value, time and event present) and their events.
    cutpoints : np.ndarray, shape (3, genes)
        q25, q50, q75 (given or R type 7 of all values passed in); :attr:`q25` is row 0.
    n_q1, events_q1 : np.ndarray of int
        Usable patients and events in Q1 (value <= q25).
    logrank_statistic, logrank_p : np.ndarray
        Q1 vs Q2-Q4 log-rank test, 1 df.
    quartiles_statistic, quartiles_df, quartiles_p : np.ndarray
        Four-quartile log-rank test; df = non-empty quartiles - 1.
    trend_statistic, trend_p : np.ndarray
        Log-rank test for trend over the scores 1..4 of Q1..Q4, 1 df.
    hazard_ratio, hr_ci_lower, hr_ci_upper, cox_p : np.ndarray
        Cox model, Q2-Q4 vs Q1 (Efron ties): hazard ratio, 95% Wald interval, Wald p.
    status : np.ndarray of str
    """

    n: np.ndarray
    events: np.ndarray
    cutpoints: np.ndarray
    n_q1: np.ndarray
    events_q1: np.ndarray
    logrank_statistic: np.ndarray
    logrank_p: np.ndarray
    quartiles_statistic: np.ndarray
    quartiles_df: np.ndarray
    quartiles_p: np.ndarray
    trend_statistic: np.ndarray
    trend_p: np.ndarray
    hazard_ratio: np.ndarray
    hr_ci_lower: np.ndarray
    hr_ci_upper: np.ndarray
    cox_p: np.ndarray
    status: np.ndarray

    @property
    def q25(self) -> np.ndarray:
        """The Q1 cut point of each gene (Q1 = value <= q25)."""
        return self.cutpoints[0]

    def to_frame(self, gene_names: list[str] | np.ndarray | None = None) -> pl.DataFrame:
        """One row per gene (``gene_index``, then ``gene`` when names are given); counts
        and ``quartiles_df`` as Int64, undefined numbers as null (never NaN)."""
        genes = self.n.size
        columns = {"gene_index": pl.Series(np.arange(genes))}
        if gene_names is not None:
            if len(gene_names) != genes:
                raise ValueError(f"{len(gene_names)} gene names for {genes} genes")
            columns["gene"] = pl.Series(list(gene_names), dtype=pl.String)
        numbers = {"n": self.n, "events": self.events}
        quantiles = zip(QUARTILE_PROBABILITIES, self.cutpoints, strict=True)
        numbers |= {f"q{round(100 * p)}": cut for p, cut in quantiles}
        numbers |= {name: getattr(self, name) for name in _FRAME_COLUMNS}
        for name, values in numbers.items():
            series = pl.Series(name, values, nan_to_null=True)
            columns[name] = series.cast(pl.Int64) if name in _INTEGER_COLUMNS else series
        columns["status"] = pl.Series(self.status.tolist(), dtype=pl.String)
        return pl.DataFrame(columns)


#: Columns of ScanResult.to_frame after the cut points, in order, and the integer ones.
_FRAME_COLUMNS = (
    "n_q1",
    "events_q1",
    "logrank_statistic",
    "logrank_p",
    "quartiles_statistic",
    "quartiles_df",
    "quartiles_p",
    "trend_statistic",
    "trend_p",
    "hazard_ratio",
    "hr_ci_lower",
    "hr_ci_upper",
    "cox_p",
)
_INTEGER_COLUMNS = {"n", "events", "n_q1", "events_q1", "quartiles_df"}

_CHUNK_COLUMNS = (
    "n",
    "events",
    "cutpoints",
    "n_q1",
    "events_q1",
    "logrank_statistic",
    "quartiles_statistic",
    "quartiles_df",
    "trend_statistic",
    "hazard_ratio",
    "hr_ci_lower",
    "hr_ci_upper",
    "cox_z",
    "status",
)


@dataclass(frozen=True)
class _EventTimes:
    """Where the event times fall among the usable patients sorted by time."""

    order: np.ndarray  # usable rows, sorted by time (stable)
    risk_start: np.ndarray  # (T,) first position in `order` with time >= t
    death_positions: np.ndarray  # (E,) positions in `order` of the events, by time
    death_block_start: np.ndarray  # (T,) first index in death_positions of time t
    ties: np.ndarray  # (T,) events at t among all usable patients
    at_risk: np.ndarray  # (T,) usable patients with time >= t (float64)


class _Scratch:
    """Work arrays reused from one chunk to the next (one set per thread).

    Fresh multi-megabyte temporaries go back to the operating system when freed and are
    page-faulted in again for the next chunk: about a third of the run time of a 1,000 x
    20,000 scan. ``scratch(name, shape, dtype)`` returns the same memory on every call.
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def __call__(self, name: str, shape: tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
        size = math.prod(shape)
        array = self._arrays.get(name)
        if array is None or array.dtype != dtype or array.size < size:
            array = self._arrays[name] = np.empty(size, dtype)
        return array[:size].reshape(shape)


def quartile_cutpoints(
    values: np.ndarray, *, chunk_genes: int = CHUNK_GENES, workers: int = 1
) -> np.ndarray:
    """q25, q50, q75 of each gene (column): R type 7, over the present (non-NaN) values.

    The same numbers as :func:`analysis.groups.quantile_type7` (``np.quantile(...,
    method="linear")``, including its interpolation formula), from one sort per chunk
    (faster than ``np.nanquantile``: docs/performance.md). Compute
    them once and pass them to :func:`quartile_scan` for each endpoint.

    Returns
    -------
    np.ndarray, shape (3, genes); NaN for a gene without values.
    """
    matrix = _as_matrix(values)

    def cut_chunk(first: int, scratch: _Scratch) -> np.ndarray:
        return _type7_cutpoints(_gene_block(matrix, first, chunk_genes, scratch), scratch)

    parts = _map_chunks(cut_chunk, matrix.shape[1], chunk_genes, workers)
    return np.concatenate(parts, axis=1) if parts else np.zeros((3, 0))


def quartile_scan(
    values: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    *,
    cutpoints: np.ndarray | None = None,
    min_patients: int = MIN_PATIENTS,
    chunk_genes: int = CHUNK_GENES,
    workers: int = 1,
) -> ScanResult:
    """Log-rank tests and the Q2-Q4 vs Q1 Cox model of every gene, for one endpoint.

    Parameters
    ----------
    values : np.ndarray, shape (patients, genes)
        Expression on the "higher = more" scale; NaN = gene not measured for the patient.
    time : np.ndarray, shape (patients,)
        Days from origin to event or censoring.
    event : np.ndarray, shape (patients,)
        1 = event, 0 = censored. Rows with a missing or negative time or another event
        value are not analysed (``analysis.endpoint.valid_rows``) but their values still
        count for the cut points, as in the single-biomarker path.
    cutpoints : np.ndarray, shape (3, genes), optional
        q25, q50, q75 to use instead of computing them from ``values`` (e.g. quartiles
        of the whole cohort tested in a subgroup, or shared by two endpoints).
    min_patients : int
        Genes with fewer usable patients (value present, usable time and event) are
        ``too_few_values`` and not tested.
    chunk_genes : int
        Genes per chunk; memory grows linearly with it.
    workers : int
        Threads working on chunks at once (NumPy releases the GIL). 2 halves the time on
        a 2-core machine; 1 (the default) leaves the other cores to the caller.

    Returns
    -------
    ScanResult

    Notes
    -----
    The hazard ratio is the exact maximum partial likelihood estimate (Efron 1977 ties),
    not an approximation: Newton-Raphson per gene, vectorised over genes, from 0, with
    step halving when the log-likelihood decreases, until the step is below 1e-9 and the
    relative log-likelihood change below 1e-12 (at most 60 iterations; |beta| > 30 is
    ``did_not_converge``), the rule of :func:`analysis.cox_fitter.fit_efron`. With one 0/1
    covariate the Efron likelihood only depends, per event time, on the numbers at risk
    (n0 in Q1, n1 in Q2-Q4) and of events (d0, d1): with ``w = exp(beta)`` and
    ``d = d0 + d1``, the l-th tied event (l = 0..d-1) contributes
    ``-log(n0 - l/d d0 + (n1 - l/d d1) w)`` to the log-likelihood.
    95% Wald intervals and Wald p-values, as :func:`analysis.cox.cox_model`.
    """
    matrix = _as_matrix(values)
    patients, genes = matrix.shape
    times, events = _endpoint_arrays(time, event, patients)
    if cutpoints is not None:
        cutpoints = np.asarray(cutpoints, dtype=np.float64)
        if cutpoints.shape != (QUARTILE_PROBABILITIES.size, genes):
            raise ValueError(f"cutpoints must have shape (3, {genes}), not {cutpoints.shape}")
    layout = _event_times(times, events)

    def scan_chunk(first: int, scratch: _Scratch) -> dict[str, np.ndarray]:
        block = _gene_block(matrix, first, chunk_genes, scratch)
        cuts = (
            _type7_cutpoints(block, scratch)
            if cutpoints is None
            else cutpoints[:, first : first + block.shape[0]]
        )
        return _scan_chunk(block, cuts, layout, min_patients, scratch)

    parts = _map_chunks(scan_chunk, genes, chunk_genes, workers) or [
        _scan_chunk(np.zeros((0, patients)), np.zeros((3, 0)), layout, min_patients, _Scratch())
    ]
    columns = {
        name: np.concatenate([part[name] for part in parts], axis=-1) for name in _CHUNK_COLUMNS
    }
    # p-values once for all genes (the tail series loop over terms, not over genes).
    z = columns.pop("cox_z")
    return ScanResult(
        **columns,
        logrank_p=chi2_sf_array(columns["logrank_statistic"], 1.0),
        quartiles_p=chi2_sf_array(columns["quartiles_statistic"], columns["quartiles_df"]),
        trend_p=chi2_sf_array(columns["trend_statistic"], 1.0),
        cox_p=erfc_array(np.abs(z) / math.sqrt(2.0)),
    )


def _as_matrix(values: np.ndarray) -> np.ndarray:
    matrix = np.asarray(values)
    if matrix.ndim != 2:
        raise ValueError(f"values must be (patients, genes), not {matrix.ndim}-dimensional")
    return matrix


def _gene_block(matrix: np.ndarray, first: int, chunk_genes: int, scratch: _Scratch) -> np.ndarray:
    """Genes ``first``.. of ``matrix`` as rows (genes x patients, contiguous float64)."""
    columns = matrix[:, first : first + chunk_genes]
    block = scratch("block", columns.shape[::-1])
    np.copyto(block, columns.T)
    return block


def _map_chunks(
    function: Callable[[int, _Scratch], _Part], genes: int, chunk_genes: int, workers: int
) -> list[_Part]:
    """``function(first, scratch)`` for each chunk of genes, in order; with ``workers`` >
    1 in a thread pool (NumPy releases the GIL in sorts, ufuncs and reductions)."""
    if chunk_genes < 1 or workers < 1:
        raise ValueError("chunk_genes and workers must be at least 1")
    firsts = range(0, genes, chunk_genes)
    if workers == 1 or len(firsts) < 2:
        scratch = _Scratch()
        return [function(first, scratch) for first in firsts]
    local = threading.local()

    def run(first: int) -> _Part:
        if not hasattr(local, "scratch"):
            local.scratch = _Scratch()
        return function(first, local.scratch)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, firsts))


def _endpoint_arrays(
    time: np.ndarray, event: np.ndarray, patients: int
) -> tuple[np.ndarray, np.ndarray]:
    times = np.asarray(time, dtype=np.float64)
    events = np.asarray(event, dtype=np.float64)
    if times.shape != (patients,) or events.shape != (patients,):
        raise ValueError(f"time and event must have shape ({patients},)")
    return times, events


def _event_times(times: np.ndarray, events: np.ndarray) -> _EventTimes:
    """Sort the usable rows by time once; locate each distinct event time's block."""
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(times) & (times >= 0) & np.isin(events, (0.0, 1.0))
    rows = np.flatnonzero(usable)
    order = rows[np.argsort(times[rows], kind="stable")]
    if order.size > _FIELD_MASK:
        raise ValueError(f"at most {_FIELD_MASK} usable patients (16-bit packed counts)")
    sorted_times = times[order]
    death_positions = np.flatnonzero(events[order] == 1.0)
    death_times = sorted_times[death_positions]
    event_times, death_block_start, ties = np.unique(
        death_times, return_index=True, return_counts=True
    )
    risk_start = np.searchsorted(sorted_times, event_times, side="left")
    return _EventTimes(
        order=order,
        risk_start=risk_start,
        death_positions=death_positions,
        death_block_start=death_block_start,
        ties=ties,
        at_risk=(order.size - risk_start).astype(np.float64),
    )


def _type7_cutpoints(block: np.ndarray, scratch: _Scratch) -> np.ndarray:
    """Type 7 quantiles per row of ``block`` (genes x patients); NaNs sort last.

    Reproduces numpy's ``"linear"`` method: virtual index ``(n - 1) p``, and its
    interpolation ``a + (b - a) g``, or ``b - (b - a)(1 - g)`` when ``g >= 0.5``.
    """
    if block.shape[1] == 0:
        return np.full((QUARTILE_PROBABILITIES.size, block.shape[0]), np.nan)
    ordered = scratch("sorted", block.shape)
    np.copyto(ordered, block)
    ordered.sort(axis=1)
    counts = np.full(block.shape[0], block.shape[1])
    gaps = np.flatnonzero(np.isnan(ordered[:, -1]))
    counts[gaps] = np.count_nonzero(~np.isnan(ordered[gaps]), axis=1)
    virtual = (counts[:, None] - 1) * QUARTILE_PROBABILITIES[None, :]
    below = np.floor(virtual)
    gamma = virtual - below
    last = np.maximum(counts - 1, 0)[:, None]
    lower = np.where(virtual >= last, last, below).astype(np.intp)
    upper = np.where(virtual >= last, last, below + 1).astype(np.intp)
    a = np.take_along_axis(ordered, lower, axis=1)
    b = np.take_along_axis(ordered, upper, axis=1)
    difference = b - a
    cuts = np.where(gamma >= 0.5, b - difference * (1 - gamma), a + difference * gamma)
    cuts[counts == 0] = np.nan
    return cuts.T


# --- one chunk ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tables:
    """Counts of one chunk: per gene (rows) and distinct event time (columns), float64."""

    at_risk: tuple[np.ndarray, np.ndarray, np.ndarray]  # Q1, Q2, Q3 (Q4 by difference)
    total_at_risk: np.ndarray
    q1_deaths: np.ndarray
    deaths: np.ndarray
    group_n: np.ndarray  # (4, genes): usable patients per quartile
    group_events: np.ndarray  # (4, genes)


def _scan_chunk(
    block: np.ndarray,
    cuts: np.ndarray,
    layout: _EventTimes,
    min_patients: int,
    scratch: _Scratch,
) -> dict[str, np.ndarray]:
    """All statistics for the genes of ``block`` (genes x patients, float64)."""
    tables = _count_tables(block, cuts, layout, scratch)
    n, events = tables.group_n.sum(axis=0), tables.group_events.sum(axis=0)
    tested = (n >= min_patients) & np.all(np.isfinite(cuts), axis=0)
    difference, covariance = _logrank_tables(tables, scratch)
    logrank = _q1_logrank(difference, covariance, tables.group_n, events, tested)
    expected = tables.group_events - difference
    quartiles = _quartiles_logrank(difference, covariance, expected, events, tested)
    trend = _trend_logrank(difference, covariance, tables.group_n, events, tested)
    status = _status(tested, tables.group_n, events, tables.group_events)
    fit = status == "fit"
    cox = _cox(tables, layout.ties, fit, scratch)
    status[fit] = np.where(
        cox["converged"][fit],
        np.where(events[fit] < MIN_EVENTS_PER_VARIABLE, "few_events_per_variable", "ok"),
        "did_not_converge",
    )
    return {
        "n": n.astype(np.int64),
        "events": events.astype(np.int64),
        "cutpoints": np.asarray(cuts, dtype=np.float64),
        "n_q1": tables.group_n[0].astype(np.int64),
        "events_q1": tables.group_events[0].astype(np.int64),
        "logrank_statistic": logrank,
        "quartiles_statistic": quartiles[0],
        "quartiles_df": quartiles[1],
        "trend_statistic": trend,
        "hazard_ratio": cox["hazard_ratio"],
        "hr_ci_lower": cox["ci_lower"],
        "hr_ci_upper": cox["ci_upper"],
        "cox_z": cox["z"],
        "status": status,
    }


def _count_tables(
    block: np.ndarray, cuts: np.ndarray, layout: _EventTimes, scratch: _Scratch
) -> _Tables:
    """At-risk and death counts per gene and event time, from one cumulative sum.

    Each usable patient adds 1 to the 16-bit field of its quartile of a packed int64;
    the cumulative sum over patients sorted by time then holds all four counts, and the
    numbers at risk at t are the total minus the sum before the first time >= t.
    """
    genes, usable, times = block.shape[0], layout.order.size, layout.ties.size
    # searchsorted(side="left") as in assign_groups: code = number of cuts below the value.
    code = scratch("code", block.shape, np.int8)
    above = scratch("above", block.shape, np.bool_)
    np.greater(block, cuts[0][:, None], out=code.view(np.bool_))
    for cut in cuts[1:]:
        np.greater(block, cut[:, None], out=above)
        code += above.view(np.int8)
    gaps = np.flatnonzero(np.isnan(block.sum(axis=1)))  # genes with a missing value
    code[gaps] = np.where(np.isnan(block[gaps]), 4, code[gaps])
    # 1 << 16 code: a one in the quartile's field; code 4 shifts it out (numpy gives 0).
    shift = np.take(code, layout.order, axis=1, out=scratch("shift", (genes, usable), np.int8))
    shift *= _FIELD_BITS
    packed = np.left_shift(np.int64(1), shift, out=scratch("packed", shift.shape, np.int64))
    cumulative = np.cumsum(packed, axis=1, out=scratch("cumulative", shift.shape, np.int64))
    total = cumulative[:, -1].copy() if usable else np.zeros(genes, dtype=np.int64)
    at_risk = scratch("at_risk", (genes, times), np.int64)
    np.take(cumulative, np.maximum(layout.risk_start - 1, 0), axis=1, out=at_risk, mode="clip")
    at_risk[:, layout.risk_start == 0] = 0
    np.subtract(total[:, None], at_risk, out=at_risk)
    # Deaths per event time: the first death of each time, plus the l-th of tied ones.
    deaths = scratch("deaths", (genes, times), np.int64)
    first_deaths = layout.death_positions[layout.death_block_start]
    np.take(packed, first_deaths, axis=1, out=deaths, mode="clip")
    for tie in range(1, int(layout.ties.max(initial=0))):
        tied = np.flatnonzero(layout.ties > tie)
        extra = layout.death_positions[layout.death_block_start[tied] + tie]
        deaths[:, tied] += np.take(packed, extra, axis=1)
    group_n = np.stack([_field(total, k) for k in range(4)])
    group_deaths = deaths.sum(axis=1)
    if np.all(group_n.sum(axis=0) == usable):
        # No gene misses a usable patient: the totals are those of the whole cohort,
        # shared by every row (a broadcast view, which _shared_row detects).
        total_at_risk = np.broadcast_to(layout.at_risk, at_risk.shape)
        total_deaths = np.broadcast_to(layout.ties.astype(np.float64), at_risk.shape)
    else:
        total_at_risk, total_deaths = _field_sum(at_risk), _field_sum(deaths)
    return _Tables(
        at_risk=tuple(_field(at_risk, k, scratch(f"at_risk_{k}", at_risk.shape)) for k in range(3)),
        total_at_risk=total_at_risk,
        q1_deaths=_field(deaths, 0, scratch("q1_deaths", deaths.shape)),
        deaths=total_deaths,
        group_n=group_n,
        group_events=np.stack([_field(group_deaths, k) for k in range(4)]),
    )


def _shared_row(table: np.ndarray) -> np.ndarray:
    """The single row of a table broadcast over genes, else the table itself."""
    return table[0] if table.shape[0] and table.strides[0] == 0 else table


def _field(packed: np.ndarray, index: int, out: np.ndarray | None = None) -> np.ndarray:
    """The count of quartile ``index`` from packed int64 counts, as float64 (exact):
    one pass over a uint16 view of the field."""
    position = index if sys.byteorder == "little" else 3 - index
    field = packed.view(np.uint16).reshape(*packed.shape, 4)[..., position]
    if out is None:
        return field.astype(np.float64)
    np.copyto(out, field)
    return out


def _field_sum(packed: np.ndarray) -> np.ndarray:
    """Sum of the four 16-bit fields: multiplying by 1 + 2^16 + 2^32 + 2^48 adds them all
    into the top field (no carry: the sum is below 2^16), in one pass."""
    spread = packed.view(np.uint64) * np.uint64(0x0001000100010001)
    return (spread >> np.uint64(3 * _FIELD_BITS)).astype(np.float64)


# --- log-rank -----------------------------------------------------------------------------


def _logrank_tables(tables: _Tables, scratch: _Scratch) -> tuple[np.ndarray, np.ndarray]:
    """O - E per quartile (4, genes) and hypergeometric covariance (genes, 4, 4).

    At each event time ``V_gh = d (n - d)/(n - 1) (n_g/n)(delta_gh - n_h/n)`` (0 when
    n = 1), summed over times: the tables of :func:`analysis.logrank.logrank_tables`.
    Q4's row and column follow from the others, since each row of V and O - E sum to 0.
    """
    n, d = _shared_row(tables.total_at_risk), _shared_row(tables.deaths)
    safe = np.maximum(n, 1.0)
    rate = d / safe
    # d (n - d) / ((n - 1) n) is 0 for n <= 1 (then d (n - d) = 0): no special case.
    weight = d * (n - d) / (np.maximum(n - 1.0, 1.0) * safe)
    scaled = weight / safe
    groups = tables.at_risk
    covariance = np.empty((groups[0].shape[0], 4, 4))
    weighted = scratch("weighted", groups[0].shape)
    for k, group in enumerate(groups):
        np.multiply(group, scaled, out=weighted)
        for h in range(k, len(groups)):
            covariance[:, k, h] = covariance[:, h, k] = -np.vecdot(weighted, groups[h])
        covariance[:, k, k] += np.vecdot(group, weight)
    covariance[:, :3, 3] = -covariance[:, :3, :3].sum(axis=2)
    covariance[:, 3, :3] = covariance[:, :3, 3]
    covariance[:, 3, 3] = -covariance[:, 3, :3].sum(axis=1)
    expected = np.stack([np.vecdot(group, rate) for group in groups])
    events = tables.group_events.sum(axis=0)
    expected = np.concatenate([expected, events[None, :] - expected.sum(axis=0)])
    return tables.group_events - expected, covariance


def _q1_logrank(
    difference: np.ndarray,
    covariance: np.ndarray,
    group_n: np.ndarray,
    events: np.ndarray,
    tested: np.ndarray,
) -> np.ndarray:
    """Q1 vs Q2-Q4: (O - E)^2 / V of Q1, the 2-group test (V of Q1 is that of Q2-Q4)."""
    variance = covariance[:, 0, 0]
    two_groups = (group_n[0] > 0) & (group_n[1:].sum(axis=0) > 0)
    # logrank_test's rank check on the 2 x 2 matrix V [[1, -1], [-1, 1]] (eigenvalue 2V).
    informative = 2.0 * variance > PINV_RCOND * np.maximum(1.0, variance)
    defined = tested & two_groups & (events > 0) & informative
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(defined, difference[0] ** 2 / variance, np.nan)


def _quartiles_logrank(
    difference: np.ndarray,
    covariance: np.ndarray,
    expected: np.ndarray,
    events: np.ndarray,
    tested: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """4-group statistic ``(O - E)' V^- (O - E)`` and df = quartiles with E > 0, minus 1.

    The degrees of freedom count only the quartiles with expected events > 0, as R
    ``survdiff`` does (a quartile whose patients were all censored before the first
    event adds nothing to the test); :data:`analysis.logrank.EXPECTED_TOLERANCE` absorbs
    the rounding of Q4's E, which is computed as a difference.

    V^- is the Moore-Penrose inverse with singular values <= 1e-10 x the largest set to
    zero, as ``np.linalg.pinv(rcond=1e-10)`` in :func:`analysis.logrank.logrank_test`.
    When V has rank 3 with no eigenvalue near that cut-off (checked by the bound
    ``lambda_2 / lambda_max >= det(V_Q1..Q3) / trace(V)^3``, interlacing), every
    generalised inverse gives the same statistic, and the inverse of V without Q4 is
    cheapest (as R ``survdiff``); other genes use the eigen-decomposition of V.
    """
    df = (expected > EXPECTED_TOLERANCE * np.maximum(events, 1.0)).sum(axis=0) - 1.0
    tolerance = PINV_RCOND * np.maximum(1.0, covariance.max(axis=(1, 2)))
    defined = (
        tested & (df >= 1) & (events > 0) & (np.trace(covariance, axis1=1, axis2=2) > tolerance)
    )
    statistic = np.full(df.shape, np.nan)
    quadratic, determinant = _adjugate_form(covariance[:, :3, :3], difference[:3])
    with np.errstate(divide="ignore", invalid="ignore"):
        regular = defined & (determinant > 1e-9 * np.trace(covariance, axis1=1, axis2=2) ** 3)
        statistic[regular] = quadratic[regular] / determinant[regular]
        rest = np.flatnonzero(defined & ~regular)
        eigenvalues, eigenvectors = np.linalg.eigh(covariance[rest])
        largest = np.abs(eigenvalues).max(axis=1, initial=0.0)
        kept = np.abs(eigenvalues) > PINV_RCOND * largest[:, None]
        projections = np.einsum("gkj,kg->gj", eigenvectors, difference[:, rest])
        statistic[rest] = np.where(kept, projections**2 / eigenvalues, 0.0).sum(axis=1)
        statistic[rest[largest <= tolerance[rest]]] = np.nan  # rank 0: no information
    return statistic, np.where(np.isnan(statistic), np.nan, df)


def _adjugate_form(matrix: np.ndarray, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x' adj(M) x`` and ``det M`` for symmetric 3 x 3 matrices (genes, 3, 3) and
    vectors (3, genes): ``x' M^-1 x`` without a solver."""
    (a, b, c), (_, d, e), (_, _, f) = (matrix[:, row, :].T for row in range(3))
    cofactors = (d * f - e * e, c * e - b * f, b * e - c * d, a * f - c * c, b * c - a * e)
    first, second, third = cofactors[0], cofactors[3], a * d - b * b
    x, y, z = vector
    determinant = a * cofactors[0] + b * cofactors[1] + c * cofactors[2]
    quadratic = first * x * x + second * y * y + third * z * z
    quadratic += 2.0 * (cofactors[1] * x * y + cofactors[2] * x * z + cofactors[4] * y * z)
    return quadratic, determinant


def _trend_logrank(
    difference: np.ndarray,
    covariance: np.ndarray,
    group_n: np.ndarray,
    events: np.ndarray,
    tested: np.ndarray,
) -> np.ndarray:
    """Trend over scores 1..4 (Collett 2.6): ``U^2 / w'Vw`` with ``U = w'(O - E)``."""
    scores = np.arange(1.0, covariance.shape[1] + 1.0)
    u = scores @ difference
    variance = np.einsum("k,gkh,h->g", scores, covariance, scores)
    defined = tested & ((group_n > 0).sum(axis=0) >= 2) & (events > 0)
    defined &= variance > ZERO_VARIANCE
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(defined, u * u / variance, np.nan)


def _status(
    tested: np.ndarray, group_n: np.ndarray, events: np.ndarray, group_events: np.ndarray
) -> np.ndarray:
    """Status before the Cox fit, in the order of analysis.endpoint._fit_groups and
    analysis.cox.cox_model; "fit" marks the genes whose model is fitted."""
    single = (group_n[0] == 0) | (group_n[1:].sum(axis=0) == 0)
    no_events_in_group = (group_events[0] == 0) | (group_events[1:].sum(axis=0) == 0)
    return np.select(
        [~tested, single, events == 0, no_events_in_group],
        ["too_few_values", "single_group", "no_events", "no_events_in_group"],
        default="fit",
    ).astype(_STATUS_DTYPE)


# --- Cox ----------------------------------------------------------------------------------


def _cox(
    tables: _Tables, ties: np.ndarray, fit: np.ndarray, scratch: _Scratch
) -> dict[str, np.ndarray]:
    """Hazard ratio Q2-Q4 vs Q1, 95% Wald interval and Wald z, for genes in ``fit``."""
    genes = fit.size
    result = {name: np.full(genes, np.nan) for name in ("hazard_ratio", "ci_lower", "ci_upper")}
    result |= {"z": np.full(genes, np.nan), "converged": np.zeros(genes, dtype=bool)}
    rows = np.flatnonzero(fit)
    if rows.size == 0:
        return result
    at_risk, deaths, q1_at_risk, q1_deaths = (
        _select_rows(table, rows, genes)
        for table in (tables.total_at_risk, tables.deaths, tables.at_risk[0], tables.q1_deaths)
    )
    risk_set, rest = efron_terms(at_risk, deaths, q1_at_risk, q1_deaths, ties, scratch)
    rest_events = tables.group_events[1:, rows].sum(axis=0)
    beta, information, converged = newton_raphson(risk_set, rest, rest_events, scratch)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        se = 1.0 / np.sqrt(information)
        converged &= np.isfinite(beta) & np.isfinite(se)
        values = {
            "hazard_ratio": np.exp(beta),
            "ci_lower": np.exp(beta - WALD_Z * se),
            "ci_upper": np.exp(beta + WALD_Z * se),
            "z": beta / se,
        }
    for name, value in values.items():
        result[name][rows] = np.where(converged, value, np.nan)
    result["converged"][rows] = converged
    return result


def _select_rows(table: np.ndarray, rows: np.ndarray, genes: int) -> np.ndarray:
    """``table[rows]``: the single row of a table shared by all genes, the table itself
    when all rows are selected (no copy)."""
    shared = _shared_row(table)
    return shared if shared.ndim == 1 else table if rows.size == genes else table[rows]
