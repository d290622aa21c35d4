"""The county's read views over a seeded ledger: the dashboard and the ledger list (query_tasks).

SQL answers are checked against the same numbers computed in Python from every task row.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from bench.seed import seed
from tests.test_lifecycle import add_user
from tracker.dashboard import city_dashboard, counties, dashboard
from tracker.errors import ValidationFailed
from tracker.ledger import query_tasks
from tracker.lights import RED, YELLOW, light_of
from tracker.models import Evidence, Progress, Report, Status, Task, Township

AS_OF = date(2024, 9, 1)
RANK = {"red": 0, "yellow": 1, "green": 2, None: 3}


@pytest.fixture
def seeded(engine):
    counts = seed(engine, townships=12, tasks=600, seed=3)
    assert counts["task"] == 600 and counts["township"] == 12 and counts["report"] == 24
    with Session(engine, expire_on_commit=False) as s:
        county = add_user(s, "county", "city")  # two counties: the city sees both
        town = add_user(s, "town", "township", "样本00007镇")
        s.commit()
        tasks = list(s.execute(select(Task)).scalars())
        names = dict(s.execute(select(Township.id, Township.name)).all())
        county_of = dict(s.execute(select(Township.name, Township.county)).all())
    return {"county": county, "town": town, "tasks": tasks, "names": names, "county_of": county_of}


def test_seed_is_varied_within_each_township(seeded):
    by_township: dict[int, Counter] = {}
    for t in seeded["tasks"]:
        by_township.setdefault(t.township_id, Counter())[t.status] += 1
    assert len(by_township) == 12
    for counter in by_township.values():
        assert len(counter) >= 4, counter  # not one status per township
    lights = Counter(light_of(t, AS_OF) for t in seeded["tasks"])
    assert all(lights[x] for x in ("red", "yellow", "green", None)), lights


def test_dashboard_counts_match_python(engine, seeded):
    tasks, names = seeded["tasks"], seeded["names"]
    with Session(engine) as s:
        board = dashboard(s, actor=seeded["county"], as_of=AS_OF)
        one_county = dashboard(s, actor=seeded["county"], as_of=AS_OF, county="样本00002县")
        own = dashboard(s, actor=seeded["town"], as_of=AS_OF, county="样本00001县")
        assert counties(s) == ["样本00001县", "样本00002县"]
    assert [r["township"] for r in board["townships"]] == sorted(names.values())
    for row in board["townships"]:
        mine = [t for t in tasks if t.township_id == row["township_id"]]
        assert row["by_status"] == {s.value: sum(t.status == s for t in mine) for s in Status}
        assert row["by_light"] == {lt: sum(light_of(t, AS_OF) == lt for t in mine) for lt in ("red", "yellow", "green")}
        counted = [t for t in mine if t.status != Status.withdrawn]
        assert row["total"] == len(counted)
        assert row["completion_rate"] == pytest.approx(sum(t.status == Status.closed for t in counted) / len(counted))
    assert board["totals"]["total"] == sum(t.status != Status.withdrawn for t in tasks)
    red = sorted((t for t in tasks if light_of(t, AS_OF) == RED), key=lambda t: (t.deadline, t.id))
    assert board["overdue_total"] == len(red)
    assert [o["id"] for o in board["overdue"]] == [t.id for t in red[:100]]
    assert board["overdue"][0]["days_overdue"] == (AS_OF - red[0].deadline).days

    assert [r["township"] for r in one_county["townships"]] == [f"样本{i:05d}镇" for i in range(7, 13)]
    assert one_county["totals"]["total"] == sum(r["total"] for r in board["townships"][6:])
    assert {o["township"] for o in one_county["overdue"]} <= {f"样本{i:05d}镇" for i in range(7, 13)}
    # a township user sees only its own township, whatever county it asks for
    assert [r["township"] for r in own["townships"]] == ["样本00007镇"]
    assert own["townships"][0] == next(r for r in board["townships"] if r["township"] == "样本00007镇")


def test_city_comparison_per_report_year_matches_python(engine, seeded):
    tasks, county_of, names = seeded["tasks"], seeded["county_of"], seeded["names"]
    with Session(engine) as s:
        year_of = dict(s.execute(select(Report.id, Report.report_year)).all())
        years = sorted(set(year_of.values()))
        boards = {y: city_dashboard(s, actor=seeded["county"], as_of=AS_OF, year=y) for y in [None, *years]}
    assert len(years) == 2
    for year, board in boards.items():
        assert board["year"] == year
        for row in board["counties"]:
            mine = [
                t
                for t in tasks
                if county_of[names[t.township_id]] == row["county"] and year in (None, year_of[t.report_id])
            ]
            counted = [t for t in mine if t.status != Status.withdrawn]
            assert row["total"] == len(counted) > 0
            assert row["closed"] == sum(t.status == Status.closed for t in counted)
            assert row["overdue"] == sum(light_of(t, AS_OF) == RED for t in mine)
            assert row["by_light"][YELLOW] == sum(light_of(t, AS_OF) == YELLOW for t in mine)
    for key in ("total", "closed", "overdue", "late"):
        assert boards[None]["totals"][key] == sum(boards[y]["totals"][key] for y in years)


def test_township_user_task_list_sorted_by_light_then_deadline(engine, seeded):
    town = seeded["town"]
    mine = [t for t in seeded["tasks"] if t.township_id == town.township_id]
    expected = sorted(mine, key=lambda t: (RANK[light_of(t, AS_OF)], t.deadline, t.id))
    with Session(engine) as s:
        first = query_tasks(s, actor=town, as_of=AS_OF, per_page=20)
        second = query_tasks(s, actor=town, as_of=AS_OF, per_page=20, page=2)
        notes = dict(s.execute(select(Progress.task_id, Progress.note)).all())
        evidence = dict(s.execute(select(Evidence.task_id, func.count()).group_by(Evidence.task_id)).all())
    assert first.total == len(mine) == 50 and first.pages == 3
    rows = first.items + second.items
    assert [r.id for r in rows] == [t.id for t in expected[:40]]
    assert {r.township for r in rows} == {"样本00007镇"}
    assert [r.light for r in rows] == [light_of(t, AS_OF) for t in expected[:40]]
    assert [r.latest_note for r in rows] == [notes.get(t.id) for t in expected[:40]]
    assert [r.evidence_count for r in rows] == [evidence.get(t.id, 0) for t in expected[:40]]


def test_ledger_filters(engine, seeded):
    tasks, county = seeded["tasks"], seeded["county"]
    with Session(engine) as s:
        years = dict(s.execute(select(Report.id, Report.report_year)).all())

        def ids(**kw) -> list[int]:
            pages = [
                query_tasks(s, actor=county, as_of=AS_OF, per_page=400, order="deadline", page=n, **kw) for n in (1, 2)
            ]
            rows = [r.id for p in pages for r in p.items]
            assert pages[0].total == len(rows)
            return rows

        def want(pred) -> list[int]:
            return [t.id for t in sorted(tasks, key=lambda t: (t.deadline, t.id)) if pred(t)]

        assert ids() == want(lambda t: True)
        assert ids(status="已撤销") == want(lambda t: t.status == "已撤销")  # withdrawn stay visible
        assert ids(light="red") == want(lambda t: light_of(t, AS_OF) == "red")
        assert ids(township="样本00003镇", year=2024) == want(
            lambda t: t.township_id == 3 and years[t.report_id] == 2024
        )
        assert ids(county="样本00002县", kind="plan") == want(lambda t: t.township_id > 6 and t.kind == "plan")
        assert ids(q="法律顾问") == want(lambda t: "法律顾问" in t.title)
        assert ids(owner="责任人7", status="整改中") == want(
            lambda t: t.status == "整改中" and "责任人7" in (t.owner_person or "")
        )
        assert ids(q="100%_") == []  # LIKE wildcards are taken literally
        with pytest.raises(ValidationFailed, match="预警“purple”无效"):
            query_tasks(s, actor=county, light="purple")
        with pytest.raises(ValidationFailed, match="排序方式“random”无效"):
            query_tasks(s, actor=county, order="random")
