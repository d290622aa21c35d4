#!/usr/bin/env python3
"""Synthetic township law-based-government reports (法治政府建设年度报告) for benchmarks.

The generator recombines the hand-written reports in ``samples/`` (located relative to this file):
it cuts every sample into its sections and items, using ``samples/expected.json`` to find where
each shortcoming / plan / cause / rectification item starts, and re-assembles new reports under
made-up township names and years. At load (~0.1 s) it pre-renders, per township type, banks of
section variants: items picked and shuffled, enumeration style switched (（一） / (1) / （1） / 1. /
1、 / ① / 一是 per line / inline 一是……二是……), headings varied, cause and 问题整改情况 sub-blocks
added. Each report then combines one variant of each section in one of several section orders,
under its own township, county and year, with some noise (document number,
``[bookmark: _GoBack]``, indentation, leading blank lines, ``（此件公开发布）``, no signing date).
About 10% of the files are GB18030, about 5% UTF-8 with a BOM, the rest plain UTF-8; sizes are
5–12 KB. Speed: about 30,000 reports/s on one core of this project's machines; deterministic for a seed.

Every report has exactly one township name (unique per index), one county, a report year Y whose
headings say Y / 上一年度 and a plan section for Y+1 (or 下一年度 / 下一步), 3–5 shortcomings,
3–5 plans, and optionally a separate cause list and a 问题整改情况 list. ``generate_annotated``
also yields what the extractor should find (unit, years, date, item counts).

Only the standard library. API::

    from gen_reports import generate
    for name, data in generate(38000, seed=1): ...

CLI::

    python bench/gen_reports.py N OUTDIR [--seed S]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"

# ---------------------------------------------------------------------------------------------
# Placeholder characters (control characters never found in the samples). Pieces of text are
# stored with them and filled per report by a few str.replace calls.
U = "\x02"  # the township (unit) name
C = "\x03"  # the county name without 县
Y_PREV, Y_CUR, Y_NEXT = "\x11", "\x12", "\x13"  # report year - 1, report year, report year + 1
# Township-type words, resolved when the pools are built (one pool set per type).
T_N, T_DW, T_ZF, T_HEAD, T_DW2 = "\x14", "\x15", "\x16", "\x17", "\x18"
TYPE_WORDS = {
    #        T_N     T_DW          T_ZF          T_HEAD        T_DW2
    "镇": ("镇", "镇党委", "镇政府", "镇长", "党委"),
    "乡": ("乡", "乡党委", "乡政府", "乡长", "党委"),
    "街道": ("街道", "街道党工委", "街道办事处", "办事处主任", "党工委"),
}
_PROTECT = "\x1f"

# Per source type: (old, new) replacements in order; "镇"/"乡"/"街道" left after the specific
# phrases are the generic type noun (全镇, 我乡, 街道名义 …).
_TYPE_RULES = {
    "镇": [
        ("集镇", _PROTECT + "1"),
        ("镇人民政府", T_ZF),
        ("镇党委", T_DW),
        ("镇政府", T_ZF),
        ("镇长", T_HEAD),
        ("镇", T_N),
        (_PROTECT + "1", "集镇"),
    ],
    "乡": [
        ("乡村振兴", _PROTECT + "1"),
        ("返乡", _PROTECT + "2"),
        ("乡人民政府", T_ZF),
        ("乡党委", T_DW),
        ("乡政府", T_ZF),
        ("乡长", T_HEAD),
        ("乡", T_N),
        (_PROTECT + "1", "乡村振兴"),
        (_PROTECT + "2", "返乡"),
    ],
    "街道": [("街道党工委", T_DW), ("街道办事处", T_ZF), ("办事处主任", T_HEAD), ("党工委", T_DW2), ("街道", T_N)],
}

CN_NUM = "一二三四五六七八九十"
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩"
HEADING_RE = re.compile(r"^\s*[一二三四五六七八九十]+、")
SUB_RE = re.compile(r"^(?:（[一二三四五六七八九十]+）|\d+、)")
MARKER_BEFORE_RE = re.compile(
    r"(?:[（(][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+[、.．是]|\d+[、.．]|[①-⑳])\s*$"
)
YEAR_RE = re.compile(r"(?<!\d)(20[0-4]\d)(?=\s*(?:年|\]|］|〕))")
DOC_NO_RE = re.compile(r"^\S{1,8}\s*[\[〔［]\s*20\d\d\s*[\]〕］]\s*\d+\s*号$")
DATE_RE = re.compile(r"^(?:20\d\d|[\x11-\x13])\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日$")
TITLE_END = re.compile(r"[。；\n]")

# ---------------------------------------------------------------------------------------------
# Township / county names: syllable lists; a name is unique per index (see unit_name).
FIRST = (
    "青石柳东西南北龙凤白黄红金银马牛高新大小长平安永太双三五七九桃杏梅兰竹松柏桂杨李张王陈刘赵孙周吴郑"
    "冯许何吕施沙泉溪河湖海江山岭峰坪坝塘沟湾桥关堡营寨庄店集铺屯井云雾霞彩丰兴盛昌隆富裕宝玉珠翠碧"
    "绿丹朱赤苍乌灵秀清明光辉华荣德仁义和顺宁静康乐福寿吉祥瑞嘉美良文武英春夏秋阳月星天雷雨风雪霜露林森茂"
    "芳草花果稻麦禾谷鹿鹤雁燕鸣凰麒狮虎豹象蒲芦苇荷菱莲藕樟槐榆桑枫杉柘桐楠橘柚枣梨李栗茶麻棉"
)
SECOND = (
    "河山岭桥坪湾塘沟口关集店铺庄寨营堡台坡源泉溪林田阳安丰兴平宁和泰昌盛隆化城岗峪川洲滩渡江湖池"
    "坊园亭楼阁寺洞崖岩石峰冈垭坳畈垄圩埠港浦汀渚屿岛头里上下门家旺福埔墩垣坎岙冲场坞陂泽滨浜汊沱涧"
    "潭渠堰闸坨梁峦岚峡谷原野屯卫驿站栈巷社甸坂汇泾洋阜丘垸寮桐"
)
COUNTY_FIRST = "澄岚汶沅涟漳淇渭澧溆湄洮沐滦濉泗汝颍浍淮沭潍"
COUNTY_SECOND = "阳宁安平川源江山城水丰德远昌化"


def _dedup(s: str, banned: str = "县区市村镇乡街道省州") -> str:
    out = []
    for ch in s:
        if ch not in out and ch not in banned:
            out.append(ch)
    return "".join(out)


FIRST = _dedup(FIRST)
SECOND = _dedup(SECOND)
_NA, _NB = len(FIRST), len(SECOND)
# two-character names (no doubled character): 镇 gets every pair, 乡 and 街道 the pairs whose
# second character is in the first half of SECOND
# stems of the townships in samples/ and ../shared/reports: never generated, so that synthetic
# reports cannot be taken for (or merged with) a real sample's township
RESERVED = {"鹤鸣", "柳溪", "北塘", "松岭", "西里", "孝敬", "西大"}
_PAIRS = [f + s for f in FIRST for s in SECOND if f != s and f + s not in RESERVED]
_HALF = [f + s for f in FIRST for s in SECOND[: _NB // 2] if f != s and f + s not in RESERVED]
_CAP = (("镇", _PAIRS), ("乡", _HALF), ("街道", _HALF))
_M2 = sum(len(names) for _, names in _CAP)


_STEPS: dict[int, int] = {}


def _coprime_step(m: int, seed: int) -> int:
    key = seed % 997
    if key not in _STEPS:
        step = 7919 + 2 * key
        while math.gcd(step, m) != 1:
            step += 1
        _STEPS[key] = step
    return _STEPS[key]


def unit_name(i: int, seed: int = 0) -> str:
    """The township name of report ``i``: distinct for distinct ``i`` (same seed)."""
    if i < _M2:
        j = (i * _coprime_step(_M2, seed) + seed * 104729) % _M2
        for suffix, names in _CAP:
            if j < len(names):
                return names[j] + suffix
            j -= len(names)
    # beyond the two-character space: FIRST digits (at least two) + SECOND + suffix
    k = i - _M2
    k, b = divmod(k, _NB)
    digits = []
    while k or len(digits) < 2:
        k, a = divmod(k, _NA)
        digits.append(FIRST[a])
    return "".join(reversed(digits)) + SECOND[b] + ("乡" if i % 5 == 0 else "镇")


# ---------------------------------------------------------------------------------------------
@dataclass
class Item:
    kind: str
    same: str  # "title。rest"  (marker on the same line)
    line: str  # "title\nrest"  (heading line, body on the next line)
    flat: str  # one paragraph, no line breaks, ends with punctuation
    state: str | None = None  # for rectification items


@dataclass
class Pools:
    intros: list[str] = field(default_factory=list)
    ach: list[tuple[str, str | None]] = field(default_factory=list)  # (text or title, body)
    duty: list[str] = field(default_factory=list)
    pre: list[str] = field(default_factory=list)  # preamble sentences of the shortcoming section
    short: list[Item] = field(default_factory=list)
    plan: list[Item] = field(default_factory=list)
    cause: list[str] = field(default_factory=list)
    rect: list[Item] = field(default_factory=list)


def _decode(raw: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")


def _unit_type(unit: str) -> str:
    return "街道" if unit.endswith("街道") else unit[-1]


def _clean(text: str, unit: str, counties: list[str], report_year: int) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"\[bookmark:[^\]]*\]|\*\*", "", text)
    lines = []
    for ln in text.split("\n"):
        ln = ln.strip(" \t\u3000")
        if DOC_NO_RE.match(ln) or ln == "（此件公开发布）":
            continue
        lines.append(ln)
    text = "\n".join(lines)
    text = text.replace(unit, U)
    for county in counties:
        text = text.replace(county + "县", C + "县")

    def year(m: re.Match) -> str:
        d = int(m.group(1)) - report_year
        return {-1: Y_PREV, 0: Y_CUR, 1: Y_NEXT}.get(d, m.group(1))

    text = YEAR_RE.sub(year, text)
    for old, new in _TYPE_RULES[_unit_type(unit)]:
        text = text.replace(old, new)
    return text


def _split_item(core: str, kind: str, state: str | None = None) -> Item:
    core = core.strip()
    m = TITLE_END.search(core)
    if m:
        title, rest = core[: m.start()], core[m.end() :].strip()
    else:
        title, rest = core, ""
    title = title.rstrip("，,：: ")
    same = title + "。" + rest if rest else title + "。"
    line = title + "\n" + rest if rest else title
    flat = same.replace("\n", "")
    if flat[-1] not in "。；！":
        flat += "。"
    return Item(kind, same, line, flat, state)


def _items_in(body: str, keys: list[str], end_marks: list[int]) -> list[tuple[int, int]]:
    """Spans (start at the marker, end before the next item / block) of the keyed items."""
    starts = []
    for k in keys:
        p = body.find(k)
        if p < 0:
            raise ValueError(f"key not found: {k}")
        m = MARKER_BEFORE_RE.search(body, max(0, p - 8), p)
        starts.append(m.start() if m else p)
    spans = []
    for i, s in enumerate(starts):
        nxt = [x for x in starts[i + 1 :] + end_marks if x > s]
        spans.append((s, min(nxt) if nxt else len(body)))
    return spans


def _strip_marker(s: str) -> str:
    return re.sub(
        r"^(?:[（(][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+[、.．是]|\d+[、.．]|[①-⑳])\s*", "", s
    )


def _section_kind(heading: str) -> str:
    if "不足" in heading or "存在问题" in heading or "存在的问题" in heading:
        return "short"
    if "第一责任人" in heading:
        return "duty"
    if "计划" in heading or "安排" in heading or "打算" in heading:
        return "plan"
    return "ach"


def _load_raw(samples_dir: Path) -> list[tuple[str, Pools]]:
    expected = json.loads((samples_dir / "expected.json").read_text(encoding="utf-8"))
    texts = [_decode((samples_dir / e["file"]).read_bytes()) for e in expected]
    # county names of the samples, from the addressee line (中共青岚县委、青岚县人民政府：)
    counties = sorted(
        {m for t in texts for m in re.findall(r"(?m)^\s*(?:中共)?([\u4e00-\u9fff]{2})县委[^\n：]{0,16}：\s*$", t)}
    )
    out = []
    for e, text in zip(expected, texts):
        text = _clean(text, e["unit"], counties, e["report_year"])
        ck = lambda keys, e=e: [_clean(k, e["unit"], counties, e["report_year"]) for k in keys]  # noqa: E731
        lines = text.split("\n")
        heads = [i for i, ln in enumerate(lines) if HEADING_RE.match(ln)]
        pools = Pools()
        # header: the intro is the longest line before the first heading
        header = [ln for ln in lines[: heads[0]] if ln]
        pools.intros.append(max(header, key=len))
        for n, h in enumerate(heads):
            end = heads[n + 1] if n + 1 < len(heads) else len(lines)
            body_lines = lines[h + 1 : end]
            # trailing signature / date / 特此报告 of the last section
            while body_lines and (
                not body_lines[-1]
                or DATE_RE.match(body_lines[-1])
                or body_lines[-1].startswith("特此报告")
                or U in body_lines[-1]
                and len(body_lines[-1]) < 30
            ):
                body_lines.pop()
            body = "\n".join(ln for ln in body_lines if ln)
            kind = _section_kind(lines[h])
            if kind == "ach":
                subs: list[list[str]] = []
                for ln in body.split("\n"):
                    if SUB_RE.match(ln) or not subs:
                        subs.append([ln])
                    else:
                        subs[-1].append(ln)
                for s in subs:
                    first = SUB_RE.sub("", s[0])
                    if len(s) > 1 and "。" not in first and len(first) < 40:
                        pools.ach.append((first, "\n".join(s[1:])))
                    else:
                        pools.ach.append(("\n".join([first] + s[1:]), None))
            elif kind == "duty":
                pools.duty.append(body)
            elif kind == "plan":
                for s, t in _items_in(body, ck(e["plans"]), []):
                    pools.plan.append(_split_item(_strip_marker(body[s:t]), "plan"))
            else:
                leads = [body.find(x) for x in ("主要原因是：", "问题整改情况：")]
                leads = [x for x in leads if x >= 0]
                spans = _items_in(body, ck(e["shortcomings"]), leads)
                pre = body[: spans[0][0]].replace("存在的问题主要有：", "").strip()
                if pre:
                    pools.pre.append(pre.replace("\n", ""))
                for s, t in spans:
                    pools.short.append(_split_item(_strip_marker(body[s:t]), "shortcoming"))
                for s, t in _items_in(body, ck(e["causes"]), [x for x in leads]):
                    pools.cause.append(_strip_marker(body[s:t]).strip().rstrip("；。"))
                # rectification_status runs parallel to rectifications: [earlier index, state]
                status = [st for _, st in e.get("rectification_status", [])]
                for n2, (s, t) in enumerate(_items_in(body, ck(e["rectifications"]), leads)):
                    pools.rect.append(
                        _split_item(
                            _strip_marker(body[s:t]), "rectification", status[n2] if n2 < len(status) else "正在整改"
                        )
                    )
        # causes written inside a shortcoming (原因是……) also feed the cause pool
        for _, c in e.get("inline_causes", []):
            p = text.find(_clean(c, e["unit"], counties, e["report_year"]))
            if p >= 0:
                end = text.find("。", p)
                pools.cause.append(text[p : end if end > 0 else len(text)])
        out.append((_unit_type(e["unit"]), pools))
    return out


def _resolve_type(s: str, t: str) -> str:
    n, dw, zf, head, dw2 = TYPE_WORDS[t]
    return s.replace(T_DW, dw).replace(T_ZF, zf).replace(T_HEAD, head).replace(T_DW2, dw2).replace(T_N, n)


# ---------------------------------------------------------------------------------------------
# Headings and fixed phrases (with placeholders).
SHORT_HEADS = (
    "推进法治政府建设存在的不足和原因",
    "存在的不足和原因",
    "存在问题",
    "存在的问题",
    Y_CUR + "年度法治政府建设存在的不足和原因",
    "上一年度推进法治政府建设存在的不足和原因",
)
SHORT_HEADS_RECT = (
    "存在的不足、原因和问题整改情况",
    "推进法治政府建设存在的不足、原因和问题整改情况",
    Y_CUR + "年度存在的不足、原因和问题整改情况",
)
PLAN_HEADS = (
    Y_NEXT + "年推进法治政府建设的主要计划安排",
    Y_NEXT + "年工作计划",
    Y_NEXT + "年法治政府建设工作安排",
    Y_NEXT + "年推进法治政府建设工作安排",
    "下一年度推进法治政府建设的初步安排",
    "下一年度推进法治政府建设的主要安排",
    "下一步工作打算",
)
ACH_HEADS = (
    "推进法治政府建设的主要举措和成效",
    Y_CUR + "年度推进法治政府建设的主要举措和成效",
    "工作开展情况",
    Y_CUR + "年法治政府建设主要举措和成效",
)
DUTY_HEADS = (
    "党政主要负责人履行推进法治建设第一责任人职责情况",
    Y_CUR + "年度党政主要负责人履行推进法治建设第一责任人职责，加强法治政府建设的有关情况",
)
TITLES = (
    "关于" + Y_CUR + "年度法治政府建设工作的报告",
    "关于" + Y_CUR + "年度法治政府建设情况的报告",
    U + Y_CUR + "年度法治政府建设工作总结",
    U + Y_CUR + "年法治政府建设工作总结",
)
ADDRESSEES = ("中共" + C + "县委、" + C + "县人民政府：", C + "县委、县人民政府：", "县委、县政府：")
PRE_GENERIC = (
    "一年来，我" + T_N + "法治政府建设取得了一定成效，但对照上级要求和群众期盼还有一定差距，主要表现在：",
    "对照法治政府建设的目标任务，我"
    + T_N
    + "工作中仍存在一些薄弱环节，离县委、县政府的要求还有一定差距。存在的问题主要有：",
)
# orders of the four sections: a=achievements d=duty s=shortcomings p=plan
ORDERS = ("adsp", "dasp", "asdp", "aspd", "asp", "adsp")  # adsp twice: the usual order
# enumeration styles for shortcomings / plans
STYLES = (
    "same_cn",
    "line_cn",
    "line_paren",
    "line_fparen",
    "same_dot",
    "same_dun",
    "line_dot",
    "same_circ",
    "per_line_shi",
    "inline_shi",
)


def _marker(style: str, i: int) -> str:
    if style in ("same_cn", "line_cn"):
        return f"（{CN_NUM[i]}）"
    if style == "line_paren":
        return f"({i + 1})"
    if style == "line_fparen":
        return f"（{i + 1}）"
    if style in ("same_dot", "line_dot"):
        return f"{i + 1}."
    if style == "same_dun":
        return f"{i + 1}、"
    if style == "same_circ":
        return CIRCLED[i]
    return CN_NUM[i] + "是"


_MARKERS = {s: [_marker(s, i) for i in range(10)] for s in STYLES}
_BODY = {s: (1 if s.startswith("line") else 2 if "shi" in s else 0) for s in STYLES}  # same/line/flat
_HEAD_MARK = [CN_NUM[i] + "、" for i in range(10)]
_SUB_MARK = [f"（{CN_NUM[i]}）" for i in range(10)] + ["（十一）", "（十二）"]


YEARS = range(2019, 2026)  # report years of generated reports
BANK = 1024  # pre-rendered variants per township type of each section (see _TypePools)


def _coprimes(m: int) -> tuple[int, ...]:
    return tuple(k for k in range(1, max(2, m)) if math.gcd(k, m) == 1) or (1,)


class _Pool:
    """A list plus the steps that walk it without repeats (start + k·step mod len)."""

    __slots__ = ("items", "steps", "n", "ns")

    def __init__(self, items: list):
        self.items = items
        self.n = len(items)
        self.steps = _coprimes(self.n)
        self.ns = len(self.steps)


def _pick(pool: _Pool, k: int, rnd) -> list:
    """k distinct elements of the pool in a random order."""
    n = pool.n
    k = min(k, n)
    start = int(rnd() * n)
    step = pool.steps[int(rnd() * pool.ns)]
    items = pool.items
    return [items[(start + j * step) % n] for j in range(k)]


def _render_list(
    parts: list[str], items: list[tuple[tuple, int, str | None]], style: str, preamble: str | None
) -> None:
    """Append an enumerated list to ``parts``."""
    marks = _MARKERS[style]
    body = _BODY[style]
    if style == "inline_shi":
        seg = [preamble or ""]
        for i, (d, _, _) in enumerate(items):
            seg.append(marks[i])
            seg.append(d[2])
        parts.append("".join(seg) + "\n")
        return
    if preamble:
        parts.append(preamble + "\n")
    for i, (d, _, _) in enumerate(items):
        parts.append(marks[i])
        parts.append(d[body])
        parts.append("\n")


_DONE = ("已完成", "已整改到位")


class _TypePools:
    """Everything for one township type (镇 / 乡 / 街道), with the type words filled in; the
    unit, county and year placeholders are left for the per-report str.replace.

    Generating a report must cost microseconds, so the sections are pre-rendered once into banks
    of variants (items picked and shuffled, enumeration style switched, sub-blocks added); a
    report then picks one variant of each section, which is what makes ~50,000 reports/s."""

    def __init__(self, raw: list[tuple[str, Pools]], t: str, rng: random.Random):
        r = lambda s: _resolve_type(s, t)  # noqa: E731
        intros, ach, duty, pre, short, plan, cause, rect = [], [], [], [], [], [], [], []
        for _, p in raw:
            intros += [r(x) + "\n" for x in p.intros]
            for a, b in p.ach:
                ach.append(r(a) + "\n" if b is None else r(a) + "\n" + r(b) + "\n")
            duty += [r(x) + "\n" for x in p.duty]
            pre += [r(x) for x in p.pre]
            for src, dst in ((p.short, short), (p.plan, plan), (p.rect, rect)):
                for it in src:
                    dst.append(((r(it.same), r(it.line), r(it.flat)), len(it.same), it.state))
            cause += [r(x) for x in p.cause]
        pre += [r(x) for x in PRE_GENERIC]
        rnd = rng.random
        self.intros = [(x, len(x)) for x in intros]
        self.duty = [(h + "\n" + d, len(h) + len(d)) for d in duty for h in (r(x) for x in DUTY_HEADS)]
        self.head_gov = {"镇": U + "人民政府", "乡": U + "人民政府", "街道": U + "办事处"}[t]
        self.org = ("中共" + U + "工作委员会" if t == "街道" else "中共" + U + "委员会") + " " + self.head_gov
        self.doc_org = {"镇": "政", "乡": "政", "街道": "街工"}[t]
        self.titles = [x + "\n" for x in TITLES]
        self.addressees = [x + "\n" for x in ADDRESSEES]
        rect_lead = (
            "问题整改情况：针对"
            + Y_PREV
            + "年度报告查摆的{k}个方面问题，"
            + ("街道" if t == "街道" else "我" + t)
            + "逐项建立整改台账，明确责任领导和整改时限，截至"
            + Y_CUR
            + "年12月底，已完成整改{a}项，正在整改{b}项，长期坚持{c}项。"
        )
        P_short, P_plan, P_cause, P_rect = _Pool(short), _Pool(plan), _Pool(cause), _Pool(rect)

        # shortcoming sections: (text with heading, size, #shortcomings, #causes, #rectifications)
        self.short_bank = []
        for _ in range(BANK):
            with_rect = rnd() < 0.5
            with_cause = rnd() < 0.2
            items = _pick(P_short, 3 + int(rnd() * 3), rnd)
            style = STYLES[int(rnd() * len(STYLES))]
            pr = pre[int(rnd() * len(pre))] if (style == "inline_shi" or rnd() < 0.3) else None
            heads = SHORT_HEADS_RECT if with_rect and rnd() < 0.6 else SHORT_HEADS
            parts = [heads[int(rnd() * len(heads))] + "\n"]
            _render_list(parts, items, style, pr)
            n_cause = n_rect = 0
            if with_cause:
                cs = _pick(P_cause, 2 + int(rnd() * 2), rnd)
                n_cause = len(cs)
                if rnd() < 0.5:
                    parts.append("主要原因是：" + "；".join(CN_NUM[k] + "是" + c for k, c in enumerate(cs)) + "。\n")
                else:
                    parts.append("主要原因是：\n" + "".join(CN_NUM[k] + "是" + c + "。\n" for k, c in enumerate(cs)))
            if with_rect:
                rs = _pick(P_rect, 2 + int(rnd() * 3), rnd)
                n_rect = len(rs)
                done = sum(1 for x in rs if x[2] in _DONE)
                longterm = sum(1 for x in rs if x[2] == "长期坚持")
                lead = rect_lead.format(k=n_rect, a=done, b=n_rect - done - longterm, c=longterm)
                if rnd() < 0.5:
                    parts.append(lead + "\n")
                    _render_list(parts, rs, "per_line_shi", None)
                else:
                    _render_list(parts, rs, "inline_shi", lead)
            text = "".join(parts)
            self.short_bank.append((text, len(text), len(items), n_cause, n_rect))

        # plan sections (any style but inline): (text with heading, size, #plans)
        self.plan_bank = []
        for _ in range(BANK):
            items = _pick(P_plan, 3 + int(rnd() * 3), rnd)
            parts = [PLAN_HEADS[int(rnd() * len(PLAN_HEADS))] + "\n"]
            _render_list(parts, items, STYLES[int(rnd() * (len(STYLES) - 1))], None)
            text = "".join(parts)
            self.plan_bank.append((text, len(text), len(items)))

        # achievement sections of 2–12 subsections, sorted by size (a report picks by size)
        P_ach = _Pool(ach)
        bank = []
        for _ in range(BANK):
            subs = _pick(P_ach, 2 + int(rnd() * 11), rnd)
            parts = [ACH_HEADS[int(rnd() * len(ACH_HEADS))] + "\n"]
            bookmark = rnd() < 0.2
            for k, sub in enumerate(subs):
                if bookmark and k == 1:
                    parts.append("[bookmark: _GoBack]")
                parts.append(_SUB_MARK[k])
                parts.append(sub)
            text = "".join(parts)
            bank.append((len(text), text))
        bank.sort()
        self.ach_sizes = [x[0] for x in bank]
        self.ach_bank = [x[1] for x in bank]


_CACHE: dict[str, dict[str, _TypePools]] = {}


def _pools(samples_dir: Path | None = None) -> dict[str, _TypePools]:
    d = Path(samples_dir or SAMPLES_DIR).resolve()
    key = str(d)
    if key not in _CACHE:
        raw = _load_raw(d)
        rng = random.Random(20240101)  # the banks are fixed; the seed picks among them
        _CACHE[key] = {t: _TypePools(raw, t, rng) for t in TYPE_WORDS}
    return _CACHE[key]


# ---------------------------------------------------------------------------------------------
def _gen(n: int, seed: int, samples_dir: Path | None, annotate: bool = True) -> Iterator[tuple]:
    pools = _pools(samples_dir)
    rnd = random.Random(seed).random
    year0, nyears = YEARS[0], len(YEARS)
    ncf, ncs = len(COUNTY_FIRST), len(COUNTY_SECOND)
    nbank = BANK
    norders = len(ORDERS)
    for i in range(n):
        unit = unit_name(i, seed)
        P = pools["街道" if unit.endswith("街道") else unit[-1]]
        year = year0 + int(rnd() * nyears)
        county = COUNTY_FIRST[int(rnd() * ncf)] + COUNTY_SECOND[int(rnd() * ncs)]
        r = rnd()
        gb = r < 0.10
        enc = "gb18030" if gb else "utf-8-sig" if r < 0.15 else "utf-8"
        # size target in characters (GB18030 takes 2 bytes a character, UTF-8 about 3): ~5–12 KB
        target = 2800 + int(rnd() * 1200) if gb else 1900 + int(rnd() * 2300)

        short, s_size, n_short, n_cause, n_rect = P.short_bank[int(rnd() * nbank)]
        plan, p_size, n_plan = P.plan_bank[int(rnd() * nbank)]
        order = ORDERS[int(rnd() * norders)]
        if gb and "d" not in order:
            order = "adsp"
        intro, i_size = P.intros[int(rnd() * len(P.intros))]
        size = s_size + p_size + i_size + 120
        duty = ""
        if "d" in order:
            duty, d_size = P.duty[int(rnd() * len(P.duty))]
            size += d_size
        # achievements: the variant whose size fills up to the target, give or take a few
        sizes = P.ach_sizes
        j = bisect_left(sizes, target - size) + int(rnd() * 24) - 12
        ach = P.ach_bank[0 if j < 0 else nbank - 1 if j >= nbank else j]
        sections = {"a": ach, "d": duty, "s": short, "p": plan}

        out: list[str] = []
        if rnd() < 0.1:
            out.append("\n\n")
        title = P.titles[int(rnd() * 4)]
        if title[0] != U:
            out.append(P.org + "\n")
        doc_no = None
        if rnd() < 0.25:
            doc_no = f"{unit[0]}{P.doc_org} [{year + 1}] {1 + int(rnd() * 40)}号"
            out.append(doc_no + "\n")
        out.append(title)
        out.append(P.addressees[int(rnd() * 3)])
        out.append(intro)
        for num, key in enumerate(order):
            out.append(_HEAD_MARK[num])
            out.append(sections[key])
        if rnd() < 0.5:
            out.append("特此报告。\n")
        out.append("\n")
        out.append(P.org if rnd() < 0.5 else P.head_gov)
        out.append("\n")
        issued = None
        if rnd() < 0.85:
            m, d = 1 + int(rnd() * 3), 1 + int(rnd() * 28)
            issued = f"{year + 1}-{m:02d}-{d:02d}"
            out.append(f"{year + 1}年{m}月{d}日\n")
        if rnd() < 0.2:
            out.append("（此件公开发布）\n")
        text = (
            "".join(out)
            .replace(U, unit)
            .replace(C, county)
            .replace(Y_CUR, str(year))
            .replace(Y_NEXT, str(year + 1))
            .replace(Y_PREV, str(year - 1))
        )
        if rnd() < 0.1:
            text = text.replace("\n", "\n    ")
        if annotate:
            yield (
                f"{unit}-{year}.txt",
                text.encode(enc),
                {
                    "unit": unit,
                    "county": county + "县",
                    "report_year": year,
                    "plan_year": year + 1,
                    "issued_on": issued,
                    "doc_number": doc_no,
                    "encoding": enc,
                    "shortcomings": n_short,
                    "plans": n_plan,
                    "causes": n_cause,
                    "rectifications": n_rect,
                },
            )
        else:
            yield f"{unit}-{year}.txt", text.encode(enc)


def generate(n: int, *, seed: int = 0, samples_dir: Path | None = None) -> Iterator[tuple[str, bytes]]:
    """Yield ``n`` synthetic reports as (file name, encoded bytes), deterministic for ``seed``."""
    return _gen(n, seed, samples_dir, annotate=False)


def generate_annotated(n: int, *, seed: int = 0, samples_dir: Path | None = None) -> Iterator[tuple[str, bytes, dict]]:
    """Like :func:`generate`, plus what an extractor should find: unit, county, report_year,
    plan_year, issued_on (YYYY-MM-DD or None), doc_number, encoding and the number of
    shortcomings / plans / causes / rectifications."""
    return _gen(n, seed, samples_dir)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write N synthetic township reports into OUTDIR.")
    ap.add_argument("n", type=int, metavar="N")
    ap.add_argument("outdir", type=Path, metavar="OUTDIR")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--manifest",
        action="store_true",
        help="also write OUTDIR/manifest.jsonl (expected unit, years, date, item counts)",
    )
    args = ap.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    total = 0
    man = (args.outdir / "manifest.jsonl").open("w", encoding="utf-8") if args.manifest else None
    try:
        for name, data, meta in _gen(args.n, args.seed, None):
            (args.outdir / name).write_bytes(data)
            total += len(data)
            if man:
                man.write(json.dumps({"file": name, **meta}, ensure_ascii=False) + "\n")
    finally:
        if man:
            man.close()
    dt = time.perf_counter() - t0
    print(f"wrote {args.n} reports ({total / 1e6:.1f} MB) to {args.outdir} in {dt:.2f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
