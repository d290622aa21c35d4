"""How things are written for people, in one place: dates and times (2024年3月1日, in Asia/Shanghai),
number words, percentages, a township's unit word and the small pieces of official prose the
year-end sections and messages are made of."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime

from tracker.config import TZ


def cn_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(TZ).date()
    return f"{value.year}年{value.month}月{value.day}日"


def cn_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(TZ)
    return f"{cn_date(local)} {local:%H:%M}"


_DIGITS = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """1 → 一, 10 → 十, 11 → 十一, 20 → 二十, 23 → 二十三; 100 and above stay in digits."""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")
    return head + (_DIGITS[ones] if ones else "")


def ordinal(n: int) -> str:
    """The enumeration lead of official prose: 一是、二是……十是、十一是."""
    return f"{cn_number(n)}是"


def percent(part: int, whole: int) -> int:
    """An integer percentage, halves rounded up (3 of 8 → 38)."""
    return (200 * part + whole) // (2 * whole) if whole else 0


def cn_month(day: date) -> str:
    return f"{day.year}年{day.month}月"


def cn_by(day: date) -> str:
    """A target date as written in plans: 2025年3月底 for a month's last day, else 2025年3月15日."""
    if day.day == calendar.monthrange(day.year, day.month)[1]:
        return f"{day.year}年{day.month}月底"
    return f"{day.year}年{day.month}月{day.day}日"


def unit_word(township: str) -> str:
    """我镇 / 我乡 / 我街道: the word a township uses for itself."""
    for suffix in ("街道办事处", "街道", "镇", "乡"):
        if township.endswith(suffix):
            return "街道" if suffix.startswith("街道") else suffix
    return "单位"


_TRAILING = re.compile(r"[\s。；;，,、：:.！!]+$")
_LEADING_NUMBER = re.compile(r"^\s*(?:[（(]?[一二三四五六七八九十\d]+[)）.、．]|[①-⑳])\s*")


def problem_phrase(title: str) -> str:
    """A shortcoming's title made to fit 针对……的问题."""
    text = _TRAILING.sub("", _LEADING_NUMBER.sub("", title.strip()))
    for tail in ("的问题", "问题"):
        if text.endswith(tail) and len(text) > len(tail) + 1:
            return text[: -len(tail)]
    return text


_SENTENCE_END = re.compile(r"[。！!？?\n]+")
_CLAUSE_END = re.compile(r"[；;]+")
_NOTE_NUMBER = re.compile(r"^\s*(?:[（(]?[一二三四五六七八九十\d]+[)）.、．](?!\d)|[①-⑳])\s*")
_LEADING = re.compile(r"^[\s，,、：:；;]+")


def measures(notes: list[str], *, leave_out: tuple[str, ...] = ()) -> str:
    """Progress notes written as sentences: each note split into its sentences, trimmed, numbering
    (1. / （一）/ ①) dropped, clauses said before dropped, then sentences said again with more in
    another; each ends with 。. A sentence holding any word of `leave_out` is left out."""
    seen: set[str] = set()
    sentences: list[str] = []
    for note in notes:
        for part in _SENTENCE_END.split(note):
            if any(word in part for word in leave_out):
                continue
            clauses = []
            for clause in _CLAUSE_END.split(_NOTE_NUMBER.sub("", part.strip())):
                clause = _TRAILING.sub("", _LEADING.sub("", clause.strip()))
                key = re.sub(r"\s+", "", clause)
                if key and key not in seen:
                    seen.add(key)
                    clauses.append(clause)
            if clauses:
                sentences.append("；".join(clauses))
    kept = [s for i, s in enumerate(sentences) if not any(i != j and s in other for j, other in enumerate(sentences))]
    return "".join(f"{s}。" for s in kept)


QUOTED = 3  # titles named in a list before it ends in 等


def quoted(titles: list[str]) -> str:
    """“甲”“乙”“丙”等 — at most QUOTED titles named."""
    shown = "".join(f"“{problem_phrase(t)}”" for t in titles[:QUOTED])
    return shown + ("等" if len(titles) > QUOTED else "")
