"""The township section, word for word, for a small ledger built through the real services.

Two townships: 青石镇 (every state a task can be in: closed with evidence, in progress with a
percent, sent back with a reason and overdue, 长期坚持 with its stage done, never assigned — worded
尚未启动, not 正在整改) and 北湖街道 (all closed, one without notes). The expected texts are
tests/golden/*.txt|md, read and checked for fluency by hand; RECTIFY_UPDATE_GOLDEN=1 rewrites them
after a deliberate change. The 退回 reason stays out of them (internal review wording).
"""

from __future__ import annotations

import hashlib
import os
from datetime import date, datetime
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from tests.web_helpers import MINIMAL_PDF
from tracker import lifecycle
from tracker.config import TZ
from tracker.db import session_scope
from tracker.extraction import extract_text
from tracker.ingest import ingest_extraction
from tracker.ledger import list_tasks
from tracker.models import Township, User
from tracker.textfmt import cn_by, cn_number, measures, ordinal, percent, problem_phrase, unit_word
from tracker.yearend.data import DONE, OPEN, UNASSIGNED, TaskFacts, TownshipYear
from tracker.yearend.run import run_year_end, section_name
from tracker.yearend.section import REVIEW_WORDS, build
from tracker.yearend.section import render as render_section

GOLDEN = Path(__file__).parent / "golden"
AS_OF = date(2024, 12, 20)

QINGSHI_2023 = """中共青石镇委员会 青石镇人民政府
关于2023年度法治政府建设工作情况的报告
青岚县委、县人民政府：
现将青石镇2023年度法治政府建设工作情况报告如下：
一、2023年度推进法治政府建设的主要举措和成效
（一）加强组织领导。调整全面依法治镇工作领导小组，全年召开专题会议4次。
二、推进法治政府建设存在的不足和原因
（一）法律顾问作用发挥不充分。镇政府聘请的法律顾问主要参与合同审查，参与重大行政决策前期论证较少。
（二）行政执法规范化水平不高。执法文书制作、证据收集固定等方面还不够规范。
（三）普法宣传针对性不强。对青少年、外出务工人员等重点群体的分类普法不够。
（四）干部学法用法的自觉性有待增强。少数干部学法停留在会前学法，运用法治思维解决问题的能力还不强。
（五）政务公开不够及时。部分惠民资金发放信息公开滞后。
三、2024年推进法治政府建设的主要计划安排
（一）充分发挥法律顾问作用。重大行政决策事项一律听取法律顾问意见。
（二）提升行政执法规范化水平。开展执法案卷评查，规范执法文书。
（三）推进分众化精准普法。面向重点群体开展专题普法活动。
特此报告。
中共青石镇委员会 青石镇人民政府
2024年1月10日
"""

BEIHU_2023 = """中共北湖街道工作委员会 北湖街道办事处
关于2023年度法治政府建设情况的报告
青岚县委、县人民政府：
一、2023年度推进法治政府建设的主要举措和成效
（一）推进社区依法治理。全年排查化解矛盾纠纷120件。
二、存在的不足和原因
（一）社区矛盾纠纷排查不够及时。部分小区物业纠纷发现晚、处置慢。
（二）法律明白人培养覆盖不全。个别社区尚未配齐法律明白人。
三、2024年工作计划
（一）健全矛盾纠纷排查预警机制。每月开展一次集中排查。
中共北湖街道工作委员会 北湖街道办事处
2024年1月12日
"""


def at(month: int, day: int, year: int = 2024):
    """Freeze the clock at 10:00 Beijing time on that day (the services stamp utcnow())."""
    return time_machine.travel(datetime(year, month, day, 10, 0, tzinfo=TZ), tick=False)


def ingest_text(engine, text: str, name: str):
    result = ingest_extraction(
        engine=engine,
        extraction=extract_text(text, source_name=name),
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        actor="测试",
    )
    assert result.ok, result.message
    return result


def _user(session, name: str, role: str, township: str | None = None) -> User:
    tid = session.execute(select(Township.id).where(Township.name == township)).scalar() if township else None
    user = User(name=name, role=role, township_id=tid, password_hash="-")
    session.add(user)
    session.flush()
    return user


def build_ledger(engine) -> None:
    """Import both reports and take their tasks through the year with the real lifecycle services."""
    with at(1, 15):
        ingest_text(engine, QINGSHI_2023, "青石镇-2023.txt")
        ingest_text(engine, BEIHU_2023, "北湖街道-2023.txt")
    with session_scope(engine) as s:
        county = _user(s, "县司法局", "county_admin")
        qs = _user(s, "青石镇联络员", "township", "青石镇")
        bh = _user(s, "北湖街道联络员", "township", "北湖街道")
        ids = {(r.township, r.title): r.id for r in list_tasks(s)}
    q = lambda title: ids[("青石镇", title)]  # noqa: E731
    b = lambda title: ids[("北湖街道", title)]  # noqa: E731

    def step(when, fn, **kw):
        with at(*when), session_scope(engine) as s:
            fn(s, version=None, **kw)

    def assign(when, task_ids, deadline, category="限期整改", unit="司法所", person="王明"):
        with at(*when), session_scope(engine) as s:
            lifecycle.assign(
                s,
                actor=county,
                task_ids=task_ids,
                owner_unit=unit,
                owner_person=person,
                deadline=deadline,
                category=category,
            )

    assign((2, 1), [q("法律顾问作用发挥不充分")], date(2024, 9, 30))
    assign((2, 1), [q("行政执法规范化水平不高")], date(2025, 3, 31), unit="综合行政执法队", person="李强")
    assign((2, 1), [q("普法宣传针对性不强")], date(2024, 11, 30), unit="司法所", person="赵敏")
    assign(
        (2, 1),
        [q("干部学法用法的自觉性有待增强")],
        date(2024, 12, 31),
        category="长期坚持",
        unit="党政办",
        person="陈静",
    )
    assign((2, 1), [q("充分发挥法律顾问作用")], date(2024, 6, 30))
    assign((2, 1), [q("提升行政执法规范化水平")], date(2025, 6, 30), unit="综合行政执法队", person="李强")
    assign((2, 1), [q("推进分众化精准普法")], date(2024, 12, 31), category="长期坚持", unit="司法所", person="赵敏")
    assign(
        (2, 5),
        [b("社区矛盾纠纷排查不够及时"), b("法律明白人培养覆盖不全"), b("健全矛盾纠纷排查预警机制")],
        date(2024, 10, 31),
        unit="综治中心",
        person="周华",
    )

    # 法律顾问: two posts with three evidence files, submitted, closed in September.
    step(
        (5, 10),
        lifecycle.post_progress,
        actor=qs,
        task_id=q("法律顾问作用发挥不充分"),
        note="修订法律顾问工作制度，明确重大行政决策必须听取法律顾问意见。",
        files=[("制度.pdf", MINIMAL_PDF)],
    )
    step(
        (8, 20),
        lifecycle.post_progress,
        actor=qs,
        task_id=q("法律顾问作用发挥不充分"),
        note="建立法律顾问履职台账；全年法律顾问列席党委会议12次",
        submit=True,
        files=[("台账.pdf", MINIMAL_PDF + b"1"), ("会议纪要.pdf", MINIMAL_PDF + b"2")],
    )
    step((9, 15), lifecycle.verify, actor=county, task_id=q("法律顾问作用发挥不充分"))
    # 行政执法: in progress at 60%.
    step(
        (7, 1),
        lifecycle.post_progress,
        actor=qs,
        task_id=q("行政执法规范化水平不高"),
        note="组织执法人员参加业务轮训2次，开展执法案卷自查评查1次。",
        percent=60,
    )
    # 普法宣传: submitted, sent back with a reason, now past its deadline.
    step(
        (10, 1),
        lifecycle.post_progress,
        actor=qs,
        task_id=q("普法宣传针对性不强"),
        note="制定分众化普法清单，开展专题普法活动8场。",
        submit=True,
    )
    step(
        (10, 10),
        lifecycle.verify,
        actor=county,
        task_id=q("普法宣传针对性不强"),
        reject_reason="佐证材料未体现分众化普法活动开展情况。",
    )
    # 学法用法: 长期坚持, the 2024 stage marked done.
    step(
        (11, 30),
        lifecycle.post_progress,
        actor=qs,
        task_id=q("干部学法用法的自觉性有待增强"),
        note="坚持会前学法制度，全年会前学法24次。",
    )
    step((12, 5), lifecycle.mark_stage_done, actor=county, task_id=q("干部学法用法的自觉性有待增强"), year=2024)
    # Plans: one closed late (deadline 30 June, closed 10 July), one in progress, one ongoing.
    step(
        (6, 25),
        lifecycle.post_progress,
        actor=qs,
        task_id=q("充分发挥法律顾问作用"),
        note="重大行政决策事项全部听取法律顾问意见",
        submit=True,
    )
    step((7, 10), lifecycle.verify, actor=county, task_id=q("充分发挥法律顾问作用"))
    # 北湖街道: everything closed; one problem with notes, one submitted without any.
    step(
        (3, 1),
        lifecycle.post_progress,
        actor=bh,
        task_id=b("社区矛盾纠纷排查不够及时"),
        note="建立物业纠纷月度排查制度。\n在各小区设立纠纷信息员。",
        submit=True,
    )
    step((3, 10), lifecycle.verify, actor=county, task_id=b("社区矛盾纠纷排查不够及时"))
    step((4, 1), lifecycle.submit, actor=bh, task_id=b("法律明白人培养覆盖不全"))
    step((4, 8), lifecycle.verify, actor=county, task_id=b("法律明白人培养覆盖不全"))
    step(
        (4, 2),
        lifecycle.post_progress,
        actor=bh,
        task_id=b("健全矛盾纠纷排查预警机制"),
        note="每月开展一次矛盾纠纷集中排查",
        submit=True,
    )
    step((4, 9), lifecycle.verify, actor=county, task_id=b("健全矛盾纠纷排查预警机制"))


@pytest.fixture
def ledger(engine, cli_env):
    build_ledger(engine)
    return engine


def golden(name: str, text: str) -> str:
    path = GOLDEN / name
    if os.environ.get("RECTIFY_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("township,stem", [("青石镇", "qingshi"), ("北湖街道", "beihu")])
def test_section_matches_golden(ledger, tmp_path, township, stem):
    out = tmp_path / "out"
    run_year_end(engine=ledger, year=2023, as_of=AS_OF, out_dir=out, formats=("txt", "md"), county=False)
    for fmt in ("txt", "md"):
        text = (out / section_name(township, 2023, fmt)).read_text(encoding="utf-8")
        assert text == golden(f"yearend-{stem}.{fmt}", text)


def test_one_file_per_township_and_format_named_after_the_township(ledger, tmp_path):
    out = tmp_path / "out"
    result = run_year_end(engine=ledger, year=2023, as_of=AS_OF, out_dir=out, county=False)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(section_name(t, 2023, f) for t in ("青石镇", "北湖街道") for f in ("docx", "md", "txt"))
    assert all(n.startswith(("青石镇", "北湖街道")) for n in names)
    assert (result["townships"], result["shortcomings"], result["done"], result["ongoing"]) == (2, 7, 3, 1)
    assert result["rate"] == percent(3, 7) == 43


def test_as_of_date_counts_only_what_had_happened_by_then(ledger, tmp_path):
    """On 31 August the 法律顾问 problem was submitted, not yet closed, with one note of two files fewer."""
    out = tmp_path / "out"
    run_year_end(engine=ledger, year=2023, as_of=date(2024, 8, 31), out_dir=out, formats=("txt",), county=False)
    text = (out / section_name("青石镇", 2023, "txt")).read_text(encoding="utf-8")
    assert "截至2024年8月31日" in text
    assert "目前已完成整改，待审核销号，佐证材料3份。" in text
    assert "2024年9月完成整改并销号" not in text
    assert "2024年度阶段性任务已完成" not in text  # marked on 5 December
    assert "制定分众化普法清单" not in text  # posted on 1 October
    assert "普法宣传针对性不强的问题，尚未报送整改进展" in text


def test_unknown_township_or_year_is_a_clear_error(ledger, tmp_path):
    from tracker.errors import NotFound

    out = tmp_path / "out"
    with pytest.raises(NotFound, match="没有找到2022年度报告"):
        run_year_end(engine=ledger, year=2022, as_of=AS_OF, out_dir=out)
    with pytest.raises(NotFound, match="没有找到白云镇的2023年度报告"):
        run_year_end(engine=ledger, year=2023, as_of=AS_OF, out_dir=out, townships=["白云镇"])
    assert not out.exists()


def test_templates_are_overridden_from_the_data_dir(ledger, tmp_path):
    from tracker.config import get_settings

    override = get_settings().templates_dir / "yearend"
    override.mkdir(parents=True)
    (override / "phrases.j2").write_text(
        (Path(__file__).parents[1] / "tracker/yearend/templates/yearend/phrases.j2")
        .read_text(encoding="utf-8")
        .replace("{{ p.lead }}针对", "{{ p.lead }}，关于"),
        encoding="utf-8",
    )
    run_year_end(engine=ledger, year=2023, as_of=AS_OF, out_dir=tmp_path / "out", formats=("md",), county=False)
    text = (tmp_path / "out" / section_name("北湖街道", 2023, "md")).read_text(encoding="utf-8")
    assert "一是，关于社区矛盾纠纷排查不够及时的问题" in text


def test_number_words_and_wording():
    assert [ordinal(n) for n in (1, 2, 9, 10, 11, 12, 20, 21)] == [
        "一是",
        "二是",
        "九是",
        "十是",
        "十一是",
        "十二是",
        "二十是",
        "二十一是",
    ]
    assert cn_number(99) == "九十九"
    assert (percent(3, 4), percent(1, 3), percent(2, 3), percent(1, 8), percent(0, 0)) == (75, 33, 67, 13, 0)
    assert [unit_word(n) for n in ("西里镇", "柳溪乡", "北塘街道", "城关街道办事处", "某开发区")] == [
        "镇",
        "乡",
        "街道",
        "街道",
        "单位",
    ]
    assert problem_phrase("（三）存在多头检查的问题。") == "存在多头检查"
    assert (cn_by(date(2025, 3, 31)), cn_by(date(2024, 2, 29)), cn_by(date(2025, 3, 15))) == (
        "2025年3月底",
        "2024年2月底",
        "2025年3月15日",
    )


def test_unassigned_items_are_not_started_not_in_progress(ledger, tmp_path):
    """政务公开 was never assigned: counted and worded apart from the ones in work."""
    out = tmp_path / "out"
    result = run_year_end(engine=ledger, year=2023, as_of=AS_OF, out_dir=out, formats=("txt",), county=False)
    assert (result["in_progress"], result["unassigned"]) == (2, 1)
    text = (out / section_name("青石镇", 2023, "txt")).read_text(encoding="utf-8")
    assert "正在整改2项，长期坚持1项，尚未启动1项" in text
    [item] = [line for line in text.splitlines() if "政务公开" in line]
    assert "尚未启动整改" in item and "正在整改" not in item and "超期" not in item and "原定" not in item


def test_review_wording_only_when_asked_for(ledger, tmp_path):
    plain, with_notes = tmp_path / "plain", tmp_path / "notes"
    run_year_end(engine=ledger, year=2023, as_of=AS_OF, out_dir=plain, formats=("txt",), county=False)
    run_year_end(
        engine=ledger, year=2023, as_of=AS_OF, out_dir=with_notes, formats=("txt",), county=False, review_notes=True
    )
    official = (plain / section_name("青石镇", 2023, "txt")).read_text(encoding="utf-8")
    internal = (with_notes / section_name("青石镇", 2023, "txt")).read_text(encoding="utf-8")
    assert not any(word in official for word in ("审核未通过", "退回", "佐证材料未体现"))
    assert "审核未通过，原因：佐证材料未体现分众化普法活动开展情况，原定2024年11月底前完成，已超期。" in internal


def test_measures_are_sentences_trimmed_said_once_ending_in_a_full_stop():
    notes = [
        "  已召开专题会议研究整改工作  ",
        "1.制定整改方案；已召开专题会议研究整改工作\n2.投入经费3.5万元！",
        "制定整改方案",
        "根据退回意见补充佐证材料。审核未通过后重新整理台账；完善档案",
        "已召开专题会议研究整改工作，明确分工。",
    ]
    text = measures(notes, leave_out=REVIEW_WORDS)
    assert text == "制定整改方案。投入经费3.5万元。已召开专题会议研究整改工作，明确分工。"
    assert measures(notes).count("退回") == 1 and measures(["。；", " "]) == ""
    assert all(s.endswith("。") for s in (measures(["甲；"]), measures(["乙!"]))) and measures(["甲；"]) == "甲。"


def _facts(n: int, state: str, **kw) -> TaskFacts:
    return TaskFacts(
        id=n,
        item_id=n,
        kind="shortcoming",
        title=f"问题{n}",
        description="",
        status="待分派",
        category=None,
        deadline=date(2024, 12, 31),
        owner="",
        percent=None,
        stage_done_year=None,
        closed_on=kw.pop("closed_on", None),
        state=state,
        light=None,
        **kw,
    )


def test_a_township_where_nothing_was_assigned_says_so():
    ty = TownshipYear(
        1,
        "柳溪乡",
        None,
        1,
        2023,
        2024,
        shortcomings=[_facts(1, UNASSIGNED), _facts(2, UNASSIGNED)],
        plans=[_facts(3, UNASSIGNED)],
    )
    text = render_section(build(ty, AS_OF), "txt")
    assert (
        "我乡将其纳入整改台账，责任单位、责任人和整改时限尚待明确。截至2024年12月20日，2项问题均尚未启动整改，完成率0%。"
        in text
    )
    assert "正在整改" not in text and "2024年计划的1项工作均尚未启动。" in text
    ty.shortcomings = [_facts(1, DONE, closed_on=date(2024, 5, 6)), _facts(2, UNASSIGNED), _facts(4, OPEN)]
    section = build(ty, AS_OF)
    assert section.counts == {"total": 3, "done": 1, "in_progress": 1, "ongoing": 0, "unassigned": 1, "rate": 33}
    assert "已完成整改1项，正在整改1项，尚未启动1项，完成率33%" in section.opening
    assert "其中2项已明确责任单位、责任人和整改时限" in section.opening
