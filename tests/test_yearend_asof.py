"""As of a date, everything: status, owner (责任单位/责任人), deadline and light are the values a task had
on that day, rebuilt from the journal, not today's.

The timeline (2024, 北湖街道's 2023 report): 社区矛盾纠纷 is assigned on 1 February to 综治中心 周华 by
30 April, progress posted on 1 March, reassigned on 10 May to 司法所 李明 with the deadline moved to
31 August, submitted on 20 August, sent back on 25 August, submitted again on 10 September and closed
on 20 September. 法律明白人 is never assigned; the plan is assigned on 1 February and left alone.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.test_yearend_section import BEIHU_2023, _user, at, ingest_text
from tracker import lifecycle
from tracker.db import session_scope
from tracker.ledger import list_tasks
from tracker.lights import GREEN, RED, YELLOW
from tracker.yearend.data import DONE, OPEN, REVIEW, UNASSIGNED, load
from tracker.yearend.run import county_summary_of, one_section
from tracker.yearend.section import render

DISPUTES, HELPERS, PLAN = "社区矛盾纠纷排查不够及时", "法律明白人培养覆盖不全", "健全矛盾纠纷排查预警机制"


@pytest.fixture
def timeline(engine, cli_env):
    with at(1, 15):
        ingest_text(engine, BEIHU_2023, "北湖街道-2023.txt")
    with session_scope(engine) as s:
        county = _user(s, "县司法局", "county_admin")
        bh = _user(s, "北湖街道联络员", "township", "北湖街道")
        ids = {r.title: r.id for r in list_tasks(s)}
    task = ids[DISPUTES]

    def step(when, fn, **kw):
        with at(*when), session_scope(engine) as s:
            fn(s, version=None, **kw)

    def assign(when, task_ids, unit, person, deadline):
        with at(*when), session_scope(engine) as s:
            lifecycle.assign(
                s,
                actor=county,
                task_ids=task_ids,
                owner_unit=unit,
                owner_person=person,
                deadline=deadline,
                category="限期整改",
            )

    assign((2, 1), [task, ids[PLAN]], "综治中心", "周华", date(2024, 4, 30))
    step((3, 1), lifecycle.post_progress, actor=bh, task_id=task, note="建立物业纠纷月度排查制度", percent=40)
    assign((5, 10), [task], "司法所", "李明", date(2024, 8, 31))
    step((8, 20), lifecycle.post_progress, actor=bh, task_id=task, note="在各小区设立纠纷信息员", submit=True)
    step((8, 25), lifecycle.verify, actor=county, task_id=task, reject_reason="信息员名单未附")
    step((9, 10), lifecycle.post_progress, actor=bh, task_id=task, note="补充信息员名单", submit=True)
    step((9, 20), lifecycle.verify, actor=county, task_id=task)
    return engine


def _facts(engine, as_of: date):
    [ty] = load(engine, year=2023, as_of=as_of)
    return {t.title: t for t in ty.shortcomings + ty.plans}


@pytest.mark.parametrize(
    "as_of,status,state,owner,deadline,light",
    [
        (date(2024, 1, 31), "待分派", UNASSIGNED, "", date(2024, 12, 31), GREEN),  # the import's default deadline
        (date(2024, 3, 5), "整改中", OPEN, "综治中心 周华", date(2024, 4, 30), GREEN),
        (date(2024, 4, 20), "整改中", OPEN, "综治中心 周华", date(2024, 4, 30), YELLOW),  # deadline near
        (date(2024, 5, 5), "整改中", OPEN, "综治中心 周华", date(2024, 4, 30), RED),  # overdue before the move
        (
            date(2024, 6, 1),
            "整改中",
            OPEN,
            "司法所 李明",
            date(2024, 8, 31),
            YELLOW,
        ),  # moved: not red; no news since 1 March
        (date(2024, 8, 22), "待审核", REVIEW, "司法所 李明", date(2024, 8, 31), YELLOW),
        (date(2024, 8, 28), "整改中", OPEN, "司法所 李明", date(2024, 8, 31), YELLOW),  # sent back
        (date(2024, 9, 30), "已销号", DONE, "司法所 李明", date(2024, 8, 31), None),
    ],
)
def test_status_owner_deadline_and_light_as_of_the_day(timeline, as_of, status, state, owner, deadline, light):
    t = _facts(timeline, as_of)[DISPUTES]
    assert (t.status, t.state, t.owner, t.deadline, t.light) == (status, state, owner, deadline, light)
    assert t.closed_on == (date(2024, 9, 20) if state == DONE else None)
    assert t.reject_reason == ("信息员名单未附" if as_of == date(2024, 8, 28) else None)
    helpers = _facts(timeline, as_of)[HELPERS]
    assert (helpers.state, helpers.owner) == (UNASSIGNED, "")


def _text(engine, as_of: date, **kw) -> str:
    return render(one_section(engine, year=2023, as_of=as_of, township="北湖街道", **kw), "txt")


def test_sections_before_between_and_after(timeline):
    before = _text(timeline, date(2024, 1, 31))
    assert "2项问题均尚未启动整改，完成率0%" in before and "正在整改" not in before
    assert "责任单位、责任人和整改时限尚待明确" in before
    assert "2024年计划的1项工作均尚未启动。" in before

    first = _text(timeline, date(2024, 5, 5))
    assert "其中1项已明确责任单位、责任人和整改时限" in first
    assert "正在整改1项，尚未启动1项，尚无问题完成整改销号，完成率0%" in first
    assert "建立物业纠纷月度排查制度。目前正在整改，进度40%，原定2024年4月底前完成，已超期。" in first
    assert "在各小区设立纠纷信息员" not in first

    moved = _text(timeline, date(2024, 6, 1))
    assert "目前正在整改，进度40%，计划2024年8月底前完成。" in moved and "超期" not in moved

    sent_back = _text(timeline, date(2024, 8, 28))
    assert "目前正在整改，进度40%，计划2024年8月底前完成。" in sent_back and "信息员名单未附" not in sent_back
    assert "审核未通过，原因：信息员名单未附" in _text(timeline, date(2024, 8, 28), review_notes=True)

    after = _text(timeline, date(2024, 9, 30))
    assert "已完成整改1项，尚未启动1项，完成率50%" in after
    assert "建立物业纠纷月度排查制度。在各小区设立纠纷信息员。补充信息员名单。已于2024年9月完成整改并销号。" in after
    [helpers] = [line for line in after.splitlines() if "法律明白人" in line]
    assert helpers.strip() == "二是针对法律明白人培养覆盖不全的问题，目前尚未启动整改，责任单位和整改时限待明确。"


def test_county_row_as_of_the_day(timeline):
    def row(as_of):
        [r] = county_summary_of(timeline, year=2023, as_of=as_of).rows
        return r.done, r.in_progress, r.unassigned, r.red

    assert row(date(2024, 1, 31)) == (0, 0, 2, 0)
    assert row(date(2024, 5, 5)) == (0, 1, 1, 2)  # the shortcoming and the plan, both due 30 April
    assert row(date(2024, 9, 30)) == (1, 0, 1, 1)  # the plan is still overdue
