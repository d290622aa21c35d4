"""Prefect 3 flows over the reminder and ledger services.

Importing this package changes nothing. Entry points (the CLI, the embedded scheduler, benchmarks)
call `configure_prefect()` before they import `workflows.flows`: it sets Prefect's quiet, offline
defaults (home in the data dir, no analytics, no logging to the API) where the environment does
not set them. Prefect reads its settings once at import, so a settings context already loaded is
refreshed. A Prefect worker running a deployment keeps its own environment.
"""

from __future__ import annotations

import os
import sys

from tracker.config import get_settings


def configure_prefect() -> None:
    """Prefect's defaults for this installation (idempotent; explicit settings win)."""
    home = get_settings().data_dir / "prefect"
    home.mkdir(parents=True, exist_ok=True)
    defaults = {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
        "PREFECT_LOGGING_TO_API_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    if "prefect.context" in sys.modules:
        sys.modules["prefect.context"].refresh_global_settings_context()
