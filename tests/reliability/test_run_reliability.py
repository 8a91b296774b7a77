"""`cohort run` under stress: killed mid-run, run twice at once, rerun, bad data.

Each test drives the real command in child processes on the simulated demo cohort.
The test hook ``COHORT_RUN_PAUSE_AT`` holds a run at an exact point so that SIGKILL,
SIGTERM or a second run can hit it there deterministically.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.simulate import simulate
from tests.conftest import warehouse_state

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SPEC = Path(__file__).resolve().parents[2] / "studies" / "dsmm_ikzf1.yml"


def cohort(*args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def run(db: Path, input_dir: Path, *extra: str, env: dict[str, str] | None = None):
    process = cohort(
        "run", "--db", str(db), "--input", str(input_dir), "--spec", str(SPEC), *extra, env=env
    )
    output, _ = process.communicate(timeout=300)
    return process.returncode, output


def paused_run(db: Path, input_dir: Path, point: str, pause_dir: Path, *extra: str):
    """Start a run that stops at ``point`` and wait until it is there."""
    pause_dir.mkdir(exist_ok=True)
    process = cohort(
        "run",
        "--db",
        str(db),
        "--input",
        str(input_dir),
        "--spec",
        str(SPEC),
        *extra,
        env={"COHORT_RUN_PAUSE_AT": point, "COHORT_RUN_PAUSE_DIR": str(pause_dir)},
    )
    marker = pause_dir / f"{point}.paused"
    deadline = time.monotonic() + 120
    while not marker.exists():
        if process.poll() is not None:
            raise AssertionError(f"run ended before {point}: {process.stdout.read()}")
        assert time.monotonic() < deadline, f"run never reached {point}"
        time.sleep(0.05)
    marker.unlink()
    return process


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def registry(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "select run_id, status, failed_step, error_message from meta.pipeline_runs "
            "order by started_at"
        ).fetchall()


def published_results(db: Path) -> dict[str, list[tuple]]:
    """Every table except the registry and the gate's history (both grow on failure)."""
    state = warehouse_state(db)
    return {
        name: rows
        for name, rows in state.items()
        if not name.startswith("meta.") and not name.startswith("quality.validation_")
    }


def changed_delivery(source: Path, target: Path, *, last_followup: str) -> Path:
    """The same delivery with one patient's last follow-up moved: a new input hash."""
    shutil.copytree(source, target)
    [patients] = target.glob("patients*.csv")
    lines = patients.read_text().splitlines()
    header = lines[0].split(",")
    column = header.index("last_followup_date")
    fields = lines[1].split(",")
    fields[column] = last_followup
    lines[1] = ",".join(fields)
    patients.write_text("\n".join(lines) + "\n")
    return target


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    simulate(folder / "input", patients=60, seed=2017)
    return folder


@pytest.fixture(scope="module")
def published(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with one published run of the demo cohort."""
    db = tmp_path_factory.mktemp("published") / "cohort.duckdb"
    code, output = run(db, demo / "input")
    assert code == 0, output
    return db


@pytest.fixture
def warehouse(published: Path, tmp_path: Path) -> Path:
    """A private copy of the published warehouse (file and nothing else)."""
    db = tmp_path / "wh" / "cohort.duckdb"
    db.parent.mkdir()
    shutil.copyfile(published, db)
    return db


def test_first_run_publishes_everything(published: Path):
    [(run_id, status, failed_step, error)] = registry(published)
    assert (status, failed_step, error) == ("succeeded", None, None)
    with duckdb.connect(str(published), read_only=True) as con:
        [(analysis_run, report)] = con.execute(
            "select analysis_run_id, report_path from meta.pipeline_runs"
        ).fetchall()
        assert con.execute(
            "select distinct run_id from results.latest_logrank_tests"
        ).fetchall() == [(analysis_run,)]
        steps = con.execute(
            "select step, status from meta.pipeline_run_steps where run_id = ? order by step",
            [run_id],
        ).fetchall()
    assert {status for _, status in steps} == {"succeeded"}
    assert len(steps) == 7
    assert Path(report).is_file()
    assert not (published.parent / "build" / "cohort" / "work" / "cohort.duckdb").exists()


def test_unchanged_input_is_skipped_and_force_reproduces_the_results(warehouse: Path, demo: Path):
    before = sha256(warehouse)
    code, output = run(warehouse, demo / "input")
    assert code == 0, output
    assert "Nothing to do" in output
    assert sha256(warehouse) == before, "a skipped run must not touch the warehouse"

    first = published_results(warehouse)
    code, output = run(warehouse, demo / "input", "--force")
    assert code == 0, output
    assert "nothing (forced run)" in output
    second = published_results(warehouse)
    assert [row[1] for row in registry(warehouse)] == ["succeeded", "succeeded"]

    def without_run_metadata(state: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
        tables = {}
        with duckdb.connect(str(warehouse), read_only=True) as con:
            for name in state:
                # The cut-point ledger is not per run: it is checked below.
                if not name.startswith("results.") or name in (
                    "results.analysis_runs",
                    "results.cutpoint_ledger",
                ):
                    continue
                schema, table = name.split(".")
                columns = [
                    row[0]
                    for row in con.execute(
                        "select column_name from information_schema.columns "
                        "where table_schema = ? and table_name = ? and column_name <> 'run_id' "
                        "order by ordinal_position",
                        [schema, table],
                    ).fetchall()
                ]
                by_run = con.execute(
                    f"select run_id, {', '.join(columns)} from {name} order by all"
                ).fetchall()
                tables[name] = by_run
        return tables

    tables = without_run_metadata(second)
    assert set(tables) >= {"results.logrank_tests", "results.km_landmarks", "results.cox_models"}
    for name, rows in tables.items():
        runs = sorted({row[0] for row in rows})
        assert len(runs) == 2, name
        first_rows = sorted((row[1:] for row in rows if row[0] == runs[0]), key=repr)
        second_rows = sorted((row[1:] for row in rows if row[0] == runs[1]), key=repr)
        assert first_rows == second_rows and first_rows, name
    assert first["marts.cohort_patients"] == second["marts.cohort_patients"]
    # The forced run tried the same cut-point choices again on the same data: each counts
    # two runs now.
    with duckdb.connect(str(warehouse), read_only=True) as con:
        ledger = con.execute("select n_runs, last_p from results.cutpoint_ledger").fetchall()
    assert ledger and {n_runs for n_runs, _ in ledger} == {2}


def test_kill_at_any_point_leaves_the_published_warehouse_untouched(
    warehouse: Path, demo: Path, tmp_path: Path
):
    before = sha256(warehouse)
    new_input = changed_delivery(demo / "input", tmp_path / "new", last_followup="2016-12-31")
    killed = []
    for point, delay in (("ingest", 0), ("build", 1.5), ("analyze", 0), ("replace", 0)):
        process = paused_run(warehouse, new_input, point, tmp_path / "pause")
        if delay:  # let it run into dbt, then kill it in the middle of the build
            (tmp_path / "pause" / f"{point}.resume").write_text("")
            time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        (tmp_path / "pause" / f"{point}.resume").unlink(missing_ok=True)
        killed.append(point)
        assert sha256(warehouse) == before, f"killed at {point}: published file changed"
        with duckdb.connect(str(warehouse), read_only=True) as con:
            assert con.execute("select count(*) from results.analysis_runs").fetchall()

    code, output = run(warehouse, new_input)
    assert code == 0, output
    runs = registry(warehouse)
    abandoned = [row for row in runs if row[1] == "abandoned"]
    assert len(abandoned) == len(killed)
    failed_steps = [row[2] for row in abandoned]
    assert failed_steps[0] == "ingest" and failed_steps[2] == "analyze"
    assert failed_steps[3] == "publish"
    assert all("nothing of this run was published" in row[3] for row in abandoned)
    assert runs[-1][1] == "succeeded"
    assert "did not finish" in output


def test_a_second_run_refuses_or_waits_while_one_is_running(
    warehouse: Path, demo: Path, tmp_path: Path
):
    new_input = changed_delivery(demo / "input", tmp_path / "new", last_followup="2016-11-30")
    first = paused_run(warehouse, new_input, "build", tmp_path / "pause")
    try:
        code, output = run(warehouse, new_input)
        assert code == 8, output
        assert "another process is writing" in output and "run run-" in output
        started = time.monotonic()
        code, output = run(warehouse, new_input, "--wait", "1")
        assert code == 8 and time.monotonic() - started >= 1, output
        ingest = cohort("ingest", str(new_input), "--db", str(warehouse))
        ingest_output, _ = ingest.communicate(timeout=120)
        assert ingest.returncode == 8, ingest_output
        # a reader is never blocked by the run
        with duckdb.connect(str(warehouse), read_only=True) as con:
            assert con.execute("select count(*) from marts.cohort_patients").fetchall() == [(60,)]
        waiting = cohort(
            "run",
            "--db",
            str(warehouse),
            "--input",
            str(new_input),
            "--spec",
            str(SPEC),
            "--wait",
            "120",
        )
    finally:
        (tmp_path / "pause" / "build.resume").write_text("")
    output, _ = first.communicate(timeout=300)
    assert first.returncode == 0, output
    waited_output, _ = waiting.communicate(timeout=300)
    assert waiting.returncode == 0 and "Nothing to do" in waited_output, waited_output
    statuses = [row[1] for row in registry(warehouse)]
    assert statuses == ["succeeded", "succeeded"]


def test_sigterm_is_recorded_and_nothing_published(warehouse: Path, demo: Path, tmp_path: Path):
    before = published_results(warehouse)
    new_input = changed_delivery(demo / "input", tmp_path / "new", last_followup="2016-10-31")
    process = paused_run(warehouse, new_input, "analyze", tmp_path / "pause")
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode != 0, output
    assert published_results(warehouse) == before
    last = registry(warehouse)[-1]
    assert last[1:3] == ("failed", "analyze") and "interrupted" in last[3]


def test_a_defect_stops_the_run_at_the_gate(warehouse: Path, tmp_path: Path):
    before = published_results(warehouse)
    simulate(tmp_path / "bad", patients=60, seed=2017, defects=["negative_ct"])
    code, output = run(warehouse, tmp_path / "bad")
    assert code == 5, output
    assert "PLAU-07" in output
    assert published_results(warehouse) == before
    [*_, (run_id, status, failed_step, error)] = registry(warehouse)
    assert (status, failed_step) == ("failed", "validate")
    assert "quality gate failed" in error and "PLAU-07" in error
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(verdict, db_path)] = con.execute(
            "select verdict, db_path from quality.validation_runs "
            "where run_id = (select validation_run_id from meta.pipeline_runs where run_id = ?)",
            [run_id],
        ).fetchall()
    assert verdict == "fail" and db_path == str(warehouse.resolve())
