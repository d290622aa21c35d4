"""The `rectify` command. Each module registers its own commands on `app`."""

from __future__ import annotations

import typer

from tracker.cli import (
    audit,
    backup,
    channels,
    counties,
    db,
    extract,
    flows,
    ingest,
    ledger,
    outbox,
    serve,
    summary,
    tasks,
    users,
)

app = typer.Typer(no_args_is_help=True, add_completion=False, help="rectify 整改事项台账")
for module in (
    extract,
    ingest,
    tasks,
    ledger,
    users,
    counties,
    serve,
    summary,
    flows,
    channels,
    outbox,
    db,
    backup,
    audit,
):
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


# Typer's own words on help pages and errors, in Chinese (its "Usage:", the --help line and Click's
# error messages cannot be set and stay in English).
from typer import rich_utils as _typer_words  # noqa: E402

_typer_words.OPTIONS_PANEL_TITLE, _typer_words.ARGUMENTS_PANEL_TITLE = "选项", "参数"
_typer_words.COMMANDS_PANEL_TITLE, _typer_words.ERRORS_PANEL_TITLE = "命令", "错误"
_typer_words.DEFAULT_STRING, _typer_words.REQUIRED_LONG_STRING = "[默认：{}]", "[必填]"
_typer_words.RICH_HELP = "运行 [blue]'{command_path} {help_option}'[/] 查看帮助。"
_typer_words.ABORTED_TEXT = "已中止。"
