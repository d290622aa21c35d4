"""Backup and restore of the embedded default (SQLite + the evidence directory) as one archive.

`backup()` is consistent while the app writes:
1. the database is copied with SQLite's online backup API in one step (`sqlite3.Connection.backup`, all
   pages at once): the copy is the database as of one moment, whatever other processes write meanwhile
   (WAL lets them go on);
2. everything else is read from that copy itself: the table counts, the schema revision and the evidence
   it references (the sha256 of every Evidence row not held in the database's own evidenceblob table);
3. those files are added after the copy. Evidence is content-addressed and never changes, and a file is
   written before the row that references it commits, so every file the copy references exists, as it
   was. Files written after the copy are not referenced by it and are left out.

The archive is a gzip-compressed tar: manifest.json (format, time, revision, counts, evidence), rectify.db,
evidence/ab/cd/<sha256> and the template overrides (templates/). `restore()` unpacks it into an empty
data dir, checking every file's sha256 against its name, the database's integrity and its counts against
the manifest. PostgreSQL installations use pg_dump/pg_restore instead (README).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sqlalchemy.engine import make_url

from tracker.config import Settings, get_settings
from tracker.db import utcnow

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE = "rectify.db"
EVIDENCE = "evidence"
TEMPLATES = "templates"
_EVIDENCE_NAME = re.compile(r"^evidence/([0-9a-f]{2})/([0-9a-f]{2})/(\1\2[0-9a-f]{60})$")
_CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot be done; the message is for the user, in Chinese."""


@dataclass
class BackupResult:
    path: Path
    counts: dict[str, int]
    revision: str
    evidence_files: int = 0
    evidence_bytes: int = 0
    evidence_in_database: int = 0
    missing: list[str] = field(default_factory=list)  # referenced files not found in the directory
    seconds: float = 0.0
    size: int = 0


@dataclass
class RestoreResult:
    data_dir: Path
    counts: dict[str, int]
    revision: str
    evidence_files: int
    evidence_in_database: int
    created_at: str
    seconds: float = 0.0


def _sqlite_path(settings: Settings, command: str) -> Path:
    if not settings.embedded:
        tool = "pg_dump" if command == "backup" else "pg_restore"
        raise BackupError(
            f"rectify {command} 只用于内置的 SQLite 数据库；当前使用 PostgreSQL，请用 {tool}"
            "（方法见 README 的“备份与恢复”）"
        )
    database = make_url(settings.database_url).database
    if not database or database == ":memory:":
        raise BackupError("当前数据库不是文件，无法备份或恢复")
    return Path(database).expanduser().resolve()


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Rows per table (alembic_version left out)."""
    return {
        t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in _tables(conn) if t != "alembic_version"
    }


def _revision(conn: sqlite3.Connection) -> str:
    if "alembic_version" not in _tables(conn):
        return ""
    return ",".join(sorted(r[0] for r in conn.execute("SELECT version_num FROM alembic_version")))


def _referenced(conn: sqlite3.Connection) -> tuple[set[str], set[str]]:
    """(sha256 of evidence the directory must hold, sha256 held in the database itself)."""
    tables = set(_tables(conn))
    shas = {r[0] for r in conn.execute("SELECT DISTINCT sha256 FROM evidence")} if "evidence" in tables else set()
    in_db = {r[0] for r in conn.execute("SELECT sha256 FROM evidenceblob")} if "evidenceblob" in tables else set()
    return shas - in_db, shas & in_db


def _evidence_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256[2:4] / sha256


def _evidence_name(sha256: str) -> str:
    return f"{EVIDENCE}/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def backup(target: Path, *, settings: Settings | None = None) -> BackupResult:
    """Write the database and the evidence it references into the archive `target` (a new file)."""
    settings = settings or get_settings()
    started = time.monotonic()
    db_path = _sqlite_path(settings, "backup")
    if not db_path.is_file():
        raise BackupError(f"数据库文件 {db_path} 不存在，没有可备份的数据")
    target = Path(target).expanduser().resolve()
    if target.exists():
        raise BackupError(f"备份文件 {target} 已存在：不覆盖已有的备份，请换一个文件名")
    if not target.parent.is_dir():
        raise BackupError(f"目录 {target.parent} 不存在，请先创建")
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".rectify-backup-") as tmp:
        copy = Path(tmp) / DATABASE
        # 1. The snapshot: every page in one backup step, i.e. under one read transaction of the source.
        src = sqlite3.connect(db_path, timeout=60)
        try:
            src.execute("PRAGMA busy_timeout = 60000")
            dst = sqlite3.connect(copy)
            try:
                src.backup(dst, pages=-1)
            finally:
                dst.close()
        finally:
            src.close()
        # 2. What the snapshot holds and references, read from the snapshot.
        conn = sqlite3.connect(copy)
        try:
            conn.execute("PRAGMA journal_mode = DELETE")  # the copy is one self-contained file
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError(f"数据库 {db_path} 的副本未通过完整性检查，请先检查数据库文件")
            counts, revision = table_counts(conn), _revision(conn)
            in_directory, in_database = _referenced(conn)
        finally:
            conn.close()
        root = settings.evidence_dir
        present = sorted(sha for sha in in_directory if _evidence_path(root, sha).is_file())
        missing = sorted(in_directory - set(present))
        templates = settings.templates_dir
        result = BackupResult(
            target,
            counts,
            revision,
            evidence_files=len(present),
            evidence_bytes=sum(_evidence_path(root, sha).stat().st_size for sha in present),
            evidence_in_database=len(in_database),
            missing=missing,
        )
        manifest = {
            "format": FORMAT,
            "created_at": utcnow().isoformat(),
            "revision": revision,
            "counts": counts,
            "evidence": {
                "store": settings.evidence_store,
                "files": len(present),
                "bytes": result.evidence_bytes,
                "in_database": len(in_database),
                "missing": missing,
            },
        }
        # 3. The archive, renamed into place when complete.
        partial = Path(tmp) / "archive.tar.gz"
        with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            tar.addfile(info, _BytesReader(data))
            tar.add(copy, arcname=DATABASE, recursive=False)
            for sha in present:
                tar.add(_evidence_path(root, sha), arcname=_evidence_name(sha), recursive=False)
            if templates.is_dir():
                for path in sorted(p for p in templates.rglob("*") if p.is_file() and not p.is_symlink()):
                    tar.add(path, arcname=f"{TEMPLATES}/{path.relative_to(templates).as_posix()}", recursive=False)
        os.replace(partial, target)
    result.size = target.stat().st_size
    result.seconds = time.monotonic() - started
    return result


class _BytesReader:
    def __init__(self, data: bytes):
        self._data, self._pos = data, 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n is None or n < 0 else self._pos + n
        chunk, self._pos = self._data[self._pos : end], min(end, len(self._data))
        return chunk


def _is_empty_dir(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def _member_target(name: str, data_dir: Path, db_path: Path, evidence_dir: Path) -> tuple[Path, str | None]:
    """Where an archive member goes, and the sha256 its content must have (evidence); BackupError for
    anything a backup does not contain (absolute paths, .., links)."""
    if name == DATABASE:
        return db_path, None
    match = _EVIDENCE_NAME.match(name)
    if match:
        return _evidence_path(evidence_dir, match.group(3)), match.group(3)
    parts = PurePosixPath(name).parts
    if (
        len(parts) >= 2
        and parts[0] == TEMPLATES
        and not any(p in ("", ".", "..") for p in parts)
        and not name.startswith("/")
    ):
        return data_dir.joinpath(*parts), None
    raise BackupError(f"备份文件中有不应出现的内容“{name}”，不是 rectify backup 生成的备份，未恢复")


def restore(archive: Path, *, settings: Settings | None = None) -> RestoreResult:
    """Unpack `archive` into the configured, empty data dir (and evidence dir); checks everything it writes."""
    settings = settings or get_settings()
    started = time.monotonic()
    db_path = _sqlite_path(settings, "restore")
    data_dir, evidence_dir = settings.data_dir, settings.evidence_dir
    archive = Path(archive).expanduser().resolve()
    if not archive.is_file():
        raise BackupError(f"备份文件 {archive} 不存在")
    if not _is_empty_dir(data_dir):
        raise BackupError(
            f"数据目录 {data_dir} 不是空的：恢复只能在空目录中进行，请把 RECTIFY_DATA_DIR 指向一个新的空目录"
            "（或先移走其中的文件），不会覆盖现有数据"
        )
    if db_path.exists():
        raise BackupError(f"数据库文件 {db_path} 已存在：恢复不会覆盖现有数据库，请换一个空的数据目录")
    # What a failed restore removes: the directories it made, everything in the (empty) data dir, the
    # files it wrote elsewhere (an evidence directory outside the data dir may be shared and not empty).
    created: list[Path] = []
    for d in (data_dir, evidence_dir, db_path.parent):
        if not d.exists():
            top = d
            while not top.parent.exists():
                top = top.parent
            created.append(top)
            d.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        try:
            tar = tarfile.open(archive, "r:*")
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(f"备份文件 {archive} 无法读取（{exc}），不是 rectify backup 生成的备份或已损坏") from None
        with tar:
            manifest = None
            files = 0
            for member in tar:
                if member.name == MANIFEST:
                    manifest = json.loads(tar.extractfile(member).read().decode("utf-8"))
                    if manifest.get("format") != FORMAT:
                        raise BackupError(f"备份格式 {manifest.get('format')} 不受支持（本程序读取格式 {FORMAT}）")
                    continue
                if not member.isfile():
                    raise BackupError(
                        f"备份文件中有不应出现的内容“{member.name}”，不是 rectify backup 生成的备份，未恢复"
                    )
                path, sha = _member_target(member.name, data_dir, db_path, evidence_dir)
                if sha is not None and path.is_file():
                    continue  # the same content is there already (a shared evidence directory)
                path.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".restore-")
                try:
                    with os.fdopen(fd, "wb") as out, tar.extractfile(member) as src:
                        while chunk := src.read(_CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                        out.flush()
                        os.fsync(out.fileno())
                    if sha is not None and digest.hexdigest() != sha:
                        raise BackupError(f"备份中的佐证材料 {sha} 内容与其校验值不符，备份文件已损坏，未恢复")
                    os.replace(tmp, path)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
                written.append(path)
                files += sha is not None
        if manifest is None:
            raise BackupError(f"备份文件 {archive} 中没有 {MANIFEST}，不是 rectify backup 生成的备份")
        if not db_path.is_file():
            raise BackupError(f"备份文件 {archive} 中没有数据库 {DATABASE}，未恢复")
        conn = sqlite3.connect(db_path)
        try:
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError("备份中的数据库未通过完整性检查，备份文件已损坏，未恢复")
            counts, revision = table_counts(conn), _revision(conn)
            in_directory, in_database = _referenced(conn)
        finally:
            conn.close()
        if counts != manifest["counts"]:
            raise BackupError("恢复出的数据库与备份清单记录的数量不一致，备份文件已损坏，未恢复")
        absent = [sha for sha in in_directory if not _evidence_path(evidence_dir, sha).is_file()]
        if len(absent) > len(manifest["evidence"]["missing"]):
            raise BackupError(f"备份中缺少 {len(absent)} 个佐证材料文件，备份文件不完整，未恢复")
    except BaseException:
        for path in reversed(written):
            path.unlink(missing_ok=True)
        for top in created:
            shutil.rmtree(top, ignore_errors=True)
        for child in data_dir.iterdir() if data_dir.is_dir() else ():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        raise
    return RestoreResult(
        data_dir,
        counts,
        revision,
        evidence_files=files,
        evidence_in_database=len(in_database),
        created_at=manifest["created_at"],
        seconds=time.monotonic() - started,
    )
