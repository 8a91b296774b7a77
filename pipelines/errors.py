"""The product's one contract for errors: exit codes, the base error, delivery violations.

Every exit code ``cohort`` uses is an :class:`ExitCode`; every refusal or failure the
product expects is a :class:`CohortError` that carries its exit code, and one handler
in ``pipelines.cli`` turns any of them into a message and that code.

A clinical data engineer fixing a file needs the file, the row, the column and the
rule; every refusal of a delivery is expressed as one or more :class:`Violation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """Every exit code ``cohort`` uses; each command's help and docs/operations.md list
    the ones it can return.

    ``cohort run`` exits with the code of its failed step (see
    ``pipelines.run.pipeline.STEP_EXIT_CODES``), so a scheduler sees the same number
    for a failed build whether it ran alone or in the pipeline.
    """

    #: Success, or nothing to do.
    OK = 0
    #: Bad input: a delivery that breaks the raw contract, a study spec, a suite file,
    #: a refused query, simulation options. Nothing was written. (Click's usage errors,
    #: such as an unknown option, exit with 2 as well.)
    BAD_INPUT = 2
    #: A dbt test failed or a model (or dbt itself) errored.
    BUILD_FAILED = 3
    #: The warehouse is not ready for the step (never ingested, not built, no run).
    NOT_READY = 4
    #: A critical expectation of the quality gate failed.
    GATE_FAILED = 5
    #: The analysis was refused (gate not passed, settings differ, unknown names).
    ANALYSIS_REFUSED = 6
    #: ``cohort run``: the work copy could not be prepared, the report not written or
    #: the copy not published; the published warehouse is unchanged.
    PUBLISH_FAILED = 7
    #: Another process holds the warehouse's writer lock.
    BUSY = 8


class CohortError(Exception):
    """A refusal or failure the product expects and explains in its message.

    The CLI prints ``<label>: <message>`` on stderr and exits with ``exit_code``
    (one handler, in ``pipelines.cli``); library callers catch the specific class.
    Subclasses set both class attributes, and keep an older base (``ValueError``,
    ``RuntimeError``, ``LookupError``) where callers catch them by it.
    """

    exit_code: ExitCode = ExitCode.BAD_INPUT
    #: The word(s) before the message, e.g. ``error``, ``refused``, ``analysis refused``.
    label: str = "error"


class WarehouseNotReady(CohortError):
    """The warehouse lacks what a command reads (no warehouse file, no run recorded)."""

    exit_code = ExitCode.NOT_READY


class WarehouseMissing(WarehouseNotReady, FileNotFoundError):
    """No warehouse file where one is read: nothing has been loaded there yet."""


class InputRefused(CohortError):
    """An input named on the command line cannot be used (e.g. a missing folder)."""

    exit_code = ExitCode.BAD_INPUT


@dataclass(frozen=True)
class Violation:
    """One broken rule, located as precisely as the rule allows.

    ``row`` is the 1-based data row (the header is not counted), so row 1 is the
    second line of a CSV file and the second row of a spreadsheet.
    """

    file: str
    rule: str
    message: str
    column: str | None = None
    row: int | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message} [rule: {self.rule}]"


class ContractError(CohortError):
    """A delivery breaks the raw contract; nothing was written to the warehouse.

    ``input_dir`` and ``db_path`` name the delivery and the warehouse once the ingest
    knows them; the CLI then says "Refused <input_dir>: nothing was written to
    <db_path>." above the violations.
    """

    exit_code = ExitCode.BAD_INPUT

    def __init__(
        self,
        violations: Sequence[Violation],
        *,
        input_dir: Path | None = None,
        db_path: Path | None = None,
    ) -> None:
        self.violations = list(violations)
        self.input_dir = input_dir
        self.db_path = db_path
        lines = "\n".join(f"  - {violation}" for violation in self.violations)
        super().__init__(f"the delivery breaks the raw contract:\n{lines}")


class AnalysisRunNotFound(WarehouseNotReady, LookupError):
    """No analysis run with this id in ``results.analysis_runs``."""
