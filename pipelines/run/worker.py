"""A second process for the steps whose imports are slow: the gate and the report.

Great Expectations and matplotlib are slow to import, a large share of a demo run
(docs/performance.md). The run starts this worker first; it imports both on the second core while
the main process ingests and builds with dbt, then runs the gate, and draws half of
the report's figures while the main process draws the other half.

The worker is spawned (not forked), so it does not inherit the writer lock's file
descriptor: a killed run cannot leave the lock held by an orphan.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from multiprocessing.pool import AsyncResult
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def _warm_up() -> None:
    import threading

    from tqdm import tqdm

    # GX draws tqdm bars; tqdm's default lock is a multiprocessing semaphore, which
    # the resource tracker reports as leaked when the worker is stopped. A thread lock
    # is all a single-threaded worker needs.
    tqdm.set_lock(threading.RLock())
    import great_expectations
    import great_expectations.expectations  # noqa: F401

    import pipelines.report.figures
    import pipelines.validate.gate  # noqa: F401


class Pending(Generic[T]):
    """A call running in the worker; ``result()`` waits and re-raises its exception."""

    def __init__(self, handle: AsyncResult) -> None:
        self._handle = handle

    def result(self) -> T:
        return self._handle.get()


class StepWorker:
    """One spawned process that has imported GX and matplotlib by the time it is used.

    Like every spawned process, it imports the caller's main module again; scripts that
    start a run must keep their code under ``if __name__ == "__main__":``.
    """

    def __init__(self) -> None:
        self._pool = multiprocessing.get_context("spawn").Pool(processes=1)
        self._pool.apply_async(_warm_up)

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function`` in the worker; its exceptions are raised here."""
        return self.submit(function, *args, **kwargs).result()

    def submit(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> Pending[T]:
        return Pending(self._pool.apply_async(function, args, kwargs))

    def close(self) -> None:
        """Stop the worker at once: a clean interpreter exit with GX loaded is slow."""
        self._pool.terminate()
        self._pool.join()
