"""The audit journal: every write appends one AuditEvent in the writer's transaction."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from tracker.db import utcnow
from tracker.models import AuditEvent


def jsonable(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict:
    return {f: jsonable(getattr(obj, f)) for f in fields}


def record(session: Session, *, actor: str, action: str, entity: str, entity_id: int,
           before: dict | None = None, after: dict | None = None, reason: str | None = None) -> None:
    record_many(session, [dict(actor=actor, action=action, entity=entity, entity_id=entity_id,
                               before=before, after=after, reason=reason)])


_ADD = insert(AuditEvent)  # built once: ingest writes events for every report


def record_many(session: Session, events: list[dict]) -> None:
    """Insert many events in one statement (ingest writes thousands)."""
    if events:
        now = utcnow()
        session.connection().execute(_ADD, [{"at": now, "before": None, "after": None, "reason": None} | e
                                            for e in events])
