"""Uploaded reports waiting for review: extracted once, edited by the county, then imported.

A pending upload is a `PendingUpload` row (the extraction with its document text), so a review survives a
restart and any web process of the installation can continue one that another began; nothing reaches the
ledger before the user confirms, and the confirmation removes the row in the import's transaction.
Reviewing is for county users: given the acting user (`actor`), each step checks it.

Each function works in the caller's `session` when given (a request's), else in a transaction of its own
on the configured database.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import delete, or_, select, true, update
from sqlmodel import Session

from tracker.db import session_scope, utcnow
from tracker.errors import NotFound, ValidationFailed
from tracker.evidence import clean_filename
from tracker.extraction import ExtractedItem, Extraction, extract_text, read_document
from tracker.extraction.model import KINDS
from tracker.ingest import IngestResult, ingest_extraction
from tracker.models import PendingUpload, User
from tracker.users import is_county, require_county

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_GONE = "待审核的上传不存在或已处理（可能已被确认导入或放弃）"


@dataclass
class Pending:
    token: str
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
    extraction: Extraction
    county_id: int | None = None  # the uploader's county: only its users review it, the import goes there


@dataclass(frozen=True)
class PendingSummary:
    """A line of the list on /reports: the small columns only, not the extraction."""

    token: str
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
    county_id: int | None
    source_name: str
    unit: str | None
    report_year: int | None
    item_count: int


@contextmanager
def _unit(session: Session | None) -> Iterator[Session]:
    if session is not None:
        yield session
    else:
        with session_scope() as own:
            yield own


def _checked(token: str) -> str:
    if not _TOKEN.match(token or ""):
        raise NotFound("待审核的上传不存在或已处理")
    return token


def _visible(actor: User | None):
    """Rows the actor may review: its county's, and those of no county."""
    if actor is None:
        return true()
    return or_(PendingUpload.county_id.is_(None), PendingUpload.county_id == actor.county_id)


def _columns(pending: Pending) -> dict:
    ex = pending.extraction
    return {
        "sha256": pending.sha256,
        "uploaded_by": pending.uploaded_by,
        "uploaded_at": pending.uploaded_at,
        "county_id": pending.county_id,
        "source_name": ex.source_name[:255],
        "unit": (ex.unit or "")[:255] or None,
        "report_year": ex.report_year,
        "item_count": len(ex.items),
        "extraction": ex.to_dict() | {"text": ex.text, "source_name": ex.source_name},
    }


def read_upload(filename: str, data: bytes) -> str:
    """The document text of an uploaded .txt/.docx, with the extractor's own checks and messages."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / clean_filename(filename)
        path.write_bytes(data)
        return read_document(path)


def stage(
    *,
    filename: str,
    data: bytes,
    uploaded_by: str | None = None,
    actor: User | None = None,
    session: Session | None = None,
) -> Pending:
    """Extract an upload and keep it for review. Raises ExtractionError for unreadable files."""
    require_county(actor)
    uploaded_by = actor.name if actor is not None else uploaded_by
    name = clean_filename(filename)
    extraction = extract_text(read_upload(name, data), source_name=name)
    pending = Pending(
        secrets.token_urlsafe(18),
        hashlib.sha256(data).hexdigest(),
        uploaded_by,
        utcnow(),
        extraction,
        actor.county_id if actor is not None else None,
    )
    with _unit(session) as s:
        s.add(PendingUpload(token=pending.token, **_columns(pending)))
        s.flush()
    return pending


def save(pending: Pending, *, session: Session | None = None) -> None:
    """Keep the reviewer's edits (NotFound when the upload was confirmed or discarded meanwhile)."""
    with _unit(session) as s:
        done = s.execute(
            update(PendingUpload).where(PendingUpload.token == _checked(pending.token)).values(**_columns(pending))
        ).rowcount
    if not done:
        raise NotFound(_GONE)


def load(token: str, *, actor: User | None = None, session: Session | None = None) -> Pending:
    require_county(actor)
    with _unit(session) as s:
        row = s.execute(
            select(PendingUpload).where(PendingUpload.token == _checked(token), _visible(actor))
        ).scalar_one_or_none()  # another county's upload: as if there were none
        if row is None:
            raise NotFound(_GONE)
        ex = dict(row.extraction)
        pending = Pending(row.token, row.sha256, row.uploaded_by, row.uploaded_at, None, row.county_id)
    pending.extraction = Extraction(
        **ex
        | {
            "items": [ExtractedItem(**it) for it in ex["items"]],
            "issued_on": date.fromisoformat(ex["issued_on"]) if ex["issued_on"] else None,
        }
    )
    return pending


def discard(token: str, *, actor: User | None = None, session: Session | None = None) -> Pending:
    with _unit(session) as s:
        pending = load(token, actor=actor, session=s)
        if not s.execute(delete(PendingUpload).where(PendingUpload.token == token)).rowcount:
            raise NotFound(_GONE)
    return pending


def confirm(pending: Pending, *, actor: User, replace: bool = False, session: Session | None = None) -> IngestResult:
    """Import the reviewed upload into the actor's county and remove it from the waiting list, in one
    transaction: an import that fails (IngestError) leaves the upload waiting, and of two confirmations
    of one upload (two processes, two clicks) the second finds nothing (NotFound) and imports nothing."""
    require_county(actor)
    with _unit(session) as s:
        conn = s.connection()
        if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock now, as ingest takes it
        with s.begin_nested():
            gone = not s.execute(
                delete(PendingUpload).where(PendingUpload.token == _checked(pending.token), _visible(actor))
            ).rowcount
            if gone:
                raise NotFound(_GONE)
            return ingest_extraction(
                session=s,
                extraction=pending.extraction,
                sha256=pending.sha256,
                actor=actor.name,
                replace=replace,
                county_id=actor.county_id,
            )


def list_pending(*, actor: User | None = None, session: Session | None = None) -> list[PendingSummary]:
    """Uploads waiting for review, oldest first (none for a township user: reviewing is the county's)."""
    if actor is not None and not is_county(actor):
        return []
    cols = [
        PendingUpload.token,
        PendingUpload.sha256,
        PendingUpload.uploaded_by,
        PendingUpload.uploaded_at,
        PendingUpload.county_id,
        PendingUpload.source_name,
        PendingUpload.unit,
        PendingUpload.report_year,
        PendingUpload.item_count,
    ]
    with _unit(session) as s:
        rows = s.execute(select(*cols).where(_visible(actor)).order_by(PendingUpload.uploaded_at, PendingUpload.token))
        return [PendingSummary(*row) for row in rows]


def apply_edits(
    ex: Extraction,
    *,
    kinds: list[str],
    titles: list[str],
    drop: set[int],
    merge: set[int],
    unit: str | None,
    report_year: int | None,
) -> Extraction:
    """The extraction as the reviewer left it.

    Items keep their order; a dropped item disappears; an item marked "merge with the next" absorbs
    the next kept item: the span runs from its start to the other's end and the text is re-cut from
    the document, so it always equals text[start:end]. Sequence numbers restart per kind.
    """
    if len(kinds) != len(ex.items) or len(titles) != len(ex.items):
        raise ValidationFailed("审核表单与待导入的条目数量不一致，请刷新页面后重试")
    if report_year is not None and not 2000 <= report_year <= 2100:
        raise ValidationFailed(f"报告年度 {report_year} 无效，应在 2000 到 2100 之间")
    kept: list[ExtractedItem] = []
    absorb = False
    for i, it in enumerate(ex.items):
        if i in drop:
            continue
        kind, title = kinds[i], titles[i].strip()
        if kind not in KINDS:
            raise ValidationFailed(f"第 {i + 1} 项的类型“{kind}”无效")
        if not title:
            raise ValidationFailed(f"第 {i + 1} 项的标题不能为空")
        if absorb and kept:
            head = kept[-1]
            start, end = min(head.start, it.start), max(head.end, it.end)
            kept[-1] = replace(
                head,
                start=start,
                end=end,
                text=ex.text[start:end],
                causes=head.causes + it.causes,
                description=f"{head.description}\n{it.description}",
            )
        else:
            kept.append(replace(it, kind=kind, title=title, causes=list(it.causes)))
        absorb = i in merge
    seq: dict[str, int] = {}
    for n, it in enumerate(kept):
        seq[it.kind] = seq.get(it.kind, 0) + 1
        kept[n] = replace(it, seq=seq[it.kind])
    return replace(
        ex,
        items=kept,
        unit=(unit or "").strip() or ex.unit,
        report_year=report_year or ex.report_year,
        plan_year=ex.plan_year if not report_year or report_year == ex.report_year else report_year + 1,
    )
