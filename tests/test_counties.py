"""Counties (issue 11): the default county, townships unique per (county, name), ingest into a county,
the county scope of users, the ledger and the dashboards, the city's comparison, per-county digests.
On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlmodel import Session

from notifications import recipients
from notifications.digest import enqueue_digests
from notifications.models import Outbox
from notifications.outbox import list_outbox
from tests.conftest import needs_shared
from tests.web_helpers import REPORTS
from tracker import counties, lifecycle, users
from tracker.dashboard import city_dashboard, dashboard
from tracker.db import session_scope
from tracker.errors import Forbidden, NotFound, ValidationFailed
from tracker.ingest import ingest_file, ingest_paths
from tracker.ledger import query_tasks
from tracker.models import County, Task, Township, User
from tracker.reports import visible_reports

pytestmark = needs_shared("reports/xili-2023.txt", "reports/xiaojing-2023.txt")
PASSWORD = "Password-123"
AS_OF = date(2024, 6, 1)


def _copy(tmp_path, source, name: str, extra: str = "") -> object:
    """The report under another file name, its content changed by a trailing line (another sha256)."""
    path = tmp_path / name
    path.write_text(source.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return path


@pytest.fixture
def two_counties(engine, tmp_path):
    """本县 (default) with 西里镇 and 孝敬镇; 乙县 with its own 西里镇; a county admin for each, a city user."""
    with session_scope(engine) as s:
        counties.add_county(s, name="乙县")
    assert ingest_file(engine=engine, path=REPORTS[0], actor="测试").ok
    assert ingest_file(engine=engine, path=REPORTS[1], actor="测试").ok
    other = ingest_file(
        engine=engine, path=_copy(tmp_path, REPORTS[0], "乙县西里镇.txt", "\n（乙县）\n"), actor="测试", county="乙县"
    )
    assert other.outcome == "imported", other.message
    with session_scope(engine) as s:
        users.create_user(s, name="甲管理员", role="county_admin", password=PASSWORD)
        users.create_user(s, name="乙管理员", role="county_admin", password=PASSWORD, county="乙县")
        users.create_user(s, name="乙西里", role="township", password=PASSWORD, county="乙县", township="西里镇")
        users.create_user(s, name="市里", role="city", password=PASSWORD)
    return engine


def _user(s: Session, name: str) -> User:
    return users.get_user(s, name=name)


def _county_id(s: Session, name: str) -> int:
    return s.execute(select(County.id).where(County.name == name)).scalar_one()


def test_the_default_county_is_there_and_can_be_renamed(engine):
    with session_scope(engine) as s:
        rows = counties.list_counties(s)
        assert [(r.name, r.default) for r in rows] == [("本县", True)]
        counties.rename_county(s, old="本县", new="青岚县")
        counties.add_county(s, name="乙县")
        with pytest.raises(ValidationFailed, match="已存在"):
            counties.add_county(s, name="乙县")
        assert [(r.name, r.default) for r in counties.list_counties(s)] == [("青岚县", True), ("乙县", False)]
        assert counties.default_county(s).name == "青岚县"


def test_a_township_name_repeats_across_counties_and_users_belong_to_one(two_counties):
    with session_scope(two_counties) as s:
        rows = s.execute(
            select(County.name, Township.name)
            .join(County, County.id == Township.county_id)
            .order_by(County.id, Township.name)
        ).all()
        assert rows == [("本县", "孝敬镇"), ("本县", "西里镇"), ("乙县", "西里镇")]
        town = _user(s, "乙西里")
        assert s.get(Township, town.township_id).county_id == _county_id(s, "乙县") == town.county_id
        assert _user(s, "市里").county_id is None


def test_ingest_into_a_named_county_refuses_a_report_addressed_to_another(engine, tmp_path):
    """xiaojing-2023 is addressed to 博爱县: --county 乙县 refuses it; 博爱县 takes it; the addressee alone
    never creates or picks a county."""
    with session_scope(engine) as s:
        counties.add_county(s, name="乙县")
        counties.add_county(s, name="博爱县")
    [refused] = ingest_paths(engine=engine, paths=[REPORTS[1]], actor="测试", county="乙县")
    assert refused.outcome == "failed" and "博爱县" in refused.message and "乙县" in refused.message
    with pytest.raises(NotFound, match="县（区）“丙县”不存在"):
        ingest_paths(engine=engine, paths=[REPORTS[1]], actor="测试", county="丙县")
    assert ingest_file(engine=engine, path=REPORTS[1], actor="测试", county="博爱县").ok
    # without --county: the default county, whatever the addressee says (recorded on the township)
    assert ingest_file(engine=engine, path=REPORTS[0], actor="测试").ok
    with session_scope(engine) as s:
        found = s.execute(
            select(Township.name, County.name, Township.county)
            .join(County, County.id == Township.county_id)
            .order_by(Township.name)
        ).all()
        assert found == [("孝敬镇", "博爱县", "博爱县"), ("西里镇", "本县", None)]
        assert {c.name for c in s.execute(select(County)).scalars()} == {"本县", "乙县", "博爱县"}
    # the same file again into another county: refused, naming nothing of the other county
    [again] = ingest_paths(engine=engine, paths=[REPORTS[1]], actor="测试", county="乙县")
    assert again.outcome == "failed"


def test_county_users_see_their_county_only_and_the_city_sees_all_read_only(two_counties):
    with session_scope(two_counties) as s:
        a, b, city, town = (_user(s, n) for n in ("甲管理员", "乙管理员", "市里", "乙西里"))
        a_ids = {r.id for r in query_tasks(s, actor=a, per_page=500).items}
        b_ids = {r.id for r in query_tasks(s, actor=b, per_page=500).items}
        all_ids = set(s.execute(select(Task.id)).scalars())
        assert a_ids and b_ids and not a_ids & b_ids and a_ids | b_ids == all_ids
        assert {r.id for r in query_tasks(s, actor=city, per_page=500).items} == all_ids
        assert {r.id for r in query_tasks(s, actor=city, county="乙县", per_page=500).items} == b_ids
        assert query_tasks(s, actor=a, county="乙县").total == 0  # naming another county gives nothing
        assert {r.id for r in query_tasks(s, actor=town, per_page=500).items} == b_ids
        # same-named township: the filter stays inside the county
        assert {r.id for r in query_tasks(s, actor=b, township="西里镇", per_page=500).items} == b_ids
        b_task = min(b_ids)
        with pytest.raises(NotFound):
            lifecycle.task_detail(s, actor=a, task_id=b_task)
        assert lifecycle.task_detail(s, actor=city, task_id=b_task).county == "乙县"
        assert lifecycle.task_detail(s, actor=city, task_id=b_task).actions == []
        with pytest.raises(Forbidden):
            lifecycle.assign(
                s,
                actor=city,
                task_ids=[b_task],
                owner_unit="司法所",
                owner_person="王五",
                deadline=date(2031, 1, 1),
                category="限期整改",
            )
        with pytest.raises(NotFound):
            lifecycle.assign(
                s,
                actor=a,
                task_ids=[b_task],
                owner_unit="司法所",
                owner_person="王五",
                deadline=date(2031, 1, 1),
                category="限期整改",
            )
        assert {r.township for r in visible_reports(s, actor=b)} == {"西里镇"}
        assert len(visible_reports(s, actor=city)) == 3
        board = dashboard(s, actor=b, as_of=AS_OF)
        assert [t["township"] for t in board["townships"]] == ["西里镇"] and board["county"] == "乙县"
        with pytest.raises(NotFound):
            dashboard(s, actor=b, as_of=AS_OF, county="本县")
        drill = dashboard(s, actor=city, as_of=AS_OF, county="本县")
        assert sorted(t["township"] for t in drill["townships"]) == ["孝敬镇", "西里镇"]


def test_the_city_compares_counties_in_grouped_sql(two_counties):
    with session_scope(two_counties) as s:
        city = _user(s, "市里")
        board = city_dashboard(s, actor=city, as_of=AS_OF)
        by_name = {r["county"]: r for r in board["counties"]}
        assert list(by_name) == ["本县", "乙县"]
        for name in by_name:
            tasks = (
                s.execute(
                    select(Task)
                    .join(Township, Township.id == Task.township_id)
                    .where(Township.county_id == _county_id(s, name))
                )
                .scalars()
                .all()
            )
            row = by_name[name]
            assert row["total"] == len(tasks) and row["closed"] == 0 and row["completion_rate"] == 0
            assert sum(row["by_light"].values()) == len(tasks)
        assert by_name["本县"]["townships"] == 2 and by_name["乙县"]["townships"] == 1
        assert board["totals"]["total"] == by_name["本县"]["total"] + by_name["乙县"]["total"]
        with pytest.raises(Forbidden):
            city_dashboard(s, actor=_user(s, "甲管理员"), as_of=AS_OF)


def test_who_manages_which_users(two_counties):
    with session_scope(two_counties) as s:
        a, b, city = (_user(s, n) for n in ("甲管理员", "乙管理员", "市里"))
        assert {u.name for u in users.list_users(s, actor=b)} == {"乙管理员", "乙西里"}
        assert {u.name for u in users.list_users(s, actor=city)} == {"甲管理员", "乙管理员", "市里"}
        # a county admin creates in their own county only; the town of that name is theirs
        made = users.create_user(s, name="乙工作人员", role="county_staff", password=PASSWORD, actor=b)
        assert made.county_id == b.county_id
        with pytest.raises(NotFound):
            users.create_user(s, name="越界", role="county_staff", password=PASSWORD, county="本县", actor=b)
        with pytest.raises(Forbidden):
            users.create_user(s, name="越界2", role="city", password=PASSWORD, actor=a)
        with pytest.raises(NotFound):
            users.set_active(s, name="乙西里", active=False, actor=a)
        # the city: county admins (of any county) and city users, nothing else
        users.create_user(s, name="乙管理员2", role="county_admin", password=PASSWORD, county="乙县", actor=city)
        with pytest.raises(Forbidden):
            users.create_user(
                s, name="镇里", role="township", password=PASSWORD, county="乙县", township="西里镇", actor=city
            )
        with pytest.raises(NotFound):
            users.set_active(s, name="乙西里", active=False, actor=city)
        users.set_active(s, name="甲管理员", active=True, actor=city)


def test_each_county_gets_its_own_digest_and_channels(two_counties):
    with session_scope(two_counties) as s:
        recipients.add_channel(s, township=None, kind="webhook", target="http://127.0.0.1:9/a", actor="测试")
        recipients.add_channel(
            s, township=None, kind="webhook", target="http://127.0.0.1:9/b", actor="测试", county="乙县"
        )
        ch = recipients.add_channel(
            s, township="西里镇", kind="webhook", target="http://127.0.0.1:9/bx", actor=_user(s, "乙管理员")
        )
        assert s.get(Township, ch.township_id).county_id == _county_id(s, "乙县")
        assert {c.target for c in recipients.list_channels(s, actor=_user(s, "乙管理员"))} == {
            "http://127.0.0.1:9/b",
            "http://127.0.0.1:9/bx",
        }
        with pytest.raises(NotFound):
            recipients.remove_channel(s, channel_id=ch.id, actor=_user(s, "甲管理员"))
    enqueue_digests(engine=two_counties, as_of=AS_OF)
    with session_scope(two_counties) as s:
        rows = s.execute(select(Outbox).where(Outbox.township_id.is_(None))).scalars().all()
        named = {r.dedupe_key.rsplit(":", 1)[1]: {t["name"] for t in r.payload["townships"]} for r in rows}
        ids = {c.target[-1]: c.id for c in recipients.list_channels(s)}
        assert named[str(ids["a"])] == {"西里镇", "孝敬镇"} and named[str(ids["b"])] == {"西里镇"}
        a_outbox = {o.id for o in list_outbox(s, actor=_user(s, "甲管理员"))}
        b_outbox = {o.id for o in list_outbox(s, actor=_user(s, "乙管理员"))}
        assert a_outbox and b_outbox and not a_outbox & b_outbox
