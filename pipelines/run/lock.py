"""One writer per warehouse: a lock file beside the build folder, held for a whole step.

DuckDB itself allows one read-write process per file, but it refuses the second
writer with a low-level I/O error mid-way; this lock makes the second writer wait (up
to a timeout) or refuse up front with who holds the lock. The lock is an OS file lock
(``filelock``), so it is released when its process dies, even by SIGKILL: a killed run
never leaves the warehouse locked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from pipelines.build.runner import default_build_dir
from pipelines.errors import CohortError, ExitCode


class WarehouseBusy(CohortError, RuntimeError):
    """Another process holds the writer lock of this warehouse."""

    exit_code = ExitCode.BUSY
    label = "refused"


def lock_path(db_path: Path) -> Path:
    return default_build_dir(db_path) / "writer.lock"


def _holder_path(db_path: Path) -> Path:
    return default_build_dir(db_path) / "writer.json"


@contextlib.contextmanager
def writer_lock(db_path: Path, *, wait_seconds: float = 0, purpose: str) -> Iterator[None]:
    """Hold the warehouse's writer lock; wait up to ``wait_seconds`` for it.

    ``purpose`` (e.g. ``"cohort run run-…"``) is written beside the lock, so that a
    refused writer can say who is writing and since when.
    """
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), timeout=wait_seconds, thread_local=False)
    try:
        lock.acquire(timeout=wait_seconds, poll_interval=0.2)
    except Timeout as error:
        raise WarehouseBusy(
            f"another process is writing to {db_path} ({_describe_holder(db_path)}); "
            + (f"waited {wait_seconds:g} s. " if wait_seconds else "")
            + "Try again when it has finished, or give --wait SECONDS to wait for it."
        ) from error
    holder = _holder_path(db_path)
    try:
        holder.write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "purpose": purpose,
                    "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                }
            )
        )
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()


def _describe_holder(db_path: Path) -> str:
    try:
        holder = json.loads(_holder_path(db_path).read_text())
    except (OSError, ValueError):
        return "holder unknown"
    return f"{holder.get('purpose')}, process {holder.get('pid')}, since {holder.get('since')}"
