"""A pseudonymised delivery builds like any other; an older warehouse still builds.

Real DuckDB file, real dbt: `cohort ingest --pseudonymise` of the simulated 60-patient
cohort, then the dbt build, and the marts hold the pseudonyms of the simulated ids.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.build import BuildSettings, build_cohort
from pipelines.cli import app
from pipelines.ingest import ingest
from pipelines.pseudonym import KEY_VARIABLE, pseudonym
from pipelines.simulate import simulate
from tests.conftest import FIXED_LOAD_TIME

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEY = "integration-key-0123456789abcdef0123456789"
PATIENTS = 60


def query(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_pseudonymised_cohort_builds_with_pseudonyms_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    simulate(tmp_path / "delivery", patients=PATIENTS, seed=2017)
    db_path = tmp_path / "warehouse" / "study.duckdb"
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    ingested = CliRunner().invoke(
        app, ["ingest", str(tmp_path / "delivery"), "--db", str(db_path), "--pseudonymise"]
    )
    assert ingested.exit_code == 0, ingested.output
    assert "(pseudonymised)" in ingested.output

    result = build_cohort(db_path, settings=BuildSettings())

    assert result.success, [f"{node.name}: {node.message}" for node in result.nodes]
    expected = {pseudonym(KEY.encode(), f"SIM-{number:04d}") for number in range(1, 61)}
    patients = {row[0] for row in query(db_path, "select patient_id from marts.cohort_patients")}
    assert patients == expected
    assert query(db_path, "select is_pseudonymised, is_current from staging.stg_raw__batches") == [
        (True, True)
    ]


def test_a_warehouse_from_before_pseudonymisation_still_builds(tmp_path: Path):
    simulate(tmp_path / "delivery", patients=PATIENTS, seed=2017)
    db_path = tmp_path / "warehouse" / "study.duckdb"
    ingest(tmp_path / "delivery", db_path, code_version="test", loaded_at=FIXED_LOAD_TIME)
    with duckdb.connect(str(db_path)) as con:  # raw.batches as older versions wrote it
        con.execute("alter table raw.batches drop column is_pseudonymised")
        con.execute("alter table raw.batches drop column pseudonym_key_check")

    result = build_cohort(db_path, settings=BuildSettings())

    assert result.success, [f"{node.name}: {node.message}" for node in result.nodes]
    assert query(db_path, "select is_pseudonymised from staging.stg_raw__batches") == [(False,)]
    assert query(db_path, "select count(*) from marts.cohort_patients") == [(PATIENTS,)]
