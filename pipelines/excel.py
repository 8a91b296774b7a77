"""Read an Excel workbook's first sheet as text, the way a person reads the cells.

Excel stores typed cells: a date is a serial number with a date format, ``53`` may
be the float ``53.0``. The raw layer keeps values as text, so each cell is written
the way it displays in the contract's conventions: dates as ISO 8601, whole numbers
without ``.0``, other numbers in their shortest exact form. Empty cells are missing.
Only the first worksheet is read; a workbook with data on other sheets is refused
rather than half-read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.errors import CohortError, ExitCode


class SheetShapeError(CohortError, ValueError):
    """A data row has filled cells beyond the header's width."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, row_number: int, message: str) -> None:
        self.row_number = row_number
        super().__init__(message)


def cell_text(value: Any) -> str | None:
    """Render one cell value as the text the raw layer stores."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value)
    return text if text != "" else None


def _open_first_sheet(path: Path) -> tuple[Any, Any]:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    extra = [sheet.title for sheet in workbook.worksheets[1:] if (sheet.max_row or 0) > 1]
    if extra:
        workbook.close()
        raise ValueError(
            f"data on more than one sheet ({', '.join(extra)}); deliver one table per file"
        )
    return workbook, workbook.worksheets[0]


def read_header(path: Path) -> tuple[list[str], bool]:
    """Header names of the first sheet and whether any data row follows."""
    workbook, sheet = _open_first_sheet(path)
    try:
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, ())
        columns = [cell_text(value) or "" for value in header]
        while columns and columns[-1] == "":
            columns.pop()  # Excel often reports trailing formatted-but-empty cells
        has_rows = any(any(value is not None for value in row) for row in rows)
        return columns, has_rows
    finally:
        workbook.close()


def iter_text_rows(path: Path, n_columns: int) -> Iterator[tuple[int, list[str | None]]]:
    """Yield ``(row_number, cells)`` for every non-empty data row of the first sheet.

    Row numbers count data rows from 1 (the header is row 0), matching the CSV rule,
    so that an error message points at the same row in Excel and in an export.
    A cell beyond the header's width with content is a structural error.
    """
    workbook, sheet = _open_first_sheet(path)
    try:
        rows = sheet.iter_rows(values_only=True)
        next(rows, None)
        for row_number, row in enumerate(rows, start=1):
            cells = [cell_text(value) for value in row]
            if all(cell is None for cell in cells):
                continue
            overflow = [cell for cell in cells[n_columns:] if cell is not None]
            if overflow:
                raise SheetShapeError(
                    row_number,
                    f"{n_columns + len(overflow)} or more filled cells where the header "
                    f"names {n_columns} columns",
                )
            cells = (cells + [None] * n_columns)[:n_columns]
            yield row_number, cells
    finally:
        workbook.close()
