"""Benchmark: the quality gate (`cohort validate`) on the demo and the scale cohort.

Each cohort is simulated, ingested and built first (not timed). Then, in a fresh child
process, GX is imported (timed separately: start-up, not validation) and the suites run
through GX's SQL route on the DuckDB file; peak memory is the child's VmHWM. Baseline,
measured in the same run: the same rows counted by plain DuckDB SQL — one query per
expectation's table scan (`select count(*)` of each validated table) — the floor of
any in-place validation.

Targets (issue 4): demo < 2 s after imports; scale (20 M expression rows) < 30 s and
< 3 GB peak.

Usage: ``python benchmarks/validate.py [--skip-scale] [--patients 1000] [--genes 20000]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from pipelines.build import BuildSettings, build_cohort
from pipelines.ingest import ingest
from pipelines.simulate import simulate

GATE = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    started = time.perf_counter()
    import great_expectations
    from pipelines.validate import validate_warehouse
    imported = time.perf_counter()
    run = validate_warehouse(Path(sys.argv[1]), code_version="benchmark")
    finished = time.perf_counter()
    status = Path("/proc/self/status").read_text().splitlines()
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
    print(json.dumps({"import": imported - started, "validate": finished - imported,
                      "peak_mb": peak, "verdict": run.verdict,
                      "expectations": len(run.outcomes)}))
""")

BASELINE = textwrap.dedent("""
    import json, sys, time
    import duckdb
    from pipelines.validate.suites import load_suites
    tables = [check.table_name for check in load_suites()]
    start = time.perf_counter()
    with duckdb.connect(sys.argv[1], read_only=True) as con:
        con.execute("set enable_progress_bar = false")
        for table in tables:
            con.execute(f"select count(*) from {table}").fetchall()
    print(json.dumps({"seconds": time.perf_counter() - start}))
""")


def child(code: str, db_path: Path) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-c", code, str(db_path)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def measure(label: str, work: Path, *, patients: int, genes: int | None) -> dict[str, float]:
    simulate(work / "input", patients=patients, seed=2017, genes=genes)
    db_path = work / "cohort.duckdb"
    ingest(work / "input", db_path, code_version="benchmark")
    if not build_cohort(db_path, settings=BuildSettings()).success:
        raise SystemExit("build failed")
    baseline = child(BASELINE, db_path)
    gate = child(GATE, db_path)
    print(f"\n{label}: {int(gate['expectations'])} expectations, verdict {gate['verdict']}")
    print(f"{'case':<44}{'seconds':>9}{'x baseline':>12}{'peak MB':>10}")
    print(
        f"{'baseline: count(*) per expectation, DuckDB':<44}{baseline['seconds']:>9.2f}{1:>12.2f}"
    )
    print(f"{'import great_expectations (start-up)':<44}{gate['import']:>9.2f}")
    print(
        f"{'cohort validate, after imports':<44}{gate['validate']:>9.2f}"
        f"{gate['validate'] / baseline['seconds']:>12.1f}{gate['peak_mb']:>10.0f}"
    )
    return gate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="validate-bench-") as tmp:
        demo = measure("demo cohort (60 patients)", Path(tmp), patients=60, genes=None)
    print(f"demo: {demo['validate']:.2f} s after imports (target < 2 s)")
    if args.skip_scale:
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="validate-bench-scale-") as tmp:
        scale = measure(
            f"scale cohort ({args.patients} x {args.genes})",
            Path(tmp),
            patients=args.patients,
            genes=args.genes,
        )
    print(
        f"scale: {scale['validate']:.1f} s after imports (target < 30 s), peak "
        f"{scale['peak_mb']:.0f} MB (target < 3072 MB); whole benchmark "
        f"{time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
