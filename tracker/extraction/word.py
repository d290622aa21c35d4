"""Word documents: .docx (paragraph texts joined by "\\n"), and the old binary .doc/.wps."""
from __future__ import annotations

import io
import zipfile

from tracker.extraction.decode import _MAGIC, MAX_UNZIPPED
from tracker.extraction.model import ExtractionError


def decode_docx(raw: bytes, name: str) -> str:
    """Bytes of a .docx → its body paragraphs' text joined by "\\n"."""
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
        import docx  # only .docx needs it; keeps `rectify extract` on .txt quick to start

        document = docx.Document(io.BytesIO(raw))
    except ExtractionError:
        raise
    except Exception as exc:  # python-docx/lxml/zipfile raise many kinds on a damaged package
        raise ExtractionError(f"文件 {name} 不是有效的 Word 文档（.docx），无法打开：{exc}") from None
    text = "\n".join(p.text for p in document.paragraphs)
    if not text or text.isspace():
        raise ExtractionError(f"文件 {name} 没有文字内容")
    return text


def decode_legacy_word(raw: bytes, name: str) -> str:
    raise ExtractionError(f"文件 {name} 是旧版 Word/WPS 格式，无法直接读取，请用 Word/WPS 另存为 .docx 后重试")
