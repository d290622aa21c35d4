"""The process's logging: one configuration, applied by the entry points (CLI, serve, flows), never at import.

Our loggers live under `rectify.` (rectify.flows, rectify.delivery, rectify.auth, rectify.scheduler)
and log at RECTIFY_LOG_LEVEL, as do uvicorn's (its access log is on unless RECTIFY_ACCESS_LOG=0);
other libraries only from WARNING (httpx alone would log every delivered message) unless the level
is DEBUG. Lines go to stderr, so a command's own output on stdout stays machine-readable.
"""

from __future__ import annotations

import logging

from tracker.config import get_settings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HANDLER_NAME = "rectify-stderr"
UVICORN = ("uvicorn.error", "uvicorn.access")


def configure_logging(level: str | None = None) -> None:
    """Idempotent. Where something already set up output (Prefect's flow-run engine, pytest), only
    the levels are set, so no line is printed twice."""
    settings = get_settings()
    numeric = logging.getLevelName(level or settings.log_level)
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.get_name() == HANDLER_NAME), None)
    if handler is None and not root.handlers:
        handler = logging.StreamHandler()
        handler.set_name(HANDLER_NAME)
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    if handler is not None:
        root.setLevel(numeric if numeric == logging.DEBUG else max(numeric, logging.WARNING))
    logging.getLogger("rectify").setLevel(numeric)
    for name in UVICORN:
        logger = logging.getLogger(name)
        logger.setLevel(numeric)
        if handler is not None:
            # Their own handler, not propagation: Prefect's logging set-up (when the scheduler's first
            # flow loads it) claims "uvicorn" for its server and resets its children; every flow run
            # calls this function again (workflows/flows.py), which restores them.
            logger.handlers, logger.propagate = [handler], False
    if not settings.access_log:
        logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
