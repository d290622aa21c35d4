"""A problems section of N enumerated items, in every typed enumeration style, gives exactly N items
whose spans start at their markers and hold exactly their text (auto-numbered Word lists have their
own property test in test_extraction_word.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.report_forms.text import full_width
from tracker.extraction import extract_text

CN = "一二三四五六七八九十"


def cn(n: int) -> str:
    return CN[n - 1] if n <= 10 else ("十" if n < 20 else CN[n // 10 - 1] + "十") + (CN[n % 10 - 1] if n % 10 else "")


# style → the marker of item n; each style is read at the start of a line.
STYLES = {
    "paren-cn": lambda n: f"（{cn(n)}）",
    "paren-digit": lambda n: f"（{n}）",
    "ascii-paren-digit": lambda n: f"({n})",
    "digit-dot": lambda n: f"{n}.",
    "digit-comma": lambda n: f"{n}、",
    "circled": lambda n: chr(0x2460 + n - 1),
    "shi-line": lambda n: f"{cn(n)}是",
    "di": lambda n: f"第{cn(n)}，",
}
INLINE = {"shi": lambda n: f"{cn(n)}是", "di": lambda n: f"第{cn(n)}，"}

# Words without anything a marker is made of (numerals, 是, 第, digits, brackets).
SAFE = "法治建设学习宣传执法规范队伍制度落实不够深入到位群众纠纷化解调解基层水平能力有待提升加强完善推进"
words = st.text(alphabet=SAFE, min_size=2, max_size=14)

HEAD = "青石镇2024年度法治政府建设工作报告\n一、2024年主要举措和成效\n（一）加强学习。\n二、存在的问题\n"
TAIL = "三、2025年工作计划\n（一）加强培训。\n"


def check(text: str, expected: list[str], titles: list[str]) -> None:
    ex = extract_text(text)
    got = [it for it in ex.items if it.kind == "shortcoming"]
    assert [it.text for it in got] == expected
    assert [it.title for it in got] == titles
    for it in got:
        assert text[it.start : it.end] == it.text
    assert [it.kind for it in ex.items if it.kind != "shortcoming"] == ["plan"]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(sorted(STYLES)),
    st.lists(st.tuples(words, words), min_size=1, max_size=15),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["\n", "\r\n"]),
)
def test_n_items_on_their_own_lines(style, bodies, body_on_next_line, wide, newline):
    items, titles = [], []
    for n, (title, body) in enumerate(bodies, 1):
        marker = STYLES[style](n)
        if wide:
            marker = full_width(marker)
        sep = "\n" if body_on_next_line else ""
        items.append(f"{marker}{title}。{sep}{body}。")
        titles.append(title)
    text = (HEAD + "\n".join(items) + "\n" + TAIL).replace("\n", newline)
    check(text, [it.replace("\n", newline) for it in items], titles)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(INLINE)), st.lists(words, min_size=2, max_size=12), st.sampled_from(["；", "。"]))
def test_n_items_inline_in_one_paragraph(style, bodies, stop):
    parts = [f"{INLINE[style](n)}{body}{stop}" for n, body in enumerate(bodies, 1)]
    text = HEAD + "".join(parts) + "\n" + TAIL
    check(text, parts, bodies)
