"""Reports: list the visible ones; upload and import directly (no review step)."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile

from tracker import users
from tracker.evidence import clean_filename
from tracker.extraction.decode import MAX_BYTES as MAX_REPORT_BYTES
from tracker.ingest import ingest_file
from tracker.web.api.schemas import ReportImportResult, ReportPublic
from tracker.web.deps import CurrentUser, SessionDep
from tracker.web.queries import visible_reports

router = APIRouter(tags=["reports"])


@router.get("/reports", response_model=list[ReportPublic], summary="当前用户可见的已导入报告")
def list_reports(session: SessionDep, user: CurrentUser):
    return visible_reports(session, user)


@router.post("/reports", response_model=list[ReportImportResult],
             summary="上传并直接导入报告（.txt/.docx，可多个）；每个文件一条结果，失败的说明原因")
def upload_reports(request: Request, user: CurrentUser, files: Annotated[list[UploadFile], File()],
                   replace: Annotated[bool, Form(description="同一乡镇同一年度已有不同文件时替换")] = False):
    users.require_role(user, *users.COUNTY_ROLES)
    results = []
    for f in files:
        name = clean_filename(f.filename or "")
        data = f.file.read(MAX_REPORT_BYTES + 1)
        if len(data) > MAX_REPORT_BYTES:
            results.append(ReportImportResult(file=name, outcome="failed", message=f"文件 {name} 超过 20 MB 的上限"))
            continue
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            r = ingest_file(engine=request.app.state.engine, path=path, actor=user.name, replace=replace)
        results.append(ReportImportResult(file=name, outcome=r.outcome, message=r.message, report_id=r.report_id,
                                          township=r.township, report_year=r.report_year,
                                          tasks=r.counts.get("tasks")))
    return results
