"""The DuckDB warehouse file: how to open it, write to it and read it, and its raw schema.

Every step opens the file through :func:`connect` (read-only or read-write, DuckDB's
progress bar off), writes through :func:`transaction` (all or nothing), reads rows
as dicts with :func:`fetch_dicts`, and asks the questions several modules ask (which
tables exist, the latest succeeded analysis run) through the named queries below.

Raw tables keep every delivered value as text, exactly as delivered, plus load
metadata; typing and cleaning happen in dbt staging, where a failed cast is recorded
rather than hidden.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from pipelines.contract import TABLES
from pipelines.errors import WarehouseMissing

DEFAULT_DB_PATH = Path("warehouse/cohort.duckdb")

#: Columns the ingest adds to every raw row.
LOAD_METADATA_COLUMNS: dict[str, str] = {
    "_batch_id": "bigint not null",
    "_source_file": "varchar not null",
    "_source_sha256": "varchar not null",
    "_row_number": "bigint not null",
    "_loaded_at": "timestamp not null",
}

RAW_BOOKKEEPING_DDL = """
create schema if not exists raw;
create table if not exists raw.batches (
    batch_id bigint primary key,
    loaded_at timestamp not null,
    input_folder varchar not null,
    contract_version integer not null,
    code_version varchar not null,
    is_simulated boolean not null,
    tables_loaded integer not null,
    rows_loaded bigint not null
    -- and the columns of BATCHES_ADDED_COLUMNS
);
create table if not exists raw.batch_files (
    batch_id bigint not null,
    table_name varchar not null,
    is_delivered boolean not null,
    source_file varchar,
    source_sha256 varchar,
    file_format varchar,
    row_count bigint,
    columns varchar[],
    data_batch_id bigint,
    primary key (batch_id, table_name)
);
create or replace view raw.current_batch_files as
select *
from raw.batch_files
where batch_id = (select max(batch_id) from raw.batches);
"""

#: Columns added to ``raw.batches`` after warehouses already existed: added (with their
#: defaults filled into earlier batches) by :func:`ensure_raw_schema`, so old warehouses
#: keep working. Earlier batches were not pseudonymised.
BATCHES_ADDED_COLUMNS: dict[str, str] = {
    "is_pseudonymised": "boolean default false",
    "pseudonym_key_check": "varchar",
}


def connect(db_path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; a read-write open creates the folder and the file."""
    if read_only:
        if not db_path.exists():
            raise WarehouseMissing(f"no warehouse at {db_path}; run `cohort ingest` first")
        con = duckdb.connect(str(db_path), read_only=True)
    else:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(db_path))
    # DuckDB draws a progress bar on stdout for long queries; the CLI prints its own.
    con.execute("set enable_progress_bar = false")
    return con


class Transaction:
    """The open transaction of :func:`transaction`; :meth:`discard` ends it with a rollback."""

    def __init__(self) -> None:
        self.is_discarded = False

    def discard(self) -> None:
        """Roll back instead of committing when the block ends (e.g. nothing new to load)."""
        self.is_discarded = True


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[Transaction]:
    """Run the block in one transaction: commit if it ends normally, else roll back.

    Any exception (and Ctrl-C) rolls back and is raised again; a failing rollback (the
    transaction may already be aborted) never hides it. So a step's rows appear
    together or not at all.
    """
    con.execute("begin transaction")
    state = Transaction()
    try:
        yield state
        con.execute("rollback" if state.is_discarded else "commit")
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # already ended if the commit failed
            con.execute("rollback")
        raise


def fetch_dicts(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    parameters: Sequence[Any] | Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Every row of the query as a dict keyed by column name, in the query's order."""
    cursor = con.execute(sql, parameters) if parameters is not None else con.execute(sql)
    names = [column[0] for column in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# --- named queries: questions several modules ask of the warehouse --------------------


def existing_tables(con: duckdb.DuckDBPyConnection, schema: str | None = None) -> set[str]:
    """``schema.name`` of every table and view (of ``schema`` only, if given).

    Asking first, rather than catching DuckDB's catalog error, keeps an open
    transaction usable and works on a read-only connection.
    """
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where ? is null or table_schema = ?",
        [schema, schema],
    ).fetchall()
    return {f"{table_schema}.{name}" for table_schema, name in rows}


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table_name: str) -> list[str]:
    """The table's column names in their order; empty if it does not exist."""
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table_name],
    ).fetchall()
    return [row[0] for row in rows]


def latest_analysis_run_id(
    con: duckdb.DuckDBPyConnection, *, run_id: str | None = None
) -> str | None:
    """The latest succeeded analysis run, or ``run_id`` if that run succeeded.

    None when there is no such run, also when the warehouse was never analysed (no
    ``results`` schema). The view ``results.latest_run`` answers the same question in
    SQL for analysts.
    """
    if "results.analysis_runs" not in existing_tables(con, "results"):
        return None
    rows = con.execute(
        "select run_id from results.analysis_runs where status = 'succeeded' "
        "and ($run is null or run_id = $run) order by finished_at desc limit 1",
        {"run": run_id},
    ).fetchall()
    return str(rows[0][0]) if rows else None


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and its tables if this warehouse is new (idempotent).

    An older warehouse gets the columns added since it was created, so that upgrading
    the code never requires rebuilding the warehouse.
    """
    con.execute(RAW_BOOKKEEPING_DDL)
    for column, kind in BATCHES_ADDED_COLUMNS.items():
        con.execute(f"alter table raw.batches add column if not exists {column} {kind}")
    metadata = ", ".join(f"{name} {kind}" for name, kind in LOAD_METADATA_COLUMNS.items())
    for table in TABLES:
        columns = ", ".join(f"{column} varchar" for column in table.known_columns)
        con.execute(f"create table if not exists raw.{table.name} ({columns}, {metadata})")


def existing_columns(con: duckdb.DuckDBPyConnection, table_name: str) -> set[str]:
    """The columns the raw table has now (delivered extra columns are added over time)."""
    return set(table_columns(con, "raw", table_name))
