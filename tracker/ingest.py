"""Import reports into the ledger: each report whole or not at all, idempotent by content hash."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher
from itertools import islice
from pathlib import Path

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from tracker import audit, counties
from tracker.analysis import AnalysisItem, analyze_report
from tracker.db import session_scope, utcnow
from tracker.errors import ValidationFailed
from tracker.extraction import ExtractedItem, Extraction, ExtractionError, extract_text, read_document
from tracker.extraction.decode import SUPPORTED as READABLE
from tracker.fieldlen import check_length
from tracker.models import TRACKED_KINDS, County, Item, Report, Status, Task, Township
from tracker.textfmt import cn_date

SUPPORTED = set(READABLE)
TASK_AUDIT_FIELDS = ("title", "kind", "status", "deadline", "version")


@dataclass
class IngestResult:
    path: str
    outcome: str  # imported | replaced | duplicate | failed
    message: str
    report_id: int | None = None
    township: str | None = None
    report_year: int | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome != "failed"


OUTCOME_LABELS = {"imported": "已导入", "replaced": "已替换", "duplicate": "重复跳过", "failed": "失败"}


class IngestError(Exception):
    """A report that cannot go into the ledger; the message is for the user, in Chinese."""


def iter_report_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given, folders walked recursively for .txt/.docx, in a stable order."""
    for p in paths:
        if p.is_dir():
            yield from sorted(
                f
                for f in p.rglob("*")
                if f.is_file() and f.suffix.lower() in SUPPORTED and not f.name.startswith((".", "~$"))
            )
        else:
            yield p


BATCH = 500  # reports per transaction in ingest_paths; new ones are written together (tracker/ingest_bulk.py)


@dataclass
class _Prepared:
    """A file read and extracted, ready to be stored."""

    path: str
    sha256: str
    extraction: Extraction


@dataclass(frozen=True)
class Destination:
    """The county the reports' townships go to. `named`: the caller named it (rectify ingest --county), so
    a report addressed to a different county is refused; otherwise the addressee is only recorded."""

    county_id: int
    name: str
    named: bool


def destination(session: Session, *, county: str | None = None, county_id: int | None = None) -> Destination:
    """The county named (`county`), the county `county_id` (a county user's own), or the default county."""
    if county and county.strip():
        c = counties.county_named(session, county)
        return Destination(c.id, c.name, True)
    c = session.get(County, county_id) if county_id is not None else counties.default_county(session)
    if c is None:
        raise IngestError(f"县（区）{county_id} 不存在")
    return Destination(c.id, c.name, False)


def ingest_paths(
    *,
    engine: Engine,
    paths: Iterable[Path],
    actor: str,
    replace: bool = False,
    on_result: Callable[[IngestResult], None] | None = None,
    county: str | None = None,
    county_id: int | None = None,
) -> list[IngestResult]:
    """Import every report file, BATCH per transaction with a savepoint per report.

    Townships are found or created in the county `county` (a name: a report addressed to another county is
    refused) or `county_id`, else in the default county.

    A report that fails rolls back to its savepoint only. `on_result` sees each result once its batch
    is committed, so what it was told is what the database holds; an unexpected error (database gone,
    disk full) rolls back the current batch and propagates.
    """
    results = []
    with session_scope(engine) as session:
        dest = destination(session, county=county, county_id=county_id)
    files = iter(iter_report_files(paths))
    # Reading and extracting the next batch overlaps storing this one: a worker thread prepares batch
    # n + 1 while the database writes batch n (COPY, indexes, commit), when this thread mostly waits.
    # The files are listed here, in order; an unexpected error preparing a batch surfaces before it is
    # stored, as it did when each batch was prepared just before its turn.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-prepare") as pool:
        pending = pool.submit(_prepare_all, list(islice(files, BATCH)))
        while batch := pending.result():
            pending = pool.submit(_prepare_all, list(islice(files, BATCH)))
            for result in _ingest_batch(engine, batch, actor=actor, replace=replace, dest=dest):
                results.append(result)
                if on_result:
                    on_result(result)
    return results


def _prepare_all(paths: list[Path]) -> list[_Prepared | IngestResult]:
    return [_prepare(p) for p in paths]


def ingest_file(
    *,
    engine: Engine,
    path: Path,
    actor: str,
    replace: bool = False,
    county: str | None = None,
    county_id: int | None = None,
) -> IngestResult:
    with session_scope(engine) as session:
        dest = destination(session, county=county, county_id=county_id)
    return _ingest_batch(engine, [_prepare(path)], actor=actor, replace=replace, dest=dest)[0]


def ingest_extraction(
    *,
    engine: Engine | None = None,
    extraction: Extraction,
    sha256: str,
    actor: str,
    replace: bool = False,
    county_id: int | None = None,
    session: Session | None = None,
) -> IngestResult:
    """Store one extracted report whole, or nothing (IngestError). Used by the web upload after review,
    into the uploader's county (`county_id`; None: the default county). In the caller's `session` when
    given (the review removes its pending upload in the same transaction; the caller opens it for writing)."""
    if session is not None:
        return _store(session, extraction, sha256, actor, replace, destination(session, county_id=county_id))
    with session_scope(engine) as session:
        _begin_write(session)
        return _store(session, extraction, sha256, actor, replace, destination(session, county_id=county_id))


def _prepare(path: Path) -> _Prepared | IngestResult:
    """Read, hash and extract one file, or the failed result saying why not."""
    name = path.name
    try:
        raw = path.read_bytes() if path.is_file() else None
        if raw is None:
            raise IngestError(f"文件 {name} 不存在或不是文件")
        # Extraction (~0.2 ms) costs less than a separate duplicate query; _store checks first thing.
        return _Prepared(
            str(path), hashlib.sha256(raw).hexdigest(), extract_text(read_document(path), source_name=name)
        )
    except (ExtractionError, IngestError) as exc:
        return IngestResult(str(path), "failed", str(exc))
    except OSError as exc:
        return IngestResult(str(path), "failed", f"文件 {name} 无法读取：{exc.strerror or exc}")


def _ingest_batch(
    engine: Engine, batch: list[_Prepared | IngestResult], *, actor: str, replace: bool, dest: Destination
) -> list[IngestResult]:
    from tracker.ingest_bulk import store_new  # imports this module

    results = []
    with session_scope(engine) as session:
        _begin_write(session)
        # The batch's plain new reports in a few statements per table, the others one by one after them.
        bulk = store_new(session, batch, actor=actor, dest=dest)
        for i, p in enumerate(batch):
            if isinstance(p, IngestResult) or i in bulk:
                results.append(p if isinstance(p, IngestResult) else bulk[i])
                continue
            try:
                results.append(_store(session, p.extraction, p.sha256, actor, replace, dest))
            except IngestError as exc:
                results.append(IngestResult(p.path, "failed", str(exc)))
    return results


def _begin_write(session: Session) -> None:
    """Open the write transaction. SQLite: BEGIN IMMEDIATE takes the write lock now, so a concurrent
    writer makes us wait (busy_timeout) instead of failing when a read would be upgraded; and it makes
    the per-report SAVEPOINTs nest (pysqlite starts no transaction for a SAVEPOINT, whose RELEASE
    would then commit)."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _store(session: Session, ex: Extraction, sha256: str, actor: str, replace: bool, dest: Destination) -> IngestResult:
    """One report under a savepoint of the caller's transaction: stored whole, or nothing (IngestError)."""
    _check_complete(ex)
    if dest.named and not counties.same_county(dest.name, ex.county):
        raise IngestError(
            f"文件 {ex.source_name}：报告的报送对象是“{ex.county}”，与指定的“{dest.name}”不一致，"
            f"未导入；请确认 --county，或把该报告导入“{ex.county}”"
        )
    try:
        with session.begin_nested():
            return _write(session, ex, sha256, actor, replace, dest.county_id)
    except IntegrityError:
        # A concurrent import of the same content or township-year won the race: report what is there now.
        dup = _duplicate(session, sha256, ex.source_name, dest.county_id)
        if dup:
            return dup
        raise IngestError(f"文件 {ex.source_name}：同一乡镇同一年度的报告正在被另一处导入，请稍后重试") from None


def _write(session: Session, ex: Extraction, sha256: str, actor: str, replace: bool, county_id: int) -> IngestResult:
    name = ex.source_name
    dup = _duplicate(session, sha256, name, county_id)
    if dup:
        return dup
    township_id, created = _township(session, ex, county_id)
    existing = (
        None
        if created
        else session.connection().execute(_EXISTING, {"township_id": township_id, "year": ex.report_year}).first()
    )
    if existing is None:
        report_id, counts, items = _insert_report(session, ex, township_id, sha256, actor)
        outcome, msg = "imported", f"{ex.unit}{ex.report_year}年度报告已导入"
    elif not replace:
        raise IngestError(
            f"文件 {name}：{ex.unit}{ex.report_year}年度报告已于"
            f"{cn_date(existing.imported_at)}由 {existing.imported_by} 导入（文件 {existing.source_name}），"
            f"内容不同；如需以新文件替换，请使用 --replace"
        )
    else:
        report_id, counts, items = _replace_report(session, session.get(Report, existing.id), ex, sha256, actor)
        outcome, msg = "replaced", f"{ex.unit}{ex.report_year}年度报告已替换"
    # Themes, plan links, recurrence across years (a township created just now has no other year).
    analyze_report(
        session,
        report_id=report_id,
        township_id=township_id,
        items=items,
        first_import=existing is None,
        other_years=not created,
    )
    return IngestResult(name, outcome, msg, report_id, ex.unit, ex.report_year, counts)


def _check_complete(ex: Extraction) -> None:
    name = ex.source_name
    if not ex.unit:
        raise IngestError(f"文件 {name}：无法识别报告所属乡镇（标题或落款中未找到“××镇/乡/街道”）")
    if not ex.report_year:
        raise IngestError(f"文件 {name}：无法识别报告年度（未找到“20XX年度”等字样）")
    if not any(it.kind in TRACKED_KINDS for it in ex.items):
        raise IngestError(f"文件 {name}：未提取到任何存在的不足或下一年度计划，未导入。" + "；".join(ex.warnings))
    try:  # the same refusal on SQLite and PostgreSQL (which would raise on a value too long)
        check_length(Township, "name", ex.unit, "乡镇名称")
        check_length(Township, "county", ex.county, "县（区）名称")
        check_length(Report, "doc_number", ex.doc_number, "文号")
        check_length(Report, "source_name", name, "文件名")
    except ValidationFailed as exc:
        raise IngestError(f"文件 {name}：{exc.message}") from None


# Hot statements, built once: ingest runs each for every report, and building one costs more than running it.
_DUPLICATE = (
    select(Report.id, Report.imported_at, Report.report_year, Report.source_name, Township.name, Township.county_id)
    .join(Township, Report.township_id == Township.id)
    .where(Report.sha256 == bindparam("sha"))
)
_TOWNSHIP = select(Township.id, Township.county).where(
    Township.county_id == bindparam("county_id"), Township.name == bindparam("name")
)
_ADD_TOWNSHIP = insert(Township).returning(Township.id)
_SET_COUNTY = update(Township).where(Township.id == bindparam("township_id")).values(county=bindparam("county"))
_EXISTING = select(Report.id, Report.imported_at, Report.imported_by, Report.source_name).where(
    Report.township_id == bindparam("township_id"), Report.report_year == bindparam("year")
)
_ADD_REPORT = insert(Report).returning(Report.id)
# Rows come back in no promised order, and asking SQLAlchemy to sort them makes it insert row by row
# on SQLite: return each row's key with its id instead.
_ADD_ITEMS = insert(Item).returning(Item.id, Item.kind, Item.seq)
_ADD_TASKS = insert(Task).returning(Task.id, Task.item_id)


def _duplicate(session: Session, sha: str, name: str, county_id: int | None = None) -> IngestResult | None:
    row = session.connection().execute(_DUPLICATE, {"sha": sha}).first()
    if row is None:
        return None
    report_id, imported_at, year, source, township, dup_county = row
    if county_id is not None and dup_county != county_id:  # names nothing of another county
        raise IngestError(f"文件 {name}：相同内容的报告已导入到另一个县（区），同一份报告只能属于一个县，未导入")
    return IngestResult(
        name,
        "duplicate",
        f"已导入：相同内容已于{cn_date(imported_at)}导入（{township}{year}年度，文件 {source}），本次未重复导入",
        report_id,
        township,
        year,
    )


def _township(session: Session, ex: Extraction, county_id: int) -> tuple[int, bool]:
    """The id of the report's township in the county, and whether it was created now. The county the
    report is addressed to (`ex.county`) is recorded on the township, never used to choose the county."""
    conn = session.connection()
    row = conn.execute(_TOWNSHIP, {"county_id": county_id, "name": ex.unit}).first()
    if row is None:
        return conn.execute(
            _ADD_TOWNSHIP, {"county_id": county_id, "name": ex.unit, "county": ex.county}
        ).scalar_one(), True
    if row.county is None and ex.county:
        conn.execute(_SET_COUNTY, {"township_id": row.id, "county": ex.county})
    return row.id, False


def _report_fields(ex: Extraction, sha: str, actor: str) -> dict:
    return dict(
        report_year=ex.report_year,
        plan_year=ex.plan_year or ex.report_year + 1,
        issued_on=ex.issued_on,
        doc_number=ex.doc_number,
        source_name=ex.source_name,
        sha256=sha,
        text=ex.text,
        warnings=list(ex.warnings),
        imported_at=utcnow(),
        imported_by=actor,
    )


def _item_row(report_id: int, it: ExtractedItem) -> dict:
    return dict(
        report_id=report_id,
        kind=it.kind,
        seq=it.seq,
        title=it.title,
        text=it.text,
        start=it.start,
        end=it.end,
        causes=list(it.causes),
        section=it.section,
    )


def _analysis_items(items: list[ExtractedItem], item_ids: list[int], task_of: dict[int, int]) -> list[AnalysisItem]:
    """The report's current items as the analysis needs them, in document order, without reading them back."""
    return [
        AnalysisItem(iid, it.kind, it.title, it.text, task_of.get(iid))
        for it, iid in sorted(zip(items, item_ids), key=lambda pair: pair[0].start)
    ]


def _insert_report(session, ex, township_id, sha, actor):
    # Core statements, not ORM objects: ingest of 38,000 reports is bound by per-row overhead.
    fields = _report_fields(ex, sha, actor)
    report_id = session.connection().execute(_ADD_REPORT, {"township_id": township_id, **fields}).scalar_one()
    item_ids = _insert_items(session, report_id, ex.items)
    task_of = _insert_tasks(session, report_id, township_id, fields["plan_year"], list(zip(ex.items, item_ids)), actor)
    audit.record(
        session,
        actor=actor,
        action="import",
        entity="report",
        entity_id=report_id,
        after={
            "source_name": ex.source_name,
            "sha256": sha,
            "township": ex.unit,
            "report_year": ex.report_year,
            "items": len(item_ids),
            "tasks": len(task_of),
        },
    )
    return report_id, {"items": len(item_ids), "tasks": len(task_of)}, _analysis_items(ex.items, item_ids, task_of)


def _insert_items(session, report_id: int, items: list[ExtractedItem]) -> list[int]:
    if not items:
        return []
    # (kind, seq) is unique in a report: the extractor and the review both number items per kind.
    ids = {
        (kind, seq): iid
        for iid, kind, seq in session.connection().execute(_ADD_ITEMS, [_item_row(report_id, it) for it in items])
    }
    if len(ids) != len(items):
        raise ValueError("a report's items must be numbered 1.. per kind (ExtractedItem.seq)")
    return [ids[it.kind, it.seq] for it in items]


def _insert_tasks(session, report_id: int, township_id: int, plan_year: int, pairs, actor: str) -> dict[int, int]:
    """One task per shortcoming and plan item; deadline defaults to the end of the plan year.

    Returns {item id: task id}."""
    now = utcnow()
    deadline = date(plan_year, 12, 31)
    rows = [
        dict(
            township_id=township_id,
            report_id=report_id,
            item_id=item_id,
            kind=it.kind,
            title=it.title,
            description=it.description,
            deadline=deadline,
            status=Status.unassigned.value,
            version=1,
            created_at=now,
            updated_at=now,
        )
        for it, item_id in pairs
        if it.kind in TRACKED_KINDS
    ]
    if not rows:
        return {}
    task_of = {item_id: tid for tid, item_id in session.connection().execute(_ADD_TASKS, rows)}
    audit.record_many(
        session,
        [
            dict(
                actor=actor,
                action="create",
                entity="task",
                entity_id=task_of[row["item_id"]],
                after={k: audit.jsonable(row[k]) for k in TASK_AUDIT_FIELDS},
            )
            for row in rows
        ],
    )
    return task_of


_NONWORD = re.compile(r"[\W_]+")


def _norm(s: str) -> str:
    return _NONWORD.sub("", s)


def _match_items(old: list[Item], new: list[ExtractedItem]) -> tuple[dict[int, int], list[int]]:
    """Pair old items with new ones of the same kind: same title first, then the most similar title.

    Returns {new index: old item id} and the ids of old items left unmatched.
    """
    pairs: dict[int, int] = {}
    free = {o.id: o for o in old}
    for i, it in enumerate(new):
        for o in free.values():
            if o.kind == it.kind and _norm(o.title) == _norm(it.title):
                pairs[i] = o.id
                del free[o.id]
                break
    scored = sorted(
        (
            (SequenceMatcher(None, _norm(o.title), _norm(it.title)).ratio(), i, o.id)
            for i, it in enumerate(new)
            if i not in pairs
            for o in free.values()
            if o.kind == it.kind
        ),
        reverse=True,
    )
    for ratio, i, oid in scored:
        if ratio >= 0.6 and i not in pairs and oid in free:
            pairs[i] = oid
            del free[oid]
    return pairs, list(free)


def _read_tasks(session, report_id: int) -> dict:
    """The report's tasks as read before a re-import changes them: {item id: row with the version read}."""
    rows = session.execute(
        select(Task.id, Task.item_id, Task.title, Task.description, Task.status, Task.version).where(
            Task.report_id == report_id
        )
    )
    return {r.item_id: r for r in rows}


def _write_task(session, task, changes: dict, now) -> None:
    """Write a re-import's change to a task the way lifecycle does: only if it is still at the version
    read, bumping it. A task edited meanwhile fails the whole report (nothing overwritten, retry)."""
    result = session.execute(
        update(Task)
        .where(Task.id == task.id, Task.version == task.version)
        .values(**changes, version=task.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise IngestError(f"任务 {task.id}（{task.title[:20]}）在重新导入期间被他人修改，本报告未替换，请重试")


def _replace_report(session, report: Report, ex: Extraction, sha: str, actor: str):
    """Swap in a new file: matched items keep their task (state, history), vanished ones are withdrawn."""
    before = {"source_name": report.source_name, "sha256": report.sha256}
    for k, v in _report_fields(ex, sha, actor).items():
        setattr(report, k, v)
    old = list(session.execute(select(Item).where(Item.report_id == report.id, Item.removed_at.is_(None))).scalars())
    pairs, gone = _match_items(old, ex.items)
    now = utcnow()
    for i, oid in pairs.items():
        session.execute(update(Item).where(Item.id == oid).values(_item_row(report.id, ex.items[i])))
    tasks = _read_tasks(session, report.id)
    events = []
    for i, oid in pairs.items():
        task, it = tasks.get(oid), ex.items[i]
        if task is not None and (task.title, task.description) != (it.title, it.description):
            _write_task(session, task, {"title": it.title, "description": it.description}, now)
            # The journal names the title when it changed; a changed body alone shows as a new version.
            renamed = task.title != it.title
            events.append(
                dict(
                    actor=actor,
                    action="update",
                    entity="task",
                    entity_id=task.id,
                    before=({"title": task.title} if renamed else {}) | {"version": task.version},
                    after=({"title": it.title} if renamed else {}) | {"version": task.version + 1},
                    reason="报告重新导入",
                )
            )
    if gone:
        session.execute(update(Item).where(Item.id.in_(gone)).values(removed_at=now))
    for oid in gone:
        task = tasks.get(oid)
        if task is not None and task.status != Status.withdrawn:
            _write_task(session, task, {"status": Status.withdrawn.value}, now)
            events.append(
                dict(
                    actor=actor,
                    action="withdraw",
                    entity="task",
                    entity_id=task.id,
                    before={"status": task.status, "version": task.version},
                    after={"status": Status.withdrawn.value, "version": task.version + 1},
                    reason="重新导入的报告中已无此项",
                )
            )
    new_idx = [i for i in range(len(ex.items)) if i not in pairs]
    new_ids = _insert_items(session, report.id, [ex.items[i] for i in new_idx])
    new_tasks = _insert_tasks(
        session,
        report.id,
        report.township_id,
        report.plan_year,
        [(ex.items[i], iid) for i, iid in zip(new_idx, new_ids)],
        actor,
    )
    audit.record_many(session, events)
    audit.record(
        session,
        actor=actor,
        action="replace",
        entity="report",
        entity_id=report.id,
        before=before,
        after={
            "source_name": ex.source_name,
            "sha256": sha,
            "kept": len(pairs),
            "withdrawn": len(gone),
            "added": len(new_tasks),
        },
    )
    item_ids = [pairs[i] if i in pairs else None for i in range(len(ex.items))]
    for i, iid in zip(new_idx, new_ids):
        item_ids[i] = iid
    task_of = {oid: tasks[oid].id for oid in pairs.values() if oid in tasks} | new_tasks
    return (
        report.id,
        {"items": len(ex.items), "tasks": len(new_tasks), "kept": len(pairs), "withdrawn": len(gone)},
        _analysis_items(ex.items, item_ids, task_of),
    )
