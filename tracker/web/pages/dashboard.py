"""The dashboard: per township counts by status and light, completion rate, overdue list; for the city,
the counties side by side, each a link to its own dashboard."""

from __future__ import annotations

from fastapi import APIRouter, Request

from tracker.dashboard import city_dashboard, completion_by_year, counties, dashboard
from tracker.lights import today
from tracker.models import Role, Status
from tracker.reports import report_years
from tracker.web.deps import CurrentUser, SessionDep
from tracker.web.forms import optional_int
from tracker.web.templating import render

router = APIRouter(include_in_schema=False)
SELECT_LIMIT = 50  # more counties than this: a text box instead of a drop-down list
TABLE_LIMIT = 200  # township rows shown; beyond that the page asks to pick a county


@router.get("/dashboard")
def dashboard_page(
    request: Request, session: SessionDep, user: CurrentUser, county: str | None = None, year: str | None = None
):
    """`year`: a report year, "all" for every year; by default the latest report year, except on the
    city's comparison of counties, which counts every year unless one is chosen."""
    years = report_years(session, actor=user)
    if user.role == Role.city and not county:
        chosen = None if year in (None, "", "all") else optional_int(year, "年度")
        data = city_dashboard(session, actor=user, as_of=today(), year=chosen)
        return render(request, "dashboard_city.html", user=user, d=data, years=years)
    chosen = None if year == "all" else optional_int(year, "年度") or (years[0] if years else None)
    data = dashboard(session, actor=user, as_of=today(), county=county or None, year=chosen)
    choices = counties(session, actor=user)
    return render(
        request,
        "dashboard.html",
        user=user,
        d=data,
        county=county or "",
        counties=choices if len(choices) <= SELECT_LIMIT else None,
        many_counties=len(choices) > 1,
        rows=data["townships"][:TABLE_LIMIT],
        statuses=[s.value for s in Status],
        years=years,
        by_year=completion_by_year(session, actor=user, county=county or None),
    )
