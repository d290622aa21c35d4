"""extract_text never raises, every item's offsets hold, and no input makes it slow."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.extraction import extract_text

# Report-like lines and fragments, recombined at random: headings of every kind, markers, sub-block
# leads, causes, noise, closing lines, dates, and lines made to stress the regexes.
LINES = [
    "",
    " ",
    "\u3000\u3000",
    "中共石岭镇委员会  石岭镇人民政府",
    "关于2023年度法治政府建设工作的报告",
    "县委、县政府：",
    "石政 [2023] 8号",
    "现将石岭镇2023年度法治政府建设情况报告如下：",
    "一、推进法治政府建设的主要举措和成效",
    "二、存在的不足和原因",
    "三、2024年工作计划",
    "四、下一步工作打算",
    "二、存在的不足、原因和问题整改情况",
    "五、上一年度问题整改情况",
    "三、原因分析",
    "三、存在的不",
    "不足和原因",
    "（一）学法制度不健全。原因是重视不够。",
    "（二）执法装备不足",
    "(1) 宣传形式单一",
    "1.台账缺失",
    "2、人员不足",
    "①加强培训。",
    "②完善制度",
    "一是干部学法不主动；二是村规民约滞后；三是复议能力弱。",
    "一是",
    "二是统一是非",
    "第一，加强领导；第二，完善机制。",
    "存在的问题主要有：",
    "主要原因是：一是认识不足；二是人员缺乏。",
    "问题整改情况：",
    "原因是：经费不足。",
    "（三）上一年度问题整改情况。一是已完成整改。",
    "（一）存在的问题",
    "（二）原因",
    "[bookmark: _GoBack]（四）规范执法。",
    "**（五）加强监督**。",
    "    （六）强化保障。2023 年举办 2 期。",
    "特此报告。",
    "（此件公开发布）",
    "石岭镇人民政府",
    "2024年1月5日",
    "二〇二四年一月五日",
    "2024 年 13 月 40 日",
    "镇" * 60,
    "镇 " * 30,
    "（" * 30,
    "一是" * 20,
    "[bookmark:" * 5,
    "**" * 20,
    "第一，" * 10,
    "原因是" * 10,
]
FRAGMENTS = [
    "一、",
    "（一）",
    "(1)",
    "1.",
    "①",
    "一是",
    "二是",
    "是",
    "十",
    "第一，",
    "原因是",
    "：",
    "。",
    "\n",
    "\r\n",
    "存在的问题",
    "主要原因是：",
    "问题整改情况：",
    "2024年",
    "年度",
    "镇",
    "乡",
    "街道",
    "人民政府",
    "**",
    "[bookmark: _GoBack]",
    "特此报告",
    "下一年度",
    "计划",
    "\ufeff",
    "\x00",
]


def check(text: str) -> None:
    ex = extract_text(text, source_name="x.txt")
    assert ex.text is text
    last = -1
    for it in ex.items:
        assert 0 <= it.start < it.end <= len(text)
        assert text[it.start : it.end] == it.text
        assert it.start >= last
        last = it.start
        assert it.kind in ("shortcoming", "cause", "rectification", "plan")
    for kind in ("shortcoming", "cause", "rectification", "plan"):
        seqs = [it.seq for it in ex.items if it.kind == kind]
        assert seqs == list(range(1, len(seqs) + 1))
    ex.to_dict()


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text(text):
    check(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(LINES), max_size=40), st.sampled_from(["\n", "\r\n"]))
def test_recombined_report_lines(lines, newline):
    check(newline.join(lines))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=60))
def test_recombined_fragments(parts):
    check("".join(parts))


ADVERSARIAL = {
    "many 镇": "镇" * 50_000,
    "镇 and spaces": "镇 " * 25_000,
    "open brackets": "（" * 50_000,
    "一是 run": "一是" * 25_000,
    "headings only": "\n一、存在的问题" * 5_000,
    "markers only": "二、存在的问题\n" + "（一）" * 20_000,
    "cause leads": "二、存在的问题\n" + "原因是：" * 10_000,
    "bookmark openers": "[bookmark:" * 10_000,
    "empty points": "二、存在的问题\n" + "一是。\n" * 10_000,
    "lone marker, empty lines": "二、存在的问题\n（一）\n" + "。\n" * 20_000,
    "30,000 inline points": "二、存在的问题\n" + "".join(f"，{n}是" for n in "一二三四五六七八九十" * 3_000),
    "30,000 numbered lines": "二、存在的问题\n" + "".join(f"（{i}）甲乙丙\n" for i in range(1, 100)) * 300,
}


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_adversarial_inputs_stay_fast(text):
    t0 = time.process_time()
    check(text)
    assert time.process_time() - t0 < 2.0
