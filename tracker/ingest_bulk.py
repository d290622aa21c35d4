"""The batched write path of ingest: a batch of new reports written with a few statements per table.

`tracker.ingest` stores reports one by one (a savepoint per report, about a dozen statements each); that
is bound by round trips, and 38,000 reports took 208–281 s on PostgreSQL. Most reports of a folder
are plain new ones: content not imported yet, township-year not in the ledger, nothing else in the
batch about the same township or content. Those are written here together, under one savepoint:
ids drawn up front (PostgreSQL: the sequence, in one query; SQLite: after the largest id, under the
write lock ingest holds), then every table's rows in one go (PostgreSQL: COPY through psycopg 3;
SQLite: one executemany), the journal and the import analysis (themes, plan links; recurrences for a
township that already has reports) included. The rows are the same as the report-by-report path
writes (tests/test_ingest_batch.py compares both).

Each report stays whole or absent: whatever goes wrong while writing the batch (a concurrent import
of the same township or content, a bad row) rolls the savepoint back, and every report of the batch
then goes through the report-by-report path, which tells them apart. Reports this path does not
take (duplicates, replacements, a township twice in the batch, incomplete extractions) go there too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from tracker import audit, counties, ingest
from tracker.db import utcnow
from tracker.linking import link
from tracker.models import TRACKED_KINDS, AuditEvent, Item, ItemLink, Kind, Report, Status, Task, TaskTheme, Township
from tracker.recurrence import refresh_township
from tracker.themes import classify

ENABLED = True  # tests switch it off to exercise the report-by-report path alone

_SHAS = select(Report.sha256).where(Report.sha256.in_(bindparam("shas", expanding=True)))
_TOWNSHIPS = select(Township.id, Township.name, Township.county).where(
    Township.county_id == bindparam("county_id"), Township.name.in_(bindparam("names", expanding=True))
)
_YEARS = select(Report.township_id, Report.report_year).where(Report.township_id.in_(bindparam("ids", expanding=True)))
_SET_COUNTY = update(Township).where(Township.id == bindparam("tid")).values(county=bindparam("county"))


@dataclass
class _New:
    index: int  # in the batch
    prep: object  # ingest._Prepared
    township_id: int | None  # None until created here
    created: bool = False  # the township is created by this batch
    county_to_set: bool = False  # the township's addressee is unknown and this report names it


def store_new(session: Session, batch: list, *, actor: str, dest) -> dict[int, ingest.IngestResult]:
    """Write the plain new reports of `batch` (ingest._Prepared or IngestResult, in file order) in bulk,
    in the caller's write transaction; returns {index in batch: result} for those written. The others
    are the caller's to store report by report, after these and in order."""
    if not ENABLED:
        return {}
    new = _plain_new(session, batch, dest)
    if not new:
        return {}
    try:
        with session.begin_nested():
            return _write(session, new, actor, dest.county_id)
    except (IntegrityError, ingest.IngestError):
        return {}  # rolled back to the savepoint: the report-by-report path sorts it out


def _plain_new(session: Session, batch: list, dest) -> list[_New]:
    """The reports of the batch that are complete and new, and share no township or content with an earlier
    report of the batch or (content) with the ledger, and whose township-year is not in the ledger."""
    candidates = []
    for i, p in enumerate(batch):
        if isinstance(p, ingest.IngestResult):
            continue
        ex = p.extraction
        try:
            ingest._check_complete(ex)
        except ingest.IngestError:
            continue
        if dest.named and not counties.same_county(dest.name, ex.county):
            continue
        keys = [(it.kind, it.seq) for it in ex.items]
        if len(set(keys)) != len(keys):  # the report-by-report path refuses it (ValueError)
            continue
        candidates.append((i, p))
    if not candidates:
        return []
    conn = session.connection()
    shas = set(conn.execute(_SHAS, {"shas": [p.sha256 for _, p in candidates]}).scalars())
    townships = {
        r.name: r
        for r in conn.execute(
            _TOWNSHIPS, {"county_id": dest.county_id, "names": list({p.extraction.unit for _, p in candidates})}
        )
    }
    years = set(conn.execute(_YEARS, {"ids": [r.id for r in townships.values()]}).all()) if townships else set()
    seen_sha, seen_unit, out = set(), set(), []
    for i, p in candidates:
        ex = p.extraction
        row = townships.get(ex.unit)
        fresh = (
            p.sha256 not in shas
            and p.sha256 not in seen_sha
            and ex.unit not in seen_unit
            and (row is None or (row.id, ex.report_year) not in years)
        )
        seen_sha.add(p.sha256)
        seen_unit.add(ex.unit)
        if fresh:  # a township whose addressee is unknown gets it from the report, as ingest._township does
            out.append(
                _New(
                    i,
                    p,
                    row.id if row else None,
                    created=row is None,
                    county_to_set=row is not None and row.county is None and bool(ex.county),
                )
            )
    return out


def _write(session: Session, new: list[_New], actor: str, county_id: int) -> dict[int, ingest.IngestResult]:
    conn = session.connection()
    created = [n for n in new if n.created]
    tracked = sum(1 for n in new for it in n.prep.extraction.items if it.kind in TRACKED_KINDS)
    ids = _ids(
        conn,
        {Township: len(created), Report: len(new), Item: sum(len(n.prep.extraction.items) for n in new), Task: tracked},
    )
    for n, tid in zip(created, ids[Township]):
        n.township_id = tid
    _rows(
        conn,
        Township,
        [
            dict(id=n.township_id, county_id=county_id, name=n.prep.extraction.unit, county=n.prep.extraction.county)
            for n in created
        ],
    )
    for n in new:
        if n.county_to_set:
            conn.execute(_SET_COUNTY, {"tid": n.township_id, "county": n.prep.extraction.county})

    report_ids, item_ids, task_ids = ids[Report], iter(ids[Item]), iter(ids[Task])
    reports, items, tasks, events, themes, links, results = [], [], [], [], [], [], {}
    for n, report_id in zip(new, report_ids):
        ex, sha = n.prep.extraction, n.prep.sha256
        fields = ingest._report_fields(ex, sha, actor)
        reports.append({"id": report_id, "township_id": n.township_id, **fields})
        now = utcnow()
        deadline = date(fields["plan_year"], 12, 31)
        ids, task_of = [], {}
        for it in ex.items:
            iid = next(item_ids)
            ids.append(iid)
            items.append({"id": iid, **ingest._item_row(report_id, it)})
            if it.kind in TRACKED_KINDS:
                tid = next(task_ids)
                task_of[iid] = tid
                row = dict(
                    id=tid,
                    township_id=n.township_id,
                    report_id=report_id,
                    item_id=iid,
                    kind=it.kind,
                    title=it.title,
                    description=it.description,
                    deadline=deadline,
                    status=Status.unassigned.value,
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
                tasks.append(row)
                events.append(
                    dict(
                        actor=actor,
                        action="create",
                        entity="task",
                        entity_id=tid,
                        after={k: audit.jsonable(row[k]) for k in ingest.TASK_AUDIT_FIELDS},
                    )
                )
        events.append(
            dict(
                actor=actor,
                action="import",
                entity="report",
                entity_id=report_id,
                after={
                    "source_name": ex.source_name,
                    "sha256": sha,
                    "township": ex.unit,
                    "report_year": ex.report_year,
                    "items": len(ids),
                    "tasks": len(task_of),
                },
            )
        )
        # The analysis of tracker.analysis.analyze_report for a first import, on the items in document order.
        ordered = sorted(zip(ex.items, ids), key=lambda pair: pair[0].start)
        theme = {iid: classify(it.title, it.text) for it, iid in ordered if iid in task_of}  # tasks: tracked kinds
        themes += [{"task_id": task_of[iid], "theme": th} for iid, th in theme.items()]
        short = [(it, iid) for it, iid in ordered if it.kind == Kind.shortcoming]
        plans = [(it, iid) for it, iid in ordered if it.kind == Kind.plan]
        links += [
            dict(report_id=report_id, shortcoming_item_id=short[i][1], plan_item_id=plans[j][1], score=score)
            for i, j, score in link(
                [(it.title, it.text) for it, _ in short],
                [(it.title, it.text) for it, _ in plans],
                themes=([theme[iid] for _, iid in short], [theme[iid] for _, iid in plans]),
            )
        ]
        results[n.index] = ingest.IngestResult(
            ex.source_name,
            "imported",
            f"{ex.unit}{ex.report_year}年度报告已导入",
            report_id,
            ex.unit,
            ex.report_year,
            {"items": len(ids), "tasks": len(task_of)},
        )
    now = utcnow()
    base = {"at": now, "before": None, "after": None, "reason": None, "address": audit.client_address.get()}
    _rows(conn, Report, reports)
    _rows(conn, Item, items)
    _rows(conn, Task, tasks)
    _rows(conn, AuditEvent, [base | e for e in events])
    _rows(conn, TaskTheme, themes)
    _rows(conn, ItemLink, links)
    for n in new:  # a township with reports of other years: recurrences and claims across them
        if not n.created:
            refresh_township(session, township_id=n.township_id)
    return results


def _ids(conn: Connection, counts: dict) -> dict:
    """{model: that many fresh ids of its table, ascending}. PostgreSQL: drawn from the sequences, in one
    query; SQLite: after the largest id (ingest holds the write lock from BEGIN IMMEDIATE, and the
    tables have no AUTOINCREMENT, so these are the ids SQLite would have given)."""
    if conn.dialect.name == "postgresql":
        names = [m.__table__.name for m in counts]
        arrays = ", ".join(
            f"ARRAY(SELECT nextval(pg_get_serial_sequence('{name}', 'id')) FROM generate_series(1, :n{i}) ORDER BY 1)"
            for i, name in enumerate(names)
        )
        row = conn.execute(text(f"SELECT {arrays}"), {f"n{i}": n for i, n in enumerate(counts.values())}).one()
        return dict(zip(counts, row))
    out = {}
    for model, count in counts.items():
        top = conn.execute(select(model.__table__.c.id).order_by(model.__table__.c.id.desc()).limit(1)).scalar() or 0
        out[model] = list(range(top + 1, top + 1 + count))
    return out


def _rows(conn: Connection, model, rows: list[dict]) -> None:
    """Insert rows (every row with the same keys). PostgreSQL: COPY, each value through its column type's
    bind processing (JSON, UTC datetimes) as an INSERT would send it; SQLite: one executemany."""
    if not rows:
        return
    table: Table = model.__table__
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    cols = list(rows[0])
    missing = [c for c in table.columns if c.key not in rows[0] and c.default is not None and not c.primary_key]
    for c in missing:  # Python-side defaults an INSERT would apply (scalar ones only)
        if not c.default.is_scalar:
            raise ValueError(f"{table.name}.{c.key}: no value and a non-scalar default")
    cols += [c.key for c in missing]
    defaults = [c.default.arg for c in missing]
    procs = [table.c[c].type._cached_bind_processor(conn.dialect) for c in cols]
    quote = conn.dialect.identifier_preparer.quote
    sql = f"COPY {quote(table.name)} ({', '.join(quote(table.c[c].name) for c in cols)}) FROM STDIN"
    keys = cols[: len(rows[0])]
    with conn.connection.dbapi_connection.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            values = [row[k] for k in keys] + defaults
            copy.write_row([p(v) if p else v for p, v in zip(procs, values)])
