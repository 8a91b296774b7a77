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
from pipelines.build.runner import DB_PATH_VARIABLE
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
