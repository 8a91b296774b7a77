"""Benchmark: `cohort analyze` with the default spec on the 60-patient demo warehouse.

Wall time of the real command in a fresh process (imports included), against a
baseline measured in the same run: a fresh process that only imports the libraries the
command path uses (polars, duckdb, pandas, numpy, typer) — the floor it pays. The
statistics avoid lifelines and scipy.stats on this path (own Efron Cox, closed-form
tails; both tested against them), which saves seconds of imports (docs/performance.md).
Target (issue 5): under 5 s wall including imports.

Run `make demo` first (it builds and validates warehouse/cohort.duckdb).
Usage: ``python benchmarks/analyze.py [--db warehouse/cohort.duckdb] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

COHORT = Path(sys.executable).with_name("cohort")
IMPORTS = "import polars, duckdb, pandas, numpy, typer"


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("warehouse/cohort.duckdb"))
    parser.add_argument("--spec", type=Path, default=Path("studies/dsmm_ikzf1.yml"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    baseline = min(timed([sys.executable, "-c", IMPORTS]) for _ in range(args.repeat))
    command = [str(COHORT), "analyze", "--db", str(args.db), "--spec", str(args.spec)]
    analysis = min(timed(command) for _ in range(args.repeat))
    print(f"{'case':<46}{'seconds':>9}{'x baseline':>12}")
    print(f"{'baseline: import polars/duckdb/pandas/typer':<46}{baseline:>9.2f}{1:>12.2f}")
    print(
        f"{'cohort analyze, default spec, 60 patients':<46}{analysis:>9.2f}"
        f"{analysis / baseline:>12.2f}"
    )
    print(f"best of {args.repeat}: {analysis:.1f} s wall including imports (target < 5 s)")


if __name__ == "__main__":
    main()
