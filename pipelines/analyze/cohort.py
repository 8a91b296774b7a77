"""Read the analysis-ready cohort from the marts, after checking it may be analysed.

The analysis never parses raw files and never runs on a cohort that (a) was built with
other settings than the study spec asks for, or (b) has not passed the quality gate
since it was built. Both refusals name what to run instead.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from pipelines.errors import CohortError, ExitCode

if TYPE_CHECKING:
    from pipelines.spec import StudySpec

#: Endpoint name -> (time column in days, event column) of marts.cohort_patients.
ENDPOINT_COLUMNS: dict[str, tuple[str, str]] = {
    "pfs": ("pfs_days", "is_pfs_event"),
    "os": ("os_days", "is_os_event"),
}


class AnalysisRefused(CohortError, RuntimeError):
    """The cohort may not be analysed (gate failed, settings differ, unknown names)."""

    exit_code = ExitCode.ANALYSIS_REFUSED
    label = "analysis refused"


@dataclass(frozen=True)
class CohortData:
    patients: pl.DataFrame
    expression: pl.DataFrame
    biomarkers: tuple[str, ...]
    build_info: dict[str, Any]
    quality_run_id: str
    input_sha256: str


def load_cohort(
    con: duckdb.DuckDBPyConnection, spec: StudySpec, *, genes: tuple[str, ...] | None = None
) -> CohortData:
    """The analysable patients, the biomarkers' values, and the provenance of both.

    With ``biomarkers: all`` the genes come from the scan (``genes``, its top genes);
    without them no gene's values are loaded here (the scan reads its own matrix).
    """
    build_info = _build_info(con)
    _require_same_settings(build_info, spec)
    quality_run_id = _require_passed_gate(con, build_info)
    patients = con.sql(
        "select * from marts.cohort_patients where not is_excluded order by patient_id"
    ).pl()
    _require_columns(patients, [*spec.subgroups, *spec.adjust_for])
    genes = (genes or ()) if spec.biomarkers == "all" else _biomarkers(con, spec)
    expression = con.sql(
        "select patient_id, gene, expression_value, expression_scale from marts.cohort_expression "
        "where is_analysable and gene in (select unnest($genes)) order by gene, patient_id",
        params={"genes": list(genes)},
    ).pl()
    return CohortData(
        patients=patients,
        expression=expression,
        biomarkers=genes,
        build_info=build_info,
        quality_run_id=quality_run_id,
        input_sha256=_input_sha256(con, build_info["batch_id"]),
    )


def subgroup_filters(frame: pl.DataFrame, spec: StudySpec) -> Iterator[tuple[str, pl.Expr | None]]:
    """``("all", None)``, then ``("variable=level", filter)`` for each subgroup level.

    The levels are the spec's (``subgroup_levels``), else every level observed in
    ``frame`` except missing and ``unknown``. The single-biomarker analysis and the
    genome-wide scan both use this, so their subgroups are the same.
    """
    yield "all", None
    for variable in spec.subgroups:
        levels = spec.levels_for(variable) or sorted(
            value for value in frame[variable].unique().to_list() if value not in (None, "unknown")
        )
        for level in levels:
            yield f"{variable}={level}", pl.col(variable) == level


def _build_info(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    try:
        frame = con.sql("select * from marts.cohort_build_info").pl()
    except duckdb.CatalogException as error:
        raise AnalysisRefused("the warehouse is not built; run `cohort build` first") from error
    return frame.row(0, named=True)


def _require_same_settings(build_info: dict[str, Any], spec: StudySpec) -> None:
    """The marts must have been built with the spec's cohort-shaping settings."""
    wanted = spec.build_settings()
    differences = []
    if build_info["data_cutoff_date"] != wanted.data_cutoff_date:
        differences.append(
            f"data cut-off {build_info['data_cutoff_date']} (spec: {wanted.data_cutoff_date})"
        )
    if tuple(build_info["high_risk_aberrations"]) != tuple(wanted.high_risk_aberrations):
        differences.append(
            f"high-risk aberrations {build_info['high_risk_aberrations']} "
            f"(spec: {list(wanted.high_risk_aberrations)})"
        )
    built_reference = build_info["reference_gene"]
    wanted_reference = wanted.reference_gene.upper() if wanted.reference_gene else None
    if built_reference != wanted_reference:
        differences.append(f"reference gene {built_reference} (spec: {wanted_reference})")
    if differences:
        raise AnalysisRefused(
            "the marts were built with other settings than the study spec: "
            + "; ".join(differences)
            + ". Rebuild with `cohort build --spec SPEC` and validate again."
        )


def _require_passed_gate(con: duckdb.DuckDBPyConnection, build_info: dict[str, Any]) -> str:
    """The latest quality gate of this build must have passed."""
    try:
        rows = con.execute(
            "select run_id, verdict, batch_id, started_at from quality.validation_runs "
            "order by started_at desc limit 1"
        ).fetchall()
    except duckdb.CatalogException:
        rows = []
    if not rows:
        raise AnalysisRefused("the quality gate has not run; run `cohort validate` first")
    run_id, verdict, batch_id, started_at = rows[0]
    if batch_id != build_info["batch_id"] or started_at < build_info["built_at"]:
        raise AnalysisRefused(
            "the cohort was rebuilt after the last quality gate; run `cohort validate`"
        )
    if verdict != "pass":
        raise AnalysisRefused(
            f"the quality gate failed (run {run_id}): the analysis does not run on this "
            "cohort. See `cohort validate` for what to fix."
        )
    return str(run_id)


def _require_columns(patients: pl.DataFrame, columns: list[str]) -> None:
    missing = [column for column in columns if column not in patients.columns]
    if missing:
        hints = [
            f"'{column}'"
            + (
                f" (did you mean '{match[0]}'?)"
                if (match := difflib.get_close_matches(column, patients.columns, 1))
                else ""
            )
            for column in missing
        ]
        raise AnalysisRefused(
            "the study spec names cohort columns that do not exist in marts.cohort_patients: "
            + ", ".join(hints)
        )


def _biomarkers(con: duckdb.DuckDBPyConnection, spec: StudySpec) -> tuple[str, ...]:
    counts = dict(
        con.execute(
            "select gene, count(*) filter (where is_analysable) from marts.cohort_expression "
            "where patient_id in (select patient_id from marts.cohort_patients "
            "where not is_excluded) group by gene"
        ).fetchall()
    )
    if spec.biomarkers == "all":
        return tuple(sorted(gene for gene, n in counts.items() if n >= spec.min_patients_per_gene))
    missing = [gene for gene in spec.biomarkers if gene not in counts]
    if missing:
        known = sorted(counts)
        hints = [
            f"'{gene}'"
            + (
                f" (did you mean '{match[0]}'?)"
                if (match := difflib.get_close_matches(gene, known, 1))
                else ""
            )
            for gene in missing
        ]
        raise AnalysisRefused(
            "the study spec names biomarkers that are not in the cohort: "
            + ", ".join(hints)
            + f"; the cohort has {len(known)} genes, e.g. {', '.join(known[:8])}"
        )
    return tuple(spec.biomarkers)


def _input_sha256(con: duckdb.DuckDBPyConnection, batch_id: int) -> str:
    """One fingerprint of the delivered files the cohort was built from."""
    import hashlib

    rows = con.execute(
        "select table_name, source_sha256 from raw.batch_files where batch_id = ? "
        "order by table_name",
        [batch_id],
    ).fetchall()
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()
