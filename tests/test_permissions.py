"""The permission matrix, generated from the app's route table.

Every route (pages and API) × every role (county admin, county staff, a township user, the city) × a
target object of the user's own township, of another township of the county, and of a township of
another county (乙县). County users never reach another county's objects (404, like another township's);
the city reads every county and changes nothing but county admins' accounts. Township users never read or change another
township's data (403 or 404 and the database untouched, never 200 or a redirect to success);
county staff cannot manage users. RULES maps each route to its rule: a route without one fails.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import func, select
from starlette.routing import Mount

from notifications import recipients
from notifications.models import Outbox
from notifications.outbox import enqueue_rows
from tests.web_helpers import (
    ADMIN,
    MINIMAL_PDF,
    OTHER,
    OWN,
    PASSWORD,
    REPORTS,
    REPORTS_DIR,
    STAFF,
    csrf_from,
    login,
    seed,
    start_task,
    web_env,
)
from tracker import counties, uploads, users
from tracker.db import session_scope
from tracker.ingest import ingest_file
from tracker.models import AuditEvent, Evidence, Progress, Report, Task, Township, User
from tracker.web.app import create_app

PUBLIC, ANY, COUNTY, ADMIN_ONLY, TOWNSHIP = "public", "any", "county", "admin", "township"
WHO = {
    PUBLIC: {"county_admin", "county_staff", "township"},
    ANY: {"county_admin", "county_staff", "township"},
    COUNTY: {"county_admin", "county_staff"},
    ADMIN_ONLY: {"county_admin"},
    TOWNSHIP: {"township"},
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Target:
    """One township's objects that the routes' path parameters and bodies refer to."""

    engine: object
    township: str
    task_id: int
    report_id: int
    evidence_id: int
    user_id: int
    titles: list[str] = field(default_factory=list)
    channel_ids: tuple[int, ...] = (0, 0, 0)  # one removed through the page, one through the API, one tested
    outbox_id: int = 0

    def version(self) -> int:
        with session_scope(self.engine) as s:
            return s.get(Task, self.task_id).version

    def token(self) -> str:
        return uploads.stage(filename="xili-2023.txt", data=REPORTS[0].read_bytes(), uploaded_by=ADMIN).token


def _pdf(t):
    return [("files", ("证明.pdf", MINIMAL_PDF, "application/pdf"))]


def _sheet(t: Target) -> bytes:
    wb = Workbook()
    wb.active.append(["任务编号", "版本", "类型", "责任单位", "责任人", "整改时限"])
    wb.active.append([t.task_id, t.version(), "限期整改", "司法所", "王五", "2031-03-31"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _assignment(t: Target) -> dict:
    return {"owner_unit": "司法所", "owner_person": "王五", "deadline": "2031-03-31", "category": "限期整改"}


def _channel(t: Target) -> dict:
    return {"township": t.township, "kind": "webhook", "target": f"http://127.0.0.1:9/{uuid.uuid4().hex}"}


def _review_form(token: str) -> dict:
    items = uploads.load(token).extraction.items
    return {"kind": [it.kind for it in items], "title": [it.title for it in items], "action": "apply"}


@dataclass(frozen=True)
class Rule:
    who: str
    scoped: bool = False  # the path or body names one township's object
    request: Callable[[Target], dict] = lambda t: {}


RULES: dict[tuple[str, str], Rule] = {
    # framework and static
    ("GET", "/openapi.json"): Rule(PUBLIC),
    ("GET", "/static"): Rule(PUBLIC),
    # pages
    ("GET", "/"): Rule(ANY),
    ("GET", "/login"): Rule(PUBLIC),
    ("POST", "/login"): Rule(PUBLIC),
    ("POST", "/logout"): Rule(ANY),
    ("GET", "/dashboard"): Rule(ANY),
    ("GET", "/tasks"): Rule(ANY),
    ("GET", "/tasks/export.xlsx"): Rule(ANY),
    ("GET", "/tasks/import"): Rule(COUNTY),
    ("POST", "/tasks/import"): Rule(COUNTY, True, lambda t: {"files": {"file": ("台账.xlsx", _sheet(t), XLSX)}}),
    ("POST", "/tasks/assign"): Rule(
        COUNTY, True, lambda t: {"data": _assignment(t) | {"task": f"{t.task_id}:{t.version()}"}}
    ),
    ("POST", "/tasks/verify"): Rule(
        COUNTY,
        True,
        lambda t: {
            "data": {  # bulk 销号: others' rows reported
                "verify_task": f"{t.task_id}:{t.version()}"
            }
        },
    ),
    ("GET", "/tasks/{task_id}"): Rule(ANY, True),
    ("POST", "/tasks/{task_id}/assign"): Rule(
        COUNTY, True, lambda t: {"data": _assignment(t) | {"version": t.version()}}
    ),
    ("POST", "/tasks/{task_id}/progress"): Rule(
        TOWNSHIP, True, lambda t: {"data": {"version": t.version(), "note": "已召开专题会议"}, "files": _pdf(t)}
    ),
    ("POST", "/tasks/{task_id}/submit"): Rule(TOWNSHIP, True, lambda t: {"data": {"version": t.version()}}),
    ("POST", "/tasks/{task_id}/verify"): Rule(
        COUNTY,
        True,
        lambda t: {"data": {"version": t.version(), "decision": "reject", "reject_reason": "佐证材料不全"}},
    ),
    ("POST", "/tasks/{task_id}/stage-done"): Rule(
        COUNTY, True, lambda t: {"data": {"version": t.version(), "year": 2024}}
    ),
    ("GET", "/evidence/{evidence_id}"): Rule(ANY, True),
    ("GET", "/reports"): Rule(ANY),
    ("POST", "/reports/upload"): Rule(
        COUNTY, False, lambda t: {"files": [("files", ("xili-2023.txt", REPORTS[0].read_bytes(), "text/plain"))]}
    ),
    ("GET", "/reports/review/{token}"): Rule(COUNTY),
    ("POST", "/reports/review/{token}"): Rule(COUNTY),  # body built from the staged upload
    ("POST", "/reports/review/{token}/discard"): Rule(COUNTY),
    ("GET", "/reports/{report_id}"): Rule(ANY, True),
    ("GET", "/users"): Rule(ADMIN_ONLY),
    ("POST", "/users"): Rule(
        ADMIN_ONLY,
        False,
        lambda t: {"data": {"name": f"新用户{uuid.uuid4().hex[:6]}", "role": "county_staff", "password": PASSWORD}},
    ),
    ("POST", "/users/{user_id}/active"): Rule(ADMIN_ONLY, True, lambda t: {"data": {"active": "true"}}),
    ("POST", "/users/{user_id}/password"): Rule(ADMIN_ONLY, True, lambda t: {"data": {"password": "new-pass-456"}}),
    ("POST", "/users/{user_id}/token"): Rule(ADMIN_ONLY, True),
    ("POST", "/users/{user_id}/role"): Rule(
        ADMIN_ONLY, True, lambda t: {"data": {"role": "township", "township": t.township}}
    ),  # the spare user's own role: no change
    # one's own password (a refused weak one here: the matrix must keep logging in with PASSWORD)
    ("GET", "/account/password"): Rule(ANY),
    ("POST", "/account/password"): Rule(
        ANY,
        False,
        lambda t: {"data": {"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"}},
    ),
    # the audit journal: county admins only; everyone else gets 404
    ("GET", "/audit"): Rule(ADMIN_ONLY),
    ("GET", "/audit/export.{fmt}"): Rule(ADMIN_ONLY),
    # API
    ("GET", "/api/v1/tasks"): Rule(ANY),
    ("GET", "/api/v1/tasks/{task_id}"): Rule(ANY, True),
    ("POST", "/api/v1/tasks/assign"): Rule(
        COUNTY,
        True,
        lambda t: {"json": _assignment(t) | {"task_ids": [t.task_id], "versions": {str(t.task_id): t.version()}}},
    ),
    ("POST", "/api/v1/tasks/{task_id}/progress"): Rule(
        TOWNSHIP, True, lambda t: {"data": {"version": t.version(), "note": "已整改"}, "files": _pdf(t)}
    ),
    ("POST", "/api/v1/tasks/{task_id}/submit"): Rule(TOWNSHIP, True, lambda t: {"json": {"version": t.version()}}),
    ("POST", "/api/v1/tasks/{task_id}/verify"): Rule(
        COUNTY, True, lambda t: {"json": {"version": t.version(), "reject_reason": "佐证材料不全"}}
    ),
    ("GET", "/api/v1/tasks/{task_id}/journal"): Rule(ANY, True),
    ("GET", "/api/v1/evidence/{evidence_id}"): Rule(ANY, True),
    ("GET", "/api/v1/reports"): Rule(ANY),
    ("POST", "/api/v1/reports"): Rule(
        COUNTY, False, lambda t: {"files": [("files", ("xili-2023.txt", REPORTS[0].read_bytes(), "text/plain"))]}
    ),
    ("GET", "/api/v1/users"): Rule(ADMIN_ONLY),
    ("POST", "/api/v1/users"): Rule(
        ADMIN_ONLY,
        False,
        lambda t: {"json": {"name": f"新用户{uuid.uuid4().hex[:6]}", "role": "county_staff", "password": PASSWORD}},
    ),
    ("PATCH", "/api/v1/users/{user_id}"): Rule(ADMIN_ONLY, True, lambda t: {"json": {"active": True}}),
    ("POST", "/api/v1/account/password"): Rule(
        ANY, False, lambda t: {"json": {"current_password": PASSWORD, "new_password": "short"}}
    ),
    # year end: a township sees only its own section; the county summary is for county users
    ("GET", "/yearend"): Rule(ANY, True),
    ("GET", "/yearend/section.{fmt}"): Rule(ANY, True),
    ("GET", "/yearend/all.zip"): Rule(COUNTY),
    ("GET", "/yearend/county"): Rule(COUNTY),
    ("GET", "/yearend/county.{fmt}"): Rule(COUNTY),
    # reminders: recipients are managed by the county admin; county users read the outbox
    ("GET", "/notifications/channels"): Rule(ADMIN_ONLY),
    ("POST", "/notifications/channels"): Rule(ADMIN_ONLY, True, lambda t: {"data": _channel(t)}),
    ("POST", "/notifications/channels/{channel_id}/remove"): Rule(ADMIN_ONLY, True),
    ("POST", "/notifications/channels/{channel_id}/test"): Rule(ADMIN_ONLY, True),
    ("POST", "/notifications/check"): Rule(ADMIN_ONLY),
    ("GET", "/notifications/outbox"): Rule(COUNTY),
    ("POST", "/notifications/outbox/{outbox_id}/retry"): Rule(ADMIN_ONLY, True),
    ("GET", "/api/v1/channels"): Rule(ADMIN_ONLY),
    ("POST", "/api/v1/channels"): Rule(ADMIN_ONLY, True, lambda t: {"json": _channel(t)}),
    ("DELETE", "/api/v1/channels/{channel_id}"): Rule(ADMIN_ONLY, True),
    ("GET", "/api/v1/outbox"): Rule(COUNTY),
    ("POST", "/api/v1/outbox/{outbox_id}/retry"): Rule(ADMIN_ONLY, True),
}
# The city (市级) reads: every route open to any user, the county views (GETs) but the two that start
# county work, and the user list (it manages county admins; the targets' spare users are township users).
CITY_READS = {("GET", "/users"), ("GET", "/api/v1/users"), ("GET", "/audit"), ("GET", "/audit/export.{fmt}")}
# Routes whose body names a task: another county's answers as a row error (200), never applied.
ROW_ERRORS = {("POST", "/tasks/import"), ("POST", "/tasks/verify")}
CITY_REFUSED = {("GET", "/tasks/import"), ("GET", "/reports/review/{token}")}
FOREIGN, FOREIGN_COUNTY, CITY = "西大沟镇", "乙县", "市级用户"  # a township of another county (xidagou-2024)
TOWNSHIP_PARAM = {
    ("GET", "/tasks"),
    ("GET", "/api/v1/tasks"),
    ("GET", "/dashboard"),
    ("GET", "/tasks/export.xlsx"),
    ("GET", "/yearend"),
    ("GET", "/yearend/section.{fmt}"),
}


def route_keys(app) -> set[tuple[str, str]]:
    """(method, path) of every route, included routers flattened; a mount counts as GET."""
    keys = set()
    for ctx in iter_route_contexts(app.routes):
        if isinstance(ctx.original_route, Mount):
            keys.add(("GET", ctx.path))
        else:
            keys |= {(m, ctx.path) for m in ctx.methods - {"HEAD"}}
    return keys


def _first_task(s, report_id: int) -> int:
    return s.execute(select(Task.id).where(Task.report_id == report_id).order_by(Task.id)).scalars().first()


def _target(s, engine, township, task_id, report_id, user_id, *, actor, county=None) -> Target:
    """The township's Target: three webhook channels and a failed outbox row for its started task."""
    channels = tuple(
        recipients.add_channel(
            s,
            township=township,
            kind="webhook",
            actor=actor,
            county=county,
            target=f"http://127.0.0.1:9/{township}/{n}",
        ).id
        for n in range(3)
    )
    s.flush()
    row = dict(
        dedupe_key=f"perm:{township}",
        channel_id=channels[0],
        kind="overdue",
        township_id=s.get(Task, task_id).township_id,
        task_id=task_id,
        as_of=date(2024, 6, 1),
        status="failed",
        attempts=5,
        next_attempt_at=datetime.now(UTC),
        created_at=datetime.now(UTC),
    )
    enqueue_rows(s.connection(), [row])
    return Target(
        engine,
        township,
        task_id,
        report_id,
        s.execute(select(Evidence.id).where(Evidence.task_id == task_id)).scalar_one(),
        user_id,
        list(s.execute(select(Task.title).where(Task.report_id == report_id)).scalars()),
        channels,
        s.execute(select(Outbox.id).where(Outbox.task_id == task_id)).scalar_one(),
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Two townships, each with a task in progress that has evidence, and a spare user to manage."""
    with web_env(tmp_path_factory.mktemp("perm")) as engine:
        seeded = seed(engine)
        targets = {}
        with session_scope(engine) as s:
            admin = users.get_user(s, name=ADMIN)
            for township, result in seeded.items():
                task_id = _first_task(s, result.report_id)
                start_task(s, assigner=admin, poster=users.get_user(s, name=township), task_id=task_id)
                spare = users.create_user(
                    s, name=f"{township}备用", role="township", password=PASSWORD, township=township
                )
                targets[township] = _target(s, engine, township, task_id, result.report_id, spare.id, actor=ADMIN)
            # another county: 乙县 with 西大沟镇, its own county admin, township user, channels and outbox row
            counties.add_county(s, name=FOREIGN_COUNTY)
        foreign = ingest_file(engine=engine, path=REPORTS_DIR / "xidagou-2024.txt", actor="测试", county=FOREIGN_COUNTY)
        assert foreign.ok and foreign.township == FOREIGN, foreign.message
        with session_scope(engine) as s:
            users.create_user(s, name=CITY, role="city", password=PASSWORD)
            boss = users.create_user(
                s, name="乙县管理员", role="county_admin", password=PASSWORD, county=FOREIGN_COUNTY
            )
            clerk = users.create_user(
                s, name=FOREIGN, role="township", password=PASSWORD, county=FOREIGN_COUNTY, township=FOREIGN
            )
            spare = users.create_user(
                s, name=f"{FOREIGN}备用", role="township", password=PASSWORD, county=FOREIGN_COUNTY, township=FOREIGN
            )
            task_id = _first_task(s, foreign.report_id)
            start_task(s, assigner=boss, poster=clerk, task_id=task_id, owner_person="李四")
            targets[FOREIGN] = _target(
                s, engine, FOREIGN, task_id, foreign.report_id, spare.id, actor="测试", county=FOREIGN_COUNTY
            )
        yield create_app(engine=engine), engine, targets


def _fingerprint(engine) -> tuple:
    """Everything a request could change, in a few numbers."""
    with session_scope(engine) as s:
        count = lambda model: s.execute(select(func.count()).select_from(model)).scalar_one()  # noqa: E731
        return (
            count(AuditEvent),
            count(Progress),
            count(Evidence),
            count(Report),
            count(Township),
            s.execute(select(func.sum(Task.version))).scalar_one(),
            tuple(
                s.execute(
                    select(
                        User.name, User.active, User.password_hash, User.token_hash, User.role, User.township_id
                    ).order_by(User.id)
                ).all()
            ),
            len(uploads.list_pending()),
        )


def test_every_route_has_a_rule(world):
    app = world[0]
    keys = route_keys(app)
    missing = sorted(keys - RULES.keys())
    assert not missing, f"routes without a permission rule in RULES (add one): {missing}"
    stale = sorted(RULES.keys() - keys)
    assert not stale, f"rules for routes that no longer exist: {stale}"


def _path(path: str, target: Target) -> str:
    if path == "/static":
        return "/static/app.css"
    if "{token}" in path:
        path = path.replace("{token}", target.token())
    channel = target.channel_ids[2 if path.endswith("/test") else path.startswith("/api/")]
    return path.format(
        task_id=target.task_id,
        report_id=target.report_id,
        evidence_id=target.evidence_id,
        user_id=target.user_id,
        channel_id=channel,
        outbox_id=target.outbox_id,
        fmt="docx" if "yearend/section" in path else "xlsx",
    )


def _request_kwargs(key, rule: Rule, target: Target, url: str) -> dict:
    kwargs = rule.request(target)
    if key == ("POST", "/reports/review/{token}"):
        kwargs = {"data": _review_form(url.rsplit("/", 1)[1])}
    if key in TOWNSHIP_PARAM:
        kwargs = {"params": {"township": target.township, "year": 2024 if target.township == FOREIGN else 2023}}
    return kwargs


ROLES = (("county_admin", ADMIN), ("county_staff", STAFF), ("township", OWN), ("city", CITY))


def _expected(role: str, key, rule: Rule, target: Target) -> bool | None:
    """Allowed (True), refused (False), or either (None: a filter naming another county's township, which
    answers an empty list or 404 — never its data)."""
    if role == "city":
        return (
            rule.who in (PUBLIC, ANY)
            or key in CITY_READS
            or (key[0] == "GET" and rule.who == COUNTY and key not in CITY_REFUSED)
        )
    if role not in WHO[rule.who]:
        return False
    if target.township == FOREIGN and role != "township":
        if key in TOWNSHIP_PARAM or key in ROW_ERRORS:
            return None
        return not rule.scoped
    return not rule.scoped or role != "township" or target.township == OWN


def _hidden(role: str, target: Target) -> bool:
    """Whether `target`'s tasks must not show in what `role` is shown."""
    return (role == "township" and target.township != OWN) or (role != "city" and target.township == FOREIGN)


@pytest.mark.parametrize("role,name", ROLES, ids=[r for r, _ in ROLES])
def test_permission_matrix(world, role, name):
    app, engine, targets = world
    keys = route_keys(app)
    assert keys <= RULES.keys(), f"routes without a permission rule: {sorted(keys - RULES.keys())}"
    client = TestClient(app, raise_server_exceptions=False)
    login(client, name)
    csrf = csrf_from(client.get("/login").text)
    failures = []
    # logging in again or out changes the session: those go last
    order = sorted(keys, key=lambda k: (k[1] in ("/login", "/logout"), k[1] == "/logout", k))
    for key in order:
        method, path = key
        rule = RULES[key]
        for target in (targets[OWN], targets[OTHER], targets[FOREIGN]):
            url = _path(path, target)
            kwargs = _request_kwargs(key, rule, target, url)
            if key == ("POST", "/login"):
                kwargs = {"data": {"name": name, "password": PASSWORD, "csrf_token": csrf}}
            allowed = _expected(role, key, rule, target)
            before = None if allowed else _fingerprint(engine)
            version = target.version() if allowed is None else None
            r = client.request(method, url, headers={"X-CSRF-Token": csrf}, follow_redirects=False, **kwargs)
            where = f"{role} {method} {url} (target {target.township}) → {r.status_code}"
            if r.status_code >= 500:
                failures.append(f"{where}: server error")
            elif allowed is None and r.status_code in (403, 404):
                pass
            elif allowed is None and target.version() != version:
                failures.append(f"{where}: changed another county's task")
            elif allowed is not False:
                to_login = r.status_code in (302, 303, 307) and r.headers["location"].startswith("/login")
                if (r.status_code in (401, 403, 404) or to_login) and key != ("POST", "/logout"):
                    failures.append(f"{where}: should be allowed; {r.text[:200]}")
                if (
                    _hidden(role, target)
                    and r.status_code == 200
                    and r.headers.get("content-type", "").startswith(("text/html", "application/json"))
                ):
                    leaked = [t for t in target.titles if t in r.text]
                    if leaked:
                        failures.append(f"{where}: shows another township's or county's tasks {leaked[:2]}")
            else:
                if r.status_code not in (403, 404):
                    failures.append(f"{where}: should be refused with 403/404; {r.text[:200]}")
                if _fingerprint(engine) != before:
                    failures.append(f"{where}: a refused request changed the database or uploads")
            if key == ("POST", "/login"):
                csrf = csrf_from(client.get("/login").text)  # a new session at every login
    assert not failures, "\n".join(failures)
