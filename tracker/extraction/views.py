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
_PAGE_NUMBER = (rf"[{_DASH}]+[^\S\n]*\d{{1,4}}[^\S\n]*[{_DASH}]+"  # — 3 —  /  -3-
                rf"|第[^\S\n]*\d{{1,4}}[^\S\n]*页(?:[^\S\n]*[,，/][^\S\n]*)?(?:共[^\S\n]*\d{{1,4}}[^\S\n]*页)?"  # 第3页 共8页
                rf"|\d{{1,4}}[^\S\n]*/[^\S\n]*\d{{1,4}}"  # 3/8
                rf"|\d{{1,3}}")  # a bare page number
_INFO_LABEL = "发布时间|发布日期|信息来源|来源|浏览次数|浏览量|点击数|点击量|阅读次数|访问量|字号|作者|编辑|责任编辑"
# Lines a government web site puts around an article (Ctrl+A copies of the page carry them all).
_WEB_LINE = (
    r"(?:【[^】\n]{1,12}】[^\S\n]*){1,6}"  # 【打印本页】【关闭窗口】, 字号：【大 中 小】 (with what follows)
    r"|(?:当前位置|您当前的位置|您现在的位置|您的位置|所在位置)[:：]?.*"
    r"|首页(?:[^\S\n]*[>＞»/›][^\n]*)?"
    r"|(?:发布时间|发布日期)[:：].*"
    rf"|(?:[^\n]{{0,30}}?(?:{_INFO_LABEL})[:：]){{2}}.*"  # 发布时间：… 来源：… 浏览次数：… on one line
    r"|(?:主办单位|主办|承办单位|承办|协办|运维单位|技术支持|版权所有|网站标识码|联系电话|联系地址|地址|邮编|电子邮箱)[:：].*"
    r"|.*(?:ICP备|ICP证|公网安备|网站标识码|版权所有|Copyright|©).*"
    r"|(?:分享到|扫一扫|打印本页|关闭窗口|返回顶部|网站地图|联系我们|无障碍浏览|长者模式|智能问答)[:：]?.{0,20}"
)
_FURNITURE_RE = re.compile(rf"\n[^\S\n]*(?:{_PAGE_NUMBER}|{_WEB_LINE})[^\S\n]*(?=\n)")
# Cheap test before the line scan: what furniture lines contain.
_FURNITURE_HINT_RE = re.compile(r"[—－\-第【]|\n[^\S\n]*\d|来源|发布|主办|ICP|版权|位置|首页|分享|扫一扫|网站")

# --- characters folded for matching ---------------------------------------------------------------
# Full-width ASCII forms, except the punctuation Chinese text uses as its own (（）：；，！？):
# those the extractor's patterns already read in both widths.
_KEEP_WIDE = "（）：；，！？"
_FOLD = {c: chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F) if chr(c) not in _KEEP_WIDE}
_FOLD[0x0C] = "\n"  # a form feed (page break) starts a line
_WIDE_RE = re.compile("[\uff01-\uff5e\f]")
# Characters that only traditional script uses, common in these reports: their presence is the
# cue to map the document through OpenCC.
_TRADITIONAL_HINT_RE = re.compile("[鄉鎮縣區報與實設對問題進關們為發會議這個務規範執專長鬥責據點經濟數導]")

_SENTENCE_END = "。！？!?；;：:"
_CLOSERS = "”’\"』」）)】"
_MARKER_START_RE = re.compile(r"[^\S\n]*(?:[（(]|[一二三四五六七八九十]{1,3}[、．.是]|\d{1,2}[.．、]|[①-⑳]|第[一二三四五六七八九十])")


@dataclass(slots=True)
class Views:
    text: str  # as decoded: spans point here
    display: str  # furniture blanked, hard line breaks joined: titles, causes, descriptions
    match: str  # display, folded: the regexes run here
    furniture: int = 0  # lines blanked
    joined: int = 0  # hard line breaks joined


def make_views(text: str) -> Views:
    blanks = _furniture_lines(text)
    joins = _hard_breaks(text, blanks)
    display = _apply(text, blanks, joins) if blanks or joins else text
    match = _fold(display)
    return Views(text, display, match, len(blanks), len(joins))


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
    if _WIDE_RE.search(s):
        s = s.translate(_FOLD)
    if _TRADITIONAL_HINT_RE.search(s):
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
def _furniture_lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of every furniture line's content: page numbers, web-site lines, and running
    headers (a line repeated on several pages, its first appearance kept: it may be the title)."""
    if not _FURNITURE_HINT_RE.search(text):
        return []
    folded = text.translate(_FOLD) if _WIDE_RE.search(text) else text
    padded = "\n" + folded + "\n"  # every line between two "\n"
    found = [(m.start() + 1 - 1, m.end() - 1) for m in _FURNITURE_RE.finditer(padded)]
    found = [(a, b) for a, b in found if b > a]
    pages = "\f" in text or sum(1 for a, b in found if _is_page_number(folded[a:b])) >= 2
    if pages:
        found.extend(_running_headers(folded))
    return sorted(set(found))


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
    """Display width: CJK and full-width characters count two, others one."""
    return sum(2 if ord(c) >= 0x2E80 else 1 for c in line)


def _hard_breaks(text: str, blanks: list[tuple[int, int]]) -> list[int]:
    """Positions of the "\\n"s (and "\\f"s) that break a sentence across lines of a page: text
    copied from a PDF viewer or read from a PDF, whose lines all run to the page's width.

    A document is taken to be wrapped when at least a third of its text lines (and 6 or more) end
    within two characters of the widest line; there, a line that reaches that width and does not
    end a sentence goes on in the next text line, across blank furniture and page breaks."""
    n_lines = text.count("\n") + text.count("\f")
    if n_lines < 8 or len(text) / (n_lines + 1) > 80:  # paragraphs one per line: nothing to join
        return []
    blanked = set()
    for a, b in blanks:
        blanked.add(a)
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
