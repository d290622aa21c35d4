"""The `rectify` command. Each module registers its own commands on `app`."""
from __future__ import annotations

import typer

from tracker.cli import channels, db, extract, flows, ingest, ledger, outbox, serve, summary, tasks, users

app = typer.Typer(no_args_is_help=True, add_completion=False, help="rectify 整改事项台账")
for module in (extract, ingest, tasks, ledger, users, serve, summary, flows, channels, outbox, db):
    module.register(app)
