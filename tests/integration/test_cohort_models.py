"""The dbt models on real DuckDB: endpoints, risk, qRT-PCR orientation, defects, row counts.

Every expected value here is computed by hand from the delivered dates and Ct values,
not read back from the models.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from pipelines.build import BuildSettings, build_cohort
from pipelines.ingest import ingest
from pipelines.simulate import DEFECTS, simulate
from tests.conftest import FIXED_LOAD_TIME, real_cohort_dir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HEADER = (
    "patient_id,sex,age_at_diagnosis,diagnosis_date,iss_stage,treatment,"
    "progression_date,death_date,last_followup_date"
)
# Hand-made patients: every endpoint below is counted on a calendar by hand.
PATIENTS = f"""{HEADER}
A,F,60,2010-01-01,I,len,2011-01-01,,2013-01-01
B,M,61,2010-01-01,II,len,,2011-07-01,2011-07-01
C,F,62,2010-01-01,III,len,2013-01-01,2014-01-01,2014-01-01
D,M,63,2010-01-01,I,len,,,2011-01-01
E,F,64,2010-01-01,I,len,,2010-01-01,2010-01-01
F,M,65,2010-01-01,II,len,2010-07-01,2012-01-01,2012-01-01
G,F,66,,I,len,,,2012-01-01
H,M,67,2010-01-01,I,len,2012-01-01,2011-06-01,2011-06-01
I,F,68,2013-01-01,II,len,,,2014-01-01
"""
CYTOGENETICS = """patient_id,aberration,status,method
A,del(17p),absent,FISH
A,t(4;14)(p16;q32),present,FISH
A,t(14;16),absent,FISH
B,17p-,absent,FISH
B,T(4;14),absent,FISH
B,"t(14;16)(q32;q23)",absent,FISH
B,+1q21,present,FISH
C,del(17p13),absent,FISH
C,t(4;14),absent,FISH
C,t(14;16),not_evaluable,FISH
"""
# A: dCt IKZF1 = mean(27.0, 27.2, 27.4) - mean(20.0, 20.1, 19.9) = 27.2 - 20.0 = 7.2
# B: dCt IKZF1 = 25.0 - 20.5 = 4.5 (more mRNA than A); B's CRBN is delta_ct 3.0;
# C: log2 value 8.5 as delivered.
EXPRESSION = """patient_id,gene,value,assay,unit,replicate,reference_gene
A,IKZF1,27.0,qRT-PCR,ct,1,GAPDH
A,IKZF1,27.2,qRT-PCR,ct,2,GAPDH
A,IKZF1,27.4,qRT-PCR,ct,3,GAPDH
A,GAPDH,20.0,qRT-PCR,ct,1,GAPDH
A,GAPDH,20.1,qRT-PCR,ct,2,GAPDH
A,GAPDH,19.9,qRT-PCR,ct,3,GAPDH
B,Ikaros,25.0,qRT-PCR,ct,1,GAPDH
B,GAPDH,20.5,qRT-PCR,ct,1,GAPDH
B,CRBN,3.0,qRT-PCR,delta_ct,,
C,IKZF1,8.5,RNA-seq,log2,,
"""
CUTOFF = dt.date(2012, 7, 1)
AS_OF = dt.date(2026, 1, 1)


def build(folder: Path, db_path: Path, settings: BuildSettings) -> None:
    ingest(folder, db_path, code_version="test", loaded_at=FIXED_LOAD_TIME)
    result = build_cohort(db_path, settings=settings)
    failed = [node for node in result.nodes if node.status not in ("success", "pass")]
    assert result.success, failed


def rows(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db_path)) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def hand_made_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hand_made")
    (folder / "patients.csv").write_text(PATIENTS)
    (folder / "cytogenetics.csv").write_text(CYTOGENETICS)
    (folder / "expression.csv").write_text(EXPRESSION)
    db_path = folder / "hand.duckdb"
    build(folder, db_path, BuildSettings(data_cutoff_date=CUTOFF, as_of_date=AS_OF))
    return db_path


def test_endpoints_against_hand_computed_days(hand_made_db: Path):
    got = {
        row[0]: row[1:]
        for row in rows(
            hand_made_db,
            "select patient_id, pfs_days, is_pfs_event, os_days, "
            "is_os_event, followup_status from marts.cohort_patients",
        )
    }
    # cut-off 2012-07-01 = day 912 after 2010-01-01 (365 + 365 + 182)
    assert got["A"] == (365, True, 912, False, "censored_at_cutoff")
    assert got["B"] == (546, True, 546, True, "died")  # death without progression
    assert got["C"] == (912, False, 912, False, "censored_at_cutoff")  # events after cut-off
    assert got["D"] == (365, False, 365, False, "censored_at_last_followup")
    assert got["E"] == (0, True, 0, True, "died")  # event on the diagnosis date is kept
    assert got["F"] == (181, True, 730, True, "died")
    assert got["G"] == (None, None, None, None, None)
    assert got["H"] == (None, None, None, None, None)
    years = rows(hand_made_db, "select pfs_years from marts.cohort_patients where patient_id = 'B'")
    assert years == [(pytest.approx(546 / 365.25),)]


def test_excluded_patients_stay_visible_with_reasons(hand_made_db: Path):
    excluded = dict(
        rows(
            hand_made_db,
            "select patient_id, exclusion_reasons from marts.cohort_patients where is_excluded",
        )
    )
    assert excluded == {
        "G": "diagnosis date missing",
        "H": "progression after death",
        "I": "diagnosis after the data cut-off",
    }
    assert rows(hand_made_db, "select count(*) from marts.cohort_patients") == [(9,)]
    findings = rows(
        hand_made_db,
        "select patient_id, column_name, value, detail from quality.date_order_violations "
        "order by patient_id",
    )
    assert findings == [
        ("H", "progression_date", "2012-01-01", "progression after death (2011-06-01)"),
        ("I", "diagnosis_date", "2013-01-01", "diagnosis after the data cut-off (2012-07-01)"),
    ]


def test_table_one_against_hand_counts(hand_made_db: Path):
    """cohort_baseline for the hand-made patients, counted and interpolated by hand.

    Analysable: A-F (G, H, I are excluded). Risk: A high, B standard, C-F unknown.
    """
    got = {
        (row[0], row[1], row[2]): row[3:]
        for row in rows(
            hand_made_db,
            "select cytogenetic_risk, characteristic, category, n_group, n_patients, percent, "
            "median, lower_quartile, upper_quartile from marts.cohort_baseline",
        )
    }
    none = (None, None, None)
    assert got["all", "patients", "analysable"] == (6, 6, None, *none)
    assert got["all", "patients", "excluded from analysis"] == (6, 3, None, *none)
    assert got["all", "sex", "F"] == (6, 3, 50.0, *none)  # A, C, E
    assert got["all", "iss_stage", "II"] == (6, 2, 33.3, *none)  # B, F
    assert got["all", "iss_stage", "III"] == (6, 1, 16.7, *none)  # C
    # PFS events: A (progression), B and E (death), F; C's come after the cut-off.
    assert got["all", "progression or death (PFS event)", "yes"] == (6, 4, 66.7, *none)
    assert got["all", "death (OS event)", "yes"] == (6, 3, 50.0, *none)  # B, E, F
    # Ages 60..65: R type 7 quartiles at positions 1.25, 2.5 and 3.75 of the sorted six.
    assert got["all", "age_at_diagnosis (years)", None] == (6, 6, None, 62.5, 61.25, 63.75)
    # OS days 0, 365, 546, 730, 912, 912 -> 638, 410.25, 866.5 days.
    os_years = got["all", "observation time, OS (years)", None]
    assert os_years[:3] == (6, 6, None)
    assert os_years[3:] == pytest.approx((638 / 365.25, 410.25 / 365.25, 866.5 / 365.25))
    assert got["high", "patients", "analysable"][:2] == (1, 1)  # A
    assert got["standard", "age_at_diagnosis (years)", None][3] == 61.0  # B alone
    assert got["unknown", "sex", "M"] == (4, 2, 50.0, *none)  # D, F of C-F


def test_cytogenetic_risk_and_spellings(hand_made_db: Path):
    got = {
        row[0]: row[1:]
        for row in rows(
            hand_made_db,
            "select patient_id, del_17p, t_4_14, t_14_16, gain_1q21, "
            "cytogenetic_risk, cytogenetic_risk_rule from marts.cohort_patients",
        )
    }
    assert got["A"] == ("absent", "present", "absent", "unknown", "high", "high: t(4;14) present")
    assert got["B"] == (
        "absent",
        "absent",
        "absent",
        "present",
        "standard",
        "standard: del(17p), t(4;14), t(14;16) absent",
    )
    assert got["C"] == (
        "absent",
        "absent",
        "unknown",
        "unknown",
        "unknown",
        "unknown: t(14;16) not evaluated",
    )
    assert got["D"][4] == "unknown"


def test_high_risk_list_is_a_setting(tmp_path: Path):
    (tmp_path / "patients.csv").write_text(PATIENTS)
    (tmp_path / "cytogenetics.csv").write_text(CYTOGENETICS)
    (tmp_path / "expression.csv").write_text(EXPRESSION)
    db_path = tmp_path / "risk.duckdb"
    build(tmp_path, db_path, BuildSettings(high_risk_aberrations=("gain(1q21)",), as_of_date=AS_OF))
    risk = dict(rows(db_path, "select patient_id, cytogenetic_risk from marts.cohort_patients"))
    assert (risk["A"], risk["B"]) == ("unknown", "high")


def test_qrtpcr_orientation_higher_dct_is_lower_expression(hand_made_db: Path):
    got = {
        (row[0], row[1]): row[2:]
        for row in rows(
            hand_made_db,
            "select patient_id, gene, expression_value, delta_ct, "
            "n_replicates, reference_gene, qc_flag from marts.cohort_expression",
        )
    }
    assert set(got) == {("A", "IKZF1"), ("B", "IKZF1"), ("B", "CRBN"), ("C", "IKZF1")}
    value_a, delta_a, replicates_a, reference_a, flag_a = got[("A", "IKZF1")]
    assert delta_a == pytest.approx(7.2) and value_a == pytest.approx(-7.2)
    assert (replicates_a, reference_a, flag_a) == (3, "GAPDH", "ok")
    assert got[("B", "IKZF1")][:2] == (pytest.approx(-4.5), pytest.approx(4.5))  # alias mapped
    assert got[("B", "CRBN")][0] == pytest.approx(-3.0)
    assert got[("C", "IKZF1")][0] == pytest.approx(8.5)
    # the highest dCt (A) is the lowest expression among the qRT-PCR IKZF1 values
    assert value_a < got[("B", "IKZF1")][0]


@pytest.fixture(scope="module")
def defect_cohort(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("defects") / "input"
    result = simulate(folder, patients=60, seed=11, defects=sorted(DEFECTS))
    db_path = folder.parent / "defects.duckdb"
    build(folder, db_path, BuildSettings(as_of_date=AS_OF))
    return result, db_path


EXPECTED_FINDING = {
    "duplicate_patient": "duplicate_patient",
    "progression_before_diagnosis": "date_order",
    "death_before_progression": "date_order",
    "date_in_future": "future_date",
    "unparseable_date": "cast_failure",
    "followup_before_diagnosis": "date_order",
    "unknown_aberration_spelling": "unmapped_aberration",
    "unknown_status": "invalid_value",
    "non_numeric_value": "cast_failure",
    "negative_ct": "implausible_value",
    "orphan_expression_row": "orphan_row",
    "duplicate_expression_row": "duplicate_measurement",
}


def test_every_defect_class_is_surfaced_at_its_row(defect_cohort):
    result, db_path = defect_cohort
    findings = rows(
        db_path,
        "select check_name, source_file, source_row_number, patient_id, "
        "column_name, detail from quality.row_findings",
    )
    assert {record.defect for record in result.defects_applied} == set(DEFECTS)
    for record in result.defects_applied:
        if record.defect in EXPECTED_FINDING:
            expected = (EXPECTED_FINDING[record.defect], record.file, record.row, record.patient_id)
            assert expected in {finding[:4] for finding in findings}, record
        elif record.defect == "missing_reference_gene":
            assert any(
                f[0] == "expression_qc"
                and f[3] == record.patient_id
                and f[5].startswith("missing reference gene")
                for f in findings
            )
        elif record.defect == "high_replicate_sd":
            assert any(
                f[0] == "expression_qc"
                and f[3] == record.patient_id
                and f[5].startswith("high replicate SD")
                for f in findings
            )
        else:  # pragma: no cover - a new defect class needs an expectation here
            pytest.fail(f"no expectation for defect {record.defect}")


def test_defective_patients_are_excluded_not_dropped(defect_cohort):
    result, db_path = defect_cohort
    excluded = dict(
        rows(
            db_path,
            "select patient_id, exclusion_reasons from marts.cohort_patients where is_excluded",
        )
    )
    by_defect = {record.defect: record.patient_id for record in result.defects_applied}
    assert excluded[by_defect["duplicate_patient"]] == "duplicate patient_id rows"
    assert excluded[by_defect["progression_before_diagnosis"]] == "progression before diagnosis"
    assert excluded[by_defect["death_before_progression"]] == "progression after death"
    assert excluded[by_defect["unparseable_date"]] == "diagnosis date not an ISO date"
    assert excluded[by_defect["followup_before_diagnosis"]] == "follow-up before diagnosis"
    assert excluded[by_defect["date_in_future"]] == "date in the future"


def test_rows_are_accounted_for_through_every_layer(defect_cohort):
    _, db_path = defect_cohort
    [(raw_patients, stg_patients, mart_patients, extra_copies, no_id)] = rows(
        db_path,
        """
        select
            (select count(*) from raw.patients),
            (select count(*) from staging.stg_raw__patients),
            (select count(*) from marts.cohort_patients),
            (select coalesce(sum(n_source_rows - 1), 0)
             from intermediate.int_patients_deduplicated),
            (select count(*) from staging.stg_raw__patients where patient_id is null)
    """,
    )
    assert raw_patients == stg_patients == mart_patients + extra_copies + no_id
    assert extra_copies == 1
    [(raw_expression, stg_expression, in_mart, reference_rows, orphans, unkeyed)] = rows(
        db_path,
        """
        select
            (select count(*) from raw.expression),
            (select count(*) from staging.stg_raw__expression_measurements),
            (select sum(n_measurements) from marts.cohort_expression),
            (select count(*) from staging.stg_raw__expression_measurements as measurement
             where unit = 'ct' and gene = reference_gene
               and patient_id in (select patient_id from marts.cohort_patients)),
            (select count(*) from quality.orphan_rows where table_name = 'expression'),
            (select count(*) from staging.stg_raw__expression_measurements
             where patient_id is null or gene is null)
    """,
    )
    assert raw_expression == stg_expression == in_mart + reference_rows + orphans + unkeyed
    [(stg_cytogenetics, used, unmapped, invalid_status, cyto_orphans)] = rows(
        db_path,
        """
        select
            (select count(*) from staging.stg_raw__cytogenetic_results),
            (select count(*) from staging.stg_raw__cytogenetic_results
             where aberration is not null
               and status in ('present', 'absent', 'not_evaluable')
               and patient_id in (select patient_id from marts.cohort_patients)),
            (select count(*) from quality.unmapped_aberrations),
            (select count(*) from quality.invalid_values where column_name = 'status'),
            (select count(*) from quality.orphan_rows where table_name = 'cytogenetics')
    """,
    )
    assert stg_cytogenetics == used + unmapped + invalid_status + cyto_orphans


def test_real_uams_cohort_builds_and_passes_every_test(tmp_path: Path):
    db_path = tmp_path / "uams.duckdb"
    build(real_cohort_dir("uams_gse24080_mm"), db_path, BuildSettings(as_of_date=AS_OF))
    [(patients, excluded, events)] = rows(
        db_path,
        "select count(*), count(*) filter "
        "(where is_excluded), count(*) filter "
        "(where is_os_event) from marts.cohort_patients",
    )
    assert (patients, excluded, events) == (565, 0, 175)  # 175 deaths (tests/data/README.md)
    assert rows(db_path, "select count(*) from quality.row_findings") == [(0,)]
