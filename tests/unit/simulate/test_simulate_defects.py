"""Each defect sits exactly where ``defects_applied`` says, and nowhere else.

A run with one defect is compared with the clean run of the same seed: the recorded
row is the only difference (or the only inserted/removed rows), the files keep their
structure, and the recorded row really shows the problem.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import statistics
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from pipelines.simulate import DEFECTS, DefectRecord, SimulationResult, simulate

SEED = 2017
VALID_STATUSES = {"present", "absent", "not_evaluable"}
DOCUMENTED_SPELLINGS = {
    "del(17p)",
    "del(17p13)",
    "del17p",
    "17p-",
    "t(4;14)",
    "t(4;14)(p16;q32)",
    "t(14;16)",
    "t(14;16)(q32;q23)",
    "+1q21",
    "gain(1q21)",
    "del(13q14)",
    "-13",
}
Row = dict[str, str]


def read_rows(path: Path) -> list[Row]:
    """Strict CSV parse: every record has exactly the header's fields."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        header = next(reader)
        rows = [dict(zip(header, record, strict=True)) for record in reader]
    return rows


def is_iso_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    return simulate(tmp_path_factory.mktemp("clean") / "cohort", seed=SEED)


def run_with(tmp_path: Path, name: str) -> tuple[SimulationResult, DefectRecord]:
    result = simulate(tmp_path / name, seed=SEED, defects=[name])
    (record,) = result.defects_applied
    assert record.defect == name
    return result, record


def table_of(record: DefectRecord) -> str:
    return record.file.split("_")[0]


def recorded_row(result: SimulationResult, record: DefectRecord) -> Row:
    rows = read_rows(result.out_dir / record.file)
    assert record.row is not None
    row = rows[record.row - 1]
    assert row["patient_id"] == record.patient_id
    return row


CELL_CHECKS: dict[str, Callable[[Row], bool]] = {
    "progression_before_diagnosis": lambda row: row["progression_date"] < row["diagnosis_date"],
    "death_before_progression": lambda row: row["progression_date"] > row["death_date"] != "",
    "date_in_future": lambda row: int(row["last_followup_date"][:4]) >= 2100,
    "unparseable_date": lambda row: not is_iso_date(row["diagnosis_date"]),
    "followup_before_diagnosis": lambda row: row["last_followup_date"] < row["diagnosis_date"],
    "unknown_aberration_spelling": lambda row: row["aberration"] not in DOCUMENTED_SPELLINGS,
    "unknown_status": lambda row: row["status"] not in VALID_STATUSES,
    "non_numeric_value": lambda row: not is_number(row["value"]),
    "negative_ct": lambda row: float(row["value"]) < 0,
}


@pytest.mark.parametrize("name", sorted(CELL_CHECKS))
def test_value_defect_changes_only_the_recorded_row(
    tmp_path: Path, clean: SimulationResult, name: str
) -> None:
    result, record = run_with(tmp_path, name)
    table = table_of(record)
    before, after = read_rows(clean.files[table]), read_rows(result.files[table])
    assert len(before) == len(after)
    changed = [
        number
        for number, (old, new) in enumerate(zip(before, after, strict=True), start=1)
        if old != new
    ]
    assert changed == [record.row]
    assert record.column in after[record.row - 1]
    assert after[record.row - 1][record.column] != before[record.row - 1][record.column]
    assert CELL_CHECKS[name](recorded_row(result, record))


@pytest.mark.parametrize(
    "name", ["duplicate_patient", "duplicate_expression_row", "orphan_expression_row"]
)
def test_inserted_row_is_the_recorded_one(
    tmp_path: Path, clean: SimulationResult, name: str
) -> None:
    result, record = run_with(tmp_path, name)
    table = table_of(record)
    after = read_rows(result.files[table])
    assert len(after) == len(read_rows(clean.files[table])) + 1
    inserted = after[record.row - 1]
    assert after[: record.row - 1] + after[record.row :] == read_rows(clean.files[table])
    assert inserted["patient_id"] == record.patient_id
    if name == "orphan_expression_row":
        known = {row["patient_id"] for row in read_rows(result.files["patients"])}
        assert record.patient_id not in known
    else:
        assert inserted == after[record.row - 2]


def test_missing_reference_gene_removes_one_patients_reference_rows(
    tmp_path: Path, clean: SimulationResult
) -> None:
    result, record = run_with(tmp_path, "missing_reference_gene")
    assert record.row is None
    before, after = read_rows(clean.files["expression"]), read_rows(result.files["expression"])
    removed = [row for row in before if row not in after]
    assert removed and all(row["patient_id"] == record.patient_id for row in removed)
    assert all(row["gene"] == row["reference_gene"] for row in removed)
    assert [row for row in before if row not in removed] == after
    assert any(row["patient_id"] == record.patient_id for row in after)


def test_high_replicate_sd_flags_exactly_one_new_triplicate(
    tmp_path: Path, clean: SimulationResult
) -> None:
    result, record = run_with(tmp_path, "high_replicate_sd")
    row = recorded_row(result, record)
    wells = [
        float(other["value"])
        for other in read_rows(result.files["expression"])
        if (other["patient_id"], other["gene"]) == (row["patient_id"], row["gene"])
    ]
    assert len(wells) >= 2
    assert statistics.stdev(wells) > 0.5
    assert row["gene"] != row["reference_gene"]


def assert_each_defect_where_recorded(result: SimulationResult) -> None:
    assert [record.defect for record in result.defects_applied] == list(DEFECTS)
    patients = {record.patient_id for record in result.defects_applied}
    assert len(patients) == len(DEFECTS)  # no two defects share a patient
    for record in result.defects_applied:
        if record.defect in CELL_CHECKS:
            assert CELL_CHECKS[record.defect](recorded_row(result, record)), record
        elif record.row is not None:
            recorded_row(result, record)
    for table, path in result.files.items():
        assert len(read_rows(path)) == result.row_counts[table]


def test_all_defects_together_are_each_where_recorded(tmp_path: Path) -> None:
    result = simulate(tmp_path / "all", seed=SEED, defects=list(reversed(DEFECTS)))
    assert_each_defect_where_recorded(result)
    sidecar = json.loads(result.sidecar.read_text(encoding="utf-8"))
    assert sidecar["defects"] == [record.as_record() for record in result.defects_applied]


@pytest.mark.parametrize("seed", range(3))
def test_all_defects_fit_the_smallest_cohort_allowed(tmp_path: Path, seed: int) -> None:
    result = simulate(tmp_path / "small", patients=len(DEFECTS), seed=seed, defects=list(DEFECTS))
    assert_each_defect_where_recorded(result)


def test_defects_in_scale_mode_parquet(tmp_path: Path) -> None:
    names = [name for name, defect in DEFECTS.items() if not defect.qrtpcr_only]
    result = simulate(tmp_path / "scale", patients=12, genes=20, seed=4, defects=names)
    for record in result.defects_applied:
        frame = pl.read_parquet(result.out_dir / record.file)
        if record.row is not None:
            assert frame["patient_id"][record.row - 1] == record.patient_id
    expression = pl.read_parquet(result.files["expression"])
    assert "n.d." in expression["value"].to_list()
    assert expression.columns == [
        "patient_id",
        "gene",
        "value",
        "assay",
        "unit",
        "replicate",
        "reference_gene",
    ]


def test_defect_injection_leaves_the_clean_histories_alone(
    tmp_path: Path, clean: SimulationResult
) -> None:
    result = simulate(tmp_path / "one", seed=SEED, defects=["non_numeric_value"])
    assert result.files["patients"].read_bytes() == clean.files["patients"].read_bytes()
