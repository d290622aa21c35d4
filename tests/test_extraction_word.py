"""Word documents: automatic list numbering rendered as Word shows it, the three reports as
auto-numbered .docx (scorer F1=1.000, the same items as their .txt), and .doc/.wps via LibreOffice."""

from __future__ import annotations

import io
import json
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from tests.conftest import needs_shared
from tests.report_forms.word import auto_numbered_docx
from tests.test_extraction_gold import GOLDS, report_text, score
from tracker.extraction import ExtractionError, extract_file, extract_text, word
from tracker.extraction.word import OLE2_MAGIC, decode_docx, decode_legacy_word
from tracker.extraction.word_numbering import ListNumbers, format_number

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
LAYOUTS = ("direct", "heading")


# --- the renderer on small numbering.xml fragments ------------------------------------------------


def lvl(ilvl: int = 0, fmt: str = "decimal", text: str | None = None, start: int | None = 1, extra: str = "") -> str:
    text = f"%{ilvl + 1}." if text is None else text
    start_xml = "" if start is None else f'<w:start w:val="{start}"/>'
    return f'<w:lvl w:ilvl="{ilvl}">{start_xml}<w:numFmt w:val="{fmt}"/>{extra}<w:lvlText w:val="{text}"/></w:lvl>'


def abstract(aid: int, *levels: str, extra: str = "") -> str:
    return f'<w:abstractNum w:abstractNumId="{aid}">{extra}{"".join(levels)}</w:abstractNum>'


def num(nid: int, aid: int, overrides: str = "") -> str:
    return f'<w:num w:numId="{nid}"><w:abstractNumId w:val="{aid}"/>{overrides}</w:num>'


def start_override(ilvl: int, value: int, level: str = "") -> str:
    return f'<w:lvlOverride w:ilvl="{ilvl}"><w:startOverride w:val="{value}"/>{level}</w:lvlOverride>'


def para(num_id: int | None = None, ilvl: int | None = None, style: str | None = None) -> str:
    """A paragraph's XML: numbered directly (numId, ilvl), through a style, or both."""
    parts = [f'<w:pStyle w:val="{style}"/>' if style else ""]
    if num_id is not None or ilvl is not None:
        parts.append(
            "<w:numPr>"
            + (f'<w:ilvl w:val="{ilvl}"/>' if ilvl is not None else "")
            + (f'<w:numId w:val="{num_id}"/>' if num_id is not None else "")
            + "</w:numPr>"
        )
    return f'<w:p xmlns:w="{W_NS}"><w:pPr>{"".join(parts)}</w:pPr><w:r><w:t>x</w:t></w:r></w:p>'


def style(
    sid: str,
    based: str | None = None,
    num_id: int | None = None,
    ilvl: int | None = None,
    kind: str = "paragraph",
    default: bool = False,
) -> str:
    num_pr = ""
    if num_id is not None or ilvl is not None:
        num_pr = (
            "<w:pPr><w:numPr>"
            + (f'<w:ilvl w:val="{ilvl}"/>' if ilvl is not None else "")
            + (f'<w:numId w:val="{num_id}"/>' if num_id is not None else "")
            + "</w:numPr></w:pPr>"
        )
    return (
        f'<w:style w:type="{kind}" w:styleId="{sid}"'
        + (' w:default="1"' if default else "")
        + ">"
        + (f'<w:basedOn w:val="{based}"/>' if based else "")
        + num_pr
        + "</w:style>"
    )


def render(numbering: str, paragraphs: list[str], styles: str = "") -> list[str]:
    numbers = ListNumbers(
        etree.fromstring(f'<w:numbering xmlns:w="{W_NS}">{numbering}</w:numbering>'),
        etree.fromstring(f'<w:styles xmlns:w="{W_NS}">{styles}</w:styles>'),
    )
    return [numbers.label(etree.fromstring(p)) for p in paragraphs]


FORMATS = {  # numFmt → {value: what Word shows}
    "decimal": {1: "1", 9: "9", 10: "10", 123: "123"},
    "chineseCounting": {1: "一", 9: "九", 10: "十", 11: "十一", 19: "十九", 20: "二十", 21: "二十一", 99: "九十九"},
    "chineseCountingThousand": {
        1: "一",
        10: "十",
        11: "十一",
        20: "二十",
        25: "二十五",
        100: "一百",
        101: "一百零一",
        110: "一百一十",
        1005: "一千零五",
    },
    "ideographTraditional": {1: "甲", 2: "乙", 3: "丙", 10: "癸", 11: "甲"},
    "ideographZodiac": {1: "子", 2: "丑", 12: "亥", 13: "子"},
    "decimalEnclosedCircle": {1: "①", 2: "②", 10: "⑩", 20: "⑳", 21: "21"},
    "decimalEnclosedCircleChinese": {1: "①", 20: "⑳"},
    "decimalFullWidth": {1: "１", 12: "１２"},
    "decimalZero": {1: "01", 9: "09", 10: "10", 100: "100"},
    "lowerLetter": {1: "a", 26: "z", 27: "aa", 28: "bb"},
    "upperLetter": {1: "A", 3: "C", 27: "AA"},
    "lowerRoman": {1: "i", 4: "iv", 9: "ix", 14: "xiv", 2024: "mmxxiv"},
    "upperRoman": {3: "III", 40: "XL", 1990: "MCMXC"},
    "someFutureFormat": {7: "7"},  # unknown: decimal
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_number_format(fmt):
    for value, shown in FORMATS[fmt].items():
        assert format_number(value, fmt) == shown, (fmt, value)
    # and read from a level: the first value as the start, then counting on
    first = min(FORMATS[fmt])
    got = render(abstract(1, lvl(fmt=fmt, text="%1、", start=first)) + num(1, 1), [para(1, 0)] * 2)
    assert got == [f"{format_number(first, fmt)}、", f"{format_number(first + 1, fmt)}、"]


def test_chinese_markers_as_reports_use_them():
    numbering = abstract(
        1,
        lvl(0, "chineseCountingThousand", "%1、"),
        lvl(1, "chineseCounting", "（%2）"),
        lvl(2, "decimal", "（%3）"),
        lvl(3, "decimal", "%4."),
    ) + num(1, 1)
    paragraphs = [para(1, 0), para(1, 1), para(1, 1), para(1, 2), para(1, 3), para(1, 0), para(1, 1)]
    assert render(numbering, paragraphs) == ["一、", "（一）", "（二）", "（1）", "1.", "二、", "（一）"]


def test_bullet_none_and_empty_text():
    numbering = (
        abstract(1, lvl(fmt="bullet", text="●"))
        + abstract(2, lvl(fmt="none", text="%1"))
        + abstract(3, lvl(text=""))
        + num(1, 1)
        + num(2, 2)
        + num(3, 3)
    )
    assert render(numbering, [para(1, 0), para(2, 0), para(3, 0)]) == ["●", "", ""]


def test_start_values():
    numbering = (
        abstract(1, lvl(start=5))
        + abstract(2, lvl(start=None))
        + abstract(3, lvl(fmt="chineseCounting", text="（%1）", start=3))
        + num(1, 1)
        + num(2, 2)
        + num(3, 3)
    )
    got = render(numbering, [para(1, 0), para(1, 0), para(2, 0), para(2, 0), para(3, 0)])
    assert got == ["5.", "6.", "0.", "1.", "（三）"]  # no w:start: Word starts at 0


def test_default_restart_and_lvl_restart():
    numbering = (
        abstract(1, lvl(0), lvl(1, text="%2)"), lvl(2, text="%3]"))
        + abstract(
            2,
            lvl(0),
            lvl(1, text="%2)", extra='<w:lvlRestart w:val="0"/>'),
            lvl(2, text="%3]", extra='<w:lvlRestart w:val="1"/>'),
        )
        + num(1, 1)
        + num(2, 2)
    )
    order = [0, 1, 2, 2, 1, 2, 0, 1, 2]
    # default: a level restarts whenever a level above it is used
    assert render(numbering, [para(1, i) for i in order]) == ["1.", "1)", "1]", "2]", "2)", "1]", "2.", "1)", "1]"]
    # lvlRestart 0: never; lvlRestart 1 on level 2: only after level 0, not after level 1
    assert render(numbering, [para(2, i) for i in order]) == ["1.", "1)", "1]", "2]", "2)", "3]", "2.", "3)", "1]"]


def test_nums_sharing_an_abstract_continue_and_start_override_restarts():
    numbering = (
        abstract(1, lvl(fmt="chineseCounting", text="（%1）"))
        + num(1, 1)
        + num(2, 1)
        + num(3, 1, start_override(0, 1))
        + num(4, 1, start_override(0, 7))
    )
    paragraphs = [para(1, 0), para(1, 0), para(2, 0), para(3, 0), para(3, 0), para(1, 0), para(4, 0), para(3, 0)]
    # num 2 continues num 1; num 3 restarts at its first use only, then num 1 continues the same sequence
    assert render(numbering, paragraphs) == [
        "（一）",
        "（二）",
        "（三）",
        "（一）",
        "（二）",
        "（三）",
        "（七）",
        "（八）",
    ]


def test_start_override_is_the_level_start_after_a_restart():
    numbering = abstract(1, lvl(0), lvl(1, text="%2)")) + num(1, 1) + num(2, 1, start_override(1, 4))
    assert render(numbering, [para(2, 0), para(2, 1), para(2, 1), para(2, 0), para(2, 1)]) == [
        "1.",
        "4)",
        "5)",
        "2.",
        "4)",
    ]


def test_level_override_with_a_whole_level():
    full = lvl(0, "decimalEnclosedCircle", "%1", start=3)
    numbering = (
        abstract(1, lvl(0, "chineseCountingThousand", "%1、"))
        + num(1, 1)
        + num(2, 1, start_override(0, 3, full))
        + num(3, 1, f'<w:lvlOverride w:ilvl="0">{full}</w:lvlOverride>')
    )
    got = render(numbering, [para(1, 0), para(1, 0), para(2, 0), para(1, 0), para(3, 0)])
    # only num 2 and 3 show circled numbers; without a startOverride num 3 continues the shared count
    assert got == ["一、", "二、", "③", "四、", "⑤"]


def test_style_numbering_through_based_on():
    numbering = abstract(1, lvl(0, "chineseCountingThousand", "%1、"), lvl(1, "chineseCounting", "（%2）")) + num(1, 1)
    styles = (
        style("Normal", default=True)
        + style("Outline", num_id=1)
        + style("Sub", based="Outline", ilvl=1)
        + style("MySub", based="Sub")
        + style("Quote", based="Normal")
    )
    paragraphs = [
        para(style="Outline"),
        para(style="MySub"),
        para(style="MySub"),
        para(style="Outline"),
        para(style="Quote"),
        para(),
        para(style="MySub"),
        para(0, style="MySub"),
        para(style="MySub"),
        para(ilvl=0, style="MySub"),
    ]
    # a paragraph's own numPr wins: numId 0 takes the style's number away, an ilvl changes the level
    assert render(numbering, paragraphs, styles) == [
        "一、",
        "（一）",
        "（二）",
        "二、",
        "",
        "",
        "（一）",
        "",
        "（二）",
        "三、",
    ]


def test_heading_style_bound_to_a_level_by_pstyle():
    numbering = abstract(
        1,
        lvl(0, "chineseCountingThousand", "%1、", extra='<w:pStyle w:val="Heading1"/>'),
        lvl(1, "chineseCounting", "（%2）", extra='<w:pStyle w:val="Heading2"/>'),
    ) + num(5, 1)
    styles = style("Heading1", num_id=5) + style("Heading2", num_id=5) + style("MyHeading2", based="Heading2")
    paragraphs = [
        para(style="Heading1"),
        para(style="Heading2"),
        para(style="Heading2"),
        para(style="Heading1"),
        para(style="Heading2"),
    ]
    assert render(numbering, paragraphs, styles) == ["一、", "（一）", "（二）", "二、", "（一）"]


def test_num_id_without_ilvl_is_the_first_level():
    numbering = abstract(1, lvl(0, extra='<w:pStyle w:val="Heading1"/>'), lvl(1, text="%2)")) + num(1, 1)
    assert render(numbering, [para(1), para(1), para(1, 1)]) == ["1.", "2.", "1)"]


def test_default_paragraph_style_numbering():
    styles = style("Body", default=True, num_id=1)
    assert render(abstract(1, lvl()) + num(1, 1), [para(), para(0)], styles) == ["1.", ""]


def test_num_style_link():
    # abstract 2 takes its levels from the numbering style "ReportList", defined by num 1 → abstract 1
    numbering = (
        abstract(1, lvl(0, "chineseCountingThousand", "%1、"), extra='<w:styleLink w:val="ReportList"/>')
        + abstract(2, extra='<w:numStyleLink w:val="ReportList"/>')
        + num(1, 1)
        + num(2, 2)
    )
    styles = style("ReportList", kind="numbering", num_id=1)
    assert render(numbering, [para(2, 0), para(2, 0), para(1, 0)], styles) == ["一、", "二、", "三、"]


def test_multi_level_text_and_skipped_levels():
    numbering = abstract(1, lvl(0, text="%1."), lvl(1, text="%1.%2"), lvl(2, text="%1.%2.%3")) + num(1, 1)
    order = [0, 1, 1, 2, 0, 1, 0, 2]
    # a level not used since its restart shows one below its start, as Word shows 1.0.1
    assert render(numbering, [para(1, i) for i in order]) == ["1.", "1.1", "1.2", "1.2.1", "2.", "2.1", "3.", "3.0.1"]


def test_is_lgl_shows_every_level_in_decimal():
    numbering = abstract(
        1,
        lvl(0, "chineseCountingThousand", "%1、"),
        lvl(1, "lowerRoman", "%1.%2"),
        lvl(2, "lowerRoman", "%1.%2.%3", extra="<w:isLgl/>"),
    ) + num(1, 1)
    assert render(numbering, [para(1, i) for i in (0, 1, 2)]) == ["一、", "一.i", "1.1.1"]


@pytest.mark.parametrize("suff, shown", [(None, "一、"), ("tab", "一、"), ("nothing", "一、"), ("space", "一、 ")])
def test_suffixes(suff, shown):
    extra = f'<w:suff w:val="{suff}"/>' if suff else ""
    assert render(abstract(1, lvl(0, "chineseCountingThousand", "%1、", extra=extra)) + num(1, 1), [para(1, 0)]) == [
        shown
    ]


def test_no_numbering():
    numbering = abstract(1, lvl()) + num(1, 1) + num(2, 99)  # num 2: an abstractNum that does not exist
    got = render(numbering, [para(0, 0), para(1, 0), para(7, 0), para(2, 0), para(1, 4), para(1, 0), para()])
    assert got == ["", "1.", "", "", "", "2.", ""]  # numId 0, unknown numId, undefined level: nothing


# --- decode_docx ----------------------------------------------------------------------------------


def _docx(document) -> bytes:
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def test_decode_docx_with_the_template_numbering():
    document = docx.Document()
    document.add_paragraph("标题")
    for text in ("加强学习", "完善制度"):
        document.add_paragraph(text, style="List Number")  # python-docx's template: "%1." with a tab
    assert decode_docx(_docx(document), "a.docx") == "标题\n1.加强学习\n2.完善制度"


def test_numbered_paragraphs_in_tables_count_and_are_read_in_order():
    document = docx.Document()
    document.part.numbering_part._element = parse_xml(
        f'<w:numbering xmlns:w="{W_NS}">{abstract(1, lvl(0, "chineseCounting", "（%1）"))}{num(1, 1)}</w:numbering>'
    )

    def numbered(p):
        num_pr = p._p.get_or_add_pPr().get_or_add_numPr()
        num_pr.get_or_add_ilvl().val = 0
        num_pr.get_or_add_numId().val = 1

    numbered(document.add_paragraph("第一条"))
    numbered(document.add_table(rows=1, cols=1).cell(0, 0).paragraphs[0])
    numbered(document.add_paragraph("第三条"))
    assert decode_docx(_docx(document), "a.docx") == "（一）第一条\n（二）\n（三）第三条"


# --- the three reports as auto-numbered .docx ------------------------------------------------------


def _source(gold: Path) -> Path:
    return gold.parent / json.loads(gold.read_text(encoding="utf-8"))["file"]


def _key(ex) -> list[tuple[str, str, str]]:
    return [(it.kind, it.title, it.text) for it in ex.items]


@needs_shared("eval/score_extraction.py", "reports/*.gold.json")
@pytest.mark.parametrize("layout", LAYOUTS)
def test_reports_as_auto_numbered_docx(tmp_path, layout):
    copies = []
    for gold in GOLDS:
        data, shown = auto_numbered_docx(report_text(gold), layout=layout)
        path = tmp_path / f"{gold.name.removesuffix('.gold.json')}.docx"
        path.write_bytes(data)
        copies.append(path)
        # the markers are really gone from the paragraphs: without the numbering nothing is found
        bare = "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
        assert not any(it.kind == "plan" for it in extract_text(bare).items)
        ex, plain = extract_file(path), extract_file(_source(gold))
        assert ex.text == shown and ex.items
        for it in ex.items:
            assert ex.text[it.start : it.end] == it.text
        assert _key(ex) == _key(plain), gold.name
    with ThreadPoolExecutor(max_workers=len(GOLDS)) as pool:  # each scorer run waits on a subprocess
        totals = list(pool.map(lambda pair: score([pair[0]], pair[1]), zip(GOLDS, copies, strict=True)))
    for gold, total in zip(GOLDS, totals, strict=True):
        assert (total["f1"], total["meta"]) == ("1.000", "4/4"), gold.name


# --- property: N auto-numbered items give exactly N items, each starting at its number --------------

MARKERS = {  # typed form of item i (1-based) in each auto-numbered style
    "（一）": lambda i: f"（{format_number(i, 'chineseCounting')}）",
    "（1）": lambda i: f"（{i}）",
    "(1)": lambda i: f"({i})",
    "1.": lambda i: f"{i}.",
    "1、": lambda i: f"{i}、",
    "①": lambda i: format_number(i, "decimalEnclosedCircle"),
}
TOPICS = [
    "学法用法制度落实不够到位",
    "行政执法人员培训不足",
    "合法性审查力量薄弱",
    "普法宣传形式比较单一",
    "矛盾纠纷化解机制不健全",
    "法律顾问作用发挥不充分",
    "规范性文件管理不严",
]


def _report(shortcomings: list[str], plans: list[str], style_a: str, style_b: str, space: bool) -> str:
    sep = " " if space else ""
    lines = [
        "石岭镇人民政府关于2023年度法治政府建设情况的报告",
        "县委、县政府：",
        "现将石岭镇2023年度法治政府建设情况报告如下：",
        "一、推进法治政府建设的主要举措和成效",
        "（一）加强组织领导。成立工作领导小组，定期研究法治建设工作。",
        "二、存在的不足和原因",
    ]
    lines += [f"{MARKERS[style_a](i)}{sep}{t}。相关工作还需要进一步加强和改进。" for i, t in enumerate(shortcomings, 1)]
    lines.append("三、2024年工作计划")
    lines += [f"{MARKERS[style_b](i)}{sep}着力解决{t}的问题。将在全年持续推进落实。" for i, t in enumerate(plans, 1)]
    lines += ["特此报告。", "石岭镇人民政府", "2024年1月5日"]
    return "\n".join(lines)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(TOPICS), min_size=1, max_size=12),
    st.lists(st.sampled_from(TOPICS), min_size=1, max_size=12),
    st.sampled_from(list(MARKERS)),
    st.sampled_from(list(MARKERS)),
    st.booleans(),
    st.sampled_from(LAYOUTS),
)
def test_auto_numbered_sections_give_exactly_their_items(shortcomings, plans, style_a, style_b, space, layout):
    data, shown = auto_numbered_docx(_report(shortcomings, plans, style_a, style_b, space), layout=layout)
    text = decode_docx(data, "p.docx")
    assert text == shown
    ex = extract_text(text)
    line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    for kind, topics, marker in (("shortcoming", shortcomings, MARKERS[style_a]), ("plan", plans, MARKERS[style_b])):
        items = [it for it in ex.items if it.kind == kind]
        assert len(items) == len(topics), (kind, [it.text for it in items])
        for i, (it, topic) in enumerate(zip(items, topics, strict=True), 1):
            assert it.start in line_starts and text.startswith(marker(i), it.start)
            assert text[it.start : it.end] == it.text and topic in it.text


# --- .doc / .wps ----------------------------------------------------------------------------------

FAKE_DOC = OLE2_MAGIC + b"\x00" * 504  # an OLE2 header's first bytes: enough for the type check


@pytest.fixture
def no_libreoffice(monkeypatch, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.mark.parametrize("suffix", [".doc", ".wps"])
def test_legacy_word_without_libreoffice(tmp_path, no_libreoffice, suffix):
    path = tmp_path / f"西里镇报告{suffix}"
    path.write_bytes(FAKE_DOC)
    with pytest.raises(ExtractionError, match=f"西里镇报告{suffix} 是旧版 Word/WPS 格式.*另存为 .docx"):
        extract_file(path)


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("二、存在的不足\n（一）学法不够".encode(), "不是有效的旧版 Word/WPS 文档"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "PNG 图片"),
        (b"{\\rtf1\\ansi hello}", "RTF 文档"),
    ],
)
def test_legacy_word_that_is_not_one(tmp_path, no_libreoffice, raw, reason):
    path = tmp_path / "报告.doc"
    path.write_bytes(raw)
    with pytest.raises(ExtractionError, match=reason):
        extract_file(path)


def test_a_docx_saved_as_doc_is_read(tmp_path, no_libreoffice):
    document = docx.Document()
    document.add_paragraph("二、存在的不足")
    path = tmp_path / "报告.doc"
    path.write_bytes(_docx(document))
    assert decode_legacy_word(path.read_bytes(), path.name) == "二、存在的不足"


# LibreOffice is not installed here: these tests put a fake `soffice` on PATH, which stands for the
# external program we do not have. It "converts" by writing a .docx of the text after the OLE2 header.
FAKE_SOFFICE = """#!{python}
import json, sys
from pathlib import Path
import docx
args = sys.argv[1:]
Path({log!r}).write_text(json.dumps(args))
outdir = Path(args[args.index("--outdir") + 1])
source = Path(args[-1])
if not {write}:
    print("Error: source file could not be loaded")
    sys.exit(0)
text = source.read_bytes()[{skip}:].decode("utf-8")
document = docx.Document()
for line in text.split("\\n"):
    document.add_paragraph(line)
outdir.mkdir(parents=True, exist_ok=True)
document.save(outdir / (source.stem + ".docx"))
"""


def _fake_soffice(tmp_path: Path, monkeypatch, *, write: bool = True, name: str = "soffice") -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "soffice-args.json"
    script = bindir / name
    script.write_text(FAKE_SOFFICE.format(python=sys.executable, log=str(log), skip=len(OLE2_MAGIC), write=write))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    return log


@pytest.mark.parametrize("name", ["soffice", "libreoffice"])
def test_legacy_word_through_libreoffice(tmp_path, monkeypatch, name):
    log = _fake_soffice(tmp_path, monkeypatch, name=name)
    gold = GOLDS[0] if GOLDS else None
    text = report_text(gold) if gold else "二、存在的不足\n（一）学法不够。"
    path = tmp_path / "报告.wps"
    path.write_bytes(OLE2_MAGIC + text.encode("utf-8"))
    ex = extract_file(path)
    assert ex.text == text
    if gold:
        assert _key(ex) == _key(extract_file(_source(gold)))
    args = json.loads(log.read_text())
    profile = next(a for a in args if a.startswith("-env:UserInstallation=file:///"))
    assert "--headless" in args and args[args.index("--convert-to") + 1].startswith("docx")
    assert not Path(profile.removeprefix("-env:UserInstallation=file://")).exists()  # the temp dir is gone
    assert Path(args[-1]).name == "report.wps"


def test_legacy_word_conversion_that_fails(tmp_path, monkeypatch):
    _fake_soffice(tmp_path, monkeypatch, write=False)
    with pytest.raises(
        ExtractionError, match="无法用 LibreOffice 转换为 .docx（Error: source file could not be loaded）"
    ):
        decode_legacy_word(FAKE_DOC, "报告.doc")


def test_legacy_word_conversion_is_killed_after_the_time_limit(tmp_path, monkeypatch):
    # a fake soffice that hangs, with a child of its own as soffice.bin would be
    bindir = tmp_path / "bin"
    bindir.mkdir()
    pidfile = tmp_path / "child.pid"
    sleep = shutil.which("sleep")
    (bindir / "soffice").write_text(f"#!/bin/sh\n{sleep} 60 &\necho $! > {pidfile}\nwait\n")
    (bindir / "soffice").chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.setattr(word, "CONVERT_SECONDS", 1)
    began = time.monotonic()
    with pytest.raises(ExtractionError, match="转换超过 1 秒仍未完成，已终止"):
        decode_legacy_word(FAKE_DOC, "报告.doc")
    assert time.monotonic() - began < 10
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the converter's child process was left running"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a killed child that its dead parent cannot reap any more


def test_a_report_inside_a_one_cell_table_reads_like_the_plain_text(tmp_path):
    """Some OA systems export the whole body as one table cell; text in tables is read in order."""
    gold = GOLDS[0]
    text = report_text(gold)
    document = docx.Document()
    lines = text.split("\n")
    document.add_paragraph(lines[0])
    cell = document.add_table(rows=1, cols=1).cell(0, 0)
    cell.paragraphs[0].text = lines[1]
    for line in lines[2:]:
        cell.add_paragraph(line)
    path = tmp_path / "table.docx"
    document.save(path)
    ex, plain = extract_file(path), extract_text(text)
    assert ex.text == text
    assert [it.to_dict() for it in ex.items] == [it.to_dict() for it in plain.items]
