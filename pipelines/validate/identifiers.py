"""A GX expectation: no column of a table looks like a direct identifier (PHI guard).

The rule (which names look like a name, address, phone, e-mail, record number or exact
birth date) lives once, in :mod:`pipelines.contract`; ingest refuses such columns in a
delivery, and this expectation guards the warehouse tables that analyses read, so a
column added later by a model cannot leak identifiers into results or reports.
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.expectations.expectation import BatchExpectation

from pipelines.contract import direct_identifier_kind


class ExpectNoColumnToLookLikeADirectIdentifier(BatchExpectation):
    """Expect no column name of the table to look like a direct identifier."""

    metric_dependencies: ClassVar[tuple[str, ...]] = ("table.columns",)
    success_keys: ClassVar[tuple[str, ...]] = ()

    def _validate(
        self,
        metrics: dict[str, Any],
        runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict[str, Any]:
        flagged = sorted(
            f"{column} ({kind})"
            for column in (str(name) for name in metrics["table.columns"])
            if (kind := direct_identifier_kind(column)) is not None
        )
        return {"success": not flagged, "result": {"observed_value": flagged}}
