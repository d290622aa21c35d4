"""Every report pattern of domain.md "What the reports look like", each on a small made-up text."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from tracker.extraction import extract_file, extract_text

FIXTURES = Path(__file__).parent / "fixtures" / "extraction"
NUMS = "一二三四五六七八九"

HEADER = (
    "中共柳塘镇委员会  柳塘镇人民政府\n关于2023年度法治政府建设工作的报告\n县委、县政府：\n现将有关情况报告如下：\n"
)
TAIL = "特此报告。\n柳塘镇人民政府\n2024年1月10日\n"
ACHIEVEMENTS = (
    "{n}、推进法治政府建设的主要举措和成效\n"
    "（一）强化学法。一是开展会前学法10次；二是对督查反馈的问题立行立改，整改完成率100%。\n"
    "（二）规范执法。组织执法培训2期，存在的问题已整改。\n"
)
DUTIES = "{n}、党政主要负责人履行推进法治建设第一责任人职责情况\n党委书记带头讲法治课2次，对重大问题亲自过问。\n"
SHORTCOMINGS = (
    "{n}、存在的不足和原因\n"
    "（一）普法阵地利用率不高。部分村法治长廊内容陈旧。\n"
    "（二）执法文书制作不规范。个别案卷缺少送达回证。\n"
)
PLANS = "{n}、2024年工作计划\n（一）盘活普法阵地。每季度更新一次宣传内容。\n（二）提升案卷质量。开展案卷评查两次。\n"
EXPECTED = [
    ("shortcoming", "普法阵地利用率不高"),
    ("shortcoming", "执法文书制作不规范"),
    ("plan", "盘活普法阵地"),
    ("plan", "提升案卷质量"),
]


def build(*sections: str, header: str = HEADER, tail: str = TAIL) -> str:
    """A report with the sections numbered 一、二、… in the order given."""
    return header + "".join(s.format(n=NUMS[i]) for i, s in enumerate(sections)) + tail


def extract(text: str):
    ex = extract_text(text, source_name="test.txt")
    for it in ex.items:
        assert text[it.start : it.end] == it.text and it.start < it.end
    assert [it.start for it in ex.items] == sorted(it.start for it in ex.items)
    return ex


def kinds_titles(ex) -> list[tuple[str, str]]:
    return [(it.kind, it.title) for it in ex.items]


def test_a_plain_report_gives_its_shortcomings_and_plans_numbered_per_kind():
    ex = extract(build(ACHIEVEMENTS, DUTIES, SHORTCOMINGS, PLANS))
    assert kinds_titles(ex) == EXPECTED
    assert [it.seq for it in ex.items] == [1, 2, 1, 2]
    assert ex.items[0].section == "三、存在的不足和原因"
    assert ex.items[2].section == "四、2024年工作计划"
    assert ex.items[0].text == "（一）普法阵地利用率不高。部分村法治长廊内容陈旧。"
    assert ex.warnings == []


@pytest.mark.parametrize(
    "heading",
    [
        "存在的不足和原因",
        "存在问题",
        "存在的问题",
        "存在的不足、原因和问题整改情况",
        "上一年度推进法治政府建设存在的不足和原因",
        "存在的问题和原因分析",
        "问题与不足",
    ],
)
def test_shortcoming_headings(heading):
    ex = extract(build(ACHIEVEMENTS, SHORTCOMINGS.replace("存在的不足和原因", heading), PLANS))
    assert kinds_titles(ex) == EXPECTED


@pytest.mark.parametrize(
    "heading, plan_year",
    [
        ("2024年推进法治政府建设的主要计划安排", 2024),
        ("2024年工作计划", 2024),
        ("2024年依法行政重点工作安排", 2024),
        ("下一年度推进法治政府建设的初步安排", 2024),
        ("下一年度法治建设主要安排", 2024),
        ("下一步工作打算", 2024),
    ],
)
def test_plan_headings(heading, plan_year):
    ex = extract(build(ACHIEVEMENTS, SHORTCOMINGS, PLANS.replace("2024年工作计划", heading)))
    assert kinds_titles(ex) == EXPECTED
    assert (ex.report_year, ex.plan_year) == (2023, plan_year)


@pytest.mark.parametrize(
    "order",
    [
        (ACHIEVEMENTS, DUTIES, SHORTCOMINGS, PLANS),  # shortcomings as 三, duties before
        (ACHIEVEMENTS, SHORTCOMINGS, DUTIES, PLANS),  # shortcomings as 二, duties after
        (DUTIES, ACHIEVEMENTS, SHORTCOMINGS, PLANS),
        (ACHIEVEMENTS, SHORTCOMINGS, PLANS, DUTIES),
    ],
)
def test_section_order_does_not_matter(order):
    assert kinds_titles(extract(build(*order))) == EXPECTED


def test_earlier_and_next_year_headings_name_report_and_plan_year():
    header = "柳塘镇法治政府建设年度报告\n县委、县政府：\n"
    text = build(
        ACHIEVEMENTS.replace("推进", "上一年度推进"),
        SHORTCOMINGS.replace("存在的不足和原因", "上一年度法治政府建设存在的不足和原因"),
        PLANS.replace("2024年工作计划", "下一年度推进法治政府建设的主要安排"),
        header=header,
    )
    ex = extract(text)
    assert kinds_titles(ex) == EXPECTED
    assert (ex.report_year, ex.plan_year) == (2023, 2024)  # no year written: from the signing date
    ex = extract(text.replace("柳塘镇法治政府建设年度报告", "柳塘镇2022年度法治政府建设报告"))
    assert (ex.report_year, ex.plan_year) == (2022, 2023)  # 下一年度 = report year + 1


def test_plan_year_in_the_heading_gives_the_report_year_when_the_title_has_none():
    ex = extract(
        build(ACHIEVEMENTS, SHORTCOMINGS, PLANS.replace("2024", "2026"), header="柳塘镇法治政府建设工作总结\n")
    )
    assert (ex.report_year, ex.plan_year) == (2025, 2026)


MARKERS = [("（{}）", "一二三"), ("({})", "123"), ("（{}）", "123"), ("{}.", "123"), ("{}、", "123"), ("{}", "①②③")]


@pytest.mark.parametrize("marker, numbers", MARKERS)
@pytest.mark.parametrize("body_on_next_line", [False, True])
def test_enumeration_markers(marker, numbers, body_on_next_line):
    titles = ["调解员培训不足", "案卷归档滞后", "宣传栏更新不及时"]
    sep = "\n" if body_on_next_line else "。"
    points = "".join(
        f"{marker.format(n)}{t}{sep}这一点需要改进，涉及多个村。\n" for n, t in zip(numbers, titles, strict=True)
    )
    ex = extract(build(ACHIEVEMENTS, "{n}、存在的问题\n" + points, PLANS))
    assert kinds_titles(ex)[:3] == [("shortcoming", t) for t in titles]
    assert all(it.text.endswith("涉及多个村。") for it in ex.items[:3])


def test_inline_list_in_one_paragraph_after_a_preamble():
    section = (
        "{n}、存在的问题\n"
        "我镇法治建设虽有进展，但与上级要求相比仍有差距。一是干部学法不够主动，以被动参加为主。"
        "二是村规民约修订滞后，个别条款与法律不符；三是行政复议应诉能力偏弱。\n"
    )
    ex = extract(build(ACHIEVEMENTS, section, PLANS))
    assert kinds_titles(ex)[:3] == [
        ("shortcoming", "干部学法不够主动，以被动参加为主"),
        ("shortcoming", "村规民约修订滞后，个别条款与法律不符"),
        ("shortcoming", "行政复议应诉能力偏弱"),
    ]
    assert ex.items[0].text == "一是干部学法不够主动，以被动参加为主。"
    assert ex.items[2].text == "三是行政复议应诉能力偏弱。"


def test_one_point_per_line_starting_with_yishi():
    section = (
        "{n}、存在的不足\n对照考核要求，我镇还存在以下不足：\n"
        "一是法律顾问参与决策偏少。\n二是统一是非标准的宣传不够，群众知晓率低。\n三是执法装备老化。\n"
    )
    ex = extract(build(ACHIEVEMENTS, section, PLANS))
    assert kinds_titles(ex)[:3] == [
        ("shortcoming", "法律顾问参与决策偏少"),
        ("shortcoming", "统一是非标准的宣传不够，群众知晓率低"),
        ("shortcoming", "执法装备老化"),
    ]


def test_a_section_without_enumeration_is_one_item():
    section = "{n}、存在问题\n基层法治力量较为薄弱，专职法治员只有1名。村级法律服务覆盖面有待扩大。\n"
    ex = extract(build(ACHIEVEMENTS, section, PLANS))
    (item,) = [it for it in ex.items if it.kind == "shortcoming"]
    assert item.text == "基层法治力量较为薄弱，专职法治员只有1名。村级法律服务覆盖面有待扩大。"
    assert item.title == "基层法治力量较为薄弱，专职法治员只有1名"


def test_sub_blocks_give_shortcoming_cause_and_rectification_items():
    section = (
        "{n}、存在的不足、原因和问题整改情况\n"
        "对照年初目标，我镇仍有一些薄弱环节。存在的问题主要有：\n"
        "（1）重大决策听取法律意见不充分\n部分事项在决策后才征求法律顾问意见。\n"
        "（2）调解协议履行跟踪不够\n少数协议履行情况无人回访。\n"
        "主要原因是：一是思想上重视不够；二是专业人员缺乏；三是考核约束不强。\n"
        "问题整改情况：针对上年度查摆的2个问题，我镇建立了整改台账。\n"
        "一是针对普法形式单一的问题，开通了普法公众号，已完成整改。\n"
        "二是针对执法人员不足的问题，新增持证人员2名，目前正在整改。\n"
    )
    ex = extract(build(ACHIEVEMENTS, section, PLANS))
    assert kinds_titles(ex)[:7] == [
        ("shortcoming", "重大决策听取法律意见不充分"),
        ("shortcoming", "调解协议履行跟踪不够"),
        ("cause", "思想上重视不够"),
        ("cause", "专业人员缺乏"),
        ("cause", "考核约束不强"),
        ("rectification", "针对普法形式单一的问题，开通了普法公众号，已完成整改"),
        ("rectification", "针对执法人员不足的问题，新增持证人员2名，目前正在整改"),
    ]
    assert [it.seq for it in ex.items[:7]] == [1, 2, 1, 2, 3, 1, 2]
    assert ex.items[1].text == "（2）调解协议履行跟踪不够\n少数协议履行情况无人回访。"
    assert ex.items[4].text == "三是考核约束不强。"


def test_sub_headings_introduce_sub_blocks_too():
    section = (
        "{n}、存在的不足、原因和问题整改情况\n（一）存在的不足\n1.法治宣传覆盖不全。\n2.执法程序不够规范。\n"
        "（二）原因分析\n1.人员流动较大。\n2.培训频次偏少。\n"
        "（三）上一年度问题整改情况。一是法律顾问制度已落实，已完成整改。\n"
    )
    ex = extract(build(ACHIEVEMENTS, section, PLANS))
    assert kinds_titles(ex)[:5] == [
        ("shortcoming", "法治宣传覆盖不全"),
        ("shortcoming", "执法程序不够规范"),
        ("cause", "人员流动较大"),
        ("cause", "培训频次偏少"),
        ("rectification", "法律顾问制度已落实，已完成整改"),
    ]


def test_shortcomings_and_next_steps_in_one_section():
    section = (
        "{n}、存在的问题及下一步工作打算\n（一）存在的问题\n1.案件办理周期偏长。\n2.法律顾问参与不足。\n"
        "（二）下一步工作打算\n1.压缩办案周期。\n2.建立顾问列席制度。\n"
    )
    ex = extract(build(ACHIEVEMENTS, section))
    assert kinds_titles(ex) == [
        ("shortcoming", "案件办理周期偏长"),
        ("shortcoming", "法律顾问参与不足"),
        ("plan", "压缩办案周期"),
        ("plan", "建立顾问列席制度"),
    ]
    assert (ex.report_year, ex.plan_year) == (2023, 2024)
    assert ex.warnings == []


def test_causes_inside_or_right_after_a_shortcoming_belong_to_it():
    section = (
        "{n}、存在的不足和原因\n"
        "（一）执法记录仪配备不足。全镇仅有2台，原因是专项经费没有列入预算。\n"
        "（二）普法针对性不强。面向企业的普法活动较少。\n"
        "原因是对企业法律需求调研不够。\n"
        "（三）村级法律顾问作用有限。服务以电话咨询为主。\n"
    )
    ex = extract(build(ACHIEVEMENTS, section, PLANS))
    shortcomings = [it for it in ex.items if it.kind == "shortcoming"]
    assert [it.title for it in shortcomings] == ["执法记录仪配备不足", "普法针对性不强", "村级法律顾问作用有限"]
    assert [it.causes for it in shortcomings] == [["专项经费没有列入预算"], ["对企业法律需求调研不够"], []]
    assert not any(it.kind == "cause" for it in ex.items)
    assert shortcomings[1].text.endswith("原因是对企业法律需求调研不够。")


def test_a_bare_cause_paragraph_between_numbered_points_is_not_a_sub_block():
    section = (
        "{n}、存在的不足和原因\n（一）复议应诉能力偏弱。\n原因是：缺少专业培训。\n"
        "（二）合同审查不及时。\n主要原因是：审查人员兼职。\n（三）普法经费不足。\n"
    )
    ex = extract(build(ACHIEVEMENTS, section, PLANS))
    shortcomings = [it for it in ex.items if it.kind == "shortcoming"]
    assert [(it.title, it.causes) for it in shortcomings] == [
        ("复议应诉能力偏弱", ["缺少专业培训"]),
        ("合同审查不及时", ["审查人员兼职"]),
        ("普法经费不足", []),
    ]
    assert not any(it.kind == "cause" for it in ex.items)


def test_achievements_lists_are_never_items_even_when_they_mention_rectification():
    rectified = "抓好问题整改。一是对上一年度存在的问题逐项整改；二是建立台账。\n（三）规范执法。"
    text = build(ACHIEVEMENTS.replace("规范执法。", rectified), SHORTCOMINGS, PLANS)
    ex = extract(text)
    assert kinds_titles(ex) == EXPECTED
    assert all("强化学法" not in it.text and "整改完成率" not in it.text for it in ex.items)


def test_a_rectification_section_of_its_own():
    section = "{n}、上一年度问题整改情况\n一是普法短板已补齐，已完成整改。\n二是执法装备已更新，正在整改。\n"
    ex = extract(build(ACHIEVEMENTS, SHORTCOMINGS, section, PLANS))
    assert [k for k, _ in kinds_titles(ex)] == [
        "shortcoming",
        "shortcoming",
        "rectification",
        "rectification",
        "plan",
        "plan",
    ]


@pytest.mark.parametrize("heading", ["原因分析", "存在问题的原因", "产生问题的主要原因"])
def test_a_cause_section_of_its_own(heading):
    section = f"{{n}}、{heading}\n一是学法氛围不浓；二是专业人员偏少。\n"
    ex = extract(build(ACHIEVEMENTS, SHORTCOMINGS, section, PLANS))
    assert kinds_titles(ex)[2:4] == [("cause", "学法氛围不浓"), ("cause", "专业人员偏少")]


def test_noisy_converted_report():
    ex = extract_file(FIXTURES / "noisy-qinghe-2023.txt")
    assert (ex.unit, ex.county, ex.report_year, ex.plan_year) == ("青禾镇", "云杉县", 2023, 2024)
    assert ex.issued_on == datetime.date(2024, 1, 12)  # 二〇二四年一月十二日
    assert ex.doc_number == "云政 [2024] 12号"
    assert kinds_titles(ex) == [
        ("shortcoming", "基层法治宣传形式较为单一"),  # **bold** and indentation dropped
        ("shortcoming", "合法性审查力量薄弱"),  # a word cut by a page break, last character repeated
        ("shortcoming", "村级调解组织作用发挥不充分"),
        ("plan", "创新普法宣传方式"),
        ("plan", "充实合法性审查力量"),
        ("plan", "规范村级调解工作"),
    ]
    assert [it.causes for it in ex.items[:3]] == [
        ["对新媒体运用重视不够，缺少专门人员"],
        ["审查人员配备不足，外聘律师服务时间有限"],
        [],
    ]
    assert ex.items[0].section == "三、推进法治政府建设存在的不足和原因"  # heading cut by a page break
    assert ex.items[0].text.startswith("（一）基层法治宣传")
    for it in ex.items:
        assert ex.text[it.start : it.end] == it.text
        for stray in ("四、", "特此报告", "此件公开发布", "中共青禾镇委员会", "二〇二四"):
            assert stray not in it.text
    assert ex.items[-1].text.endswith("每季度抽查台账。")
    assert ex.warnings == []


def test_crlf_line_endings_keep_offsets_exact():
    text = build(ACHIEVEMENTS, DUTIES, SHORTCOMINGS, PLANS).replace("\n", "\r\n")
    ex = extract(text)
    assert kinds_titles(ex) == EXPECTED
    assert ex.items[0].text == "（一）普法阵地利用率不高。部分村法治长廊内容陈旧。"
    assert ex.issued_on == datetime.date(2024, 1, 10)


@pytest.mark.parametrize(
    "tail",
    [
        "特此报告。\n",
        "特此报告。\n（此件公开发布）\n",
        "柳塘镇人民政府\n2024年1月10日\n（此件公开发布）\n",
        "\n\n中共柳塘镇委员会    柳塘镇人民政府\n          2024 年 1 月 10 日\n\n",
    ],
)
def test_the_last_item_stops_before_the_closing_lines(tail):
    ex = extract(build(ACHIEVEMENTS, SHORTCOMINGS, PLANS, tail=tail))
    assert ex.items[-1].text == "（二）提升案卷质量。开展案卷评查两次。"


def test_closing_words_on_the_last_line_of_text():
    ex = extract(build(ACHIEVEMENTS, SHORTCOMINGS, PLANS).replace("两次。\n特此报告。", "两次。特此报告。"))
    assert ex.items[-1].text == "（二）提升案卷质量。开展案卷评查两次。"
