"""What a pipeline run depends on, as three hashes: input, study spec and code.

A scheduled run whose three hashes equal those of the last published run would
recompute the same numbers; it is skipped instead (``--force`` overrides). The code
hash covers everything that can change a number: the Python packages, the dbt
project, the expectation suites and the dependency lock.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pipelines import __version__
from pipelines.rawfiles import locate_files

#: The source tree the installed package runs from (the project is installed editable).
SOURCE_ROOT = Path(__file__).resolve().parents[2]

#: Files whose content defines "the code" of a run, relative to :data:`SOURCE_ROOT`.
CODE_GLOBS = (
    "pipelines/**/*.py",
    "analysis/**/*.py",
    "dbt_project/**/*.sql",
    "dbt_project/**/*.yml",
    "dbt_project/**/*.csv",
    "expectations/*.json",
    "uv.lock",
)


def code_version(root: Path = SOURCE_ROOT) -> str:
    """``<package version>+<12 hex digits of the source hash>``, e.g. ``0.1.0+3f2a…``.

    A package version alone would not change when someone edits a model between
    releases; the hash does, so "same code" really means same code.
    """
    digest = hashlib.sha256()
    files = sorted(
        {path for pattern in CODE_GLOBS for path in root.glob(pattern) if path.is_file()}
    )
    for path in files:
        if "target" in path.relative_to(root).parts:
            continue
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def input_hash(input_dir: Path, *, options: dict[str, object] | None = None) -> str:
    """Hash of the delivery as the ingest sees it: each table's file name and content.

    Files the contract does not read (notes, READMEs) do not count. ``options`` that
    change what is stored (e.g. the pseudonymisation key check) are part of the hash.
    Structural errors are left to the ingest step, which reports them in full.
    """
    located, _ = locate_files(input_dir)
    description = {
        name: (raw_file.name, raw_file.sha256) if raw_file else None
        for name, raw_file in sorted(located.items())
    }
    payload = json.dumps({"files": description, "options": options or {}}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()
