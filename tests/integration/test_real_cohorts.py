"""The real public cohorts shipped in tests/data ingest unchanged and loss-free."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest import ingest
from tests.conftest import FIXED_LOAD_TIME, real_cohort_dir

pytestmark = pytest.mark.integration

REAL_COHORTS = ["uams_gse24080_mm", "mgus2", "flchain"]


def read_csv_rows(path: Path) -> list[dict[str, str | None]]:
    """An independent reader (Python's csv module) to compare against the warehouse."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            {key: (value if value != "" else None) for key, value in row.items()}
            for row in csv.DictReader(handle)
        ]


@pytest.mark.parametrize("cohort", REAL_COHORTS)
def test_real_cohort_ingests_every_value_unchanged(cohort: str, tmp_path: Path):
    folder = real_cohort_dir(cohort)
    db_path = tmp_path / "real.duckdb"
    result = ingest(folder, db_path, code_version="test", loaded_at=FIXED_LOAD_TIME)
    assert result.is_new_batch and not result.is_simulated
    with duckdb.connect(str(db_path), read_only=True) as con:
        for table in ("patients", "cytogenetics", "expression"):
            expected = read_csv_rows(folder / f"{table}.csv")
            columns = list(expected[0])
            stored = con.execute(
                f"select {', '.join(columns)} from raw.{table} order by _row_number"
            ).fetchall()
            assert len(stored) == len(expected), table
            assert [dict(zip(columns, row, strict=True)) for row in stored] == expected, table
    again = ingest(folder, db_path, code_version="test", loaded_at=FIXED_LOAD_TIME)
    assert not again.is_new_batch
