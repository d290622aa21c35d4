"""The demo ledger `rectify serve` shows on an empty database, relative to the day it is set up.

After the sample reports are imported (all tasks 待分派, deadlines at the end of their plan years,
long past), `stage_demo` plays a year of work through the real services (tracker.lifecycle), so the
journal, versions, evidence and lights are what the app would have produced: the county admin
assigns every task with a deadline around today, the township users post progress (some with a
generated PDF or PNG as evidence) and submit, the county closes (销号) most of the earlier round,
sends one task back (退回) and leaves some awaiting review. Lights then show a mix of red, yellow
and green; the samples' recurring problems (连续两年查摆) stay open, one beside its closed forerunner,
and two problems the 2024 reports call done are not closed in the ledger (one awaits review, one is late).

Every action happens at setup time (the journal says so); the deadlines carry the story.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tracker import lifecycle
from tracker.config import get_settings
from tracker.db import session_scope
from tracker.lights import today as current_day
from tracker.models import Category, RectificationClaim, Recurrence, Report, Role, Status, Task, Township, User
from tracker.textfmt import cn_date

PERSONS = ("王明", "李静", "张伟", "刘洋", "陈晨", "赵磊", "周敏", "孙浩")
UNITS = (  # (a word in the title, the unit that answers for it); else 司法所
    ("执法", "综合行政执法队"),
    ("政务公开", "党政综合办公室"),
    ("矛盾纠纷", "综治中心"),
    ("营商", "经济发展办公室"),
    ("涉企", "经济发展办公室"),
    ("网格", "综治中心"),
    ("第一责任人", "党政综合办公室"),
    ("决策", "党政综合办公室"),
)
REJECT_REASON = "佐证材料不全：请补充整改前后对比情况和相关制度文件"


@dataclass(frozen=True)
class Step:
    """What happens to one task: its deadline (days from today, `spread` more for every other task of the
    scenario), category, progress notes (stages into NOTES), evidence and end state."""

    days: int
    spread: int = 0
    category: str = Category.deadline.value
    progress: tuple[tuple[str, int], ...] = ()  # (stage, percent) in order
    evidence: bool = False  # the last progress carries a PDF and a PNG
    end: str = "open"  # open | submit | close | reject | stage_done
    yellow: bool = False  # the deadline must stay inside the yellow window


NOTES = {  # a stage of the work → notes the townships write, taken in turn
    "start": (
        "已召开专题会议，制定整改方案，明确责任分工和完成时限",
        "已完成问题梳理，形成整改清单",
        "已组织相关人员集中学习，正在逐项对照整改",
    ),
    "half": (
        "整改方案已报党委审定，正在组织实施",
        "已完成排查和制度起草，正在征求意见",
        "已落实大部分整改措施，剩余工作正在推进",
    ),
    "late": ("部分工作因人员调整推迟，已重新明确责任人", "已召开推进会研究整改措施，正在加快进度"),
    "done": (
        "整改措施已全部落实，相关制度已印发执行",
        "已完成整改并建立长效机制，附会议纪要和现场照片",
        "已整改到位，台账资料已归档",
    ),
    "submit_once": ("已完成整改，上报相关材料",),
    "ongoing": ("建立常态化工作机制，本年度任务已完成", "按年度计划持续推进，本年度工作已完成"),
}


def _steps(yellow: int) -> dict[str, Step]:
    """The scenarios; `yellow` is the settings' yellow window, so yellow and green land where meant."""
    green, near = yellow + 30, max(1, yellow // 2)
    done = (("start", 40), ("done", 100))
    return {
        "closed": Step(-40, -10, progress=done, evidence=True, end="close"),
        "closed_early": Step(green, 10, Category.immediate.value, progress=done[1:], evidence=True, end="close"),
        "overdue": Step(-12, -9, progress=(("late", 60),)),
        "overdue_silent": Step(-5, -6),
        "ongoing": Step(green + 60, 0, Category.ongoing.value, progress=(("ongoing", 100),), end="stage_done"),
        "yellow": Step(near, 2, progress=(("start", 30), ("half", 70)), evidence=True, yellow=True),
        "yellow_silent": Step(yellow - 1, -3, Category.immediate.value, yellow=True),
        "green": Step(green + 20, 15, progress=(("start", 30),)),
        "green_silent": Step(green + 50, 20),
        "review": Step(near + 2, 2, progress=done, evidence=True, end="submit", yellow=True),
        "rejected": Step(near + 4, 0, progress=(("submit_once", 100),), evidence=True, end="reject", yellow=True),
    }


# The latest round's tasks take these in turn; the earlier round's follow the next report's 问题整改情况
# claims (see `_plan`).
LATEST_CYCLE = (
    "green",
    "yellow",
    "overdue",
    "green_silent",
    "review",
    "closed_early",
    "green",
    "yellow_silent",
    "overdue_silent",
)


def _unit(title: str) -> str:
    return next((unit for word, unit in UNITS if word in title), "司法所")


def _plan(session: Session) -> list[tuple[Task, str, str]]:
    """(task, township name, scenario) for every task, in ledger order."""
    rows = session.execute(
        select(Task, Township.name, Report.report_year)
        .join(Township, Task.township_id == Township.id)
        .join(Report, Task.report_id == Report.id)
        .where(Task.status == Status.unassigned)
        .order_by(Township.name, Report.report_year, Task.kind.desc(), Task.id)
    ).all()
    latest = {}
    for _, township, year in rows:
        latest[township] = max(year, latest.get(township, year))
    claims = dict(
        session.execute(
            select(RectificationClaim.task_id, RectificationClaim.claim).where(RectificationClaim.task_id.is_not(None))
        ).all()
    )
    recurring = set(session.execute(select(Recurrence.task_id)).scalars())
    plan, turn, rejected, done_claims = [], 0, False, 0
    for task, township, year in rows:
        if year < latest[township]:  # the earlier round: mostly closed, as the next report claims
            claim = claims.get(task.id)
            if claim == "ongoing":
                scenario = "ongoing"
            elif claim == "in_progress":
                scenario = "overdue"
            elif claim == "done":
                # the report says done: mostly closed, but one awaits the county's check and one is late
                # (both then show as "the report says done, the ledger does not")
                scenario = {0: "review", 3: "overdue"}.get(done_claims, "closed")
                done_claims += 1
            else:
                scenario = "closed"
        elif task.id in recurring and not rejected:
            scenario, rejected = "rejected", True  # the same problem again: the county wants more than a note
        else:
            scenario = LATEST_CYCLE[turn % len(LATEST_CYCLE)]
            turn += 1
        plan.append((task, township, scenario))
    return plan


def stage_demo(engine: Engine, *, today: date | None = None) -> dict[str, int]:
    """Assign and work every 待分派 task as described above; returns how many tasks took each scenario.

    Needs the demo users: an active county admin and one township user per township (tracker.cli.serve)."""
    today = today or current_day()
    yellow = get_settings().yellow_days
    steps = _steps(yellow)
    counts: dict[str, int] = {}
    with session_scope(engine) as session:
        admin = (
            session.execute(select(User).where(User.role == Role.county_admin, User.active).order_by(User.id))
            .scalars()
            .first()
        )
        township_users: dict[str, User] = {}
        for user, township in session.execute(
            select(User, Township.name)
            .join(Township, User.township_id == Township.id)
            .where(User.role == Role.township, User.active)
            .order_by(User.id)
        ):
            township_users.setdefault(township, user)
        if admin is None:
            return counts
        for n, (task, township, scenario) in enumerate(_plan(session)):
            worker = township_users.get(township)
            if worker is None:  # nobody to work on it: assigned only
                scenario = "green_silent"
            step = steps[scenario]
            turn = counts.get(scenario, 0)
            counts[scenario] = turn + 1
            days = step.days + step.spread * (turn % 3)
            if step.yellow:
                days = min(max(days, 0), yellow)
            _play(
                session,
                task,
                step,
                turn=turn,
                admin=admin,
                worker=worker,
                person=PERSONS[n % len(PERSONS)],
                deadline=today + timedelta(days=days),
                year=today.year,
            )
    return counts


def _play(
    session: Session,
    task: Task,
    step: Step,
    *,
    turn: int,
    admin: User,
    worker: User | None,
    person: str,
    deadline: date,
    year: int,
) -> None:
    lifecycle.assign(
        session,
        actor=admin,
        task_ids=[task.id],
        owner_unit=_unit(task.title),
        owner_person=person,
        deadline=deadline,
        category=step.category,
    )
    for i, (stage, percent) in enumerate(step.progress):
        note = NOTES[stage][turn % len(NOTES[stage])]
        last = i == len(step.progress) - 1
        files = (
            [("整改工作会议纪要.pdf", minutes_pdf(task.title, note)), ("整改现场照片.png", photo_png(task.id % 3))]
            if step.evidence and last
            else []
        )
        lifecycle.post_progress(
            session,
            actor=worker,
            task_id=task.id,
            version=None,
            note=note,
            percent=percent,
            files=files,
            submit=last and step.end in ("submit", "close", "reject"),
        )
    if step.end == "close":
        lifecycle.verify(session, actor=admin, task_id=task.id, version=None)
    elif step.end == "reject":
        lifecycle.verify(session, actor=admin, task_id=task.id, version=None, reject_reason=REJECT_REASON)
    elif step.end == "stage_done":
        lifecycle.mark_stage_done(session, actor=admin, task_id=task.id, version=None, year=year)


# --- evidence files, made here so the demo needs nothing beside the code -------------------------------


def _pdf_text(text: str) -> str:
    return "<" + text.encode("utf-16-be").hex().upper() + ">"


def minutes_pdf(title: str, note: str) -> bytes:
    """A one-page PDF (A4) of meeting minutes in Chinese, with the standard CJK font STSong-Light
    (not embedded: every PDF viewer supplies it)."""
    lines = [
        (20, "整改工作会议纪要（演示材料）"),
        (12, f"事项：{title}"[:40]),
        (12, f"进展：{note}"[:40]),
        (12, f"日期：{cn_date(current_day())}"),
        (10, "本文件由演示数据自动生成，内容为虚构。"),
    ]
    ops, y = ["BT"], 780
    for size, line in lines:
        ops.append(f"/F1 {size} Tf 1 0 0 1 72 {y} Tm {_pdf_text(line)} Tj")
        y -= size * 2 + 8
    ops.append("ET")
    stream = "\n".join(ops).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [6 0 R] >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /FontDescriptor 7 0 R "
        b"/DW 1000 /W [1 95 500] >>",  # full-width CJK, half-width ASCII
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
        b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@lru_cache(maxsize=4)
def photo_png(seed: int, width: int = 320, height: int = 200) -> bytes:
    """A small PNG standing in for a site photo: sky, a building and a banner, coloured by `seed`."""
    sky, ground = (196, 222, 240), (120, 160, 96)
    wall = ((210, 190, 160), (200, 200, 205), (225, 205, 180))[seed % 3]
    banner = (200, 40, 40)
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # filter: none
        for x in range(width):
            if 60 <= x < 260 and 50 <= y < 160:
                colour = (
                    banner
                    if 62 <= y < 76 and 80 <= x < 240
                    else ((90, 120, 160) if (x - 70) % 40 < 18 and 90 <= y < 140 and (y - 90) % 25 < 14 else wall)
                )
            else:
                colour = sky if y < 150 else ground
            row += bytes(colour)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )
