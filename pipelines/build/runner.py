"""Run the dbt project on one warehouse file, in-process, and report what happened.

dbt runs through ``dbtRunner`` in this process (no second Python start-up;
docs/performance.md). Its artifacts and log go to a build folder next to the database, never into
the source tree, so several warehouses can be built from one checkout and a read-only
checkout works. DuckDB allows one writer per file: the failing rows of tests and the
cohort counts are read only after dbt has returned.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb

from pipelines.build.result import (
    EXAMPLE_ROW_LIMIT,
    BuildResult,
    CohortCounts,
    ExampleRows,
    RiskGroupCount,
    summarise_run,
)
from pipelines.build.settings import BuildSettings
from pipelines.errors import CohortError, ExitCode
from pipelines.warehouse import connect, existing_tables

#: The dbt project shipped with the package (``dbt_project/`` at the repository root).
PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
#: ``profiles.yml`` reads the warehouse path from this variable.
DB_PATH_VARIABLE = "COHORT_DB_PATH"
#: The mart whose risk-group counts a successful build prints.
COHORT_TABLE = "marts.cohort_patients"
#: Display order of the risk groups (explicit "unknown" last, never a silent NULL).
RISK_ORDER = ("high", "standard", "unknown")


class BuildRefused(CohortError, RuntimeError):
    """The warehouse is not ready to build (missing, or no raw batch ingested yet)."""

    exit_code = ExitCode.NOT_READY


def default_build_dir(db_path: Path) -> Path:
    """``<db_dir>/build/<db_stem>``: per-warehouse artifacts, outside the source tree."""
    return db_path.resolve().parent / "build" / db_path.stem


def build_cohort(
    db_path: Path,
    *,
    settings: BuildSettings,
    build_dir: Path | None = None,
) -> BuildResult:
    """``dbt build`` the project on ``db_path`` with ``settings`` as dbt vars.

    Raises :class:`BuildRefused` when the file does not exist or holds no raw batch.
    A failing test or model does not raise: it is in the returned result.
    """
    started = time.perf_counter()
    db_path = db_path.resolve()
    require_raw_batch(db_path)
    build_dir = (build_dir or default_build_dir(db_path)).resolve()
    args = [
        "build",
        *dbt_location_args(build_dir),
        # manifest.json and run_results.json cost time per build (docs/performance.md); the summary
        # reads dbt's result object instead (`cohort docs` writes its own manifest).
        "--no-write-json",
        "--vars",
        json.dumps(settings.to_dbt_vars()),
    ]
    _import_dbt()  # outside the dbt timer: import time is start-up, not dbt's work
    invoked = time.perf_counter()
    dbt_result = invoke_dbt(args, db_path)
    dbt_seconds = time.perf_counter() - invoked
    with _open_after_dbt(db_path) as con:
        result = summarise_run(
            dbt_result,
            db_path=db_path,
            build_dir=build_dir,
            settings=settings,
            dbt_seconds=dbt_seconds,
            read_examples=lambda relation: read_example_rows(con, relation) if con else None,
        )
        cohort = read_cohort_counts(con) if con and result.success else None
    return replace(result, cohort=cohort, wall_seconds=time.perf_counter() - started)


def dbt_location_args(build_dir: Path, *, target_dir: Path | None = None) -> list[str]:
    """Project, profile, artifact and log locations, plus a quiet console.

    Artifacts go to ``target_dir`` (default ``<build_dir>/target``). ``--log-level
    none`` silences dbt's console so the product's summary is the output;
    ``--log-level-file info`` keeps the full log in ``<build_dir>/logs``.
    """
    return [
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(target_dir or build_dir / "target"),
        "--log-path",
        str(build_dir / "logs"),
        "--log-level",
        "none",
        "--log-level-file",
        "info",
    ]


def invoke_dbt(args: list[str], db_path: Path) -> Any:
    """``dbtRunner().invoke(args)`` on ``db_path``; the file is released when it returns.

    dbt-duckdb keeps its DuckDB instance open after a run (``keep_open`` defaults to
    true, which saves reopening the file between nodes). Left open, it would make any
    later read-only open of the file in this process fail, so it is closed here.
    """
    dbt_runner = _import_dbt()
    with warehouse_path_for_dbt(db_path):
        try:
            return dbt_runner().invoke(args)
        finally:
            _release_dbt_duckdb()


def _import_dbt() -> Any:
    """dbt's runner class, imported only when dbt runs (a slow import: docs/performance.md)."""
    from dbt.cli.main import dbtRunner

    return dbtRunner


def _release_dbt_duckdb() -> None:
    """Close the DuckDB instance dbt-duckdb keeps in a class attribute after a run."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    try:
        environment = DuckDBConnectionManager.env()
    except Exception:  # dbt-duckdb raises a bare Exception when no run opened one
        return
    DuckDBConnectionManager.close_all_connections()
    environment.close()


@contextlib.contextmanager
def warehouse_path_for_dbt(db_path: Path) -> Iterator[None]:
    """Point ``profiles.yml`` at ``db_path`` for the dbt call, then restore the variable.

    The variable is the only channel into dbt's profile; restoring it keeps the
    setting local to this build (the rest of the process never reads it).
    """
    previous = os.environ.get(DB_PATH_VARIABLE)
    os.environ[DB_PATH_VARIABLE] = str(db_path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(DB_PATH_VARIABLE, None)
        else:
            os.environ[DB_PATH_VARIABLE] = previous


def require_raw_batch(db_path: Path) -> None:
    """Refuse a missing warehouse or one that has never been ingested into."""
    hint = f"run `cohort ingest <folder> --db {db_path}` first"
    if not db_path.is_file():
        raise BuildRefused(f"no warehouse at {db_path}; {hint}")
    try:
        with connect(db_path, read_only=True) as con:
            found = "raw.batches" in existing_tables(con, "raw")
            batches = con.execute("select count(*) from raw.batches").fetchall() if found else []
    except duckdb.IOException as error:  # e.g. another process holds the write lock
        raise BuildRefused(f"cannot open {db_path}: {error}") from error
    if not batches or batches[0][0] == 0:
        raise BuildRefused(f"no raw batch in {db_path}; {hint}")


@contextlib.contextmanager
def _open_after_dbt(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A connection to read stored failures and counts after dbt has finished.

    None if another process holds the file's lock: dbt's own error then says why, and
    there are no rows to show.
    """
    try:
        con = connect(db_path)
    except duckdb.IOException:
        yield None
        return
    try:
        yield con
    finally:
        con.close()


def read_example_rows(con: duckdb.DuckDBPyConnection, relation_name: str) -> ExampleRows | None:
    """Up to :data:`EXAMPLE_ROW_LIMIT` stored failing rows; None if dbt stored none."""
    try:
        cursor = con.execute(f"select * from {relation_name} limit {EXAMPLE_ROW_LIMIT}")
        rows = cursor.fetchall()
    except duckdb.CatalogException:
        return None
    columns = tuple(column[0] for column in cursor.description or ())
    return ExampleRows(columns=columns, rows=tuple(tuple(row) for row in rows))


def read_cohort_counts(con: duckdb.DuckDBPyConnection) -> CohortCounts | None:
    """Patients and exclusions by cytogenetic risk; None while the mart does not exist."""
    try:
        rows = con.execute(
            f"select cytogenetic_risk, count(*), count(*) filter (where is_excluded) "
            f"from {COHORT_TABLE} group by cytogenetic_risk"
        ).fetchall()
    except duckdb.CatalogException:
        return None
    groups = sorted(
        (
            RiskGroupCount(str(risk) if risk is not None else "null", int(patients), int(excluded))
            for risk, patients, excluded in rows
        ),
        key=lambda group: (_risk_rank(group.cytogenetic_risk), group.cytogenetic_risk),
    )
    return CohortCounts(
        patients=sum(group.patients for group in groups),
        excluded=sum(group.excluded for group in groups),
        by_risk=tuple(groups),
    )


def _risk_rank(risk: str) -> int:
    return RISK_ORDER.index(risk) if risk in RISK_ORDER else len(RISK_ORDER)
