"""Saved web pages: .html/.htm and .mhtml/.mht → the page's visible text, one line per block.

The text is what a reader sees: scripts, styles, hidden elements and the site's navigation,
header and footer are dropped; blocks become lines, table cells are separated by a tab, ASCII white
space collapses as in a browser while full-width spaces and NBSP (paragraph indents) stay. The
parser is selectolax's lexbor (HTML5 tree building, as the browser did; bench/measure_html_parsers.py
compares it with lxml), imported only when a page comes. Nothing the page references is ever fetched.
"""

from __future__ import annotations

import codecs
import re

from tracker.extraction.decode import _MAGIC
from tracker.extraction.model import ExtractionError

_SNIFF_BYTES = 4096  # browsers look for the declaration in the first 1024 bytes; pages pad their <head>
_DECLARED_RE = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?\s*([a-z0-9_.:-]+)|<\?xml[^>]*?encoding\s*=\s*["']([a-z0-9_.:-]+)""", re.I
)
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
# Labels of the GB family (WHATWG maps them all to GBK); GB18030 is their superset.
_GB_LABELS = frozenset(
    {
        "gb2312",
        "gb_2312",
        "gb_2312-80",
        "gbk",
        "x-gbk",
        "gb18030",
        "cp936",
        "windows-936",
        "euc-cn",
        "csgb2312",
        "chinese",
        "iso-ir-58",
        "csiso58gb231280",
    }
)
_TAG_RE = re.compile(r"<(?:[a-z][a-z0-9:-]*[\s/>]|!--|!doctype)", re.I)

# Never shown, or not the page's text: dropped with everything inside.
_UNSEEN = frozenset(
    {
        "head",
        "script",
        "style",
        "noscript",
        "template",
        "title",
        "select",
        "textarea",
        "iframe",
        "object",
        "embed",
        "svg",
        "math",
        "canvas",
        "nav",
    }
)
_PAGE_PARTS = frozenset({"header", "footer"})  # the site's, unless inside an article (then the article's)
_ARTICLE = frozenset({"article", "main"})
_BLOCKS = frozenset(
    "address article aside blockquote body center dd details dialog dir div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend li main menu nav ol p pre section summary "
    "table caption thead tbody tfoot tr ul".split()
)
_CELLS = frozenset({"td", "th"})
# Navigation containers of government sites by class or id: 导航/菜单, 面包屑/当前位置, 页脚/版权, 分享.
# "bottom", "foot", "position" and "location" count only as whole names (border-bottom is a style).
_NAV_NAME_RE = re.compile(
    r"(?:[a-z0-9]+[-_]+)?(?:[a-z]*nav(?:bar|igation)?|[a-z]*menu|breadcrumbs?|crumbs?|footer|copyright|share)"
    r"(?:\d+|[-_]+[a-z0-9_-]*)?"  # main-nav, subnav, nav2, footer-links, share-box
    r"|(?:bottom|foot|position|location|weizhi|dqwz)\d*"
)
_CRUMB_TEXT_RE = re.compile(r"\s*(?:您(?:现在)?的|您?(?:当前|所在))位置")  # 当前位置：首页 > …
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_ASCII_WS_RE = re.compile(r"([ \t\n\r\f]+)")
# Wide characters: a line break between two of them is dropped, not turned into a space (CSS Text 3).
_WIDE_RE = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")


def decode_html(raw: bytes, name: str) -> str:
    """Bytes of a saved .html/.htm page → its visible text."""
    _check_bytes(raw, name)
    return _page_text(raw, name, declared=None)


def decode_mhtml(raw: bytes, name: str) -> str:
    """Bytes of an .mhtml/.mht archive (MIME multipart/related) → the visible text of its page."""
    _check_bytes(raw, name)
    import email
    import email.policy

    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    if not message.keys():
        if raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):  # some tools save plain HTML as .mht
            return _page_text(raw, name, declared=None)
        raise ExtractionError(f"文件 {name} 不是有效的 MHTML 网页存档：开头没有 MIME 邮件头")
    if not message.is_multipart() and message.get_content_maintype() != "text":
        raise ExtractionError(f"文件 {name} 不是有效的 MHTML 网页存档：内容类型是 {message.get_content_type()}")
    part = next((p for p in message.walk() if p.get_content_type() == "text/html"), None)
    if part is None:
        raise ExtractionError(f"文件 {name} 是 MHTML 网页存档，但其中没有网页（text/html）部分，无法读取正文")
    payload = part.get_payload(decode=True) or b""  # undoes quoted-printable / base64
    if not payload.strip():
        raise ExtractionError(f"文件 {name} 中的网页部分是空的，没有可读取的内容")
    return _page_text(payload, name, declared=part.get_content_charset())


def _check_bytes(raw: bytes, name: str) -> None:
    if not raw or raw.isspace():
        raise ExtractionError(f"文件 {name} 是空文件，没有可读取的内容")
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            raise ExtractionError(f"文件 {name} 不是网页文件：它实际上是{what}")
    if b"\x00" in raw[:_SNIFF_BYTES] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ExtractionError(f"文件 {name} 不是网页文件（含有二进制内容），无法读取")


def _page_text(raw: bytes, name: str, declared: str | None) -> str:
    source = decode_page(raw, declared)
    if not _TAG_RE.search(source):
        raise ExtractionError(
            f"文件 {name} 不是网页（HTML）文件：内容里没有任何 HTML 标签；如果它是纯文本，请把扩展名改为 .txt"
        )
    text = visible_text(source)
    if not text or text.isspace():
        raise ExtractionError(
            f"文件 {name} 是网页，但没有可见的文字内容（正文可能由脚本加载）：请在浏览器中打开后"
            f"另存为“网页，单个文件（.mhtml）”，或复制正文保存为 .txt 后重试"
        )
    return text


def decode_page(raw: bytes, declared: str | None = None) -> str:
    """The page's characters: BOM, else valid UTF-8, else the declared charset, else GB18030.

    Valid UTF-8 wins over a declaration: pages moved to a new CMS often keep a stale
    `charset=gb2312`, and GBK text practically never forms valid UTF-8.
    """
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return raw[len(bom) :].decode(encoding, "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    encoding = _codec(declared) or _codec(_sniff(raw)) or "gb18030"
    for candidate in dict.fromkeys((encoding, "gb18030")):
        try:
            return raw.decode(candidate)
        except UnicodeDecodeError:
            continue
    return raw.decode(encoding, "replace")  # as a browser shows it: a few broken bytes become �


def _sniff(raw: bytes) -> str | None:
    m = _DECLARED_RE.search(raw, 0, _SNIFF_BYTES)
    return (m.group(1) or m.group(2)).decode("ascii") if m else None


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower()
    if label in _GB_LABELS:
        return "gb18030"
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return None if name.startswith("utf-16") else name  # a <meta> cannot declare UTF-16: browsers read UTF-8


def visible_text(source: str) -> str:
    """The visible text of an HTML document given as str."""
    from selectolax.lexbor import LexborHTMLParser  # lazily: CLI start-up on .txt reports should not pay for it

    node = LexborHTMLParser(source).root  # HTML5 tree building: the tree the browser showed
    out = _Lines()
    opened: list[str] = []  # the elements the walk is inside, for their ends
    in_article = in_pre = 0
    while node is not None:  # depth first by sibling and parent links: no recursion, no depth limit
        tag = node.tag
        if tag == "-text":
            out.add(node.text_content, in_pre)
        elif tag[0] not in "-!_":  # not a comment or doctype
            if tag in _BLOCKS:
                out.newline()
            elif tag in _CELLS:
                out.tab()
            elif tag == "br":
                out.newline(forced=True)
            child = node.first_child
            lead = child.text_content if child is not None and child.tag == "-text" else None
            if not _dropped(tag, node.attributes, lead, in_article):
                if child is not None:
                    opened.append(tag)
                    in_article += tag in _ARTICLE
                    in_pre += tag == "pre"
                    node = child
                    continue
            if tag in _BLOCKS:  # its end: dropped, or empty
                out.newline()
        following = node.next
        while following is None and opened:  # the last child: close its parents
            node = node.parent
            tag = opened.pop()
            in_article -= tag in _ARTICLE
            in_pre -= tag == "pre"
            if tag in _BLOCKS:
                out.newline()
            following = node.next
        node = following
    return out.text()


def _dropped(tag: str, attrs: dict, lead: str | None, in_article: int) -> bool:
    """Not part of the page's text: unseen, hidden, or the site's navigation (`lead`: the element's
    leading text, for breadcrumbs without a class)."""
    if tag in _UNSEEN or (tag in _PAGE_PARTS and not in_article):
        return True
    if attrs:
        if "hidden" in attrs or attrs.get("role") == "navigation":
            return True
        style = attrs.get("style")
        if style and _HIDDEN_STYLE_RE.search(style):
            return True
        for key in ("class", "id"):
            value = attrs.get(key)
            if value and any(_NAV_NAME_RE.fullmatch(word) for word in value.lower().split()):
                return True
    return lead is not None and _CRUMB_TEXT_RE.match(lead) is not None


class _Lines:
    """Text collected line by line, white space collapsed as a browser renders it."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.line: list[str] = []
        self.space = ""  # collapsed white space waiting for the next word: "", " " or "\n" (a source line break)

    def add(self, s: str | None, pre: int = 0) -> None:
        if not s:
            return
        if pre:
            first, *rest = s.replace("\r\n", "\n").split("\n")
            self._word(first, "")
            for part in rest:
                self.newline(forced=True)
                self._word(part, "")
            return
        for i, piece in enumerate(_ASCII_WS_RE.split(s)):
            if i % 2:  # a run of white space
                self.space = "\n" if "\n" in piece or "\r" in piece or self.space == "\n" else " "
            elif piece:
                self._word(piece, self.space)
                self.space = ""

    def _word(self, piece: str, space: str) -> None:
        line = self.line
        if space and line and not (space == "\n" and _WIDE_RE.match(line[-1][-1]) and _WIDE_RE.match(piece)):
            line.append(" ")
        if piece:
            line.append(piece)

    def tab(self) -> None:
        if self.line:
            self.line.append("\t")
        self.space = ""

    def newline(self, forced: bool = False) -> None:
        if self.line:
            self.lines.append("".join(self.line))
            self.line = []
        elif forced:
            self.lines.append("")
        self.space = ""

    def text(self) -> str:
        self.newline()
        out: list[str] = []
        for line in self.lines:
            line = line.rstrip(" \t")
            if not line or line.isspace():  # a paragraph of only &nbsp; is a blank line
                if out and out[-1]:
                    out.append("")
            else:
                out.append(line)
        while out and not out[-1]:
            out.pop()
        return "\n".join(out)
