"""Warning lights (红黄绿灯), computed at read time from the task's columns, never stored.

red: an open task past its deadline; yellow: deadline within `yellow_days`, or no progress for
`stale_days` (counted from the last progress, else from assignment, else from creation);
green: otherwise. Closed and withdrawn tasks have no light. The words: `tracker.vocabulary.Light`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, literal

from tracker.config import TZ, get_settings
from tracker.models import Task
from tracker.vocabulary import OPEN_STATUSES, Light

RED, YELLOW, GREEN = Light.red, Light.yellow, Light.green  # labels: tracker.vocabulary.Light
# Dates a user may give (as-of dates, deadlines): the lights, reminders and year-end count days around
# them, which overflows Python's dates near year 1 and 9999. Beyond this range: a Chinese error.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2100, 12, 31)


def check_day(day: date, label: str = "日期") -> date:
    """`day` when it lies in FIRST_DAY..LAST_DAY, else ValidationFailed naming `label`."""
    if not FIRST_DAY <= day <= LAST_DAY:
        from tracker.errors import ValidationFailed

        raise ValidationFailed(
            f"{label} {day.isoformat()} 超出范围，应在 {FIRST_DAY.isoformat()} 到 {LAST_DAY.isoformat()} 之间"
        )
    return day


def day_start_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, TZ).astimezone(UTC)


def light_of(task: Task, as_of: date, *, yellow_days: int | None = None, stale_days: int | None = None) -> str | None:
    s = get_settings()
    yellow_days = s.yellow_days if yellow_days is None else yellow_days
    stale_days = s.stale_days if stale_days is None else stale_days
    if task.status not in OPEN_STATUSES:
        return None
    if task.deadline < as_of:
        return RED
    activity = task.last_progress_at or task.assigned_at or task.created_at
    if task.deadline <= as_of + timedelta(days=yellow_days) or activity < day_start_utc(
        as_of - timedelta(days=stale_days)
    ):
        return YELLOW
    return GREEN


def light_sql(as_of: date, *, yellow_days: int | None = None, stale_days: int | None = None):
    """The same rule as `light_of`, as one SQL CASE over the task table (for filters and counts)."""
    s = get_settings()
    yellow_days = s.yellow_days if yellow_days is None else yellow_days
    stale_days = s.stale_days if stale_days is None else stale_days
    activity = func.coalesce(Task.last_progress_at, Task.assigned_at, Task.created_at)
    return case(
        (Task.status.not_in(OPEN_STATUSES), literal(None)),
        (Task.deadline < as_of, literal(RED.value)),
        (
            (Task.deadline <= as_of + timedelta(days=yellow_days))
            | (activity < day_start_utc(as_of - timedelta(days=stale_days))),
            literal(YELLOW.value),
        ),
        else_=literal(GREEN.value),
    )


def today() -> date:
    return datetime.now(TZ).date()
