"""Run the suites against the warehouse with Great Expectations, where the data live.

Each expectation is validated through GX's SQL route on the DuckDB file (read-only; see
:mod:`pipelines.validate.gx_duckdb` for the fix that makes the route work), so a
20-million-row expression table is never copied into pandas.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipelines.errors import CohortError, ExitCode
from pipelines.validate.results import MAX_EXAMPLE_IDS, ExpectationOutcome, ValidationRun
from pipelines.validate.suites import (
    DEFAULT_SUITES_DIR,
    UNEXPECTED_ROWS,
    CheckSpec,
    SuiteError,
    load_suites,
)
from pipelines.warehouse import connect, existing_tables

#: Column-level results: counts and up to 20 example patient ids (GX SUMMARY format).
COLUMN_RESULT_FORMAT = {
    "result_format": "SUMMARY",
    "unexpected_index_column_names": ["patient_id"],
    "partial_unexpected_count": MAX_EXAMPLE_IDS,
    "return_unexpected_index_query": False,
}
#: Unexpected-rows results: GX returns up to 200 of the rows themselves (COMPLETE).
ROWS_RESULT_FORMAT = {"result_format": "COMPLETE"}
#: Rows described in the observed value of an unexpected-rows check.
DESCRIBED_ROWS = 5
#: DuckDB memory cap while validating: the genome-wide tables need no more.
VALIDATION_MEMORY_LIMIT = "2GB"


class ValidationRefused(CohortError, RuntimeError):
    """The warehouse cannot be validated (not built yet); nothing was run."""

    exit_code = ExitCode.NOT_READY


def validate_warehouse(
    db_path: Path,
    *,
    code_version: str,
    critical_fields: Sequence[str] = (),
    suites_dir: Path = DEFAULT_SUITES_DIR,
) -> ValidationRun:
    """Validate every suite in ``suites_dir`` against the warehouse at ``db_path``.

    ``critical_fields`` are the cohort fields the study uses (covariates, subgroups):
    their completeness checks become critical. Raises :class:`SuiteError` for a bad
    suite file and :class:`ValidationRefused` for an unbuilt warehouse, both before
    anything is validated.
    """
    import great_expectations as gx  # slow; imported first so run times exclude it

    started_at = _now()
    checks = load_suites(suites_dir)
    batch_id, is_simulated = _require_built(db_path, {check.table_name for check in checks})
    expectations = {
        check.expectation_id: compile_expectation(check, check.severity_for(critical_fields))
        for check in checks
    }
    outcomes = _run(db_path, checks, expectations, critical_fields)
    return ValidationRun(
        run_id=f"{started_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}",
        started_at=started_at,
        finished_at=_now(),
        db_path=db_path,
        batch_id=batch_id,
        is_simulated=is_simulated,
        code_version=code_version,
        gx_version=gx.__version__,
        critical_fields=tuple(critical_fields),
        outcomes=tuple(outcomes),
        suites=tuple(dict.fromkeys(check.suite for check in checks)),
    )


def compile_expectation(check: CheckSpec, severity: str) -> Any:
    """The GX expectation object for one suite entry (errors name the suite entry)."""
    import great_expectations.expectations as gxe

    from pipelines.validate.identifiers import ExpectNoColumnToLookLikeADirectIdentifier

    meta = {"id": check.expectation_id, "suite": check.suite, "title": check.title}
    try:
        if check.expectation_type == UNEXPECTED_ROWS:
            return gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=check.query,
                description=check.title,
                severity=severity,
                meta=meta,
            )
        custom = {
            "ExpectNoColumnToLookLikeADirectIdentifier": ExpectNoColumnToLookLikeADirectIdentifier
        }
        expectation_class = custom.get(check.expectation_type) or getattr(
            gxe, check.expectation_type, None
        )
        if expectation_class is None:
            raise SuiteError(f"unknown expectation type '{check.expectation_type}'")
        kwargs = dict(check.kwargs)
        if check.tolerated_percent is not None:
            if "mostly" not in getattr(expectation_class, "__fields__", {}):
                raise SuiteError(f"{check.expectation_type} takes no tolerated_percent")
            kwargs["mostly"] = 1.0 - check.tolerated_percent / 100.0
        return expectation_class(**kwargs, severity=severity, meta=meta)
    except SuiteError as error:
        raise SuiteError(f"{check.suite}: expectation {check.expectation_id}: {error}") from error
    except Exception as error:  # pydantic rejects bad kwargs with its own error types
        raise SuiteError(
            f"{check.suite}: expectation {check.expectation_id}: invalid kwargs for "
            f"{check.expectation_type}: {error}"
        ) from error


def _run(
    db_path: Path,
    checks: Sequence[CheckSpec],
    expectations: dict[str, Any],
    critical_fields: Sequence[str],
) -> list[ExpectationOutcome]:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from pipelines.validate.gx_duckdb import close_datasource

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    datasource = context.data_sources.add_duckdb_sql(
        name="warehouse",
        connection_string=f"duckdb:///{db_path.resolve()}",
        kwargs={
            "connect_args": {
                "read_only": True,
                "config": {"memory_limit": VALIDATION_MEMORY_LIMIT},
            }
        },
    )
    # One GX suite per table and result format: GX then resolves the metrics of all
    # expectations on a table together instead of one validator per expectation.
    groups: dict[tuple[str, bool], list[CheckSpec]] = defaultdict(list)
    for check in checks:
        groups[(check.table_name, check.expectation_type == UNEXPECTED_ROWS)].append(check)
    outcomes: dict[str, ExpectationOutcome] = {}
    assets: dict[str, Any] = {}
    try:
        for (table_name, returns_rows), group in groups.items():
            if table_name not in assets:
                assets[table_name] = (
                    datasource.add_table_asset(name=table_name, table_name=table_name)
                    .add_batch_definition_whole_table("whole table")
                    .get_batch()
                )
            suite = gx.ExpectationSuite(
                name=f"{table_name} ({'rows' if returns_rows else 'columns'})",
                expectations=[expectations[check.expectation_id] for check in group],
            )
            suite_result = assets[table_name].validate(
                suite,
                result_format=ROWS_RESULT_FORMAT if returns_rows else COLUMN_RESULT_FORMAT,
            )
            by_id = {
                result.expectation_config.meta["id"]: result for result in suite_result.results
            }
            for check in group:
                outcomes[check.expectation_id] = to_outcome(
                    check, check.severity_for(critical_fields), by_id[check.expectation_id]
                )
    finally:
        close_datasource(datasource)
    return [outcomes[check.expectation_id] for check in checks]


def to_outcome(check: CheckSpec, severity: str, result: Any) -> ExpectationOutcome:
    """Turn GX's validation result into the product's outcome record."""
    details = result.result or {}
    exception = result.exception_info or {}
    error = None
    if exception.get("raised_exception"):
        error = str(exception.get("exception_message") or "expectation could not run")
    elif exception and "raised_exception" not in exception:  # keyed by metric id
        messages = [
            str(info.get("exception_message"))
            for info in exception.values()
            if isinstance(info, dict) and info.get("raised_exception")
        ]
        error = "; ".join(messages) or None
    common = {
        "suite": check.suite,
        "dimension": check.dimension,
        "expectation_id": check.expectation_id,
        "title": check.title,
        "expectation_type": check.expectation_type,
        "table_name": check.table_name,
        "column_name": check.column_name,
        "severity": severity,
        "success": bool(result.success) and error is None,
        "error": error,
    }
    if check.expectation_type == UNEXPECTED_ROWS:
        rows = (details.get("details") or {}).get("unexpected_rows") or []
        count = details.get("observed_value")
        return ExpectationOutcome(
            **common,
            observed_value=_describe_rows(count, rows),
            unexpected_count=int(count) if count is not None else None,
            tolerated_percent=0.0,
            example_patient_ids=_distinct_ids(row.get("patient_id") for row in rows),
        )
    index_rows = details.get("partial_unexpected_index_list") or []
    observed = details.get("observed_value")
    return ExpectationOutcome(
        **common,
        observed_value=None if observed is None else str(observed),
        element_count=details.get("element_count"),
        unexpected_count=details.get("unexpected_count"),
        unexpected_percent=details.get("unexpected_percent"),
        tolerated_percent=check.tolerated_percent,
        example_patient_ids=_distinct_ids(
            row.get("patient_id") for row in index_rows if isinstance(row, dict)
        ),
    )


def _describe_rows(count: Any, rows: list[dict[str, Any]]) -> str | None:
    """'3 rows: patients_simulated.csv row 15 diagnosis_date='31.02.2010' (...); ...'."""
    if count is None:
        return None
    described = []
    for row in rows[:DESCRIBED_ROWS]:
        if "source_file" in row:
            described.append(
                f"{row.get('source_file')} row {row.get('source_row_number')} "
                f"{row.get('column_name')}={row.get('value')!r} ({row.get('detail')})"
            )
        else:
            described.append(", ".join(f"{key}={value}" for key, value in row.items()))
    more = f"; and {int(count) - len(described)} more" if int(count) > len(described) else ""
    return f"{count} row(s)" + (": " + "; ".join(described) if described else "") + more


def _distinct_ids(ids: Any) -> tuple[str, ...]:
    unique = dict.fromkeys(str(patient_id) for patient_id in ids if patient_id is not None)
    return tuple(list(unique)[:MAX_EXAMPLE_IDS])


def _require_built(db_path: Path, tables: set[str]) -> tuple[int | None, bool]:
    """Refuse before GX starts when the warehouse or a validated table is missing."""
    if not db_path.is_file():
        raise ValidationRefused(f"no warehouse at {db_path}; run `cohort ingest` first")
    with connect(db_path, read_only=True) as con:
        missing = sorted(tables - existing_tables(con))
        if missing:
            raise ValidationRefused(
                f"{db_path} is not built ({', '.join(missing)} missing); run `cohort build` first"
            )
        batch = con.execute(
            "select batch_id, is_simulated from raw.batches order by batch_id desc limit 1"
        ).fetchall()
    return (int(batch[0][0]), bool(batch[0][1])) if batch else (None, False)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
