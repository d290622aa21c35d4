"""Reports: upload (one or many) → review with highlights → confirm import; imported reports' text.

Who may do what is checked by tracker.reports and tracker.uploads (county users review and import).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse

from tracker import uploads
from tracker.errors import ValidationFailed
from tracker.extraction import ExtractionError
from tracker.extraction.decode import MAX_BYTES as MAX_REPORT_BYTES
from tracker.extraction.decode import SUPPORTED as REPORT_SUFFIXES
from tracker.ingest import OUTCOME_LABELS, IngestError
from tracker.models import User
from tracker.reports import report_view, visible_reports
from tracker.users import require_county
from tracker.web.deps import CurrentUser, SessionDep
from tracker.web.forms import Id, optional_int
from tracker.web.highlight import highlight
from tracker.web.templating import flash, render

router = APIRouter(prefix="/reports", include_in_schema=False)


def _list_page(request: Request, session, user: User, *, status_code: int = 200, failures=()):
    return render(
        request,
        "reports.html",
        user=user,
        status_code=status_code,
        reports=visible_reports(session, actor=user),
        pending=uploads.list_pending(actor=user, session=session),
        failures=failures,
        report_accept=",".join(REPORT_SUFFIXES),
    )


@router.get("")
def reports_page(request: Request, session: SessionDep, user: CurrentUser):
    return _list_page(request, session, user)


@router.post("/upload")
def upload(request: Request, session: SessionDep, user: CurrentUser, files: Annotated[list[UploadFile], File()] = []):
    require_county(user)  # before reading the uploads
    staged, failures = [], []
    for f in files:
        if not f.filename:
            continue
        data = f.file.read(MAX_REPORT_BYTES + 1)
        try:
            if len(data) > MAX_REPORT_BYTES:
                raise ExtractionError(f"文件 {f.filename} 超过 20 MB 的上限，不像是一份年度报告")
            staged.append(uploads.stage(filename=f.filename, data=data, actor=user, session=session))
        except ExtractionError as exc:
            failures.append(str(exc))
    if not staged and not failures:
        failures.append("请选择要上传的报告文件（.txt 或 .docx）")
    if len(staged) == 1 and not failures:
        return RedirectResponse(f"/reports/review/{staged[0].token}", status_code=303)
    if staged:
        flash(request, f"已上传 {len(staged)} 份报告，请逐份审核后确认导入")
    return _list_page(request, session, user, status_code=422 if failures and not staged else 200, failures=failures)


def _review_page(
    request: Request,
    user: User,
    pending: uploads.Pending,
    *,
    error: str | None = None,
    status_code: int = 200,
    form: dict | None = None,
):
    """`form`: what was typed, shown again when the confirmation was refused (its titles and kinds only
    when they still line up with the items)."""
    ex = pending.extraction
    spans = [(i, it.kind, it.start, it.end) for i, it in enumerate(ex.items)]
    if form and not (len(form["kinds"]) == len(form["titles"]) == len(ex.items)):
        form = form | {"kinds": None, "titles": None}
    return render(
        request,
        "review.html",
        user=user,
        status_code=status_code,
        p=pending,
        ex=ex,
        error=error,
        doc=highlight(ex.text, spans),
        kinds=uploads.KINDS,
        form=form,
    )


@router.get("/review/{token}")
def review_page(request: Request, session: SessionDep, user: CurrentUser, token: str):
    return _review_page(request, user, uploads.load(token, actor=user, session=session))


@router.post("/review/{token}")
def review_submit(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    token: str,
    kind: Annotated[list[str], Form()] = [],
    title: Annotated[list[str], Form()] = [],
    drop: Annotated[list[int], Form()] = [],
    merge: Annotated[list[int], Form()] = [],
    unit: Annotated[str, Form()] = "",
    report_year: Annotated[str, Form()] = "",
    replace: Annotated[bool, Form()] = False,
    action: Annotated[str, Form()] = "apply",
):
    pending = uploads.load(token, actor=user, session=session)
    typed = {
        "unit": unit,
        "report_year": report_year,
        "replace": replace,
        "kinds": kind,
        "titles": title,
        "drop": set(drop),
        "merge": set(merge),
    }
    try:
        pending.extraction = uploads.apply_edits(
            pending.extraction,
            kinds=kind,
            titles=title,
            drop=set(drop),
            merge=set(merge),
            unit=unit,
            report_year=optional_int(report_year, "报告年度"),
        )
    except ValidationFailed as exc:  # shown on the form, with what was typed
        return _review_page(request, user, pending, error=exc.message, status_code=exc.status_code, form=typed)
    uploads.save(pending, session=session)
    if action != "confirm":
        flash(request, "修改已应用，请核对高亮后确认导入")
        return RedirectResponse(f"/reports/review/{token}", status_code=303)
    try:  # in the request's transaction: the upload leaves the list with the import, or stays
        result = uploads.confirm(pending, actor=user, replace=replace, session=session)
    except IngestError as exc:  # the edits are applied: only the options need keeping
        return _review_page(
            request,
            user,
            pending,
            error=str(exc),
            status_code=422,
            form={
                "unit": unit,
                "report_year": report_year,
                "replace": replace,
                "kinds": None,
                "titles": None,
                "drop": set(),
                "merge": set(),
            },
        )
    counts = f"，生成整改任务 {result.counts['tasks']} 项" if result.counts.get("tasks") is not None else ""
    flash(
        request,
        f"{OUTCOME_LABELS[result.outcome]}：{result.message}{counts}",
        "ok" if result.outcome != "duplicate" else "warn",
    )
    target = {"township": result.township, "year": result.report_year}
    return RedirectResponse(f"/tasks?{urlencode(target)}" if result.report_id else "/reports", status_code=303)


@router.post("/review/{token}/discard")
def review_discard(request: Request, session: SessionDep, user: CurrentUser, token: str):
    pending = uploads.discard(token, actor=user, session=session)
    flash(request, f"已放弃上传的 {pending.extraction.source_name}")
    return RedirectResponse("/reports", status_code=303)


@router.get("/{report_id}")
def report_page(request: Request, session: SessionDep, user: CurrentUser, report_id: Id):
    view = report_view(session, actor=user, report_id=report_id)
    spans = [(it.id, it.kind, it.start, it.end) for it in view.items]
    return render(
        request,
        "report.html",
        user=user,
        report=view.report,
        items=view.items,
        task_of=view.task_of,
        township=view.township,
        doc=highlight(view.report.text, spans),
    )
