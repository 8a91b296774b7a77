"""Turn one raw file into a DuckDB relation of text columns plus ``_row_number``.

The readers never guess: CSV is read with the contract's dialect (comma, double
quote, header, UTF-8) and strict field counts, every column as text; Parquet and
Excel values are rendered as text. ``_row_number`` is the 1-based data row in the
file (header excluded), so a quality finding can point a user at the row to fix.
Large files stream through DuckDB; nothing is materialised in Python except Excel
sheets, which are small by nature.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from pipelines.excel import iter_text_rows
from pipelines.rawfiles import InspectedFile

#: Rows per Arrow chunk when an Excel sheet is handed to DuckDB.
EXCEL_CHUNK_ROWS = 50_000


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class SourceRelation:
    """SQL of a subquery over one raw file.

    ``is_numbered`` is false when ``_row_number`` is a placeholder that the caller
    fills after the insert (see :func:`pipelines.ingest.number_rows`).
    """

    sql: str
    is_numbered: bool


def source_relation(con: duckdb.DuckDBPyConnection, inspected: InspectedFile) -> SourceRelation:
    """A subquery yielding the file's columns as varchar plus ``_row_number``."""
    fmt = inspected.raw_file.file_format
    if fmt == "csv":
        return SourceRelation(_csv_sql(inspected), is_numbered=False)
    if fmt == "parquet":
        return SourceRelation(_parquet_sql(inspected), is_numbered=True)
    return SourceRelation(_excel_sql(con, inspected), is_numbered=True)


def _csv_sql(inspected: InspectedFile) -> str:
    columns = ", ".join(f"{_literal(column)}: 'varchar'" for column in inspected.columns)
    # DuckDB's CSV reader has no row-number column, and row_number() over () runs as a
    # single-threaded streaming window (slower: docs/performance.md). The reader is parallel
    # but insertion order is preserved, so the rows are numbered after the insert.
    return (
        "select *, 0::bigint as _row_number from read_csv("
        f"{_literal(str(inspected.raw_file.path))}, header = true, auto_detect = false, "
        f"columns = {{{columns}}}, delim = ',', quote = '\"', escape = '\"', "
        "strict_mode = true, null_padding = false, encoding = 'utf-8')"
    )


def _parquet_sql(inspected: InspectedFile) -> str:
    casts = ", ".join(
        f"cast({_identifier(column)} as varchar) as {_identifier(column)}"
        for column in inspected.columns
    )
    return (
        f"select {casts}, file_row_number + 1 as _row_number from read_parquet("
        f"{_literal(str(inspected.raw_file.path))}, file_row_number = true)"
    )


def _excel_sql(con: duckdb.DuckDBPyConnection, inspected: InspectedFile) -> str:
    columns = list(inspected.columns)
    schema = pa.schema(
        [pa.field(column, pa.string()) for column in columns]
        + [pa.field("_row_number", pa.int64())]
    )
    rows = iter_text_rows(inspected.raw_file.path, len(columns))
    batches = []
    while chunk := list(itertools.islice(rows, EXCEL_CHUNK_ROWS)):
        arrays = [
            pa.array([cells[i] for _, cells in chunk], pa.string()) for i in range(len(columns))
        ]
        arrays.append(pa.array([number for number, _ in chunk], pa.int64()))
        batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
    view_name = f"_excel_{inspected.raw_file.table.name}"
    con.register(view_name, pa.Table.from_batches(batches, schema=schema))
    return f"select * from {view_name}"
