"""`cohort build` for real: simulated cohort -> ingest -> dbt build -> marts, and docs.

One successful build of the 60-patient simulated cohort is shared by the module (a
build takes several seconds). The failing-test path builds a copy of the project with
one extra singular test that fails on purpose, so it does not depend on which data
defects the models treat as test failures rather than quality findings.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.build import PROJECT_DIR, BuildResult, BuildSettings, build_cohort
from pipelines.build.docs import generate_docs
from pipelines.build.runner import DB_PATH_VARIABLE, dbt_location_args, invoke_dbt
from pipelines.cli import EXIT_BUILD_FAILED, app
from pipelines.ingest import ingest
from pipelines.simulate import simulate
from tests.conftest import FIXED_LOAD_TIME

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PATIENTS = 60


@dataclass(frozen=True)
class Built:
    result: BuildResult
    db_path: Path
    files_written_to_cwd: tuple[Path, ...]
    db_path_variable_after: str | None
    project_files_before: frozenset[Path]
    project_files_after: frozenset[Path]


def project_files() -> frozenset[Path]:
    return frozenset(path for path in PROJECT_DIR.rglob("*"))


def simulated_warehouse(folder: Path, patients: int = PATIENTS) -> Path:
    simulate(folder / "delivery", patients=patients, seed=2017)
    db_path = folder / "warehouse" / "study.duckdb"
    ingest(folder / "delivery", db_path, code_version="test", loaded_at=FIXED_LOAD_TIME)
    return db_path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    folder = tmp_path_factory.mktemp("build")
    db_path = simulated_warehouse(folder)
    workdir = folder / "cwd"
    workdir.mkdir()
    before = project_files()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(workdir)  # dbt must not write logs/ or target/ into the cwd either
        patch.delenv(DB_PATH_VARIABLE, raising=False)
        result = build_cohort(db_path, settings=BuildSettings())
        environment_after = os.environ.get(DB_PATH_VARIABLE)
    return Built(
        result, db_path, tuple(workdir.iterdir()), environment_after, before, project_files()
    )


def test_the_simulated_cohort_builds_into_the_marts(built: Built):
    result = built.result
    assert result.success, [f"{node.name}: {node.message}" for node in result.nodes]
    assert result.error is None and result.failed_tests == ()
    counts = result.status_counts()
    assert {"seed", "model", "test"} <= set(counts)
    assert counts["test"]["pass"] > 0
    with duckdb.connect(str(built.db_path), read_only=True) as con:  # dbt released the file
        rows = con.execute("select count(*) from marts.cohort_patients").fetchall()
    assert rows == [(PATIENTS,)]
    assert result.cohort is not None
    assert result.cohort.patients == PATIENTS
    assert {group.cytogenetic_risk for group in result.cohort.by_risk} <= {
        "high",
        "standard",
        "unknown",
    }
    assert 0 < result.dbt_seconds <= result.wall_seconds


def test_artifacts_go_next_to_the_warehouse_and_nothing_into_the_source_tree(built: Built):
    build_dir = built.db_path.parent / "build" / "study"
    assert built.result.build_dir == build_dir
    assert (build_dir / "target" / "partial_parse.msgpack").is_file()
    assert (build_dir / "logs" / "dbt.log").is_file()
    assert built.project_files_after == built.project_files_before
    for generated in ("target", "logs", "dbt_packages", ".user.yml"):
        assert not (PROJECT_DIR / generated).exists(), generated
    assert built.files_written_to_cwd == ()
    assert built.db_path_variable_after is None  # restored (it was unset)


def test_docs_are_generated_offline_from_the_built_warehouse(built: Built, tmp_path: Path):
    result = generate_docs(built.db_path, out_dir=tmp_path / "docs")
    assert result.index_html == tmp_path / "docs" / "index.html"
    page = result.index_html.read_text(encoding="utf-8")
    assert "cohort_patients" in page
    assert result.remote_assets == ()
    assert not (PROJECT_DIR / "target").exists()


def test_a_failing_test_makes_cohort_build_exit_3_with_the_test_and_example_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "tests").mkdir(exist_ok=True)
    # A deliberately wrong expectation: the simulated cohort has high-risk patients.
    (project / "tests" / "assert_no_high_risk_patients.sql").write_text(
        "select patient_id, cytogenetic_risk\n"
        "from {{ ref('cohort_patients') }}\n"
        "where cytogenetic_risk = 'high'\n",
        encoding="utf-8",
    )
    monkeypatch.setattr("pipelines.build.runner.PROJECT_DIR", project)
    db_path = simulated_warehouse(tmp_path)
    outcome = CliRunner().invoke(app, ["build", "--db", str(db_path)])
    assert outcome.exit_code == EXIT_BUILD_FAILED, outcome.output
    output = outcome.output
    assert "FAILED" in output
    assert "test fail: assert_no_high_risk_patients on cohort_patients" in output
    assert "example rows (" in output
    assert "cytogenetic_risk=high" in output
    assert "patient_id=SIM-" in output
    assert '"test_failures"."assert_no_high_risk_patients"' in output
    assert not (project / "target").exists()


def test_the_consolidated_tests_name_each_broken_rule_and_key(built: Built, tmp_path: Path):
    """keys and row_rules (one dbt node per model) fail on planted defects, row by row.

    The marts of a copy of the built warehouse are altered behind dbt's back, then only
    the tests run: each planted defect must come back under its rule or key column.
    """
    db_path = tmp_path / built.db_path.name
    shutil.copyfile(built.db_path, db_path)
    with duckdb.connect(str(db_path)) as con:
        first, second, third = (
            row[0]
            for row in con.execute(
                "select patient_id from marts.cohort_patients where not is_excluded "
                "and progression_date is not null order by patient_id limit 3"
            ).fetchall()
        )
        con.execute(
            "update marts.cohort_patients set progression_date = diagnosis_date - 1 "
            "where patient_id = ?",
            [first],
        )
        con.execute(
            "update marts.cohort_patients set cytogenetic_risk_rule = null where patient_id = ?",
            [second],
        )
        con.execute(
            "insert into marts.cohort_patients select * from marts.cohort_patients "
            "where patient_id = ?",
            [third],
        )
        con.execute(
            "insert into marts.cohort_genes select * from marts.cohort_genes order by gene limit 1"
        )
        con.execute(
            "update marts.cohort_expression set qc_flag = 'looked fine' "
            "where patient_id = ? and gene = 'IKZF1'",
            [first],
        )
    build_dir = tmp_path / "build"
    selected = "cohort_patients cohort_genes cohort_expression"
    args = ["test", *dbt_location_args(build_dir), "--select", selected]
    result = invoke_dbt(args, db_path)
    failed = {
        node.node.name: node.failures for node in result.result.results if node.status == "fail"
    }
    assert set(failed) == {
        "cohort_patients_keys",
        "cohort_patients_row_rules",
        "cohort_genes_keys",
        "cohort_expression_row_rules",
    }
    with duckdb.connect(str(db_path), read_only=True) as con:
        keys = con.execute(
            "select key_column, key_value, n_rows from test_failures.cohort_patients_keys"
        ).fetchall()
        broken = con.execute(
            "select distinct failed_rule, patient_id from test_failures.cohort_patients_row_rules"
        ).fetchall()
        gene_keys = con.execute(
            "select key_column, n_rows from test_failures.cohort_genes_keys order by key_column"
        ).fetchall()
        expression = con.execute(
            "select failed_rule, patient_id, gene from test_failures.cohort_expression_row_rules"
        ).fetchall()
    assert keys == [("patient_id", third, 2)]
    # pfs_days is stored, so moving the progression date breaks only the date order.
    assert set(broken) == {
        ("event_dates_in_order", first),
        ("every_patient_has_a_risk_group_and_rule", second),
    }
    assert gene_keys == [("gene", 2), ("gene_key", 2)]
    assert expression == [("qc_flag_is_known", first, "IKZF1")]


def test_a_relation_of_the_other_kind_is_replaced_by_the_build(built: Built, tmp_path: Path):
    """The project's materializations replace in place (one statement per model); a
    table where the project now has a view, or the reverse, is dropped first."""
    db_path = tmp_path / built.db_path.name
    shutil.copyfile(built.db_path, db_path)
    with duckdb.connect(str(db_path)) as con:
        con.execute("drop table marts.cohort_genes")
        con.execute("create view marts.cohort_genes as select 1 as gene_key")
        con.execute("drop view quality.cast_failures")
        con.execute("create table quality.cast_failures as select 1 as patient_id")
    result = build_cohort(db_path, settings=BuildSettings())
    assert result.success, [f"{node.name}: {node.message}" for node in result.nodes]
    with duckdb.connect(str(db_path), read_only=True) as con:
        kinds = dict(
            con.execute(
                "select table_schema || '.' || table_name, table_type "
                "from information_schema.tables "
                "where table_name in ('cohort_genes', 'cast_failures')"
            ).fetchall()
        )
        genes = con.execute(
            "select (select count(*) from marts.cohort_genes), "
            "(select count(distinct gene) from marts.cohort_expression)"
        ).fetchall()[0]
        leftovers = con.execute(
            "select table_name from information_schema.tables "
            "where table_name like '%__dbt_tmp' or table_name like '%__dbt_backup'"
        ).fetchall()
    assert kinds == {"marts.cohort_genes": "BASE TABLE", "quality.cast_failures": "VIEW"}
    assert genes[0] == genes[1] > 0 and leftovers == []


def test_a_config_the_materializations_do_not_support_fails_cohort_build_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The project's table skips grants; a mart asking for them stops the build (exit 3).

    Each refused config is covered in test_materializations.py; this is the user's view.
    """
    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "models" / "marts" / "cohort_shared_with_analysts.sql").write_text(
        "{{ config(grants={'select': ['analyst']}) }}\nselect * from {{ ref('cohort_genes') }}\n",
        encoding="utf-8",
    )
    monkeypatch.setattr("pipelines.build.runner.PROJECT_DIR", project)
    db_path = simulated_warehouse(tmp_path)
    outcome = CliRunner().invoke(app, ["build", "--db", str(db_path)])
    assert outcome.exit_code == EXIT_BUILD_FAILED, outcome.output
    output = " ".join(outcome.output.split())
    assert "model cohort_shared_with_analysts error:" in output
    assert (
        "model 'cohort_shared_with_analysts' (models/marts/cohort_shared_with_analysts.sql) "
        "uses grants, which the project's table materialization"
    ) in output
    with duckdb.connect(str(db_path), read_only=True) as con:
        refused = con.execute(
            "select count(*) from information_schema.tables "
            "where table_name = 'cohort_shared_with_analysts'"
        ).fetchall()
    assert refused == [(0,)]


def test_broken_reference_data_fails_the_build_naming_seed_column_and_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The seeds' keys and the synonyms' mapping are one singular test: plant one of each."""
    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    seeds = project / "seeds"
    with (seeds / "aberration_synonyms.csv").open("a", encoding="utf-8") as synonyms:
        synonyms.write("del(99q),del(99q)\n")  # maps to no canonical aberration
    aliases = (seeds / "gene_aliases.csv").read_text(encoding="utf-8").splitlines()
    with (seeds / "gene_aliases.csv").open("a", encoding="utf-8") as file:
        file.write(aliases[1] + "\n")  # the first alias twice
    monkeypatch.setattr("pipelines.build.runner.PROJECT_DIR", project)
    db_path = simulated_warehouse(tmp_path)
    result = build_cohort(db_path, settings=BuildSettings())
    assert not result.success
    assert [test.test_name for test in result.failed_tests] == ["reference_data_is_consistent"]
    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute(
            "select seed, column_name, value, n_rows, failed_rule "
            "from test_failures.reference_data_is_consistent order by seed"
        ).fetchall()
    assert rows == [
        ("aberration_synonyms", "aberration", "del(99q)", 1, "not a canonical aberration"),
        ("gene_aliases", "alias", aliases[1].split(",")[0], 2, "key missing or repeated"),
    ]
