"""Structural errors are refused before writing, naming file, row, column and rule.

Each case checks the message a user reads and that the warehouse is exactly as it was
(a previous good batch intact, or no warehouse created at all).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.errors import ContractError, Violation
from pipelines.ingest import ingest
from tests.conftest import (
    CYTOGENETICS_CSV,
    EXPRESSION_CSV,
    FIXED_LOAD_TIME,
    PATIENTS_CSV,
    DeliveryWriter,
    warehouse_state,
)

HEADER = PATIENTS_CSV.splitlines()[0]


def refused(folder: Path, db_path: Path) -> list[Violation]:
    """Ingest after a good batch; assert it is refused and nothing changed."""
    with pytest.raises(ContractError) as raised:
        ingest(folder, db_path, code_version="test", loaded_at=FIXED_LOAD_TIME)
    return raised.value.violations


@pytest.fixture
def loaded_db(write_delivery: DeliveryWriter, db_path: Path) -> Path:
    ingest(write_delivery("good"), db_path, code_version="test", loaded_at=FIXED_LOAD_TIME)
    return db_path


def assert_refused_unchanged(folder: Path, db_path: Path) -> list[Violation]:
    before = warehouse_state(db_path)
    violations = refused(folder, db_path)
    assert warehouse_state(db_path) == before
    return violations


def test_missing_required_file(write_delivery: DeliveryWriter, loaded_db: Path):
    [violation] = assert_refused_unchanged(write_delivery(expression=None), loaded_db)
    assert violation.rule == "required_file"
    assert "required table 'expression' is missing" in str(violation)


def test_refusal_on_a_new_warehouse_creates_no_file(write_delivery: DeliveryWriter, db_path: Path):
    refused(write_delivery(expression=None), db_path)
    assert not db_path.exists()


def test_missing_required_column_with_a_hint(write_delivery: DeliveryWriter, loaded_db: Path):
    text = PATIENTS_CSV.replace("death_date,", "Death_Date,", 1)
    [violation] = assert_refused_unchanged(write_delivery(patients=text), loaded_db)
    assert (violation.file, violation.column, violation.rule) == (
        "patients.csv",
        "death_date",
        "required_column",
    )
    assert "found 'Death_Date'" in violation.message


def test_empty_file(write_delivery: DeliveryWriter, loaded_db: Path):
    [violation] = assert_refused_unchanged(write_delivery(expression=""), loaded_db)
    assert (violation.file, violation.rule) == ("expression.csv", "non_empty_file")


def test_header_without_rows_in_a_required_table(write_delivery: DeliveryWriter, loaded_db: Path):
    [violation] = assert_refused_unchanged(write_delivery(patients=HEADER + "\n"), loaded_db)
    assert (violation.file, violation.rule) == ("patients.csv", "has_rows")


def test_latin1_bytes_in_a_data_row(write_delivery: DeliveryWriter, loaded_db: Path):
    text = PATIENTS_CSV + "P-004,F,66,2011-02-03,I,Lenalidomid f\xfcr alle,,,2014-01-01\n"
    [violation] = assert_refused_unchanged(
        write_delivery(patients=text.encode("latin-1")), loaded_db
    )
    assert (violation.file, violation.rule, violation.row) == ("patients.csv", "utf8_encoding", 4)
    assert "line 5" in violation.message


def test_utf16_file(write_delivery: DeliveryWriter, loaded_db: Path):
    [violation] = assert_refused_unchanged(
        write_delivery(cytogenetics=CYTOGENETICS_CSV.encode("utf-16")), loaded_db
    )
    assert violation.rule == "utf8_encoding" and "UTF-16" in violation.message


def test_semicolon_delimiter(write_delivery: DeliveryWriter, loaded_db: Path):
    text = EXPRESSION_CSV.replace(",", ";")
    [violation] = assert_refused_unchanged(write_delivery(expression=text), loaded_db)
    assert (violation.file, violation.rule) == ("expression.csv", "comma_delimiter")
    assert "semicolon" in violation.message


def test_duplicate_header(write_delivery: DeliveryWriter, loaded_db: Path):
    lines = EXPRESSION_CSV.splitlines()
    text = "\n".join([lines[0] + ",unit"] + [line + ",ct" for line in lines[1:]]) + "\n"
    [violation] = assert_refused_unchanged(write_delivery(expression=text), loaded_db)
    assert (violation.rule, violation.column) == ("unique_header", "unit")
    assert "appears 2 times" in violation.message


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("name", "name"),
        ("Patient Name", "name"),
        ("email", "e-mail"),
        ("phone", "phone"),
        ("street_address", "address"),
        ("mrn", "record number"),
        ("date_of_birth", "birth date"),
        ("DOB", "birth date"),
    ],
)
def test_direct_identifier_columns(
    write_delivery: DeliveryWriter, loaded_db: Path, column: str, kind: str
):
    lines = PATIENTS_CSV.splitlines()
    text = "\n".join([lines[0] + f",{column}"] + [line + ",x" for line in lines[1:]]) + "\n"
    [violation] = assert_refused_unchanged(write_delivery(patients=text), loaded_db)
    assert (violation.rule, violation.column) == ("no_direct_identifiers", column)
    assert kind in violation.message


def test_row_with_too_many_fields_names_the_row(write_delivery: DeliveryWriter, loaded_db: Path):
    text = EXPRESSION_CSV + "P-003,IKZF1,27.0,qRT-PCR,ct,1,GAPDH,surplus\n"
    [violation] = assert_refused_unchanged(write_delivery(expression=text), loaded_db)
    assert (violation.rule, violation.row) == ("consistent_field_count", 6)
    assert "8 fields where the header has 7" in violation.message


def test_unterminated_quote(write_delivery: DeliveryWriter, loaded_db: Path):
    text = CYTOGENETICS_CSV + 'P-003,"t(14;16),present,FISH\n'
    [violation] = assert_refused_unchanged(write_delivery(cytogenetics=text), loaded_db)
    assert (violation.file, violation.rule) == ("cytogenetics.csv", "csv_quoting")


def test_unsupported_format_and_ambiguous_files(write_delivery: DeliveryWriter, loaded_db: Path):
    folder = write_delivery()
    (folder / "patients_old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (folder / "expression_v2.csv").write_text(EXPRESSION_CSV)
    violations = assert_refused_unchanged(folder, loaded_db)
    rules = {violation.rule: violation for violation in violations}
    assert set(rules) == {"supported_format", "one_file_per_table"}
    assert rules["supported_format"].file == "patients_old.xls"
    assert "expression.csv, expression_v2.csv" in rules["one_file_per_table"].file


def test_column_rules_for_extras(write_delivery: DeliveryWriter, loaded_db: Path):
    lines = PATIENTS_CSV.splitlines()
    patients = (
        "\n".join([lines[0] + ",_batch_id,Hb (g/dL)"] + [line + ",1,12" for line in lines[1:]])
        + "\n"
    )
    cyto_lines = CYTOGENETICS_CSV.splitlines()
    cytogenetics = (
        "\n".join([cyto_lines[0] + ",comment"] + [line + ",x" for line in cyto_lines[1:]]) + "\n"
    )
    violations = assert_refused_unchanged(
        write_delivery(patients=patients, cytogenetics=cytogenetics), loaded_db
    )
    found = {(violation.file, violation.column, violation.rule) for violation in violations}
    assert found == {
        ("patients.csv", "_batch_id", "reserved_column_name"),
        ("patients.csv", "Hb (g/dL)", "extra_column_name"),
        ("cytogenetics.csv", "comment", "known_columns"),
    }


def test_all_problems_are_reported_at_once(write_delivery: DeliveryWriter, loaded_db: Path):
    folder = write_delivery(patients="", expression=EXPRESSION_CSV.replace(",", "\t"))
    violations = assert_refused_unchanged(folder, loaded_db)
    assert {(v.file, v.rule) for v in violations} == {
        ("patients.csv", "non_empty_file"),
        ("expression.csv", "comma_delimiter"),
    }


def test_excel_row_wider_than_header(write_delivery: DeliveryWriter, loaded_db: Path):
    import openpyxl

    folder = write_delivery(cytogenetics=None)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["patient_id", "aberration", "status", "method"])
    sheet.append(["P-001", "del(17p)", "absent", "FISH"])
    sheet.append(["P-002", "del(17p)", "absent", "FISH", "stray note"])
    workbook.save(folder / "cytogenetics.xlsx")
    [violation] = assert_refused_unchanged(folder, loaded_db)
    assert (violation.file, violation.rule, violation.row) == (
        "cytogenetics.xlsx",
        "consistent_field_count",
        2,
    )


def test_message_names_file_row_column_and_rule():
    violation = Violation("patients.csv", "some_rule", "is wrong", column="sex", row=7)
    assert str(violation) == "patients.csv, row 7, column 'sex': is wrong [rule: some_rule]"
