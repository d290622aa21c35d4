"""The ledger (整改台账 / 我的任务), bulk assignment and bulk 销号, and the task page with its actions.

A form the services refuse as invalid (ValidationFailed) comes back as its own page with the message on
the form and what was typed still in it (status 422); other refusals (a stale version, a state that moved
on, no right) keep their error page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse

from tracker import evidence, lifecycle
from tracker.counties import acting_county_id, county_choices
from tracker.errors import ValidationFailed
from tracker.insights import task_insights
from tracker.ledger import query_tasks
from tracker.lights import today
from tracker.models import Category, Kind, Role, Status, User
from tracker.reports import report_years, township_id, township_names
from tracker.textfmt import cn_date
from tracker.themes import THEMES, theme_counts
from tracker.web.deps import CurrentUser, SessionDep
from tracker.web.downloads import evidence_response
from tracker.web.forms import Id, optional_int, read_uploads, required_date
from tracker.web.templating import flash, render

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
FILTERS = ("township", "year", "kind", "status", "light", "owner", "q", "theme", "county")


def ledger_filters(request: Request, user: User) -> dict:
    """The ledger's filters from the query string (also used by the Excel export)."""
    p = request.query_params
    f = {k: (p.get(k) or "").strip() or None for k in FILTERS}
    f["year"] = optional_int(f["year"], "年度")
    if user.role == Role.township:
        f["township"] = None  # always their own; query_tasks scopes it
    if user.role != Role.city:
        f["county"] = None  # county users see their own county (tracker.counties scopes it)
    f["sent_back"] = p.get("sent_back") in ("1", "true", "on")  # 被退回: sent back, not yet submitted again
    return f


def filter_options(session, user: User) -> dict:
    townships = [] if user.role == Role.township else township_names(session, actor=user)
    return {
        "townships": townships,
        "counties": county_choices(session, actor=user),
        "years": report_years(session, actor=user),
        "kinds": (Kind.shortcoming.value, Kind.plan.value),
        "statuses": [s.value for s in Status],
        "categories": [c.value for c in Category],
        "themes": THEMES,
    }


@router.get("/tasks")
def ledger(request: Request, session: SessionDep, user: CurrentUser):
    return _ledger_page(request, session, user)


def _ledger_page(
    request: Request,
    session,
    user: User,
    *,
    status_code: int = 200,
    form_error: dict | None = None,
    form: dict | None = None,
):
    """The ledger under the query string's filters; `form_error` ({"form", "message"}) and `form` (what was
    typed, the ticked tasks among it) when a bulk form was refused."""
    filters = ledger_filters(request, user)
    page_no = optional_int(request.query_params.get("page"), "页码") or 1
    # township users first see what they can act on (整改中 by light, then 待审核, then 待分派)
    order = "action" if user.role == Role.township else "light"
    page = query_tasks(session, actor=user, **filters, page=page_no, per_page=PER_PAGE, order=order)
    county_id = acting_county_id(session, user, filters["county"]) if filters["county"] else None
    tid = (
        user.township_id
        if user.role == Role.township
        else (
            township_id(session, name=filters["township"], actor=user, county_id=county_id)
            if filters["township"]
            else None
        )
    )
    counts = theme_counts(
        session, township_id=tid, report_year=filters["year"], kind=filters["kind"], actor=user, county_id=county_id
    )
    sent_back = lifecycle.sent_back_ids(session, actor=user, task_ids=[t.id for t in page.items])
    return render(
        request,
        "tasks.html",
        user=user,
        status_code=status_code,
        page=page,
        filters=filters,
        options=filter_options(session, user),
        theme_counts=counts,
        query=request.url.query,
        sent_back=sent_back,
        form_error=form_error,
        form=form or {},
        active_filters=sum(1 for k, v in filters.items() if v and k != "county"),
    )


def _selected(values: list[str]) -> dict[int, int]:
    """Checkbox values "id:version": each selected task with the version the page showed."""
    selected = {}
    for value in values:
        tid, _, version = value.partition(":")
        selected[optional_int(tid, "任务编号")] = optional_int(version, "版本号")
    return selected


@router.post("/tasks/assign")
def bulk_assign(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    task: Annotated[list[str], Form()] = [],
    owner_unit: Annotated[str, Form()] = "",
    owner_person: Annotated[str, Form()] = "",
    deadline: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/tasks",
):
    try:
        selected = _selected(task)
        day = required_date(deadline, "整改时限")
        done = lifecycle.assign(
            session,
            actor=user,
            task_ids=list(selected),
            owner_unit=owner_unit,
            owner_person=owner_person,
            deadline=day,
            category=category,
            versions=selected,
        )
    except ValidationFailed as exc:  # the form's action keeps the ledger's query string: same page, same filters
        return _ledger_page(
            request,
            session,
            user,
            status_code=exc.status_code,
            form_error={"form": "bulk", "message": exc.message},
            form={
                "task": set(task),
                "owner_unit": owner_unit,
                "owner_person": owner_person,
                "deadline": deadline,
                "category": category,
            },
        )
    flash(
        request,
        f"已分派 {len(done)} 项任务：{owner_unit.strip()} {owner_person.strip()}，整改时限 {cn_date(day)}，{category}",
    )
    return _back_to_ledger(back)


def _back_to_ledger(back: str) -> RedirectResponse:
    return RedirectResponse(back if back.startswith("/tasks") else "/tasks", status_code=303)


@router.post("/tasks/verify")
def bulk_verify(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    verify_task: Annotated[list[str], Form()] = [],
    confirmed: Annotated[bool, Form()] = False,
    back: Annotated[str, Form()] = "/tasks",
):
    """Bulk 销号 from the 待审核 list: each ticked task at the version the page showed. When some lack 100 %
    or evidence, a confirmation page lists them first; a stale one is reported, the others are closed."""
    try:
        selected = _selected(verify_task)
        rows = lifecycle.review_rows(session, actor=user, versions=selected)
    except ValidationFailed as exc:
        return _ledger_page(
            request,
            session,
            user,
            status_code=exc.status_code,
            form_error={"form": "bulk-verify", "message": exc.message},
            form={"verify_task": set(verify_task)},
        )
    if not confirmed and any(r.warnings for r in rows):
        return render(request, "verify_confirm.html", user=user, rows=rows, back=back)
    result = lifecycle.verify_many(session, actor=user, versions=selected)
    if result.closed:
        flash(request, f"已审核通过并销号 {len(result.closed)} 项任务：" + "、".join(str(i) for i in result.closed))
    for task_id, message in result.refused:
        flash(request, f"任务 {task_id} 未销号：{message}", "error")
    return _back_to_ledger(back)


@router.get("/tasks/{task_id}")
def task_page(request: Request, session: SessionDep, user: CurrentUser, task_id: Id):
    return _task_page(request, session, user, task_id)


def _task_page(
    request: Request,
    session,
    user: User,
    task_id: int,
    *,
    status_code: int = 200,
    form_error: dict | None = None,
    form: dict | None = None,
    confirm_close: bool = False,
):
    """The task page; `form_error` ({"form", "message"}) and `form` (what was typed) when a form was refused,
    `confirm_close` for the 销号 confirmation step."""
    view = lifecycle.task_view(session, actor=user, task_id=task_id)  # checks `user` may see it
    return render(
        request,
        "task.html",
        user=user,
        status_code=status_code,
        **vars(view),
        categories=[c.value for c in Category],
        this_year=today().year,
        insights=task_insights(session, task_id=task_id),
        form_error=form_error,
        form=form or {},
        confirm_close=confirm_close,
        preview_types=evidence.PREVIEW_TYPES,
    )


def _refused(request: Request, session, user: User, task_id: int, exc: ValidationFailed, form: str, typed: dict):
    return _task_page(
        request,
        session,
        user,
        task_id,
        status_code=exc.status_code,
        form_error={"form": form, "message": exc.message},
        form=typed,
    )


def _back(task_id: int) -> RedirectResponse:
    return RedirectResponse(f"/tasks/{task_id}", status_code=303)


@router.post("/tasks/{task_id}/assign")
def assign_one(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    task_id: Id,
    version: Annotated[int, Form()],
    owner_unit: Annotated[str, Form()] = "",
    owner_person: Annotated[str, Form()] = "",
    deadline: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
):
    try:
        lifecycle.assign(
            session,
            actor=user,
            task_ids=[task_id],
            owner_unit=owner_unit,
            owner_person=owner_person,
            deadline=required_date(deadline, "整改时限"),
            category=category,
            versions={task_id: version},
        )
    except ValidationFailed as exc:
        return _refused(
            request,
            session,
            user,
            task_id,
            exc,
            "assign",
            {"owner_unit": owner_unit, "owner_person": owner_person, "deadline": deadline, "category": category},
        )
    flash(request, "分派信息已保存")
    return _back(task_id)


@router.post("/tasks/{task_id}/progress")
def post_progress(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    task_id: Id,
    version: Annotated[int, Form()],
    note: Annotated[str, Form()] = "",
    percent: Annotated[str, Form()] = "",
    submit: Annotated[bool, Form()] = False,
    files: Annotated[list[UploadFile], File()] = [],
):
    uploads = read_uploads(files)
    try:
        lifecycle.post_progress(
            session,
            actor=user,
            task_id=task_id,
            version=version,
            note=note,
            percent=optional_int(percent, "完成进度"),
            files=uploads,
            submit=submit,
        )
    except ValidationFailed as exc:  # the chosen files cannot be put back into the file input: the page says so
        return _refused(
            request,
            session,
            user,
            task_id,
            exc,
            "progress",
            {"note": note, "percent": percent, "submit": submit, "files": [name for name, _ in uploads]},
        )
    flash(
        request,
        ("进展已填报并提交审核" if submit else "进展已填报") + (f"，上传佐证材料 {len(uploads)} 个" if uploads else ""),
    )
    return _back(task_id)


@router.post("/tasks/{task_id}/submit")
def submit(request: Request, session: SessionDep, user: CurrentUser, task_id: Id, version: Annotated[int, Form()]):
    lifecycle.submit(session, actor=user, task_id=task_id, version=version)
    flash(request, "已提交县级审核")
    return _back(task_id)


@router.post("/tasks/{task_id}/verify")
def verify(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    task_id: Id,
    version: Annotated[int, Form()],
    decision: Annotated[str, Form()] = "approve",
    reject_reason: Annotated[str, Form()] = "",
    confirmed: Annotated[bool, Form()] = False,
):
    reject = decision == "reject"
    if not reject and not confirmed:  # under 100 % or without evidence: the page asks once more
        view = lifecycle.task_view(session, actor=user, task_id=task_id)
        if view.closing_warnings and "verify" in view.actions and view.task.version == version:
            return _task_page(
                request, session, user, task_id, confirm_close=True, form={"reject_reason": reject_reason}
            )
    try:
        lifecycle.verify(
            session, actor=user, task_id=task_id, version=version, reject_reason=reject_reason if reject else None
        )
    except ValidationFailed as exc:
        return _refused(request, session, user, task_id, exc, "verify", {"reject_reason": reject_reason})
    flash(request, "已退回乡镇继续整改" if reject else "已审核通过，任务销号")
    return _back(task_id)


@router.post("/tasks/{task_id}/stage-done")
def stage_done(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    task_id: Id,
    version: Annotated[int, Form()],
    year: Annotated[int, Form()],
):
    lifecycle.mark_stage_done(session, actor=user, task_id=task_id, version=version, year=year)
    flash(request, f"已标记 {year} 年度阶段性完成")
    return _back(task_id)


@router.get("/evidence/{evidence_id}")
def download_evidence(session: SessionDep, user: CurrentUser, evidence_id: Id, inline: bool = False):
    """The file as a download; with `inline`, PDFs and images are shown in place (the task page's preview
    frames this response, so it may be framed by this site's own pages)."""
    ev, content = evidence.open_evidence(session, actor=user, evidence_id=evidence_id, inline=inline)
    if inline and ev.content_type in evidence.PREVIEW_TYPES:
        response = evidence_response(ev, content, disposition_type="inline")
        response.headers["X-Frame-Options"] = "SAMEORIGIN"  # tracker/web/security.py keeps it for this response
        return response
    return evidence_response(ev, content)
