"""Year end in one call: every township's section in each format and the county summary, into a folder.

`review_notes` (off by default) lets internal review wording (退回 reasons) into the sections; the
result says why charts were left out of the county summary, if they were (`chart_note`)."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from tracker.audit import record_export
from tracker.db import session_scope
from tracker.errors import NotFound, ValidationFailed
from tracker.lights import today
from tracker.models import Report, Township
from tracker.textfmt import percent
from tracker.yearend import county as county_summary
from tracker.yearend import gbt9704
from tracker.yearend.data import RecurrenceRow, cross_year, load_chunks
from tracker.yearend.section import FORMATS, Section, blocks, build, render

COUNTY_PREFIX = "县级汇总"
COUNTY_FORMATS = ("docx", "xlsx", "html")


def section_name(township: str, year: int, fmt: str) -> str:
    return f"{township}-{year}年度问题整改情况.{fmt}"


def county_name(year: int, fmt: str) -> str:
    return f"{COUNTY_PREFIX}-{year}年度问题整改情况汇总.{fmt}"


def section_bytes(section: Section, fmt: str) -> bytes:
    if fmt == "docx":
        return gbt9704.from_blocks(blocks(render(section, "txt")))
    return render(section, fmt).encode("utf-8")


def check_formats(formats) -> tuple[str, ...]:
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValidationFailed(f"不支持的格式：{'、'.join(bad)}（可选 {'、'.join(FORMATS)}）")
    return tuple(dict.fromkeys(formats))


def _check_found(engine: Engine, *, year: int, townships: list[str] | None, county_id: int | None = None) -> None:
    q = select(Report.id).join(Township, Township.id == Report.township_id).where(Report.report_year == year)
    if townships:
        q = q.where(Township.name.in_(townships))
    if county_id is not None:
        q = q.where(Township.county_id == county_id)
    with engine.connect() as conn:
        if conn.execute(q.limit(1)).first() is None:
            where = f"{'、'.join(townships)}的" if townships else ""
            raise NotFound(f"没有找到{where}{year}年度报告，请先导入")


def sections(
    engine: Engine,
    *,
    year: int,
    as_of: date,
    townships: list[str] | None = None,
    tally: county_summary.Tally | None = None,
    review_notes: bool = False,
    county_id: int | None = None,
) -> Iterator[Section]:
    """Each township's section (of the county `county_id`, if given), in name order, loaded a chunk at a
    time; `tally` sees every township."""
    _check_found(engine, year=year, townships=townships, county_id=county_id)
    for chunk in load_chunks(engine, year=year, as_of=as_of, townships=townships, county_id=county_id):
        for ty in chunk:
            if tally is not None:
                tally.add(ty)
            yield build(ty, as_of, review_notes=review_notes)


def one_section(
    engine: Engine, *, year: int, as_of: date, township: str, review_notes: bool = False, county_id: int | None = None
) -> Section:
    return next(
        sections(engine, year=year, as_of=as_of, townships=[township], review_notes=review_notes, county_id=county_id)
    )


def county_tally(
    engine: Engine,
    *,
    year: int,
    townships: list[str] | None = None,
    county_id: int | None = None,
) -> tuple[county_summary.Tally, list[RecurrenceRow]]:
    """An empty tally knowing the claims, and the recurrences: what the county summary needs besides
    the townships themselves."""
    recurrences, claims = cross_year(engine, year=year, townships=townships, county_id=county_id)
    return county_summary.Tally(claims), recurrences


def county_summary_of(
    engine: Engine, *, year: int, as_of: date, county_id: int | None = None
) -> county_summary.CountySummary:
    """The county summary of the county `county_id` (None: every township in the database)."""
    tally, recurrences = county_tally(engine, year=year, county_id=county_id)
    for _ in sections(engine, year=year, as_of=as_of, tally=tally, county_id=county_id):
        pass
    return tally.summary(recurrences, year=year, as_of=as_of)


def county_files(summary: county_summary.CountySummary) -> dict[str, bytes]:
    year = summary.year
    files = {
        county_name(year, "docx"): county_summary.docx(summary),
        county_name(year, "xlsx"): county_summary.xlsx(summary),
        county_name(year, "html"): county_summary.html(summary).encode("utf-8"),
    }
    for key, png in summary.charts.items():
        files[f"{COUNTY_PREFIX}-{year}年度-{county_summary.CHART_TITLES[key]}.png"] = png
    return files


def _write(path: Path, data: bytes) -> None:
    """All or nothing: a reader never sees a half-written file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def run_year_end(
    *,
    engine: Engine,
    year: int,
    as_of: date | None = None,
    out_dir: Path | str,
    townships: list[str] | None = None,
    formats=FORMATS,
    county: bool = True,
    review_notes: bool = False,
    county_id: int | None = None,
    actor: str | None = None,
) -> dict:
    """Write each township's section (one file per format, named after the township) and, with
    `county`, the county summary; returns what was written and the headline numbers. The audit log
    records the export under `actor` (the CLI's operator, a flow's name)."""
    as_of = as_of or today()
    formats = check_formats(formats)
    out = Path(out_dir)
    tally, recurrences = (
        county_tally(engine, year=year, townships=townships, county_id=county_id) if county else (None, [])
    )
    written, townships_done = 0, 0
    totals = dict.fromkeys(("total", "done", "in_progress", "ongoing", "unassigned"), 0)
    for section in sections(
        engine, year=year, as_of=as_of, townships=townships, tally=tally, review_notes=review_notes, county_id=county_id
    ):
        if not townships_done:
            out.mkdir(parents=True, exist_ok=True)
        townships_done += 1
        for k in totals:
            totals[k] += section.counts[k]
        for fmt in formats:
            _write(out / section_name(section.township, year, fmt), section_bytes(section, fmt))
            written += 1
    result = {
        "year": year,
        "as_of": as_of.isoformat(),
        "out_dir": str(out),
        "townships": townships_done,
        "shortcomings": totals["total"],
        "done": totals["done"],
        "in_progress": totals["in_progress"],
        "ongoing": totals["ongoing"],
        "unassigned": totals["unassigned"],
        "rate": percent(totals["done"], totals["total"]),
        "files": written,
    }
    if tally is not None:
        summary = tally.summary(recurrences, year=year, as_of=as_of)
        files = county_files(summary)
        for name, blob in files.items():
            _write(out / name, blob)
        result |= {
            "files": written + len(files),
            "county_files": sorted(files),
            "recurring": summary.total.recurring,
            "claimed_not_closed": len(summary.claims),
            "unlinked": summary.total.unlinked,
            "closed_late": len(summary.late),
            "charts": len(summary.charts),
            "chart_note": summary.chart_note,
            "recurrences": [county_summary.recurrence_cells(r) for r in summary.recurrences],
            "claims": [county_summary.claim_cells(c) for c in summary.claims],
        }
    with session_scope(engine) as session:
        record_export(
            session,
            actor=actor,
            entity="yearend",
            what=str(out),
            files=result["files"],
            year=year,
            as_of=as_of,
            townships=townships,
            county_id=county_id,
        )
    return result


def zip_all(
    engine: Engine, *, year: int, as_of: date, review_notes: bool = False, county_id: int | None = None
) -> bytes:
    """Every township's section in every format plus the county files, as one .zip (for the county)."""
    tally, recurrences = county_tally(engine, year=year, county_id=county_id)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for section in sections(
            engine, year=year, as_of=as_of, tally=tally, review_notes=review_notes, county_id=county_id
        ):
            for fmt in FORMATS:
                zf.writestr(section_name(section.township, year, fmt), section_bytes(section, fmt))
        for name, blob in county_files(tally.summary(recurrences, year=year, as_of=as_of)).items():
            zf.writestr(name, blob)
    return buf.getvalue()
