"""Every route of the app's route table on PostgreSQL, fed hostile values (NUL, CR/LF, U+2028, very
long strings, negative and huge numbers, far dates) in its path parameters, its query string and its
form or JSON fields, as an anonymous visitor, a county admin and a township user: nothing answers 5xx.

The routes and their parameters come from the route table itself (FastAPI's dependants), so a new
route is fuzzed without being listed; pages that read their filters from the query string get the
common filter names too.
"""

from __future__ import annotations

import time
from urllib.parse import quote

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.pg_web import fresh_pg_database
from tests.web_helpers import ADMIN, OWN, PASSWORD, seed, start_task, web_env
from tracker import users
from tracker.db import session_scope
from tracker.models import Evidence, Task, User
from tracker.web.app import create_app

pytestmark = pytest.mark.pg

VALUES = [
    "a\x00b",
    "\r\nSet-Cookie: x=1",
    "x\u2028y\u2029",
    "长" * 5000,
    "-1",
    "-9223372036854775809",
    "99999999999999999999999",
    "0001-01-01",
    "9999-12-31",
    "../../..",
]
PATH_VALUES = ["a\x00b", "长" * 2000, "-1", "99999999999999999999999", "0001-01-01", ".."]
# filters pages read from request.query_params themselves (not declared as parameters)
PAGE_QUERY = (
    "township",
    "year",
    "kind",
    "status",
    "light",
    "owner",
    "q",
    "theme",
    "page",
    "county",
    "as_of",
    "review_notes",
    "next",
    "format",
)


@pytest.fixture(scope="module")
def world(request, tmp_path_factory):
    request.getfixturevalue("pg_url")  # skips, or fails under RECTIFY_REQUIRE_PG=1, without a server
    with fresh_pg_database("rectify_fuzz") as url, web_env(tmp_path_factory.mktemp("fuzz"), url) as engine:
        seed(engine)
        with session_scope(engine) as s:
            admin = users.get_user(s, name=ADMIN)
            task_id = (
                s.execute(
                    select(Task.id)
                    .join(User, User.township_id == Task.township_id)
                    .where(User.name == OWN)
                    .order_by(Task.id)
                )
                .scalars()
                .first()
            )
            start_task(s, assigner=admin, poster=users.get_user(s, name=OWN), task_id=task_id, note="进展")
            spare = users.create_user(s, name="备用用户", role="county_staff", password=PASSWORD)
            ids = {
                "task_id": task_id,
                "report_id": s.get(Task, task_id).report_id,
                "evidence_id": s.execute(select(Evidence.id)).scalars().first(),
                "user_id": spare.id,
                "channel_id": 1,
                "outbox_id": 1,
                "token": "A" * 24,
            }
        yield create_app(engine=engine), engine, ids


def _routes(app):
    """(method, path, path params, query names, form names, JSON field names) of every route."""
    for ctx in iter_route_contexts(app.routes):
        dependant = getattr(ctx.original_route, "dependant", None)
        if dependant is None:  # /static and /openapi.json
            continue
        form, json_fields = [], []
        for p in dependant.body_params:
            fields = getattr(p.field_info.annotation, "model_fields", None)
            if fields:
                json_fields += list(fields)
            else:
                form.append((p.name, type(p.field_info).__name__ == "File"))
        query = [p.name for p in dependant.query_params]
        if not ctx.path.startswith("/api/"):
            query += [q for q in PAGE_QUERY if q not in query]
        for method in sorted(ctx.methods - {"HEAD"}):
            yield method, ctx.path, [p.name for p in dependant.path_params], query, form, json_fields


def _fill(path: str, params: list[str], ids: dict, value: str | None) -> str:
    for name in params:
        real = {"fmt": "txt" if "section" in path else "xlsx"}.get(name, ids.get(name, 1))
        path = path.replace(f"{{{name}}}", quote(value if value is not None else str(real), safe=""))
    return path


def _tokens(engine) -> dict[str, str]:
    """Fresh tokens of active users: a fuzzed request may disable a user or replace its token."""
    with session_scope(engine) as s:
        out = {}
        for role, name in (("admin", ADMIN), ("township", OWN)):
            user = s.execute(select(User).where(User.name == name)).scalar_one()
            user.active = True
            s.flush()
            out[role] = users.issue_token(s, name=name)
        return out


def test_no_route_answers_5xx_to_hostile_input(world):
    app, engine, ids = world
    client = TestClient(app, raise_server_exceptions=False)
    routes = list(_routes(app))
    assert len(routes) > 40
    failures, sent, started = [], 0, time.monotonic()
    for method, path, path_params, query, form, json_fields in routes:
        if path == "/logout":
            continue
        tokens = _tokens(engine)
        for role in ("anonymous", "admin", "township"):
            headers = {} if role == "anonymous" else {"Authorization": f"Bearer {tokens[role]}"}
            cases = [(v, None) for v in (PATH_VALUES if path_params else ())]
            cases += [(None, v) for v in (VALUES if role != "anonymous" else VALUES[:4])]
            for in_path, value in cases:
                url = _fill(path, path_params, ids, in_path)
                kwargs: dict = {"headers": headers}
                if value is not None:
                    kwargs["params"] = {q: value[:300] for q in query}  # long, within the client's URL limit
                    if json_fields:
                        kwargs["json"] = {f: value for f in json_fields}
                    elif form:
                        kwargs["data"] = {name: value for name, is_file in form if not is_file}
                        files = [
                            (
                                name,
                                (
                                    f"{value[:100]}.pdf",
                                    value.encode("utf-8", "surrogatepass")[:1000],
                                    "application/pdf",
                                ),
                            )
                            for name, is_file in form
                            if is_file
                        ]
                        if files:
                            kwargs["files"] = files
                try:
                    r = client.request(method, url, follow_redirects=False, **kwargs)
                except httpx.RemoteProtocolError:  # a redirect to a URL too long for the client: not a 5xx
                    sent += 1
                    continue
                except (UnicodeError, ValueError, httpx.InvalidURL) as exc:  # the HTTP client cannot send it
                    if "\x00" in (value or "") or "\r" in (value or ""):
                        continue
                    raise AssertionError(f"{method} {url}: {exc}") from exc
                sent += 1
                if r.status_code >= 500:
                    failures.append(
                        f"{role} {method} {path} path={in_path!r:.40} value={value!r:.40} → "
                        f"{r.status_code} {r.text[:200]}"
                    )
    print(f"\nfuzz: {sent} requests over {len(routes)} routes in {time.monotonic() - started:.1f} s")
    assert sent > 1000
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:30])
