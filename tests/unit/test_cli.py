"""The command line: every command documents itself with an example; errors exit non-zero."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pipelines import __version__
from pipelines.cli import EXIT_CONTRACT, app
from tests.conftest import DeliveryWriter

runner = CliRunner()


def command_names() -> list[str]:
    group = typer.main.get_command(app)
    return sorted(group.commands)  # type: ignore[attr-defined]


def test_the_commands_that_exist():
    assert {"simulate", "ingest"} <= set(command_names())


@pytest.mark.parametrize("command", [[], *[[name] for name in command_names()]])
def test_every_command_has_help_with_an_example(command: list[str]):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"cohort {__version__}"


def test_ingest_prints_what_was_loaded_then_nothing_new(
    write_delivery: DeliveryWriter, db_path: Path
):
    folder = write_delivery()
    first = runner.invoke(app, ["ingest", str(folder), "--db", str(db_path)])
    assert first.exit_code == 0, first.output
    assert "Loaded batch 1" in first.output and "loaded" in first.output
    second = runner.invoke(app, ["ingest", str(folder), "--db", str(db_path)])
    assert second.exit_code == 0
    assert "Nothing new: already loaded as batch 1" in second.output


def test_ingest_refusal_exits_with_the_violations(write_delivery: DeliveryWriter, db_path: Path):
    folder = write_delivery(expression=None)
    result = runner.invoke(app, ["ingest", str(folder), "--db", str(db_path)])
    assert result.exit_code == EXIT_CONTRACT
    assert "nothing was written" in result.output
    assert (
        "required table 'expression' is missing from the input folder [rule: required_file]"
        in result.output
    )


def test_ingest_of_a_missing_folder(tmp_path: Path, db_path: Path):
    result = runner.invoke(app, ["ingest", str(tmp_path / "nope"), "--db", str(db_path)])
    assert result.exit_code == EXIT_CONTRACT
    assert "input folder not found" in result.output


def test_an_old_demo_folder_is_recognised_and_simulated_again(tmp_path):
    from pipelines.cli import DEMO_BACKGROUND_GENES, _is_current_demo
    from pipelines.simulate import simulate

    assert not _is_current_demo(tmp_path / "missing")
    simulate(tmp_path / "old", patients=8)
    assert not _is_current_demo(tmp_path / "old")  # made before the scan's background genes
    simulate(tmp_path / "new", patients=8, background_genes=DEMO_BACKGROUND_GENES)
    assert _is_current_demo(tmp_path / "new")
