"""Great Expectations' SQL route, made to work on DuckDB (GX 1.24, duckdb-engine 0.17).

Why this exists: GX validates SQL tables where they live, which is what a 20-million-row
expression table needs (the pandas route would copy it into memory). As shipped, the
route is broken on DuckDB (GX issues 10738 and 11579): ``execute_query`` runs a query
inside ``with self.get_connection()``, which for DuckDB opens and *closes* a connection
per query, and every caller fetches the rows after the close. duckdb-engine's cursor is
the DuckDB connection itself, so the rows are gone: ``fetchall()`` returns ``[]`` and
every metric fails with ``IndexError``.

The fix keeps one connection open for the engine's life, as GX already does for
SQLite, so results stream (GX's ``fetchmany(200)`` reads 200 rows, not the table).
It touches GX internals (``_connection``), so ``tests/integration/test_gx_duckdb.py``
proves it on the pinned versions and turns red the day upstream fixes the defect.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Literal

import sqlalchemy
from great_expectations.datasource.fluent.sql_datasource import SQLDatasource
from great_expectations.execution_engine.sqlalchemy_execution_engine import (
    SqlAlchemyExecutionEngine,
)


class DuckDBSqlAlchemyExecutionEngine(SqlAlchemyExecutionEngine):
    """A SQLAlchemy engine that keeps its one DuckDB connection open until ``close``."""

    @contextlib.contextmanager
    def get_connection(self) -> Iterator[sqlalchemy.Connection]:
        if self._connection is None or self._connection.closed:
            self._connection = self.engine.connect()
            # DuckDB draws a progress bar on stdout for long queries (the scale cohort);
            # it is a per-connection setting (not allowed in the connect config).
            self._connection.exec_driver_sql("set enable_progress_bar = false")
        try:
            yield self._connection
        except Exception:
            # A failed statement must not poison the expectations after it.
            with contextlib.suppress(Exception):
                self._connection.rollback()
            raise

    def close(self) -> None:
        """Close the kept connection too: the base class leaves it (and the file lock)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        super().close()


class DuckDBSQLDatasource(SQLDatasource):
    """``context.data_sources.add_duckdb_sql(...)``: a SQL datasource with the fixed engine.

    Defining the class registers the ``duckdb_sql`` type with GX's fluent datasources.
    """

    type: Literal["duckdb_sql"] = "duckdb_sql"  # type: ignore[assignment]

    @property
    def execution_engine_type(self) -> type[SqlAlchemyExecutionEngine]:
        return DuckDBSqlAlchemyExecutionEngine


def close_datasource(datasource: Any) -> None:
    """Release the DuckDB file held by a SQL datasource.

    A fluent SQL datasource owns two SQLAlchemy engines (its own, used when a table
    asset is added, and the execution engine's); each keeps a DuckDB connection and so
    the file lock until disposed. dbt or a later step cannot write until both go.
    """
    engine = getattr(datasource, "_execution_engine", None)
    if engine is not None:
        engine.close()
        datasource._execution_engine = None
    sql_engine = getattr(datasource, "_engine", None)
    if sql_engine is not None:
        sql_engine.dispose()
        datasource._engine = None
