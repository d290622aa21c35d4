"""The audit journal (等保2.0 安全审计): every write appends one AuditEvent in the writer's transaction;
logins (successful and failed), logouts, user and permission changes, exports and imports are recorded too.

Append-only: this module inserts and reads; nothing in the web pages or the API updates or deletes a
row. The one removal is the operator's `rectify audit prune` (tracker/audit_retention.py).
Web requests set the client's address once per request (`client_address`, tracker/web/app.py), so
every record made while serving it carries the address without the services knowing about requests.
County admins search and export the journal (`search`, `export_csv`, `export_xlsx`; /audit).
"""

from __future__ import annotations

import csv
import io
from contextvars import ContextVar
from datetime import date, datetime, time, timedelta
from math import ceil
from typing import Any

from sqlalchemy import func, insert, select
from sqlmodel import Session, SQLModel

from tracker.config import TZ
from tracker.db import utcnow
from tracker.errors import NotFound, ValidationFailed
from tracker.models import AuditEvent, AuditEventPublic, Role, User

# The client address of the web or API request being served (None: the CLI, flows, the scheduler).
client_address: ContextVar[str | None] = ContextVar("rectify_client_address", default=None)

ACTION_LABELS = {
    "login": "登录",
    "login_failed": "登录失败",
    "logout": "退出登录",
    "password_change": "修改密码",
    "password_reset": "重置密码",
    "token": "生成 API 令牌",
    "disable": "停用",
    "enable": "启用",
    "role": "变更角色",
    "export": "导出",
    "import": "导入",
    "replace": "替换导入",
    "create": "新建",
    "update": "修改",
    "withdraw": "撤销",
    "assign": "分派",
    "reassign": "调整分派",
    "progress": "填报进展",
    "submit": "提交审核",
    "verify": "销号",
    "reject": "退回",
    "stage_done": "阶段性完成",
    "remove": "删除",
    "test": "发送测试",
    "check": "立即检查",
    "prune": "清理过期记录",
}
ENTITY_LABELS = {
    "user": "用户",
    "task": "任务",
    "report": "报告",
    "ledger": "整改台账",
    "yearend": "年终材料",
    "audit": "审计记录",
    "channel": "提醒渠道",
    "notify": "提醒",
    "evidence": "佐证材料",
}
PER_PAGE = 50
MAX_EXPORT_ROWS = 100_000


def jsonable(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict:
    return {f: jsonable(getattr(obj, f)) for f in fields}


def clean_name(name: str | None) -> str:
    """A name as typed at the login form, fit for the actor column (no NUL, at most 64 characters)."""
    return (name or "").replace("\x00", "").strip()[:64] or "（空）"


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: int,
    before: dict | None = None,
    after: dict | None = None,
    reason: str | None = None,
    address: str | None = None,
) -> None:
    record_many(
        session,
        [
            dict(
                actor=actor,
                action=action,
                entity=entity,
                entity_id=entity_id,
                before=before,
                after=after,
                reason=reason,
                address=address,
            )
        ],
    )


_ADD = insert(AuditEvent)  # built once: ingest writes events for every report


def record_many(session: Session, events: list[dict]) -> None:
    """Insert many events in one statement (ingest writes thousands)."""
    if events:
        now = utcnow()
        base = {"at": now, "before": None, "after": None, "reason": None, "address": client_address.get()}
        session.connection().execute(_ADD, [base | {k: v for k, v in e.items() if k != "address" or v} for e in events])


def record_export(session: Session, *, actor: User | str | None, entity: str, what: str, **details: Any) -> None:
    """An export or download: what was exported (file name, filters, row count)."""
    record(
        session,
        actor=actor_name(actor),
        action="export",
        entity=entity,
        entity_id=0,
        after={"file": what} | {k: jsonable(v) for k, v in details.items() if v not in (None, "", [], {})},
    )


LOCAL_OPERATOR = "本机操作员"  # the `rectify users …` commands run without --as


def login(session: Session, *, user: User, address: str | None) -> None:
    record(session, actor=user.name, action="login", entity="user", entity_id=user.id, address=address)


def login_failed(session: Session, *, name: str, reason: str, address: str | None) -> None:
    """A refused login: the name as typed (it may not exist), the reason shown, the address."""
    typed = clean_name(name)
    user_id = session.execute(select(User.id).where(User.name == typed)).scalar() or 0
    record(
        session, actor=typed, action="login_failed", entity="user", entity_id=user_id, reason=reason, address=address
    )


def logout(session: Session, *, user_id: int, address: str | None) -> None:
    user = session.get(User, user_id)
    if user is not None:
        record(session, actor=user.name, action="logout", entity="user", entity_id=user.id, address=address)


def actor_name(actor: User | str | None) -> str:
    if actor is None:
        return LOCAL_OPERATOR
    return actor if isinstance(actor, str) else actor.name


# ---------------------------------------------------------------------------------------------------
# Reading: county admins only (and a city-level role when the installation has one).
# ---------------------------------------------------------------------------------------------------


def _auditor_roles() -> set[str]:
    return {Role.county_admin.value} | {r.value for r in Role if r.value.startswith("city")}


def require_auditor(actor: User | None) -> None:
    """Reading the journal: county admins (or the local operator). Everyone else is told it does not exist."""
    if actor is not None and actor.role not in _auditor_roles():
        raise NotFound("页面或记录不存在")


class AuditFilters(SQLModel):
    since: date | None = None
    until: date | None = None  # inclusive
    actor: str | None = None  # part of the name
    action: str | None = None
    entity: str | None = None

    def query_params(self) -> dict[str, str]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.model_dump().items() if v}


class AuditPage(SQLModel):
    items: list[AuditEventPublic]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))


def parse_filters(
    *,
    since: str | None = None,
    until: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    entity: str | None = None,
) -> AuditFilters:
    """Filters as forms and the CLI send them (strings; empty means no filter); Chinese errors."""

    def day(value: str | None, label: str) -> date | None:
        value = (value or "").strip()
        if not value:
            return None
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            raise ValidationFailed(f"{label}应为日期（如 2024-03-01），收到“{value[:40]}”") from None
        if not 2000 <= parsed.year <= 2999:
            raise ValidationFailed(f"{label}“{value}”超出范围")
        return parsed

    f = AuditFilters(
        since=day(since, "开始日期"),
        until=day(until, "结束日期"),
        actor=(actor or "").replace("\x00", "").strip()[:64] or None,
        action=(action or "").strip() or None,
        entity=(entity or "").strip() or None,
    )
    if f.action and f.action not in ACTION_LABELS:
        raise ValidationFailed(f"操作类型“{f.action[:40]}”无效")
    if f.entity and f.entity not in ENTITY_LABELS:
        raise ValidationFailed(f"对象类型“{f.entity[:40]}”无效")
    if f.since and f.until and f.since > f.until:
        raise ValidationFailed("开始日期不能晚于结束日期")
    return f


def _where(q, f: AuditFilters):
    if f.since:
        q = q.where(AuditEvent.at >= datetime.combine(f.since, time(), TZ))
    if f.until:
        q = q.where(AuditEvent.at < datetime.combine(f.until + timedelta(days=1), time(), TZ))
    if f.actor:
        q = q.where(AuditEvent.actor.contains(f.actor, autoescape=True))
    if f.action:
        q = q.where(AuditEvent.action == f.action)
    if f.entity:
        q = q.where(AuditEvent.entity == f.entity)
    return q


def _scope(session: Session, q, actor: User | None):
    """A county admin reads their county's part of the journal: events about its tasks and reports (by
    township), about its users, and the other events its users caused. Events of no user (the operator,
    ingest under a name that is no account, logins with unknown names) belong to the default county.
    The city and the local operator read everything."""
    from sqlalchemy import and_, or_

    from tracker import counties
    from tracker.models import Report, Task, Township

    if counties.sees_all(actor):
        return q
    own = counties.own_county_id(session, actor)
    is_default = own == counties.default_county(session).id
    here = User.county_id == own
    if is_default:
        here = or_(here, User.county_id.is_(None))
    townships = select(Township.id).where(Township.county_id == own)
    tasks = select(Task.id).where(Task.township_id.in_(townships))
    reports = select(Report.id).where(Report.township_id.in_(townships))
    ids, names = select(User.id).where(here), select(User.name).where(here)
    by_actor = AuditEvent.actor.in_(names)
    if is_default:
        by_actor = or_(by_actor, AuditEvent.actor.not_in(select(User.name)))
    return q.where(
        or_(
            and_(AuditEvent.entity == "task", AuditEvent.entity_id.in_(tasks)),
            and_(AuditEvent.entity == "report", AuditEvent.entity_id.in_(reports)),
            and_(
                AuditEvent.entity == "user",
                or_(AuditEvent.entity_id.in_(ids), and_(AuditEvent.entity_id == 0, by_actor)),
            ),
            and_(AuditEvent.entity.not_in(("task", "report", "user")), by_actor),
        )
    )


def search(
    session: Session,
    *,
    actor: User | None,
    filters: AuditFilters | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> AuditPage:
    """One page of the journal (of the county admin's county), newest first."""
    require_auditor(actor)
    f = filters or AuditFilters()
    total = session.execute(
        _scope(session, _where(select(func.count()).select_from(AuditEvent), f), actor)
    ).scalar_one()
    pages = max(1, ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = session.execute(
        _scope(session, _where(select(AuditEvent), f), actor)
        .order_by(AuditEvent.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).scalars()
    return AuditPage(
        items=[AuditEventPublic.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        page=page,
        per_page=per_page,
    )


def _all(session: Session, f: AuditFilters, actor: User | None) -> list[AuditEvent]:
    return list(
        session.execute(
            _scope(session, _where(select(AuditEvent), f), actor).order_by(AuditEvent.id.desc()).limit(MAX_EXPORT_ROWS)
        ).scalars()
    )


# ---------------------------------------------------------------------------------------------------
# Export: CSV and Excel. Every cell is text a user may have influenced (names typed at the login form,
# titles, reasons): a value starting with = + - @ or a tab/CR is written as text, never as a formula.
# ---------------------------------------------------------------------------------------------------

HEADERS = ("编号", "时间", "操作人", "操作", "对象", "对象编号", "客户端地址", "原因", "修改前", "修改后")


def _details(value: dict | None) -> str:
    if not value:
        return ""
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def row_values(e: AuditEvent | AuditEventPublic) -> list[str]:
    from tracker.textfmt import cn_date

    local = e.at.astimezone(TZ)
    return [
        str(e.id),
        f"{cn_date(local)} {local:%H:%M:%S}",
        e.actor,
        ACTION_LABELS.get(e.action, e.action),
        ENTITY_LABELS.get(e.entity, e.entity),
        str(e.entity_id),
        e.address or "",
        e.reason or "",
        _details(e.before),
        _details(e.after),
    ]


def csv_safe(value: str) -> str:
    """A CSV cell that spreadsheet programs show as the text it is (the OWASP apostrophe prefix)."""
    from tracker.xlsx import looks_like_formula  # openpyxl: loaded only when exporting

    return "'" + value if looks_like_formula(value) else value


def export_csv(session: Session, *, actor: User | None, filters: AuditFilters | None = None) -> bytes:
    """The filtered journal as CSV (UTF-8 with BOM, so Excel opens the Chinese right); the export is recorded."""
    require_auditor(actor)
    f = filters or AuditFilters()
    events = _all(session, f, actor)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for e in events:
        writer.writerow([csv_safe(v) for v in row_values(e)])
    record_export(session, actor=actor, entity="audit", what="审计记录.csv", rows=len(events), filters=f.query_params())
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def export_xlsx(session: Session, *, actor: User | None, filters: AuditFilters | None = None) -> bytes:
    """The filtered journal as an Excel sheet, every cell a string cell; the export is recorded."""
    from openpyxl import Workbook

    from tracker.xlsx import text_cell

    require_auditor(actor)
    f = filters or AuditFilters()
    events = _all(session, f, actor)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("审计记录")
    ws.append(list(HEADERS))
    for e in events:
        ws.append([text_cell(ws, v) for v in row_values(e)])
    buf = io.BytesIO()
    wb.save(buf)
    record_export(
        session, actor=actor, entity="audit", what="审计记录.xlsx", rows=len(events), filters=f.query_params()
    )
    return buf.getvalue()
