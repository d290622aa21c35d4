"""Word documents: .docx (paragraph texts joined by "\\n", each after its automatic list number), and
the old binary .doc/.wps, converted to .docx through LibreOffice when it is installed."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import tempfile
import zipfile
from pathlib import Path

from tracker.extraction.decode import _MAGIC, MAX_PART, MAX_UNZIPPED
from tracker.extraction.model import ExtractionError

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the compound file of .doc/.wps (and .xls, .ppt)
CONVERT_SECONDS = 60  # LibreOffice converts a report in a few seconds; a hang must not block an import
_RT_NUMBERING = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/numbering"
_RT_STYLES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_W_TBL = f"{_W}tbl"
_W_SDT = f"{_W}sdt"
_W_P = f"{_W}p"


def decode_docx(raw: bytes, name: str) -> str:
    """Bytes of a .docx → its paragraphs' text (tables' too) joined by "\\n", list numbers as Word shows them."""
    if not raw:
        raise ExtractionError(f"文件 {name} 是空文件，没有可读取的内容")
    buf = io.BytesIO(raw)
    if not zipfile.is_zipfile(buf):
        what = next((w for magic, w in _MAGIC if raw.startswith(magic)), None)
        reason = f"它实际上是{what}" if what else "内容不是 zip 格式，可能已损坏或只是改了扩展名"
        raise ExtractionError(f"文件 {name} 不是有效的 Word 文档（.docx）：{reason}")
    try:
        with zipfile.ZipFile(buf) as zf:
            if "word/document.xml" not in zf.namelist():
                raise ExtractionError(f"文件 {name} 不是有效的 Word 文档（.docx）：压缩包里没有 word/document.xml")
            if sum(info.file_size for info in zf.infolist()) > MAX_UNZIPPED:
                raise ExtractionError(f"文件 {name} 解压后超过 200 MB，不像是一份年度报告")
            big = max(zf.infolist(), key=lambda info: info.file_size)
            if big.file_size > MAX_PART:  # zipfile never inflates a part past its declared size
                raise ExtractionError(
                    f"文件 {name} 中的 {big.filename} 解压后为 {big.file_size / 1048576:.0f} MB，"
                    f"超过 {MAX_PART // 1048576} MB 的上限，不像是一份年度报告，未读取"
                )
        import docx  # only .docx needs it; keeps `rectify extract` on .txt quick to start

        document = docx.Document(io.BytesIO(raw))
        numbers = _list_numbers(document.part)
    except ExtractionError:
        raise
    except Exception as exc:  # python-docx/lxml/zipfile raise many kinds on a damaged package
        raise ExtractionError(f"文件 {name} 不是有效的 Word 文档（.docx），无法打开：{exc}") from None
    label = numbers.label if numbers is not None else None
    lines = []
    for p in _block_paragraphs(document.element.body):
        lines.append(label(p) + p.text if label else p.text)
    text = "\n".join(lines)
    if not text or text.isspace():
        raise ExtractionError(f"文件 {name} 没有文字内容")
    return text


def _block_paragraphs(body):
    """The body's paragraphs in reading order: its own, and those of its tables (row by row, cell by
    cell: some OA systems put the whole report in a one-cell table) and content controls; not those
    nested in another paragraph (text boxes)."""
    for child in body:
        if child.tag == _W_P:
            yield child
        elif child.tag in (_W_TBL, _W_SDT):
            for p in child.iter(_W_P):
                if not any(a.tag == _W_P for a in p.iterancestors()):
                    yield p


def _list_numbers(part):
    """The document's list numbering, or None when it has none (the plain, faster path)."""
    from tracker.extraction.word_numbering import ListNumbers

    try:
        numbering = part.part_related_by(_RT_NUMBERING).element
    except KeyError:
        return None
    if numbering.find(f"{_W}num") is None:
        return None
    try:
        styles = part.part_related_by(_RT_STYLES).element
    except KeyError:
        styles = None
    return ListNumbers(numbering, styles)


def decode_legacy_word(raw: bytes, name: str) -> str:
    """An old binary .doc/.wps: through LibreOffice to .docx when it is installed, else a Chinese error."""
    if not raw:
        raise ExtractionError(f"文件 {name} 是空文件，没有可读取的内容")
    if raw.startswith(b"PK\x03\x04"):  # a .docx saved under an old name: read it as what it is
        return decode_docx(raw, name)
    if not raw.startswith(OLE2_MAGIC):
        what = next((w for magic, w in _MAGIC if raw.startswith(magic)), None)
        reason = f"它实际上是{what}" if what else "内容不是 Word/WPS 文档的格式，可能已损坏或只是改了扩展名"
        raise ExtractionError(f"文件 {name} 不是有效的旧版 Word/WPS 文档（.doc/.wps）：{reason}")
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise ExtractionError(f"文件 {name} 是旧版 Word/WPS 格式，无法直接读取，请用 Word/WPS 另存为 .docx 后重试")
    return decode_docx(_convert_to_docx(soffice, raw, name), name)


def _convert_to_docx(soffice: str, raw: bytes, name: str) -> bytes:
    """LibreOffice headless in a temporary directory, with its own profile (a running LibreOffice or a
    parallel conversion would otherwise take the lock), killed with its children after the time limit."""
    suffix = Path(name).suffix.lower() if Path(name).suffix.lower() in (".doc", ".wps") else ".doc"
    with tempfile.TemporaryDirectory(prefix="rectify-soffice-") as tmp:
        work = Path(tmp)
        source = work / f"report{suffix}"  # an ASCII name: the user's file name plays no part in the command
        source.write_bytes(raw)
        outdir = work / "out"
        cmd = [
            soffice,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nolockcheck",
            "--convert-to",
            "docx:MS Word 2007 XML",
            "--outdir",
            str(outdir),
            str(source),
        ]
        with open(work / "log.txt", "wb") as log:  # a file, not a pipe: a lingering child cannot block the read
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=work, start_new_session=True
            )
            try:
                proc.wait(timeout=CONVERT_SECONDS)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                raise ExtractionError(
                    f"文件 {name} 用 LibreOffice 转换超过 {CONVERT_SECONDS} 秒仍未完成，已终止；"
                    "请用 Word/WPS 另存为 .docx 后重试"
                ) from None
        result = outdir / "report.docx"
        if not result.is_file():
            said = (work / "log.txt").read_text(encoding="utf-8", errors="replace").strip().splitlines()
            detail = f"（{said[-1][:200]}）" if said else ""
            raise ExtractionError(
                f"文件 {name} 无法用 LibreOffice 转换为 .docx{detail}，请用 Word/WPS 另存为 .docx 后重试"
            )
        return result.read_bytes()


def _kill_group(proc: subprocess.Popen) -> None:
    """soffice is a wrapper that starts soffice.bin: kill its whole session (not yet reaped, so its id
    is still ours), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
