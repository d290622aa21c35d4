"""Problems that recur across a township's reports, and what a report's 问题整改情况 claims against
the ledger — on a fictional township 云岭镇 whose reports are written here."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from tests.test_yearend_section import _user, at, ingest_text
from tracker import lifecycle
from tracker.db import session_scope
from tracker.extraction import extract_text
from tracker.ingest import ingest_extraction
from tracker.insights import task_insights
from tracker.models import Kind, Recurrence, Report, Task
from tracker.recurrence import claim_of, match, recurrence_label
from tracker.yearend.data import cross_year, load

HEAD = """中共云岭镇委员会 云岭镇人民政府
关于{year}年度法治政府建设工作情况的报告
青岚县委、县人民政府：
一、{year}年度推进法治政府建设的主要举措和成效
（一）加强组织领导。全年召开专题会议3次。
"""
TAIL = """特此报告。
中共云岭镇委员会 云岭镇人民政府
{next}年1月8日
"""
R2023 = (
    HEAD.format(year=2023)
    + """二、存在的不足和原因
（一）村级法律顾问服务覆盖不全。部分行政村法律顾问每月到村服务不足一次，群众对法律顾问的知晓率低。
（二）行政执法案卷归档不及时。部分执法案卷未在结案后及时立卷归档，文书要素不全。
（三）普法宣传形式单一。普法活动以发放资料、悬挂横幅为主，群众参与度不高。
三、2024年推进法治政府建设的主要计划安排
（一）推动法律顾问服务全覆盖。为每个行政村落实法律顾问联系人。
（二）规范执法案卷管理。开展执法案卷评查。
"""
    + TAIL.format(next=2024)
)
R2024 = (
    HEAD.format(year=2024)
    + """二、存在的不足、原因和问题整改情况
（一）法律顾问到村服务不够经常。部分村法律顾问服务频次偏低，群众对法律顾问知晓率仍然不高。
（二）执法案卷管理仍不够规范。个别执法案卷归档滞后，文书要素不齐全。
（三）重大行政决策公众参与不足。部分重大决策事项未公开征求意见，决策听证制度落实不到位。
问题整改情况：
一是针对村级法律顾问服务覆盖不全的问题，为每个行政村落实了法律顾问联系人，该问题已完成整改。
二是针对行政执法案卷归档不及时的问题，开展执法案卷评查2次，目前正在整改。
三是针对普法宣传形式单一的问题，开展以案释法活动12场，已整改到位。
三、2025年工作计划
（一）提高法律顾问到村服务频次。每村每月服务不少于2次。
"""
    + TAIL.format(next=2025)
)
R2025 = (
    HEAD.format(year=2025)
    + """二、存在的问题
（一）村级法律顾问作用发挥仍不充分。法律顾问到村服务频次虽有提高，但群众知晓率仍然偏低。
（二）安全生产执法力量不足。执法人员少，专业设备缺乏。
三、2026年工作计划
（一）深化法律顾问进村服务。
"""
    + TAIL.format(next=2026)
)


def _shortcomings(engine, year: int) -> list[Task]:
    with session_scope(engine) as s:
        return list(
            s.execute(
                select(Task)
                .join(Report, Report.id == Task.report_id)
                .where(Report.report_year == year, Task.kind == Kind.shortcoming.value)
                .order_by(Task.id)
            ).scalars()
        )


def _pairs(engine) -> set[tuple[str, str, int]]:
    with session_scope(engine) as s:
        later, earlier = Task.__table__.alias("l"), Task.__table__.alias("e")
        return {
            tuple(r)
            for r in s.execute(
                select(later.c.title, earlier.c.title, Recurrence.years)
                .select_from(Recurrence)
                .join(later, later.c.id == Recurrence.task_id)
                .join(earlier, earlier.c.id == Recurrence.earlier_task_id)
            )
        }


def test_two_recurring_problems_are_flagged_on_both_tasks_and_the_new_one_is_not(engine, cli_env):
    ingest_text(engine, R2023, "云岭镇-2023.txt")
    ingest_text(engine, R2024, "云岭镇-2024.txt")
    assert _pairs(engine) == {
        ("法律顾问到村服务不够经常", "村级法律顾问服务覆盖不全", 2),
        ("执法案卷管理仍不够规范", "行政执法案卷归档不及时", 2),
    }
    with session_scope(engine) as s:
        labels = {
            t.title: task_insights(s, task_id=t.id).recurrence
            for t in _shortcomings(engine, 2023) + _shortcomings(engine, 2024)
        }
    assert labels == {
        "村级法律顾问服务覆盖不全": "连续两年查摆",
        "行政执法案卷归档不及时": "连续两年查摆",
        "普法宣传形式单一": "",
        "法律顾问到村服务不够经常": "连续两年查摆",
        "执法案卷管理仍不够规范": "连续两年查摆",
        "重大行政决策公众参与不足": "",
    }
    [ty] = load(engine, year=2024, as_of=_shortcomings(engine, 2024)[0].deadline)
    assert [t.recurrence_years for t in ty.shortcomings] == [2, 2, 0]


def test_import_order_does_not_matter_and_a_third_year_makes_it_three(engine, cli_env):
    ingest_text(engine, R2025, "云岭镇-2025.txt")
    ingest_text(engine, R2024, "云岭镇-2024.txt")
    ingest_text(engine, R2023, "云岭镇-2023.txt")
    assert _pairs(engine) == {
        ("法律顾问到村服务不够经常", "村级法律顾问服务覆盖不全", 2),
        ("执法案卷管理仍不够规范", "行政执法案卷归档不及时", 2),
        ("村级法律顾问作用发挥仍不充分", "法律顾问到村服务不够经常", 3),
    }
    with session_scope(engine) as s:
        t2025 = _shortcomings(engine, 2025)[0]
        info = task_insights(s, task_id=t2025.id)
        assert info.recurrence == "连续三年查摆"
        assert [(r.title, r.report_year) for r in info.earlier] == [("法律顾问到村服务不够经常", 2024)]
        t2024 = _shortcomings(engine, 2024)[0]
        assert task_insights(s, task_id=t2024.id).recurrence == "连续三年查摆"


def test_report_claiming_done_is_flagged_until_the_ledger_closes_the_task(engine, cli_env):
    ingest_text(engine, R2023, "云岭镇-2023.txt")
    ingest_text(engine, R2024, "云岭镇-2024.txt")
    _, claims = cross_year(engine, year=2023)
    # 一是 and 三是 say done, neither is closed in the ledger; 二是 says it is still in work
    assert sorted(c.task_title for c in claims) == ["普法宣传形式单一", "村级法律顾问服务覆盖不全"]
    task = next(t for t in _shortcomings(engine, 2023) if t.title == "普法宣传形式单一")
    with session_scope(engine) as s:
        county = _user(s, "县司法局", "county_admin")
        town = _user(s, "云岭镇联络员", "township", "云岭镇")
    with at(3, 1, 2024), session_scope(engine) as s:
        lifecycle.assign(
            s,
            actor=county,
            task_ids=[task.id],
            owner_unit="司法所",
            owner_person="吴刚",
            deadline=task.deadline,
            category="限期整改",
        )
    with at(6, 1, 2024), session_scope(engine) as s:
        lifecycle.post_progress(s, actor=town, task_id=task.id, version=None, note="开展以案释法活动12场", submit=True)
    with at(6, 9, 2024), session_scope(engine) as s:
        lifecycle.verify(s, actor=county, task_id=task.id, version=None)
    _, claims = cross_year(engine, year=2023)
    assert [c.task_title for c in claims] == ["村级法律顾问服务覆盖不全"]
    with session_scope(engine) as s:
        [claim] = task_insights(s, task_id=task.id).claims
        assert (claim.report_year, claim.claim, claim.mismatch) == (2024, "已完成", False)


def test_reimport_replacing_a_report_recomputes_without_duplicates(engine, cli_env):
    ingest_text(engine, R2023, "云岭镇-2023.txt")
    ingest_text(engine, R2024, "云岭镇-2024.txt")
    changed = R2024.replace("（三）重大行政决策公众参与不足。", "（三）重大行政决策公众参与仍然不足。")
    result = ingest_extraction(
        engine=engine,
        extraction=extract_text(changed, source_name="云岭镇-2024-修订.txt"),
        sha256=hashlib.sha256(changed.encode()).hexdigest(),
        actor="测试",
        replace=True,
    )
    assert result.outcome == "replaced"
    assert len(_pairs(engine)) == 2
    assert len(cross_year(engine, year=2023)[1]) == 2


def test_claim_wording():
    assert claim_of("该问题已完成整改。") == "done"
    assert claim_of("已整改到位。") == "done"
    assert claim_of("但覆盖面仍需扩大，目前正在整改，计划2025年9月底前完成。") == "in_progress"
    assert claim_of("此项工作需长期坚持。") == "ongoing"
    assert claim_of("开展了专项检查。") == "unclear"
    assert recurrence_label(2) == "连续两年查摆" and recurrence_label(4) == "连续四年查摆" and recurrence_label(1) == ""


def test_match_is_one_to_one_and_leaves_unrelated_problems_alone():
    old = [("政务公开的深度和广度不够", ""), ("社区法律顾问作用发挥不平衡", ""), ("法治化营商环境建设还有提升空间", "")]
    new = [("政务公开内容更新不够及时", ""), ("网格员法治素养参差不齐", ""), ("政务公开的深度仍然不够", "")]
    assert [(i, j) for i, j, _ in match(new[:1], old)] == [(0, 0)]
    # with a closer candidate present, the old problem goes to that one only
    assert [(i, j) for i, j, _ in match(new, old)] == [(2, 0)]
