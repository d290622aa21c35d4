"""Which plan item answers which shortcoming of the same report.

A plan addresses a shortcoming when they talk about the same things: character n-gram similarity
of their texts (see `tracker.recurrence.similarity`), the body weighing more than the title,
helped by sharing a theme. Each shortcoming
is linked to its best plan when the score clears `THRESHOLD`; a plan may answer several
shortcomings. Scored against the `links` of the gold reports and of samples/expected.json by
tests/test_linking.py.
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, insert
from sqlmodel import Session

from tracker.models import ItemLink, Kind
from tracker.recurrence import Profile, similarity
from tracker.themes import classify

THRESHOLD = 0.1
# Same theme: the texts need share less wording, but some. Half the threshold, so a shared theme
# alone never links two items; any bonus from 0.02 to 0.08 scores the same on the gold and sample links.
THEME_BONUS = 0.05
TITLE_WEIGHT = 0.3  # a plan's title names an action; its body says which problem it treats


def link_scores(
    shortcomings: list[tuple[str, str]],
    plans: list[tuple[str, str]],
    *,
    themes: tuple[list[str], list[str]] | None = None,
) -> list[list[float]]:
    """score[i][j] for shortcoming i and plan j, each given as (title, text); `themes`: their themes
    (classify(title, text)) when the caller has them already."""
    s_prof = [Profile.of(t, x) for t, x in shortcomings]
    p_prof = [Profile.of(t, x) for t, x in plans]
    s_theme, p_theme = themes or ([classify(t, x) for t, x in shortcomings], [classify(t, x) for t, x in plans])
    return [
        [similarity(sp, pp, TITLE_WEIGHT) + (THEME_BONUS if st == pt else 0.0) for pp, pt in zip(p_prof, p_theme)]
        for sp, st in zip(s_prof, s_theme)
    ]


def link(
    shortcomings: list[tuple[str, str]],
    plans: list[tuple[str, str]],
    *,
    themes: tuple[list[str], list[str]] | None = None,
) -> list[tuple[int, int, float]]:
    """(shortcoming index, plan index, score) for each shortcoming a plan answers."""
    links = []
    for i, row in enumerate(link_scores(shortcomings, plans, themes=themes)):
        if row:
            j = max(range(len(row)), key=row.__getitem__)
            if row[j] >= THRESHOLD:
                links.append((i, j, round(row[j], 4)))
    return links


# Built once: ingest runs these for every report, and building a statement costs more than running it.
_CLEAR = delete(ItemLink).where(ItemLink.report_id == bindparam("report_id"))
_ADD = insert(ItemLink)


def link_report(session: Session, *, report_id: int, items: list, replace: bool = True) -> int:
    """Compute the links of one report from its current items (rows with id, kind, title, text, in
    document order), with `replace` clearing those of a previous import; returns how many were made."""
    short = [it for it in items if it.kind == Kind.shortcoming]
    plans = [it for it in items if it.kind == Kind.plan]
    conn = session.connection()
    if replace:
        conn.execute(_CLEAR, {"report_id": report_id})
    rows = [
        dict(report_id=report_id, shortcoming_item_id=short[i].id, plan_item_id=plans[j].id, score=score)
        for i, j, score in link([(s.title, s.text) for s in short], [(p.title, p.text) for p in plans])
    ]
    if rows:
        conn.execute(_ADD, rows)
    return len(rows)
