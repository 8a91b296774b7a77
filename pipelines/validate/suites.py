"""Suite files in ``expectations/``: read, check and turn into GX expectations.

A suite file is reviewed like code: it says, per expectation, which warehouse table it
reads, what must hold, how severe a failure is and how many rows may fail
(``tolerated_percent``, GX's ``mostly``). Nothing about thresholds lives in Python.
Format and every key: ``docs/quality-gate.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.errors import CohortError, ExitCode
from pipelines.validate.results import DIMENSIONS, SEVERITIES

#: Where the product's suites live (the repository's ``expectations/`` folder).
DEFAULT_SUITES_DIR = Path(__file__).resolve().parents[2] / "expectations"

#: Expectation type for "these rows must not exist": GX's UnexpectedRowsExpectation.
UNEXPECTED_ROWS = "unexpected_rows"

SUITE_KEYS = {"suite", "dimension", "description", "expectations"}
CHECK_KEYS = {
    "id",
    "title",
    "table",
    "type",
    "kwargs",
    "where",
    "query",
    "severity",
    "tolerated_percent",
    "critical_when_used",
    "note",
}


class SuiteError(CohortError, ValueError):
    """A suite file is malformed; the message names the file, the expectation and the key."""

    exit_code = ExitCode.BAD_INPUT
    label = "invalid suite"


@dataclass(frozen=True)
class CheckSpec:
    """One expectation as written in a suite file."""

    suite: str
    dimension: str
    expectation_id: str
    title: str
    table_name: str
    expectation_type: str
    severity: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    query: str | None = None
    tolerated_percent: float | None = None
    critical_when_used: str | None = None
    note: str | None = None

    @property
    def column_name(self) -> str | None:
        column = self.kwargs.get("column")
        return str(column) if column is not None else None

    def severity_for(self, critical_fields: Sequence[str]) -> str:
        """``critical_when_used`` turns a warning critical when the study uses the field."""
        if self.critical_when_used and self.critical_when_used in critical_fields:
            return "critical"
        return self.severity


def load_suites(directory: Path = DEFAULT_SUITES_DIR) -> list[CheckSpec]:
    """Every expectation of every ``*.json`` suite in ``directory``, checked."""
    files = sorted(directory.glob("*.json"))
    if not files:
        raise SuiteError(f"{directory}: no suite files (*.json)")
    checks: list[CheckSpec] = []
    for path in files:
        checks.extend(_read_suite(path))
    seen: dict[str, str] = {}
    for check in checks:
        if check.expectation_id in seen:
            raise SuiteError(
                f"expectation id {check.expectation_id} appears in both "
                f"{seen[check.expectation_id]} and {check.suite}"
            )
        seen[check.expectation_id] = check.suite
    return checks


def _read_suite(path: Path) -> list[CheckSpec]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise SuiteError(f"{path.name}: not valid JSON ({error})") from error
    if not isinstance(document, dict):
        raise SuiteError(f"{path.name}: a suite is a JSON object")
    _refuse_unknown(path.name, "suite", document, SUITE_KEYS)
    suite = _required(path.name, "suite", document, "suite")
    dimension = _required(path.name, "suite", document, "dimension")
    if dimension not in DIMENSIONS:
        raise SuiteError(f"{path.name}: dimension '{dimension}' is not one of {DIMENSIONS}")
    entries = document.get("expectations")
    if not isinstance(entries, list) or not entries:
        raise SuiteError(f"{path.name}: 'expectations' must be a non-empty list")
    return [_read_check(path.name, suite, dimension, entry) for entry in entries]


def _read_check(file: str, suite: str, dimension: str, entry: Any) -> CheckSpec:
    if not isinstance(entry, dict):
        raise SuiteError(f"{file}: every expectation is a JSON object")
    where = f"expectation {entry.get('id', '?')}"
    _refuse_unknown(file, where, entry, CHECK_KEYS)
    check_id = _required(file, where, entry, "id")
    expectation_type = _required(file, where, entry, "type")
    severity = _required(file, where, entry, "severity")
    if severity not in SEVERITIES:
        raise SuiteError(f"{file}: {where}: severity '{severity}' is not one of {SEVERITIES}")
    table_name = _required(file, where, entry, "table")
    if table_name.count(".") != 1:
        raise SuiteError(f"{file}: {where}: table '{table_name}' must be schema.table")
    tolerated = entry.get("tolerated_percent")
    if tolerated is not None and not (isinstance(tolerated, int | float) and 0 <= tolerated <= 100):
        raise SuiteError(f"{file}: {where}: tolerated_percent must be a number from 0 to 100")
    query = entry.get("query")
    if expectation_type == UNEXPECTED_ROWS:
        if tolerated not in (None, 0):
            raise SuiteError(
                f"{file}: {where}: unexpected_rows tolerates no rows (tolerated_percent 0)"
            )
        if (query is None) == ("where" not in entry):
            raise SuiteError(
                f"{file}: {where}: unexpected_rows needs exactly one of 'where' or 'query'"
            )
        query = query or f"select * from {{batch}} where {entry['where']}"
    elif query is not None or "where" in entry:
        raise SuiteError(f"{file}: {where}: 'where'/'query' belong to unexpected_rows only")
    return CheckSpec(
        suite=suite,
        dimension=dimension,
        expectation_id=check_id,
        title=_required(file, where, entry, "title"),
        table_name=table_name,
        expectation_type=expectation_type,
        severity=severity,
        kwargs=dict(entry.get("kwargs") or {}),
        query=query,
        tolerated_percent=float(tolerated) if tolerated is not None else None,
        critical_when_used=entry.get("critical_when_used"),
        note=entry.get("note"),
    )


def _required(file: str, where: str, entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SuiteError(f"{file}: {where}: '{key}' is required (non-empty text)")
    return value


def _refuse_unknown(file: str, where: str, entry: Mapping[str, Any], known: set[str]) -> None:
    unknown = sorted(set(entry) - known)
    if unknown:
        raise SuiteError(
            f"{file}: {where}: unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(known))}"
        )
