"""Time the statistics core of the genome-wide quartile scan and report peak memory.

Runs :func:`analysis.scan.quartile_scan` (cut points, three log-rank tests, the exact
Efron Cox fit of every gene; no I/O) on a synthetic 1,000 x 20,000 matrix with one
endpoint, with one and with two worker threads, and prints the best of a few runs, the
CPU time, the peak resident set size (``resource.getrusage``; Linux reports KiB) and two
baselines measured in the same run: the floor of sorting every gene's values once (the
quantiles cannot cost less), and the single-biomarker path (``assign_groups`` + log-rank
tests + ``fit_efron``) per gene, timed on a sample and scaled to all genes. The budget
(0.6 s for one endpoint, so that two endpoints with reading and writing fit in 2 s) is
the product requirement; the script exits with status 1 when the best run exceeds it.

Usage::

    .venv/bin/python benchmarks/scan_core.py [--patients 1000] [--genes 20000] [--workers 2]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from analysis.cox_fitter import fit_efron
from analysis.groups import assign_groups
from analysis.logrank import logrank_test, logrank_trend_test
from analysis.scan import CHUNK_GENES, quartile_cutpoints, quartile_scan

BUDGET_SECONDS = 0.6
KIB_PER_MIB = 1024
SAMPLE_GENES = 40


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB_PER_MIB


def synthetic_cohort(patients: int, genes: int, seed: int):
    """log2-like values with 3 decimals (ties), day-rounded times, ~55% events."""
    rng = np.random.default_rng(seed)
    values = rng.normal(7.0, 1.0, size=(patients, genes))
    np.round(values, 3, out=values)  # in place: the peak RSS then shows the scan's own memory
    latent = rng.exponential(1500.0, patients)
    censoring = rng.uniform(0.0, 3000.0, patients)
    time_days = np.ceil(np.minimum(latent, censoring))
    return values, time_days, (latent <= censoring).astype(float)


def best_of(repeats: int, run) -> tuple[float, float]:
    """Best wall and CPU seconds of ``repeats`` runs (the machine is shared)."""
    timings = []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        timings.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(timings)


def two_endpoint_scan(
    values: np.ndarray, time_days: np.ndarray, event: np.ndarray, chunk_genes: int, workers: int
) -> None:
    """What ``cohort scan`` needs: cut points once, then PFS and OS (here: the same
    endpoint and a shuffled copy of it)."""
    cuts = quartile_cutpoints(values, chunk_genes=chunk_genes, workers=workers)
    shuffled = np.random.default_rng(1).permutation(values.shape[0])
    for times, events in ((time_days, event), (time_days[shuffled], event[shuffled])):
        quartile_scan(
            values, times, events, cutpoints=cuts, chunk_genes=chunk_genes, workers=workers
        )


def single_path_seconds(values: np.ndarray, time_days: np.ndarray, event: np.ndarray) -> float:
    """Per-gene cost of the single-biomarker statistics, scaled to all genes."""
    start = time.perf_counter()
    for gene in range(SAMPLE_GENES):
        two = assign_groups(values[:, gene], "q1_vs_rest")
        four = assign_groups(values[:, gene], "quartiles")
        logrank_test(time_days, event, two.labels)
        logrank_test(time_days, event, four.labels)
        scores = np.array([four.group_order.index(label) + 1 for label in four.labels])
        logrank_trend_test(time_days, event, scores)
        fit_efron((two.labels != "Q1").astype(float)[:, None], time_days, event > 0)
    return (time.perf_counter() - start) / SAMPLE_GENES * values.shape[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--genes", type=int, default=20000)
    parser.add_argument("--chunk-genes", type=int, default=CHUNK_GENES)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--budget-seconds", type=float, default=BUDGET_SECONDS)
    arguments = parser.parse_args()

    values, time_days, event = synthetic_cohort(arguments.patients, arguments.genes, arguments.seed)
    rss_before = peak_rss_mib()
    results = {}
    for workers in sorted({1, arguments.workers}):
        results[workers] = best_of(
            arguments.repeats,
            lambda workers=workers: quartile_scan(
                values, time_days, event, chunk_genes=arguments.chunk_genes, workers=workers
            ),
        )
    two_endpoints = best_of(
        arguments.repeats,
        lambda: two_endpoint_scan(
            values, time_days, event, arguments.chunk_genes, arguments.workers
        ),
    )
    rss_after = peak_rss_mib()
    transposed = np.ascontiguousarray(values.T)
    sort_floor = best_of(arguments.repeats, lambda: np.sort(transposed, axis=1))[0]
    per_gene = single_path_seconds(values, time_days, event)

    print(
        f"quartile scan core: {arguments.patients} patients x {arguments.genes} genes, "
        f"one endpoint, {int(event.sum())} events, chunks of {arguments.chunk_genes} genes"
    )
    for workers, (wall, cpu) in results.items():
        print(
            f"quartile_scan, {workers} worker(s): {wall:6.3f} s wall, {cpu:6.3f} s CPU  "
            f"({wall / sort_floor:4.1f} x the sort floor, "
            f"{per_gene / wall:5.0f} x faster than the per-gene path)"
        )
    print(
        f"two endpoints, shared cut points, {arguments.workers} worker(s): "
        f"{two_endpoints[0]:6.3f} s wall, {two_endpoints[1]:6.3f} s CPU"
    )
    print(f"floor (np.sort of every gene):  {sort_floor:6.3f} s")
    print(f"per-gene single path (scaled):  {per_gene:6.1f} s")
    print(
        f"peak RSS: {rss_after:.0f} MiB, of which {rss_after - rss_before:.0f} MiB for the "
        f"scans ({rss_before:.0f} MiB before: interpreter, imports and the input matrix)"
    )
    best = min(wall for wall, _ in results.values())
    if best > arguments.budget_seconds:
        print(f"over budget: {best:.3f} s > {arguments.budget_seconds} s")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
