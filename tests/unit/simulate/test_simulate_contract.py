"""The simulator writes raw contract v1, says 'simulated' everywhere, and is reproducible."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path

import polars as pl
import pytest

from pipelines.simulate import (
    DEFAULT_PARAMETERS,
    DEFECTS,
    STUDY_GENES,
    SimulationResult,
    simulate,
)

PATIENT_COLUMNS = [
    "patient_id",
    "sex",
    "age_at_diagnosis",
    "diagnosis_date",
    "iss_stage",
    "treatment",
    "progression_date",
    "death_date",
    "last_followup_date",
    "is_simulated",
]
CYTOGENETICS_COLUMNS = ["patient_id", "aberration", "status", "method", "clone_fraction"]
EXPRESSION_COLUMNS = [
    "patient_id",
    "gene",
    "value",
    "assay",
    "unit",
    "replicate",
    "reference_gene",
]
DOCUMENTED_SPELLINGS = {
    "del(17p)",
    "del(17p13)",
    "del17p",
    "17p-",
    "t(4;14)",
    "t(4;14)(p16;q32)",
    "t(14;16)",
    "t(14;16)(q32;q23)",
    "+1q21",
    "gain(1q21)",
    "del(13q14)",
    "-13",
}
MEDIUM_COHORT = 2_000


def read_text_table(path: Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, infer_schema=False)


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    return simulate(tmp_path_factory.mktemp("default") / "cohort")


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    result = simulate(tmp_path_factory.mktemp("medium") / "cohort", patients=MEDIUM_COHORT, seed=7)
    return {table: read_text_table(path) for table, path in result.files.items()}


def test_default_run_writes_three_simulated_tables_and_a_sidecar(
    default_run: SimulationResult,
) -> None:
    assert default_run.mode == "qrtpcr"
    assert (default_run.patients, default_run.seed) == (60, 2017)
    assert sorted(path.name for path in default_run.out_dir.iterdir()) == [
        "SIMULATED.json",
        "cytogenetics_simulated.csv",
        "expression_simulated.csv",
        "patients_simulated.csv",
    ]
    assert default_run.defects_applied == ()
    assert default_run.truth is None
    for table, path in default_run.files.items():
        assert read_text_table(path).height == default_run.row_counts[table]


def test_contract_columns_and_csv_dialect(default_run: SimulationResult) -> None:
    expected = {
        "patients": PATIENT_COLUMNS,
        "cytogenetics": CYTOGENETICS_COLUMNS,
        "expression": EXPRESSION_COLUMNS,
    }
    for table, path in default_run.files.items():
        raw = path.read_bytes()
        assert b"\r" not in raw
        raw.decode("utf-8")
        rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
        assert rows[0] == expected[table]
        assert {len(row) for row in rows} == {len(expected[table])}


def test_everything_says_simulated(default_run: SimulationResult) -> None:
    patients = read_text_table(default_run.files["patients"])
    assert patients["is_simulated"].unique().to_list() == ["true"]
    assert patients["patient_id"].str.starts_with("SIM-").all()
    assert patients["treatment"].str.contains("simulated").all()
    sidecar = json.loads(default_run.sidecar.read_text(encoding="utf-8"))
    assert sidecar["is_simulated"] is True
    assert "not patient data" in sidecar["notice"]
    assert sidecar["generator"]["name"] == "pipelines.simulate"
    assert sidecar["seed"] == 2017
    assert sidecar["parameters"]["reference_gene"] == "GAPDH"
    assert set(sidecar["derived_hazards"]) >= {"pfs_high_risk", "pfs_standard_risk_q1"}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    first = simulate(tmp_path / "a", seed=11)
    second = simulate(tmp_path / "b", seed=11)
    other = simulate(tmp_path / "c", seed=12)
    assert folder_bytes(first.out_dir) == folder_bytes(second.out_dir)
    differing = folder_bytes(first.out_dir)
    for name, content in folder_bytes(other.out_dir).items():
        if name != "SIMULATED.json":
            assert content != differing[name]


def test_scale_mode_parquet_is_reproducible(tmp_path: Path) -> None:
    first = simulate(tmp_path / "a", patients=20, genes=30, seed=3)
    second = simulate(tmp_path / "b", patients=20, genes=30, seed=3)
    assert folder_bytes(first.out_dir) == folder_bytes(second.out_dir)


def test_clean_cohort_date_invariants(medium: dict[str, pl.DataFrame]) -> None:
    def date(column: str) -> pl.Expr:
        return pl.col(column).str.to_date("%Y-%m-%d")

    patients = medium["patients"].with_columns(
        date(column)
        for column in ("diagnosis_date", "progression_date", "death_date", "last_followup_date")
    )
    parameters = DEFAULT_PARAMETERS
    assert patients["patient_id"].is_unique().all()
    accrual_end = parameters.accrual_start + dt.timedelta(
        days=round(parameters.accrual_years * parameters.days_per_year)
    )
    assert patients["diagnosis_date"].min() >= parameters.accrual_start
    assert patients["diagnosis_date"].max() < accrual_end
    assert patients["last_followup_date"].max() <= parameters.data_cutoff
    checks = patients.select(
        progression_after_diagnosis=(pl.col("progression_date") > pl.col("diagnosis_date"))
        .fill_null(True)
        .all(),
        death_after_diagnosis=(pl.col("death_date") > pl.col("diagnosis_date"))
        .fill_null(True)
        .all(),
        progression_not_after_death=(pl.col("progression_date") <= pl.col("death_date"))
        .fill_null(True)
        .all(),
        followup_covers_progression=(pl.col("last_followup_date") >= pl.col("progression_date"))
        .fill_null(True)
        .all(),
        death_is_last_followup=(pl.col("last_followup_date") == pl.col("death_date"))
        .fill_null(True)
        .all(),
    ).row(0, named=True)
    assert all(checks.values()), checks
    deaths_without_progression = patients.filter(
        pl.col("death_date").is_not_null() & pl.col("progression_date").is_null()
    ).height
    assert deaths_without_progression > 0


def test_demographics_are_plausible(medium: dict[str, pl.DataFrame]) -> None:
    patients = medium["patients"]
    ages = patients["age_at_diagnosis"].cast(pl.Int64)
    assert 55 <= ages.median() <= 59
    assert ages.min() >= 35 and ages.max() <= 70
    assert set(patients["sex"].drop_nulls().unique()) == {"M", "F"}
    assert set(patients["iss_stage"].drop_nulls().unique()) == {"I", "II", "III"}
    assert 0 < patients["iss_stage"].null_count() < 0.1 * patients.height


def test_cytogenetics_spellings_and_not_evaluable(medium: dict[str, pl.DataFrame]) -> None:
    cytogenetics = medium["cytogenetics"]
    assert set(cytogenetics["aberration"].unique()) == DOCUMENTED_SPELLINGS
    assert set(cytogenetics["status"].unique()) == {"present", "absent", "not_evaluable"}
    share = (cytogenetics["status"] == "not_evaluable").mean()
    assert 0.01 < share < 0.06
    present = cytogenetics.filter(pl.col("status") == "present")
    assert present["clone_fraction"].null_count() == 0
    fractions = present["clone_fraction"].cast(pl.Int64)
    assert fractions.min() >= 20 and fractions.max() <= 99
    assert (
        cytogenetics.filter(pl.col("status") != "present")["clone_fraction"].null_count()
        == cytogenetics.filter(pl.col("status") != "present").height
    )


def test_qrtpcr_values_look_like_raw_ct(medium: dict[str, pl.DataFrame]) -> None:
    expression = medium["expression"].with_columns(pl.col("value").cast(pl.Float64))
    assert set(expression["gene"].unique()) == {*STUDY_GENES, "GAPDH"}
    assert expression["reference_gene"].unique().to_list() == ["GAPDH"]
    assert expression["unit"].unique().to_list() == ["ct"]
    assert set(expression["replicate"].unique()) == {"1", "2", "3"}
    means = expression.group_by("gene").agg(pl.col("value").mean())
    by_gene = dict(zip(means["gene"], means["value"], strict=True))
    assert 18 <= by_gene["GAPDH"] <= 22
    assert all(24 <= by_gene[gene] <= 32 for gene in STUDY_GENES)
    triplicates = expression.group_by("patient_id", "gene").agg(
        wells=pl.len(), sd=pl.col("value").std()
    )
    assert triplicates["wells"].max() == 3
    assert 0 < (triplicates["wells"] < 3).mean() < 0.1
    noisy = (triplicates["sd"] > 0.5).mean()
    assert 0 < noisy < 0.03
    assert triplicates.filter(pl.col("gene") == "GAPDH").height == MEDIUM_COHORT


def test_gene_subset_keeps_the_values_of_the_chosen_genes(tmp_path: Path) -> None:
    full = simulate(tmp_path / "full", seed=5)
    subset = simulate(tmp_path / "subset", seed=5, genes=["CRBN"])
    full_rows = read_text_table(full.files["expression"]).filter(
        pl.col("gene").is_in(["CRBN", "GAPDH"])
    )
    assert read_text_table(subset.files["expression"]).equals(full_rows)
    assert full.files["patients"].read_bytes() == subset.files["patients"].read_bytes()


def test_scale_mode_writes_log2_rows_and_truth(tmp_path: Path) -> None:
    result = simulate(tmp_path / "scale", patients=50, genes=200, seed=9)
    assert result.mode == "scale" and result.file_format == "parquet"
    expression = read_text_table(result.files["expression"])
    assert expression.height == 50 * 200 == result.row_counts["expression"]
    assert expression["unit"].unique().to_list() == ["log2"]
    assert expression["replicate"].null_count() == expression.height
    assert expression["reference_gene"].null_count() == expression.height
    values = expression["value"].cast(pl.Float64)
    assert values.min() >= 0 and values.max() < 25
    assert set(STUDY_GENES) <= set(expression["gene"].unique())
    truth = pl.read_csv(result.truth)
    assert truth.height == 2 * 200
    assert set(truth["endpoint"].unique()) == {"PFS", "OS"}
    synthetic = truth.filter(pl.col("gene").str.starts_with("GENE"), pl.col("endpoint") == "PFS")
    assert synthetic["is_prognostic"].sum() == 2
    assert (synthetic.filter(~pl.col("is_prognostic"))["log_hazard_ratio"] == 0).all()
    crbn = truth.filter(pl.col("gene") == "CRBN")
    assert not crbn["is_prognostic"].any()


def test_scale_mode_csv_on_request(tmp_path: Path) -> None:
    result = simulate(tmp_path / "scale", patients=8, genes=10, file_format="csv")
    assert result.files["expression"].name == "expression_simulated.csv"
    assert read_text_table(result.files["expression"]).height == 80


def test_overwriting_a_previous_simulation_removes_its_files(tmp_path: Path) -> None:
    folder = tmp_path / "cohort"
    simulate(folder, patients=10, genes=8)
    simulate(folder, patients=10)
    assert sorted(path.name for path in folder.iterdir()) == [
        "SIMULATED.json",
        "cytogenetics_simulated.csv",
        "expression_simulated.csv",
        "patients_simulated.csv",
    ]


@pytest.mark.parametrize("intruder", ["notes.txt", "patients.csv"])
def test_refuses_a_folder_that_is_not_a_simulation(tmp_path: Path, intruder: str) -> None:
    folder = tmp_path / "cohort"
    folder.mkdir()
    (folder / intruder).write_text("keep me\n", encoding="utf-8")
    with pytest.raises(ValueError, match="does not look like a previous simulation"):
        simulate(folder)
    assert [path.name for path in folder.iterdir()] == [intruder]


def test_refuses_a_simulation_folder_with_foreign_files(tmp_path: Path) -> None:
    folder = tmp_path / "cohort"
    simulate(folder, patients=6)
    (folder / "analysis.xlsx").write_bytes(b"")
    with pytest.raises(ValueError, match=r"analysis\.xlsx"):
        simulate(folder, patients=6)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"patients": 3}, "at least 4"),
        ({"patients": True}, "integer"),
        ({"patients": 10.0}, "integer"),
        ({"seed": -1}, "non-negative"),
        ({"genes": ["IKZF1", "IKZF2"]}, "IKZF2"),
        ({"genes": []}, "empty"),
        ({"genes": "IKZF1"}, "list of names"),
        ({"genes": ["BSG", "BSG"]}, "twice"),
        ({"genes": 3}, "at least 4"),
        ({"file_format": "xlsx"}, "csv, parquet"),
        ({"defects": ["no_such_defect"]}, ", ".join(DEFECTS)),
        ({"defects": "duplicate_patient"}, "sequence"),
        ({"defects": ["negative_ct"], "genes": 10}, "qRT-PCR mode only"),
        ({"defects": ["duplicate_patient", "duplicate_patient"]}, "twice"),
        ({"defects": list(DEFECTS), "patients": 13}, "at least 14 patients"),
    ],
)
def test_bad_arguments_are_refused_before_writing(
    tmp_path: Path, arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        simulate(tmp_path / "cohort", **arguments)
    assert not (tmp_path / "cohort").exists()


def test_defect_registry_describes_each_defect() -> None:
    assert len(DEFECTS) >= 14
    for name, defect in DEFECTS.items():
        assert defect.name == name
        assert defect.description and "\n" not in defect.description
