"""The county's working format: export the ledger to .xlsx, import an edited sheet to bulk-assign.

The export ends with 任务编号 and 版本 (hidden) so an edited sheet finds its tasks again and a row
based on an old version does not overwrite a newer edit. 整改类别 holds the category; sheets exported
before it was named so call it 类型 (and have no 报告年度 or 问题/计划 kind column): they import alike.
"""

from __future__ import annotations

import io
import re
import threading
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlmodel import Session

from tracker import audit, lifecycle
from tracker.config import get_settings
from tracker.counties import can_see_township
from tracker.errors import Conflict, DomainError, ValidationFailed
from tracker.extraction.decode import MAX_PART, MAX_UNZIPPED
from tracker.ledger import ledger_select, row_of, task_filters
from tracker.lights import today
from tracker.models import Category, Kind, Task, Township, User
from tracker.users import COUNTY_ROLES, require_role
from tracker.vocabulary import Light
from tracker.xlsx import as_text

SHEET = "整改台账"
HEADERS = (
    "序号",
    "乡镇",
    "报告年度",
    "问题/计划",
    "整改事项",
    "整改措施",
    "整改类别",
    "责任单位",
    "责任人",
    "整改时限",
    "状态",
    "最新进展",
    "佐证材料数",
    "预警",
    "任务编号",
    "版本",
)
WIDTHS = (6, 12, 8, 8, 36, 40, 10, 16, 10, 14, 8, 36, 10, 6, 10, 6)
WRAPPED = {"整改事项", "整改措施", "最新进展"}
HIDDEN = {"任务编号", "版本"}
DATE_FORMAT = 'yyyy"年"m"月"d"日"'
CATEGORY = "整改类别"
OLD_CATEGORY = "类型"  # the category's header in sheets exported before 整改类别 (the previous column layout)
REQUIRED = ("任务编号", "版本", CATEGORY, "责任单位", "责任人", "整改时限")
FILENAME_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
HEADER_SCAN_ROWS = 10
CHUNK = 10_000  # ids per IN (...) list
MAX_COLUMNS = 64  # columns read from an imported sheet (the export has 14)
_SIZE_LOCK = threading.Lock()


def export_ledger(session: Session, *, actor: User, path_or_buffer, **filters) -> int:
    """Write the tasks `actor` may see under `filters` (those of `query_tasks`) to .xlsx; returns the row count.

    Every matching row is written: `page` and `per_page`, if passed along with the ledger's filters, are ignored.
    """
    as_of = filters.pop("as_of", None) or today()
    order = filters.pop("order", "township")
    filters.pop("page", None)
    filters.pop("per_page", None)
    conds = task_filters(actor=actor, as_of=as_of, **filters)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SHEET)
    for i, (name, width) in enumerate(zip(HEADERS, WIDTHS), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
        ws.column_dimensions[get_column_letter(i)].hidden = name in HIDDEN
    ws.freeze_panes = "A2"
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    ws.append([_cell(ws, h, font=bold) for h in HEADERS])
    n = 0
    for n, row in enumerate(session.execute(ledger_select(as_of=as_of, conds=conds, order=order)), start=1):
        r = row_of(row)
        values = (
            n,
            r.township,
            r.report_year,
            Kind.label_of(r.kind),
            r.title,
            r.description if r.kind == Kind.plan else "",
            r.category or "",
            r.owner_unit or "",
            r.owner_person or "",
            r.deadline,
            r.status,
            r.latest_note or "",
            r.evidence_count,
            Light.label_of(r.light, ""),
            r.id,
            r.version,
        )
        ws.append(
            [
                _cell(
                    ws,
                    v,
                    alignment=wrap if h in WRAPPED else None,
                    number_format=DATE_FORMAT if h == "整改时限" else None,
                )
                for h, v in zip(HEADERS, values)
            ]
        )
    categories = DataValidation(type="list", formula1=f'"{",".join(Category.labels())}"', allow_blank=True)
    column = get_column_letter(HEADERS.index(CATEGORY) + 1)
    categories.add(f"{column}2:{column}{max(n + 1, 2) + 500}")  # room for the county to add rows it copies around
    ws.data_validations.append(categories)
    wb.save(path_or_buffer)
    name = (
        Path(path_or_buffer).name.removeprefix(".").removesuffix(".tmp")  # the CLI writes .X.xlsx.tmp first
        if isinstance(path_or_buffer, (str, Path))
        else f"{SHEET}.xlsx"
    )
    audit.record_export(
        session,
        actor=actor,
        entity="ledger",
        what=name,
        rows=n,
        filters={k: v for k, v in filters.items() if v not in (None, "", [], ())},
    )
    return n


def export_filename(
    *,
    on: date,
    township: str | None = None,
    county: str | None = None,
    year: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    light: str | None = None,
    theme: str | None = None,
    sent_back: bool = False,
    **_other,
) -> str:
    """The export's file name after its filters, e.g. 整改台账-鹤鸣镇-2023年度-20261129.xlsx (free-text filters
    are left out; characters no file system takes are dropped)."""
    parts = [
        county,
        township,
        f"{year}年度" if year else None,
        Kind.label_of(kind) if kind else None,
        status,
        Light.label_of(light) if light else None,
        theme,
        "被退回" if sent_back else None,
    ]
    words = [FILENAME_UNSAFE.sub("", str(p)).strip(" .")[:40] for p in parts if p]
    return "-".join([SHEET, *[w for w in words if w], f"{on:%Y%m%d}"]) + ".xlsx"


def _cell(ws, value, *, font=None, alignment=None, number_format=None) -> WriteOnlyCell:
    cell = as_text(WriteOnlyCell(ws, value=value))  # notes, titles, owners: never a formula
    if font:
        cell.font = font
    if alignment:
        cell.alignment = alignment
    if number_format:
        cell.number_format = number_format
    return cell


@dataclass
class RowError:
    row: int  # as Excel numbers it
    task_id: int | None
    reason: str

    def __str__(self) -> str:
        return f"第 {self.row} 行：{self.reason}"


@dataclass
class ImportReport:
    applied: list[int] = field(default_factory=list)  # task ids changed
    unchanged: int = 0  # rows equal to the ledger already
    skipped: int = 0  # rows with no assignment filled in
    errors: list[RowError] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"已更新 {len(self.applied)} 项", f"无变化 {self.unchanged} 项"]
        if self.skipped:
            parts.append(f"未填写分派信息 {self.skipped} 行")
        if self.errors:
            parts.append(f"{len(self.errors)} 行未导入")
        return "，".join(parts)


@dataclass
class _Row:
    row: int
    task_id: int
    version: int
    township: str
    fields: dict  # owner_unit, owner_person, deadline, category


def import_assignments(session: Session, *, actor: User, source) -> ImportReport:
    """Apply each row's owner unit/person, deadline and category in the caller's one transaction.

    Rows that do not resolve are reported with their row number and reason and not applied; the rest are.
    """
    require_role(actor, *COUNTY_ROLES)
    report = ImportReport()
    rows = _read_rows(source, report)
    tasks = {}
    for ids in _chunks([r.task_id for r in rows]):  # PostgreSQL takes at most 65,535 parameters a statement
        tasks |= {
            t.id: t
            for t in session.execute(
                select(Task).where(Task.id.in_(ids)).execution_options(populate_existing=True)
            ).scalars()
        }
    names = {}
    for ids in _chunks(sorted({t.township_id for t in tasks.values()})):
        names |= dict(session.execute(select(Township.id, Township.name).where(Township.id.in_(ids))).all())
    for r in rows:
        task = tasks.get(r.task_id)
        if task is None or not can_see_township(session, actor, task.township_id):
            report.errors.append(RowError(r.row, r.task_id, f"任务编号 {r.task_id} 不存在"))
        elif r.township and r.township != names[task.township_id]:
            report.errors.append(
                RowError(
                    r.row,
                    r.task_id,
                    f"任务编号 {r.task_id} 属于“{names[task.township_id]}”，与本行乡镇“{r.township}”不符",
                )
            )
        elif all(getattr(task, k) == v for k, v in r.fields.items()):
            report.unchanged += 1
        else:
            try:
                lifecycle.assign(
                    session, actor=actor, task_ids=[r.task_id], versions={r.task_id: r.version}, **r.fields
                )
                report.applied.append(r.task_id)
            except Conflict:
                report.errors.append(
                    RowError(
                        r.row,
                        r.task_id,
                        f"表中版本 {r.version} 已过期（当前版本 {task.version}），"
                        "该任务在导出后被修改过，请重新导出后再改",
                    )
                )
            except DomainError as exc:  # raised before this row wrote anything
                report.errors.append(RowError(r.row, r.task_id, exc.message))
    report.errors.sort(key=lambda e: e.row)
    audit.record(
        session,
        actor=actor.name,
        action="import",
        entity="ledger",
        entity_id=0,
        after={
            "file": _source_name(source),
            "applied": len(report.applied),
            "unchanged": report.unchanged,
            "refused": len(report.errors),
        },
    )
    return report


def _chunks(values: list, size: int = CHUNK) -> list[list]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _source_name(source) -> str:
    return Path(source).name if isinstance(source, (str, Path)) else "上传的文件"


_DOCTYPE = tuple(t.encode(enc) for t in ("<!DOCTYPE", "<!doctype") for enc in ("utf-8", "utf-16-le", "utf-16-be"))


def _check_package(source, name: str) -> None:
    """Before openpyxl parses anything: a zip whose parts inflate to sane sizes (a 15 MB sheet of 3 M rows
    took 67 s and 573 MB to read). zipfile never inflates a part past the size its directory declares."""
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as zf:
            parts = zf.infolist()
            if sum(p.file_size for p in parts) > MAX_UNZIPPED:
                raise ValidationFailed(
                    f"文件 {name} 解压后超过 {MAX_UNZIPPED // 1048576} MB，不像是本系统导出的台账，未读取"
                )
            big = max(parts, key=lambda p: p.file_size, default=None)
            if big is not None and big.file_size > MAX_PART:
                raise ValidationFailed(
                    f"文件 {name} 中的 {big.filename} 解压后为 {big.file_size / 1048576:.0f} MB，"
                    f"超过 {MAX_PART // 1048576} MB 的上限，不像是本系统导出的台账，未读取"
                )
            for part in parts:  # a DTD can define entities that expand without end: Excel never writes one
                if part.filename.endswith((".xml", ".rels")):
                    with zf.open(part) as fh:
                        prolog = fh.read(4096)
                    if any(tag in prolog for tag in _DOCTYPE):
                        raise ValidationFailed(
                            f"文件 {name} 中的 {part.filename} 含有 DTD 声明，不是 Excel 保存的表格，未读取"
                        )
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise ValidationFailed(f"文件 {name} 不是有效的 Excel（.xlsx）文件") from None


def _read_rows(source, report: ImportReport) -> list[_Row]:
    """Parse the sheet: good rows returned, bad ones recorded in `report`. Whatever is wrong with the file
    itself (not a zip, too large, too many rows, damaged or hostile XML) is one Chinese ValidationFailed."""
    name = _source_name(source)
    _check_package(source, name)
    try:
        return _parse_sheet(source, name, report)
    except DomainError:
        raise
    except Exception as exc:  # openpyxl, lxml and zipfile raise many kinds on a damaged or hostile file
        raise ValidationFailed(
            f"文件 {name} 不是有效的 Excel（.xlsx）文件，或已损坏，无法读取（{type(exc).__name__}）"
        ) from None


def _load_streaming(source):
    """openpyxl's read-only workbook, reading rows only as they are asked for.

    Opening a read-only sheet parses all of it when it declares no size (<dimension>), and a declared
    size of A1:XFD1048576 pads a few rows out to a million: the sheets are opened without their size
    (what `reset_dimensions()` does afterwards), so rows stream and the row cap stops the reading.
    """
    with _SIZE_LOCK:
        get_size = ReadOnlyWorksheet._get_size
        ReadOnlyWorksheet._get_size = lambda self: None
        try:
            return load_workbook(
                io.BytesIO(source) if isinstance(source, bytes) else source, read_only=True, data_only=True
            )
        finally:
            ReadOnlyWorksheet._get_size = get_size


def _parse_sheet(source, name: str, report: ImportReport) -> list[_Row]:
    try:
        wb = _load_streaming(source)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise ValidationFailed(f"文件 {name} 不是有效的 Excel（.xlsx）文件") from None
    max_rows = get_settings().import_max_rows
    try:
        ws = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
        lines = ws.iter_rows(max_col=MAX_COLUMNS, values_only=True)  # a cell in column XFD: no 16,384-wide rows
        cols, header_row = None, 0
        for header_row, values in enumerate(lines, start=1):
            labels = [str(v).strip() if v is not None else "" for v in values]
            if "任务编号" in labels:
                cols = {label: i for i, label in enumerate(labels) if label}
                break
            if header_row >= HEADER_SCAN_ROWS:
                break
        if cols is None:
            raise ValidationFailed(f"文件 {name} 中找不到“任务编号”列，请使用本系统导出的台账")
        category = CATEGORY if CATEGORY in cols or OLD_CATEGORY not in cols else OLD_CATEGORY
        cols[CATEGORY] = cols.get(category)  # an old sheet's 类型 is the category
        missing = [h for h in REQUIRED if cols.get(h) is None]
        if missing:
            raise ValidationFailed(f"文件 {name} 缺少列：{'、'.join(missing)}")
        rows, seen, filled = [], {}, 0
        for n, values in enumerate(lines, start=header_row + 1):
            if any(not _blank(v) for v in values):
                filled += 1
                if filled > max_rows:  # stop reading here: the rest of the sheet is never parsed
                    raise ValidationFailed(f"文件 {name} 超过每次导入 {max_rows} 行的上限，请分成几个文件导入")
            get = lambda h, values=values: (  # noqa: E731
                values[cols[h]] if cols.get(h) is not None and cols[h] < len(values) else None
            )
            parsed = _parse_row(n, get, seen, report, category_label=category)
            if parsed is not None:
                rows.append(parsed)
        return rows
    finally:
        wb.close()


def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _parse_row(
    n: int, get, seen: dict[int, int], report: ImportReport, *, category_label: str = CATEGORY
) -> _Row | None:
    assigned = [get(h) for h in (CATEGORY, "责任单位", "责任人", "整改时限")]
    if _blank(get("任务编号")):
        if not all(map(_blank, assigned)):
            report.errors.append(RowError(n, None, "任务编号为空"))
        return None
    task_id = _as_int(get("任务编号"))
    if task_id is None:
        report.errors.append(RowError(n, None, f"任务编号“{get('任务编号')}”无效"))
        return None
    if all(map(_blank, assigned[:3])):  # every row carries a deadline; no owner or type means not assigned here
        report.skipped += 1
        return None
    problem = None
    category, unit, person, raw_deadline = (v.strip() if isinstance(v, str) else v for v in assigned)
    deadline = _as_date(raw_deadline)
    version = _as_int(get("版本"))
    if task_id in seen:
        problem = f"任务编号 {task_id} 与第 {seen[task_id]} 行重复"
    elif version is None:
        problem = "版本为空或无效，请使用本系统导出的台账"
    elif _blank(unit):
        problem = "责任单位为空"
    elif _blank(person):
        problem = "责任人为空"
    elif deadline is None:
        problem = (
            f"整改时限“{'' if raw_deadline is None else raw_deadline}”不是有效日期（如 2024-06-30 或 2024年6月30日）"
        )
    elif category not in Category.labels():
        problem = f"{category_label}“{category or ''}”无效，应为 {Category.choices()}"
    seen.setdefault(task_id, n)
    if problem:
        report.errors.append(RowError(n, task_id, problem))
        return None
    township = get("乡镇")
    return _Row(
        n,
        task_id,
        version,
        str(township).strip() if not _blank(township) else "",
        {"owner_unit": str(unit), "owner_person": str(person), "deadline": deadline, "category": category},
    )


def _as_int(v) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.strip().isdigit():
        return int(v.strip())
    return None


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def _as_date(v) -> date | None:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    m = _DATE.match(v.strip()) if isinstance(v, str) else None
    if not m:
        return None
    try:
        return date(*map(int, m.groups()))
    except ValueError:
        return None
