"""Find the raw files of a delivery and check their structure before anything is written.

Structural problems (a missing file, a missing or duplicated column, the wrong
delimiter or encoding, an empty file, a column that looks like a direct identifier)
are refused here, all at once, so the user fixes a delivery in one round. Value-level
problems are the quality gate's business and are never coerced or dropped here.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pipelines.contract import (
    EXTRA_COLUMN_NAME,
    METADATA_PREFIX,
    SUPPORTED_FORMATS,
    TABLES,
    TableContract,
    direct_identifier_kind,
    normalise_column_name,
)
from pipelines.errors import Violation

#: Bytes read to find the header line of a CSV file.
HEADER_PROBE_BYTES = 1 << 20

#: Byte-order marks of encodings the contract does not accept (UTF-8 with or
#: without BOM is the contract).
FOREIGN_BOMS: dict[bytes, str] = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}

#: Delimiters people export by mistake (European Excel uses ';').
OTHER_DELIMITERS: dict[str, str] = {";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass(frozen=True)
class RawFile:
    """One delivered file, located and fingerprinted."""

    table: TableContract
    path: Path
    file_format: str
    sha256: str
    size_bytes: int

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class InspectedFile:
    """A raw file whose structure passed, with the columns to load in file order."""

    raw_file: RawFile
    columns: tuple[str, ...]
    has_rows: bool

    @property
    def extra_columns(self) -> tuple[str, ...]:
        known = set(self.raw_file.table.known_columns)
        return tuple(column for column in self.columns if column not in known)


def sha256_of(path: Path) -> str:
    """Content fingerprint; a file is 'the same delivery' exactly when this matches."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def locate_files(input_dir: Path) -> tuple[dict[str, RawFile | None], list[Violation]]:
    """Map each contract table to its file in ``input_dir``.

    A table's file is ``<table>.<ext>`` or ``<table>_<label>.<ext>`` (for example
    ``patients_simulated.csv``); exactly one candidate per table is allowed so that
    the ingest never guesses which export is current.
    """
    violations: list[Violation] = []
    found: dict[str, RawFile | None] = {}
    if not input_dir.is_dir():
        raise NotADirectoryError(f"input folder not found: {input_dir}")
    entries = sorted(path for path in input_dir.iterdir() if path.is_file())
    for table in TABLES:
        candidates = [path for path in entries if _belongs_to(path, table.name)]
        readable = [path for path in candidates if path.suffix.lower() in SUPPORTED_FORMATS]
        for path in candidates:
            if path.suffix.lower() not in SUPPORTED_FORMATS:
                violations.append(
                    Violation(
                        file=path.name,
                        rule="supported_format",
                        message=f"format '{path.suffix}' is not supported; deliver CSV (UTF-8), "
                        "Parquet or Excel .xlsx",
                    )
                )
        if len(readable) > 1:
            names = ", ".join(path.name for path in readable)
            violations.append(
                Violation(
                    file=names,
                    rule="one_file_per_table",
                    message=f"several files for table '{table.name}'; keep exactly one",
                )
            )
            found[table.name] = None
        elif readable:
            path = readable[0]
            found[table.name] = RawFile(
                table=table,
                path=path,
                file_format=SUPPORTED_FORMATS[path.suffix.lower()],
                sha256=sha256_of(path),
                size_bytes=path.stat().st_size,
            )
        else:
            found[table.name] = None
            if table.is_required and not candidates:
                violations.append(
                    Violation(
                        file=f"{input_dir.name}/{table.name}.csv|.parquet|.xlsx",
                        rule="required_file",
                        message=f"required table '{table.name}' is missing from the input folder",
                    )
                )
    return found, violations


def _belongs_to(path: Path, table_name: str) -> bool:
    stem = path.name.split(".", 1)[0].lower()
    return stem == table_name or stem.startswith(f"{table_name}_")


def inspect_file(raw_file: RawFile) -> tuple[InspectedFile | None, list[Violation]]:
    """Read only the header (and whether data follow) and check it against the contract."""
    if raw_file.size_bytes == 0:
        return None, [
            Violation(
                file=raw_file.name,
                rule="non_empty_file",
                message="the file is empty (0 bytes); an export without data is not a delivery",
            )
        ]
    reader = {"csv": _csv_header, "parquet": _parquet_header, "xlsx": _xlsx_header}
    columns, has_rows, violations = reader[raw_file.file_format](raw_file.path)
    if violations:
        return None, violations
    violations = check_columns(raw_file, columns)
    if not has_rows and raw_file.table.is_required:
        violations.append(
            Violation(
                file=raw_file.name,
                rule="has_rows",
                message=f"the file has a header but no data rows; table '{raw_file.table.name}' "
                "is required",
            )
        )
    if violations:
        return None, violations
    return InspectedFile(raw_file=raw_file, columns=tuple(columns), has_rows=has_rows), []


def check_columns(raw_file: RawFile, columns: list[str]) -> list[Violation]:
    """Required present, none duplicated, none blank, none identifying, extras well named."""
    table, name = raw_file.table, raw_file.name
    violations: list[Violation] = []
    for position, column in enumerate(columns, start=1):
        if column.strip() == "":
            violations.append(
                Violation(
                    file=name,
                    rule="named_columns",
                    column=f"#{position}",
                    message=f"column {position} has no name in the header",
                )
            )
    for column, count in Counter(columns).items():
        if count > 1 and column.strip():
            violations.append(
                Violation(
                    file=name,
                    rule="unique_header",
                    column=column,
                    message=f"column '{column}' appears {count} times in the header",
                )
            )
    present = set(columns)
    near_misses: set[str] = set()
    for column in table.required_columns:
        if column not in present:
            near_miss = _near_miss(column, columns)
            hint = ""
            if near_miss is not None:
                near_misses.add(near_miss)
                hint = f" (found '{near_miss}': names are lower-case and exact)"
            violations.append(
                Violation(
                    file=name,
                    rule="required_column",
                    column=column,
                    message=f"required column '{column}' is missing{hint}",
                )
            )
    for column in columns:
        kind = direct_identifier_kind(column)
        if kind is not None:
            violations.append(
                Violation(
                    file=name,
                    rule="no_direct_identifiers",
                    column=column,
                    message=f"column '{column}' looks like {kind}; remove direct identifiers "
                    "before delivery (only the pseudonymous patient_id is stored)",
                )
            )
    for column in sorted(set(columns) - set(table.known_columns) - near_misses):
        if not column.strip() or direct_identifier_kind(column) is not None:
            continue
        if column.startswith(METADATA_PREFIX):
            violations.append(
                Violation(
                    file=name,
                    rule="reserved_column_name",
                    column=column,
                    message=f"column names starting with '{METADATA_PREFIX}' are reserved for "
                    "load metadata",
                )
            )
        elif not table.allows_extra_columns:
            allowed = ", ".join(table.known_columns)
            violations.append(
                Violation(
                    file=name,
                    rule="known_columns",
                    column=column,
                    message=f"unexpected column '{column}'; "
                    f"table '{table.name}' has only: {allowed}",
                )
            )
        elif not EXTRA_COLUMN_NAME.match(column):
            violations.append(
                Violation(
                    file=name,
                    rule="extra_column_name",
                    column=column,
                    message=f"extra column '{column}' must be lower-case snake_case "
                    "(letters, digits, '_'), so SQL users need no quoting",
                )
            )
    return violations


def _near_miss(column: str, columns: list[str]) -> str | None:
    """A delivered column that is the required one up to case, spaces or hyphens."""
    for candidate in columns:
        if candidate != column and normalise_column_name(candidate) == column:
            return candidate
    return None


def _csv_header(path: Path) -> tuple[list[str], bool, list[Violation]]:
    with path.open("rb") as handle:
        probe = handle.read(HEADER_PROBE_BYTES)
    for bom, encoding in FOREIGN_BOMS.items():
        if probe.startswith(bom):
            return (
                [],
                False,
                [
                    Violation(
                        file=path.name,
                        rule="utf8_encoding",
                        message=f"the file is {encoding}-encoded; save it as UTF-8 CSV",
                    )
                ],
            )
    first_line, _, rest = probe.partition(b"\n")
    try:
        header_text = first_line.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError as error:
        return (
            [],
            False,
            [
                Violation(
                    file=path.name,
                    rule="utf8_encoding",
                    message=f"the header is not valid UTF-8 (byte {error.start + 1}); "
                    "save the file as UTF-8 CSV",
                )
            ],
        )
    columns = next(csv.reader(io.StringIO(header_text)), [])
    if len(columns) <= 1:
        for delimiter, label in OTHER_DELIMITERS.items():
            if delimiter in header_text:
                return (
                    [],
                    False,
                    [
                        Violation(
                            file=path.name,
                            rule="comma_delimiter",
                            message=f"the header is separated by {label}s ('{delimiter}'); the "
                            "contract requires comma-separated values",
                        )
                    ],
                )
    has_rows = any(line.strip() for line in rest.split(b"\n"))
    return columns, has_rows, []


def _parquet_header(path: Path) -> tuple[list[str], bool, list[Violation]]:
    import pyarrow.parquet as parquet

    try:
        metadata = parquet.read_metadata(path)
    except Exception as error:  # pyarrow raises several types for a broken footer
        return (
            [],
            False,
            [
                Violation(
                    file=path.name,
                    rule="readable_file",
                    message=f"not a readable Parquet file ({error})",
                )
            ],
        )
    schema = metadata.schema.to_arrow_schema()
    violations = [
        Violation(
            file=path.name,
            rule="flat_columns",
            column=field.name,
            message=f"column '{field.name}' has nested type {field.type}; the contract "
            "needs flat columns",
        )
        for field in schema
        if field.type.num_fields > 0 or str(field.type).startswith(("list", "map", "struct"))
    ]
    return list(schema.names), metadata.num_rows > 0, violations


def _xlsx_header(path: Path) -> tuple[list[str], bool, list[Violation]]:
    from pipelines.excel import read_header

    try:
        columns, has_rows = read_header(path)
    except Exception as error:  # openpyxl raises zipfile/XML errors for broken files
        return (
            [],
            False,
            [
                Violation(
                    file=path.name,
                    rule="readable_file",
                    message=f"not a readable .xlsx workbook ({type(error).__name__}: {error})",
                )
            ],
        )
    return columns, has_rows, []
