"""What the readers of one analysis run see, read from the warehouse as typed rows.

The queries behind the run report page (:mod:`pipelines.report.html`): the run and its
recorded settings, the quality gate, "Table 1", each biomarker's result tables and the
warnings; the headline results the terminal shares are in
:mod:`pipelines.report.summary_queries`. The page only formats these rows. Each row type
is a ``TypedDict`` whose keys are the query's columns: rows are plain dicts (what a
rows-as-dicts helper returns), and :func:`typed_rows` checks that a query returns exactly
the columns its type names, so a query and its readers cannot drift apart silently.

Only aggregate tables are read; never ``results.group_assignments`` or any table with
patient ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict, TypeVar

import duckdb

from pipelines.report.settings import RunSettings

#: Endpoints first PFS then OS, groupings alphabetically, the whole cohort before subgroups.
_ORDER = (
    "case endpoint when 'pfs' then 0 when 'os' then 1 else 2 end, endpoint, grouping, "
    "case when subgroup = 'all' then 0 else 1 end, subgroup"
)

Row = TypeVar("Row", bound=Mapping[str, Any])


# --------------------------------------------------------------------------- run, gate


class AnalysisRunRow(TypedDict):
    run_id: str
    study: str
    status: str
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    spec_path: str | None
    spec_sha256: str | None
    input_sha256: str | None
    batch_id: int | None
    is_simulated: bool | None
    dbt_invocation_id: str | None
    quality_run_id: str | None
    code_version: str | None
    settings: str | None


class QualityGateRow(TypedDict):
    run_id: str
    started_at: dt.datetime | None
    verdict: str
    n_expectations: int | None
    n_passed: int | None
    n_critical_failed: int | None
    n_warnings: int | None
    report_path: str | None


@dataclass(frozen=True)
class AnalysisRun:
    """One ``results.analysis_runs`` row with its recorded settings parsed."""

    row: AnalysisRunRow
    settings: RunSettings


def analysis_run(con: duckdb.DuckDBPyConnection, run_id: str) -> AnalysisRun | None:
    rows = typed_rows(
        con,
        AnalysisRunRow,
        """
        select run_id, study, status, started_at, finished_at, spec_path, spec_sha256,
            input_sha256, batch_id, is_simulated, dbt_invocation_id, quality_run_id,
            code_version, settings
        from results.analysis_runs where run_id = ?
        """,
        [run_id],
    )
    return AnalysisRun(rows[0], RunSettings.from_json(rows[0]["settings"])) if rows else None


def run_settings(con: duckdb.DuckDBPyConnection, run_id: str) -> RunSettings:
    """The settings recorded with the run (spec defaults for keys an older run lacks)."""
    rows = con.execute(
        "select settings from results.analysis_runs where run_id = ?", [run_id]
    ).fetchall()
    return RunSettings.from_json(rows[0][0] if rows else None)


def quality_gate(con: duckdb.DuckDBPyConnection, quality_run_id: str) -> QualityGateRow | None:
    rows = typed_rows(
        con,
        QualityGateRow,
        """
        select run_id, started_at, verdict, n_expectations, n_passed, n_critical_failed,
            n_warnings, report_path
        from quality.validation_runs where run_id = ?
        """,
        [quality_run_id],
    )
    return rows[0] if rows else None


# --------------------------------------------------------------------------- Table 1


class BaselineRow(TypedDict):
    display_order: int
    characteristic: str
    category: str | None
    cytogenetic_risk: str
    n_group: int
    summary: str | None


def baseline_rows(con: duckdb.DuckDBPyConnection) -> list[BaselineRow]:
    """``marts.cohort_baseline`` (the current build of the marts), in display order."""
    return typed_rows(
        con,
        BaselineRow,
        "select display_order, characteristic, category, cytogenetic_risk, n_group, summary "
        "from marts.cohort_baseline order by display_order, characteristic, category",
    )


# --------------------------------------------------------------------------- result tables


def run_biomarkers(con: duckdb.DuckDBPyConnection, run_id: str) -> list[str]:
    """Biomarkers with group or Cox results in the run, alphabetically."""
    rows = con.execute(
        "select distinct biomarker from results.group_summary where run_id = ? "
        "union select distinct biomarker from results.cox_models where run_id = ? "
        "order by 1",
        [run_id, run_id],
    ).fetchall()
    return [str(biomarker) for (biomarker,) in rows]


class GroupRow(TypedDict):
    endpoint: str
    grouping: str
    subgroup: str
    group_label: str
    n: int | None
    events: int | None
    cutpoint_low: float | None
    cutpoint_high: float | None
    median_days: float | None
    median_ci_lower: float | None
    median_ci_upper: float | None
    status: str | None
    n_at_risk: int | None
    survival: float | None
    ci_lower: float | None
    ci_upper: float | None
    ci_status: str | None


def group_rows(
    con: duckdb.DuckDBPyConnection, run_id: str, biomarker: str, *, landmark_years: float
) -> list[GroupRow]:
    """Each group's size, events, expression range, median and survival at the landmark."""
    return typed_rows(
        con,
        GroupRow,
        f"""
        select endpoint, grouping, subgroup, group_label, g.n, g.events,
            g.cutpoint_low, g.cutpoint_high, g.median_days, g.median_ci_lower,
            g.median_ci_upper, g.status, l.n_at_risk, l.survival, l.ci_lower, l.ci_upper,
            l.ci_status
        from (
            select * from results.group_summary
            where run_id = $run and biomarker = $biomarker
        ) g
        left join (
            select * from results.km_landmarks
            where run_id = $run and biomarker = $biomarker and time_years = $years
        ) l using (endpoint, grouping, subgroup, group_label)
        order by {_ORDER}, group_label
        """,
        {"run": run_id, "biomarker": biomarker, "years": landmark_years},
    )


class LogrankTestRow(TypedDict):
    endpoint: str
    grouping: str
    subgroup: str
    test: str
    statistic: float | None
    df: int | None
    p_value: float | None
    status: str | None


def logrank_test_rows(
    con: duckdb.DuckDBPyConnection, run_id: str, biomarker: str
) -> list[LogrankTestRow]:
    """The biomarker's log-rank and trend tests."""
    return typed_rows(
        con,
        LogrankTestRow,
        f"""
        select endpoint, grouping, subgroup, test, statistic, df, p_value, status
        from results.logrank_tests
        where run_id = ? and biomarker = ?
        order by {_ORDER}, test
        """,
        [run_id, biomarker],
    )


class CoxRow(TypedDict):
    endpoint: str
    grouping: str
    subgroup: str
    model: str
    method: str
    term: str
    hazard_ratio: float | None
    ci_lower: float | None
    ci_upper: float | None
    p_value: float | None
    n: int | None
    events: int | None
    events_per_variable: float | None
    ph_test_p: float | None
    lrt_p_value: float | None
    status: str | None
    note: str | None


def cox_rows(con: duckdb.DuckDBPyConnection, run_id: str, biomarker: str) -> list[CoxRow]:
    """The biomarker's Cox models: univariable, adjusted, interaction; MLE before Firth."""
    return typed_rows(
        con,
        CoxRow,
        f"""
        select endpoint, grouping, subgroup, model, coalesce(method, 'mle') as method, term,
            hazard_ratio, ci_lower, ci_upper, p_value, n, events, events_per_variable,
            ph_test_p, lrt_p_value, status, note
        from results.cox_models
        where run_id = ? and biomarker = ?
        order by {_ORDER},
            case model when 'univariable' then 0 when 'adjusted' then 1 else 2 end, term,
            method desc
        """,
        [run_id, biomarker],
    )


# --------------------------------------------------------------------------- warnings


class SmallGroupRow(TypedDict):
    biomarker: str
    endpoint: str
    grouping: str
    subgroup: str
    group_label: str
    n: int


class ModelNotOkRow(TypedDict):
    biomarker: str
    endpoint: str
    grouping: str
    subgroup: str
    model: str
    status: str | None
    terms: int


class LogrankNotOkRow(TypedDict):
    biomarker: str
    endpoint: str
    grouping: str
    subgroup: str
    test: str
    status: str | None


class PhViolationRow(TypedDict):
    biomarker: str
    endpoint: str
    grouping: str
    subgroup: str
    model: str
    term: str
    ph_test_p: float


@dataclass(frozen=True)
class RunWarnings:
    """What a reader must see before trusting a number of the run."""

    small_groups: list[SmallGroupRow]
    models_not_ok: list[ModelNotOkRow]
    tests_not_ok: list[LogrankNotOkRow]
    ph_violations: list[PhViolationRow]


def run_warnings(
    con: duckdb.DuckDBPyConnection, run_id: str, *, min_group_size: int, ph_alpha: float
) -> RunWarnings:
    """Groups below ``min_group_size``, models and tests whose status is not ok, and
    proportional-hazards tests with p below ``ph_alpha``."""
    return RunWarnings(
        small_groups=typed_rows(
            con,
            SmallGroupRow,
            f"""
            select biomarker, endpoint, grouping, subgroup, group_label, n
            from results.group_summary
            where run_id = $run and n < $min_n
            order by biomarker, {_ORDER}, group_label
            """,
            {"run": run_id, "min_n": min_group_size},
        ),
        models_not_ok=typed_rows(
            con,
            ModelNotOkRow,
            f"""
            select biomarker, endpoint, grouping, subgroup, model, status, count(*) as terms
            from results.cox_models
            where run_id = ? and coalesce(status, '') <> 'ok'
            group by biomarker, endpoint, grouping, subgroup, model, status
            order by biomarker, {_ORDER}, model, status
            """,
            [run_id],
        ),
        tests_not_ok=typed_rows(
            con,
            LogrankNotOkRow,
            f"""
            select biomarker, endpoint, grouping, subgroup, test, status
            from results.logrank_tests
            where run_id = ? and coalesce(status, '') <> 'ok'
            order by biomarker, {_ORDER}, test
            """,
            [run_id],
        ),
        ph_violations=typed_rows(
            con,
            PhViolationRow,
            f"""
            select biomarker, endpoint, grouping, subgroup, model, term, ph_test_p
            from results.cox_models
            where run_id = $run and ph_test_p < $alpha
            order by biomarker, {_ORDER}, model, term
            """,
            {"run": run_id, "alpha": ph_alpha},
        ),
    )


# --------------------------------------------------------------------------- helpers


def typed_rows(
    con: duckdb.DuckDBPyConnection, row_type: type[Row], sql: str, parameters: object = None
) -> list[Row]:
    """The query's rows as dicts of ``row_type``, whose keys must be exactly its columns."""
    cursor = con.execute(sql, parameters) if parameters is not None else con.execute(sql)
    names = [column[0] for column in cursor.description]
    expected = set(row_type.__annotations__)
    if set(names) != expected or len(names) != len(expected):
        raise RuntimeError(
            f"query for {row_type.__name__} returned columns {names}, expected {sorted(expected)}"
        )
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]  # type: ignore[misc]
