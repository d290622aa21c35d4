"""Message text: Jinja2 templates in Chinese, overridable by same-named files in the data dir.

A template renders the subject on its first line and the body below, as plain text (email,
webhook) or, with `markdown` true, as markdown (group robots). Titles, owners and township names
go in as one line each (a line break in a title would otherwise end the subject early).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

from notifications.channels import Message
from notifications.models import MessageKind, Outbox
from notifications.targets import one_line
from tracker.config import TZ, NotifySettings
from tracker.lights import light_of
from tracker.models import AuditEvent, Task, Township
from tracker.textfmt import cn_date
from tracker.vocabulary import Light, Status

PACKAGE_TEMPLATES = Path(__file__).parent / "templates"


@lru_cache
def _environment(override_dir: str) -> Environment:
    # templates_dir/messages/due_soon.j2 wins over the packaged messages/due_soon.j2
    loader = ChoiceLoader([FileSystemLoader(override_dir), FileSystemLoader(PACKAGE_TEMPLATES)])
    env = Environment(loader=loader, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.filters["cn_date"] = lambda v: cn_date(date.fromisoformat(v) if isinstance(v, str) else v)
    env.globals.update(Status=Status, Light=Light)  # the words for states and lights (tracker.vocabulary)
    return env


def render(kind: str, context: dict, *, markdown: bool, templates_dir: Path) -> tuple[str, str]:
    """(subject, body) of one message; a markdown body starts with the subject as its heading."""
    template = _environment(str(templates_dir)).get_template(f"messages/{kind}.j2")
    subject, _, body = template.render(context, markdown=markdown).strip().partition("\n")
    subject, body = subject.strip(), body.strip()
    return subject, f"### {subject}\n\n{body}" if markdown else body


@dataclass
class Row:
    """An outbox row with what its message speaks of (loaded in one query per batch)."""

    outbox: Outbox
    township: Township | None
    task: Task | None
    event: AuditEvent | None


def week_label(as_of: date) -> str:
    year, week, weekday = as_of.isocalendar()
    monday = as_of - timedelta(days=weekday - 1)
    sunday = monday + timedelta(days=6)
    return f"{year}年第{week}周，{monday.month}月{monday.day}日至{sunday.month}月{sunday.day}日"


def task_url(settings: NotifySettings, task_id: int) -> str:
    return f"{settings.base_url}/tasks/{task_id}"


def _task_context(task: Task, as_of: date, settings: NotifySettings) -> dict:
    activity = task.last_progress_at or task.assigned_at or task.created_at
    light = light_of(task, as_of)
    return {
        "title": one_line(task.title),
        "task_id": task.id,
        "url": task_url(settings, task.id),
        "owner": one_line(" ".join(x for x in (task.owner_unit, task.owner_person) if x)),
        "deadline": cn_date(task.deadline),
        "light": Light.label_of(light, "无"),
        "light_code": light,
        "days_left": (task.deadline - as_of).days,
        "days_overdue": (as_of - task.deadline).days,
        "since": cn_date(activity),
        "days_idle": (as_of - activity.astimezone(TZ).date()).days,
    }


LISTED_KINDS = (MessageKind.due_soon.value, MessageKind.overdue.value, MessageKind.stale.value)


def build_list(rows: list[Row], *, settings: NotifySettings, templates_dir: Path) -> Message:
    """Task reminders of one kind for one township as one group-robot message (markdown): a numbered list
    with each task's deadline or idle days, owner and link."""
    first = rows[0].outbox
    context = {
        "kind": first.kind,
        "township": one_line(rows[0].township.name) if rows[0].township else "全县",
        "url": f"{settings.base_url}/tasks",
        "tasks": [_task_context(r.task, r.outbox.as_of, settings) for r in rows],
    }
    subject, body = render("list", context, markdown=True, templates_dir=templates_dir)
    data = {"kind": first.kind, "township": context["township"], "tasks": [r.task.id for r in rows]}
    return Message(key=first.dedupe_key, subject=subject, body=body, data=data)


def build(row: Row, *, markdown: bool, settings: NotifySettings, templates_dir: Path) -> Message:
    ob = row.outbox
    context = {
        "kind": ob.kind,
        "kind_label": MessageKind.label_of(ob.kind),
        "township": one_line(row.township.name) if row.township else "全县",
        "as_of": cn_date(ob.as_of),
        "escalate_days": settings.escalate_days,
        "base_url": settings.base_url,
        "url": f"{settings.base_url}/tasks",
        "reason": row.event.reason if row.event else None,
        "actor": row.event.actor if row.event else None,
        "payload": ob.payload or {},
        "week_label": week_label(ob.as_of),
    }
    data = {
        "kind": ob.kind,
        "kind_label": context["kind_label"],
        "township": context["township"],
        "as_of": ob.as_of.isoformat(),
    }
    if row.task is not None:
        context |= _task_context(row.task, ob.as_of, settings)
        data["task"] = {
            "id": row.task.id,
            "title": row.task.title,
            "deadline": row.task.deadline.isoformat(),
            "status": row.task.status,
            "light": context["light_code"],
            "url": context["url"],
        }
    if ob.payload:
        data["payload"] = ob.payload
    subject, body = render(ob.kind, context, markdown=markdown, templates_dir=templates_dir)
    return Message(key=ob.dedupe_key, subject=subject, body=body, data=data)
