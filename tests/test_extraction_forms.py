"""Report text as other programs hand it over gives the same items as the clean text: full-width
digits and numbering, reworded section headings, traditional script, text copied out of a PDF viewer
(hard line breaks, page numbers, running headers, form feeds), footers and 附件 after the signature.

The shared scorer runs in-process (its score_report) on every form; one form per family also goes
through `rectify extract` as a user runs it."""

from __future__ import annotations

import importlib.util
import json

import opencc
import pytest

from tests.report_forms.text import (
    GOLDS,
    HEADING_VARIANTS,
    PAGE_NUMBERS,
    SHARED,
    full_width,
    pdf_viewer_copy,
    report_text,
    reworded,
)
from tests.test_extraction_gold import score
from tracker.extraction import extract_text
from tracker.extraction.cleaning import describe

pytestmark = pytest.mark.skipif(not GOLDS, reason=f"the shared gold reports are not here ({SHARED})")


def _scorer():
    spec = importlib.util.spec_from_file_location("score_extraction", SHARED / "eval" / "score_extraction.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCORER = _scorer() if GOLDS else None


def assert_perfect(gold_path, text: str) -> None:
    """F1 = 1.000, meta 4/4 and every item grounded, by the shared scorer's own rules."""
    ex = extract_text(text, source_name="x.txt")
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    r = SCORER.score_report(gold, ex.to_dict(), text)
    assert (r["fp"], r["fn"]) == (0, 0), (r["misses"], r["extras"])
    assert r["meta_ok"] == r["meta_n"] == 4, (ex.unit, ex.report_year, ex.plan_year, ex.issued_on)
    assert r["grounded"] == r["items"] > 0
    assert r["causes_ok"] == r["causes_n"]


def clean_items(gold_path):
    return extract_text(report_text(gold_path)).items


@pytest.mark.parametrize("gold", GOLDS, ids=lambda g: g.stem)
def test_full_width_digits_and_numbering(gold):
    text = full_width(report_text(gold))
    assert "２０２" in text
    assert_perfect(gold, text)
    ex = extract_text(text)
    assert [it.title for it in ex.items] == [full_width(it.title) for it in clean_items(gold)]  # as written


@pytest.mark.parametrize("variant", range(len(HEADING_VARIANTS)), ids=lambda v: "+".join(HEADING_VARIANTS[v]))
@pytest.mark.parametrize("gold", GOLDS, ids=lambda g: g.stem)
def test_reworded_section_headings(gold, variant):
    plan_year = json.loads(gold.read_text(encoding="utf-8"))["plan_year"]
    assert_perfect(gold, reworded(report_text(gold), variant, plan_year))


@pytest.mark.parametrize("style", PAGE_NUMBERS)
@pytest.mark.parametrize("gold", GOLDS, ids=lambda g: g.stem)
def test_text_copied_from_a_pdf_viewer(gold, style):
    header = "关于法治政府建设工作的报告"
    text = pdf_viewer_copy(report_text(gold), page_numbers=style, running_header=header, form_feeds=style == "of")
    assert text.count(header) >= 3  # the header repeats on every page
    assert_perfect(gold, text)
    ex = extract_text(text)
    clean = clean_items(gold)
    assert [it.title for it in ex.items] == [it.title for it in clean]  # no broken lines in titles
    for it, ref in zip(ex.items, clean, strict=True):
        # The span is exact over the raw text; the description has no furniture and no broken lines.
        assert text[it.start : it.end] == it.text
        assert it.description == describe(ref.text)


def test_page_furniture_never_reaches_a_title_or_description():
    gold = next(g for g in GOLDS if g.stem.startswith("xili"))
    text = pdf_viewer_copy(report_text(gold), page_numbers="of", running_header="西里镇法治政府建设工作报告")
    ex = extract_text(text)
    assert ex.items
    for it in ex.items:
        for furniture in ("第", "西里镇法治政府建设工作报告"):
            assert "共" not in it.description or furniture not in it.description
        assert "\n" not in it.title and "页" not in it.title


@pytest.mark.parametrize("gold", GOLDS, ids=lambda g: g.stem)
def test_traditional_script_keeps_what_was_written(gold):
    clean = extract_text(report_text(gold))
    s2t = opencc.OpenCC("s2t")
    text = s2t.convert(report_text(gold))
    assert len(text) == len(report_text(gold))
    ex = extract_text(text)
    assert ex.unit == s2t.convert(clean.unit)  # 鄉/鎮 as written
    assert (ex.report_year, ex.plan_year, ex.issued_on) == (clean.report_year, clean.plan_year, clean.issued_on)
    assert [(it.kind, it.start, it.end) for it in ex.items] == [(it.kind, it.start, it.end) for it in clean.items]
    assert [it.title for it in ex.items] == [s2t.convert(it.title) for it in clean.items]
    for it in ex.items:
        assert text[it.start : it.end] == it.text


FOOTER = """
第7页 共7页
【打印本页】 【关闭窗口】
主办单位：青岚县人民政府办公室  承办：青岚县政务服务数据管理局
网站标识码：1234000001  皖ICP备12345678号  皖公网安备 34000002000001号
"""


def _signed(gold) -> str:
    text = report_text(gold)
    assert json.loads(gold.read_text(encoding="utf-8"))["issued_on"], "needs a report with a signing date"
    return text


def test_text_after_the_signature_neither_hides_the_date_nor_joins_the_last_item():
    gold = next(g for g in GOLDS if g.stem.startswith("xili"))
    text = _signed(gold)
    clean = extract_text(text)
    for tail in (FOOTER, "\n附件：1.西里镇法治政府建设工作台账\n2.西里镇法治建设责任清单\n", "\n— 7 —\n"):
        ex = extract_text(text.rstrip() + tail)
        assert ex.issued_on == clean.issued_on
        assert [it.to_dict() for it in ex.items] == [it.to_dict() for it in clean.items]
        assert_perfect(gold, text.rstrip() + tail)


def test_attachments_between_the_body_and_the_signature_stay_out_of_the_last_item():
    gold = next(g for g in GOLDS if g.stem.startswith("xili"))
    text = _signed(gold)
    clean = extract_text(text)
    with_attachments = text.replace("特此报告。", "附件：1.西里镇法治政府建设工作台账\n特此报告。")
    ex = extract_text(with_attachments)
    assert [it.text for it in ex.items] == [it.text for it in clean.items]


def test_a_web_publication_date_is_only_a_fallback_with_a_warning():
    gold = next(g for g in GOLDS if g.stem.startswith("xidagou"))  # no signing date
    text = "发布时间：2025-01-08 来源：西大沟镇 浏览次数：321\n" + report_text(gold)
    ex = extract_text(text)
    assert str(ex.issued_on) == "2025-01-08"
    assert any("发布时间" in w and "2025年1月8日" in w for w in ex.warnings)
    signed = extract_text(text.rstrip() + "\n西大沟镇人民政府\n2025年1月6日\n")
    assert str(signed.issued_on) == "2025-01-06" and not any("发布时间" in w for w in signed.warnings)


@pytest.mark.parametrize(
    "problems, plans",
    [
        ("存在的问题", "下一步工作计划"),
        ("存在的不足和原因", "2025年工作打算"),
        ("短板和不足", "下步工作安排"),
        ("工作中的差距", "今后工作思路"),
        ("薄弱环节", "明年工作重点"),
        ("存在的困难和问题", "2025年主要举措"),
        ("存在的短板及原因分析", "下一步工作方向"),
    ],
)
def test_each_heading_form_in_a_small_text(problems, plans):
    text = (
        f"青石镇2024年度法治政府建设工作报告\n一、2024年主要举措和成效\n（一）加强学习。一是学法。\n"
        f"二、{problems}\n（一）学法不够深入。\n（二）执法不够规范。\n三、{plans}\n（一）加强培训。\n（二）规范执法。\n"
    )
    ex = extract_text(text)
    assert [(it.kind, it.title) for it in ex.items] == [
        ("shortcoming", "学法不够深入"),
        ("shortcoming", "执法不够规范"),
        ("plan", "加强培训"),
        ("plan", "规范执法"),
    ]
    assert ex.plan_year == 2025


def test_achievement_headings_stay_out():
    for heading in ("2024年主要举措和成效", "2024年法治政府建设工作开展情况", "取得的成绩"):
        ex = extract_text(
            f"青石镇2024年度法治政府建设工作报告\n一、{heading}\n（一）加强学习。\n二、存在问题\n（一）学法不够。\n"
        )
        assert [it.kind for it in ex.items] == ["shortcoming"], heading


def test_rectify_extract_on_copied_text_through_the_scorer(tmp_path):
    """The CLI path once per family: a full-width copy and a PDF-viewer copy in GB18030."""
    gold = GOLDS[0]
    wide = tmp_path / "wide.txt"
    wide.write_text(full_width(report_text(gold)), encoding="utf-8")
    copied = tmp_path / "copied.txt"
    copied.write_bytes(pdf_viewer_copy(report_text(gold), running_header="法治政府建设工作报告").encode("gb18030"))
    for path in (wide, copied):
        total = score([gold], path)
        n = total["grounded"].split("/")
        assert (total["f1"], total["meta"]) == ("1.000", "4/4") and n[0] == n[1] != "0", path.name
