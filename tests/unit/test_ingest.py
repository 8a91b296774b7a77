"""Ingest: values kept exactly, batches idempotent, everything-or-nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.errors import ContractError
from pipelines.ingest import ingest
from tests.conftest import (
    EXPRESSION_CSV,
    FIXED_LOAD_TIME,
    PATIENTS_CSV,
    DeliveryWriter,
    warehouse_state,
)


def run(folder: Path, db_path: Path):
    return ingest(folder, db_path, code_version="test", loaded_at=FIXED_LOAD_TIME)


def query(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_values_are_stored_exactly_as_delivered(write_delivery: DeliveryWriter, db_path: Path):
    run(write_delivery(), db_path)
    rows = query(
        db_path,
        "select patient_id, sex, age_at_diagnosis, iss_stage, _row_number "
        "from raw.patients order by _row_number",
    )
    # whitespace, 'NA' and empty cells are not cleaned here: that is staging's job
    assert rows == [
        ("P-001", "F", "61", "II", 1),
        ("P-002", "M", " 58 ", None, 2),
        ("P-003", None, "NA", "III", 3),
    ]
    values = query(db_path, "select value from raw.expression order by _row_number")
    assert [value for (value,) in values] == ["27.10", "27.30", "19.05", "0028.5", "n.d."]


def test_every_row_carries_its_load_metadata(write_delivery: DeliveryWriter, db_path: Path):
    folder = write_delivery()
    result = run(folder, db_path)
    rows = query(
        db_path,
        "select distinct _batch_id, _source_file, _source_sha256, _loaded_at from raw.cytogenetics",
    )
    import hashlib

    sha = hashlib.sha256((folder / "cytogenetics.csv").read_bytes()).hexdigest()
    assert rows == [(result.batch_id, "cytogenetics.csv", sha, FIXED_LOAD_TIME)]
    quoted = query(db_path, "select aberration from raw.cytogenetics where _row_number = 2")
    assert quoted == [("t(4;14)(p16;q32)",)]


def test_same_files_twice_add_nothing(write_delivery: DeliveryWriter, db_path: Path):
    folder = write_delivery()
    first = run(folder, db_path)
    before = warehouse_state(db_path)
    second = run(folder, db_path)
    assert first.is_new_batch and not second.is_new_batch
    assert second.batch_id == first.batch_id
    assert {load.status for load in second.tables} == {"unchanged"}
    assert warehouse_state(db_path) == before


def test_changed_file_becomes_a_new_batch_and_unchanged_tables_are_not_copied(
    write_delivery: DeliveryWriter, db_path: Path
):
    run(write_delivery(), db_path)
    changed = PATIENTS_CSV + "P-004,F,70,2011-01-01,I,len+chemo,,,2015-01-01\n"
    second = run(write_delivery(patients=changed), db_path)
    assert second.is_new_batch and second.batch_id == 2
    statuses = {load.table_name: load.status for load in second.tables}
    assert statuses == {
        "patients": "loaded",
        "cytogenetics": "unchanged",
        "expression": "unchanged",
    }
    assert query(db_path, "select _batch_id, count(*) from raw.patients group by 1 order by 1") == [
        (1, 3),
        (2, 4),
    ]
    assert query(db_path, "select count(*) from raw.expression") == [(5,)]
    current = dict(query(db_path, "select table_name, data_batch_id from raw.current_batch_files"))
    assert current == {"patients": 2, "cytogenetics": 1, "expression": 1}


def test_reverting_a_file_points_back_at_the_earlier_rows(
    write_delivery: DeliveryWriter, db_path: Path
):
    run(write_delivery(), db_path)
    run(write_delivery(patients=PATIENTS_CSV + "P-004,F,70,2011-01-01,I,x,,,2015-01-01\n"), db_path)
    third = run(write_delivery(), db_path)
    assert third.batch_id == 3
    assert {load.table_name: load.status for load in third.tables}["patients"] == "reused"
    assert query(db_path, "select count(*) from raw.patients") == [(7,)]
    current = dict(query(db_path, "select table_name, data_batch_id from raw.current_batch_files"))
    assert current["patients"] == 1


def test_optional_cytogenetics_missing_or_header_only(
    write_delivery: DeliveryWriter, db_path: Path
):
    result = run(write_delivery(cytogenetics=None), db_path)
    assert {load.table_name: load.status for load in result.tables}[
        "cytogenetics"
    ] == "not_delivered"
    header_only = run(write_delivery(cytogenetics="patient_id,aberration,status,method\n"), db_path)
    cytogenetics = {load.table_name: load for load in header_only.tables}["cytogenetics"]
    assert (cytogenetics.status, cytogenetics.row_count) == ("loaded", 0)


def test_extra_patient_columns_are_kept_and_may_appear_later(
    write_delivery: DeliveryWriter, db_path: Path
):
    run(write_delivery(), db_path)
    lines = PATIENTS_CSV.splitlines()
    with_extra = "\n".join([lines[0] + ",ecog"] + [line + ",1" for line in lines[1:]]) + "\n"
    run(write_delivery(patients=with_extra), db_path)
    rows = query(
        db_path, "select _batch_id, ecog from raw.patients where patient_id = 'P-001' order by 1"
    )
    assert rows == [(1, None), (2, "1")]


def test_a_failure_in_a_later_file_leaves_nothing_written(
    write_delivery: DeliveryWriter, db_path: Path
):
    run(write_delivery(), db_path)
    before = warehouse_state(db_path)
    bad_expression = EXPRESSION_CSV.encode() + "P-003,IKZF1,caf\xe9,qRT-PCR,ct,1,GAPDH\n".encode(
        "latin-1"
    )
    new_patients = PATIENTS_CSV + "P-009,M,50,2012-01-01,I,x,,,2016-01-01\n"
    with pytest.raises(ContractError) as raised:
        run(write_delivery(patients=new_patients, expression=bad_expression), db_path)
    [violation] = raised.value.violations
    assert (violation.file, violation.rule, violation.row) == ("expression.csv", "utf8_encoding", 6)
    assert warehouse_state(db_path) == before


def test_simulated_folders_are_marked(write_delivery: DeliveryWriter, db_path: Path):
    folder = write_delivery()
    (folder / "SIMULATED.json").write_text("{}")
    assert run(folder, db_path).is_simulated
    assert query(db_path, "select is_simulated from raw.batches") == [(True,)]


def test_parquet_values_become_text(tmp_path: Path, write_delivery: DeliveryWriter, db_path: Path):
    import datetime as dt

    folder = write_delivery(expression=None)
    pl.DataFrame(
        {
            "patient_id": ["P-001", "P-002"],
            "gene": ["B2M", "B2M"],
            "value": [1.8, 12.0],
            "assay": ["serum", "serum"],
            "unit": ["mg/L", "mg/L"],
            "replicate": [1, None],
        }
    ).write_parquet(folder / "expression.parquet")
    pl.DataFrame(
        {
            "patient_id": ["P-001"],
            "sex": ["F"],
            "age_at_diagnosis": [61],
            "diagnosis_date": [dt.date(2010, 3, 1)],
            "iss_stage": [None],
            "treatment": ["len"],
            "progression_date": [None],
            "death_date": [None],
            "last_followup_date": [dt.date(2014, 1, 10)],
        },
        schema_overrides={
            "iss_stage": pl.String,
            "progression_date": pl.Date,
            "death_date": pl.Date,
        },
    ).write_parquet(folder / "patients.parquet")
    (folder / "patients.csv").unlink()
    run(folder, db_path)
    rows = query(
        db_path,
        "select value, replicate, _row_number, _source_file "
        "from raw.expression order by _row_number",
    )
    assert rows == [("1.8", "1", 1, "expression.parquet"), ("12.0", None, 2, "expression.parquet")]
    patient = query(db_path, "select age_at_diagnosis, diagnosis_date, iss_stage from raw.patients")
    assert patient == [("61", "2010-03-01", None)]


def test_excel_cells_are_read_as_displayed(write_delivery: DeliveryWriter, db_path: Path):
    import datetime as dt

    import openpyxl

    folder = write_delivery(patients=None)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(PATIENTS_CSV.splitlines()[0].split(","))
    sheet.append(
        ["P-001", "F", 61, dt.datetime(2010, 3, 1), "II", "len", None, None, dt.date(2014, 1, 10)]
    )
    sheet.append([None] * 9)  # an empty row Excel users leave behind: not data
    sheet.append(["P-002", "M", 58.5, "2010-04-12", None, "len", None, None, "2013-02-02"])
    workbook.save(folder / "patients.xlsx")
    run(folder, db_path)
    rows = query(
        db_path,
        "select patient_id, age_at_diagnosis, diagnosis_date, "
        "last_followup_date, _row_number from raw.patients order by 5",
    )
    assert rows == [
        ("P-001", "61", "2010-03-01", "2014-01-10", 1),
        ("P-002", "58.5", "2010-04-12", "2013-02-02", 3),
    ]


def test_row_numbers_follow_the_file_on_a_multi_threaded_read(
    tmp_path: Path, write_delivery: DeliveryWriter, db_path: Path
):
    """A file big enough for DuckDB's parallel CSV reader keeps its row order."""
    import numpy as np

    rows = 600_000
    rng = np.random.default_rng(7)
    frame = pl.DataFrame(
        {
            "patient_id": [f"P-{i:07d}" for i in range(rows)],
            "gene": rng.choice(["IKZF1", "IKZF3", "CRBN", "BSG"], rows),
            "value": rng.normal(8, 2, rows).round(6).astype(str),
            "assay": "RNA-seq",
            "unit": "log2",
        }
    )
    folder = write_delivery(expression=None)
    frame.write_csv(folder / "expression.csv")
    assert (folder / "expression.csv").stat().st_size > 16 * 2**20  # several reader buffers
    run(folder, db_path)
    with duckdb.connect(str(db_path), read_only=True) as con:
        stored = con.sql(
            "select patient_id, gene, value from raw.expression order by _row_number"
        ).pl()
        numbers = con.execute(
            "select min(_row_number), max(_row_number), "
            "count(distinct _row_number) from raw.expression"
        ).fetchall()
    assert numbers == [(1, rows, rows)]
    assert stored.equals(frame.select("patient_id", "gene", "value"))
