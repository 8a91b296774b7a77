"""Cohort analytics warehouse: the command line and the pipeline steps.

Importing the package switches off the usage statistics and version checks of dbt and
Great Expectations for this process, so that no step ever reaches the network,
whatever the user's shell says (see :mod:`pipelines.offline`).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from pipelines.offline import disable_telemetry

try:
    __version__ = version("cohort-warehouse")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

disable_telemetry()
