"""A large synthetic ledger, generated set-based in SQL (no Python loop over rows).

    seed(engine, townships=38000, tasks=2_000_000, seed=0, counties=None)
    python bench/seed.py --url postgresql+psycopg://postgres@127.0.0.1:5432/DB [--townships N] [--tasks N]
                         [--counties N]

Shape: by default 6 townships per county (so a county holds about 300 tasks at the default size);
`counties=N` spreads the townships over N counties instead, in consecutive blocks of nearly equal size
(N=1: every township in the default county; N=100: 380 townships a county). Two reports
per township (2023, 2024), one item per task; a township's tasks have consecutive ids, as ingest
writes them.
Statuses: 15% 待分派, 45% 整改中, 10% 待审核, 25% 已销号, 5% 已撤销; deadlines spread over
2024–2025; a quarter of the started tasks have a progress post, half of those an evidence row
(no file on disk). Deterministic for a given `seed`. Ids are explicit; PostgreSQL sequences are
moved past them so later inserts work.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.models import Item, Task  # noqa: E402  (after the path setup, for `python bench/seed.py`)

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("RECTIFY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

TOWNSHIPS_PER_COUNTY = 6
TITLES = (
    "法律顾问作用发挥不充分",
    "行政执法规范化水平不高",
    "普法宣传针对性不强",
    "干部学法用法的自觉性有待增强",
    "矛盾纠纷源头化解能力不足",
    "政务公开的及时性和完整性有待提高",
    "重大行政决策合法性审查覆盖不全",
    "基层法治工作力量薄弱",
)
DESCRIPTION = "主要表现在制度执行不够到位、工作台账不够规范、考核督导不够有力，距离上级要求和群众期盼还有一定差距。"


class _Dialect:
    """The few SQL spellings that differ between SQLite and PostgreSQL."""

    def __init__(self, name: str):
        self.pg = name == "postgresql"

    def series(self, count_param: str) -> str:
        if self.pg:
            return f"generate_series(1::bigint, :{count_param}) AS s(n)"
        return "s"

    def with_series(self, count_param: str) -> str:
        return (
            ""
            if self.pg
            else f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :{count_param}) "
        )

    def day(self, base: str, days: str) -> str:
        return f"(DATE '{base}' + ({days})::int)" if self.pg else f"date('{base}', '+' || ({days}) || ' days')"

    def ts(self, base: str, days: str) -> str:
        if self.pg:
            return f"(TIMESTAMPTZ '{base} 00:00:00+00' + ({days}) * INTERVAL '1 day')"
        return f"strftime('%Y-%m-%d %H:%M:%S.000000', '{base}', '+' || ({days}) || ' days')"

    def pad(self, expr: str, width: int) -> str:
        return f"lpad(({expr})::text, {width}, '0')" if self.pg else f"printf('%0{width}d', {expr})"

    def json_list(self) -> str:
        return "'[]'::json" if self.pg else "'[]'"


@contextmanager
def _bulk_mode(conn, d: _Dialect) -> Iterator[None]:
    """Load fast: no per-row foreign-key checks (ids are consistent by construction), the big tables'
    secondary indexes built once at the end instead of row by row, a large SQLite page cache, no WAL
    flush wait on PostgreSQL. Everything is restored before the connection goes back to the pool."""
    if d.pg:
        conn.execute(text("SET session_replication_role = replica"))  # skips the FK triggers
        conn.execute(text("SET synchronous_commit = off"))
    else:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.exec_driver_sql("PRAGMA cache_size=-262144")
    indexes = [ix for model in (Item, Task) for ix in model.__table__.indexes]
    for ix in indexes:
        ix.drop(conn)
    try:
        yield
    finally:
        conn.rollback()  # no-op after the commit; ends a failed transaction so the settings can be reset
        for ix in indexes:
            ix.create(conn, checkfirst=True)
        if d.pg:
            conn.execute(text("RESET session_replication_role"))
            conn.execute(text("RESET synchronous_commit"))
        else:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.exec_driver_sql("PRAGMA cache_size=-2000")
        conn.commit()


def _title(n: str) -> str:
    cases = " ".join(f"WHEN {i} THEN '{t}'" for i, t in enumerate(TITLES))
    return f"(CASE ({n}) % {len(TITLES)} {cases} END)"


def seed(
    engine: Engine, *, townships: int = 38000, tasks: int = 2_000_000, seed: int = 0, counties: int | None = None
) -> dict[str, int]:
    """Fill an empty, migrated database; returns the row counts written. `counties`: how many counties
    the townships are spread over (None: one county per TOWNSHIPS_PER_COUNTY townships)."""
    d = _Dialect(engine.dialect.name)
    # Stable pseudo-random numbers per task (multiplicative hashing: a township's tasks do not share them).
    h = f"(((n * 2654435761 + {seed} * 97) % 4294967291) * 100 / 4294967291)"  # 0..99: the status

    def h2(n: str) -> str:  # 0..7: progress (0, 1) and evidence (0)
        return f"((({n} * 40503 + {seed}) % 65521) * 8 / 65521)"

    status = (
        f"(CASE WHEN {h} < 15 THEN '待分派' WHEN {h} < 60 THEN '整改中' WHEN {h} < 70 THEN '待审核' "
        f"WHEN {h} < 95 THEN '已销号' ELSE '已撤销' END)"
    )
    assigned = f"({h} >= 15 AND {h} < 95)"
    progressed = f"({assigned} AND {h2('n')} < 2)"
    if counties is None:
        counties = (townships + TOWNSHIPS_PER_COUNTY - 1) // TOWNSHIPS_PER_COUNTY
        county_of = f"((n - 1) / {TOWNSHIPS_PER_COUNTY} + 1)"
    else:
        if not 1 <= counties <= townships:
            raise ValueError("counties must be between 1 and the number of townships")
        county_of = f"((n - 1) * {counties} / {townships} + 1)"  # consecutive blocks of nearly equal size
    params = {"townships": townships, "tasks": tasks, "reports": townships * 2, "counties": counties}
    with engine.connect() as conn, _bulk_mode(conn, d):
        if (
            conn.execute(text("SELECT count(*) FROM township")).scalar()
            or conn.execute(text("SELECT count(*) FROM task")).scalar()
        ):
            raise RuntimeError("seed needs an empty ledger (no townships, no tasks)")
        # Counties 1..N: the default county (id 1, as the migration made it) becomes 样本00001县.
        if conn.execute(text("SELECT count(*) FROM county WHERE id <> 1")).scalar():
            raise RuntimeError("seed needs no county but the default one (id 1)")
        conn.execute(text("UPDATE county SET name = '样本00001县' WHERE id = 1"))
        conn.execute(
            text(
                d.with_series("counties") + "INSERT INTO county (id, name, created_at) "
                f"SELECT n, '样本' || {d.pad('n', 5)} || '县', {d.ts('2024-01-01', '0')} FROM {d.series('counties')} "
                "WHERE NOT EXISTS (SELECT 1 FROM county c WHERE c.id = n)"
            ),
            params,
        )
        conn.execute(
            text(
                d.with_series("townships") + "INSERT INTO township (id, county_id, name, county) "
                f"SELECT n, {county_of}, '样本' || {d.pad('n', 5)} || '镇', "
                f"'样本' || {d.pad(county_of, 5)} || '县' "
                f"FROM {d.series('townships')}"
            ),
            params,
        )
        conn.execute(
            text(
                d.with_series("reports") + "INSERT INTO report (id, township_id, report_year, plan_year, source_name, "
                "sha256, text, warnings, imported_at, imported_by) "
                "SELECT n, (n - 1) / 2 + 1, 2023 + (n - 1) % 2, 2024 + (n - 1) % 2, 'seed-' || n || '.txt', "
                f"{d.pad('n', 64)}, '（合成报告）', {d.json_list()}, {d.ts('2024-01-10', '(n - 1) % 2 * 366')}, 'seed' "
                f"FROM {d.series('reports')}"
            ),
            params,
        )
        # Reports cut the id range into 2 × townships consecutive blocks; a township owns two neighbours.
        t = f"((n - 1) * {townships} / {tasks} + 1)"
        report = f"((n - 1) * {2 * townships} / {tasks} + 1)"
        seq = f"(n - ((({report} - 1) * {tasks} + {2 * townships - 1}) / {2 * townships}))"
        kind = "(CASE WHEN n % 3 = 0 THEN 'plan' ELSE 'shortcoming' END)"
        title = f"('第' || {seq} || '项：' || {_title('n')})"
        conn.execute(
            text(
                d.with_series("tasks")
                + 'INSERT INTO item (id, report_id, kind, seq, title, text, start, "end", causes, '
                "section) "
                f"SELECT n, {report}, {kind}, {seq}, {title}, {title} || '。{DESCRIPTION}', ({seq} - 1) * 200, "
                f"({seq} - 1) * 200 + 150, {d.json_list()}, '存在的不足' FROM {d.series('tasks')}"
            ),
            params,
        )
        conn.execute(
            text(
                d.with_series("tasks")
                + "INSERT INTO task (id, township_id, report_id, item_id, kind, title, description, "
                "owner_unit, owner_person, deadline, category, status, version, created_at, updated_at, assigned_at, "
                "last_progress_at, progress_percent, submitted_at, closed_at) "
                f"SELECT n, {t}, {report}, n, {kind}, {title}, {title} || '。{DESCRIPTION}', "
                f"CASE WHEN {assigned} THEN '司法所' END, CASE WHEN {assigned} THEN '责任人' || (n % 50) END, "
                f"{d.day('2024-01-01', '(n * 31 + ' + str(seed) + ') % 730')}, "
                f"CASE WHEN {assigned} THEN (CASE n % 3 WHEN 0 THEN '立行立改' WHEN 1 THEN '限期整改' ELSE '长期坚持' END) END, "
                f"{status}, CASE WHEN {assigned} THEN 3 ELSE 1 END, {d.ts('2024-01-15', '0')}, {d.ts('2024-03-01', '0')}, "
                f"CASE WHEN {assigned} THEN {d.ts('2024-01-20', 'n % 240')} END, "
                f"CASE WHEN {progressed} THEN {d.ts('2024-02-01', '(n * 7) % 330')} END, "
                f"CASE WHEN {progressed} THEN (n / 4) % 101 END, "
                f"CASE WHEN {h} >= 60 AND {h} < 95 THEN {d.ts('2024-05-01', 'n % 60')} END, "
                f"CASE WHEN {h} >= 70 AND {h} < 95 THEN {d.ts('2024-07-01', 'n % 90')} END "
                f"FROM {d.series('tasks')}"
            ),
            params,
        )
        conn.execute(
            text(
                "INSERT INTO progress (task_id, at, author, note, percent) "
                "SELECT id, last_progress_at, '样本用户', '已按计划推进整改，完成进度 ' || progress_percent || '%。', "
                "progress_percent FROM task WHERE last_progress_at IS NOT NULL ORDER BY id"
            )
        )
        conn.execute(
            text(
                "INSERT INTO evidence (task_id, progress_id, filename, content_type, size, sha256, uploaded_at, "
                "uploaded_by) "
                f"SELECT task_id, id, '佐证材料.pdf', 'application/pdf', 1024, {d.pad('task_id', 64)}, at, author "
                f"FROM progress WHERE {h2('CAST(task_id AS BIGINT)')} = 0 ORDER BY id"
            )
        )
        counts = {
            tbl: conn.execute(text(f"SELECT count(*) FROM {tbl}")).scalar()
            for tbl in ("county", "township", "report", "item", "task", "progress", "evidence")
        }
        if d.pg:
            for tbl in ("county", "township", "report", "item", "task"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{tbl}', 'id'), {counts[tbl]})"))
        conn.commit()
    with engine.connect() as conn:  # fresh statistics, as a database in use would have
        conn.execute(text("ANALYZE"))
        conn.commit()
    return counts


def bench_database(purpose: str, db: str, townships: int, tasks: int, keep: bool) -> tuple[str, callable]:
    """A benchmark database's URL (created empty unless kept from an earlier --keep run) and its cleanup."""
    if db == "sqlite":
        path = ROOT / "var" / "bench" / f"{purpose}-{townships}-{tasks}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        drop = lambda: [p.unlink() for p in path.parent.glob(path.name + "*")]  # noqa: E731
        if not keep:
            drop()
        return f"sqlite:///{path}", (lambda: None) if keep else drop
    name = f"rectify_bench_{purpose}_{townships}_{tasks}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")

    def drop():
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    with admin.connect() as c:
        exists = c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
        if exists and not keep:
            drop()
        if not exists or not keep:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False), (lambda: None) if keep else drop


def main(argv: list[str] | None = None) -> int:
    from tracker.db import make_engine, upgrade

    ap = argparse.ArgumentParser(description="Seed a large synthetic ledger into an empty database.")
    ap.add_argument("--url", required=True, help="SQLAlchemy URL of the database (migrated here if needed)")
    ap.add_argument("--townships", type=int, default=38000)
    ap.add_argument("--tasks", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--counties",
        type=int,
        default=None,
        help=f"spread the townships over N counties (default: one county per {TOWNSHIPS_PER_COUNTY} townships)",
    )
    args = ap.parse_args(argv)
    engine = make_engine(args.url)
    upgrade(engine)
    t0 = time.perf_counter()
    counts = seed(engine, townships=args.townships, tasks=args.tasks, seed=args.seed, counties=args.counties)
    print(f"seeded in {time.perf_counter() - t0:.1f} s: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
