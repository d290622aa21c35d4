"""Which plan answers which shortcoming: scored against the links of the real (gold) reports and of
the sample reports (samples/expected.json)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from tests.conftest import SHARED, needs_shared
from tracker.db import session_scope
from tracker.extraction import extract_file
from tracker.ingest import ingest_file
from tracker.linking import THEME_BONUS, THRESHOLD, link, link_scores
from tracker.models import Item, ItemLink
from tracker.themes import classify

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
# Measured: gold 7/7 links found, none extra; samples 30 of 31 found, none extra (北塘街道-2023's
# 居民法治意识 ↔ 壮大执法和普法工作力量 shares almost no wording).
RECALL_FLOOR, PRECISION_FLOOR = 0.85, 0.85


def _by_gold_order(items, gold_entries):
    """The extracted items in the gold file's order, found by the gold key (a prefix of the title)."""
    ordered = []
    for entry in gold_entries:
        key = entry["key"] if isinstance(entry, dict) else entry  # gold files: {"key": …}; samples: the title
        found = [it for it in items if it.title.startswith(key) or key in it.title]
        assert len(found) == 1, f"gold item {key!r} not extracted exactly once"
        ordered.append(found[0])
    return ordered


def _score(cases: list[tuple[Path, dict]], name: str) -> tuple[float, float, int]:
    """Run the linker on each (report, expected) and print recall and precision; returns them and the link count."""
    tp = fp = fn = 0
    for report, gold in cases:
        ex = extract_file(report)
        short = _by_gold_order([i for i in ex.items if i.kind == "shortcoming"], gold["shortcomings"])
        plans = _by_gold_order([i for i in ex.items if i.kind == "plan"], gold["plans"])
        got = {(i, j) for i, j, _ in link([(s.title, s.text) for s in short], [(p.title, p.text) for p in plans])}
        want = {tuple(pair) for pair in gold["links"]}
        tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
    recall, precision = tp / (tp + fn), tp / (tp + fp)
    print(
        f"\nlinker on {len(cases)} {name}: recall {recall:.2f} ({tp}/{tp + fn}), precision {precision:.2f} "
        f"({tp}/{tp + fp})"
    )
    return recall, precision, tp + fn


@needs_shared("reports/*.gold.json")
def test_linker_recall_and_precision_on_gold_links(capsys):
    golds = [
        json.loads(p.read_text(encoding="utf-8")) | {"path": p}
        for p in sorted((SHARED / "reports").glob("*.gold.json"))
    ]
    with capsys.disabled():
        recall, precision, total = _score([(g["path"].with_name(g["file"]), g) for g in golds], "gold reports")
    assert total >= 7, "gold links went missing"
    assert recall >= RECALL_FLOOR and precision >= PRECISION_FLOOR


def test_linker_recall_and_precision_on_sample_links(capsys):
    expected = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
    with capsys.disabled():
        recall, precision, total = _score([(SAMPLES / e["file"], e) for e in expected], "sample reports")
    assert total == 31, "sample links went missing"
    assert recall >= RECALL_FLOOR and precision >= PRECISION_FLOOR


def test_a_shared_theme_alone_does_not_link():
    """Two items of one theme with no wording in common score exactly the bonus, which stays under the threshold."""
    assert THEME_BONUS < THRESHOLD
    short = [("执法案卷归档不及时", "部分案卷缺少送达回证。")]
    plans = [("规范行政处罚程序", "推行全过程记录。")]
    assert classify(*short[0]) == classify(*plans[0]) == "行政执法"
    assert link_scores(short, plans) == [[THEME_BONUS]]
    assert link(short, plans) == []


@needs_shared("reports/xili-2023.txt")
def test_links_are_stored_on_import(engine, cli_env):
    result = ingest_file(engine=engine, path=SHARED / "reports" / "xili-2023.txt", actor="测试")
    with session_scope(engine) as s:
        rows = s.execute(
            select(Item.title, Item.kind)
            .join(ItemLink, ItemLink.shortcoming_item_id == Item.id)
            .where(ItemLink.report_id == result.report_id)
        ).all()
        plans = (
            s.execute(select(Item.title).join(ItemLink, ItemLink.plan_item_id == Item.id).order_by(ItemLink.id))
            .scalars()
            .all()
        )
    assert [kind for _, kind in rows] == ["shortcoming", "shortcoming"]
    assert plans == ["进一步学习贯彻党的二十大精神和习近平法治思想", "进一步落实法治建设第一责任人制度"]


def test_a_shortcoming_without_any_related_plan_stays_unlinked():
    short = [("村级调解员队伍年龄老化", "调解员平均年龄超过60岁，后继乏人。")]
    plans = [("优化法治化营商环境", "开展涉企法律服务，推行综合查一次。")]
    assert link(short, plans) == []
