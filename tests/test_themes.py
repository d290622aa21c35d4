"""The theme rules: each theme on examples, the priority between themes, the body fallback, storage."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import SHARED, needs_shared
from tracker.db import session_scope
from tracker.ingest import ingest_file
from tracker.models import Task, TaskTheme
from tracker.themes import OTHER, RULES, THEMES, classify, theme_counts

EXAMPLES = {
    "第一责任人": ["党政主要负责人履行第一责任人职责的压力传导不够", "压紧压实法治建设责任清单", "全力强化组织保障"],
    "法律顾问": ["社区法律顾问作用发挥不平衡", "公职律师作用发挥不够"],
    "政务公开": ["政务公开的深度和广度不够", "村务公开栏内容更新滞后"],
    "营商环境": ["法治化营商环境建设还有提升空间", "涉企法律服务供给不够精准"],
    "依法决策": ["重大行政决策合法性审查覆盖不全", "规范性文件备案审查不及时"],
    "队伍建设": ["基层法治人才数量不足", "网格员法治素养参差不齐", "行政执法队伍力量不足"],
    "矛盾纠纷化解": ["老旧小区矛盾纠纷排查化解压力较大", "信访积案化解不够有力"],
    "行政执法": ["行政执法规范化水平不高", "行政复议应诉工作存在薄弱环节"],
    "学法用法": [
        "学法用法制度落实不够经常",
        "学习习近平法治思想不够系统全面",
        "依法行政的法治理念在工作中还没能普遍形成",
    ],
    "普法宣传": ["普法形式单一，成效不彰", "居民法治意识有待进一步增强", "宣传力度不足，法治氛围不浓"],
}


def test_taxonomy_is_fixed_and_every_rule_has_examples():
    assert THEMES == (
        "第一责任人",
        "法律顾问",
        "政务公开",
        "营商环境",
        "依法决策",
        "队伍建设",
        "矛盾纠纷化解",
        "行政执法",
        "学法用法",
        "普法宣传",
        "其他",
    )
    assert set(EXAMPLES) == {r.theme for r in RULES}


@pytest.mark.parametrize("theme,title", [(t, title) for t, titles in EXAMPLES.items() for title in titles])
def test_each_theme_on_its_examples(theme, title):
    assert classify(title) == theme


def test_specific_themes_win_over_broad_ones_in_the_title():
    assert classify("法律顾问参与重大决策不够深入") == "法律顾问"  # 法律顾问 before 依法决策
    assert classify("调解队伍素质能力有待提升") == "队伍建设"  # 队伍建设 before 矛盾纠纷化解
    assert classify("法治思维欠缺，执法能力薄弱") == "行政执法"  # 行政执法 before 学法用法
    assert classify("在学习宣传贯彻习近平法治思想的广度、深度上还有待加强") == "学法用法"  # before 普法宣传


def test_title_without_keyword_falls_back_to_the_body_then_to_other():
    body = "全面推行严格规范公正文明执法，加大重点领域执法力度，加强执法人员业务培训，鼓励更多人员考取执法证。"
    assert classify("扎实推进依法行政", body) == "行政执法"
    assert classify("其他需要说明的事项", "无") == OTHER
    assert classify("其他需要说明的事项") == OTHER


@needs_shared("reports/xili-2023.txt")
def test_themes_are_stored_on_import_and_counted(engine, cli_env):
    ingest_file(engine=engine, path=SHARED / "reports" / "xili-2023.txt", actor="测试")
    with session_scope(engine) as s:
        stored = dict(
            s.execute(select(Task.title, TaskTheme.theme).join(TaskTheme, TaskTheme.task_id == Task.id)).all()
        )
        counts = theme_counts(s, kind="shortcoming", report_year=2023)
    assert stored["法律顾问制度落实不到位"] == "法律顾问"
    assert stored["进一步优化法治化营商环境"] == "营商环境"
    assert len(stored) == 8
    assert list(counts) == list(THEMES) and sum(counts.values()) == 4
    assert counts["法律顾问"] == 1 and counts["第一责任人"] == 1
