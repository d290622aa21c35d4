"""A task's life: 待分派 → 整改中 → 待审核 → 已销号 (or 退回 → 整改中), one rule set for web and CLI.

Every change checks who acts (township users reach only their own township's tasks; others'
look absent), names the version it was based on, is written with `UPDATE … WHERE version = :v`
so two stale edits cannot both win, bumps the version and appends one journal entry.
A raised DomainError may leave earlier statements of the call in the session: the caller's
transaction (`session_scope`) rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm import object_session
from sqlmodel import Session

from tracker import audit
from tracker.counties import can_see_township, township_conds
from tracker.db import utcnow
from tracker.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from tracker.evidence import check_batch, check_file, clean_filename, store_evidence
from tracker.fieldlen import check_length
from tracker.ledger import sent_back_cond
from tracker.lights import check_day, light_of, today
from tracker.models import (
    AuditEvent,
    Category,
    County,
    Evidence,
    EvidencePublic,
    Item,
    Kind,
    Progress,
    ProgressPublic,
    Report,
    Role,
    Status,
    Task,
    TaskDetailPublic,
    Township,
    User,
)
from tracker.textfmt import cn_date
from tracker.users import COUNTY_ROLES, require_role
from tracker.vocabulary import FIELD_LABELS

TOWNSHIP_ROLES = (Role.township.value,)
# action → (roles that may do it, statuses it starts from, the verb for a refusal)
RULES = {
    "assign": (COUNTY_ROLES, (Status.unassigned, Status.in_progress), "分派"),
    "progress": (TOWNSHIP_ROLES, (Status.in_progress,), "填报进展"),
    "submit": (TOWNSHIP_ROLES, (Status.in_progress,), "提交审核"),
    "verify": (COUNTY_ROLES, (Status.pending_review,), "审核销号"),
    "reject": (COUNTY_ROLES, (Status.pending_review,), "退回"),
    "stage_done": (COUNTY_ROLES, (Status.in_progress,), "标记阶段性完成"),
}
AUDITED = ("status", "owner_unit", "owner_person", "deadline", "category", "progress_percent", "stage_done_year")
ACTION_LABELS = {
    "create": "生成任务",
    "update": "修改",
    "withdraw": "撤销",
    "assign": "分派",
    "reassign": "调整分派",
    "progress": "填报进展",
    "submit": "提交审核",
    "verify": "销号",
    "reject": "退回",
    "stage_done": "阶段性完成",
}


def available_actions(actor: User, task: Task) -> set[str]:
    """What `actor` may do to `task` (as loaded by a session) now (for showing buttons; the functions
    below enforce the same)."""
    if not can_see_township(object_session(task), actor, task.township_id):
        return set()
    return {
        a
        for a, (roles, statuses, _) in RULES.items()
        if actor.role in roles and task.status in statuses and (a != "stage_done" or task.category == Category.ongoing)
    }


def _refuse_state(task: Task, action: str) -> None:
    _, statuses, verb = RULES[action]
    if task.status not in statuses:
        raise InvalidTransition(f"任务当前状态为“{task.status}”，不能{verb}")


def _load(session: Session, actor: User, task_id: int) -> Task:
    task = (
        session.execute(select(Task).where(Task.id == task_id).execution_options(populate_existing=True))
        .scalars()
        .first()
    )
    if task is None or not can_see_township(session, actor, task.township_id):
        raise NotFound(f"任务 {task_id} 不存在")
    return task


def _conflict(current: int) -> Conflict:
    return Conflict(f"该任务已被他人修改（当前版本 {current}），请刷新后重试")


def _expected(task: Task, version: int | None) -> int:
    """The version the edit is based on; None (CLI) means the one just read."""
    if version is not None and version != task.version:
        raise _conflict(task.version)
    return task.version


def _write(
    session: Session,
    *,
    actor: User,
    task: Task,
    expected: int,
    changes: dict,
    action: str,
    reason: str | None = None,
    note: dict | None = None,
) -> Task:
    """Apply `changes` only if the task is still at `expected`, and journal them."""
    audited = [f for f in AUDITED if f in changes]
    before = {f: audit.jsonable(getattr(task, f)) for f in audited} | {"version": expected}
    result = session.execute(
        update(Task)
        .where(Task.id == task.id, Task.version == expected)
        .values(**changes, version=expected + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise _conflict(session.execute(select(Task.version).where(Task.id == task.id)).scalar_one())
    after = {f: audit.jsonable(changes[f]) for f in audited} | {"version": expected + 1} | (note or {})
    audit.record(
        session,
        actor=actor.name,
        action=action,
        entity="task",
        entity_id=task.id,
        before=before,
        after=after,
        reason=reason,
    )
    session.refresh(task)
    return task


def get_task(session: Session, *, actor: User, task_id: int) -> Task:
    return _load(session, actor, task_id)


def _assignment(owner_unit: str, owner_person: str, deadline: date, category: str) -> dict:
    unit, person = (owner_unit or "").strip(), (owner_person or "").strip()
    if not unit:
        raise ValidationFailed("责任单位不能为空")
    if not person:
        raise ValidationFailed("责任人不能为空")
    check_length(Task, "owner_unit", unit, "责任单位")
    check_length(Task, "owner_person", person, "责任人")
    if not isinstance(deadline, date):
        raise ValidationFailed("整改时限必须是日期")
    check_day(deadline, "整改时限")
    if category not in Category.labels():
        raise ValidationFailed(f"整改类别“{category}”无效，应为 {Category.choices()}")
    return {"owner_unit": unit, "owner_person": person, "deadline": deadline, "category": category}


def assign(
    session: Session,
    *,
    actor: User,
    task_ids: list[int],
    owner_unit: str,
    owner_person: str,
    deadline: date,
    category: str,
    versions: dict[int, int] | None = None,
) -> list[Task]:
    """Assign many tasks at once, all or nothing: every task is checked before any is written."""
    require_role(actor, *RULES["assign"][0])
    fields = _assignment(owner_unit, owner_person, deadline, category)
    ids = list(dict.fromkeys(task_ids))
    if not ids:
        raise ValidationFailed("请至少选择一项任务")
    found = {
        t.id: t
        for t in session.execute(
            select(Task).where(Task.id.in_(ids)).execution_options(populate_existing=True)
        ).scalars()
    }
    versions = versions or {}
    plan = []
    for task_id in ids:
        task = found.get(task_id)
        if task is None or not can_see_township(session, actor, task.township_id):
            raise NotFound(f"任务 {task_id} 不存在")
        expected = _expected(task, versions.get(task_id))
        _refuse_state(task, "assign")
        plan.append((task, expected))
    for task, expected in plan:
        changes = {k: v for k, v in fields.items() if getattr(task, k) != v}
        if task.status == Status.unassigned:
            changes |= {"status": Status.in_progress.value, "assigned_at": utcnow()}
        if changes:
            _write(
                session,
                actor=actor,
                task=task,
                expected=expected,
                changes=changes,
                action="assign" if "status" in changes else "reassign",
            )
    return [task for task, _ in plan]


def post_progress(
    session: Session,
    *,
    actor: User,
    task_id: int,
    version: int | None,
    note: str,
    percent: int | None = None,
    files: list[tuple[str, bytes]] = (),
    submit: bool = False,
) -> Task:
    action = "submit" if submit else "progress"
    require_role(actor, *RULES[action][0])
    task = _load(session, actor, task_id)
    expected = _expected(task, version)
    _refuse_state(task, action)
    note = (note or "").strip()
    if not note:
        raise ValidationFailed("进展说明不能为空")
    if percent is not None and not 0 <= percent <= 100:
        raise ValidationFailed("完成进度应为 0 到 100 之间的整数")
    check_batch(files)
    for name, data in files:  # every file is checked before anything is written
        check_file(name, data)
    now = utcnow()
    changes: dict = {"last_progress_at": now}
    if percent is not None:
        changes["progress_percent"] = percent
    if submit:
        changes |= {"status": Status.pending_review.value, "submitted_at": now}
    note_after = {"progress_note": note, "evidence": [clean_filename(n) for n, _ in files]}
    _write(session, actor=actor, task=task, expected=expected, changes=changes, action=action, note=note_after)
    progress = Progress(task_id=task.id, at=now, author=actor.name, note=note, percent=percent)
    session.add(progress)
    session.flush()
    for name, data in files:
        store_evidence(session, task=task, progress_id=progress.id, filename=name, data=data, actor=actor)
    return task


def submit(session: Session, *, actor: User, task_id: int, version: int | None) -> Task:
    require_role(actor, *RULES["submit"][0])
    task = _load(session, actor, task_id)
    expected = _expected(task, version)
    _refuse_state(task, "submit")
    return _write(
        session,
        actor=actor,
        task=task,
        expected=expected,
        changes={"status": Status.pending_review.value, "submitted_at": utcnow()},
        action="submit",
    )


def verify(
    session: Session, *, actor: User, task_id: int, version: int | None, reject_reason: str | None = None
) -> Task:
    """Close the task (销号), or with a reason send it back (退回) to 整改中."""
    action = "verify" if reject_reason is None else "reject"
    require_role(actor, *RULES[action][0])
    task = _load(session, actor, task_id)
    expected = _expected(task, version)
    _refuse_state(task, action)
    if action == "verify":
        return _write(
            session,
            actor=actor,
            task=task,
            expected=expected,
            changes={"status": Status.closed.value, "closed_at": utcnow()},
            action=action,
        )
    reason = reject_reason.strip()
    if not reason:
        raise ValidationFailed("退回时必须填写退回原因")
    return _write(
        session,
        actor=actor,
        task=task,
        expected=expected,
        changes={"status": Status.in_progress.value, "submitted_at": None},
        action=action,
        reason=reason,
    )


def closing_warnings(percent: int | None, evidence_count: int) -> list[str]:
    """Why closing (销号) a task deserves a second look: progress under 100 % or no evidence."""
    warnings = []
    if percent is None:
        warnings.append("未填报完成进度")
    elif percent < 100:
        warnings.append(f"完成进度为 {percent}%")
    if not evidence_count:
        warnings.append("尚无佐证材料")
    return warnings


@dataclass
class ReviewRow:
    """A task offered for closing, with what a reviewer should see first."""

    id: int
    title: str
    township: str
    status: str
    version: int
    percent: int | None
    evidence_count: int
    warnings: list[str]


def review_rows(session: Session, *, actor: User, versions: dict[int, int]) -> list[ReviewRow]:
    """The tasks chosen for a bulk 销号 that `actor` may see (others are left out), each with the version
    the page showed and its warnings (`closing_warnings`), in the order given."""
    require_role(actor, *RULES["verify"][0])
    ids = list(versions)
    if not ids:
        raise ValidationFailed("请至少选择一项任务")
    evidence_count = select(func.count()).where(Evidence.task_id == Task.id).scalar_subquery()
    found = {
        r.id: r
        for r in session.execute(
            select(
                Task.id,
                Task.title,
                Township.name.label("township"),
                Task.status,
                Task.progress_percent,
                evidence_count.label("evidence_count"),
            )
            .join(Township, Township.id == Task.township_id)
            .where(Task.id.in_(ids), *township_conds(actor, Task.township_id))
        )
    }
    return [
        ReviewRow(
            r.id,
            r.title,
            r.township,
            r.status,
            versions[r.id],
            r.progress_percent,
            r.evidence_count,
            closing_warnings(r.progress_percent, r.evidence_count),
        )
        for r in (found.get(i) for i in ids)
        if r is not None
    ]


@dataclass
class BulkVerifyResult:
    closed: list[int]
    refused: list[tuple[int, str]]  # (task id, why: a stale version, a state that moved on, not found)


def verify_many(session: Session, *, actor: User, versions: dict[int, int]) -> BulkVerifyResult:
    """Close (销号) each task at the version the reviewer saw; a task whose version moved on (or that is no
    longer 待审核) is reported and left alone, the others are closed. Every refusal is raised before its
    task is written, so the closed ones stand."""
    require_role(actor, *RULES["verify"][0])
    if not versions:
        raise ValidationFailed("请至少选择一项任务")
    result = BulkVerifyResult([], [])
    for task_id, version in versions.items():
        try:
            verify(session, actor=actor, task_id=task_id, version=version)
            result.closed.append(task_id)
        except (Conflict, InvalidTransition, NotFound) as exc:
            result.refused.append((task_id, exc.message))
    return result


def sent_back_ids(session: Session, *, actor: User, task_ids: list[int]) -> set[int]:
    """Which of `task_ids` are sent back (退回) and not yet submitted again (for the ledger's badge)."""
    if not task_ids:
        return set()
    return set(
        session.execute(
            select(Task.id).where(Task.id.in_(task_ids), sent_back_cond(), *township_conds(actor, Task.township_id))
        ).scalars()
    )


def sent_back_note(session: Session, task: Task) -> dict | None:
    """For a task sent back and not submitted again: the last 退回's reason, who and when."""
    if task.status != Status.in_progress:
        return None
    event = (
        session.execute(
            select(AuditEvent)
            .where(AuditEvent.entity == "task", AuditEvent.entity_id == task.id, AuditEvent.action == "reject")
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(1)
        )
        .scalars()
        .first()
    )
    return None if event is None else {"reason": event.reason, "actor": event.actor, "at": event.at}


def mark_stage_done(session: Session, *, actor: User, task_id: int, version: int | None, year: int) -> Task:
    """长期坚持: the year's stage is done (阶段性完成); the task stays open."""
    require_role(actor, *RULES["stage_done"][0])
    task = _load(session, actor, task_id)
    expected = _expected(task, version)
    _refuse_state(task, "stage_done")
    if task.category != Category.ongoing:
        raise InvalidTransition(f"只有“长期坚持”类任务可以标记阶段性完成，该任务为“{task.category}”")
    if not 2000 <= year <= 2100:
        raise ValidationFailed(f"年度 {year} 无效")
    if task.stage_done_year == year:
        raise InvalidTransition(f"该任务已标记 {year} 年度阶段性完成")
    return _write(
        session, actor=actor, task=task, expected=expected, changes={"stage_done_year": year}, action="stage_done"
    )


def _display(field: str, value) -> str:
    if value is None or value == []:
        return ""
    if field == "deadline":
        return cn_date(date.fromisoformat(value))
    if field == "kind":
        return Kind.label_of(value)
    if field == "progress_percent":
        return f"{value}%"
    if field == "stage_done_year":
        return f"{value}年度"
    if field == "evidence":
        return "、".join(value)
    return str(value)


def journal(session: Session, *, actor: User, task_id: int) -> list[dict]:
    """The task's timeline, oldest first: when, who, what (Chinese label), field changes, reason."""
    _load(session, actor, task_id)
    events = session.execute(
        select(AuditEvent)
        .where(AuditEvent.entity == "task", AuditEvent.entity_id == task_id)
        .order_by(AuditEvent.at, AuditEvent.id)
    ).scalars()
    entries = []
    for e in events:
        before, after = e.before or {}, e.after or {}
        fields = [f for f in dict.fromkeys([*before, *after]) if f != "version"]
        entries.append(
            {
                "at": e.at,
                "actor": e.actor,
                "action": ACTION_LABELS.get(e.action, e.action),
                "reason": e.reason,
                "changes": [
                    (FIELD_LABELS.get(f, f), _display(f, before.get(f)), _display(f, after.get(f))) for f in fields
                ],
            }
        )
    return entries


@dataclass
class TaskView:
    """Everything the task page shows, read with `actor`'s rights."""

    task: Task
    township: Township
    report: Report
    item: Item
    light: str | None
    actions: set[str]
    journal: list[dict]  # newest first
    progress: list[Progress]
    evidence: list[Evidence]
    sent_back: dict | None = None  # the last 退回 (reason, actor, at) while the task is back with the township
    closing_warnings: list[str] = field(default_factory=list)  # shown before 销号 (closing_warnings)


def task_view(session: Session, *, actor: User, task_id: int) -> TaskView:
    task = _load(session, actor, task_id)
    files = list_evidence(session, actor=actor, task_id=task_id)
    return TaskView(
        task,
        session.get(Township, task.township_id),
        session.get(Report, task.report_id),
        session.get(Item, task.item_id),
        light_of(task, today()),
        available_actions(actor, task),
        list(reversed(journal(session, actor=actor, task_id=task_id))),
        list_progress(session, actor=actor, task_id=task_id),
        files,
        sent_back=sent_back_note(session, task),
        closing_warnings=closing_warnings(task.progress_percent, len(files)),
    )


def task_detail(session: Session, *, actor: User, task_id: int) -> TaskDetailPublic:
    """The task with what its page and the API show: source, light, progress, evidence, what `actor` may do."""
    task = _load(session, actor, task_id)
    item = session.get(Item, task.item_id)
    progress = list_progress(session, actor=actor, task_id=task_id)
    files = list_evidence(session, actor=actor, task_id=task_id)
    township = session.get(Township, task.township_id)
    return TaskDetailPublic.model_validate(
        task,
        update={
            "township": township.name,
            "county": session.get(County, township.county_id).name,
            "report_year": session.get(Report, task.report_id).report_year,
            "light": light_of(task, today()),
            "latest_note": progress[-1].note if progress else None,
            "evidence_count": len(files),
            "source_start": item.start,
            "source_end": item.end,
            "actions": sorted(available_actions(actor, task)),
            "progress": [ProgressPublic.model_validate(p) for p in progress],
            "evidence": [EvidencePublic.model_validate(e) for e in files],
        },
    )


def list_progress(session: Session, *, actor: User, task_id: int) -> list[Progress]:
    _load(session, actor, task_id)
    return list(
        session.execute(
            select(Progress).where(Progress.task_id == task_id).order_by(Progress.at, Progress.id)
        ).scalars()
    )


def list_evidence(session: Session, *, actor: User, task_id: int) -> list[Evidence]:
    _load(session, actor, task_id)
    return list(
        session.execute(
            select(Evidence).where(Evidence.task_id == task_id).order_by(Evidence.uploaded_at, Evidence.id)
        ).scalars()
    )
