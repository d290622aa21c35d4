"""Who may read which year-end material: a township user its own section only, county users any
township's section, all of them at once and the county summary."""

from __future__ import annotations

from sqlmodel import Session

from tracker.counties import acting_county_id
from tracker.errors import Forbidden, NotFound
from tracker.models import Role, User
from tracker.reports import township_names
from tracker.users import is_county


def require_county_reader(actor: User) -> None:
    if not is_county(actor) and actor.role != Role.city:
        raise Forbidden("仅县级和市级用户可以查看全县汇总")


def county_scope(session: Session, *, actor: User, asked: str | None) -> int | None:
    """The county whose year-end material `actor` reads: their own (naming another is 404); the city's
    choice, None meaning every county (tracker.counties)."""
    return acting_county_id(session, actor, (asked or "").strip() or None)


def section_township(session: Session, *, actor: User, year: int, asked: str | None) -> str:
    """The township whose section `actor` reads: a township user's own (asking for another is 404);
    for the county the one asked for, else the first with a report of `year`."""
    asked = (asked or "").strip()
    if not is_county(actor) and actor.role != Role.city:
        own = township_names(session, actor=actor)[0]
        if asked and asked != own:
            raise NotFound(f"乡镇“{asked}”不存在")
        return own
    if asked:
        return asked
    with_report = township_names(session, actor=actor, year=year)
    if not with_report:
        raise NotFound(f"没有找到{year}年度报告，请先导入")
    return with_report[0]


def section_townships(session: Session, *, actor: User, year: int) -> list[str]:
    """The townships a county user may switch between (a township user: none)."""
    return township_names(session, actor=actor, year=year) if is_county(actor) or actor.role == Role.city else []
