"""Read-only SQL on the warehouse for analysts (``cohort sql``).

Any DuckDB 2.x client can open the warehouse read-only; this module adds what a
study needs on top of that. The file is opened read-only, so a query can never change
a study's results; only one statement that reads is accepted, so a pasted script or a
``copy ... to`` cannot slip through either (DuckDB lets a read-only connection write
files with ``copy``); DuckDB's errors come back as messages that say what to do next;
and an export replaces its file all or nothing. User documentation: docs/warehouse.md,
section "Querying the warehouse".
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipelines.errors import CohortError, ExitCode
from pipelines.warehouse import connect

ExportFormat = Literal["csv", "parquet"]

#: ``copy ... to`` options per export format: CSV with a header row, or Parquet.
COPY_OPTIONS: dict[str, str] = {"csv": "format csv, header", "parquet": "format parquet"}

#: Rows a query shows unless told otherwise: a screenful; exports carry every row.
DEFAULT_ROW_LIMIT = 50

_Type = duckdb.StatementType

#: Statements that read and can stand inside ``select * from (...)`` or ``copy (...)``:
#: select, with, values, ``from``-first, show, describe, summarize, a pivot with an
#: ``in`` list.
_QUERY_TYPES = frozenset({_Type.SELECT})

#: Statements that only read but DuckDB cannot nest (``explain select ...``,
#: ``pragma table_info('marts.cohort_patients')``, ``call duckdb_tables()``): they can be
#: shown, not exported. Writes they might attempt are refused by the read-only file.
_SHOW_ONLY_TYPES = frozenset({_Type.EXPLAIN, _Type.PRAGMA, _Type.CALL})

#: DuckDB numeric type ids; their columns are right-aligned in the display.
_NUMERIC_TYPE_IDS = frozenset(
    {
        "tinyint",
        "smallint",
        "integer",
        "bigint",
        "hugeint",
        "utinyint",
        "usmallint",
        "uinteger",
        "ubigint",
        "uhugeint",
        "float",
        "double",
        "decimal",
        "varint",
        "bignum",
    }
)

_TABLE_HINT = (
    'List the tables with `cohort sql "show all tables"`; docs/warehouse.md describes '
    "every schema and docs/results.md the result tables."
)


class SqlError(CohortError):
    """``cohort sql`` could not answer; the message says why and what to do."""

    exit_code = ExitCode.BAD_INPUT


class QueryError(SqlError):
    """The query was refused (not one read-only query) or DuckDB rejected it."""


class ExportError(SqlError):
    """The export file cannot be written where it was asked for."""


class WarehouseUnavailable(SqlError):
    """The warehouse file is missing, locked by a writer, or not readable by DuckDB."""

    exit_code = ExitCode.NOT_READY


@dataclass(frozen=True)
class QueryResult:
    """What a query returned: its columns and the first rows of ``total_rows``.

    ``rows`` holds at most the row limit asked for, so a query over a genome-wide
    expression table does not fill the terminal or the memory; ``total_rows`` is the
    size of the whole result, for "showing 50 of 1,234 rows".
    """

    columns: tuple[str, ...]
    column_types: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    total_rows: int

    @property
    def is_truncated(self) -> bool:
        return len(self.rows) < self.total_rows

    @property
    def numeric_columns(self) -> tuple[bool, ...]:
        """Per column, whether it holds numbers (DuckDB type), to right-align them."""
        return tuple(
            column_type.split("(")[0].lower() in _NUMERIC_TYPE_IDS
            for column_type in self.column_types
        )


@dataclass(frozen=True)
class ExportResult:
    """An export written: the file, its format and rows (None when DuckDB did not say)."""

    path: Path
    file_format: ExportFormat
    rows: int | None


@contextlib.contextmanager
def open_warehouse(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse read-only, turning DuckDB's connection errors into advice.

    A read-only open takes a shared lock: any number of readers (this command, the
    DuckDB CLI, R, DBeaver) can hold the file together, but not while one process
    holds it for writing.
    """
    try:
        con = connect(db_path, read_only=True)
    except FileNotFoundError as error:
        raise WarehouseUnavailable(str(error)) from error
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise WarehouseUnavailable(_locked_message(db_path, error)) from error
        raise WarehouseUnavailable(f"cannot open the warehouse {db_path}: {error}") from error
    except duckdb.Error as error:
        raise WarehouseUnavailable(f"cannot open the warehouse {db_path}: {error}") from error
    try:
        yield con
    finally:
        con.close()


def run_query(db_path: Path, query: str, *, limit: int | None = DEFAULT_ROW_LIMIT) -> QueryResult:
    """Run one read-only query and return its columns and first ``limit`` rows.

    ``limit=None`` returns every row. The query runs once when the result fits within
    the limit; a longer result is counted with a second pass (``count(*)`` over the
    query, which DuckDB answers without building the rows), so the display never holds
    more than ``limit + 1`` rows.
    """
    if limit is not None and limit < 0:
        raise QueryError(f"the row limit must be 0 or more, not {limit}")
    with open_warehouse(db_path) as con:
        text, _ = _single_read_statement(con, query)
        try:
            relation = con.sql(text)
            if relation is None:  # e.g. a pragma that sets something and returns nothing
                raise QueryError(f"the statement returned no result: {_shorten(text)}")
            columns = tuple(relation.columns)
            column_types = tuple(str(column_type) for column_type in relation.types)
            if limit is None:
                rows = relation.fetchall()
                total_rows = len(rows)
            else:
                rows = relation.limit(limit + 1).fetchall()
                total_rows = len(rows) if len(rows) <= limit else len(relation)
                rows = rows[:limit]
        except duckdb.Error as error:
            raise QueryError(_query_failed_message(error)) from error
    return QueryResult(columns, column_types, rows, total_rows)


def export_query(
    db_path: Path, query: str, destination: Path, *, file_format: ExportFormat
) -> ExportResult:
    """Write the whole result of one read-only query to ``destination`` (CSV or Parquet).

    DuckDB writes a hidden temporary file next to ``destination`` with
    ``copy (<query>) to ...``, which is renamed onto it (``os.replace``, atomic within a
    folder) only when the query finished: a failing query leaves neither a half file
    nor a damaged earlier export. The temporary name ends with the destination's
    name, so DuckDB still sees a compression suffix such as ``.csv.gz``.
    """
    if file_format not in COPY_OPTIONS:
        raise ExportError(f"unknown export format {file_format!r}; use csv or parquet")
    if destination.is_dir():
        raise ExportError(f"{destination} is a folder; give a file name for the export")
    if not destination.parent.is_dir():
        raise ExportError(f"no folder {destination.parent} to write {destination.name} into")
    with open_warehouse(db_path) as con:
        text, statement_type = _single_read_statement(con, query)
        if statement_type not in _QUERY_TYPES:
            raise QueryError(
                f"only a query (select, with, from, values, show, describe, summarize) can be "
                f"exported; {statement_type.name.lower()} statements can only be shown"
            )
        temporary = destination.with_name(f".{uuid.uuid4().hex[:12]}.tmp.{destination.name}")
        copy = f"copy (\n{text}\n) to {_sql_string(str(temporary))} ({COPY_OPTIONS[file_format]})"
        try:
            written = con.execute(copy).fetchall()
            os.replace(temporary, destination)
        except duckdb.Error as error:
            raise QueryError(_query_failed_message(error)) from error
        except OSError as error:
            raise ExportError(f"cannot write {destination}: {error}") from error
        finally:
            temporary.unlink(missing_ok=True)
    rows = int(written[0][0]) if written and written[0] else None
    return ExportResult(destination, file_format, rows)


def print_result(console: Console, result: QueryResult) -> None:
    """Print the rows as a table: NULL as a dim ``null``, numbers right-aligned.

    Values are shown as text, never as rich markup, so a value such as ``[red]`` is
    printed as written; long values wrap rather than being cut.
    """
    table = Table(show_lines=False)
    for name, is_numeric in zip(result.columns, result.numeric_columns, strict=True):
        table.add_column(Text(name), justify="right" if is_numeric else "left", overflow="fold")
    for row in result.rows:
        table.add_row(*(_cell(value) for value in row))
    console.print(table)
    noun = "row" if result.total_rows == 1 else "rows"
    if result.is_truncated:
        console.print(
            f"showing {len(result.rows):,} of {result.total_rows:,} {noun} "
            "(--limit to show more, --csv or --parquet to export all)",
            highlight=False,
            markup=False,
        )
    else:
        console.print(f"{result.total_rows:,} {noun}", highlight=False, markup=False)


def _single_read_statement(
    con: duckdb.DuckDBPyConnection, query: str
) -> tuple[str, duckdb.StatementType]:
    """The query's one statement, without its trailing semicolon, if it only reads.

    DuckDB's own parser decides (not a regular expression), so comments, quoted
    semicolons and ``with`` clauses are understood as DuckDB understands them.
    """
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as error:
        raise QueryError(_query_failed_message(error)) from error
    if not statements:
        raise QueryError("no SQL statement given")
    if len(statements) > 1:
        raise QueryError(
            f"give one statement at a time; got {len(statements)} (cohort sql runs a single query)"
        )
    statement = statements[0]
    text = statement.query.strip().rstrip(";").strip()
    if statement.type in _QUERY_TYPES or statement.type in _SHOW_ONLY_TYPES:
        return text, statement.type
    if statement.type == _Type.MULTI and _is_query_expression(con, text):
        # DuckDB runs a pivot whose columns come from the data as several statements;
        # it is still a query when it can stand inside a subquery. A "create table ...
        # as pivot" or a "copy (pivot ...) to" is MULTI too, and fails that test.
        return text, _Type.SELECT
    raise QueryError(
        f"cohort sql is read-only; {_statement_name(statement.type)} statements are refused. "
        "Run a query (select, with, from, show, describe, summarize); the warehouse "
        "is changed only by the pipeline's steps."
    )


def _is_query_expression(con: duckdb.DuckDBPyConnection, text: str) -> bool:
    try:
        wrapped = con.extract_statements(f"select * from (\n{text}\n)")
    except duckdb.Error:
        return False
    return len(wrapped) == 1


def _statement_name(statement_type: duckdb.StatementType) -> str:
    return statement_type.name.lower().replace("_", " ")


def _query_failed_message(error: duckdb.Error) -> str:
    message = str(error).strip()
    if isinstance(error, duckdb.CatalogException) and "does not exist" in message:
        message = f"{message}\n{_TABLE_HINT}"
    return message


def _locked_message(db_path: Path, error: duckdb.Error) -> str:
    return (
        f"the warehouse {db_path} is locked: a step is writing it right now (the "
        "single-step commands such as cohort ingest, build, validate and analyze write "
        "the file in place). Retry when it has finished, or query the published "
        "warehouse: cohort run works on a copy and replaces the file atomically, so it "
        f"never blocks readers.\nDuckDB: {error}"
    )


def _sql_string(text: str) -> str:
    """A SQL string literal (single quotes doubled), for the file name in ``copy``."""
    return "'" + text.replace("'", "''") + "'"


def _shorten(text: str, width: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _cell(value: Any) -> Text:
    if value is None:
        return Text("null", style="dim")
    if isinstance(value, bool):
        return Text("true" if value else "false")
    return Text(str(value))
