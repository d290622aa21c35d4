"""Year-end pages: a township sees, downloads and regenerates its own section; the county sees any
township's, downloads all of them as one .zip, and reads the county summary.

Everything is generated on request from the ledger as of the chosen date, so a download is always
current ("regenerate" is asking again, optionally with another date, and with `review_notes=1` to
let internal review wording such as 退回 reasons into the text). Who may read what is decided
in tracker/yearend/access.py; the templates and nav link are installed by `setup_pages()`, which
the app factory calls.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from tracker.audit import record_export
from tracker.errors import NotFound, ValidationFailed
from tracker.lights import check_day, today
from tracker.models import Role, User
from tracker.reports import report_years
from tracker.web.deps import CurrentUser, SessionDep
from tracker.web.forms import optional_int
from tracker.web.templating import add_nav_link, add_template_folder, render
from tracker.yearend import county as county_summary
from tracker.yearend.access import county_scope, require_county_reader, section_township, section_townships
from tracker.yearend.run import (
    COUNTY_FORMATS,
    county_name,
    county_summary_of,
    one_section,
    section_bytes,
    section_name,
    zip_all,
)
from tracker.yearend.section import FORMATS, blocks
from tracker.yearend.section import render as render_section

router = APIRouter(include_in_schema=False)
MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "md": "text/markdown; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "zip": "application/zip",
}


def setup_pages() -> None:
    """Called by the app factory: our page templates (they extend the app's base.html) and the nav link."""
    add_template_folder(Path(__file__).parent / "templates")
    add_nav_link("/yearend", "年终材料", roles=tuple(Role))


def _params(request: Request, session: Session, user: User) -> tuple[int, date]:
    p = request.query_params
    year = optional_int(p.get("year"), "报告年度")
    if year is None:
        years = report_years(session, actor=user)
        if not years:
            raise NotFound("还没有导入任何报告")
        year = years[0]
    raw = (p.get("as_of") or "").strip()
    try:
        as_of = date.fromisoformat(raw) if raw else today()
    except ValueError:
        raise ValidationFailed(f"统计截止日期应为日期（如 2024-12-20），收到“{raw}”") from None
    return year, check_day(as_of, "统计截止日期")


def _download(data: bytes, name: str, fmt: str) -> Response:
    return Response(
        data,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}", "Cache-Control": "no-store"},
    )


def _review_notes(request: Request) -> bool:
    """The 重新生成 form's 写入审核意见 checkbox: off unless asked for."""
    return request.query_params.get("review_notes", "") in ("1", "on", "true")


def _section(request: Request, session: Session, user: User):
    year, as_of = _params(request, session, user)
    name = section_township(session, actor=user, year=year, asked=request.query_params.get("township"))
    county_id = county_scope(session, actor=user, asked=request.query_params.get("county"))
    return (
        one_section(
            session.get_bind(),
            year=year,
            as_of=as_of,
            township=name,
            review_notes=_review_notes(request),
            county_id=county_id,
        ),
        year,
        as_of,
    )


@router.get("/yearend")
def section_page(request: Request, session: SessionDep, user: CurrentUser):
    section, year, as_of = _section(request, session, user)
    townships = section_townships(session, actor=user, year=year)
    return render(
        request,
        "yearend/page_section.html",
        user=user,
        section=section,
        blocks=blocks(render_section(section, "txt")),
        year=year,
        as_of=as_of,
        formats=FORMATS,
        years=report_years(session, actor=user),
        townships=townships,
    )


@router.get("/yearend/section.{fmt}")
def section_download(request: Request, session: SessionDep, user: CurrentUser, fmt: str):
    if fmt not in FORMATS:
        raise NotFound(f"不支持的格式：{fmt}")
    section, year, as_of = _section(request, session, user)
    name = section_name(section.township, year, fmt)
    record_export(session, actor=user, entity="yearend", what=name, township=section.township, as_of=as_of)
    return _download(section_bytes(section, fmt), name, fmt)


@router.get("/yearend/all.zip")
def all_download(request: Request, session: SessionDep, user: CurrentUser):
    require_county_reader(user)
    year, as_of = _params(request, session, user)
    name = f"{year}年度问题整改情况-全部乡镇-截至{as_of.isoformat()}.zip"
    data = zip_all(
        session.get_bind(),
        year=year,
        as_of=as_of,
        review_notes=_review_notes(request),
        county_id=county_scope(session, actor=user, asked=request.query_params.get("county")),
    )
    record_export(session, actor=user, entity="yearend", what=name)
    return _download(data, name, "zip")


def _county(request: Request, session: Session, user: User):
    require_county_reader(user)
    year, as_of = _params(request, session, user)
    county_id = county_scope(session, actor=user, asked=request.query_params.get("county"))
    return county_summary_of(session.get_bind(), year=year, as_of=as_of, county_id=county_id), year, as_of


@router.get("/yearend/county")
def county_page(request: Request, session: SessionDep, user: CurrentUser):
    summary, year, as_of = _county(request, session, user)
    return render(
        request,
        "yearend/page_county.html",
        user=user,
        year=year,
        as_of=as_of,
        years=report_years(session, actor=user),
        formats=COUNTY_FORMATS,
        **county_summary.page_context(summary),
    )


@router.get("/yearend/county.{fmt}")
def county_download(request: Request, session: SessionDep, user: CurrentUser, fmt: str):
    if fmt not in COUNTY_FORMATS:
        raise NotFound(f"不支持的格式：{fmt}")
    summary, year, as_of = _county(request, session, user)
    writer = {
        "docx": county_summary.docx,
        "xlsx": county_summary.xlsx,
        "html": lambda s: county_summary.html(s).encode("utf-8"),
    }[fmt]
    record_export(session, actor=user, entity="yearend", what=county_name(year, fmt), as_of=as_of)
    return _download(writer(summary), county_name(year, fmt), fmt)
