"""The project itself switches off telemetry and version checks, whatever the shell says."""

from __future__ import annotations

import os
import subprocess
import sys


def test_importing_the_package_forces_telemetry_off():
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "true",
        "GX_ANALYTICS_ENABLED": "true",
        "DBT_VERSION_CHECK": "true",
    }
    env.pop("DO_NOT_TRACK", None)
    code = (
        "import os, pipelines; print(*(os.environ[k] for k in ('DO_NOT_TRACK', "
        "'DBT_SEND_ANONYMOUS_USAGE_STATS', 'DBT_VERSION_CHECK', 'GX_ANALYTICS_ENABLED')))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    assert output == ["1", "false", "false", "false"]
