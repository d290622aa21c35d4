"""Two edits of one task based on the same version, sent at the same moment over real HTTP:
exactly one wins, the other gets 409 with a Chinese message, and the journal has one entry.
Runs on SQLite and PostgreSQL (the `engine` fixture): the race is decided in the database."""

from __future__ import annotations

import threading

import httpx
import pytest
from sqlalchemy import select

from tests.web_helpers import ADMIN, STAFF, csrf_from, live_server, login, seed
from tracker import users
from tracker.db import session_scope
from tracker.models import AuditEvent, Task
from tracker.web.app import create_app


@pytest.fixture
def server(engine, cli_env):
    seed(engine)
    with live_server(create_app(engine=engine)) as base_url:
        yield base_url


def _race(calls) -> list[httpx.Response]:
    """Run the calls in parallel threads released together."""
    barrier = threading.Barrier(len(calls))
    out: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        out[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return out


def _assign_events(engine, task_id: int) -> list[AuditEvent]:
    with session_scope(engine) as s:
        return list(
            s.execute(
                select(AuditEvent).where(
                    AuditEvent.entity == "task",
                    AuditEvent.entity_id == task_id,
                    AuditEvent.action.in_(("assign", "reassign")),
                )
            ).scalars()
        )


def test_two_stale_page_edits_one_wins_one_gets_409(server, engine):
    clients = [httpx.Client(base_url=server) for _ in range(2)]
    for client, name in zip(clients, (ADMIN, STAFF)):
        assert login(client, name).status_code == 303
    pages = [c.get("/tasks/1").text for c in clients]  # both see version 1
    assert all('name="version" value="1"' in p for p in pages)
    forms = [
        {
            "csrf_token": csrf_from(p),
            "version": "1",
            "owner_unit": unit,
            "owner_person": person,
            "deadline": "2030-06-30",
            "category": "限期整改",
        }
        for p, unit, person in zip(pages, ("司法所", "综治办"), ("张三", "李四"))
    ]
    responses = _race([lambda c=c, f=f: c.post("/tasks/1/assign", data=f) for c, f in zip(clients, forms)])

    assert sorted(r.status_code for r in responses) == [303, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert "该任务已被他人修改" in loser.text and "重新加载" in loser.text and 'href="' in loser.text
    winner = responses.index(next(r for r in responses if r.status_code == 303))
    with session_scope(engine) as s:
        task = s.get(Task, 1)
        assert (task.owner_unit, task.version) == (forms[winner]["owner_unit"], 2)
    assert len(_assign_events(engine, 1)) == 1


def test_two_stale_api_edits_one_wins_one_gets_409(server, engine):
    with session_scope(engine) as s:
        tokens = [users.issue_token(s, name=n) for n in (ADMIN, STAFF)]
    clients = [httpx.Client(base_url=server, headers={"Authorization": f"Bearer {t}"}) for t in tokens]
    before = clients[0].get("/api/v1/tasks/2").json()
    bodies = [
        {
            "task_ids": [2, 3],
            "versions": {"2": before["version"], "3": 1},
            "owner_unit": unit,
            "owner_person": "王五",
            "deadline": "2030-06-30",
            "category": "立行立改",
        }
        for unit in ("司法所", "综治办")
    ]
    responses = _race([lambda c=c, b=b: c.post("/api/v1/tasks/assign", json=b) for c, b in zip(clients, bodies)])

    assert sorted(r.status_code for r in responses) == [200, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["detail"].startswith("该任务已被他人修改")
    journal = clients[0].get("/api/v1/tasks/2/journal").json()
    assert [e["action"] for e in journal].count("分派") == 1
    assert len(_assign_events(engine, 3)) == 1  # the bulk edit is all or nothing
