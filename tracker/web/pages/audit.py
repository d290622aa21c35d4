"""The audit journal for county admins: search (time range, actor, action, object) and export (CSV, Excel).

Read-only: there is no route that changes or deletes a record. Other roles get 404 (tracker.audit)."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tracker import audit
from tracker.errors import NotFound
from tracker.textfmt import cn_date
from tracker.web.deps import CurrentUser, SessionDep
from tracker.web.forms import optional_int
from tracker.web.templating import render

router = APIRouter(prefix="/audit", include_in_schema=False)
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _filters(request: Request) -> audit.AuditFilters:
    p = request.query_params
    return audit.parse_filters(
        since=p.get("since"), until=p.get("until"), actor=p.get("actor"), action=p.get("action"), entity=p.get("entity")
    )


@router.get("")
def audit_page(request: Request, session: SessionDep, user: CurrentUser):
    audit.require_auditor(user)
    filters = _filters(request)
    page = optional_int(request.query_params.get("page"), "页码") or 1
    result = audit.search(session, actor=user, filters=filters, page=page)
    return render(
        request,
        "audit.html",
        user=user,
        page=result,
        filters=filters,
        row_values=audit.row_values,
        actions=audit.ACTION_LABELS,
        entities=audit.ENTITY_LABELS,
    )


@router.get("/export.{fmt}")
def audit_export(request: Request, session: SessionDep, user: CurrentUser, fmt: str):
    audit.require_auditor(user)
    if fmt not in FORMATS:
        raise NotFound(f"不支持的格式：{fmt}")
    filters = _filters(request)
    data = (audit.export_csv if fmt == "csv" else audit.export_xlsx)(session, actor=user, filters=filters)
    name = f"审计记录-{cn_date(date.today())}.{fmt}"
    return Response(
        data,
        media_type=FORMATS[fmt],
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}", "Cache-Control": "no-store"},
    )
