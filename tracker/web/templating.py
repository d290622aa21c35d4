"""Jinja2 rendering for the pages: filters for dates, lights and labels; flash messages; CSRF token."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader
from markupsafe import Markup, escape

from tracker import sessions
from tracker.models import User
from tracker.textfmt import cn_date, cn_datetime
from tracker.vocabulary import COUNTY_ROLES, Category, Kind, Light, Role, Status
from tracker.web.deps import CSRF_FIELD, csrf_token

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
env = templates.env
env.filters["cn_date"] = cn_date
env.filters["cn_datetime"] = cn_datetime
env.filters["kind_label"] = Kind.label_of
env.filters["role_label"] = Role.label_of


def light_badge(light: str | None) -> Markup:
    if not light:
        return Markup('<span class="light light-none">—</span>')
    return Markup(f'<span class="light light-{escape(light)}">{escape(Light(light).label)}</span>')


env.filters["light_badge"] = light_badge
# Links other modules' pages add to the navigation bar: (path, label, roles that see it).
NAV_LINKS: list[tuple[str, str, tuple[str, ...]]] = []
env.globals["NAV_LINKS"] = NAV_LINKS


def add_nav_link(path: str, label: str, *, roles: tuple[str, ...]) -> None:
    """Show a link to `path` in every page's navigation bar, for users with one of `roles`.

    Called by the app factory (through each area's `setup_pages`), never at import."""
    if (path, label, tuple(roles)) not in NAV_LINKS:
        NAV_LINKS.append((path, label, tuple(roles)))


def add_template_folder(folder: Path) -> None:
    """Let the pages' environment find templates in `folder` too (they extend this package's base.html)."""
    loaders = list(getattr(env.loader, "loaders", [env.loader]))
    if not any(isinstance(lo, FileSystemLoader) and lo.searchpath == [str(folder)] for lo in loaders):
        env.loader = ChoiceLoader([*loaders, FileSystemLoader(folder)])


# The vocabulary (tracker/vocabulary.py): pages compare with and show members, never spelled-out words.
env.globals.update(Status=Status, Kind=Kind, Category=Category, Role=Role, Light=Light)


def flash(request: Request, message: str, level: str = "ok") -> None:
    """A message shown once on the next rendered page (after a redirect).

    Logged in, it is kept on the session's row on the server (tracker/sessions.py), in the request's
    transaction: never in the cookie, which matters for a new API token. Logged out (the login page
    after logout), in the signed cookie."""
    key, db = _server_side(request)
    if key is not None:
        sessions.add_flash(db, key, level, message)
    else:
        request.session["flash"] = request.session.get("flash", []) + [[level, message]]


def _server_side(request: Request):
    """The logged-in session's key and the request's database session, when both are still usable."""
    key = getattr(request.state, "session_key", None)
    db = getattr(request.state, "db", None)
    if key is None or db is None or not db.is_active:
        return None, None
    return key, db


def _pop_flashes(request: Request) -> list:
    flashes = request.session.pop("flash", [])
    key, db = _server_side(request)
    if key is not None:  # not on error pages rendered after the transaction ended: they wait for the next page
        flashes = flashes + sessions.pop_flashes(db, key)
    return flashes


def url_with(request: Request, **changes) -> str:
    """The current page's URL with some query parameters replaced (pagination keeps the filters)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, str(v)) for k, v in changes.items() if v not in (None, "")]
    return f"{request.url.path}?{urlencode(params)}" if params else request.url.path


def is_county(user: User | None) -> bool:
    """For choosing what a page shows; what a user may do is checked by the services."""
    return user is not None and user.role in COUNTY_ROLES


def render(request: Request, template: str, /, *, user: User | None = None, status_code: int = 200, **context):
    token = csrf_token(request)
    context.update(
        user=user,
        is_county=is_county(user),
        is_city=user is not None and user.role == Role.city,
        csrf_token=token,
        csrf_input=Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">'),
        flashes=_pop_flashes(request),
        url_with=lambda **kw: url_with(request, **kw),
    )
    return templates.TemplateResponse(request, template, context, status_code=status_code)
