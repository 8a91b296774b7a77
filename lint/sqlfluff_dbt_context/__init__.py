"""Jinja globals that let sqlfluff's jinja templater render the dbt models for linting.

``dbt_project/.sqlfluff`` loads this package (``library_path``); its public names become
Jinja globals. sqlfluff's dbt builtins (``apply_dbt_builtins``) supply ``ref``,
``source``, ``var``, ``config`` and ``is_incremental``, but:

* ``return()`` and ``run_query()`` are missing. In dbt, ``return`` makes a macro yield a
  value instead of text; plain Jinja macros can only yield text.
* So the macros that *return data* cannot be loaded from ``macros/`` for linting
  (``exclude_macros_from_path``): they are replaced here by functions that return what
  dbt would. ``canonical_aberrations()`` reads the seed, so the linted SQL has the same
  pivot columns as the SQL dbt runs.
"""

from __future__ import annotations

import csv
from pathlib import Path

SEED = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "canonical_aberrations.csv"


def canonical_aberrations() -> list[tuple[str, str]]:
    """Stand-in for macros/canonical_aberrations.sql: (aberration, column_name) rows."""
    with SEED.open(newline="", encoding="utf-8") as handle:
        rows = [(row["aberration"], row["column_name"]) for row in csv.DictReader(handle)]
    return sorted(rows)


def check_high_risk_aberrations() -> str:
    """Stand-in for the build-time check of the var; it renders no SQL."""
    return ""


def run_query(sql: str = "") -> None:
    """Only reached when ``execute`` is true, which lint never sets."""
    return None


def _return(value: object = None) -> str:
    """dbt's ``return()``; inline in a Jinja macro it can only add no text."""
    return ""


# ``return`` is a Python keyword, so it cannot be defined with ``def``.
globals()["return"] = _return
