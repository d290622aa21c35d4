"""A task's life on SQLite and PostgreSQL: rules, permissions, optimistic locking, the journal."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from tracker import lifecycle
from tracker.db import session_scope
from tracker.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from tracker.models import AuditEvent, Evidence, Item, Progress, Report, Status, Task, Township, User

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
DEADLINE = date(2024, 6, 30)


def add_tasks(
    session: Session,
    *,
    township: str = "西里镇",
    county: str = "测试县",
    n: int = 2,
    kind: str = "shortcoming",
    year: int = 2023,
) -> list[int]:
    """A township (created if new) with one report of `n` tasks in 待分派; returns the task ids."""
    t = session.execute(select(Township).where(Township.name == township)).scalars().first()
    if t is None:
        t = Township(name=township, county=county)
        session.add(t)
        session.flush()
    r = Report(
        township_id=t.id,
        report_year=year,
        plan_year=year + 1,
        source_name=f"{township}-{year}.txt",
        sha256=f"{township}{year}".encode().hex()[:64],
        text="正文",
        imported_by="test",
    )
    session.add(r)
    session.flush()
    ids = []
    for i in range(n):
        item = Item(
            report_id=r.id,
            kind=kind,
            seq=i + 1,
            title=f"{township}问题{i + 1}",
            text=f"{township}问题{i + 1}。",
            start=i * 10,
            end=i * 10 + 9,
        )
        session.add(item)
        session.flush()
        task = Task(
            township_id=t.id,
            report_id=r.id,
            item_id=item.id,
            kind=kind,
            title=item.title,
            description=item.text,
            deadline=date(year + 1, 12, 31),
        )
        session.add(task)
        session.flush()
        ids.append(task.id)
    return ids


def add_user(session: Session, name: str, role: str, township: str | None = None) -> User:
    """A user row without hashing a password (argon2 is slow and not what these tests are about)."""
    tid = session.execute(select(Township.id).where(Township.name == township)).scalar() if township else None
    user = User(name=name, role=role, township_id=tid, password_hash="-")
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def world(engine, cli_env):
    """Two townships with two tasks each, a county clerk and one user per township."""
    with session_scope(engine) as s:
        xili = add_tasks(s, township="西里镇")
        dong = add_tasks(s, township="东湖镇")
        county = add_user(s, "county", "county_staff")
        xu = add_user(s, "xili", "township", "西里镇")
        du = add_user(s, "donghu", "township", "东湖镇")
    return {"xili": xili, "dong": dong, "county": county, "xili_user": xu, "dong_user": du}


def _assign(s, w, ids, category="限期整改"):
    return lifecycle.assign(
        s,
        actor=w["county"],
        task_ids=ids,
        owner_unit="司法所",
        owner_person="张三",
        deadline=DEADLINE,
        category=category,
    )


def test_full_story_assign_progress_reject_resubmit_verify(engine, world):
    tid = world["xili"][0]
    with session_scope(engine) as s:
        [task] = _assign(s, world, [tid])
        assert (task.status, task.owner_unit, task.owner_person, task.deadline, task.category, task.version) == (
            "整改中",
            "司法所",
            "张三",
            DEADLINE,
            "限期整改",
            2,
        )
        assert task.assigned_at is not None
    with session_scope(engine) as s:
        task = lifecycle.post_progress(
            s,
            actor=world["xili_user"],
            task_id=tid,
            version=2,
            note="已召开专题会议",
            percent=60,
            files=[("会议纪要.pdf", PDF)],
        )
        assert (task.status, task.progress_percent, task.version) == ("整改中", 60, 3)
        assert task.last_progress_at is not None
    with session_scope(engine) as s:
        task = lifecycle.submit(s, actor=world["xili_user"], task_id=tid, version=3)
        assert task.status == Status.pending_review and task.submitted_at is not None
    with session_scope(engine) as s:
        with pytest.raises(ValidationFailed, match="退回原因"):
            lifecycle.verify(s, actor=world["county"], task_id=tid, version=4, reject_reason="  ")
    with session_scope(engine) as s:
        task = lifecycle.verify(s, actor=world["county"], task_id=tid, version=4, reject_reason="佐证材料不全")
        assert task.status == Status.in_progress and task.submitted_at is None
    with session_scope(engine) as s:
        task = lifecycle.post_progress(
            s, actor=world["xili_user"], task_id=tid, version=5, note="补充制度文件", percent=100, submit=True
        )
        assert task.status == Status.pending_review
    with session_scope(engine) as s:
        task = lifecycle.verify(s, actor=world["county"], task_id=tid, version=6)
        assert task.status == Status.closed and task.closed_at is not None and task.version == 7
        progress = lifecycle.list_progress(s, actor=world["xili_user"], task_id=tid)
        assert [p.note for p in progress] == ["已召开专题会议", "补充制度文件"]
        [ev] = lifecycle.list_evidence(s, actor=world["county"], task_id=tid)
        assert (ev.filename, ev.progress_id, ev.uploaded_by) == ("会议纪要.pdf", progress[0].id, "xili")
        entries = lifecycle.journal(s, actor=world["xili_user"], task_id=tid)
    assert [e["action"] for e in entries] == ["分派", "填报进展", "提交审核", "退回", "提交审核", "销号"]
    assert [e["actor"] for e in entries] == ["county", "xili", "xili", "county", "xili", "county"]
    assert ("状态", "待分派", "整改中") in entries[0]["changes"]
    assert ("整改时限", "2024年12月31日", "2024年6月30日") in entries[0]["changes"]
    assert ("完成进度", "", "60%") in entries[1]["changes"]
    assert ("佐证材料", "", "会议纪要.pdf") in entries[1]["changes"]
    assert entries[3]["reason"] == "佐证材料不全" and ("状态", "待审核", "整改中") in entries[3]["changes"]
    assert ("状态", "待审核", "已销号") in entries[5]["changes"]


def test_illegal_transitions_name_the_state(engine, world):
    tid = world["xili"][0]
    with session_scope(engine) as s:
        with pytest.raises(InvalidTransition, match="任务当前状态为“待分派”，不能提交审核"):
            lifecycle.submit(s, actor=world["xili_user"], task_id=tid, version=None)
        with pytest.raises(InvalidTransition, match="“待分派”，不能填报进展"):
            lifecycle.post_progress(s, actor=world["xili_user"], task_id=tid, version=None, note="x")
        with pytest.raises(InvalidTransition, match="“待分派”，不能审核销号"):
            lifecycle.verify(s, actor=world["county"], task_id=tid, version=None)
    with session_scope(engine) as s:
        _assign(s, world, [tid])
        lifecycle.submit(s, actor=world["xili_user"], task_id=tid, version=None)
        lifecycle.verify(s, actor=world["county"], task_id=tid, version=None)
    with session_scope(engine) as s:
        with pytest.raises(InvalidTransition, match="任务当前状态为“已销号”，不能提交审核"):
            lifecycle.submit(s, actor=world["xili_user"], task_id=tid, version=None)
        with pytest.raises(InvalidTransition, match="“已销号”，不能分派"):
            _assign(s, world, [tid])
        with pytest.raises(InvalidTransition, match="“已销号”，不能退回"):
            lifecycle.verify(s, actor=world["county"], task_id=tid, version=None, reject_reason="再看看")
    other = world["xili"][1]
    with session_scope(engine) as s:
        s.get(Task, other).status = Status.withdrawn.value
    with session_scope(engine) as s:
        with pytest.raises(InvalidTransition, match="“已撤销”，不能分派"):
            _assign(s, world, [other])
        assert s.get(Task, other).version == 1


def test_roles(engine, world):
    tid = world["xili"][0]
    with session_scope(engine) as s:
        with pytest.raises(Forbidden, match="无权执行此操作"):
            lifecycle.assign(
                s,
                actor=world["xili_user"],
                task_ids=[tid],
                owner_unit="u",
                owner_person="p",
                deadline=DEADLINE,
                category="限期整改",
            )
        _assign(s, world, [tid])
    with session_scope(engine) as s:
        with pytest.raises(Forbidden):
            lifecycle.post_progress(s, actor=world["county"], task_id=tid, version=None, note="代填")
        lifecycle.submit(s, actor=world["xili_user"], task_id=tid, version=None)
    with session_scope(engine) as s:
        with pytest.raises(Forbidden):
            lifecycle.verify(s, actor=world["xili_user"], task_id=tid, version=None)
        task = lifecycle.get_task(s, actor=world["xili_user"], task_id=tid)
        assert lifecycle.available_actions(world["xili_user"], task) == set()
        assert lifecycle.available_actions(world["county"], task) == {"verify", "reject"}
        assert lifecycle.available_actions(world["dong_user"], task) == set()


def test_assign_validates_and_is_all_or_nothing(engine, world):
    a, b = world["xili"]
    with session_scope(engine) as s:
        with pytest.raises(ValidationFailed, match="整改类别“马上办”无效"):
            _assign(s, world, [a], category="马上办")
        with pytest.raises(ValidationFailed, match="责任单位不能为空"):
            lifecycle.assign(
                s,
                actor=world["county"],
                task_ids=[a],
                owner_unit=" ",
                owner_person="p",
                deadline=DEADLINE,
                category="限期整改",
            )
    with session_scope(engine) as s:
        s.get(Task, b).status = Status.closed.value
    with pytest.raises(InvalidTransition):
        with session_scope(engine) as s:
            _assign(s, world, [a, b])
    with pytest.raises(NotFound):
        with session_scope(engine) as s:
            _assign(s, world, [a, 999999])
    with pytest.raises(Conflict):
        with session_scope(engine) as s:
            lifecycle.assign(
                s,
                actor=world["county"],
                task_ids=[a],
                owner_unit="u",
                owner_person="p",
                deadline=DEADLINE,
                category="限期整改",
                versions={a: 7},
            )
    with Session(engine) as s:
        assert s.get(Task, a).status == Status.unassigned and s.get(Task, a).version == 1
    with session_scope(engine) as s:  # re-assigning an 整改中 task only changes fields, journalled as such
        _assign(s, world, [a])
        task = lifecycle.assign(
            s,
            actor=world["county"],
            task_ids=[a],
            owner_unit="综治办",
            owner_person="张三",
            deadline=DEADLINE,
            category="限期整改",
            versions={a: 2},
        )[0]
        assert (task.status, task.owner_unit, task.version) == ("整改中", "综治办", 3)
        _assign(s, world, [a])
        assert task.version == 4 and task.owner_unit == "司法所"
        _assign(s, world, [a])  # nothing new: the task is untouched, nothing journalled
        assert task.version == 4
        entries = lifecycle.journal(s, actor=world["county"], task_id=a)
    assert [e["action"] for e in entries] == ["分派", "调整分派", "调整分派"]
    assert entries[1]["changes"] == [("责任单位", "司法所", "综治办")]


def test_long_term_task_stage_done_stays_open(engine, world):
    tid, plain = world["xili"]
    with session_scope(engine) as s:
        _assign(s, world, [tid], category="长期坚持")
        _assign(s, world, [plain])
    with session_scope(engine) as s:
        with pytest.raises(Forbidden):
            lifecycle.mark_stage_done(s, actor=world["xili_user"], task_id=tid, version=None, year=2024)
        with pytest.raises(InvalidTransition, match="只有“长期坚持”类任务"):
            lifecycle.mark_stage_done(s, actor=world["county"], task_id=plain, version=None, year=2024)
        task = lifecycle.mark_stage_done(s, actor=world["county"], task_id=tid, version=2, year=2024)
        assert (task.status, task.stage_done_year, task.closed_at) == ("整改中", 2024, None)
    with session_scope(engine) as s:
        with pytest.raises(InvalidTransition, match="已标记 2024 年度阶段性完成"):
            lifecycle.mark_stage_done(s, actor=world["county"], task_id=tid, version=None, year=2024)
        assert "stage_done" in lifecycle.available_actions(world["county"], s.get(Task, tid))
        assert lifecycle.journal(s, actor=world["county"], task_id=tid)[-1]["changes"] == [
            ("阶段性完成", "", "2024年度")
        ]
        # still open: the township keeps posting progress
        lifecycle.post_progress(s, actor=world["xili_user"], task_id=tid, version=None, note="持续推进")


def test_township_user_cannot_reach_another_townships_task(engine, world):
    theirs = world["dong"][0]
    with session_scope(engine) as s:
        _assign(s, world, [theirs])
    calls = [
        lambda s: lifecycle.get_task(s, actor=world["xili_user"], task_id=theirs),
        lambda s: lifecycle.post_progress(s, actor=world["xili_user"], task_id=theirs, version=None, note="x"),
        lambda s: lifecycle.submit(s, actor=world["xili_user"], task_id=theirs, version=None),
        lambda s: lifecycle.journal(s, actor=world["xili_user"], task_id=theirs),
        lambda s: lifecycle.list_progress(s, actor=world["xili_user"], task_id=theirs),
        lambda s: lifecycle.list_evidence(s, actor=world["xili_user"], task_id=theirs),
    ]
    for call in calls:
        with session_scope(engine) as s:
            with pytest.raises(NotFound, match=f"任务 {theirs} 不存在"):  # the same answer as a missing task
                call(s)
    with Session(engine) as s:
        assert s.get(Task, theirs).version == 2
        assert s.execute(select(func.count()).select_from(Progress)).scalar() == 0


def test_stale_version_is_refused(engine, world):
    tid = world["xili"][0]
    with session_scope(engine) as s:
        _assign(s, world, [tid])
    with session_scope(engine) as s:
        lifecycle.post_progress(s, actor=world["xili_user"], task_id=tid, version=2, note="第一次")
    with pytest.raises(Conflict, match="该任务已被他人修改（当前版本 3），请刷新后重试"):
        with session_scope(engine) as s:
            lifecycle.post_progress(s, actor=world["xili_user"], task_id=tid, version=2, note="基于旧版本")
    with Session(engine) as s:
        assert [p.note for p in s.execute(select(Progress)).scalars()] == ["第一次"]


def test_two_concurrent_stale_edits_exactly_one_wins(engine, world):
    """Both edits read version 2; the second reaches its UPDATE while the first is uncommitted."""
    tid = world["xili"][0]
    with session_scope(engine) as s:
        _assign(s, world, [tid])
    first_wrote, second_started = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first():
        try:
            with session_scope(engine) as s:
                lifecycle.post_progress(
                    s, actor=world["xili_user"], task_id=tid, version=2, note="甲", files=[("甲.pdf", PDF + b"a")]
                )
                first_wrote.set()
                second_started.wait(10)
                time.sleep(0.5)  # let the second edit block on the row
            outcome["first"] = "ok"
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion below
            outcome["first"] = exc
            first_wrote.set()

    def second():
        first_wrote.wait(10)
        second_started.set()
        try:
            with session_scope(engine) as s:
                lifecycle.post_progress(
                    s, actor=world["xili_user"], task_id=tid, version=2, note="乙", files=[("乙.pdf", PDF + b"b")]
                )
            outcome["second"] = "ok"
        except Exception as exc:  # noqa: BLE001
            outcome["second"] = exc

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcome["first"] == "ok"
    assert isinstance(outcome["second"], Conflict), outcome["second"]
    assert "当前版本 3" in outcome["second"].message
    with Session(engine) as s:
        assert s.get(Task, tid).version == 3
        assert [p.note for p in s.execute(select(Progress)).scalars()] == ["甲"]
        assert [e.filename for e in s.execute(select(Evidence)).scalars()] == ["甲.pdf"]
        events = (
            s.execute(
                select(AuditEvent.action).where(
                    AuditEvent.entity == "task", AuditEvent.entity_id == tid, AuditEvent.action == "progress"
                )
            )
            .scalars()
            .all()
        )
    assert events == ["progress"]
