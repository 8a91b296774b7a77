"""Benchmark: ingest of the scale cohort (1,000 patients x 20,000 genes = 20 M rows).

Prints wall time and peak memory of ``cohort ingest`` for the Parquet and the CSV
delivery, and ratios against a baseline measured in the same run: a bare DuckDB copy
of the same Parquet file into a table (no checks, no metadata, no transaction
bookkeeping). Targets (issue 2): Parquet ingest <= 30 s and < 2 GB peak; CSV within
2x of Parquet.

Usage: ``python benchmarks/ingest.py [--patients 1000] [--genes 20000]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import polars as pl

from pipelines.simulate import simulate

MEASURE = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    mode, folder, db = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    start = time.perf_counter()
    if mode == "baseline":
        import duckdb
        con = duckdb.connect(str(db))
        source = next(folder.glob("expression*.parquet"))
        con.execute(f"create table expression as select * from read_parquet('{source}')")
        con.close()
    else:
        from pipelines.ingest import ingest
        ingest(folder, db, code_version="benchmark")
    seconds = time.perf_counter() - start
    # VmHWM is this process image's own peak; ru_maxrss would include the parent's
    # peak inherited across fork/exec.
    status = Path("/proc/self/status").read_text().splitlines()
    peak_mb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb}))
""")


def measure(mode: str, folder: Path, work: Path) -> dict[str, float]:
    db = work / f"{mode}.duckdb"
    db.unlink(missing_ok=True)
    output = subprocess.run(
        [sys.executable, "-c", MEASURE, mode, str(folder), str(db)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    db.unlink(missing_ok=True)
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--genes", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        work = Path(tmp)
        parquet_dir, csv_dir = work / "parquet", work / "csv"
        result = simulate(
            parquet_dir, patients=args.patients, seed=1, genes=args.genes, file_format="parquet"
        )
        csv_dir.mkdir()
        for table, path in result.files.items():
            pl.read_parquet(path).write_csv(csv_dir / f"{table}_simulated.csv")
        shutil.copy(parquet_dir / "SIMULATED.json", csv_dir / "SIMULATED.json")
        rows = result.row_counts["expression"]
        print(
            f"scale cohort: {args.patients:,} patients x {args.genes:,} genes = "
            f"{rows:,} expression rows"
        )
        baseline = measure("baseline", parquet_dir, work)
        parquet = measure("ingest", parquet_dir, work)
        csv = measure("ingest", csv_dir, work)
    print(f"{'case':<32}{'seconds':>10}{'peak MB':>10}{'x baseline':>12}")
    for label, figures in (
        ("baseline: bare DuckDB copy", baseline),
        ("cohort ingest, Parquet", parquet),
        ("cohort ingest, CSV", csv),
    ):
        ratio = figures["seconds"] / baseline["seconds"]
        print(f"{label:<32}{figures['seconds']:>10.2f}{figures['peak_mb']:>10.0f}{ratio:>12.2f}")
    print(f"CSV / Parquet ingest time: {csv['seconds'] / parquet['seconds']:.2f} (target <= 2)")
    print(
        f"Parquet ingest: {parquet['seconds']:.1f} s (target <= 30 s), "
        f"peak {parquet['peak_mb']:.0f} MB (target < 2048 MB)"
    )


if __name__ == "__main__":
    main()
