"""`cohort schedule` fires `cohort run` and the second, unchanged firing does nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.simulate import simulate

SPEC = Path(__file__).resolve().parents[2] / "studies" / "dsmm_ikzf1.yml"


@pytest.mark.integration
@pytest.mark.slow
def test_schedule_fires_a_run_then_skips_when_nothing_changed(tmp_path: Path):
    simulate(tmp_path / "input", patients=60, seed=2017)
    db, log = tmp_path / "wh" / "cohort.duckdb", tmp_path / "schedule.log"
    completed = subprocess.run(
        [
            sys.executable, "-m", "pipelines.cli", "schedule",
            "--every", "0.5", "--max-runs", "2",
            "--input", str(tmp_path / "input"), "--spec", str(SPEC),
            "--db", str(db), "--log-file", str(log),
        ],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    text = log.read_text()
    assert text.count("firing: cohort run") == 2
    assert text.count("cohort run exited with 0") == 2
    assert "published in" in text and "Nothing to do" in text
    assert text.index("published in") < text.index("Nothing to do")
    assert "schedule stopped after 2 run(s)" in text
    with duckdb.connect(str(db), read_only=True) as con:
        runs = con.execute("select trigger, status from meta.pipeline_runs").fetchall()
    assert runs == [("schedule", "succeeded")]


def test_schedule_refuses_a_bad_cron_expression_and_a_missing_trigger(tmp_path: Path):
    runner = CliRunner()
    outcome = runner.invoke(app, ["schedule", "--cron", "61 * * * *", "--db", str(tmp_path / "x")])
    assert outcome.exit_code == 2 and "cron" in outcome.output
    outcome = runner.invoke(app, ["schedule", "--db", str(tmp_path / "x")])
    assert outcome.exit_code == 2 and "exactly one of --cron and --every" in outcome.output
