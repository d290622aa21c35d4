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
from tracker.excel import export_ledger, import_assignments
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
    export_ledger(session, actor=user, path_or_buffer=buffer, **ledger_filters(request, user))
    name = f"整改台账-{datetime.now(TZ):%Y%m%d}.xlsx"
    return StreamingResponse(iter([buffer.getvalue()]), media_type=XLSX,
                             headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@router.get("/tasks/import")
def import_form(request: Request, user: CurrentUser):
    require_county(user)
    return render(request, "import.html", user=user, result=None)


@router.post("/tasks/import")
def import_sheet(request: Request, session: SessionDep, user: CurrentUser,
                 file: Annotated[UploadFile, File()]):
    require_county(user)
    data = file.file.read(MAX_SHEET_BYTES + 1)
    if len(data) > MAX_SHEET_BYTES:
        raise ValidationFailed(f"文件 {file.filename} 超过 20 MB 限制")
    result = import_assignments(session, actor=user, source=data)
    return render(request, "import.html", user=user, result=result, filename=file.filename)
