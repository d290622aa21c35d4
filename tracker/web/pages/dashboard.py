"""The dashboard: per township counts by status and light, completion rate, overdue list."""
from __future__ import annotations

from fastapi import APIRouter, Request

from tracker.dashboard import counties, dashboard
from tracker.lights import today
from tracker.models import Role, Status
from tracker.web.deps import CurrentUser, SessionDep
from tracker.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/dashboard")
def dashboard_page(request: Request, session: SessionDep, user: CurrentUser, county: str | None = None):
    data = dashboard(session, actor=user, as_of=today(), county=county or None)
    choices = counties(session) if user.role != Role.township else []
    return render(request, "dashboard.html", user=user, d=data, counties=choices, county=county or "",
                  statuses=[s.value for s in Status])
