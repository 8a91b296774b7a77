"""`cohort sql` on a real DuckDB file: rows, limits, exports, refusals, locks."""

from __future__ import annotations

import contextlib
import csv
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.cli import EXIT_CONTRACT, EXIT_NOT_READY, app
from pipelines.sql import open_warehouse, run_query

pytestmark = [pytest.mark.integration]

runner = CliRunner()

PATIENTS = "select * from marts.cohort_patients order by patient_id"

WAREHOUSE_SQL = """
create schema marts;
create table marts.cohort_patients as
select
    'P-' || lpad(i::varchar, 3, '0') as patient_id,
    case when i % 4 = 0 then 'high' else 'standard' end as cytogenetic_risk,
    i * 10 as pfs_days,
    i % 3 = 0 as is_pfs_event
from range(1, 121) as numbers (i);
create schema results;
create table results.logrank_tests (
    biomarker varchar, endpoint varchar, p_value double, n integer
);
insert into results.logrank_tests values
    ('IKZF1', 'pfs', 0.017, 60),
    ('IKZF1', 'os', 0.018, 60),
    ('CRBN', 'pfs', null, 5);
"""


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A small warehouse built directly with DuckDB: 120 patients, three test rows."""
    db_path = tmp_path / "warehouse" / "cohort.duckdb"
    db_path.parent.mkdir()
    with duckdb.connect(str(db_path)) as con:
        con.execute(WAREHOUSE_SQL)
    return db_path


def cohort_sql(*args: str | Path, stdin: str | None = None):
    return runner.invoke(app, ["sql", *map(str, args)], input=stdin)


def table_rows(db_path: Path, query: str = PATIENTS) -> list[tuple]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(query).fetchall()


@contextlib.contextmanager
def held_by_another_process(db_path: Path, *, read_only: bool) -> Iterator[None]:
    """Another DuckDB client holds the file open until the block ends.

    The child says "ready" once it holds the file and waits for a line on stdin, so
    the test needs no sleeps.
    """
    script = (
        "import sys, duckdb\n"
        "con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == 'read_only')\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n"
    )
    mode = "read_only" if read_only else "read_write"
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(db_path), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        yield
    finally:
        child.communicate("\n", timeout=60)
    assert child.returncode == 0


def test_a_select_shows_its_rows_nulls_and_count(warehouse: Path):
    result = cohort_sql(
        "select biomarker, endpoint, p_value, n from results.logrank_tests order by all",
        "--db",
        warehouse,
    )
    assert result.exit_code == 0, result.output
    assert "biomarker" in result.output and "p_value" in result.output
    assert "IKZF1" in result.output and "0.017" in result.output
    assert "null" in result.output
    assert "3 rows" in result.output


def test_numbers_are_right_aligned(warehouse: Path):
    result = cohort_sql(
        "select n, biomarker from results.logrank_tests order by n", "--db", warehouse
    )
    assert result.exit_code == 0, result.output
    # The one-digit value sits under the right end of the two-digit ones.
    five = next(line for line in result.output.splitlines() if "CRBN" in line)
    sixty = next(line for line in result.output.splitlines() if "IKZF1" in line)
    assert five.index("5") == sixty.index("60") + 1
    assert run_query(warehouse, "select * from results.logrank_tests").numeric_columns == (
        False,
        False,
        True,
        True,
    )


def test_the_default_limit_shows_50_rows_and_says_how_many_there_are(warehouse: Path):
    result = cohort_sql(PATIENTS, "--db", warehouse)
    assert result.exit_code == 0, result.output
    assert "showing 50 of 120 rows" in result.output
    assert "P-050" in result.output and "P-051" not in result.output


def test_limit_keeps_the_query_order(warehouse: Path):
    result = cohort_sql(
        "select patient_id from marts.cohort_patients order by patient_id desc",
        "--db",
        warehouse,
        "--limit",
        "3",
    )
    assert result.exit_code == 0, result.output
    assert "showing 3 of 120 rows" in result.output
    shown = [line for line in result.output.splitlines() if "P-" in line]
    assert [line.split()[1] for line in shown] == ["P-120", "P-119", "P-118"]


def test_the_query_can_come_from_a_file_or_stdin(warehouse: Path, tmp_path: Path):
    query_file = tmp_path / "query.sql"
    query_file.write_text(
        "-- patients at high risk\nselect count(*) as high_risk\n"
        "from marts.cohort_patients where cytogenetic_risk = 'high';\n"
    )
    from_file = cohort_sql("--file", query_file, "--db", warehouse)
    assert from_file.exit_code == 0, from_file.output
    assert "30" in from_file.output and "1 row" in from_file.output
    from_stdin = cohort_sql("-", "--db", warehouse, stdin="select 42 as answer")
    assert from_stdin.exit_code == 0, from_stdin.output
    assert "42" in from_stdin.output
    from_stdin_file = cohort_sql("--file", "-", "--db", warehouse, stdin="select 43 as answer")
    assert "43" in from_stdin_file.output


def test_csv_export_has_every_row(warehouse: Path, tmp_path: Path):
    destination = tmp_path / "patients.csv"
    result = cohort_sql(PATIENTS, "--db", warehouse, "--csv", destination)
    assert result.exit_code == 0, result.output
    assert "Wrote 120 rows" in result.output
    with destination.open(newline="") as handle:
        exported = list(csv.reader(handle))
    expected = [
        [patient_id, risk, str(days), str(event).lower()]
        for patient_id, risk, days, event in table_rows(warehouse)
    ]
    assert exported[0] == ["patient_id", "cytogenetic_risk", "pfs_days", "is_pfs_event"]
    assert exported[1:] == expected


def test_parquet_export_keeps_values_and_types(warehouse: Path, tmp_path: Path):
    destination = tmp_path / "patients.parquet"
    # A trailing comment and semicolon must not break the copy around the query.
    result = cohort_sql(
        f"{PATIENTS} -- all of them\n;", "--db", warehouse, "--parquet", destination
    )
    assert result.exit_code == 0, result.output
    with duckdb.connect() as con:
        exported = con.execute(
            "select * from read_parquet(?) order by patient_id", [str(destination)]
        ).fetchall()
    assert exported == table_rows(warehouse)


@pytest.mark.parametrize(
    "statement",
    [
        "create table marts.copy_of_patients as select * from marts.cohort_patients",
        "insert into marts.cohort_patients values ('P-999', 'high', 1, true)",
        "delete from marts.cohort_patients",
        "update marts.cohort_patients set pfs_days = 0",
        "drop table marts.cohort_patients",
        "create temp table scratch (a integer)",
    ],
)
def test_writes_are_refused_and_change_nothing(warehouse: Path, statement: str):
    before = table_rows(warehouse)
    result = cohort_sql(statement, "--db", warehouse)
    assert result.exit_code == EXIT_CONTRACT, result.output
    assert "cohort sql is read-only" in result.output
    assert table_rows(warehouse) == before


@pytest.mark.parametrize(
    "statement",
    [
        "copy marts.cohort_patients to '{file}' (format csv)",
        "copy (pivot marts.cohort_patients on cytogenetic_risk using count(*)) to '{file}'",
    ],
)
def test_copy_to_a_file_is_refused(warehouse: Path, tmp_path: Path, statement: str):
    # A read-only DuckDB connection may still write files with copy: cohort sql may not.
    target = tmp_path / "leak.csv"
    result = cohort_sql(statement.format(file=target), "--db", warehouse)
    assert result.exit_code == EXIT_CONTRACT, result.output
    assert "cohort sql is read-only" in result.output
    assert not target.exists()


def test_a_pivot_is_a_query_but_create_as_pivot_is_not(warehouse: Path):
    pivot = "pivot marts.cohort_patients on cytogenetic_risk using count(*)"
    shown = cohort_sql(pivot, "--db", warehouse)
    assert shown.exit_code == 0, shown.output
    assert "high" in shown.output and "standard" in shown.output
    created = cohort_sql(f"create table marts.pivoted as {pivot}", "--db", warehouse)
    assert created.exit_code == EXIT_CONTRACT
    assert "cohort sql is read-only" in created.output


def test_catalog_statements_are_shown_but_only_queries_exported(warehouse: Path, tmp_path: Path):
    tables = cohort_sql("show all tables", "--db", warehouse)
    assert tables.exit_code == 0, tables.output
    assert "2 rows" in tables.output
    names = cohort_sql("select schema, name from (show all tables) order by all", "--db", warehouse)
    assert "cohort_patients" in names.output and "logrank_tests" in names.output
    columns = cohort_sql("pragma table_info('marts.cohort_patients')", "--db", warehouse)
    assert columns.exit_code == 0, columns.output
    assert "cytogenetic_risk" in columns.output
    explained = cohort_sql(
        "explain select * from marts.cohort_patients",
        "--db",
        warehouse,
        "--csv",
        tmp_path / "plan.csv",
    )
    assert explained.exit_code == EXIT_CONTRACT
    assert "explain statements can only be shown" in explained.output
    assert not (tmp_path / "plan.csv").exists()


def test_two_statements_are_refused(warehouse: Path):
    before = table_rows(warehouse)
    result = cohort_sql("select 1; delete from marts.cohort_patients", "--db", warehouse)
    assert result.exit_code == EXIT_CONTRACT, result.output
    assert "one statement at a time; got 2" in result.output
    assert table_rows(warehouse) == before


def test_a_syntax_error_names_the_problem(warehouse: Path):
    result = cohort_sql("selct * from marts.cohort_patients", "--db", warehouse)
    assert result.exit_code == EXIT_CONTRACT
    assert "syntax error" in result.output and "selct" in result.output


def test_an_unknown_table_points_to_the_list_of_tables(warehouse: Path):
    result = cohort_sql("select * from marts.no_such_table", "--db", warehouse)
    assert result.exit_code == EXIT_CONTRACT
    assert "no_such_table does not exist" in result.output
    assert 'cohort sql "show all tables"' in result.output


def test_a_missing_warehouse_exits_4(tmp_path: Path):
    missing = tmp_path / "nowhere.duckdb"
    result = cohort_sql("select 1", "--db", missing)
    assert result.exit_code == EXIT_NOT_READY
    assert f"no warehouse at {missing}" in " ".join(result.output.split())
    assert not missing.exists()


def test_usage_errors_exit_2(warehouse: Path, tmp_path: Path):
    no_query = cohort_sql("--db", warehouse)
    assert no_query.exit_code == 2
    both = cohort_sql(
        "select 1",
        "--db",
        warehouse,
        "--csv",
        tmp_path / "a.csv",
        "--parquet",
        tmp_path / "a.parquet",
    )
    assert both.exit_code == 2
    assert not (tmp_path / "a.csv").exists()


@pytest.mark.parametrize(
    "failing_query",
    [
        # fails while rows are being written (DuckDB's error() at the last row)
        "select case when pfs_days = 1200 then error('boom') else pfs_days end as days "
        "from marts.cohort_patients order by pfs_days",
        # fails before anything is written
        "select no_such_column from marts.cohort_patients",
    ],
)
@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_a_failing_export_leaves_the_earlier_export_intact(
    warehouse: Path, tmp_path: Path, failing_query: str, file_format: str
):
    exports = tmp_path / "exports"
    exports.mkdir()
    destination = exports / f"patients.{file_format}"
    first = cohort_sql(PATIENTS, "--db", warehouse, f"--{file_format}", destination)
    assert first.exit_code == 0, first.output
    earlier = destination.read_bytes()
    failed = cohort_sql(failing_query, "--db", warehouse, f"--{file_format}", destination)
    assert failed.exit_code == EXIT_CONTRACT, failed.output
    assert destination.read_bytes() == earlier
    assert [path.name for path in exports.iterdir()] == [destination.name]


def test_a_failing_first_export_leaves_no_file(warehouse: Path, tmp_path: Path):
    destination = tmp_path / "never.csv"
    result = cohort_sql("select error('boom')", "--db", warehouse, "--csv", destination)
    assert result.exit_code == EXIT_CONTRACT
    assert "boom" in result.output
    assert sorted(path.name for path in tmp_path.iterdir()) == ["warehouse"]


def test_other_clients_can_read_while_cohort_sql_holds_the_file(warehouse: Path):
    reader = (
        "import sys, duckdb\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "print(con.execute('select count(*) from marts.cohort_patients').fetchone()[0])\n"
    )
    with open_warehouse(warehouse) as con:
        other = subprocess.run(
            [sys.executable, "-c", reader, str(warehouse)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert con.execute("select count(*) from marts.cohort_patients").fetchone() == (120,)
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == "120"


def test_cohort_sql_reads_while_another_client_holds_the_file_read_only(warehouse: Path):
    with held_by_another_process(warehouse, read_only=True):
        result = cohort_sql(
            "select count(*) as patients from marts.cohort_patients", "--db", warehouse
        )
    assert result.exit_code == 0, result.output
    assert "120" in result.output


def test_a_writing_step_gives_a_clear_lock_message(warehouse: Path):
    with held_by_another_process(warehouse, read_only=False):
        result = cohort_sql("select 1", "--db", warehouse)
    assert result.exit_code == EXIT_NOT_READY
    message = " ".join(result.output.split())
    assert "is locked: a step is writing it right now" in message
    assert "Retry when it has finished, or query the published warehouse" in message
