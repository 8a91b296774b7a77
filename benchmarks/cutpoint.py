"""Time the maxstat test and the cut-point family correction (analysis.cutpoint).

The product requirement (issue 14, "Cut-point honesty"): 10,000 permutations for 4 genes
x 2 endpoints, i.e. 8 (gene, endpoint) pairs, well under 5 s on 60 patients and under
20 s on 565 patients (the UAMS cohort's size). Each pair runs
:func:`analysis.cutpoint.cutpoint_family_test` over all five choices (q1_vs_rest,
quartiles, median, tertiles, maxstat), which also yields the maxstat row from the same
permutations; the time of two separate calls (``maxstat_test``, then the family) is
printed beside it.

Baseline, measured in the same run: the plain loop the vectorised code replaces, one
permutation at a time (:func:`analysis.logrank.logrank_test` for each grouping on the
permuted outcomes, and maxstat's cut statistics from a cumulative sum), timed on a sample
of permutations and scaled to 10,000 x 8 pairs. Prints the best wall and CPU time of a
few repeats (the machine is shared), the ratio to the baseline, and exits with status 1
when a budget is exceeded.

Usage::

    .venv/bin/python benchmarks/cutpoint.py [--permutations 10000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from analysis.cutpoint import (
    CUTPOINT_CHOICES,
    cutpoint_family_test,
    logrank_scores,
    maxstat_test,
    permutation_chunks,
)
from analysis.groups import assign_groups
from analysis.logrank import logrank_test
from analysis.vocabulary import GROUPINGS

#: (patients, budget in seconds for all pairs) from the issue.
SCENARIOS = ((60, 5.0), (565, 20.0))
PAIRS = 8
SEED = 20_170_101
BASELINE_PERMUTATIONS = 40


def synthetic_pairs(patients: int, pairs: int, seed: int):
    """(time, event, values) per pair: 2-decimal values (ties), day-rounded times, ~60%
    events, a modest effect of the value on the hazard."""
    rng = np.random.default_rng(seed)
    result = []
    for _ in range(pairs):
        values = np.round(rng.normal(7.0, 1.0, patients), 2)
        latent = rng.exponential(1200.0 * np.exp(-0.4 * (values - 7.0)))
        censoring = rng.uniform(300.0, 3000.0, patients)
        time_days = np.ceil(np.minimum(latent, censoring))
        result.append((time_days, (latent <= censoring).astype(float), values))
    return result


def vectorised(pairs, permutations: int) -> None:
    """Both result rows of each pair: the family over all choices carries the maxstat
    row of the same permutations (``CutpointFamilyResult.maxstat``)."""
    for time_days, event, values in pairs:
        family = cutpoint_family_test(
            time_days, event, values, CUTPOINT_CHOICES, seed=SEED, permutations=permutations
        )
        assert family.maxstat is not None and family.maxstat.status == "ok"


def separate_calls(pairs, permutations: int) -> None:
    """The same rows from two passes: maxstat_test, then the family."""
    for time_days, event, values in pairs:
        maxstat_test(time_days, event, values, seed=SEED, permutations=permutations)
        cutpoint_family_test(
            time_days, event, values, CUTPOINT_CHOICES, seed=SEED, permutations=permutations
        )


def plain_loop(pair, permutations: int) -> None:
    """One permutation at a time: what the vectorised code computes for all at once."""
    time_days, event, values = pair
    order = np.lexsort((event, time_days, values))
    time_days, event, values = time_days[order], event[order], values[order]
    labels = {grouping: assign_groups(values, grouping).labels for grouping in GROUPINGS}
    scores = logrank_scores(time_days, event)
    n = values.size
    sizes = np.flatnonzero(np.r_[False, values[1:] != values[:-1]])
    sizes = sizes[(sizes >= max(1, int(n * 0.1))) & (sizes <= int(n * 0.9))]
    spread = n * (scores**2).sum() - scores.sum() ** 2
    sd = np.sqrt(sizes * (n - sizes) / (n * n * (n - 1.0)) * spread)
    for chunk in permutation_chunks(n, permutations, SEED):
        for permutation in chunk:
            for grouping in GROUPINGS:
                logrank_test(time_days[permutation], event[permutation], labels[grouping])
            sums = np.cumsum(scores[permutation])[sizes - 1]
            np.max(np.abs(sums - sizes / n * scores.sum()) / sd)


def best_of(repeats: int, run, *arguments) -> tuple[float, float]:
    """Best wall and CPU seconds of ``repeats`` calls of ``run(*arguments)``."""
    timings = []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        run(*arguments)
        timings.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--permutations", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=2)
    arguments = parser.parse_args()
    within_budget = True
    print(f"{PAIRS} (gene, endpoint) pairs, {arguments.permutations:,} permutations each")
    for patients, budget in SCENARIOS:
        pairs = synthetic_pairs(patients, PAIRS, seed=patients)
        vectorised(pairs[:1], 100)  # warm-up: imports, first-call allocation
        wall, cpu = best_of(arguments.repeats, vectorised, pairs, arguments.permutations)
        two_wall, _ = best_of(1, separate_calls, pairs, arguments.permutations)
        loop_wall, _ = best_of(1, plain_loop, pairs[0], BASELINE_PERMUTATIONS)
        scaled = loop_wall / BASELINE_PERMUTATIONS * arguments.permutations * PAIRS
        print(
            f"{patients:>4} patients: {wall:6.2f} s wall, {cpu:6.2f} s CPU "
            f"(budget {budget:.0f} s; {two_wall:.2f} s as two calls); plain loop "
            f"{scaled:7.1f} s (scaled from {BASELINE_PERMUTATIONS} permutations of one pair): "
            f"{scaled / wall:4.0f}x faster"
        )
        within_budget &= wall <= budget
    return 0 if within_budget else 1


if __name__ == "__main__":
    sys.exit(main())
