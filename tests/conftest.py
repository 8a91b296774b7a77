"""Shared fixtures: small hand-built deliveries and a way to compare warehouse states."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "tests" / "data"
#: Real cohorts shipped for users (examples/) rather than only for tests.
EXAMPLES_DIR = REPO_ROOT / "examples"


def real_cohort_dir(name: str) -> Path:
    """A real public cohort in the raw contract: examples/ first, then tests/data/."""
    shipped = EXAMPLES_DIR / name
    return shipped if shipped.is_dir() else DATA_DIR / name


FIXED_LOAD_TIME = dt.datetime(2026, 1, 15, 9, 30, 0)

PATIENTS_CSV = """\
patient_id,sex,age_at_diagnosis,diagnosis_date,iss_stage,treatment,progression_date,death_date,last_followup_date
P-001,F,61,2010-03-01,II,len+chemo,2012-05-04,,2014-01-10
P-002,M, 58 ,2010-04-12,,len+chemo,,2013-02-02,2013-02-02
P-003,,NA,2010-06-30,III,len+chemo,,,2015-09-09
"""

CYTOGENETICS_CSV = """\
patient_id,aberration,status,method
P-001,del(17p13),absent,FISH
P-001,"t(4;14)(p16;q32)",present,FISH
P-002,del17p,not_evaluable,FISH
"""

EXPRESSION_CSV = """\
patient_id,gene,value,assay,unit,replicate,reference_gene
P-001,IKZF1,27.10,qRT-PCR,ct,1,GAPDH
P-001,IKZF1,27.30,qRT-PCR,ct,2,GAPDH
P-001,GAPDH,19.05,qRT-PCR,ct,1,GAPDH
P-002,IKZF1,0028.5,qRT-PCR,ct,1,GAPDH
P-002,GAPDH,n.d.,qRT-PCR,ct,1,GAPDH
"""

DeliveryWriter = Callable[..., Path]


@pytest.fixture
def write_delivery(tmp_path: Path) -> DeliveryWriter:
    """Write a delivery folder; pass ``table=None`` to leave a file out, text to override."""

    def write(
        folder: str = "delivery",
        *,
        patients: str | bytes | None = PATIENTS_CSV,
        cytogenetics: str | bytes | None = CYTOGENETICS_CSV,
        expression: str | bytes | None = EXPRESSION_CSV,
    ) -> Path:
        target = tmp_path / folder
        target.mkdir(exist_ok=True)
        for name, content in (
            ("patients", patients),
            ("cytogenetics", cytogenetics),
            ("expression", expression),
        ):
            path = target / f"{name}.csv"
            if content is None:
                path.unlink(missing_ok=True)
            elif isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return target

    return write


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse" / "study.duckdb"


def warehouse_state(db_path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, sorted, so two states can be compared exactly."""
    if not db_path.exists():
        return {}
    with duckdb.connect(str(db_path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' order by 1, 2"
        ).fetchall()
        return {
            f"{schema}.{name}": sorted(
                con.execute(f'select * from "{schema}"."{name}"').fetchall(), key=repr
            )
            for schema, name in tables
        }
