"""The dashboard: per township counts by status and light, completion rate, overdue list."""
from __future__ import annotations

from fastapi import APIRouter, Request

from tracker.dashboard import counties, dashboard
from tracker.lights import today
from tracker.models import Role, Status
from tracker.web.deps import CurrentUser, SessionDep
from tracker.web.templating import render

router = APIRouter(include_in_schema=False)
SELECT_LIMIT = 50  # more counties than this: a text box instead of a drop-down list
TABLE_LIMIT = 200  # township rows shown; beyond that the page asks to pick a county


@router.get("/dashboard")
def dashboard_page(request: Request, session: SessionDep, user: CurrentUser, county: str | None = None):
    data = dashboard(session, actor=user, as_of=today(), county=county or None)
    choices = counties(session) if user.role != Role.township else []
    return render(request, "dashboard.html", user=user, d=data, county=county or "",
                  counties=choices if len(choices) <= SELECT_LIMIT else None, many_counties=len(choices) > 1,
                  rows=data["townships"][:TABLE_LIMIT], statuses=[s.value for s in Status])
