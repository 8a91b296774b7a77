"""Load a delivery folder into the warehouse's ``raw`` schema, loss-free and all-or-nothing.

Rules (documented for users in ``docs/raw-contract.md``):

* every value is stored as delivered, as text, with ``_batch_id``, ``_source_file``,
  ``_source_sha256``, ``_row_number`` and ``_loaded_at``;
* a batch is one delivery of the folder; it is recorded in ``raw.batches`` and, per
  table, in ``raw.batch_files``. A file whose content was loaded before is not stored
  twice: the batch points at the earlier rows (``data_batch_id``);
* ingesting the same files again adds nothing and says so;
* all files of a batch load in one transaction: on any error nothing is written;
* with a pseudonym key, patient ids are replaced by keyed hashes inside that same
  transaction (``pipelines.pseudonym``), and every batch of a warehouse must be
  pseudonymised with the same key, or none may be.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.contract import CONTRACT_VERSION, TABLES
from pipelines.errors import ContractError, Violation
from pipelines.excel import SheetShapeError
from pipelines.pseudonym import (
    KEY_RULE,
    MIXED_RULE,
    PseudonymKey,
    PseudonymKeyError,
    check_key,
    key_check,
    pseudonymise_rows,
)
from pipelines.rawfiles import InspectedFile, RawFile, inspect_file, locate_files
from pipelines.readers import source_relation
from pipelines.warehouse import connect, ensure_raw_schema, existing_columns, transaction

#: A sidecar that marks a folder as simulated data (written by ``cohort simulate``).
SIMULATION_SIDECAR = "SIMULATED.json"


@dataclass(frozen=True)
class TableLoad:
    """What happened to one table in an ingest.

    ``status`` is ``loaded`` (rows written now), ``unchanged`` (same content as the
    current batch), ``reused`` (content loaded by an earlier batch, pointed at) or
    ``not_delivered`` (optional table absent).
    """

    table_name: str
    status: str
    source_file: str | None
    file_format: str | None
    row_count: int
    data_batch_id: int | None


@dataclass(frozen=True)
class IngestResult:
    db_path: Path
    batch_id: int
    is_new_batch: bool
    is_simulated: bool
    tables: tuple[TableLoad, ...]
    is_pseudonymised: bool = False

    @property
    def rows_loaded(self) -> int:
        return sum(table.row_count for table in self.tables if table.status == "loaded")


def ingest(
    input_dir: Path,
    db_path: Path,
    *,
    code_version: str,
    loaded_at: dt.datetime | None = None,
    pseudonym_key: bytes | None = None,
) -> IngestResult:
    """Check the folder's structure, then load every changed table in one transaction.

    With ``pseudonym_key``, patient ids are replaced by keyed hashes before the
    transaction commits (see ``docs/raw-contract.md``, "Pseudonymisation"); the key
    itself is never stored.

    Raises :class:`ContractError` (nothing written) when the structure is wrong, the
    key is too short, or the batch would mix pseudonymised and real ids, or two keys.
    """
    try:
        return _ingest(input_dir, db_path, code_version, loaded_at, pseudonym_key)
    except ContractError as error:  # name the delivery and the warehouse for the message
        error.input_dir, error.db_path = input_dir, db_path
        raise


def _ingest(
    input_dir: Path,
    db_path: Path,
    code_version: str,
    loaded_at: dt.datetime | None,
    pseudonym_key: bytes | None,
) -> IngestResult:
    if pseudonym_key is not None:  # wrapped so that no traceback can print the key
        pseudonym_key = PseudonymKey(pseudonym_key)
        _check_key_or_refuse(input_dir, pseudonym_key)
    inspected = check_delivery(input_dir)
    loaded_at = loaded_at or dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    is_simulated = (input_dir / SIMULATION_SIDECAR).is_file()
    is_pseudonymised = pseudonym_key is not None
    with connect(db_path) as con:
        con.execute("set preserve_insertion_order = true")  # row numbering relies on it
        with transaction(con) as batch:
            ensure_raw_schema(con)
            # Before the "same files" shortcut: the same files once plain, once
            # pseudonymised must be refused, not reported as already loaded.
            _refuse_inconsistent_pseudonymisation(con, input_dir, pseudonym_key)
            current = _current_files(con)
            delivered = {name: (f.raw_file.sha256 if f else None) for name, f in inspected.items()}
            if current and delivered == {name: sha for name, (sha, _) in current.items()}:
                batch.discard()  # nothing new: not even the schema upgrade is kept
                return _unchanged_result(con, db_path, current, is_simulated, is_pseudonymised)
            batch_id = _next_batch_id(con)
            loads = tuple(
                _load_table(con, name, inspected[name], batch_id, loaded_at, current, pseudonym_key)
                for name in (table.name for table in TABLES)
            )
            _record_batch(
                con,
                batch_id=batch_id,
                loaded_at=loaded_at,
                input_dir=input_dir,
                code_version=code_version,
                is_simulated=is_simulated,
                loads=loads,
                pseudonym_key=pseudonym_key,
            )
    return IngestResult(db_path, batch_id, True, is_simulated, loads, is_pseudonymised)


def check_delivery(input_dir: Path) -> dict[str, InspectedFile | None]:
    """Every structural check, for every file, before the warehouse is opened."""
    located, violations = locate_files(input_dir)
    inspected: dict[str, InspectedFile | None] = {}
    for name, raw_file in located.items():
        inspected[name] = None
        if raw_file is not None:
            result, file_violations = inspect_file(raw_file)
            inspected[name] = result
            violations.extend(file_violations)
    if violations:
        raise ContractError(violations)
    return inspected


def key_refusal(
    input_dir: Path, error: PseudonymKeyError, *, db_path: Path | None = None
) -> ContractError:
    """A delivery to be pseudonymised without a usable key is refused as a whole."""
    violation = Violation(str(input_dir), KEY_RULE, str(error))
    return ContractError([violation], input_dir=input_dir, db_path=db_path)


def _check_key_or_refuse(input_dir: Path, pseudonym_key: bytes) -> None:
    try:
        check_key(pseudonym_key)
    except PseudonymKeyError as error:
        raise key_refusal(input_dir, error) from error


def _refuse_inconsistent_pseudonymisation(
    con: duckdb.DuckDBPyConnection, input_dir: Path, pseudonym_key: bytes | None
) -> None:
    """Refuse a batch whose ids would not match those of the warehouse's earlier batches.

    Real ids next to pseudonyms, or pseudonyms from two keys, would make one patient
    look like two (and would put real ids into a pseudonymised warehouse). The key
    check (an HMAC of a fixed message) tells keys apart without storing them.
    """
    this_check = key_check(pseudonym_key) if pseudonym_key is not None else None
    conflict = con.execute(
        "select batch_id, coalesce(is_pseudonymised, false), pseudonym_key_check "
        "from raw.batches "
        "where coalesce(is_pseudonymised, false) is distinct from ? "
        "or pseudonym_key_check is distinct from ? "
        "order by batch_id limit 1",
        [pseudonym_key is not None, this_check],
    ).fetchall()
    if not conflict:
        return
    batch_id, was_pseudonymised, earlier_check = conflict[0]
    if was_pseudonymised and this_check is not None:
        rule, message = (
            KEY_RULE,
            f"batch {batch_id} of this warehouse was pseudonymised with another key "
            f"(key check {earlier_check}, this key {this_check}); one patient would get two "
            f"pseudonyms. Use the key of batch {batch_id}, or a new warehouse (--db) for a "
            "new key",
        )
    elif was_pseudonymised:
        rule, message = (
            MIXED_RULE,
            f"batch {batch_id} of this warehouse was pseudonymised and this ingest is not; "
            "real ids may not join pseudonymised ones. Pass --pseudonymise with the key of "
            f"batch {batch_id}",
        )
    else:
        rule, message = (
            MIXED_RULE,
            f"batch {batch_id} of this warehouse holds ids that were not pseudonymised; "
            "pseudonyms may not be mixed with real ids. Load pseudonymised deliveries "
            "into a new warehouse (--db)",
        )
    raise ContractError([Violation(str(input_dir), rule, message)])


def _record_batch(
    con: duckdb.DuckDBPyConnection,
    *,
    batch_id: int,
    loaded_at: dt.datetime,
    input_dir: Path,
    code_version: str,
    is_simulated: bool,
    loads: tuple[TableLoad, ...],
    pseudonym_key: bytes | None,
) -> None:
    con.execute(
        "insert into raw.batches (batch_id, loaded_at, input_folder, contract_version, "
        "code_version, is_simulated, tables_loaded, rows_loaded, is_pseudonymised, "
        "pseudonym_key_check) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            batch_id,
            loaded_at,
            str(input_dir.resolve()),
            CONTRACT_VERSION,
            code_version,
            is_simulated,
            sum(load.status == "loaded" for load in loads),
            sum(load.row_count for load in loads if load.status == "loaded"),
            pseudonym_key is not None,
            key_check(pseudonym_key) if pseudonym_key is not None else None,
        ],
    )


def _current_files(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str | None, int | None]]:
    rows = con.execute(
        "select table_name, source_sha256, data_batch_id from raw.current_batch_files"
    ).fetchall()
    return {name: (sha, data_batch) for name, sha, data_batch in rows}


def _next_batch_id(con: duckdb.DuckDBPyConnection) -> int:
    rows = con.execute("select coalesce(max(batch_id), 0) + 1 from raw.batches").fetchall()
    return int(rows[0][0])


def _load_table(
    con: duckdb.DuckDBPyConnection,
    table_name: str,
    inspected: InspectedFile | None,
    batch_id: int,
    loaded_at: dt.datetime,
    current: dict[str, tuple[str | None, int | None]],
    pseudonym_key: bytes | None,
) -> TableLoad:
    if inspected is None:
        _record_file(con, batch_id, table_name, None, None, 0)
        return TableLoad(table_name, "not_delivered", None, None, 0, None)
    raw_file = inspected.raw_file
    earlier = con.execute(
        "select data_batch_id, row_count from raw.batch_files "
        "where table_name = ? and source_sha256 = ? order by batch_id limit 1",
        [table_name, raw_file.sha256],
    ).fetchall()
    if earlier:
        data_batch_id, row_count = int(earlier[0][0]), int(earlier[0][1])
        is_current = current.get(table_name, (None, None))[0] == raw_file.sha256
        _record_file(con, batch_id, table_name, inspected, data_batch_id, row_count)
        status = "unchanged" if is_current else "reused"
        return TableLoad(
            table_name, status, raw_file.name, raw_file.file_format, row_count, data_batch_id
        )
    row_count = _insert_rows(con, inspected, batch_id, loaded_at)
    if pseudonym_key is not None:
        pseudonymise_rows(con, table_name, batch_id, pseudonym_key)
    _record_file(con, batch_id, table_name, inspected, batch_id, row_count)
    return TableLoad(table_name, "loaded", raw_file.name, raw_file.file_format, row_count, batch_id)


def _insert_rows(
    con: duckdb.DuckDBPyConnection,
    inspected: InspectedFile,
    batch_id: int,
    loaded_at: dt.datetime,
) -> int:
    raw_file = inspected.raw_file
    table_name = raw_file.table.name
    for column in set(inspected.extra_columns) - existing_columns(con, table_name):
        con.execute(f'alter table raw.{table_name} add column "{column}" varchar')
    selected = ", ".join(f'"{column}"' for column in inspected.columns)
    try:
        source = source_relation(con, inspected)
        result = con.execute(
            f"insert into raw.{table_name} by name "
            f"select {selected}, _row_number, "
            "?::bigint as _batch_id, ? as _source_file, ? as _source_sha256, "
            f"?::timestamp as _loaded_at from ({source.sql})",
            [batch_id, raw_file.name, raw_file.sha256, loaded_at],
        ).fetchall()
    except duckdb.Error as error:
        raise ContractError([_violation_from_duckdb(raw_file, error)]) from error
    except SheetShapeError as error:
        raise ContractError(
            [Violation(raw_file.name, "consistent_field_count", str(error), row=error.row_number)]
        ) from error
    row_count = int(result[0][0])
    if not source.is_numbered:
        number_rows(con, table_name, batch_id)
    if row_count == 0 and raw_file.table.is_required:
        raise ContractError(
            [
                Violation(
                    file=raw_file.name,
                    rule="has_rows",
                    message=f"no data rows; table '{table_name}' is required",
                )
            ]
        )
    return row_count


def number_rows(con: duckdb.DuckDBPyConnection, table_name: str, batch_id: int) -> None:
    """Set ``_row_number`` from the order in which one INSERT appended the batch's rows.

    DuckDB keeps insertion order (``preserve_insertion_order``, on by default) when a
    parallel scan is inserted, so the rows of one file get consecutive row ids in file
    order; ``tests/unit/test_ingest.py`` checks this on a file large enough to be read
    by several threads.
    """
    con.execute(
        f"update raw.{table_name} set _row_number = rowid - ("
        f"select min(rowid) from raw.{table_name} where _batch_id = ?) + 1 "
        "where _batch_id = ?",
        [batch_id, batch_id],
    )


def _record_file(
    con: duckdb.DuckDBPyConnection,
    batch_id: int,
    table_name: str,
    inspected: InspectedFile | None,
    data_batch_id: int | None,
    row_count: int,
) -> None:
    raw_file: RawFile | None = inspected.raw_file if inspected else None
    con.execute(
        "insert into raw.batch_files values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            batch_id,
            table_name,
            raw_file is not None,
            raw_file.name if raw_file else None,
            raw_file.sha256 if raw_file else None,
            raw_file.file_format if raw_file else None,
            row_count if raw_file else None,
            list(inspected.columns) if inspected else None,
            data_batch_id,
        ],
    )


def _unchanged_result(
    con: duckdb.DuckDBPyConnection,
    db_path: Path,
    current: dict[str, tuple[str | None, int | None]],
    is_simulated: bool,
    is_pseudonymised: bool,
) -> IngestResult:
    rows = con.execute(
        "select batch_id, table_name, is_delivered, source_file, file_format, row_count, "
        "data_batch_id from raw.current_batch_files order by table_name"
    ).fetchall()
    order = [table.name for table in TABLES]
    loads = sorted(
        (
            TableLoad(
                name,
                "unchanged" if delivered else "not_delivered",
                source,
                fmt,
                int(count or 0),
                data_batch,
            )
            for _, name, delivered, source, fmt, count, data_batch in rows
        ),
        key=lambda load: order.index(load.table_name),
    )
    return IngestResult(
        db_path, int(rows[0][0]), False, is_simulated, tuple(loads), is_pseudonymised
    )


_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")
_FIELD_COUNT = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def _violation_from_duckdb(raw_file: RawFile, error: duckdb.Error) -> Violation:
    """Turn DuckDB's reader error into the product's file/row/rule message."""
    text = str(error)
    line = _CSV_LINE.search(text)
    row = int(line.group(1)) - 1 if line else None
    where = f" (line {line.group(1)} of the file)" if line else ""
    if counts := _FIELD_COUNT.search(text):
        expected, found = counts.groups()
        return Violation(
            raw_file.name,
            "consistent_field_count",
            f"{found} fields where the header has {expected}{where}; "
            "check for a stray or missing delimiter",
            row=row,
        )
    if "unterminated quote" in text.lower():
        return Violation(
            raw_file.name, "csv_quoting", f"a quoted value is never closed{where}", row=row
        )
    if "unicode" in text.lower() or "utf-8" in text.lower():
        return Violation(
            raw_file.name,
            "utf8_encoding",
            f"bytes that are not valid UTF-8{where}; save the file as UTF-8",
            row=row,
        )
    first_line = text.splitlines()[0] if text else type(error).__name__
    return Violation(raw_file.name, "readable_file", f"could not be read: {first_line}", row=row)
