"""Parsing what HTML forms and query strings send (empty strings, optional numbers, uploads)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Path, UploadFile

from tracker.errors import ValidationFailed
from tracker.evidence import MAX_BYTES
from tracker.models import MAX_INT


def optional_int(value: str | None, label: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        raise ValidationFailed(f"{label}应为整数，收到“{value}”") from None
    if abs(number) > MAX_INT:
        raise ValidationFailed(f"{label}“{value}”超出范围")
    return number


# A record id in a URL: bounded so a huge number is a 422, not a database overflow.
Id = Annotated[int, Path(ge=1, le=MAX_INT)]


def required_date(value: str | None, label: str) -> date:
    value = (value or "").strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"{label}应为日期（如 2024-06-30），收到“{value}”") from None


def read_uploads(files: list[UploadFile] | None) -> list[tuple[str, bytes]]:
    """(name, bytes) for each chosen file; an empty file input sends one nameless part, skipped.

    Reads at most one byte past the limit: enough for the evidence check to refuse it by size.
    """
    return [(f.filename, f.file.read(MAX_BYTES + 1)) for f in files or () if f.filename]
