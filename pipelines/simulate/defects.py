"""Named, documented value-level data defects injected into the simulated text tables.

Each defect changes the *text* of one seeded random row (or adds or removes rows) after
generation, so that the files stay structurally valid (same columns, parseable CSV) and
only a value-level quality gate can find the problem. Every injection is recorded with
the file, the 1-based data row (header excluded) in the final file, the column and the
patient, in ``SIMULATED.json`` and in ``SimulationResult.defects_applied``. Defects are
applied in the order of :data:`DEFECTS` and each prefers a patient no earlier defect has
touched, so two defects never hide each other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.simulate.injection import DefectRecord, EditableTable, Injection

#: Spellings no synonym table should know (typos and free text).
UNKNOWN_ABERRATION_SPELLINGS: tuple[str, ...] = ("t(4:14)", "del(17p)?", "TP53 loss")
UNKNOWN_STATUS = "borderline"
NON_NUMERIC_VALUE = "n.d."
#: Day ranges (inclusive) used to move a date before or after another one.
SHIFT_DAYS = (14, 365)
#: A century added to a year: a typo no plausibility rule can accept.
FUTURE_YEARS = 100
#: Cycles added to one replicate well (SD of the triplicate then exceeds 0.5).
OUTLIER_CYCLES = 2.5
#: Day 31 of February: looks like a German-format date, is no day at all.
IMPOSSIBLE_DAY_MONTH = "31.02."


def _shift(iso_date: str, days: int) -> str:
    return (dt.date.fromisoformat(iso_date) + dt.timedelta(days=days)).isoformat()


def _days(injection: Injection) -> int:
    return int(injection.rng.integers(SHIFT_DAYS[0], SHIFT_DAYS[1] + 1))


def duplicate_patient(injection: Injection) -> None:
    table = injection.tables["patients"]
    position = injection.pick("patients")
    patient = table.cell(position, "patient_id")
    table.insert(position + 1, table.frame[position], "duplicate_patient")
    injection.note(
        "duplicate_patient",
        "patients",
        "patient_id",
        patient,
        f"second, identical row for {patient} (directly below the first)",
    )


def progression_before_diagnosis(injection: Injection) -> None:
    table = injection.tables["patients"]
    position = injection.pick("patients", pl.col("progression_date").is_not_null(), None)
    patient = table.cell(position, "patient_id")
    value = _shift(table.cell(position, "diagnosis_date"), -_days(injection))
    table.set_cell(position, "progression_date", value, "progression_before_diagnosis")
    injection.note(
        "progression_before_diagnosis",
        "patients",
        "progression_date",
        patient,
        f"progression_date {value} precedes diagnosis_date",
    )


def death_before_progression(injection: Injection) -> None:
    table = injection.tables["patients"]
    position = injection.pick("patients", pl.col("death_date").is_not_null(), None)
    patient = table.cell(position, "patient_id")
    death = table.cell(position, "death_date") or table.cell(position, "last_followup_date")
    value = _shift(death, _days(injection))
    table.set_cell(position, "death_date", death, "death_before_progression")
    table.set_cell(position, "progression_date", value, "death_before_progression")
    injection.note(
        "death_before_progression",
        "patients",
        "progression_date",
        patient,
        f"progression_date {value} after death_date {death} (and so after last_followup_date)",
    )


def date_in_future(injection: Injection) -> None:
    table = injection.tables["patients"]
    position = injection.pick("patients", pl.col("death_date").is_null(), None)
    patient = table.cell(position, "patient_id")
    old = table.cell(position, "last_followup_date")
    value = f"{int(old[:4]) + FUTURE_YEARS}{old[4:]}"
    table.set_cell(position, "last_followup_date", value, "date_in_future")
    injection.note(
        "date_in_future",
        "patients",
        "last_followup_date",
        patient,
        f"last_followup_date {value} lies in the future (was {old})",
    )


def unparseable_date(injection: Injection) -> None:
    table = injection.tables["patients"]
    position = injection.pick("patients")
    patient = table.cell(position, "patient_id")
    value = f"{IMPOSSIBLE_DAY_MONTH}{table.cell(position, 'diagnosis_date')[:4]}"
    table.set_cell(position, "diagnosis_date", value, "unparseable_date")
    injection.note(
        "unparseable_date",
        "patients",
        "diagnosis_date",
        patient,
        f"diagnosis_date '{value}' is not ISO 8601 and not a real day",
    )


def followup_before_diagnosis(injection: Injection) -> None:
    table = injection.tables["patients"]
    event_free = pl.col("progression_date").is_null() & pl.col("death_date").is_null()
    position = injection.pick("patients", event_free, None)
    patient = table.cell(position, "patient_id")
    value = _shift(table.cell(position, "diagnosis_date"), -_days(injection))
    table.set_cell(position, "last_followup_date", value, "followup_before_diagnosis")
    injection.note(
        "followup_before_diagnosis",
        "patients",
        "last_followup_date",
        patient,
        f"last_followup_date {value} precedes diagnosis_date",
    )


def unknown_aberration_spelling(injection: Injection) -> None:
    table = injection.tables["cytogenetics"]
    position = injection.pick("cytogenetics")
    patient = table.cell(position, "patient_id")
    old = table.cell(position, "aberration")
    value = UNKNOWN_ABERRATION_SPELLINGS[
        int(injection.rng.integers(0, len(UNKNOWN_ABERRATION_SPELLINGS)))
    ]
    table.set_cell(position, "aberration", value, "unknown_aberration_spelling")
    injection.note(
        "unknown_aberration_spelling",
        "cytogenetics",
        "aberration",
        patient,
        f"aberration '{value}' is in no synonym table (was '{old}')",
    )


def unknown_status(injection: Injection) -> None:
    table = injection.tables["cytogenetics"]
    position = injection.pick("cytogenetics")
    patient = table.cell(position, "patient_id")
    table.set_cell(position, "status", UNKNOWN_STATUS, "unknown_status")
    injection.note(
        "unknown_status",
        "cytogenetics",
        "status",
        patient,
        f"status '{UNKNOWN_STATUS}' is not present/absent/not_evaluable",
    )


def non_numeric_value(injection: Injection) -> None:
    table = injection.tables["expression"]
    position = injection.pick("expression")
    patient = table.cell(position, "patient_id")
    table.set_cell(position, "value", NON_NUMERIC_VALUE, "non_numeric_value")
    injection.note(
        "non_numeric_value",
        "expression",
        "value",
        patient,
        f"value '{NON_NUMERIC_VALUE}' is not a number (gene {table.cell(position, 'gene')})",
    )


def negative_ct(injection: Injection) -> None:
    table = injection.tables["expression"]
    position = injection.pick("expression")
    patient = table.cell(position, "patient_id")
    value = f"-{table.cell(position, 'value')}"
    table.set_cell(position, "value", value, "negative_ct")
    injection.note(
        "negative_ct",
        "expression",
        "value",
        patient,
        f"Ct {value} is negative (gene {table.cell(position, 'gene')})",
    )


def missing_reference_gene(injection: Injection) -> None:
    table = injection.tables["expression"]
    is_reference = pl.col("gene") == pl.col("reference_gene")
    # never remove a row another defect points at
    unmarked = ~pl.col("patient_id").is_in(sorted(table.marked_patients()))
    position = injection.pick("expression", is_reference & unmarked)
    patient = table.cell(position, "patient_id")
    rows = (
        table.frame.with_row_index("__position")
        .filter(is_reference & (pl.col("patient_id") == patient))["__position"]
        .to_numpy()
    )
    reference = table.cell(position, "gene")
    table.drop(rows)
    injection.note(
        "missing_reference_gene",
        "expression",
        "gene",
        patient,
        f"all {rows.size} {reference} rows of {patient} removed: no dCt possible",
    )


def orphan_expression_row(injection: Injection) -> None:
    table = injection.tables["expression"]
    source = injection.pick("expression")
    patient = injection.orphan_patient_id
    row = table.frame[source].with_columns(pl.lit(patient).alias("patient_id"))
    position = int(injection.rng.integers(0, table.frame.height + 1))
    table.insert(position, row, "orphan_expression_row")
    injection.note(
        "orphan_expression_row",
        "expression",
        "patient_id",
        patient,
        f"expression row for {patient}, who is not in the patients table",
    )


def duplicate_expression_row(injection: Injection) -> None:
    table = injection.tables["expression"]
    position = injection.pick("expression")
    patient = table.cell(position, "patient_id")
    table.insert(position + 1, table.frame[position], "duplicate_expression_row")
    injection.note(
        "duplicate_expression_row",
        "expression",
        "patient_id",
        patient,
        "exact copy of the row above (same patient, gene and replicate)",
    )


def high_replicate_sd(injection: Injection) -> None:
    table = injection.tables["expression"]
    is_target = pl.col("gene") != pl.col("reference_gene")
    has_partner = pl.len().over("patient_id", "gene") > 1
    position = injection.pick("expression", is_target & has_partner, has_partner)
    patient = table.cell(position, "patient_id")
    old = table.cell(position, "value")
    decimals = len(old.partition(".")[2])
    value = f"{float(old) + OUTLIER_CYCLES:.{decimals}f}"
    table.set_cell(position, "value", value, "high_replicate_sd")
    injection.note(
        "high_replicate_sd",
        "expression",
        "value",
        patient,
        f"one well of {table.cell(position, 'gene')} moved from {old} to {value}: "
        "replicate SD > 0.5 cycles",
    )


@dataclass(frozen=True)
class Defect:
    """One injectable defect; ``description`` is the one line the CLI help shows."""

    name: str
    description: str
    table: str
    inject: Callable[[Injection], None]
    qrtpcr_only: bool = False


DEFECTS: dict[str, Defect] = {
    defect.name: defect
    for defect in (
        Defect("duplicate_patient", "a patients row appears twice", "patients", duplicate_patient),
        Defect(
            "progression_before_diagnosis",
            "progression_date before diagnosis_date",
            "patients",
            progression_before_diagnosis,
        ),
        Defect(
            "death_before_progression",
            "progression_date after death_date",
            "patients",
            death_before_progression,
        ),
        Defect(
            "date_in_future",
            "last_followup_date a century in the future",
            "patients",
            date_in_future,
        ),
        Defect(
            "unparseable_date",
            "diagnosis_date like '31.02.2015' (not ISO, not a day)",
            "patients",
            unparseable_date,
        ),
        Defect(
            "followup_before_diagnosis",
            "last_followup_date before diagnosis_date",
            "patients",
            followup_before_diagnosis,
        ),
        Defect(
            "unknown_aberration_spelling",
            "an aberration spelling no synonym maps",
            "cytogenetics",
            unknown_aberration_spelling,
        ),
        Defect(
            "unknown_status",
            "cytogenetic status outside present/absent/not_evaluable",
            "cytogenetics",
            unknown_status,
        ),
        Defect("non_numeric_value", "expression value 'n.d.'", "expression", non_numeric_value),
        Defect("negative_ct", "a negative Ct value", "expression", negative_ct, qrtpcr_only=True),
        Defect(
            "missing_reference_gene",
            "one patient's reference-gene rows removed",
            "expression",
            missing_reference_gene,
            qrtpcr_only=True,
        ),
        Defect(
            "orphan_expression_row",
            "expression row of a patient not in patients",
            "expression",
            orphan_expression_row,
        ),
        Defect(
            "duplicate_expression_row",
            "an expression row appears twice",
            "expression",
            duplicate_expression_row,
        ),
        Defect(
            "high_replicate_sd",
            "one replicate well off by 2.5 cycles (SD > 0.5)",
            "expression",
            high_replicate_sd,
            qrtpcr_only=True,
        ),
    )
}


def validate_defects(names: Sequence[str], mode: str, patients: int) -> tuple[str, ...]:
    """Check names, mode and cohort size; return the names in application order.

    Each defect gets a patient of its own (so no defect hides another), hence at least
    as many patients as defects.
    """
    if isinstance(names, str):
        raise ValueError("defects must be a sequence of names, not one string")
    valid = ", ".join(DEFECTS)
    seen: set[str] = set()
    for name in names:
        if name not in DEFECTS:
            raise ValueError(f"unknown defect '{name}'; valid defects: {valid}")
        if name in seen:
            raise ValueError(f"defect '{name}' is listed twice")
        if DEFECTS[name].qrtpcr_only and mode != "qrtpcr":
            raise ValueError(f"defect '{name}' applies to qRT-PCR mode only (Ct values)")
        seen.add(name)
    if len(seen) > patients:
        raise ValueError(
            f"{len(seen)} defects need at least {len(seen)} patients (one patient per defect)"
        )
    return tuple(name for name in DEFECTS if name in seen)


def inject_defects(
    frames: dict[str, pl.DataFrame],
    files: dict[str, str],
    names: Sequence[str],
    rng: np.random.Generator,
    orphan_patient_id: str,
) -> tuple[dict[str, pl.DataFrame], list[DefectRecord]]:
    """Apply the named defects (already validated) and say where each one went.

    ``orphan_patient_id`` must be an identifier absent from the patients table.
    """
    injection = Injection(
        tables={name: EditableTable(frame) for name, frame in frames.items()},
        files=files,
        rng=rng,
        orphan_patient_id=orphan_patient_id,
    )
    for name in names:
        DEFECTS[name].inject(injection)
    edited = {name: table.frame for name, table in injection.tables.items()}
    return edited, injection.records()
