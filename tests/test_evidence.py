"""Evidence uploads: type and size checks before anything is written, content-addressed storage, access."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from tests.test_lifecycle import DEADLINE, PDF, add_tasks, add_user
from tracker import evidence, lifecycle
from tracker.config import get_settings
from tracker.db import session_scope
from tracker.errors import NotFound, ValidationFailed
from tracker.models import AuditEvent, Evidence, Progress, Task

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


def _ooxml(part: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr(part, "<x/>")
    return buf.getvalue()


@pytest.fixture
def task_world(engine, cli_env):
    with session_scope(engine) as s:
        [tid] = add_tasks(s, township="西里镇", n=1)
        add_tasks(s, township="东湖镇", n=1)
        county = add_user(s, "county", "county_admin")
        xili = add_user(s, "xili", "township", "西里镇")
        dong = add_user(s, "donghu", "township", "东湖镇")
        lifecycle.assign(
            s,
            actor=county,
            task_ids=[tid],
            owner_unit="司法所",
            owner_person="张三",
            deadline=DEADLINE,
            category="限期整改",
        )
    return tid, county, xili, dong


def _stored_files() -> list:
    root = get_settings().evidence_dir
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("大文件.pdf", b"%PDF-" + b"0" * evidence.MAX_BYTES, "文件 大文件.pdf 超过 20 MB 限制"),
        ("病毒.pdf", EXE, "文件 病毒.pdf 类型不支持（仅限 pdf、jpg、png、docx、xlsx）：内容与扩展名 .pdf 不符"),
        ("程序.exe", EXE, "文件 程序.exe 类型不支持（仅限 pdf、jpg、png、docx、xlsx）"),
        ("假表格.xlsx", _ooxml("word/document.xml"), "假表格.xlsx 类型不支持"),
        ("空.png", b"", "文件 空.png 是空文件"),
    ],
)
def test_bad_upload_refused_and_nothing_stored(engine, task_world, name, data, message):
    tid, _, xili, _ = task_world
    with pytest.raises(ValidationFailed) as err:
        with session_scope(engine) as s:  # a good file alongside: the whole post is refused
            lifecycle.post_progress(
                s, actor=xili, task_id=tid, version=2, note="上传材料", files=[("好.png", PNG), (name, data)]
            )
    assert message in err.value.message
    assert _stored_files() == []
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(Evidence)).scalar() == 0
        assert s.execute(select(func.count()).select_from(Progress)).scalar() == 0
        assert s.get(Task, tid).version == 2
        assert (
            s.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "progress")).scalar() == 0
        )


def test_allowed_types_stored_once_by_content(engine, task_world):
    tid, county, xili, dong = task_world
    files = [
        ("照片.JPG", b"\xff\xd8\xff\xe0" + b"1" * 20),
        ("截图.png", PNG),
        ("方案.docx", _ooxml("word/document.xml")),
        ("台账.xlsx", _ooxml("xl/workbook.xml")),
        ("纪要.pdf", PDF),
        ("C:\\Users\\a\\纪要副本.pdf", PDF),
    ]
    with session_scope(engine) as s:
        lifecycle.post_progress(s, actor=xili, task_id=tid, version=None, note="材料齐全", files=files)
    stored = _stored_files()
    assert len(stored) == 5  # the two identical PDFs share one file
    sha = hashlib.sha256(PDF).hexdigest()
    assert get_settings().evidence_dir / sha[:2] / sha[2:4] / sha in stored
    with Session(engine) as s:
        rows = lifecycle.list_evidence(s, actor=county, task_id=tid)
        assert [r.filename for r in rows] == [
            "照片.JPG",
            "截图.png",
            "方案.docx",
            "台账.xlsx",
            "纪要.pdf",
            "纪要副本.pdf",
        ]
        assert rows[0].content_type == "image/jpeg" and rows[4].size == len(PDF)
        pdf = rows[5]
        ev, path = evidence.open_evidence(s, actor=xili, evidence_id=pdf.id)
        assert path.read_bytes() == PDF and ev.filename == "纪要副本.pdf"
        assert evidence.open_evidence(s, actor=county, evidence_id=pdf.id)[1] == path
        with pytest.raises(NotFound, match=f"佐证材料 {pdf.id} 不存在"):
            evidence.open_evidence(s, actor=dong, evidence_id=pdf.id)
        with pytest.raises(NotFound):
            evidence.open_evidence(s, actor=county, evidence_id=pdf.id + 1000)
