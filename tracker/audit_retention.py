"""The operator's removal of audit records past their retention (`rectify audit prune`).

Kept apart from tracker/audit.py, which only inserts and reads: only the CLI imports this module, so
no page or API route can remove a record. The retention is at least `MIN_KEEP_DAYS` (网络安全法第二十一条:
network logs kept no less than six months), and each pruning is itself recorded.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlmodel import Session

from tracker.audit import record
from tracker.db import utcnow
from tracker.errors import ValidationFailed
from tracker.models import AuditEvent

MIN_KEEP_DAYS = 180
PRUNE_CHUNK = 10_000  # rows deleted per statement: a long journal is pruned without one huge statement


def prune(session: Session, *, keep_days: int, actor: str, dry_run: bool = False, now: datetime | None = None) -> dict:
    """Delete the records older than `keep_days` days (at least MIN_KEEP_DAYS), in chunks, and record the
    pruning itself; `dry_run` only counts. Returns the cutoff (UTC) and the number of rows."""
    if keep_days < MIN_KEEP_DAYS:
        raise ValidationFailed(f"保留天数 {keep_days} 过短：审计记录至少保留 {MIN_KEEP_DAYS} 天（六个月）")
    cutoff = (now or utcnow()) - timedelta(days=keep_days)
    old = AuditEvent.at < cutoff
    if dry_run:
        return {"cutoff": cutoff, "rows": session.execute(select(func.count()).where(old)).scalar_one()}
    removed = 0
    while True:
        chunk = select(AuditEvent.id).where(old).order_by(AuditEvent.id).limit(PRUNE_CHUNK)
        ids = list(session.execute(chunk).scalars())
        if not ids:
            break
        session.execute(delete(AuditEvent).where(AuditEvent.id.in_(ids)))
        removed += len(ids)
    record(
        session,
        actor=actor,
        action="prune",
        entity="audit",
        entity_id=0,
        after={"before": cutoff.isoformat(), "rows": removed, "keep_days": keep_days},
    )
    return {"cutoff": cutoff, "rows": removed}
