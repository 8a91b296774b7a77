"""Time the simulator's scale mode and report peak memory.

Runs ``simulate(patients=1000, genes=20000)`` (20 M long expression rows, Parquet) into a
temporary folder and prints the wall time, the throughput, the peak resident set size
(``resource.getrusage``, Linux reports KiB) and the ratio to a baseline measured in the
same run: drawing the same number of normal values with NumPy and writing them with
their row keys as a Polars Parquet file, i.e. the unavoidable floor of any simulator.
The budget (30 s on a 2-core machine) is a product requirement; the script exits with
status 1 when it is exceeded.

Usage::

    .venv/bin/python benchmarks/simulate_scale.py [--patients 1000] [--genes 20000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.simulate import simulate

BUDGET_SECONDS = 30.0
KIB_PER_MIB = 1024


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB_PER_MIB


def baseline_seconds(patients: int, genes: int, folder: Path) -> float:
    """Floor: draw patients x genes normals and write them long with integer keys."""
    start = time.perf_counter()
    values = np.random.default_rng(0).standard_normal(patients * genes, dtype=np.float32)
    frame = pl.DataFrame(
        {
            "patient": np.repeat(np.arange(patients, dtype=np.uint32), genes),
            "gene": np.tile(np.arange(genes, dtype=np.uint32), patients),
            "value": values,
        }
    )
    frame.write_parquet(folder / "baseline.parquet")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--genes", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--budget-seconds", type=float, default=BUDGET_SECONDS)
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="simulate_scale_") as temporary:
        folder = Path(temporary)
        start = time.perf_counter()
        result = simulate(
            folder / "cohort",
            patients=arguments.patients,
            genes=arguments.genes,
            seed=arguments.seed,
        )
        elapsed = time.perf_counter() - start
        rss_after_simulation = peak_rss_mib()
        size_mib = sum(path.stat().st_size for path in result.files.values()) / 2**20
        floor = baseline_seconds(arguments.patients, arguments.genes, folder)

    rows = result.row_counts["expression"]
    print(
        f"scale mode: {arguments.patients} patients x {arguments.genes} genes "
        f"= {rows:,} expression rows ({result.file_format})"
    )
    print(f"simulate():          {elapsed:6.2f} s  ({rows / elapsed / 1e6:.2f} M rows/s)")
    print(f"baseline (np + pq):  {floor:6.2f} s  -> ratio {elapsed / floor:.1f}x")
    print(f"peak RSS:            {rss_after_simulation:6.0f} MiB (after simulate)")
    print(f"files written:       {size_mib:6.1f} MiB")
    within = elapsed <= arguments.budget_seconds
    print(f"budget {arguments.budget_seconds:.0f} s:           {'met' if within else 'EXCEEDED'}")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
