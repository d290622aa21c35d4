"""The `rectify` command. Each module registers its own commands on `app`."""
from __future__ import annotations

import typer

from tracker.cli import channels, db, extract, flows, ingest, ledger, outbox, serve, summary, tasks, users

app = typer.Typer(no_args_is_help=True, add_completion=False, help="rectify 整改事项台账")
for module in (extract, ingest, tasks, ledger, users, serve, summary, flows, channels, outbox, db):
    module.register(app)


@app.callback()
def _startup() -> None:
    # Every command first checks all settings, even those it does not use: a typo stops everything.
    from tracker.config import ConfigError, get_settings
    from tracker.logs import configure_logging

    try:
        get_settings()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    configure_logging()
