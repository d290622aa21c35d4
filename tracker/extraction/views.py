"""Two same-length views of a document's text, so that offsets found in one hold in the original.

Text arrives with what other programs add to it: page numbers, running headers and hard line
breaks from a PDF viewer, a web site's navigation and footer lines, full-width digits, traditional
script. Nothing is ever removed from the document (spans are offsets into it as decoded); instead

- `display` is the text with page furniture and web furniture blanked to spaces and hard line
  breaks turned into spaces: titles, causes and descriptions are read from it;
- `match` is `display` with full-width letters and digits folded to ASCII, traditional characters
  mapped to simplified ones (OpenCC, character by character) and form feeds turned into line
  breaks: every regex of the extractor runs over it.

Both have exactly the length of the original, character for character. A clean report needs none
of this: `make_views` then returns the text itself three times, after two quick scans.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from functools import lru_cache

# --- page furniture: whole lines, found on the folded text --------------------------------------
_DASH = "\\-‐‑–—―－─"
_PAGE_NUMBER = (
    rf"[{_DASH}]+[^\S\n]*\d{{1,4}}[^\S\n]*[{_DASH}]+"  # — 3 —  /  -3-
    rf"|第[^\S\n]*\d{{1,4}}[^\S\n]*页(?:[^\S\n]*[,，/]?[^\S\n]*共[^\S\n]*\d{{1,4}}[^\S\n]*页)?"  # 第3页 共8页
    rf"|\d{{1,4}}[^\S\n]*/[^\S\n]*\d{{1,4}}"  # 3/8
    rf"|\d{{1,3}}"
)  # a bare page number
# Lines a government web site puts around an article (a Ctrl+A copy of the page carries them all),
# recognised by how they begin ...
_WEB_LINE = (
    r"(?:【[^】\n]{1,12}】[^\S\n]*){1,6}"  # 【打印本页】【关闭窗口】
    r"|(?:当前位置|您当前的位置|您现在的位置|您的位置|所在位置)[:：]?.*"
    r"|首页(?:[^\S\n]*[>＞»/›].*)?"
    r"|(?:发布时间|发布日期|字号)[:：].*"
    r"|(?:主办单位|主办|承办单位|承办|协办|运维单位|技术支持|版权所有|网站标识码|联系电话|联系地址|地址|邮编|电子邮箱)[:：].*"
    r"|(?:分享到|扫一扫|打印本页|关闭窗口|返回顶部|网站地图|联系我们|无障碍浏览|长者模式|智能问答)[:：]?.{0,20}"
    r"|(?:欢迎访问|设为首页|加入收藏|建议使用).{0,40}"
)
# A menu: 首页 | 政务公开 | 政务服务 (or the items separated by tabs, from a table).
_MENU_RE = re.compile(r"\n[^\S\n]*(?:[^\s|｜]{1,10}[^\S\n]*[|｜\t][^\S\n]*){2,}[^\s|｜]{1,10}[^\S\n]*(?=\n)")
# Where a site's footer begins.
_FOOTER_START_RE = re.compile("【打印|【关闭|主办|承办|ICP|版权|网站标识码|网站地图|联系我们|分享到|返回顶部")
_LINE_FIRST = f"[{_DASH}第\\d【当您所首发字主承协运技版网联地邮电分扫打关返无长智欢设加建]"
_FURNITURE_RE = re.compile(rf"\n[^\S\n]*(?={_LINE_FIRST})(?:{_PAGE_NUMBER}|{_WEB_LINE})[^\S\n]*(?=\n)")
# ... or by what they contain anywhere: a footer's registration numbers, an info line of labels.
_FOOTER_WORD_RE = re.compile(
    r"ICP备|ICP证|公网安备|网站标识码|版权所有|Copyright|©|浏览次数|点击数|阅读次数|访问量|信息来源"
)
_INFO_LABEL_RE = re.compile(
    r"(?:发布时间|发布日期|信息来源|来源|浏览次数|浏览量|点击数|点击量|阅读次数|访问量|字号|作者|编辑)[:：]"
)
# A quick look before the scan: a footer has ICP备, 网站标识码 or ©, an info line 浏览次数.
_FOOTER_CUES = "码©览"
_MAX_WEB_LINE = 160

# --- characters folded for matching ---------------------------------------------------------------
# Full-width digits, letters and the punctuation of numbers (２０２４年, １．, （１）, －３－); the
# punctuation Chinese text uses as its own (（）：；，％…) stays: the patterns read both widths.
_FOLD = {
    ord(w): chr(ord(w) - 0xFEE0)
    for w in "０１２３４５６７８９．－／" + "".join(chr(c) for c in (*range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)))
}
_FOLD[0x0C] = "\n"  # a form feed (page break) starts a line
_WIDE_RE = re.compile("[" + "".join(map(chr, _FOLD)).replace("\f", "\\f").replace("－", "\\－") + "]")
_WIDE_CUES = "\f０１２"  # a document with full-width numbers has these (years, numbering)
# Characters that only traditional script uses, common in these reports: their presence is the
# cue to map the document through OpenCC.
_TRADITIONAL_CUES = "為與發們實關"


_SENTENCE_END = "。！？!?；;：:"
_CLOSERS = '”’"』」）)】'
_MARKER_START_RE = re.compile(
    r"[^\S\n]*(?:[（(]|[一二三四五六七八九十]{1,3}[、．.是]|\d{1,2}[.．、]|[①-⑳]|第[一二三四五六七八九十])"
)


@dataclass(slots=True)
class Views:
    text: str  # as decoded: spans point here
    display: str  # furniture blanked, hard line breaks joined: titles, causes, descriptions
    match: str  # display, folded: the regexes run here
    furniture: int = 0  # lines blanked
    joined: int = 0  # hard line breaks joined


def make_views(text: str) -> Views:
    folded = _fold(text)
    blanks = _furniture_lines(folded, "\f" in text)
    joins = _hard_breaks(text, blanks)
    if not blanks and not joins:
        return Views(text, text, folded)
    display = _apply(text, blanks, joins)
    return Views(text, display, _fold(display), len(blanks), len(joins))


def _apply(text: str, blanks: list[tuple[int, int]], joins: list[int]) -> str:
    """`text` with each blank span turned into spaces and each joined line break into a space."""
    edits = sorted([(a, b, " " * (b - a)) for a, b in blanks] + [(j, j + 1, " ") for j in joins])
    out, pos = [], 0
    for a, b, rep in edits:
        if a < pos:  # a join inside a blanked line
            continue
        out.append(text[pos:a])
        out.append(rep)
        pos = b
    out.append(text[pos:])
    return "".join(out)


def _fold(s: str) -> str:
    """Full-width numbers folded, traditional characters simplified (both one for one)."""
    if any(c in s for c in _WIDE_CUES):
        s = _WIDE_RE.sub(lambda m: _FOLD[ord(m[0])], s)
    if any(c in s for c in _TRADITIONAL_CUES):
        s = s.translate(_traditional_map(frozenset(s)))
    return s


def _traditional_map(chars: frozenset[str]) -> dict[int, str]:
    return {ord(c): s for c in chars if "\u3400" <= c <= "\u9fff" and (s := _simplified(c)) != c}


@lru_cache(maxsize=65536)
def _simplified(ch: str) -> str:
    """One character through OpenCC's t2s; a result that is not one character keeps the original
    (the views must keep the text's length)."""
    out = _opencc().convert(ch)
    return out if len(out) == 1 else ch


@lru_cache(maxsize=1)
def _opencc():
    import opencc  # only for documents in traditional script

    return opencc.OpenCC("t2s")


# --- furniture -----------------------------------------------------------------------------------
def _furniture_lines(folded: str, paged: bool) -> list[tuple[int, int]]:
    """(start, end) of every furniture line's content in the folded text: page numbers, web-site
    lines, and running headers (a line repeated on several pages, its first appearance kept: it
    may be the title). `paged`: the text had form feeds."""
    padded = "\n" + folded + "\n"  # every line between two "\n"; offsets in `padded` are one more
    found = {(m.start(), m.end() - 1) for m in _FURNITURE_RE.finditer(padded)}
    if "|" in folded or "｜" in folded or "\t" in folded:
        found.update((m.start(), m.end() - 1) for m in _MENU_RE.finditer(padded))
    cued = "ICP" in folded or any(c in folded for c in _FOOTER_CUES)
    for m in _FOOTER_WORD_RE.finditer(folded) if cued else ():
        a = folded.rfind("\n", 0, m.start()) + 1
        b = folded.find("\n", m.end())
        b = len(folded) if b < 0 else b
        line = folded[a:b]
        if b - a <= _MAX_WEB_LINE and (m[0] not in _INFO_WORDS or len(_INFO_LABEL_RE.findall(line)) >= 2):
            found.add((a, b))
    found = sorted((a, b) for a, b in found if b > a)
    found.extend(_footer_block(folded, found))
    if paged or sum(1 for a, b in found if _is_page_number(folded[a:b])) >= 2:
        found = sorted(set(found) | set(_running_headers(folded)))
    return found


def _footer_block(folded: str, found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The short lines after a site's footer began (the first furniture line in the last
    _FOOTER_REACH characters that only short lines follow): footers carry lines no list foresees."""
    reach = len(folded) - _FOOTER_REACH
    for a, b in (f for f in found if f[0] >= reach):
        if not _FOOTER_START_RE.search(folded, a, b):
            continue
        rest = folded[a:]
        if all(len(line) <= _MAX_WEB_LINE // 2 for line in rest.split("\n")):
            out, pos = [], a
            for line in rest.split("\n"):
                if line.strip():
                    out.append((pos, pos + len(line)))
                pos += len(line) + 1
            return out
    return []


_FOOTER_REACH = 1500
_INFO_WORDS = {"浏览次数", "点击数", "阅读次数", "访问量", "信息来源"}  # blanked only in a line of labels
_PAGE_NUMBER_RE = re.compile(rf"[^\S\n]*(?:{_PAGE_NUMBER})[^\S\n]*")


def _is_page_number(line: str) -> bool:
    return _PAGE_NUMBER_RE.fullmatch(line) is not None


def _running_headers(text: str) -> list[tuple[int, int]]:
    """Lines of 4–40 characters seen on two or more pages: all appearances but the first."""
    seen: dict[str, int] = {}
    out = []
    pos = 0
    for line in text.split("\n"):
        key = "".join(line.split()).replace("\f", "")
        if 4 <= len(key) <= 40 and not _MARKER_START_RE.match(line):
            if key in seen:
                out.append((pos, pos + len(line)))
            seen[key] = seen.get(key, 0) + 1
        pos += len(line) + 1
    return out


# --- hard line breaks ------------------------------------------------------------------------------
def _width(line: str) -> int:
    """Display width: CJK and other non-ASCII characters count two, ASCII one."""
    return 2 * len(line) - len(line.encode("ascii", "ignore"))


def _hard_breaks(text: str, blanks: list[tuple[int, int]]) -> list[int]:
    """Positions of the "\\n"s (and "\\f"s) that break a sentence across lines of a page: text
    copied from a PDF viewer or read from a PDF, whose lines all run to the page's width.

    A document is taken to be wrapped when at least a third of its text lines (and 6 or more) end
    within two characters of the widest line; there, a line that reaches that width and does not
    end a sentence goes on in the next text line, across blank furniture and page breaks."""
    n_lines = text.count("\n") + text.count("\f")
    if n_lines < 8 or len(text) / (n_lines + 1) > 45:  # paragraphs one per line: nothing to join
        return []
    blanked = {a for a, _ in blanks}
    lines = []  # (start, end, content) of text lines
    pos = 0
    for raw in re.split(r"[\n\f]", text):
        end = pos + len(raw)
        if pos not in blanked and raw.strip():
            lines.append((pos, end, raw.rstrip()))
        pos = end + 1
    if len(lines) < 6:
        return []
    widths = [_width(c.strip()) for _, _, c in lines]
    full = sorted(widths)[int(len(widths) * 0.9)]  # the page width, robust to a few long lines
    if full < 20:
        return []
    near = [w >= full - 4 for w in widths]
    if sum(near) < max(6, len(lines) // 3) or statistics.median(widths) < full * 0.5:
        return []
    joins = []
    for i in range(len(lines) - 1):
        _, end, content = lines[i]
        last = content.rstrip(_CLOSERS)[-1:] or content[-1:]
        if near[i] and last not in _SENTENCE_END:
            next_start = lines[i + 1][0]
            joins.extend(p for p in range(end, next_start) if text[p] in "\n\f")
    return joins
