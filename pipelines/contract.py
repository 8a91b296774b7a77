"""The raw data contract, version 1: what a study group delivers.

Three tables, each one file in one input folder (CSV, Parquet or Excel .xlsx).
``patients`` and ``expression`` are required; ``cytogenetics`` is optional, and a
missing or header-only file means the study has no cytogenetic data (risk unknown).
The human-readable version of this module is ``docs/raw-contract.md``; keep both in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CONTRACT_VERSION = 1

#: File suffixes the ingest reads, mapped to the format name recorded per batch.
SUPPORTED_FORMATS: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".xlsx": "xlsx"}

#: Column names the ingest adds to every raw row; a delivery may not use the prefix.
METADATA_PREFIX = "_"

#: Extra columns are kept, but their names must be plain snake_case so that every
#: downstream SQL client can use them without quoting.
EXTRA_COLUMN_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class TableContract:
    """The columns one raw table must (and may) have."""

    name: str
    required_columns: tuple[str, ...]
    optional_columns: tuple[str, ...] = ()
    is_required: bool = True
    allows_extra_columns: bool = False

    @property
    def known_columns(self) -> tuple[str, ...]:
        return self.required_columns + self.optional_columns


PATIENTS = TableContract(
    name="patients",
    required_columns=(
        "patient_id",
        "sex",
        "age_at_diagnosis",
        "diagnosis_date",
        "iss_stage",
        "treatment",
        "progression_date",
        "death_date",
        "last_followup_date",
    ),
    allows_extra_columns=True,
)

CYTOGENETICS = TableContract(
    name="cytogenetics",
    required_columns=("patient_id", "aberration", "status", "method"),
    optional_columns=("clone_fraction",),
    is_required=False,
)

EXPRESSION = TableContract(
    name="expression",
    required_columns=("patient_id", "gene", "value", "assay", "unit"),
    optional_columns=("replicate", "reference_gene"),
)

TABLES: tuple[TableContract, ...] = (PATIENTS, CYTOGENETICS, EXPRESSION)
TABLES_BY_NAME: dict[str, TableContract] = {table.name: table for table in TABLES}

#: Column names that suggest a direct identifier (name, contact details, record
#: numbers, exact birth date). Matched against the whole lower-cased column name
#: with separators normalised to ``_``. Pseudonymous ``patient_id`` is the only
#: identifier the warehouse accepts.
DIRECT_IDENTIFIER_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "a person's name",
        re.compile(
            r"^(patient_|first_|last_|full_|given_|family_|maiden_|middle_|sur)?names?$"
            r"|^(fore|sur|given|family)name$|^(vor|nach)name$|^initials$"
        ),
    ),
    (
        "an address",
        re.compile(
            r"(^|_)(address|street|addr|postcode|zip|zip_code|postal_code|city_of_residence)(_|$)"
        ),
    ),
    ("a phone number", re.compile(r"(^|_)(phone|telephone|mobile|cell_phone|fax)(_|$)")),
    ("an e-mail address", re.compile(r"(^|_)(e_?mail|email_address)(_|$)")),
    (
        "a record number",
        re.compile(
            r"(^|_)(mrn|medical_record(_number|_no)?|record_(number|no)|hospital_(number|no|id)"
            r"|chart_(number|no)|nhs_(number|no)|ssn|social_security(_number)?"
            r"|insurance_(number|no|id)|health_insurance)(_|$)"
        ),
    ),
    (
        "an exact birth date",
        re.compile(r"^(dob|birth_?date|date_of_birth|birthday|geburtsdatum|birth_day)$"),
    ),
)


def normalise_column_name(column: str) -> str:
    """Lower-case and join words with ``_`` so that ``E-Mail`` and ``e mail`` match."""
    return re.sub(r"[^a-z0-9]+", "_", column.strip().lower()).strip("_")


def direct_identifier_kind(column: str) -> str | None:
    """Say which kind of direct identifier a column name looks like, if any."""
    normalised = normalise_column_name(column)
    for kind, pattern in DIRECT_IDENTIFIER_PATTERNS:
        if pattern.search(normalised):
            return kind
    return None
