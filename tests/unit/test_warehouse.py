"""The warehouse access layer: connecting, all-or-nothing writes, rows as dicts, named queries."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.warehouse import (
    connect,
    existing_tables,
    fetch_dicts,
    latest_analysis_run_id,
    table_columns,
    transaction,
)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("create table numbers (n integer primary key, word varchar)")
    return connection


def numbers(con: duckdb.DuckDBPyConnection) -> list[int]:
    return [row[0] for row in con.execute("select n from numbers order by n").fetchall()]


def test_a_read_write_open_creates_the_folder_and_switches_the_progress_bar_off(tmp_path: Path):
    db_path = tmp_path / "new" / "study.duckdb"
    with connect(db_path) as con:
        [(progress_bar,)] = con.execute("select current_setting('enable_progress_bar')").fetchall()
        con.execute("create table t (x integer)")
    assert progress_bar is False
    assert db_path.is_file()
    with connect(db_path, read_only=True) as con, pytest.raises(duckdb.Error):
        con.execute("insert into t values (1)")  # read-only: no write gets through


def test_a_read_only_open_of_a_missing_warehouse_says_what_to_run(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="run `cohort ingest` first"):
        connect(tmp_path / "missing.duckdb", read_only=True)
    assert not (tmp_path / "missing.duckdb").exists()


def test_a_transaction_commits_when_the_block_ends(con: duckdb.DuckDBPyConnection):
    with transaction(con):
        con.execute("insert into numbers values (1, 'one'), (2, 'two')")
    assert numbers(con) == [1, 2]


def test_a_transaction_keeps_nothing_when_the_block_fails(con: duckdb.DuckDBPyConnection):
    with pytest.raises(RuntimeError, match="disk full"), transaction(con):
        con.execute("insert into numbers values (1, 'one')")
        raise RuntimeError("disk full")
    assert numbers(con) == []
    with transaction(con):  # the connection is usable again
        con.execute("insert into numbers values (3, 'three')")
    assert numbers(con) == [3]


def test_a_failed_statement_rolls_back_and_its_error_is_not_hidden(
    con: duckdb.DuckDBPyConnection,
):
    con.execute("insert into numbers values (1, 'one')")
    with pytest.raises(duckdb.ConstraintException), transaction(con):
        con.execute("insert into numbers values (2, 'two')")
        con.execute("insert into numbers values (1, 'again')")  # aborts the transaction
    assert numbers(con) == [1]


def test_an_interrupt_rolls_back_too(con: duckdb.DuckDBPyConnection):
    with pytest.raises(KeyboardInterrupt), transaction(con):
        con.execute("insert into numbers values (1, 'one')")
        raise KeyboardInterrupt
    assert numbers(con) == []


def test_a_discarded_transaction_rolls_back_without_an_error(con: duckdb.DuckDBPyConnection):
    with transaction(con) as changes:
        con.execute("insert into numbers values (1, 'one')")
        assert numbers(con) == [1]  # visible inside
        changes.discard()
    assert numbers(con) == []


def test_rows_come_back_as_dicts_in_query_order(con: duckdb.DuckDBPyConnection):
    con.execute("insert into numbers values (2, 'two'), (1, 'one')")
    assert fetch_dicts(con, "select word, n from numbers order by n") == [
        {"word": "one", "n": 1},
        {"word": "two", "n": 2},
    ]
    assert fetch_dicts(con, "select n from numbers where n = ?", [2]) == [{"n": 2}]
    assert fetch_dicts(con, "select n from numbers where n = $n", {"n": 1}) == [{"n": 1}]
    assert fetch_dicts(con, "select n from numbers where n > 5") == []


def test_existing_tables_and_their_columns(con: duckdb.DuckDBPyConnection):
    con.execute("create schema results; create table results.runs (b integer, a varchar)")
    con.execute("create view results.latest as select * from results.runs")
    assert {"main.numbers", "results.runs", "results.latest"} <= existing_tables(con)
    assert existing_tables(con, "results") == {"results.runs", "results.latest"}
    assert existing_tables(con, "quality") == set()
    assert table_columns(con, "results", "runs") == ["b", "a"]
    assert table_columns(con, "results", "missing") == []


def test_the_latest_succeeded_analysis_run(con: duckdb.DuckDBPyConnection):
    assert latest_analysis_run_id(con) is None  # never analysed: no results schema
    con.execute(
        "create schema results; "
        "create table results.analysis_runs (run_id varchar, status varchar, finished_at timestamp)"
    )
    assert latest_analysis_run_id(con) is None
    con.execute(
        "insert into results.analysis_runs values "
        "('old', 'succeeded', '2026-01-01'), ('new', 'succeeded', '2026-02-01'), "
        "('broken', 'failed', '2026-03-01')"
    )
    assert latest_analysis_run_id(con) == "new"
    assert latest_analysis_run_id(con, run_id="old") == "old"
    assert latest_analysis_run_id(con, run_id="broken") is None
    assert latest_analysis_run_id(con, run_id="unknown") is None
