"""Keep every step offline: no usage statistics, no version checks.

dbt sends anonymous usage events and ``dbt --version`` queries the package index;
Great Expectations has its own analytics switch. Clinical data stays on the machine it
was delivered to, and the product must also run on air-gapped hosts, so the project
sets these switches itself instead of relying on the user's shell.
"""

from __future__ import annotations

import os

#: Environment switches honoured by dbt-core 1.11 and Great Expectations 1.x.
TELEMETRY_SWITCHES: dict[str, str] = {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DBT_VERSION_CHECK": "false",
    "GX_ANALYTICS_ENABLED": "false",
}


def disable_telemetry() -> None:
    """Force the telemetry switches off for this process and its children.

    The values are overwritten, not defaulted: a shell that exported
    ``DBT_SEND_ANONYMOUS_USAGE_STATS=true`` must not make the product phone home.
    """
    os.environ.update(TELEMETRY_SWITCHES)
