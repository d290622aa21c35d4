"""Tasks, their progress, evidence and journal: each route calls one service and returns its model."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse

from tracker import evidence, lifecycle
from tracker.ledger import MAX_PER_PAGE, ORDERS, query_tasks
from tracker.models import MAX_INT, JournalEntry, Light, Status, TaskAssign, TaskChanged, TaskDetailPublic, TasksPublic
from tracker.web.api.schemas import Message, TaskKind, TaskVerify, TaskVersion
from tracker.web.deps import CurrentUser, SessionDep
from tracker.web.downloads import evidence_response
from tracker.web.forms import Id, read_uploads

router = APIRouter(tags=["tasks"])
EDIT_ERRORS = {
    409: {"model": Message, "description": "版本已过期（他人已修改）或当前状态不允许此操作"},
    422: {"model": Message, "description": "参数或内容有误"},
}


@router.get("/tasks", response_model=TasksPublic, summary="列出当前用户可见的整改任务")
def list_tasks(
    session: SessionDep,
    user: CurrentUser,
    township: str | None = None,
    county: Annotated[str | None, Query(description="县（区）名称：市级用户按县查看；县级用户只能看到本县")] = None,
    year: Annotated[int | None, Query(ge=1900, le=2100, description="报告年度")] = None,
    kind: TaskKind | None = None,
    status: Status | None = None,
    light: Light | None = None,
    owner: Annotated[str | None, Query(description="责任单位或责任人包含")] = None,
    q: Annotated[str | None, Query(description="问题/计划文字包含")] = None,
    order: Literal[ORDERS] = "light",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
):
    return query_tasks(
        session,
        actor=user,
        township=township,
        county=county,
        year=year,
        kind=kind,
        status=status,
        light=light,
        owner=owner,
        q=q,
        order=order,
        page=page,
        per_page=per_page,
    )


@router.post(
    "/tasks/assign",
    response_model=list[TaskChanged],
    responses=EDIT_ERRORS,
    summary="分派（可批量，全部成功或全部不变）：责任单位、责任人、整改时限、整改类别",
)
def assign(session: SessionDep, user: CurrentUser, body: TaskAssign):
    return lifecycle.assign(
        session,
        actor=user,
        task_ids=body.task_ids,
        owner_unit=body.owner_unit,
        owner_person=body.owner_person,
        deadline=body.deadline,
        category=body.category,
        versions=body.versions,
    )


@router.get("/tasks/{task_id}", response_model=TaskDetailPublic, summary="一项任务：字段、进展、佐证材料")
def get_task(session: SessionDep, user: CurrentUser, task_id: Id):
    return lifecycle.task_detail(session, actor=user, task_id=task_id)


@router.post(
    "/tasks/{task_id}/progress",
    response_model=TaskDetailPublic,
    responses=EDIT_ERRORS,
    summary="乡镇填报进展（可附佐证材料：pdf、jpg、png、docx、xlsx，每个 ≤ 20 MB），可同时提交审核",
)
def post_progress(
    session: SessionDep,
    user: CurrentUser,
    task_id: Id,
    version: Annotated[int, Form(ge=1, le=MAX_INT)],
    note: Annotated[str, Form()],
    percent: Annotated[int | None, Form(ge=0, le=100)] = None,
    submit: Annotated[bool, Form()] = False,
    files: Annotated[list[UploadFile], File(description="佐证材料，可多个")] = [],
):
    lifecycle.post_progress(
        session,
        actor=user,
        task_id=task_id,
        version=version,
        note=note,
        percent=percent,
        files=read_uploads(files),
        submit=submit,
    )
    return lifecycle.task_detail(session, actor=user, task_id=task_id)


@router.post(
    "/tasks/{task_id}/submit",
    response_model=TaskDetailPublic,
    responses=EDIT_ERRORS,
    summary="乡镇提交审核（整改完成）",
)
def submit(session: SessionDep, user: CurrentUser, task_id: Id, body: TaskVersion):
    lifecycle.submit(session, actor=user, task_id=task_id, version=body.version)
    return lifecycle.task_detail(session, actor=user, task_id=task_id)


@router.post(
    "/tasks/{task_id}/verify",
    response_model=TaskDetailPublic,
    responses=EDIT_ERRORS,
    summary="县级审核：通过即销号；填写 reject_reason 则退回",
)
def verify(session: SessionDep, user: CurrentUser, task_id: Id, body: TaskVerify):
    lifecycle.verify(session, actor=user, task_id=task_id, version=body.version, reject_reason=body.reject_reason)
    return lifecycle.task_detail(session, actor=user, task_id=task_id)


@router.get("/tasks/{task_id}/journal", response_model=list[JournalEntry], summary="任务的工作日志（按时间先后）")
def journal(session: SessionDep, user: CurrentUser, task_id: Id):
    return lifecycle.journal(session, actor=user, task_id=task_id)


@router.get(
    "/evidence/{evidence_id}",
    response_class=FileResponse,
    summary="下载佐证材料",
    responses={200: {"content": {"application/octet-stream": {}}, "description": "文件内容"}},
)
def download_evidence(session: SessionDep, user: CurrentUser, evidence_id: Id):
    ev, content = evidence.open_evidence(session, actor=user, evidence_id=evidence_id)
    return evidence_response(ev, content)
