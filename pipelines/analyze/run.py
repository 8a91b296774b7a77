"""`cohort analyze`: every biomarker x endpoint x grouping x subgroup of a study spec.

Reads the marts (after the checks in :mod:`pipelines.analyze.cohort`), calls the pure
statistics in :mod:`analysis`, and writes every result row of the run in one
transaction, so a run's results appear together or not at all.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd
import polars as pl

from analysis.vocabulary import PH_ALPHA
from pipelines.analyze.beyond_quartiles import continuous_frames, cutpoint_frames, rmst_frame
from pipelines.analyze.cohort import (
    ENDPOINT_COLUMNS,
    CohortData,
    load_cohort,
    subgroup_filters,
)
from pipelines.analyze.multiplicity import adjust_primary_family
from pipelines.analyze.power import power_rows
from pipelines.analyze.scan import scan_cohort
from pipelines.analyze.schema import LEDGER, TABLES, ensure_results_schema
from pipelines.warehouse import (
    connect,
    existing_tables,
    fetch_dicts,
    table_columns,
    transaction,
)

if TYPE_CHECKING:
    from pipelines.spec import StudySpec

LEDGER_SCHEMA = {
    "study": pl.String,
    "input_sha256": pl.String,
    "biomarker": pl.String,
    "endpoint": pl.String,
    "subgroup": pl.String,
    "grouping": pl.String,
    "first_run_id": pl.String,
    "last_run_id": pl.String,
    "n_runs": pl.Int64,
    "last_p": pl.Float64,
}
#: Result tables filled from the per-combination frames (analysis_runs is separate).
RESULT_TABLES = [name for name in TABLES if name != "analysis_runs"]


@dataclass(frozen=True)
class AnalysisResult:
    run_id: str
    db_path: Path
    rows_written: dict[str, int]
    warnings: tuple[str, ...]


def analyze(db_path: Path, spec: StudySpec, *, code_version: str) -> AnalysisResult:
    """Run the spec on the warehouse; raises AnalysisRefused before computing anything."""
    started_at = _now()
    run_id = f"{started_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    frames: dict[str, list[pl.DataFrame]] = {name: [] for name in RESULT_TABLES}
    warnings: list[str] = []
    with connect(db_path, read_only=True) as con:
        cohort = load_cohort(con, spec)
        ledger = ledger_choices(con, spec.study, cohort.input_sha256)
        if spec.scan_settings() is not None:
            scan, curves, top = scan_cohort(con, cohort.patients, spec)
            frames["gene_scan"].append(scan.with_columns(pl.lit(run_id).alias("run_id")))
            if not curves.is_empty():
                frames["gene_scan_curves"].append(
                    curves.with_columns(pl.lit(run_id).alias("run_id"))
                )
            if spec.biomarkers == "all":  # the full analysis for the scan's top genes
                cohort = load_cohort(con, spec, genes=top)
                warnings.append(
                    f"biomarkers: all: {scan['gene'].n_unique():,} genes scanned; the "
                    f"full analysis covers the top {len(top)} ({', '.join(top)})"
                )
    for table, frame in _compute(cohort, spec, warnings, ledger):
        frames[table].append(frame.with_columns(pl.lit(run_id).alias("run_id")))
    if frames["logrank_tests"]:
        logrank = pl.concat(frames["logrank_tests"], how="diagonal_relaxed")
        frames["logrank_tests"] = [adjust_primary_family(logrank, spec)]
    run_row = {
        "run_id": run_id,
        "started_at": started_at,
        "finished_at": _now(),
        "status": "succeeded",
        "study": spec.study,
        "spec_path": str(spec.source),
        "spec_sha256": spec.sha256,
        "input_sha256": cohort.input_sha256,
        "batch_id": cohort.build_info["batch_id"],
        "is_simulated": cohort.build_info["is_simulated"],
        "dbt_invocation_id": cohort.build_info["dbt_invocation_id"],
        "quality_run_id": cohort.quality_run_id,
        "code_version": code_version,
        "settings": spec.to_settings_json(),
        "error": None,
    }
    rows_written = _write(db_path, run_row, frames, _ledger_rows(frames, spec, run_row))
    return AnalysisResult(run_id, db_path, rows_written, tuple(warnings))


def _compute(
    cohort: CohortData,
    spec: StudySpec,
    warnings: list[str],
    ledger: dict[tuple[str, str, str], list[str]],
) -> Iterator[tuple[str, pl.DataFrame]]:
    from analysis.endpoint import analyze_groups, interaction_test
    from analysis.groups import assign_groups

    patients = cohort.patients
    landmarks_days = [years * spec.days_per_year for years in spec.landmarks_years]
    covariates = _covariates(patients, spec.adjust_for)
    for biomarker in cohort.biomarkers:
        values = cohort.expression.filter(pl.col("gene") == biomarker).select(
            "patient_id", "expression_value"
        )
        joined = patients.join(values, on="patient_id", how="inner")
        yield from _continuous(cohort, biomarker, joined, spec, ledger)
        for grouping in spec.groupings:
            for subgroup, mask in subgroup_filters(joined, spec):
                within = joined.filter(mask) if subgroup != "all" else joined
                source = within if spec.quartiles_within == "subgroup" else joined
                assignment = assign_groups(source["expression_value"].to_numpy(), grouping)
                labels_by_patient = dict(
                    zip(source["patient_id"].to_list(), assignment.labels, strict=True)
                )
                labels = np.array(
                    [labels_by_patient.get(p) for p in within["patient_id"]], dtype=object
                )
                keys = {"biomarker": biomarker, "grouping": grouping, "subgroup": subgroup}
                yield (
                    "group_assignments",
                    pl.DataFrame(
                        {
                            **{key: [value] * within.height for key, value in keys.items()},
                            "patient_id": within["patient_id"],
                            "value": within["expression_value"],
                            "group_label": list(labels),
                        }
                    ),
                )
                for endpoint in spec.endpoints:
                    time_column, event_column = ENDPOINT_COLUMNS[endpoint]
                    adjusted = _covariates_for(covariates, patients, within)
                    result = analyze_groups(
                        within[time_column].to_numpy().astype(float),
                        within[event_column].to_numpy().astype(bool),
                        labels,
                        assignment.group_order,
                        landmarks_days=landmarks_days,
                        ci_method=spec.ci_method,
                        covariates=adjusted,
                        firth=spec.firth,
                    )
                    row_keys = {**keys, "endpoint": endpoint}
                    warnings.extend(
                        f"{biomarker} {endpoint} {grouping} {subgroup}: {warning}"
                        for warning in result.warnings
                    )
                    summary = result.group_summary.with_columns(
                        pl.col("group_label")
                        .replace_strict(
                            {label: low for label, (low, _) in assignment.cutpoints.items()},
                            default=None,
                            return_dtype=pl.Float64,
                        )
                        .alias("cutpoint_low"),
                        pl.col("group_label")
                        .replace_strict(
                            {label: high for label, (_, high) in assignment.cutpoints.items()},
                            default=None,
                            return_dtype=pl.Float64,
                        )
                        .alias("cutpoint_high"),
                    )
                    yield "group_summary", _keyed(summary, row_keys)
                    power = power_rows(
                        result.group_summary, assignment.group_order, target_hr=spec.target_hr
                    )
                    yield "power", _keyed(power, row_keys)
                    landmarks = result.km_landmarks.with_columns(
                        (pl.col("time_days") / spec.days_per_year).alias("time_years")
                    )
                    yield "km_landmarks", _keyed(landmarks, row_keys)
                    yield "km_curves", _keyed(result.km_curves, row_keys)
                    yield "logrank_tests", _keyed(result.logrank, row_keys)
                    yield "cox_models", _keyed(result.cox, row_keys)
                    rmst = rmst_frame(
                        within[time_column].to_numpy().astype(float),
                        within[event_column].to_numpy().astype(bool),
                        labels,
                        assignment.group_order,
                        spec=spec,
                        ph_flagged=_ph_flagged(result.cox),
                    )
                    if rmst is not None:
                        yield "rmst", _keyed(rmst, row_keys)
                    if subgroup == "all":
                        for variable in spec.subgroups:
                            interaction = interaction_test(
                                within[time_column].to_numpy().astype(float),
                                within[event_column].to_numpy().astype(bool),
                                labels,
                                assignment.group_order,
                                _levels_only(within[variable], spec, variable),
                                subgroup_name=variable,
                            )
                            yield (
                                "cox_models",
                                _keyed(
                                    interaction, {**row_keys, "subgroup": f"{variable} interaction"}
                                ),
                            )


def _continuous(
    cohort: CohortData,
    biomarker: str,
    joined: pl.DataFrame,
    spec: StudySpec,
    ledger: dict[tuple[str, str, str], list[str]],
) -> Iterator[tuple[str, pl.DataFrame]]:
    """Per-unit, per-SD and spline Cox models of the value itself (no grouping), and the
    cut-point tests (maxstat; the family of every cut tried on this cohort)."""
    scales = cohort.expression.filter(pl.col("gene") == biomarker)["expression_scale"]
    scale = str(scales.drop_nulls().mode().sort()[0]) if scales.drop_nulls().len() else "unknown"
    for subgroup, mask in subgroup_filters(joined, spec):
        within = joined.filter(mask) if subgroup != "all" else joined
        for endpoint in spec.endpoints:
            time_column, event_column = ENDPOINT_COLUMNS[endpoint]
            keys = {"biomarker": biomarker, "endpoint": endpoint, "subgroup": subgroup}
            for table, frame in continuous_frames(
                within["expression_value"].to_numpy().astype(float),
                within[time_column].to_numpy().astype(float),
                within[event_column].to_numpy().astype(bool),
                scale=scale,
                spec=spec,
            ):
                yield table, _keyed(frame, keys)
            for table, frame in cutpoint_frames(
                within[time_column].to_numpy().astype(float),
                within[event_column].to_numpy().astype(bool),
                within["expression_value"].to_numpy().astype(float),
                spec=spec,
                earlier_choices=ledger.get((biomarker, endpoint, subgroup), []),
                labels=_cohort_labels(joined, within, spec) if subgroup != "all" else None,
            ):
                yield table, _keyed(frame, keys)


def _cohort_labels(
    joined: pl.DataFrame, within: pl.DataFrame, spec: StudySpec
) -> dict[str, np.ndarray] | None:
    """Each grouping's labels for a subgroup's patients from the whole cohort's cut points
    (``quartiles_within: cohort``), as the grouped analysis uses them; None = the
    subgroup's own cut points."""
    from analysis.groups import assign_groups
    from analysis.vocabulary import GROUPINGS

    if spec.quartiles_within != "cohort":
        return None
    labels = {}
    for grouping in GROUPINGS:
        assignment = assign_groups(joined["expression_value"].to_numpy(), grouping)
        by_patient = dict(zip(joined["patient_id"].to_list(), assignment.labels, strict=True))
        labels[grouping] = np.array([by_patient.get(p) for p in within["patient_id"]], dtype=object)
    return labels


def _ph_flagged(cox: pl.DataFrame) -> bool:
    """A proportional-hazards test below 0.05 in the univariable maximum-likelihood model
    (what ``rmst: auto`` reacts to)."""
    flagged = cox.filter(
        (pl.col("model") == "univariable")
        & (pl.col("method") == "mle")
        & ((pl.col("ph_test_p") < PH_ALPHA) | (pl.col("ph_test_global_p") < PH_ALPHA))
    )
    return flagged.height > 0


def _covariates_for(
    covariates: pd.DataFrame | None, patients: pl.DataFrame, within: pl.DataFrame
) -> pd.DataFrame | None:
    """The covariate rows of ``within``; a covariate constant there is dropped (e.g.
    cytogenetic risk inside a risk subgroup), since it cannot be estimated."""
    if covariates is None:
        return None
    rows = covariates.set_index(pd.Index(patients["patient_id"].to_list()))
    subset = rows.loc[within["patient_id"].to_list()].reset_index(drop=True)
    varying = [column for column in subset.columns if subset[column].nunique(dropna=True) > 1]
    return subset[varying] if varying else None


def _levels_only(values: pl.Series, spec: StudySpec, variable: str) -> np.ndarray:
    """Subgroup values for the interaction model: the spec's levels, others missing.

    'unknown' risk (or any level the spec does not analyse) must not become a third
    subgroup of the interaction test; those patients are left out of that model.
    """
    levels = spec.levels_for(variable) if hasattr(spec, "levels_for") else None
    allowed = (
        set(levels)
        if levels
        else {v for v in values.unique().to_list() if v not in (None, "unknown")}
    )
    return np.array([v if v in allowed else None for v in values.to_list()], dtype=object)


def _keyed(frame: pl.DataFrame, keys: dict[str, str]) -> pl.DataFrame:
    return frame.with_columns(*(pl.lit(value).alias(key) for key, value in keys.items()))


def _covariates(patients: pl.DataFrame, adjust_for: tuple[str, ...]) -> pd.DataFrame | None:
    """Numeric design columns for the adjusted Cox model (unknown -> missing, dropped)."""
    if not adjust_for:
        return None
    columns: dict[str, Any] = {}
    for name in adjust_for:
        series = patients[name]
        if name == "cytogenetic_risk":
            columns["high_risk"] = [
                {"high": 1.0, "standard": 0.0}.get(value, np.nan) for value in series
            ]
        elif name == "iss_stage":
            columns["iss_stage"] = [
                {"I": 1.0, "II": 2.0, "III": 3.0}.get(value, np.nan) for value in series
            ]
        elif name == "sex":
            columns["male"] = [{"M": 1.0, "F": 0.0}.get(value, np.nan) for value in series]
        elif series.dtype == pl.String:
            columns[name] = [{"present": 1.0, "absent": 0.0}.get(value, np.nan) for value in series]
        else:
            columns[name] = series.cast(pl.Float64).to_numpy()
    return pd.DataFrame(columns)


def _ledger_rows(
    frames: dict[str, list[pl.DataFrame]], spec: StudySpec, run_row: dict[str, Any]
) -> pl.DataFrame:
    """One ledger row per cut-point choice of this run's families, with its p."""
    import json

    rows = []
    for family in frames["cutpoint_family_tests"]:
        for item in family.iter_rows(named=True):
            for choice in json.loads(item["choices"] or "[]"):
                rows.append(
                    {
                        "study": spec.study,
                        "input_sha256": run_row["input_sha256"],
                        "biomarker": item["biomarker"],
                        "endpoint": item["endpoint"],
                        "subgroup": item["subgroup"],
                        "grouping": choice["choice"],
                        "first_run_id": run_row["run_id"],
                        "last_run_id": run_row["run_id"],
                        "n_runs": 1,
                        "last_p": choice["p_value"],
                    }
                )
    return pl.DataFrame(rows, schema=LEDGER_SCHEMA)


def _write(
    db_path: Path,
    run_row: dict[str, Any],
    frames: dict[str, list[pl.DataFrame]],
    ledger: pl.DataFrame,
) -> dict[str, int]:
    """All rows of the run in one transaction: results appear together or not at all.

    The cut-point ledger is updated in the same transaction: a choice tried again keeps
    its first run and counts one more run.
    """
    counts: dict[str, int] = {}
    with connect(db_path) as con, transaction(con):
        ensure_results_schema(con)
        if ledger.height:
            con.register("_ledger", ledger.to_arrow())
            con.execute(
                f"insert into results.{LEDGER} by name select * from _ledger "
                "on conflict do update set last_run_id = excluded.last_run_id, "
                "n_runs = n_runs + 1, last_p = excluded.last_p"
            )
            con.unregister("_ledger")
        for table, parts in frames.items():
            if not parts:
                counts[table] = 0
                continue
            frame = pl.concat(parts, how="diagonal_relaxed")
            columns = table_columns(con, "results", table)
            frame = frame.select([c for c in columns if c in frame.columns])
            con.register("_frame", frame.to_arrow())
            con.execute(f"insert into results.{table} by name select * from _frame")
            con.unregister("_frame")
            counts[table] = frame.height
        run_frame = pl.DataFrame([run_row])
        con.register("_run", run_frame.to_arrow())
        con.execute("insert into results.analysis_runs by name select * from _run")
    return counts


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def ledger_choices(
    con: duckdb.DuckDBPyConnection, study: str, input_sha256: str
) -> dict[tuple[str, str, str], list[str]]:
    """The cut-point choices earlier runs of ``study`` tried on the same cohort data."""
    if f"results.{LEDGER}" not in existing_tables(con, "results"):
        return {}
    found: dict[tuple[str, str, str], list[str]] = {}
    for row in fetch_dicts(
        con,
        f"select biomarker, endpoint, subgroup, grouping from results.{LEDGER} "
        "where study = ? and input_sha256 = ? order by grouping",
        [study, input_sha256],
    ):
        key = (row["biomarker"], row["endpoint"], row["subgroup"])
        found.setdefault(key, []).append(row["grouping"])
    return found
