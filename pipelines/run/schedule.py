"""``cohort schedule``: fire ``cohort run`` on a cron expression or a fixed interval.

APScheduler decides when; each firing runs ``cohort run --trigger schedule`` in a
child process, so that a crash or a leak in one run cannot take the scheduler down,
and the writer lock still guarantees one run at a time. Everything goes to a rotating
log file: the scheduler's decisions and each run's full output.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: Rotation: five files of at most 5 MB each.
LOG_MAX_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 5


@dataclass(frozen=True)
class Schedule:
    run_args: tuple[str, ...]
    log_file: Path
    cron: str | None = None
    every_seconds: float | None = None
    max_runs: int | None = None


def default_log_file(db_path: Path) -> Path:
    return db_path.resolve().parent / "logs" / f"{db_path.stem}-schedule.log"


def schedule_logger(log_file: Path) -> logging.Logger:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(f"cohort.schedule.{log_file}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if not logger.handlers:
        handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    return logger


def fire(run_args: Sequence[str], logger: logging.Logger) -> int:
    """Run ``cohort run`` once in a child process; log its output and exit code."""
    command = [sys.executable, "-m", "pipelines.cli", "run", *run_args, "--trigger", "schedule"]
    logger.info("firing: cohort run %s --trigger schedule", " ".join(run_args))
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in (completed.stdout + completed.stderr).splitlines():
        logger.info("  | %s", line)
    level = logging.INFO if completed.returncode == 0 else logging.ERROR
    logger.log(level, "cohort run exited with %d", completed.returncode)
    return completed.returncode


def serve(schedule: Schedule) -> int:
    """Block and fire runs until interrupted or ``max_runs`` firings have happened.

    Firings that come due while a run is still going are coalesced into one (the
    writer lock would make them wait anyway).
    """
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    logger = schedule_logger(schedule.log_file)
    scheduler = BlockingScheduler()
    trigger = (
        CronTrigger.from_crontab(schedule.cron)
        if schedule.cron
        else IntervalTrigger(seconds=schedule.every_seconds or 60)
    )
    fired: list[int] = []

    def job() -> None:
        fired.append(fire(schedule.run_args, logger))
        if schedule.max_runs is not None and len(fired) >= schedule.max_runs:
            scheduler.shutdown(wait=False)

    scheduler.add_job(job, trigger, max_instances=1, coalesce=True, misfire_grace_time=None)
    logger.info("schedule started: %s", schedule.cron or f"every {schedule.every_seconds:g} s")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
    logger.info("schedule stopped after %d run(s)", len(fired))
    return max(fired, default=0)
