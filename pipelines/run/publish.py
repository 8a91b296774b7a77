"""Atomic publish: a run works on a private copy and replaces the warehouse at the end.

The published file is never opened for writing by ``cohort run``. The run copies it to
``<build dir>/work/``, does every step on the copy, and only when all steps succeeded
renames the copy over the published file (``os.replace``, atomic on POSIX). Hence:

* a failed or killed run leaves the published file exactly as it was;
* readers are never blocked by a run: they keep reading the published file (a reader
  that has it open keeps the old version until it reconnects);
* the copy is checkpointed and closed before the rename, so no write-ahead log has to
  travel with it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import duckdb

from pipelines.build.runner import default_build_dir
from pipelines.errors import CohortError, ExitCode
from pipelines.warehouse import connect


class PublishError(CohortError, RuntimeError):
    """The warehouse could not be copied or replaced; the published file is unchanged."""

    exit_code = ExitCode.PUBLISH_FAILED


def work_dir(db_path: Path) -> Path:
    return default_build_dir(db_path) / "work"


def work_copy_path(db_path: Path) -> Path:
    """A fixed path per warehouse, so dbt's partial parse stays valid from run to run."""
    return work_dir(db_path) / db_path.name


def wal_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".wal")


def fresh_work_copy(db_path: Path) -> Path:
    """Copy the published warehouse (if any) to the work path, replacing an old copy.

    A write-ahead log beside the published file means a single-step command was killed
    while writing; it is folded in first (a short write, under the writer lock) so that
    the copy is the complete database.
    """
    target = work_copy_path(db_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    discard(target)
    if not db_path.exists():
        return target
    if wal_path(db_path).exists():
        try:
            with connect(db_path) as con:
                con.execute("checkpoint")
        except duckdb.Error as error:
            raise PublishError(
                f"{db_path} has an unfinished write-ahead log and could not be opened to "
                f"fold it in: {error}"
            ) from error
    try:
        shutil.copyfile(db_path, target)
    except OSError as error:
        discard(target)
        raise PublishError(f"could not copy {db_path} to {target}: {error}") from error
    return target


def publish(work_copy: Path, db_path: Path) -> None:
    """Make ``work_copy`` the published warehouse in one atomic rename.

    The copy must be closed by every connection. It is checkpointed once more (so no
    ``.wal`` is left behind), flushed to disk, and renamed; the folder entry is flushed
    too, so a power cut after this returns cannot bring the old file back.
    """
    with connect(work_copy) as con:
        con.execute("checkpoint")
    if wal_path(work_copy).exists():
        raise PublishError(f"{work_copy} still has a write-ahead log after checkpoint")
    _fsync(work_copy)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(work_copy, db_path)
    _fsync_dir(db_path.parent)


def discard(copy: Path) -> None:
    """Remove a work copy and its write-ahead log (e.g. of a failed or killed run)."""
    for path in (copy, wal_path(copy)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem allows fsync on a folder
        _fsync(path)
