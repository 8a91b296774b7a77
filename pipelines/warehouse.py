"""The DuckDB warehouse file: where it lives and the raw schema every batch lands in.

Raw tables keep every delivered value as text, exactly as delivered, plus load
metadata; typing and cleaning happen in dbt staging, where a failed cast is recorded
rather than hidden.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.contract import TABLES

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
            raise FileNotFoundError(f"no warehouse at {db_path}; run `cohort ingest` first")
        con = duckdb.connect(str(db_path), read_only=True)
    else:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(db_path))
    # DuckDB draws a progress bar on stdout for long queries; the CLI prints its own.
    con.execute("set enable_progress_bar = false")
    return con


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
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = 'raw' and table_name = ?",
        [table_name],
    ).fetchall()
    return {row[0] for row in rows}
