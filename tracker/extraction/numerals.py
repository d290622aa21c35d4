"""Numbers as the reports write them: 12, 十二, 二〇二四, ③."""

from __future__ import annotations

import datetime
import re

from tracker.extraction.cleaning import HS

CN_NUM = "一二三四五六七八九十"
_DIGITS = {ch: i for i, ch in enumerate("〇一二三四五六七八九")} | {"○": 0, "零": 0, "O": 0, "Ｏ": 0, "o": 0}
_CIRCLED = ((0x2460, 20), (0x2474, 20), (0x3220, 10))  # ①..⑳, ⑴..⒇, ㈠..㈩
CIRCLED_CHARS = "①-⑳⑴-⒇㈠-㈩"

# A full date; digits may carry conversion spaces ("2024 年 1 月 5 日").
DATE = (
    rf"(?P<y>2{HS}?0{HS}?\d{HS}?\d|[〇○零OＯ一二三四五六七八九]{{4}}){HS}*年{HS}*"
    rf"(?P<m>\d{{1,2}}|[{CN_NUM}]{{1,2}}){HS}*月{HS}*(?P<d>\d{{1,2}}|[{CN_NUM}]{{1,3}}){HS}*日"
)


def to_int(s: str) -> int:
    """12 / 十二 / 二十五 / 二〇二四 / ③ → int (0 when it is none of these)."""
    n = ENUM_NUMBERS.get(s)
    return _parse(s) if n is None else n


def _parse(s: str) -> int:
    s = "".join(s.split())
    if s.isdecimal():
        return int(s)
    if len(s) == 1:
        code = ord(s)
        for base, count in _CIRCLED:
            if base <= code < base + count:
                return code - base + 1
    if "十" in s:
        tens, _, ones = s.partition("十")
        return (_DIGITS.get(tens, 0) if tens else 1) * 10 + (_DIGITS.get(ones, 0) if ones else 0)
    n = 0
    for ch in s:
        if ch not in _DIGITS:
            return 0
        n = n * 10 + _DIGITS[ch]
    return n


# Enumeration numbers (1–99, 一–九十九, ①…): looked up, not parsed, on the hot path.
ENUM_NUMBERS = {
    k: _parse(k)
    for k in (
        *(str(i) for i in range(1, 100)),
        *(chr(base + i) for base, count in _CIRCLED for i in range(count)),
        *"一二三四五六七八九",
        *(tens + "十" + ones for tens in ("", *"二三四五六七八九") for ones in ("", *"一二三四五六七八九")),
    )
}


def date_from(m: re.Match) -> datetime.date | None:
    try:
        return datetime.date(to_int(m["y"]), to_int(m["m"]), to_int(m["d"]))
    except ValueError:
        return None
