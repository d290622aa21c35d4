"""Conversion noise and the display form of headings, titles and causes.

Offsets always point into the text as decoded, so noise is never removed from the document: the
patterns below let the other regexes step over it, and `clean` tidies the short strings we show.
"""

from __future__ import annotations

import re

HS = r"[^\S\n]"  # horizontal white space (also \r, full-width space, NBSP)
NOISE = r"(?:\[bookmark:[^\]\n]*\]|\*\*)"  # Word/PDF conversion leftovers
SKIP = rf"(?:{HS}|{NOISE})*"  # white space and noise before a line's first real character
CLAUSE_END = "。；;：:！？!?"
_NO_CUT_AFTER = CLAUSE_END + '，,、）)”"'  # a line ending in these was not cut by a page break

_NOISE_RE = re.compile(NOISE)
_CLAUSE_END_RE = re.compile(f"[{CLAUSE_END}]")
_LEAD_SKIP_RE = re.compile(rf"(?:\s|{NOISE})*")
_TRAIL_SKIP_RE = re.compile(rf"(?:\s|{NOISE})+\Z")


def clean(s: str) -> str:
    """Noise dropped, spaces beside CJK removed (conversion artefacts such as `2022 年`)."""
    if "[" in s or "*" in s:
        s = _NOISE_RE.sub("", s)
    parts = s.split()
    if len(parts) <= 1:
        return parts[0] if parts else ""
    out = [parts[0]]
    for prev, part in zip(parts, parts[1:], strict=False):  # words, not characters: a handful per title
        if prev[-1] <= "\x7f" and part[0] <= "\x7f":
            out.append(" ")
        out.append(part)
    return "".join(out)


def describe(s: str) -> str:
    """An item's text as a task description: each paragraph cleaned (furniture blanked to spaces and
    joined line breaks disappear with the spaces beside CJK), empty lines dropped."""
    return "\n".join(line for line in map(clean, s.split("\n")) if line)


def first_clause(s: str) -> str:
    """Up to the first 。；： (or the whole string), cleaned, without trailing commas."""
    m = _CLAUSE_END_RE.search(s)
    return clean(s[: m.start()] if m else s).rstrip("，,、")


def skip_start(text: str, start: int, end: int) -> int:
    """First position in [start, end) that is neither white space nor noise (end if none)."""
    return _LEAD_SKIP_RE.match(text, start, end).end()


def trim_end(text: str, start: int, end: int) -> int:
    """`end` moved back over trailing white space and noise, not before `start`."""
    stripped = len(text[start:end].rstrip())
    if stripped and text[start + stripped - 1] in "]*":
        m = _TRAIL_SKIP_RE.search(text, start, start + stripped)
        if m:
            stripped = m.start() - start
    return start + stripped


def join_page_cut(text: str, cleaned: str, line_end: int, end: int) -> tuple[str, int] | None:
    """A line (`cleaned` by `clean`, ending at `line_end`) cut by a page break goes on in the next
    line, which repeats its last character: (the two joined and cleaned, the next line's end), else None."""
    if not cleaned or cleaned[-1] in _NO_CUT_AFTER or line_end >= end:
        return None
    next_end = text.find("\n", line_end + 1, end)
    next_end = end if next_end < 0 else next_end
    if text.startswith(cleaned[-1], skip_start(text, line_end + 1, next_end)):
        return cleaned + clean(text[line_end + 1 : next_end])[1:], next_end
    return None
