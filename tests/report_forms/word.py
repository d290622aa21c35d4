"""A report as a .docx whose enumeration markers come from Word's automatic numbering.

`auto_numbered_docx(text)` takes a report's text, removes each paragraph's leading marker (一、 （一）
（1） (1) 1. 1、 ①) and numbers the paragraph through numbering.xml instead, so that Word shows
exactly the marker the text had. It returns the .docx bytes and the text Word displays: the input
with the leading blanks of numbered paragraphs dropped (Word indents them by paragraph format).

Two layouts, both restarting each inner list under a new heading as the reports do:
- "direct": one abstractNum per marker family, every numbered paragraph with its own w:numPr; a
  list that must start again (a new section, a skipped number) gets a new w:num with a startOverride.
- "heading": one three-level abstractNum (一、 / （一） / （1）) whose level 0 is bound to the
  Heading 1 paragraph style, which carries the numbering; top-level headings are numbered by their
  style alone, inner levels restart by w:lvlRestart and the default restart rule.
A marker followed by one space gets w:suff "space"; a marker unlike its level's definition (1. in the
（1） level, a space after one heading only) gets a new num with a full w:lvl override.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import docx
from docx.oxml import parse_xml

from tracker.extraction.numerals import to_int

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

# A paragraph's leading marker; `sp` is one space that Word's "space" suffix gives.
MARKER_RE = re.compile(
    r"(?P<ws>[ \t\u3000]*)"
    r"(?:(?P<top>[一二三四五六七八九十百]{1,4})、"
    r"|（(?P<sub>[一二三四五六七八九十]{1,3})）"
    r"|(?P<po>[（(])(?P<paren>\d{1,2})(?P<pc>[)）])"
    r"|(?P<dot>\d{1,2})(?P<sep>[.、．])(?!\d)"
    r"|(?P<circle>[①-⑳]))"
    r"(?P<sp> (?! ))?"
)


@dataclass(frozen=True)
class LevelDef:
    fmt: str
    text: str  # lvlText
    suffix: str = "nothing"  # w:suff

    def xml(self, ilvl: int, start: int = 1, restart: int | None = None, style: str | None = None) -> str:
        return (
            f'<w:lvl w:ilvl="{ilvl}"><w:start w:val="{start}"/><w:numFmt w:val="{self.fmt}"/>'
            + (f'<w:lvlRestart w:val="{restart}"/>' if restart is not None else "")
            + (f'<w:pStyle w:val="{style}"/>' if style else "")
            + f'<w:suff w:val="{self.suffix}"/><w:lvlText w:val="{self.text}"/><w:lvlJc w:val="left"/></w:lvl>'
        )


@dataclass
class _Num:
    num_id: int
    abstract: int
    starts: dict[int, int] = field(default_factory=dict)
    levels: dict[int, LevelDef] = field(default_factory=dict)  # full level overrides


class _Lists:
    """The nums written so far and the counters Word keeps for them, to reuse a num when continuing
    it shows the wanted number and to add a num with a startOverride when not."""

    def __init__(self, abstracts: dict[int, dict[int, LevelDef]]) -> None:
        self.abstracts = abstracts
        self.nums: list[_Num] = []
        self.counters = {a: [None] * 9 for a in abstracts}
        self.started: set[tuple[int, int]] = set()

    def add(self, abstract: int, starts=None, levels=None) -> _Num:
        num = _Num(len(self.nums) + 1, abstract, starts or {}, levels or {})
        self.nums.append(num)
        return num

    def _level(self, num: _Num, ilvl: int) -> LevelDef:
        return num.levels.get(ilvl) or self.abstracts[num.abstract][ilvl]

    def _next(self, num: _Num, ilvl: int) -> int:
        if ilvl in num.starts and (num.num_id, ilvl) not in self.started:
            return num.starts[ilvl]
        current = self.counters[num.abstract][ilvl]
        return num.starts.get(ilvl, 1) if current is None else current + 1

    def number(self, abstract: int, ilvl: int, want: LevelDef, value: int, prefer: int | None = None) -> _Num:
        """A num that shows `value` in `want`'s form at this paragraph, its counters advanced."""
        candidates = [n for n in self.nums if n.abstract == abstract and self._level(n, ilvl) == want]
        candidates.sort(key=lambda n: n.num_id != prefer)
        num = next((n for n in candidates if self._next(n, ilvl) == value), None)
        if num is None:
            base = self.abstracts[abstract][ilvl]
            num = self.add(abstract, {ilvl: value}, {} if base == want else {ilvl: want})
        counters = self.counters[abstract]
        counters[ilvl] = self._next(num, ilvl)
        self.started.add((num.num_id, ilvl))
        counters[ilvl + 1 :] = [None] * (8 - ilvl)  # every deeper level restarts (default rule, lvlRestart 1)
        return num

    def xml(self, outline_style: str | None) -> str:
        out = [f'<w:numbering xmlns:w="{W_NS}">']
        for aid, levels in self.abstracts.items():
            out.append(f'<w:abstractNum w:abstractNumId="{aid}">')
            for ilvl, lv in levels.items():
                out.append(
                    lv.xml(
                        ilvl,
                        restart=1 if outline_style and ilvl == 1 else None,
                        style=outline_style if ilvl == 0 else None,
                    )
                )
            out.append("</w:abstractNum>")
        for num in self.nums:
            out.append(f'<w:num w:numId="{num.num_id}"><w:abstractNumId w:val="{num.abstract}"/>')
            for ilvl in sorted(num.starts.keys() | num.levels.keys()):
                out.append(f'<w:lvlOverride w:ilvl="{ilvl}">')
                if ilvl in num.starts:
                    out.append(f'<w:startOverride w:val="{num.starts[ilvl]}"/>')
                if ilvl in num.levels:
                    out.append(num.levels[ilvl].xml(ilvl, start=num.starts.get(ilvl, 1)))
                out.append("</w:lvlOverride>")
            out.append("</w:num>")
        out.append("</w:numbering>")
        return "".join(out)


def _marker(m: re.Match) -> tuple[str, int, LevelDef, int]:
    """(family, level in the outline, the level definition that shows it, its number)."""
    suffix = "space" if m["sp"] else "nothing"
    if m["top"]:
        return "top", 0, LevelDef("chineseCountingThousand", "%1、", suffix), to_int(m["top"])
    if m["sub"]:
        return "sub", 1, LevelDef("chineseCounting", "（%2）", suffix), to_int(m["sub"])
    if m["paren"]:
        return "dec", 2, LevelDef("decimal", f"{m['po']}%3{m['pc']}", suffix), int(m["paren"])
    if m["dot"]:
        return "dec", 2, LevelDef("decimal", f"%3{m['sep']}", suffix), int(m["dot"])
    return "dec", 2, LevelDef("decimalEnclosedCircle", "%3", suffix), ord(m["circle"]) - 0x2460 + 1


_OUTLINE = {
    0: LevelDef("chineseCountingThousand", "%1、"),
    1: LevelDef("chineseCounting", "（%2）"),
    2: LevelDef("decimal", "（%3）"),
}
_FAMILY_ABSTRACT = {"top": 1, "sub": 2, "dec": 3}  # "direct": one single-level abstractNum per family


def auto_numbered_docx(text: str, *, layout: str = "direct") -> tuple[bytes, str]:
    """(the .docx bytes, the text Word displays) of `text` with its markers as automatic numbering."""
    assert layout in ("direct", "heading"), layout
    heading = layout == "heading"
    if heading:
        lists = _Lists({1: dict(_OUTLINE)})
        style_num = lists.add(1)  # the num Heading 1 carries
    else:
        lists = _Lists(
            {1: {0: _OUTLINE[0]}, 2: {0: LevelDef("chineseCounting", "（%1）")}, 3: {0: LevelDef("decimal", "（%1）")}}
        )
        for aid in lists.abstracts:  # the first list of each family needs no override
            lists.add(aid)
    document = docx.Document()
    shown = []
    for line in text.split("\n"):
        m = MARKER_RE.match(line)
        if m is None:
            document.add_paragraph(line)
            shown.append(line)
            continue
        family, ilvl, want, value = _marker(m)
        rest = line[m.end() :]
        shown.append(line[len(m["ws"]) :])
        if heading:
            num = lists.number(1, ilvl, want, value, prefer=style_num.num_id if ilvl == 0 else None)
        else:
            want = LevelDef(want.fmt, want.text.replace(f"%{ilvl + 1}", "%1"), want.suffix)
            num, ilvl = lists.number(_FAMILY_ABSTRACT[family], 0, want, value), 0
        if heading and family == "top":
            p = document.add_paragraph(rest, style="Heading 1")
            if num is not style_num:  # an override num: direct numPr beats the style's
                _set_num_pr(p, num.num_id, ilvl)
        else:
            p = document.add_paragraph(rest)
            _set_num_pr(p, num.num_id, ilvl)
    numbering = document.part.numbering_part
    numbering._element = parse_xml(lists.xml("Heading1" if heading else None))
    if heading:  # numId only: the level comes from the abstractNum level bound to the style
        num_pr = document.styles["Heading 1"].element.get_or_add_pPr().get_or_add_numPr()
        num_pr.get_or_add_numId().val = style_num.num_id
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue(), "\n".join(shown)


def _set_num_pr(paragraph, num_id: int, ilvl: int) -> None:
    num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()  # python-docx keeps the schema's child order
    num_pr.get_or_add_ilvl().val = ilvl
    num_pr.get_or_add_numId().val = num_id
