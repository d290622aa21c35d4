"""The ledger (整改台账 / 我的任务), bulk assignment and the task page with its actions."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse
from tracker import evidence, lifecycle
from tracker.insights import task_insights
from tracker.ledger import query_tasks
from tracker.lights import today
from tracker.models import Category, Kind, Role, Status, User
from tracker.reports import report_years, township_id, township_names
from tracker.textfmt import cn_date
from tracker.web.deps import CurrentUser, SessionDep
from tracker.web.downloads import evidence_response
from tracker.web.forms import Id, optional_int, read_uploads, required_date
from tracker.web.templating import flash, render
from tracker.themes import THEMES, theme_counts

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
FILTERS = ("township", "year", "kind", "status", "light", "owner", "q", "theme")


def ledger_filters(request: Request, user: User) -> dict:
    """The ledger's filters from the query string (also used by the Excel export)."""
    p = request.query_params
    f = {k: (p.get(k) or "").strip() or None for k in FILTERS}
    f["year"] = optional_int(f["year"], "年度")
    if user.role == Role.township:
        f["township"] = None  # always their own; query_tasks scopes it
    return f


def filter_options(session, user: User) -> dict:
    townships = [] if user.role == Role.township else township_names(session)
    return {"townships": townships, "years": report_years(session, actor=user),
            "kinds": (Kind.shortcoming.value, Kind.plan.value), "statuses": [s.value for s in Status],
            "categories": [c.value for c in Category], "themes": THEMES}


@router.get("/tasks")
def ledger(request: Request, session: SessionDep, user: CurrentUser):
    filters = ledger_filters(request, user)
    page_no = optional_int(request.query_params.get("page"), "页码") or 1
    page = query_tasks(session, actor=user, **filters, page=page_no, per_page=PER_PAGE, order="light")
    tid = user.township_id if user.role == Role.township else (
        township_id(session, name=filters["township"]) if filters["township"] else None)
    counts = theme_counts(session, township_id=tid, report_year=filters["year"], kind=filters["kind"])
    return render(request, "tasks.html", user=user, page=page, filters=filters, options=filter_options(session, user),
                  theme_counts=counts, query=request.url.query)


def _selected(values: list[str]) -> dict[int, int]:
    """Checkbox values "id:version": each selected task with the version the page showed."""
    selected = {}
    for value in values:
        tid, _, version = value.partition(":")
        selected[optional_int(tid, "任务编号")] = optional_int(version, "版本号")
    return selected


@router.post("/tasks/assign")
def bulk_assign(request: Request, session: SessionDep, user: CurrentUser,
                task: Annotated[list[str], Form()] = [], owner_unit: Annotated[str, Form()] = "",
                owner_person: Annotated[str, Form()] = "", deadline: Annotated[str, Form()] = "",
                category: Annotated[str, Form()] = "", back: Annotated[str, Form()] = "/tasks"):
    selected = _selected(task)
    day = required_date(deadline, "整改时限")
    done = lifecycle.assign(session, actor=user, task_ids=list(selected), owner_unit=owner_unit,
                            owner_person=owner_person, deadline=day, category=category, versions=selected)
    flash(request, f"已分派 {len(done)} 项任务：{owner_unit.strip()} {owner_person.strip()}，"
                   f"整改时限 {cn_date(day)}，{category}")
    return RedirectResponse(back if back.startswith("/tasks") else "/tasks", status_code=303)


@router.get("/tasks/{task_id}")
def task_page(request: Request, session: SessionDep, user: CurrentUser, task_id: Id):
    view = lifecycle.task_view(session, actor=user, task_id=task_id)  # checks `user` may see it
    return render(request, "task.html", user=user, **vars(view), categories=[c.value for c in Category],
                  this_year=today().year, insights=task_insights(session, task_id=task_id))


def _back(task_id: int) -> RedirectResponse:
    return RedirectResponse(f"/tasks/{task_id}", status_code=303)


@router.post("/tasks/{task_id}/assign")
def assign_one(request: Request, session: SessionDep, user: CurrentUser, task_id: Id,
               version: Annotated[int, Form()], owner_unit: Annotated[str, Form()] = "",
               owner_person: Annotated[str, Form()] = "", deadline: Annotated[str, Form()] = "",
               category: Annotated[str, Form()] = ""):
    lifecycle.assign(session, actor=user, task_ids=[task_id], owner_unit=owner_unit, owner_person=owner_person,
                     deadline=required_date(deadline, "整改时限"), category=category, versions={task_id: version})
    flash(request, "分派信息已保存")
    return _back(task_id)


@router.post("/tasks/{task_id}/progress")
def post_progress(request: Request, session: SessionDep, user: CurrentUser, task_id: Id,
                  version: Annotated[int, Form()], note: Annotated[str, Form()] = "",
                  percent: Annotated[str, Form()] = "", submit: Annotated[bool, Form()] = False,
                  files: Annotated[list[UploadFile], File()] = []):
    uploads = read_uploads(files)
    lifecycle.post_progress(session, actor=user, task_id=task_id, version=version, note=note,
                            percent=optional_int(percent, "完成进度"), files=uploads, submit=submit)
    flash(request, ("进展已填报并提交审核" if submit else "进展已填报")
          + (f"，上传佐证材料 {len(uploads)} 个" if uploads else ""))
    return _back(task_id)


@router.post("/tasks/{task_id}/submit")
def submit(request: Request, session: SessionDep, user: CurrentUser, task_id: Id,
           version: Annotated[int, Form()]):
    lifecycle.submit(session, actor=user, task_id=task_id, version=version)
    flash(request, "已提交县级审核")
    return _back(task_id)


@router.post("/tasks/{task_id}/verify")
def verify(request: Request, session: SessionDep, user: CurrentUser, task_id: Id,
           version: Annotated[int, Form()], decision: Annotated[str, Form()] = "approve",
           reject_reason: Annotated[str, Form()] = ""):
    reject = decision == "reject"
    lifecycle.verify(session, actor=user, task_id=task_id, version=version,
                     reject_reason=reject_reason if reject else None)
    flash(request, "已退回乡镇继续整改" if reject else "已审核通过，任务销号")
    return _back(task_id)


@router.post("/tasks/{task_id}/stage-done")
def stage_done(request: Request, session: SessionDep, user: CurrentUser, task_id: Id,
               version: Annotated[int, Form()], year: Annotated[int, Form()]):
    lifecycle.mark_stage_done(session, actor=user, task_id=task_id, version=version, year=year)
    flash(request, f"已标记 {year} 年度阶段性完成")
    return _back(task_id)


@router.get("/evidence/{evidence_id}")
def download_evidence(session: SessionDep, user: CurrentUser, evidence_id: Id):
    ev, content = evidence.open_evidence(session, actor=user, evidence_id=evidence_id)
    return evidence_response(ev, content)
