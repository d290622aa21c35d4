"""Small helpers shared by the CLI modules."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import date, datetime

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def default_actor() -> str:
    try:
        return f"命令行:{getpass.getuser()}"
    except Exception:  # no passwd entry in some containers
        return "命令行"


def fail(message: str, code: int = 1) -> None:
    # markup off: messages quote file names and report text that may contain [brackets]
    err_console.print(f"错误：{message}", markup=False, highlight=False, style="red")
    raise typer.Exit(code)


def _jsonable(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def print_json(data) -> None:
    """`data` as indented JSON; dates and datetimes (e.g. in models' `model_dump()`) in ISO format."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_jsonable) + "\n")
