"""Text lengths checked before writing, from the models' own `max_length`, so a value too long for its
column is the same Chinese ValidationFailed on SQLite (which would store it) and PostgreSQL (which
would raise DataError, a 500)."""

from __future__ import annotations

from annotated_types import MaxLen
from sqlmodel import SQLModel

from tracker.errors import ValidationFailed


def max_length(model: type[SQLModel], field: str) -> int | None:
    """The field's max_length (the model's metadata, else its column's String length)."""
    info = model.model_fields.get(field)
    for meta in info.metadata if info is not None else ():
        if isinstance(meta, MaxLen):
            return meta.max_length
    table = getattr(model, "__table__", None)
    column = table.c.get(field) if table is not None else None
    return getattr(column.type, "length", None) if column is not None else None


def check_length(model: type[SQLModel], field: str, value: str | None, label: str) -> None:
    """Raise ValidationFailed when `value` is longer than `model.field` may hold."""
    limit = max_length(model, field)
    if value is not None and limit is not None and len(value) > limit:
        raise ValidationFailed(f"{label}不能超过 {limit} 个字符（现为 {len(value)} 个）")
