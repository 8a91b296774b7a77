"""Pseudonymisation at ingest: keyed hashes of cleaned ids, never the ids or the key.

The pinned values below are HMAC-SHA-256 of the documented message (docs/raw-contract.md,
"Pseudonymisation"): if the format changes, every earlier pseudonymised warehouse and
every data owner's mapping breaks, so a change must fail here first.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.cli import EXIT_CONTRACT, app
from pipelines.errors import ContractError, Violation
from pipelines.ingest import ingest
from pipelines.pseudonym import (
    KEY_VARIABLE,
    PseudonymKeyError,
    clean_patient_id,
    key_check,
    load_key,
    pseudonym,
)
from tests.conftest import (
    CYTOGENETICS_CSV,
    EXPRESSION_CSV,
    FIXED_LOAD_TIME,
    PATIENTS_CSV,
    DeliveryWriter,
    warehouse_state,
)

KEY = b"test-key-0123456789abcdef0123456789abcdef"
OTHER_KEY = b"another-key-0123456789abcdef0123456789ab"
ORIGINAL_IDS = ("P-001", "P-002", "P-003")
NEW_PATIENT = "P-004,F,70,2011-01-01,I,len+chemo,,,2015-01-01\n"

runner = CliRunner()


def run(folder: Path, db_path: Path, key: bytes | None = KEY):
    return ingest(
        folder, db_path, code_version="test", loaded_at=FIXED_LOAD_TIME, pseudonym_key=key
    )


def query(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def refused(folder: Path, db_path: Path, key: bytes | None) -> Violation:
    """Ingest must be refused with one violation and leave the warehouse as it was."""
    before = warehouse_state(db_path)
    with pytest.raises(ContractError) as raised:
        run(folder, db_path, key)
    assert warehouse_state(db_path) == before
    [violation] = raised.value.violations
    assert violation.file == str(folder)
    return violation


# --- the pseudonym and the key check -------------------------------------------------


def test_the_pseudonym_format_is_fixed():
    expected = "PS-" + hmac.new(KEY, b"P-001", hashlib.sha256).hexdigest()[:20]
    assert pseudonym(KEY, "P-001") == expected == "PS-324bbf182bf4a9dee6bc"
    assert pseudonym(OTHER_KEY, "P-001") != expected
    assert pseudonym(KEY, "P-002") != expected


def test_whitespace_variants_map_to_the_same_pseudonym_as_staging_sees_them():
    same = {pseudonym(KEY, text) for text in ("P-001", " P-001", "P-001  ", "\u00a0P-001\u3000")}
    assert same == {"PS-324bbf182bf4a9dee6bc"}
    # DuckDB's trim() (staging's clean_text) keeps tabs, so staging sees another id
    assert pseudonym(KEY, "\tP-001") != "PS-324bbf182bf4a9dee6bc"


def test_cleaning_matches_duckdb_trim_for_every_white_space_character():
    candidates = sorted(
        {chr(code) for code in range(0x3001) if chr(code).isspace()}
        | {chr(code) for code in range(0x3001) if unicodedata.category(chr(code)) == "Zs"}
    )
    texts = [f"{char}P-001{char}" for char in candidates] + [char * 2 for char in candidates]
    with duckdb.connect() as con:
        cleaned = con.execute(
            "select list(nullif(trim(text), '') order by position) "
            "from unnest(?::varchar[]) with ordinality as delivered(text, position)",
            [texts],
        ).fetchall()[0][0]
    assert [clean_patient_id(text) for text in texts] == cleaned


def test_a_blank_id_has_no_pseudonym():
    assert clean_patient_id("   ") is None and clean_patient_id(None) is None
    with pytest.raises(ValueError, match="blank patient id"):
        pseudonym(KEY, "  ")


def test_the_key_check_identifies_the_key_without_being_a_pseudonym():
    expected = hmac.new(KEY, b"cohort-pseudonym-key-check", hashlib.sha256).hexdigest()[:16]
    assert key_check(KEY) == expected == "5090cb70655be7f7"
    assert key_check(OTHER_KEY) != expected


# --- loading the key -------------------------------------------------------------------


def test_the_key_comes_from_the_variable():
    assert load_key(None, environ={KEY_VARIABLE: KEY.decode()}) == KEY


def test_a_key_file_wins_and_its_trailing_newline_is_dropped(tmp_path: Path):
    key_file = tmp_path / "study.key"
    key_file.write_text(KEY.decode() + "\n", encoding="utf-8")
    assert load_key(key_file, environ={KEY_VARIABLE: OTHER_KEY.decode()}) == KEY


def test_the_loaded_key_does_not_show_itself():
    key = load_key(None, environ={KEY_VARIABLE: KEY.decode()})
    for text in (repr(key), str(key), f"{key}", f"{key!r}"):
        assert KEY.decode() not in text and "key-0123" not in text
    assert key_check(key) in repr(key)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "no pseudonym key: $COHORT_PSEUDONYM_KEY is empty or unset"),
        ({KEY_VARIABLE: "\n"}, "no pseudonym key"),
        (
            {KEY_VARIABLE: "x" * 31},
            "has 31 characters; at least 32 are needed, because keyed hashes of short keys "
            "can be brute-forced",
        ),
    ],
)
def test_a_missing_or_short_key_is_refused(environ: dict[str, str], message: str):
    with pytest.raises(PseudonymKeyError) as raised:
        load_key(None, environ=environ)
    assert message in str(raised.value)
    assert "x" * 31 not in str(raised.value)


def test_a_missing_key_file_is_refused(tmp_path: Path):
    with pytest.raises(PseudonymKeyError, match=r"cannot read the key file .*nope\.key"):
        load_key(tmp_path / "nope.key", environ={KEY_VARIABLE: KEY.decode()})


# --- ingest ----------------------------------------------------------------------------


def test_ids_in_every_raw_table_are_replaced(write_delivery: DeliveryWriter, db_path: Path):
    expression = EXPRESSION_CSV.replace("P-002,IKZF1", " P-002 ,IKZF1")
    result = run(write_delivery(expression=expression), db_path)
    assert result.is_pseudonymised and result.is_new_batch
    ps1, ps2, ps3 = (pseudonym(KEY, patient) for patient in ORIGINAL_IDS)
    ids = {
        table: [
            patient
            for (patient,) in query(
                db_path, f"select patient_id from raw.{table} order by _row_number"
            )
        ]
        for table in ("patients", "cytogenetics", "expression")
    }
    assert ids == {
        "patients": [ps1, ps2, ps3],
        "cytogenetics": [ps1, ps1, ps2],
        "expression": [ps1, ps1, ps1, ps2, ps2],
    }
    # every other value is still stored exactly as delivered
    assert query(db_path, "select age_at_diagnosis from raw.patients order by _row_number") == [
        ("61",),
        (" 58 ",),
        ("NA",),
    ]
    assert query(
        db_path, "select batch_id, is_pseudonymised, pseudonym_key_check from raw.batches"
    ) == [(1, True, key_check(KEY))]


def test_no_original_id_and_no_key_anywhere_in_the_warehouse(
    write_delivery: DeliveryWriter, db_path: Path
):
    run(write_delivery(), db_path)
    secrets = (*ORIGINAL_IDS, KEY.decode(), KEY.decode()[:16])
    with duckdb.connect(str(db_path), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "join information_schema.tables using (table_catalog, table_schema, table_name) "
            "where table_type = 'BASE TABLE'"
        ).fetchall()
        assert {table for schema, table, _ in columns if schema == "raw"} >= {
            "patients",
            "cytogenetics",
            "expression",
            "batches",
        }
        found = [
            (schema, table, column, secret)
            for schema, table, column in columns
            for secret in secrets
            if con.execute(
                f'select count(*) from "{schema}"."{table}" '
                f'where contains(cast("{column}" as varchar), ?)',
                [secret],
            ).fetchall()[0][0]
        ]
    assert found == []


def test_null_and_blank_ids_are_kept_for_the_quality_checks(
    write_delivery: DeliveryWriter, db_path: Path
):
    lines = PATIENTS_CSV.splitlines(keepends=True)
    patients = "".join([*lines, ",F,50,2011-01-01,I,x,,,2015-01-01\n", '"  ",M,51,,,,,,\n'])
    run(write_delivery(patients=patients), db_path)
    rows = query(db_path, "select patient_id from raw.patients order by _row_number")
    assert [patient for (patient,) in rows][3:] == [None, "  "]


def test_the_same_files_again_add_nothing(write_delivery: DeliveryWriter, db_path: Path):
    folder = write_delivery()
    run(folder, db_path)
    before = warehouse_state(db_path)
    again = run(folder, db_path)
    assert not again.is_new_batch and again.is_pseudonymised and again.batch_id == 1
    assert warehouse_state(db_path) == before


def test_the_same_key_gives_the_same_pseudonyms_in_a_later_batch(
    write_delivery: DeliveryWriter, db_path: Path
):
    run(write_delivery(), db_path)
    second = run(write_delivery(patients=PATIENTS_CSV + NEW_PATIENT), db_path)
    assert second.batch_id == 2 and second.is_pseudonymised
    statuses = {load.table_name: load.status for load in second.tables}
    assert statuses == {
        "patients": "loaded",
        "cytogenetics": "unchanged",
        "expression": "unchanged",
    }
    by_batch = query(
        db_path,
        "select _batch_id, list(patient_id order by _row_number) from raw.patients "
        "group by 1 order by 1",
    )
    first_ids = [pseudonym(KEY, patient) for patient in ORIGINAL_IDS]
    assert by_batch == [(1, first_ids), (2, [*first_ids, pseudonym(KEY, "P-004")])]
    assert query(db_path, "select is_pseudonymised, pseudonym_key_check from raw.batches") == [
        (True, key_check(KEY)),
        (True, key_check(KEY)),
    ]


def test_a_different_key_is_refused_naming_the_earlier_batch(
    write_delivery: DeliveryWriter, db_path: Path
):
    run(write_delivery(), db_path)
    violation = refused(write_delivery(patients=PATIENTS_CSV + NEW_PATIENT), db_path, OTHER_KEY)
    assert violation.rule == "pseudonym_key"
    assert "batch 1 of this warehouse was pseudonymised with another key" in violation.message
    assert key_check(KEY) in violation.message and key_check(OTHER_KEY) in violation.message


def test_pseudonymised_files_after_plain_ones_are_refused_even_when_unchanged(
    write_delivery: DeliveryWriter, db_path: Path
):
    folder = write_delivery()
    run(folder, db_path, key=None)
    violation = refused(folder, db_path, KEY)
    assert violation.rule == "pseudonymisation_mixed"
    assert "batch 1 of this warehouse holds ids that were not pseudonymised" in violation.message


def test_plain_files_after_pseudonymised_ones_are_refused(
    write_delivery: DeliveryWriter, db_path: Path
):
    run(write_delivery(), db_path)
    for folder in (write_delivery(), write_delivery(patients=PATIENTS_CSV + NEW_PATIENT)):
        violation = refused(folder, db_path, None)
        assert violation.rule == "pseudonymisation_mixed"
        assert "batch 1 of this warehouse was pseudonymised and this ingest is not" in str(
            violation
        )


def test_a_short_key_is_refused_before_a_warehouse_is_created(
    write_delivery: DeliveryWriter, db_path: Path
):
    with pytest.raises(ContractError) as raised:
        run(write_delivery(), db_path, key=b"short-key")
    [violation] = raised.value.violations
    assert violation.rule == "pseudonym_key"
    assert "has 9 characters" in violation.message and "brute-forced" in violation.message
    assert not db_path.exists()


def test_an_older_warehouse_gets_the_new_columns(write_delivery: DeliveryWriter, db_path: Path):
    run(write_delivery(), db_path, key=None)
    with duckdb.connect(str(db_path)) as con:  # as written before pseudonymisation existed
        con.execute("alter table raw.batches drop column is_pseudonymised")
        con.execute("alter table raw.batches drop column pseudonym_key_check")
    violation = refused(write_delivery(patients=PATIENTS_CSV + NEW_PATIENT), db_path, KEY)
    assert violation.rule == "pseudonymisation_mixed" and "batch 1" in violation.message
    second = run(write_delivery(patients=PATIENTS_CSV + NEW_PATIENT), db_path, key=None)
    assert second.batch_id == 2 and not second.is_pseudonymised
    rows = query(
        db_path,
        "select batch_id, is_pseudonymised, pseudonym_key_check from raw.batches order by 1",
    )
    assert rows == [(1, False, None), (2, False, None)]


# --- the command line ------------------------------------------------------------------


def test_cli_pseudonymises_with_a_key_file_and_never_prints_the_key(
    write_delivery: DeliveryWriter, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(KEY_VARIABLE, OTHER_KEY.decode())
    key_file = tmp_path / "study.key"
    key_file.write_text(KEY.decode() + "\n", encoding="utf-8")
    args = ["ingest", str(write_delivery()), "--db", str(db_path), "--pseudonymise"]
    result = runner.invoke(app, [*args, "--pseudonym-key-file", str(key_file)])
    assert result.exit_code == 0, result.output
    assert "Loaded batch 1" in result.output and "(pseudonymised)" in result.output
    assert KEY.decode() not in result.output and OTHER_KEY.decode() not in result.output
    patients = query(db_path, "select patient_id from raw.patients order by _row_number")
    assert patients[0] == (pseudonym(KEY, "P-001"),)  # the file's key, not the variable's


@pytest.mark.parametrize(
    ("key", "message"),
    [(None, "no pseudonym key"), ("too-short", "has 9 characters; at least 32")],
)
def test_cli_refuses_a_missing_or_short_key(
    write_delivery: DeliveryWriter,
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    key: str | None,
    message: str,
):
    if key is None:
        monkeypatch.delenv(KEY_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(KEY_VARIABLE, key)
    folder = write_delivery()
    result = runner.invoke(app, ["ingest", str(folder), "--db", str(db_path), "--pseudonymise"])
    assert result.exit_code == EXIT_CONTRACT
    assert "nothing was written" in result.output
    assert message in result.output and "[rule: pseudonym_key]" in result.output
    assert not db_path.exists()


def test_cli_refuses_a_key_file_without_the_flag(
    write_delivery: DeliveryWriter, db_path: Path, tmp_path: Path
):
    key_file = tmp_path / "study.key"
    key_file.write_text(KEY.decode(), encoding="utf-8")
    folder = write_delivery()
    args = ["ingest", str(folder), "--db", str(db_path), "--pseudonym-key-file", str(key_file)]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})  # one line in the error box
    assert result.exit_code == 2
    assert "only read with --pseudonymise" in result.output
    assert not db_path.exists()


def test_cli_refuses_plain_files_into_a_pseudonymised_warehouse(
    write_delivery: DeliveryWriter, db_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(KEY_VARIABLE, KEY.decode())
    folder = write_delivery(cytogenetics=CYTOGENETICS_CSV)
    first = runner.invoke(app, ["ingest", str(folder), "--db", str(db_path), "--pseudonymise"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["ingest", str(folder), "--db", str(db_path)])
    assert second.exit_code == EXIT_CONTRACT
    assert "[rule: pseudonymisation_mixed]" in second.output
