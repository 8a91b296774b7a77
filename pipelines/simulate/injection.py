"""Bookkeeping for defect injection: text tables that remember where defects sit.

Rows are inserted and removed while defects are applied, so a defect's row number is only
known at the end; :class:`EditableTable` keeps the current position of every marked row
up to date, and :class:`Injection` turns them into 1-based file rows (header excluded).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl


@dataclass(frozen=True)
class DefectRecord:
    """Where one defect was injected (``row`` is None when rows were removed)."""

    defect: str
    file: str
    row: int | None
    column: str
    patient_id: str
    description: str

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EditableTable:
    """A text table plus the current 0-based positions of rows that carry a defect."""

    frame: pl.DataFrame
    marked: dict[str, int] = field(default_factory=dict)

    def candidates(self, condition: pl.Expr | None, avoid_patients: set[str]) -> pl.Series:
        """Row positions meeting ``condition``, not yet defective, of untouched patients."""
        usable = ~pl.col("__position").is_in(sorted(self.marked.values()))
        if condition is not None:
            usable = usable & condition
        # lazy, so only the columns the condition needs are scanned (20 M rows in scale mode)
        indexed = self.frame.lazy().with_row_index("__position").filter(usable)
        untouched = indexed.filter(~pl.col("patient_id").is_in(sorted(avoid_patients)))
        for rows in (untouched, indexed):
            positions = rows.select("__position").collect()["__position"]
            if positions.len():
                return positions
        return positions

    def marked_patients(self) -> set[str]:
        return {self.frame[position, "patient_id"] for position in self.marked.values()}

    def cell(self, position: int, column: str) -> str | None:
        return self.frame[position, column]

    def set_cell(self, position: int, column: str, value: str | None, defect: str) -> None:
        series = self.frame[column].scatter(position, value)
        self.frame = self.frame.with_columns(series)
        self.marked[defect] = position

    def insert(self, position: int, row: pl.DataFrame, defect: str) -> None:
        self.frame = pl.concat([self.frame[:position], row, self.frame[position:]])
        self.marked = {name: index + (index >= position) for name, index in self.marked.items()}
        self.marked[defect] = position

    def drop(self, positions: np.ndarray) -> None:
        keep = np.ones(self.frame.height, dtype=bool)
        keep[positions] = False
        self.frame = self.frame.filter(pl.Series(keep))
        self.marked = {
            name: index - int(np.sum(positions < index)) for name, index in self.marked.items()
        }


@dataclass
class Injection:
    """State shared by the defect functions of one simulation."""

    tables: dict[str, EditableTable]
    files: dict[str, str]
    rng: np.random.Generator
    orphan_patient_id: str
    touched: set[str] = field(default_factory=set)
    pending: list[tuple[str, str, str, str, str]] = field(default_factory=list)

    def pick(self, table: str, *preferences: pl.Expr | None) -> int:
        """A random row meeting the first satisfiable condition (None: any row)."""
        for condition in preferences or (None,):
            options = self.tables[table].candidates(condition, self.touched)
            if options.len():
                return int(options[int(self.rng.integers(0, options.len()))])
        raise ValueError(f"no row of '{table}' can take this defect")

    def note(self, defect: str, table: str, column: str, patient: str, text: str) -> None:
        self.touched.add(patient)
        self.pending.append((defect, table, column, patient, text))

    def records(self) -> list[DefectRecord]:
        """Final positions, read after all edits (inserts shift later rows)."""
        return [
            DefectRecord(
                defect=defect,
                file=self.files[table],
                row=(
                    self.tables[table].marked[defect] + 1
                    if defect in self.tables[table].marked
                    else None
                ),
                column=column,
                patient_id=patient,
                description=text,
            )
            for defect, table, column, patient, text in self.pending
        ]
