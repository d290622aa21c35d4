"""Uploaded reports waiting for review: extracted once, edited by the county, then imported.

A pending upload lives in data_dir/uploads/<token>.json (the extraction with its text), so a
review survives a restart and nothing reaches the ledger before the user confirms. Reviewing is for
county users: given the acting user (`actor`), each step checks it.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

from markupsafe import Markup, escape

from tracker.config import get_settings
from tracker.db import utcnow
from tracker.errors import NotFound, ValidationFailed
from tracker.evidence import clean_filename
from tracker.extraction import Extraction, ExtractedItem, extract_text, read_document
from tracker.extraction.model import KINDS
from tracker.models import User
from tracker.users import is_county, require_county

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@dataclass
class Pending:
    token: str
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
    extraction: Extraction


def _dir() -> Path:
    return get_settings().data_dir / "uploads"


def _path(token: str) -> Path:
    if not _TOKEN.match(token or ""):
        raise NotFound("待审核的上传不存在或已处理")
    return _dir() / f"{token}.json"


def read_upload(filename: str, data: bytes) -> str:
    """The document text of an uploaded .txt/.docx, with the extractor's own checks and messages."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / clean_filename(filename)
        path.write_bytes(data)
        return read_document(path)


def stage(*, filename: str, data: bytes, uploaded_by: str | None = None, actor: User | None = None) -> Pending:
    """Extract an upload and keep it for review. Raises ExtractionError for unreadable files."""
    require_county(actor)
    uploaded_by = actor.name if actor is not None else uploaded_by
    name = clean_filename(filename)
    extraction = extract_text(read_upload(name, data), source_name=name)
    pending = Pending(secrets.token_urlsafe(18), hashlib.sha256(data).hexdigest(), uploaded_by, utcnow(), extraction)
    save(pending)
    return pending


def save(pending: Pending) -> None:
    ex = pending.extraction
    doc = {"sha256": pending.sha256, "uploaded_by": pending.uploaded_by,
           "uploaded_at": pending.uploaded_at.isoformat(),
           "extraction": ex.to_dict() | {"text": ex.text, "source_name": ex.source_name}}
    path = _path(pending.token)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pending-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False)
    os.replace(tmp, path)  # a reader never sees half a file


def load(token: str, *, actor: User | None = None) -> Pending:
    require_county(actor)
    try:
        doc = json.loads(_path(token).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFound("待审核的上传不存在或已处理（可能已被确认导入或放弃）") from None
    ex = doc["extraction"]
    extraction = Extraction(**ex | {
        "items": [ExtractedItem(**it) for it in ex["items"]],
        "issued_on": date.fromisoformat(ex["issued_on"]) if ex["issued_on"] else None})
    return Pending(token, doc["sha256"], doc["uploaded_by"], datetime.fromisoformat(doc["uploaded_at"]), extraction)


def discard(token: str, *, actor: User | None = None) -> Pending:
    pending = load(token, actor=actor)
    _path(token).unlink(missing_ok=True)
    return pending


def list_pending(*, actor: User | None = None) -> list[Pending]:
    """Uploads waiting for review, oldest first (none for a township user: reviewing is the county's)."""
    if actor is not None and not is_county(actor):
        return []
    found = []
    for path in _dir().glob("*.json") if _dir().is_dir() else ():
        try:
            found.append(load(path.stem))
        except NotFound:  # confirmed or discarded meanwhile
            continue
    return sorted(found, key=lambda p: p.uploaded_at)


def apply_edits(ex: Extraction, *, kinds: list[str], titles: list[str], drop: set[int], merge: set[int],
                unit: str | None, report_year: int | None) -> Extraction:
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
            kept[-1] = replace(head, start=start, end=end, text=ex.text[start:end], causes=head.causes + it.causes,
                               description=f"{head.description}\n{it.description}")
        else:
            kept.append(replace(it, kind=kind, title=title, causes=list(it.causes)))
        absorb = i in merge
    seq: dict[str, int] = {}
    for n, it in enumerate(kept):
        seq[it.kind] = seq.get(it.kind, 0) + 1
        kept[n] = replace(it, seq=seq[it.kind])
    return replace(ex, items=kept, unit=(unit or "").strip() or ex.unit, report_year=report_year or ex.report_year,
                   plan_year=ex.plan_year if not report_year or report_year == ex.report_year else report_year + 1)


def highlight(text: str, spans: list[tuple[object, str, int, int]]) -> Markup:
    """The document as HTML with each (key, kind, start, end) span wrapped in <mark>.

    Overlapping spans are flattened: every stretch of text is marked for the narrowest span
    covering it, and each span's first stretch carries the anchor id="item-<key>".
    """
    bounds = sorted({0, len(text), *(s for _, _, s, _ in spans), *(e for _, _, _, e in spans)})
    out, anchored = [], set()
    for a, b in zip(bounds, bounds[1:]):
        covering = [sp for sp in spans if sp[2] <= a and b <= sp[3]]
        chunk = escape(text[a:b])
        if not covering:
            out.append(chunk)
            continue
        key, kind, _, _ = min(covering, key=lambda sp: sp[3] - sp[2])
        anchor = f' id="item-{key}"' if key not in anchored else ""
        anchored.add(key)
        out.append(Markup(f'<mark class="k-{escape(kind)}" data-item="{key}"{anchor}>') + chunk + Markup("</mark>"))
    return Markup("").join(out)
