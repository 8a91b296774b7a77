"""Write a simulation to its folder: three raw-contract tables, a sidecar, maybe a truth.

The folder holds nothing else, so the ingest finds exactly one file per table. A
non-empty folder is only overwritten when it is recognisably an earlier simulation
(``SIMULATED.json`` from this generator and no foreign files); the earlier files are
removed first so that a switch from CSV to Parquet cannot leave two files per table.
Output is byte-for-byte reproducible: no timestamps, fixed row order, fixed key order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.simulate.parameters import GENERATOR_NAME

TABLE_NAMES: tuple[str, ...] = ("patients", "cytogenetics", "expression")
FILE_LABEL = "simulated"
SIDECAR_NAME = "SIMULATED.json"
TRUTH_NAME = "truth.csv"
FORMATS: tuple[str, ...] = ("csv", "parquet")
#: Parquet compression: zstd is the Parquet ecosystem default and read by every client.
PARQUET_COMPRESSION = "zstd"


def table_file_name(table: str, file_format: str) -> str:
    """``<table>_simulated.<ext>``: the ingest matches the ``<table>_`` prefix."""
    return f"{table}_{FILE_LABEL}.{file_format}"


def output_names() -> set[str]:
    """Every file name this module may write (any format)."""
    names = {SIDECAR_NAME, TRUTH_NAME}
    names.update(table_file_name(table, fmt) for table in TABLE_NAMES for fmt in FORMATS)
    return names


def check_output_dir(out_dir: Path) -> list[Path]:
    """Refuse a folder that is not empty and not an earlier simulation; list old outputs."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"out_dir {out_dir} exists and is not a folder")
    if not out_dir.exists():
        return []
    entries = sorted(out_dir.iterdir())
    if not entries:
        return []
    sidecar = out_dir / SIDECAR_NAME
    foreign = [
        entry.name for entry in entries if entry.name not in output_names() or not entry.is_file()
    ]
    if not _is_our_sidecar(sidecar) or foreign:
        listed = ", ".join(foreign[:5]) or "(no SIMULATED.json from this generator)"
        raise ValueError(
            f"out_dir {out_dir} is not empty and does not look like a previous simulation "
            f"output ({listed}); choose an empty or new folder"
        )
    return entries


def _is_our_sidecar(path: Path) -> bool:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(content, dict) and content.get("generator", {}).get("name") == (
        GENERATOR_NAME
    )


def write_outputs(
    out_dir: Path,
    frames: dict[str, pl.DataFrame],
    file_format: str,
    sidecar: dict[str, Any],
    truth: pl.DataFrame | None,
) -> dict[str, Path]:
    """Remove earlier outputs, then write sidecar (first: the folder is always ours), tables."""
    for old in check_output_dir(out_dir):
        old.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(sidecar, indent=2, ensure_ascii=False) + "\n"
    (out_dir / SIDECAR_NAME).write_text(text, encoding="utf-8", newline="\n")
    written: dict[str, Path] = {}
    for table in TABLE_NAMES:
        path = out_dir / table_file_name(table, file_format)
        write_table(frames[table], path, file_format)
        written[table] = path
    if truth is not None:
        write_table(truth, out_dir / TRUTH_NAME, "csv")
    return written


def write_table(frame: pl.DataFrame, path: Path, file_format: str) -> None:
    """CSV: UTF-8, comma, header, LF, empty cell = missing. Parquet: text columns."""
    if file_format == "csv":
        frame.write_csv(path, line_terminator="\n", null_value="", quote_style="necessary")
    else:
        frame.write_parquet(path, compression=PARQUET_COMPRESSION, statistics=True)
