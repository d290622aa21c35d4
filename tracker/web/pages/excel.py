"""Excel, the county's working format: export the ledger under the current filters, import an edited sheet."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import StreamingResponse

from tracker.config import TZ
from tracker.errors import ValidationFailed
from tracker.excel import export_filename, export_ledger, import_assignments
from tracker.models import Role
from tracker.reports import township_names
from tracker.users import require_county
from tracker.web.deps import CurrentUser, SessionDep
from tracker.web.pages.tasks import ledger_filters
from tracker.web.templating import render

router = APIRouter(include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_SHEET_BYTES = 20 * 1024 * 1024


@router.get("/tasks/export.xlsx")
def export(request: Request, session: SessionDep, user: CurrentUser):
    buffer = io.BytesIO()
    filters = ledger_filters(request, user)
    export_ledger(session, actor=user, path_or_buffer=buffer, **filters)
    if user.role == Role.township:  # their own township, which the filters leave implicit
        filters["township"] = next(iter(township_names(session, actor=user)), None)
    on = datetime.now(TZ).date()
    return StreamingResponse(
        iter([buffer.getvalue()]),
        media_type=XLSX,
        headers={
            "Content-Disposition": content_disposition(
                export_filename(on=on, **filters), f"rectify-ledger-{on:%Y%m%d}.xlsx"
            )
        },
    )


def content_disposition(name: str, ascii_name: str) -> str:
    """An attachment named `name` (RFC 6266 with RFC 5987's filename*: UTF-8, every byte outside the
    attr-chars percent-encoded), with an ASCII `filename` for clients that do not read filename*."""
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/tasks/import")
def import_form(request: Request, user: CurrentUser):
    require_county(user)
    return render(request, "import.html", user=user, result=None)


@router.post("/tasks/import")
def import_sheet(request: Request, session: SessionDep, user: CurrentUser, file: Annotated[UploadFile, File()]):
    require_county(user)
    data = file.file.read(MAX_SHEET_BYTES + 1)
    if len(data) > MAX_SHEET_BYTES:
        raise ValidationFailed(f"文件 {file.filename} 超过 20 MB 限制")
    result = import_assignments(session, actor=user, source=data)
    return render(request, "import.html", user=user, result=result, filename=file.filename)
