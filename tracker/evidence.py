"""Evidence files (佐证材料): checked by extension and content, stored once per content by sha256, in a
directory shared by the web machines (the default) or in the database (RECTIFY_EVIDENCE_STORE)."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from pathlib import Path, PureWindowsPath

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from tracker import audit
from tracker.config import get_settings
from tracker.counties import can_see_township
from tracker.db import utcnow
from tracker.errors import NotFound, ValidationFailed
from tracker.models import Evidence, EvidenceBlob, Task, User

MAX_BYTES = 20 * 1024 * 1024
ALLOWED = {  # extension → content type
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_ALLOWED_TEXT = "仅限 pdf、jpg、png、docx、xlsx"
_ZIP_PART = {".docx": "word/document.xml", ".xlsx": "xl/workbook.xml"}  # the part every such file has


def _content_matches(ext: str, data: bytes) -> bool:
    if ext == ".pdf":
        return data.startswith(b"%PDF-")
    if ext in (".jpg", ".jpeg"):
        return data.startswith(b"\xff\xd8\xff")
    if ext == ".png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return _ZIP_PART[ext] in zf.namelist()
    except zipfile.BadZipFile:
        return False


MAX_NAME_BYTES = 255  # what file systems allow in one name


def clean_filename(filename: str) -> str:
    """The bare file name, whatever path a browser or shell sent with it; at most 255 bytes in UTF-8
    (a longer name is shortened, its extension kept). Names of only dots and names with control
    characters or invalid Unicode are refused."""
    name = PureWindowsPath(filename or "").name.strip()
    if not name:
        raise ValidationFailed("文件名不能为空")
    if not name.strip(". "):
        raise ValidationFailed(f"文件名“{name}”无效")
    if any(ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF for c in name):
        raise ValidationFailed("文件名含有控制字符或无效的 Unicode 字符，请重命名后再上传")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        suffix = Path(name).suffix if len(Path(name).suffix) <= 16 else ""
        stem = name[: len(name) - len(suffix)].encode("utf-8")[: MAX_NAME_BYTES - len(suffix.encode("utf-8"))]
        name = stem.decode("utf-8", errors="ignore").rstrip() + suffix
    return name


def check_batch(files: list[tuple[str, bytes]]) -> None:
    """The limits of one progress post: how many files and how many bytes together (settings)."""
    settings = get_settings()
    if len(files) > settings.evidence_max_files:
        raise ValidationFailed(
            f"一次最多上传 {settings.evidence_max_files} 个佐证材料，本次选择了 {len(files)} 个，请分几次填报"
        )
    total = sum(len(data) for _, data in files)
    if total > settings.evidence_max_mb * 1024 * 1024:
        raise ValidationFailed(
            f"本次佐证材料合计 {total / 1048576:.1f} MB，超过每次 {settings.evidence_max_mb} MB 的上限，"
            "请分几次填报或压缩后再上传"
        )


def check_file(filename: str, data: bytes) -> str:
    """Validate one upload; returns its content type. Raises before anything is written."""
    name = clean_filename(filename)
    ext = Path(name).suffix.lower()
    if ext not in ALLOWED:
        raise ValidationFailed(f"文件 {name} 类型不支持（{_ALLOWED_TEXT}）")
    if len(data) > MAX_BYTES:
        raise ValidationFailed(f"文件 {name} 超过 20 MB 限制")
    if not data:
        raise ValidationFailed(f"文件 {name} 是空文件")
    if not _content_matches(ext, data):
        raise ValidationFailed(f"文件 {name} 类型不支持（{_ALLOWED_TEXT}）：内容与扩展名 {ext} 不符")
    return ALLOWED[ext]


class DirectoryStore:
    """Evidence files under a directory (RECTIFY_EVIDENCE_DIR, default data_dir/evidence), at ab/cd/<sha256>.

    With several web machines the directory must be one they all mount (NFS, SMB, …). A file is written
    (atomically, synced) before the Evidence row that references it commits, and never changes after."""

    name = "directory"

    def __init__(self, root: Path):
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, session: Session, sha256: str, data: bytes) -> None:
        path = self.path(sha256)
        if path.exists():
            return  # same content already stored
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)  # atomic: readers see the whole file or none
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, session: Session, sha256: str) -> Path | None:
        path = self.path(sha256)
        return path if path.is_file() else None


class DatabaseStore:
    """Evidence content in the database (RECTIFY_EVIDENCE_STORE=database): the EvidenceBlob table, bytea on
    PostgreSQL, a BLOB on SQLite, written in the transaction of the Evidence row, so every web process sees
    exactly what is committed and a backup of the database holds the files too. Files stored in the
    directory before the switch are still read from there."""

    name = "database"

    def __init__(self, fallback: DirectoryStore):
        self.fallback = fallback

    def put(self, session: Session, sha256: str, data: bytes) -> None:
        if session.execute(select(EvidenceBlob.sha256).where(EvidenceBlob.sha256 == sha256)).first():
            return  # same content already stored: the bytes are not sent again
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        # a concurrent post of the same content waits for ours, then finds the row and adds nothing
        session.execute(
            insert(EvidenceBlob)
            .values(sha256=sha256, size=len(data), data=data, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["sha256"])
        )

    def get(self, session: Session, sha256: str) -> bytes | Path | None:
        data = session.execute(select(EvidenceBlob.data).where(EvidenceBlob.sha256 == sha256)).scalar_one_or_none()
        return data if data is not None else self.fallback.get(session, sha256)


def evidence_store() -> DirectoryStore | DatabaseStore:
    """The configured store (RECTIFY_EVIDENCE_STORE)."""
    settings = get_settings()
    directory = DirectoryStore(settings.evidence_dir)
    return DatabaseStore(directory) if settings.evidence_store == "database" else directory


def blob_path(sha256: str) -> Path:
    """Where the directory store keeps (or would keep) this content."""
    return DirectoryStore(get_settings().evidence_dir).path(sha256)


def store_evidence(
    session: Session, *, task: Task, progress_id: int | None, filename: str, data: bytes, actor: User
) -> Evidence:
    if not can_see_township(session, actor, task.township_id):
        raise NotFound(f"任务 {task.id} 不存在")
    content_type = check_file(filename, data)
    sha = hashlib.sha256(data).hexdigest()
    evidence_store().put(session, sha, data)
    ev = Evidence(
        task_id=task.id,
        progress_id=progress_id,
        filename=clean_filename(filename),
        content_type=content_type,
        size=len(data),
        sha256=sha,
        uploaded_by=actor.name,
    )
    session.add(ev)
    session.flush()
    return ev


PREVIEW_TYPES = ("application/pdf", "image/png", "image/jpeg")  # shown inline on the task page


def open_evidence(
    session: Session, *, actor: User, evidence_id: int, inline: bool = False
) -> tuple[Evidence, Path | bytes]:
    """The evidence row and its content: a file of the directory store, or the bytes from the database.
    A download is an export in the audit log; the task page's inline preview (`inline`, of a type it
    shows in place) is not."""
    ev = session.get(Evidence, evidence_id)
    task = session.get(Task, ev.task_id) if ev is not None else None
    if task is None or not can_see_township(session, actor, task.township_id):
        raise NotFound(f"佐证材料 {evidence_id} 不存在")
    content = evidence_store().get(session, ev.sha256)
    if content is None:
        raise NotFound(f"佐证材料 {ev.filename} 的文件已不在存储中，请重新上传")
    if not (inline and ev.content_type in PREVIEW_TYPES):
        audit.record_export(
            session, actor=actor, entity="evidence", what=ev.filename, evidence_id=ev.id, task_id=task.id
        )
    return ev, content
