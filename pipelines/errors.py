"""Errors that name exactly what is wrong with a delivery.

A clinical data engineer fixing a file needs the file, the row, the column and the
rule; every refusal in the product is expressed as one or more :class:`Violation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


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


class ContractError(Exception):
    """A delivery breaks the raw contract; nothing was written to the warehouse."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = list(violations)
        lines = "\n".join(f"  - {violation}" for violation in self.violations)
        super().__init__(f"the delivery breaks the raw contract:\n{lines}")
