"""Cut-point honesty: the maximally selected log-rank statistic and the cut-point family.

**Maximally selected log-rank statistic** (R ``maxstat::maxstat.test(Surv(time, event) ~
x, smethod = "LogRank")``; Lausen & Schumacher 1992; Hothorn & Lausen 2003). Every
patient gets the log-rank score of exactRankTests' ``cscores.Surv`` (see
:func:`logrank_scores`: its tie rule is not Nelson-Aalen's). With the patients sorted by
x and ``S_m`` the sum of the first m scores, the standardised linear rank statistic at
the cut with m patients at or below it is ``|S_m - m/N sum y| / sqrt(V_m)``, with the
permutation (conditional) variance ``V_m = m (N - m) / (N^2 (N - 1)) (N sum y^2 - (sum
y)^2)``, not survdiff's hypergeometric one. The cuts considered are the distinct values
x_(m) with ``max(1, floor(N min_prop)) <= m <= floor(N max_prop)``; the estimate is the
first cut with the largest statistic, and patients with a value <= cut form the low
group. p-values: Lausen & Schumacher (1992) (``pmethod = "Lau92"``), the improved
Bonferroni bound of Lausen, Sauerbrei & Schumacher (1994) over the actual cuts
(``"Lau94"``), and a seeded Monte-Carlo permutation test with ``"condMC"`` semantics:
the share of permutations of the scores whose largest statistic is *strictly greater*
than the observed one (no +1), with standard error ``sqrt(p (1 - p) / B)``. R's two
bounds can leave [0, 1] (both exceed 1 for small statistics; Lau94 falls below 0 when its
correction term turns negative); they are reported clipped to [0, 1], Lau94 to
[2 Phi(-M), 1] (see :func:`lausen94_p`).

**The cut-point family** (:func:`cutpoint_family_test`): every grouping tried for a
biomarker (``q1_vs_rest``, ``quartiles``, ``median``, ``tertiles``: their labels, by
default from :func:`analysis.groups.assign_groups`) and ``maxstat`` is recomputed on
each permutation of the outcomes (time and event together) against the values; the
corrected p is ``(1 + #{permutation min p <= observed min p}) / (1 + B)``. A grouping's
p is the k-group log-rank test of :func:`analysis.logrank.logrank_test` (df = groups with
expected events > 0, minus 1, as R ``survdiff``); maxstat's p is its Lau94 bound: a
closed-form function of the maximal statistic for the cuts of this cohort (which a
permutation does not change), on the same selection-adjusted scale as a p-value, so it
competes with the groupings' p on equal terms. Nested Monte-Carlo p-values would cost B^2
and the unadjusted ``2 Phi(-M)`` would make maxstat the minimum almost always.

Everything random is drawn by :func:`permutation_chunks` (numpy's PCG64 from the seed),
applied to the patients sorted by (value, time, event), so results depend on the data
and the seed, not on the order of the rows. Permutations are processed as matrices, a
chunk of rows at a time (the machinery of :mod:`analysis.scan`, here over permutations
instead of genes): cumulative sums of the permuted scores over the sorted values for
maxstat; for the groupings, one bincount of the patients per (cell between cut points,
interval between event times), cumulated over the event times into numbers at risk.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from analysis.distributions import chi2_sf_array, erfc_array
from analysis.groups import CUTS, MIN_VALUES, assign_groups
from analysis.logrank import EXPECTED_TOLERANCE, PINV_RCOND
from analysis.vocabulary import (
    CUTPOINT_CHOICES,
    STATUSES,
    CutpointChoice,
    CutpointMethod,
    CutpointStatus,
)

#: R maxstat.test's defaults: each group holds at least 10% of the patients.
DEFAULT_MIN_PROP = 0.1
DEFAULT_MAX_PROP = 0.9
#: The study spec's default (``permutations``).
DEFAULT_PERMUTATIONS = 10_000
#: Two statistics (or p-values) within this relative distance are equal: a permutation
#: counts as "strictly greater" or "as small" only beyond rounding.
RELATIVE_TIE = 1e-9
#: Elements of the largest work array of a chunk of permutations (rows x patients, or
#: rows x cells x event times for the groupings): 2 MB of float64 stays in cache; four
#: times more or less was up to 2-3x slower in benchmarks/cutpoint.py.
CHUNK_ELEMENTS = 1 << 18
#: V without its last group is solved directly when det >= this x trace^(k-1), the test
#: of analysis.scan (interlacing: then no eigenvalue is near the pseudo-inverse cut-off).
REGULAR_DETERMINANT = 1e-9


def logrank_scores(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """Log-rank scores of exactRankTests ``cscores.Surv`` (what maxstat uses).

    ``score_i = event_i - H(time_i)`` with ``H(t) = sum over distinct times s <= t of
    d_s / (N - r_s + 1)``, where d_s is the events at s and ``r_s`` the number of patients
    with time <= s (ties get the largest rank, exactRankTests' ``irank``). Without ties
    this is the Nelson-Aalen estimate; with ties the denominator is the number at risk
    *after* the tied block plus one, not the number at risk.

    Examples
    --------
    >>> logrank_scores(np.array([1.0, 1.0, 2.0]), np.array([1, 1, 0])).round(4).tolist()
    [0.0, 0.0, -1.0]
    """
    times = np.asarray(time, dtype=float)
    events = np.asarray(event, dtype=float)
    distinct, inverse, counts = np.unique(times, return_inverse=True, return_counts=True)
    largest_rank = np.cumsum(counts)
    deaths = np.bincount(inverse, weights=events, minlength=distinct.size)
    hazard = np.cumsum(deaths / (times.size - largest_rank + 1.0))
    return events - hazard[inverse]


def lausen92_p(statistic: float, min_prop: float, max_prop: float) -> float:
    """Lausen & Schumacher (1992) approximation (R ``maxstat:::pLausen92``), clipped to
    [0, 1]; 1 for a statistic below 1, as R."""
    if statistic < 1:
        return 1.0
    density = math.exp(-statistic * statistic / 2.0) / math.sqrt(2.0 * math.pi)
    ratio = math.log(max_prop * (1.0 - min_prop) / ((1.0 - max_prop) * min_prop))
    p = 4.0 * density / statistic + density * (statistic - 1.0 / statistic) * ratio
    return min(max(p, 0.0), 1.0)


def lausen94_p(statistic: np.ndarray | float, n: int, cut_sizes: np.ndarray) -> np.ndarray:
    """Lausen, Sauerbrei & Schumacher (1994) bound (R ``maxstat:::pLausen94`` with ``m``
    the cut sizes), vectorised over statistics, clipped to [2 Phi(-b), 1].

    ``2 Phi(-b) + sum_i exp(-b^2/2) / pi (t_i - (b^2/4 - 1) t_i^3 / 6)`` with
    ``t_i = sqrt(1 - m_i (N - m_{i+1}) / ((N - m_i) m_{i+1}))`` over consecutive cuts.
    R computes ``2 Phi(-b)`` as ``1 - (pnorm(b) - pnorm(-b))``, which rounds to 0 beyond
    b of about 8; we use the complementary error function. The lower clip: the maximum
    over the cuts is at least as extreme as any one cut, so its p is at least the
    two-sided normal tail; the correction term turns negative for large b and R then
    reports values below that tail, or below 0.
    """
    b = np.asarray(statistic, dtype=float)
    sizes = np.asarray(cut_sizes, dtype=float)
    first, second = sizes[:-1], sizes[1:]
    t = np.sqrt(1.0 - first * (n - second) / ((n - first) * second))
    sum_t, sum_t3 = t.sum(), (t**3).sum()
    correction = np.exp(-b * b / 2.0) / math.pi * (sum_t - (b * b / 4.0 - 1.0) * sum_t3 / 6.0)
    tail = erfc_array(b / math.sqrt(2.0))
    return np.clip(tail + np.maximum(correction, 0.0), None, 1.0)


def permutation_chunks(
    n: int, permutations: int, seed: int, *, width: int | None = None
) -> Iterator[np.ndarray]:
    """The Monte-Carlo permutations of range(n), as (rows, n) arrays, ``permutations``
    rows in all: ``numpy.random.default_rng(seed).permuted`` row by row, so the stream
    does not depend on the chunk size (``CHUNK_ELEMENTS / width`` rows, width n by
    default). Row ``pi`` means: the patient of value rank r receives the outcome of the
    patient of value rank ``pi[r]``."""
    generator = np.random.default_rng(seed)
    rows = max(1, CHUNK_ELEMENTS // max(n, width or 1))
    identity = np.arange(n)
    for first in range(0, permutations, rows):
        count = min(rows, permutations - first)
        yield generator.permuted(np.broadcast_to(identity, (count, n)), axis=1)


# --- maxstat ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MaxstatResult:
    """One maximally selected log-rank test: a row of ``results.cutpoint_tests``.

    Numbers are None unless ``status`` is ``"ok"``: ``"too_few_values"`` (fewer than 4
    usable patients), ``"single_group"`` (no cut leaves between ``min_prop`` and
    ``max_prop`` of the patients in the low group: all values equal, or one value held by
    nearly everyone), ``"no_events"`` (no events, or every score equal: no information).
    ``cutpoints`` and ``statistics`` are the candidate cuts and their statistics (R's
    ``$cuts`` and ``$stats``). The cut point is exploratory: chosen to fit these data.
    """

    statistic: float | None
    cutpoint: float | None
    n_low: int | None
    n_high: int | None
    p_lau92: float | None
    p_lau94: float | None
    p_permutation: float | None
    permutation_se: float | None
    permutations: int
    seed: int
    min_prop: float
    max_prop: float
    n: int
    events: int
    status: CutpointStatus
    cutpoints: tuple[float, ...] = ()
    statistics: tuple[float, ...] = ()
    method: CutpointMethod = "maxstat"

    def to_row(self) -> dict[str, object]:
        """The ``results.cutpoint_tests`` columns after run, biomarker, endpoint, subgroup."""
        return {name: getattr(self, name) for name in _CUTPOINT_TEST_COLUMNS}


_CUTPOINT_TEST_COLUMNS = (
    "method",
    "min_prop",
    "max_prop",
    "statistic",
    "cutpoint",
    "n_low",
    "n_high",
    "p_lau92",
    "p_lau94",
    "p_permutation",
    "permutation_se",
    "permutations",
    "seed",
    "status",
)


@dataclass(frozen=True)
class _Sample:
    """Usable patients sorted by (value, time, event), with what every test needs."""

    values: np.ndarray
    time: np.ndarray
    event: np.ndarray
    scores: np.ndarray  # logrank_scores, by value rank
    rows: np.ndarray  # input row of each value rank


def _sample(time: np.ndarray, event: np.ndarray, values: np.ndarray) -> _Sample:
    """Rows with a finite value, a finite time >= 0 and a 0/1 event (R's na.omit;
    analysis.endpoint.valid_rows), sorted so that permutations do not depend on row order."""
    times, events = np.asarray(time, dtype=float), np.asarray(event, dtype=float)
    array = np.asarray(values, dtype=float)
    if not times.shape == events.shape == array.shape or array.ndim != 1:
        raise ValueError(f"time, event and values must be 1-d of one length: {array.shape}")
    usable = np.isfinite(array) & np.isfinite(times) & (times >= 0) & np.isin(events, (0, 1))
    rows = np.flatnonzero(usable)
    rows = rows[np.lexsort((events[rows], times[rows], array[rows]))]
    scores = logrank_scores(times[rows], events[rows])
    return _Sample(array[rows], times[rows], events[rows], scores, rows)


@dataclass(frozen=True)
class _Cuts:
    """maxstat's candidate cuts: sizes m (patients at or below), expectation, SD."""

    sizes: np.ndarray
    expected: np.ndarray
    sd: np.ndarray


def _maxstat_cuts(sample: _Sample, min_prop: float, max_prop: float) -> _Cuts | None:
    """R maxstat's cut sizes ``m`` and the permutation moments of S_m; None without an
    admissible cut."""
    n = sample.values.size
    starts = np.flatnonzero(np.r_[True, sample.values[1:] != sample.values[:-1]])
    admissible = (starts >= max(1, math.floor(n * min_prop))) & (starts <= math.floor(n * max_prop))
    sizes = starts[admissible]
    if sizes.size == 0:
        return None
    total, squares = sample.scores.sum(), (sample.scores**2).sum()
    spread = n * squares - total * total  # 0 when every score is equal: no information
    spread = spread if spread > RELATIVE_TIE * n * squares else 0.0
    variance = sizes * (n - sizes) / (n * n * (n - 1.0)) * spread
    return _Cuts(sizes, sizes / n * total, np.sqrt(variance))


def _cut_statistics(scores_by_rank: np.ndarray, cuts: _Cuts) -> np.ndarray:
    """|S_m - E_m| / SD_m for each row of permuted scores (rows, n) and each cut."""
    sums = np.cumsum(scores_by_rank, axis=1)[:, cuts.sizes - 1]
    return np.abs((sums - cuts.expected) / cuts.sd)


def maxstat_test(
    time: np.ndarray,
    event: np.ndarray,
    values: np.ndarray,
    *,
    seed: int,
    permutations: int = DEFAULT_PERMUTATIONS,
    min_prop: float = DEFAULT_MIN_PROP,
    max_prop: float = DEFAULT_MAX_PROP,
) -> MaxstatResult:
    """Maximally selected log-rank statistic, as R ``maxstat.test(Surv(time, event) ~ x,
    smethod = "LogRank", minprop, maxprop)`` with pmethod Lau92, Lau94 and condMC.

    Parameters
    ----------
    time, event, values : np.ndarray
        Days to event or censoring, 0/1 events, the biomarker (any sign). Rows missing
        any of them are left out, as R's ``na.omit``.
    seed, permutations : int
        The Monte-Carlo test's seed and number of permutations (both recorded).
    min_prop, max_prop : float
        Each group holds at least this share of patients; 0 < min_prop < max_prop < 1
        (Lausen & Schumacher's bound is infinite at 0 or 1).

    Returns
    -------
    MaxstatResult
    """
    _check_settings(permutations, min_prop, max_prop)
    sample = _sample(time, event, values)
    cuts, status = _maxstat_setup(sample, min_prop, max_prop)
    exceeding = 0
    if status == "ok":
        observed = _cut_statistics(sample.scores[None, :], cuts).max()
        for chunk in permutation_chunks(sample.values.size, permutations, seed):
            largest = _cut_statistics(sample.scores[chunk], cuts).max(axis=1)
            exceeding += int(np.sum(largest > observed * (1.0 + RELATIVE_TIE)))
    settings = dict(permutations=permutations, seed=seed, min_prop=min_prop, max_prop=max_prop)
    return _maxstat_result(sample, cuts, status, exceeding, **settings)


def _maxstat_setup(
    sample: _Sample, min_prop: float, max_prop: float
) -> tuple[_Cuts | None, CutpointStatus]:
    n = sample.values.size
    cuts = _maxstat_cuts(sample, min_prop, max_prop) if n >= MIN_VALUES else None
    return cuts, _maxstat_status(n, cuts, int(sample.event.sum()))


def _maxstat_result(
    sample: _Sample,
    cuts: _Cuts | None,
    status: CutpointStatus,
    exceeding: int,
    **settings: float,
) -> MaxstatResult:
    """The result row, given how many permutations exceeded the observed maximum."""
    n, permutations = sample.values.size, int(settings["permutations"])
    counts = dict(n=n, events=int(sample.event.sum()))
    if status != "ok":
        empty = dict.fromkeys(("statistic", "cutpoint", "n_low", "n_high", "p_lau92"))
        empty |= dict.fromkeys(("p_lau94", "p_permutation", "permutation_se"))
        return MaxstatResult(**empty, **settings, **counts, status=status)
    statistics = _cut_statistics(sample.scores[None, :], cuts)[0]
    best = int(np.argmax(statistics))  # the first of equal maxima, as R's min(which(...))
    statistic, n_low = float(statistics[best]), int(cuts.sizes[best])
    p_permutation = exceeding / permutations
    return MaxstatResult(
        statistic=statistic,
        cutpoint=float(sample.values[n_low - 1]),
        n_low=n_low,
        n_high=n - n_low,
        p_lau92=lausen92_p(statistic, settings["min_prop"], settings["max_prop"]),
        p_lau94=float(lausen94_p(statistic, n, cuts.sizes)),
        p_permutation=p_permutation,
        permutation_se=math.sqrt(p_permutation * (1.0 - p_permutation) / permutations),
        **settings,
        **counts,
        status="ok",
        cutpoints=tuple(sample.values[cuts.sizes - 1].tolist()),
        statistics=tuple(statistics.tolist()),
    )


def _check_settings(permutations: int, min_prop: float, max_prop: float) -> None:
    if int(permutations) != permutations or permutations < 1:
        raise ValueError(f"permutations must be a positive integer, not {permutations!r}")
    if not 0.0 < min_prop < max_prop < 1.0:
        raise ValueError(f"need 0 < min_prop < max_prop < 1, not {min_prop!r}, {max_prop!r}")


def _maxstat_status(n: int, cuts: _Cuts | None, events: int) -> CutpointStatus:
    """Most serious first, in the order of analysis.vocabulary.STATUSES."""
    if n < MIN_VALUES:
        return "too_few_values"
    if cuts is None:
        return "single_group"
    if events == 0 or not np.all(cuts.sd > 0):
        return "no_events"
    return "ok"


# --- the cut-point family -------------------------------------------------------------------


@dataclass(frozen=True)
class ChoiceTest:
    """One cut-point choice of a family: its own p and its permutation p.

    ``p_value``: the log-rank p of a grouping (survdiff's df rule), the clipped Lau94
    bound for maxstat; ``permutation_p``: ``(1 + #{permutation p <= p}) / (1 + B)`` on the
    family's permutations. None, with a status, when the choice cannot be tested.
    """

    choice: CutpointChoice
    p_value: float | None
    permutation_p: float | None
    status: CutpointStatus


@dataclass(frozen=True)
class CutpointFamilyResult:
    """The permutation-corrected smallest p over a family of cut-point choices: a row of
    ``results.cutpoint_family_tests``.

    ``min_p`` is the smallest ``p_value`` of the testable choices; ``corrected_p`` is
    ``(1 + #{permutations whose smallest p <= min_p}) / (1 + permutations)``. A choice
    that cannot be tested (its status says why) takes no part; when none can, min_p and
    corrected_p are None and ``status`` is the most serious of their statuses.
    ``maxstat`` (when it is a choice) is the ``results.cutpoint_tests`` row from the same
    permutations: equal to :func:`maxstat_test` with the same seed, without a second pass.
    """

    choices: tuple[ChoiceTest, ...]
    min_p: float | None
    corrected_p: float | None
    permutations: int
    seed: int
    n: int
    events: int
    status: CutpointStatus
    maxstat: MaxstatResult | None = None

    @property
    def n_choices(self) -> int:
        """Choices tried, testable or not."""
        return len(self.choices)

    def choices_json(self) -> str:
        """``[{"choice", "p_value", "permutation_p", "status"}, ...]`` in the given order."""
        return json.dumps([vars(choice) for choice in self.choices])

    def to_row(self) -> dict[str, object]:
        """The ``results.cutpoint_family_tests`` columns after run, biomarker, endpoint,
        subgroup (``choices`` as JSON text)."""
        return {
            "n_choices": self.n_choices,
            "choices": self.choices_json(),
            "min_p": self.min_p,
            "corrected_p": self.corrected_p,
            "permutations": self.permutations,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class _Layout:
    """The outcomes by value rank and the event-time tables every permutation shares:
    the numbers at risk n and events d at each event time do not move, only who is in
    which group. Event times are stored latest first (see :func:`_choice_p_values`)."""

    later: np.ndarray  # (n,) event times after the outcome's time: at risk at all others
    event: np.ndarray  # (n,) 0/1 event of each value rank's outcome
    rate: np.ndarray  # (T,) d / n at each distinct event time, latest first
    weight: np.ndarray  # (T,) d (n - d) / (n - 1) / n, 0 when n = 1
    weight_squared: np.ndarray  # (T,) d (n - d) / (n - 1) / n^2
    events: float


def _layout(sample: _Sample) -> _Layout:
    event_times, deaths = np.unique(sample.time[sample.event > 0], return_counts=True)
    first_at_risk = np.searchsorted(np.sort(sample.time), event_times, side="left")
    at_risk = (sample.time.size - first_at_risk).astype(float)
    factor = np.where(at_risk > 1, deaths * (at_risk - deaths) / np.maximum(at_risk - 1, 1), 0.0)
    return _Layout(
        later=event_times.size - np.searchsorted(event_times, sample.time, side="right"),
        event=sample.event,
        rate=(deaths / at_risk)[::-1].copy(),
        weight=(factor / at_risk)[::-1].copy(),
        weight_squared=(factor / at_risk**2)[::-1].copy(),
        events=float(deaths.sum()),
    )


@dataclass(frozen=True)
class _Cells:
    """The usable patients split by every grouping at once (for the quartiles, tertiles,
    median and Q1 vs rest: six cells between five cut points), so that one count per
    permutation serves every grouping. ``groups[choice]`` maps cells to its groups."""

    of_rank: np.ndarray  # (n,) cell of each value rank
    indicator: np.ndarray  # (n, cells) 0/1
    groups: dict[CutpointChoice, np.ndarray]  # choice -> (cells, groups) 0/1


def _cells(codes: dict[CutpointChoice, np.ndarray]) -> _Cells | None:
    if not codes:
        return None
    unique, of_rank = np.unique(np.column_stack(list(codes.values())), axis=0, return_inverse=True)
    of_rank = of_rank.ravel()
    groups = {
        choice: (unique[:, [column]] == np.arange(code.max() + 1)).astype(float)
        for column, (choice, code) in enumerate(codes.items())
    }
    indicator = (of_rank[:, None] == np.arange(unique.shape[0])).astype(float)
    return _Cells(of_rank, indicator, groups)


def cutpoint_family_test(
    time: np.ndarray,
    event: np.ndarray,
    values: np.ndarray,
    choices: Sequence[CutpointChoice],
    *,
    seed: int,
    permutations: int = DEFAULT_PERMUTATIONS,
    min_prop: float = DEFAULT_MIN_PROP,
    max_prop: float = DEFAULT_MAX_PROP,
    labels: Mapping[str, np.ndarray] | None = None,
) -> CutpointFamilyResult:
    """Permutation-corrected smallest p over cut-point choices (the ledger's family).

    Parameters
    ----------
    time, event, values : np.ndarray
        One entry per patient; rows without a finite value, a time >= 0 and a 0/1 event
        are not tested (but their values count for the default grouping cut points, as in
        the single-biomarker path).
    choices : sequence of {"q1_vs_rest", "quartiles", "median", "tertiles", "maxstat"}
        Each at most once.
    seed, permutations : int
        As :func:`maxstat_test`; the same seed gives maxstat the same permutations.
    min_prop, max_prop : float
        maxstat's admissible cuts.
    labels : mapping, optional
        Group labels per grouping (e.g. quartiles of the whole cohort for a subgroup,
        spec ``quartiles_within: cohort``); default ``assign_groups(values, grouping)``.

    Returns
    -------
    CutpointFamilyResult

    Notes
    -----
    Corrected p >= the permutation p of the choice with the smallest p (same
    permutations), exactly: a permutation as extreme for that choice is as extreme for
    the minimum. It is >= the smallest raw p only approximately: the raw p-values are
    asymptotic (and Lau94 a bound), so a choice's permutation p can lie below its raw p.
    """
    _check_settings(permutations, min_prop, max_prop)
    if not choices or len(set(choices)) != len(choices) or set(choices) - set(CUTPOINT_CHOICES):
        raise ValueError(f"choices must be distinct, from {CUTPOINT_CHOICES}: {choices!r}")
    sample = _sample(time, event, values)
    n, events = sample.values.size, int(sample.event.sum())
    layout = _layout(sample)
    codes, statuses, cuts = {}, {}, None
    for choice in choices:
        if choice == "maxstat":
            cuts, statuses[choice] = _maxstat_setup(sample, min_prop, max_prop)
        else:
            code, statuses[choice] = _grouping(choice, sample, values, labels, events)
            codes |= {choice: code} if statuses[choice] == "ok" else {}
    cells, maxstat = _cells(codes), cuts if statuses.get("maxstat") == "ok" else None
    observed, observed_max = _choice_p_values(np.arange(n)[None, :], sample, layout, cells, maxstat)
    defined = {choice: p[0] for choice, p in observed.items() if np.isfinite(p[0])}
    for choice in observed.keys() - defined.keys():  # e.g. no expected events in a group
        statuses[choice] = "no_events"
    min_p = min(defined.values(), default=None)
    as_small, minimum_as_small, exceeding = _permutation_counts(
        sample, layout, cells, maxstat, defined, observed_max, permutations, seed
    )
    tests = tuple(
        ChoiceTest(choice, None, None, statuses[choice])
        if choice not in defined
        else ChoiceTest(
            choice, float(defined[choice]), (1 + as_small[choice]) / (1 + permutations), "ok"
        )
        for choice in choices
    )
    status = "ok" if defined else min(statuses.values(), key=STATUSES.index)
    settings = dict(permutations=permutations, seed=seed, min_prop=min_prop, max_prop=max_prop)
    maxstat_row = (
        _maxstat_result(sample, cuts, statuses["maxstat"], exceeding, **settings)
        if "maxstat" in choices
        else None
    )
    return CutpointFamilyResult(
        choices=tests,
        min_p=None if min_p is None else float(min_p),
        corrected_p=(1 + minimum_as_small) / (1 + permutations) if defined else None,
        permutations=permutations,
        seed=seed,
        n=n,
        events=events,
        status=status,
        maxstat=maxstat_row,
    )


def _permutation_counts(
    sample: _Sample,
    layout: _Layout,
    cells: _Cells | None,
    maxstat: _Cuts | None,
    observed: dict[CutpointChoice, float],
    observed_max: np.ndarray | None,
    permutations: int,
    seed: int,
) -> tuple[dict[CutpointChoice, int], int, int]:
    """Over the permutations: per choice, how many give a p as small as observed; how
    many give a smallest p as small as the observed smallest; how many give maxstat a
    larger maximum (condMC). An undefined p in a permutation counts as 1."""
    as_small = dict.fromkeys(observed, 0)
    minimum_as_small = exceeding = 0
    if not observed:
        return as_small, minimum_as_small, exceeding
    min_p = min(observed.values())
    width = 0 if cells is None else cells.indicator.shape[1] * (layout.rate.size + 1)
    for chunk in permutation_chunks(sample.values.size, permutations, seed, width=width):
        p_values, largest = _choice_p_values(chunk, sample, layout, cells, maxstat)
        if maxstat is not None:
            exceeding += int(np.sum(largest > observed_max[0] * (1.0 + RELATIVE_TIE)))
        smallest = np.full(chunk.shape[0], np.inf)
        for choice, observed_p in observed.items():
            permuted = np.nan_to_num(p_values[choice], nan=1.0)
            as_small[choice] += int(np.sum(permuted <= observed_p * (1.0 + RELATIVE_TIE)))
            smallest = np.minimum(smallest, permuted)
        minimum_as_small += int(np.sum(smallest <= min_p * (1.0 + RELATIVE_TIE)))
    return as_small, minimum_as_small, exceeding


def _grouping(
    choice: CutpointChoice,
    sample: _Sample,
    values: np.ndarray,
    labels: Mapping[str, np.ndarray] | None,
    events: int,
) -> tuple[np.ndarray, CutpointStatus]:
    """Group codes of the usable patients by value rank (0.. over the groups with
    patients, lowest first) and whether the grouping can be tested."""
    if labels is not None and choice in labels:
        all_labels, status = np.asarray(labels[choice], dtype=object), "ok"
    else:
        assignment = assign_groups(np.asarray(values, dtype=float), choice)
        all_labels = assignment.labels
        status = assignment.status if assignment.status == "too_few_values" else "ok"
    order = CUTS[choice][1]
    if all_labels.shape != np.shape(values):
        raise ValueError(f"{choice}: {all_labels.shape} labels for {np.shape(values)} values")
    chosen = all_labels[sample.rows]
    if any(label not in order for label in chosen):
        raise ValueError(f"{choice}: every usable patient needs a label from {order}")
    present = [label for label in order if np.any(chosen == label)]
    codes = np.array([present.index(label) for label in chosen], dtype=np.int64)
    if status == "ok" and sample.values.size < MIN_VALUES:
        status = "too_few_values"
    if status == "ok" and len(present) < 2:
        status = "single_group"
    if status == "ok" and events == 0:
        status = "no_events"
    return codes, status


def _choice_p_values(
    permutation: np.ndarray,
    sample: _Sample,
    layout: _Layout,
    cells: _Cells | None,
    maxstat: _Cuts | None,
) -> tuple[dict[CutpointChoice, np.ndarray], np.ndarray | None]:
    """Each choice's p for each row of ``permutation`` (NaN where a test is undefined),
    and maxstat's largest statistic per row (None without maxstat).

    Groupings: ``counts[b, cell, c]`` = patients of a cell whose outcome precedes
    exactly c of the event times, from one bincount; with the event times latest first,
    the number at risk at the i-th of them is a cumulative sum over c <= i. The
    log-rank sums are formed per pair of cells once and mapped to each grouping.
    """
    result: dict[CutpointChoice, np.ndarray] = {}
    largest = None
    if maxstat is not None:
        largest = _cut_statistics(sample.scores[permutation], maxstat).max(axis=1)
        result["maxstat"] = lausen94_p(largest, sample.values.size, maxstat.sizes)
    if cells is None:
        return result, largest
    rows, n_cells, times = permutation.shape[0], cells.indicator.shape[1], layout.rate.size
    index = layout.later[permutation] + cells.of_rank * (times + 1)
    index += (np.arange(rows) * (n_cells * (times + 1)))[:, None]
    counts = np.bincount(index.ravel(), minlength=rows * n_cells * (times + 1))
    counts = counts.reshape(rows * n_cells, times + 1)[:, :times]
    at_risk = np.cumsum(counts, axis=1).astype(float)  # (rows x cells, T)
    expected = (at_risk @ layout.rate).reshape(rows, n_cells)
    diagonal = (at_risk @ layout.weight).reshape(rows, n_cells)
    at_risk = at_risk.reshape(rows, n_cells, times)
    covariance = -np.matmul(at_risk * layout.weight_squared, at_risk.transpose(0, 2, 1))
    covariance[:, np.arange(n_cells), np.arange(n_cells)] += diagonal
    observed = layout.event[permutation] @ cells.indicator  # (rows, cells)
    for choice, groups in cells.groups.items():
        group_expected = expected @ groups
        statistic, df = _chi_square(
            observed @ groups - group_expected,
            groups.T @ covariance @ groups,
            group_expected,
            layout.events,
        )
        result[choice] = chi2_sf_array(statistic, df)
    return result, largest


def _chi_square(
    difference: np.ndarray, covariance: np.ndarray, expected: np.ndarray, events: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(O - E)' V^- (O - E)`` with the Moore-Penrose inverse (singular values <= 1e-10
    x the largest dropped, as ``np.linalg.pinv``) and survdiff's df; NaN where undefined.

    Where every group expects events and V without its last group is well conditioned,
    every generalised inverse gives the same value, and solving that block is cheapest.
    """
    rows, groups = difference.shape
    df = (expected > EXPECTED_TOLERANCE * max(1.0, events)).sum(axis=1) - 1.0
    scale = np.trace(covariance, axis1=1, axis2=2)
    block = covariance[:, :-1, :-1]
    determinant = np.linalg.det(block)
    regular = (df == groups - 1) & (determinant > REGULAR_DETERMINANT * scale ** (groups - 1))
    statistic = np.full(rows, np.nan)
    if np.any(regular):
        solved = np.linalg.solve(block[regular], difference[regular, :-1, None])[..., 0]
        statistic[regular] = np.einsum("rg,rg->r", solved, difference[regular, :-1])
    rest = np.flatnonzero(~regular & (df >= 1))
    if rest.size:
        eigenvalues, eigenvectors = np.linalg.eigh(covariance[rest])
        largest = np.abs(eigenvalues).max(axis=1)
        kept = np.abs(eigenvalues) > PINV_RCOND * largest[:, None]
        projections = np.einsum("rgj,rg->rj", eigenvectors, difference[rest])
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(kept, projections**2 / eigenvalues, 0.0).sum(axis=1)
        rank_zero = largest <= PINV_RCOND * np.maximum(1.0, covariance[rest].max(axis=(1, 2)))
        statistic[rest] = np.where(rank_zero, np.nan, values)
    return statistic, np.where(np.isnan(statistic), np.nan, df)
