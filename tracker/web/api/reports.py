"""Reports: list the visible ones; upload and import directly (no review step)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile

from tracker import reports
from tracker.evidence import clean_filename
from tracker.extraction.decode import MAX_BYTES as MAX_REPORT_BYTES
from tracker.models import ReportPublic
from tracker.users import require_county
from tracker.web.api.schemas import ReportImportResult
from tracker.web.deps import CurrentUser, SessionDep

router = APIRouter(tags=["reports"])


@router.get("/reports", response_model=list[ReportPublic], summary="当前用户可见的已导入报告")
def list_reports(session: SessionDep, user: CurrentUser):
    return reports.visible_reports(session, actor=user)


@router.post(
    "/reports",
    response_model=list[ReportImportResult],
    summary="上传并直接导入报告（.txt/.docx，可多个）；每个文件一条结果，失败的说明原因",
)
def upload_reports(
    request: Request,
    user: CurrentUser,
    files: Annotated[list[UploadFile], File()],
    replace: Annotated[bool, Form(description="同一乡镇同一年度已有不同文件时替换")] = False,
):
    require_county(user)  # before reading any upload
    results = []
    for f in files:
        name = clean_filename(f.filename or "")
        data = f.file.read(MAX_REPORT_BYTES + 1)
        if len(data) > MAX_REPORT_BYTES:
            results.append(ReportImportResult(file=name, outcome="failed", message=f"文件 {name} 超过 20 MB 的上限"))
            continue
        r = reports.import_upload(
            engine=request.app.state.engine, actor=user, filename=name, data=data, replace=replace
        )
        results.append(
            ReportImportResult(
                file=name,
                outcome=r.outcome,
                message=r.message,
                report_id=r.report_id,
                township=r.township,
                report_year=r.report_year,
                tasks=r.counts.get("tasks"),
            )
        )
    return results
