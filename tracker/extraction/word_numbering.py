"""Word's automatic list numbering (numbering.xml), rendered as Word displays it.

A .docx from an OA system often carries 一、/（一）/（1） as list numbering, which is not in the
paragraph text. `ListNumbers.label(p)` gives a paragraph's displayed number (with its suffix), the
paragraphs taken in document order. Counters are kept per abstractNum as Word does: two nums that
share an abstractNum continue one sequence unless a startOverride restarts it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W_VAL = f"{W}val"
W_ILVL = f"{W}ilvl"
W_PPR = f"{W}pPr"
W_NUMPR = f"{W}numPr"
W_NUMID = f"{W}numId"
W_PSTYLE = f"{W}pStyle"
LEVELS = 9
_PLACEHOLDER_RE = re.compile(r"%([1-9])")


@dataclass(slots=True)
class Level:
    start: int = 0  # Word's default when w:start is missing
    fmt: str = "decimal"
    parts: tuple = ()  # lvlText as strings and level indexes (for %1..%9)
    restart: int | None = None  # w:lvlRestart: restart after this 1-based level or an earlier one; 0 never
    legal: bool = False  # w:isLgl: every number shown in decimal
    suffix: str = ""  # w:suff: tab and nothing render as nothing, space as " "
    style: str | None = None  # w:pStyle: the paragraph style bound to this level


@dataclass(slots=True)
class _Num:
    abstract: str | None
    starts: dict[int, int] = field(default_factory=dict)  # w:startOverride per level
    levels: dict[int, Level] = field(default_factory=dict)  # a full w:lvl override per level


def _int(el, default: int | None = None) -> int | None:
    if el is None:
        return default
    try:
        return int(el.get(W_VAL))
    except (TypeError, ValueError):
        return default


def _parse_level(lvl) -> Level:
    level = Level(start=_int(lvl.find(f"{W}start"), 0))
    fmt = lvl.find(f"{W}numFmt")
    if fmt is not None:
        level.fmt = fmt.get(W_VAL) or "decimal"
    text = lvl.find(f"{W}lvlText")
    value = text.get(W_VAL, "") if text is not None else ""
    pieces = _PLACEHOLDER_RE.split(value)  # odd positions are the level numbers of %1..%9
    level.parts = tuple(int(p) - 1 if i % 2 else p for i, p in enumerate(pieces) if i % 2 or p)
    level.restart = _int(lvl.find(f"{W}lvlRestart"))
    legal = lvl.find(f"{W}isLgl")
    level.legal = legal is not None and legal.get(W_VAL, "true") not in ("0", "false", "off")
    suff = lvl.find(f"{W}suff")
    level.suffix = " " if suff is not None and suff.get(W_VAL) == "space" else ""
    style = lvl.find(W_PSTYLE)
    level.style = style.get(W_VAL) if style is not None else None
    return level


def _levels(parent) -> dict[int, Level]:
    return {_int_attr(lvl, W_ILVL): _parse_level(lvl) for lvl in parent.iterfind(f"{W}lvl")}


def _int_attr(el, name: str) -> int:
    try:
        return int(el.get(name, 0))
    except ValueError:
        return 0


def _num_pr(ppr) -> tuple[int | None, int | None]:
    """(numId, ilvl) of a pPr's w:numPr, each None when absent."""
    if ppr is None:
        return None, None
    num_pr = ppr.find(W_NUMPR)
    if num_pr is None:
        return None, None
    return _int(num_pr.find(W_NUMID)), _int(num_pr.find(f"{W}ilvl"))


class ListNumbers:
    """The numbering of one document, parsed once; `label` advances the counters as Word does."""

    def __init__(self, numbering, styles=None) -> None:
        self._abstracts: dict[str, dict[int, Level]] = {}
        self._style_links: dict[str, str] = {}  # abstractNum → the numbering style it takes its levels from
        for ab in numbering.iterfind(f"{W}abstractNum"):
            aid = ab.get(f"{W}abstractNumId")
            self._abstracts[aid] = _levels(ab)
            link = ab.find(f"{W}numStyleLink")
            if link is not None and link.get(W_VAL):
                self._style_links[aid] = link.get(W_VAL)
        self._nums: dict[int, _Num] = {}
        for num in numbering.iterfind(f"{W}num"):
            ab = num.find(f"{W}abstractNumId")
            entry = _Num(ab.get(W_VAL) if ab is not None else None)
            for override in num.iterfind(f"{W}lvlOverride"):
                ilvl = _int_attr(override, W_ILVL)
                start = _int(override.find(f"{W}startOverride"))
                if start is not None:
                    entry.starts[ilvl] = start
                lvl = override.find(f"{W}lvl")
                if lvl is not None:
                    entry.levels[ilvl] = _parse_level(lvl)
            self._nums[_int_attr(num, f"{W}numId")] = entry
        # paragraph styles: id → (basedOn, numId, ilvl); the default style applies to unstyled paragraphs
        self._styles: dict[str, tuple[str | None, int | None, int | None]] = {}
        self._default_style: str | None = None
        if styles is not None:
            for st in styles.iterfind(f"{W}style"):
                if st.get(f"{W}type") not in (None, "paragraph", "numbering"):
                    continue
                sid = st.get(f"{W}styleId")
                based = st.find(f"{W}basedOn")
                self._styles[sid] = (based.get(W_VAL) if based is not None else None, *_num_pr(st.find(W_PPR)))
                if st.get(f"{W}default") in ("1", "true", "on") and st.get(f"{W}type") == "paragraph":
                    self._default_style = sid
        self._style_cache: dict[str | None, tuple[int | None, int | None]] = {}
        self._resolved: dict[int, tuple[str, list[Level | None], list[int]] | None] = {}
        self._counters: dict[str, list[int | None]] = {}  # per abstractNum; None = not used since a restart
        self._started: set[tuple[int, int]] = set()  # (numId, ilvl) whose startOverride was applied

    def label(self, p) -> str:
        """The number Word shows before paragraph `p` (a w:p element), "" for none; call in document order."""
        ppr = p.find(W_PPR)
        num_id, ilvl = _num_pr(ppr)
        style = None
        if num_id is None or ilvl is None:
            sty = ppr.find(W_PSTYLE) if ppr is not None else None
            style = sty.get(W_VAL) if sty is not None else self._default_style
            if style is not None:
                s_num, s_ilvl = self._style_numbering(style)
                num_id = s_num if num_id is None else num_id
                ilvl = s_ilvl if ilvl is None else ilvl
        if not num_id:  # absent, or 0: "no numbering" (also removes a style's numbering)
            return ""
        resolved = self._resolve(num_id)
        if resolved is None:
            return ""
        key, levels, starts = resolved
        if ilvl is None:  # a style bound to a level by the level's w:pStyle, else the first level
            ilvl = (
                next((i for i, lv in enumerate(levels) if lv is not None and lv.style == style), 0)
                if style is not None
                else 0
            )
        if not 0 <= ilvl < LEVELS or levels[ilvl] is None:
            return ""
        counters = self._counters.setdefault(key, [None] * LEVELS)
        if ilvl in self._nums[num_id].starts and (num_id, ilvl) not in self._started:
            self._started.add((num_id, ilvl))
            counters[ilvl] = None  # a startOverride restarts the sequence the first time its num is used
        current = counters[ilvl]
        counters[ilvl] = starts[ilvl] if current is None else current + 1
        for deeper in range(ilvl + 1, LEVELS):
            lv = levels[deeper]
            restart = lv.restart if lv is not None else None
            if restart is None or restart > deeper:  # default, or a restart level not above it: ignored
                counters[deeper] = None
            elif restart and ilvl < restart:
                counters[deeper] = None
        level = levels[ilvl]
        if level.fmt == "none" or not level.parts:
            return ""
        out = []
        for part in level.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = counters[part]
            if value is None:  # a level not used since its restart shows one below its start (1.0.1)
                value = starts[part] - 1
            ref = levels[part]
            fmt = "decimal" if level.legal else (ref.fmt if ref is not None else "decimal")
            out.append(format_number(value, fmt))
        return "".join(out) + level.suffix

    def _style_numbering(self, style: str) -> tuple[int | None, int | None]:
        """numId and ilvl a paragraph style gives, each from the nearest style of its basedOn chain."""
        found = self._style_cache.get(style)
        if found is None:
            num_id = ilvl = None
            seen = set()
            sid = style
            while sid is not None and sid not in seen and (num_id is None or ilvl is None):
                seen.add(sid)
                based, s_num, s_ilvl = self._styles.get(sid, (None, None, None))
                num_id = s_num if num_id is None else num_id
                ilvl = s_ilvl if ilvl is None else ilvl
                sid = based
            found = self._style_cache[style] = (num_id, ilvl)
        return found

    def _resolve(self, num_id: int):
        """(counter key, the nine effective levels, their start values) of a num, cached."""
        if num_id in self._resolved:
            return self._resolved[num_id]
        num = self._nums.get(num_id)
        resolved = None
        if num is not None:
            key = self._abstract_id(num.abstract)
            base = self._abstracts.get(key)
            if base is not None:
                levels = [num.levels.get(i, base.get(i)) for i in range(LEVELS)]
                starts = [num.starts.get(i, lv.start if lv is not None else 0) for i, lv in enumerate(levels)]
                resolved = (key, levels, starts)
        self._resolved[num_id] = resolved
        return resolved

    def _abstract_id(self, aid: str | None) -> str | None:
        """Follow w:numStyleLink → numbering style → its num → the abstractNum that holds the levels."""
        seen = set()
        while aid in self._style_links and aid not in seen:
            seen.add(aid)
            num_id, _ = self._style_numbering(self._style_links[aid])
            target = self._nums.get(num_id) if num_id else None
            if target is None or target.abstract is None:
                break
            aid = target.abstract
        return aid


# --- number formats -------------------------------------------------------------------------------

_CN_DIGITS = "〇一二三四五六七八九"
_CN_UNITS = ((1000, "千"), (100, "百"), (10, "十"))
_TIANGAN = "甲乙丙丁戊己庚辛壬癸"
_DIZHI = "子丑寅卯辰巳午未申酉戌亥"
_LEGAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_LEGAL_UNITS = ((1000, "仟"), (100, "佰"), (10, "拾"))
_ROMAN = (
    (1000, "m"),
    (900, "cm"),
    (500, "d"),
    (400, "cd"),
    (100, "c"),
    (90, "xc"),
    (50, "l"),
    (40, "xl"),
    (10, "x"),
    (9, "ix"),
    (5, "v"),
    (4, "iv"),
    (1, "i"),
)


def _chinese(n: int, digits: str = _CN_DIGITS, units=_CN_UNITS, bare_ten: bool = True) -> str:
    """1 一, 10 十, 11 十一, 20 二十, 101 一百零一, 110 一百一十, 2024 二千零二十四 (below 10000)."""
    if not 0 < n < 10000:
        return _digitwise(n)
    out, gap = [], False
    for value, unit in (*units, (1, "")):
        d, n = divmod(n, value)
        if not d:
            gap = bool(out)  # a zero inside the number is read once: 一百零一
            continue
        if gap:
            out.append("零")
            gap = False
        # 十一 not 一十一 when the number starts at the tens (formal numerals keep 壹拾)
        out.append(unit if bare_ten and d == 1 and value == 10 and not out else digits[d] + unit)
    return "".join(out)


def _chinese_counting(n: int) -> str:
    # Word's chineseCounting counts with 十 up to 99 and writes larger numbers digit by digit (一〇〇).
    return _chinese(n) if 0 < n < 100 else _digitwise(n)


def _digitwise(n: int) -> str:
    return "".join(_CN_DIGITS[int(d)] for d in str(n)) if n >= 0 else str(n)


def _enclosed(first: int, n: int) -> str:
    return chr(first + n - 1) if 1 <= n <= 20 else str(n)  # ①..⑳; Word falls back to digits after 20


def _letters(n: int, upper: bool) -> str:
    if not 0 < n <= 780:  # Word's own limit: zzz…z thirty times
        return str(n)
    ch = chr((ord("A") if upper else ord("a")) + (n - 1) % 26)
    return ch * ((n - 1) // 26 + 1)  # a..z, aa..zz, as Word repeats the letter


def _roman(n: int, upper: bool) -> str:
    if not 0 < n < 4000:
        return str(n)
    out = []
    for value, sym in _ROMAN:
        k, n = divmod(n, value)
        out.append(sym * k)
    text = "".join(out)
    return text.upper() if upper else text


_FORMATS = {
    "decimal": str,
    "decimalZero": lambda n: f"{n:02d}" if 0 <= n < 10 else str(n),
    "decimalFullWidth": lambda n: str(n).translate(_FULL_WIDTH),
    "decimalFullWidth2": lambda n: str(n).translate(_FULL_WIDTH),
    "chineseCounting": _chinese_counting,
    "chineseCountingThousand": _chinese,
    "japaneseCounting": _chinese,
    "ideographDigital": _digitwise,
    "chineseLegalSimplified": lambda n: _chinese(n, _LEGAL_DIGITS, _LEGAL_UNITS, bare_ten=False),
    "ideographTraditional": lambda n: _TIANGAN[(n - 1) % 10] if n > 0 else str(n),
    "ideographZodiac": lambda n: _DIZHI[(n - 1) % 12] if n > 0 else str(n),
    "decimalEnclosedCircle": lambda n: _enclosed(0x2460, n),
    "decimalEnclosedCircleChinese": lambda n: _enclosed(0x2460, n),
    "decimalEnclosedParen": lambda n: _enclosed(0x2474, n),  # ⑴
    "decimalEnclosedFullstop": lambda n: _enclosed(0x2488, n),  # ⒈
    "lowerLetter": lambda n: _letters(n, False),
    "upperLetter": lambda n: _letters(n, True),
    "lowerRoman": lambda n: _roman(n, False),
    "upperRoman": lambda n: _roman(n, True),
}
_FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


def format_number(n: int, fmt: str) -> str:
    """A counter value in a w:numFmt; unknown formats show decimal, as Word does for ones it lacks."""
    return _FORMATS.get(fmt, str)(n)
