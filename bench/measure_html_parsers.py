"""lxml against selectolax (lexbor) for saved web pages: correctness and speed of the visible text.

    python bench/measure_html_parsers.py [--rounds 15]

Both parsers run the same rules (tracker/extraction/webpage.py: what is dropped, which elements are
blocks, white space as a browser collapses it); only the parser and the tree walk differ: the
reader's walk over selectolax's nodes, or lxml's C-level `iterwalk` (with huge_tree, and with
libxml2's default limits).

- pages: the three shared reports as county government pages (tests/report_forms/webpage.py), each
  in the three site layouts (semantic HTML5, table layout with Word-pasted paragraphs, div layout).
  Correct: every report line comes out as one line, in order, and none of the site's furniture
  (menu, breadcrumb, footer, scripts, hidden statistics) does.
- tricky markup: how each parser builds the tree of broken HTML, against what a browser (HTML5
  tree building) shows: unclosed and misnested tags, </br>, foster-parented table text, deep nesting.
- charset: what each parser does with the page's bytes on its own (the reader decodes first, so
  this shows why it must).
- speed: median ms per page (decode + parse + visible text) and parse alone, CPU time pinned to
  one core, median of --rounds rounds over the nine pages; then the reader (decode_html) and
  reader + extraction in reports/s, beside extraction of the same reports as .txt.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.report_forms.webpage import LAYOUTS, REPORTS, STEMS, page_bytes, report_paragraphs  # noqa: E402
from tracker.extraction import extract_text, webpage  # noqa: E402
from tracker.extraction.decode import decode_text  # noqa: E402
from tracker.extraction.webpage import _ARTICLE, _BLOCKS, _CELLS, _dropped, _Lines, decode_page  # noqa: E402

FURNITURE = (
    "政务公开",
    "政务服务",
    "当前位置",
    "您现在的位置",
    "主办单位",
    "ICP备案号",
    "统计代码",
    "访问统计",
    "您的浏览器不支持脚本",
    "分享到",
    "政策解读",
    "doZoom",
    "hm.baidu",
)


# --- the implementations -----------------------------------------------------------------------------------
def selectolax_text(source: str) -> str:
    return webpage.visible_text(source)  # the reader's own walk


def lxml_text(source: str, huge_tree: bool = True) -> str:
    """The same rules over lxml's tree (libxml2's HTML parser), walked by the C-level iterwalk."""
    from lxml import etree

    parser = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=huge_tree)
    try:
        root = etree.fromstring(source.encode("utf-8"), parser)
    except etree.XMLSyntaxError:
        return ""
    if root is None:
        return ""
    out = _Lines()
    dropped_stack: list[bool] = []
    in_article = in_pre = 0
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        tag = el.tag
        if not isinstance(tag, str):
            if event == "end":
                out.add(el.tail, in_pre)
            continue
        if event == "start":
            if tag in _BLOCKS:
                out.newline()
            elif tag in _CELLS:
                out.tab()
            elif tag == "br":
                out.newline(forced=True)
            dropped = _dropped(tag, el.attrib, el.text, in_article)
            dropped_stack.append(dropped)
            if dropped:
                walker.skip_subtree()  # its "end" still comes, with the tail
                continue
            in_article += tag in _ARTICLE
            in_pre += tag == "pre"
            out.add(el.text, in_pre)
        else:
            if not dropped_stack.pop():
                in_article -= tag in _ARTICLE
                in_pre -= tag == "pre"
            if tag in _BLOCKS:
                out.newline()
            out.add(el.tail, in_pre)
    return out.text()


def lxml_default_text(source: str) -> str:
    return lxml_text(source, huge_tree=False)


def lxml_parse(source: str) -> None:
    from lxml import etree

    etree.fromstring(source.encode("utf-8"), etree.HTMLParser(encoding="utf-8", huge_tree=True))


def selectolax_parse(source: str) -> None:
    from selectolax.lexbor import LexborHTMLParser

    LexborHTMLParser(source)


IMPLEMENTATIONS = {
    "selectolax": (selectolax_text, selectolax_parse),
    "lxml": (lxml_text, lxml_parse),
    "lxml, default limits": (lxml_default_text, lxml_parse),
}


# --- correctness ---------------------------------------------------------------------------------------------
def check_page(text: str, stem: str) -> list[str]:
    """What is wrong with one page's text: report lines missing or out of order, furniture present."""
    expected = [p.text for p in report_paragraphs(stem) if p.role != "blank"]
    lines = [" ".join(line.replace("\xa0", " ").split()).strip("\u3000") for line in text.split("\n")]
    problems, at = [], 0
    for want in expected:
        want = " ".join(want.split())
        try:
            at = lines.index(want, at) + 1
        except ValueError:
            problems.append(f"missing or out of order: {want[:20]}")
    problems += [f"furniture: {f}" for f in FURNITURE if f in text]
    return problems


TRICKY = [  # name, markup, what a browser shows (by the reader's rules)
    ("unclosed <p>", "<body><p>一<p>二<p>三</body>", "一\n二\n三"),
    ("misnested <b><p>", "<p><b>粗<p>体</b>尾</p>", "粗\n体尾"),
    ("</br> is a line break", "<p>甲</br>乙</p>", "甲\n乙"),
    ("entities", "<p>&nbsp&emsp;&#12288;&#x3000;&amp;lt;&copy</p>", "\xa0\u2003\u3000\u3000&lt;©"),
    ("script holding </div>", '<div>前<script>var s="</div><p>x</p>";</script>后</div>', "前后"),
    ("conditional comment", "<!--[if lt IE 9]><p>请升级浏览器</p><![endif]--><p>正文</p>", "正文"),
    ("text foster-parented out of a table", "<table><tr><td>甲</td><td>乙</td></tr>游离</table>", "游离\n甲\t乙"),
    ("uppercase, unquoted class", "<P CLASS=Nav>导航</P><P>正文</P>", "正文"),
    ("<p> closed by <div>", "<p>段<div>块</div>尾</p>", "段\n块\n尾"),
    ("source line break between CJK", "<p>法治\n  建设 a\nb</p>", "法治建设 a b"),
    (
        "600 unclosed <font> (Word paste)",
        "".join(f'<p><font face="仿宋">第{i}段' for i in range(600)),
        "\n".join(f"第{i}段" for i in range(600)),
    ),
    ("3000 nested <div>", "<div>" * 3000 + "深处" + "</div>" * 3000, "深处"),
]


def charset_notes() -> list[str]:
    """Each parser given the page's bytes, with its own charset detection."""
    from lxml import etree
    from selectolax.lexbor import LexborHTMLParser

    text = "喆镕𠀀中文"  # 喆镕: GBK but not GB2312; 𠀀: GB18030 only (four bytes)
    pages = {
        "gb2312-declared GBK": ('<html><head><meta charset="gb2312"></head><body><p>喆镕中文</p></body></html>', "gbk"),
        "http-equiv GBK": (
            '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
            "</head><body><p>喆镕中文</p></body></html>",
            "gbk",
        ),
        "undeclared GB18030": ("<html><head></head><body><p>喆镕𠀀中文</p></body></html>", "gb18030"),
        "UTF-8 declared gb2312": (
            '<html><head><meta charset="gb2312"></head><body><p>喆镕𠀀中文</p></body></html>',
            "utf-8",
        ),
    }
    notes = []
    for name, (html, encoding) in pages.items():
        raw = html.encode(encoding)
        want = text if "𠀀" in html else "喆镕中文"
        got = {
            "lxml": "".join(etree.fromstring(raw, etree.HTMLParser()).itertext()),
            "selectolax(encoding=True)": LexborHTMLParser(raw, encoding=True).body.text(),
            "reader (decode_page)": selectolax_text(decode_page(raw)),
        }
        notes.append(f"  {name}: " + "; ".join(f"{k} {'ok' if v == want else repr(v)}" for k, v in got.items()))
    return notes


# --- speed ---------------------------------------------------------------------------------------------------
def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def median_ms(fns: dict, items: list, rounds: int) -> dict[str, float]:
    """Median over rounds of CPU ms per item, for each function; the functions take turns in every
    round, so that load from other work on the machine falls on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.process_time()
            for item in items:
                fn(item)
            times[name].append((time.process_time() - t0) / len(items) * 1000)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    pin_one_core()
    pages = {(stem, layout): page_bytes(stem, layout=layout) for stem in STEMS for layout in LAYOUTS}
    sizes = [len(raw) for raw in pages.values()]
    print(f"{len(pages)} pages, {min(sizes) // 1024}–{max(sizes) // 1024} KB")
    print("\ncorrectness on the pages (report lines in order, no furniture):")
    for name, (text_fn, _) in IMPLEMENTATIONS.items():
        problems = {key: check_page(text_fn(decode_page(raw)), key[0]) for key, raw in pages.items()}
        bad = {k: v for k, v in problems.items() if v}
        print(
            f"  {name}: {len(pages) - len(bad)}/{len(pages)} pages right"
            + "".join(f"\n    {k}: {v[:3]}" for k, v in bad.items())
        )
    print("\ntricky markup (what a browser shows):")
    for name, (text_fn, _) in IMPLEMENTATIONS.items():
        wrong = []
        for case, markup, want in TRICKY:
            try:
                got = text_fn(markup)
            except Exception as exc:  # a crash counts as a wrong answer
                got = f"{type(exc).__name__}: {exc}"
            if got != want:
                wrong.append(f"{case}: {got[:30]!r}")
        print(f"  {name}: {len(TRICKY) - len(wrong)}/{len(TRICKY)} right" + "".join(f"\n    {w}" for w in wrong))
    print("\ncharset, each parser on the raw bytes:")
    print("\n".join(charset_notes()))
    raws = list(pages.values())
    for text_fn, _ in IMPLEMENTATIONS.values():  # warm up: imports, regex caches
        text_fn(decode_page(raws[0]))
    print(f"\nspeed, one core, median of {args.rounds} rounds:")
    sources = [decode_page(raw) for raw in raws]
    measured = list(IMPLEMENTATIONS.items())[:2]
    full = median_ms(
        {name: lambda raw, fn=text_fn: fn(decode_page(raw)) for name, (text_fn, _) in measured}, raws, args.rounds
    )
    parse = median_ms({name: parse_fn for name, (_, parse_fn) in measured}, sources, args.rounds)
    for name, _ in measured:
        print(
            f"  {name:11s} decode+parse+text {full[name]:6.2f} ms/page ({1000 / full[name]:5.0f} pages/s)"
            f"   parse alone {parse[name]:5.2f} ms/page"
        )
    print(f"  decoding the bytes alone {median_ms({'decode': decode_page}, raws, args.rounds)['decode']:.3f} ms/page")
    reader = median_ms(
        {
            "read": lambda raw: webpage.decode_html(raw, "page.html"),
            "read+extract": lambda raw: extract_text(webpage.decode_html(raw, "page.html")),
        },
        raws,
        args.rounds,
    )
    txts = [(REPORTS / f"{stem}.txt").read_bytes() for stem in STEMS]
    txt = median_ms({"txt": lambda raw: extract_text(decode_text(raw, "r.txt"))}, txts, args.rounds)["txt"]
    print(
        f"\nthe reader (decode_html): {1000 / reader['read']:.0f} reports/s; with extraction "
        f"{1000 / reader['read+extract']:.0f} reports/s (the same reports as .txt: {1000 / txt:.0f} reports/s)"
    )


if __name__ == "__main__":
    main()
