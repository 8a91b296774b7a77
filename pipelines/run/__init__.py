"""``cohort run``: the whole pipeline as one atomic, locked, recorded run."""

from pipelines.run.lock import WarehouseBusy, writer_lock
from pipelines.run.pipeline import PipelineOutcome, RunOptions, run_pipeline

__all__ = ["PipelineOutcome", "RunOptions", "WarehouseBusy", "run_pipeline", "writer_lock"]
