"""Benchmark: `cohort run` end to end on the simulated demo cohort (issue 7: < 20 s warm).

Measured in fresh processes, in one run:

* **cohort run** - the real command (`cohort run --force`, so it does every step) on a
  warehouse that already holds one published run, as `make demo` does on a warm
  machine; per-step times are read from the run registry (`meta.pipeline_run_steps`);
* **baseline** - the same work as the single-step commands in sequence (`cohort ingest`,
  `build`, `validate`, `analyze`, `report`), each in its own process, writing in place;
  that is how `make demo` ran before `cohort run`.

`cohort run` adds a copy of the warehouse and an atomic publish, and gains by importing
each heavy library once and by importing Great Expectations and matplotlib in a worker
process while dbt builds.

Usage: ``python benchmarks/pipeline.py [--repeat 3] [--workdir DIR]``
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from pipelines.cli import DEMO_BACKGROUND_GENES
from pipelines.simulate import simulate

COHORT = Path(sys.executable).with_name("cohort")
SPEC = Path(__file__).resolve().parents[1] / "studies" / "dsmm_ikzf1.yml"


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    completed = subprocess.run(args, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")
    return time.perf_counter() - start


def run_command(db: Path, input_dir: Path) -> list[str]:
    return [
        str(COHORT), "run", "--force", "--db", str(db),
        "--input", str(input_dir), "--spec", str(SPEC),
    ]  # fmt: skip


def single_steps(db: Path, input_dir: Path) -> list[list[str]]:
    spec = ["--spec", str(SPEC)]
    return [
        [str(COHORT), "ingest", str(input_dir), "--db", str(db)],
        [str(COHORT), "build", "--db", str(db), *spec],
        [str(COHORT), "validate", "--db", str(db), *spec],
        [str(COHORT), "analyze", "--db", str(db), *spec],
        [str(COHORT), "report", "--db", str(db)],
    ]


def last_steps(db: Path) -> dict[str, float]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select step, seconds from meta.pipeline_run_steps where run_id = "
            "(select run_id from meta.pipeline_runs order by started_at desc limit 1) "
            "and seconds is not null"
        ).fetchall()
    return dict(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    input_dir = work / "demo_input"
    if not input_dir.exists():  # the demo cohort as `make demo` simulates it
        simulate(input_dir, background_genes=DEMO_BACKGROUND_GENES)
    run_db, steps_db = work / "run" / "cohort.duckdb", work / "steps" / "cohort.duckdb"
    timed(run_command(run_db, input_dir))  # warm-up: first publish, dbt's first parse
    for command in single_steps(steps_db, input_dir):
        timed(command)

    runs, baselines, step_times = [], [], []
    for _ in range(args.repeat):
        runs.append(timed(run_command(run_db, input_dir)))
        step_times.append(last_steps(run_db))
        baselines.append(sum(timed(command) for command in single_steps(steps_db, input_dir)))
    best = min(range(args.repeat), key=runs.__getitem__)
    print(f"cohort run (demo, warm), best of {args.repeat}: {runs[best]:.1f} s wall "
          f"(all: {', '.join(f'{t:.1f}' for t in runs)}); target < 20 s")  # fmt: skip
    print("  steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in step_times[best].items()))
    print(f"baseline, single-step commands in sequence: {min(baselines):.1f} s wall "
          f"(all: {', '.join(f'{t:.1f}' for t in baselines)})")  # fmt: skip
    print(f"ratio cohort run / baseline: {runs[best] / min(baselines):.2f}")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
