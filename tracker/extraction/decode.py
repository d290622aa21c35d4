"""Reading a report file into text: the checks every file gets, then the reader for its format.

.txt is decoded here (UTF-8, GB18030, UTF-16 with BOM); each other format has its own module
(word.py, pdf.py, webpage.py), imported only when such a file comes, so `rectify extract` on a
.txt stays quick to start.
"""

from __future__ import annotations

import importlib
import stat
from pathlib import Path

from tracker.extraction.model import ExtractionError

MAX_BYTES = 20 * 1024 * 1024
MAX_UNZIPPED = 200 * 1024 * 1024  # a .docx that inflates beyond this is not a report
# No part of a report's .docx (document.xml above all) inflates beyond this: a 190 MB document.xml
# packed into 800 KB took 51 s and 1.9 GB to parse. Checked from the zip directory, before parsing.
MAX_PART = 30 * 1024 * 1024
# suffix → (module, function): every reader takes (raw bytes, file name) and returns the document text.
READERS = {
    ".txt": ("tracker.extraction.decode", "decode_text"),
    ".docx": ("tracker.extraction.word", "decode_docx"),
    ".doc": ("tracker.extraction.word", "decode_legacy_word"),
    ".wps": ("tracker.extraction.word", "decode_legacy_word"),
    ".pdf": ("tracker.extraction.pdf", "decode_pdf"),
    ".html": ("tracker.extraction.webpage", "decode_html"),
    ".htm": ("tracker.extraction.webpage", "decode_html"),
    ".mhtml": ("tracker.extraction.webpage", "decode_mhtml"),
    ".mht": ("tracker.extraction.webpage", "decode_mhtml"),
}
SUPPORTED = tuple(READERS)
SUPPORTED_TEXT = "、".join(SUPPORTED)  # for messages

_MAGIC = (
    (b"\x89PNG", "PNG 图片"),
    (b"\xff\xd8\xff", "JPEG 图片"),
    (b"GIF8", "GIF 图片"),
    (b"%PDF", "PDF 文件"),
    (b"PK\x03\x04", "zip 压缩包或 .docx/.xlsx 文档"),
    (b"\xd0\xcf\x11\xe0", "旧版 Word/WPS 文档（.doc/.wps）"),
    (b"{\\rtf", "RTF 文档"),
)
# Bytes that never occur in text; deleting everything else leaves only them.
_TEXT_BYTES = bytes(b for b in range(256) if b >= 0x20 or b in b"\t\n\r\f\x0b\x1a")
_CONTROL_LIMIT = 8  # a few stray control bytes happen in converted files


def read_document(path: Path) -> str:
    """The document's text, the string every offset of the extraction points into."""
    path = Path(path)
    name = path.name
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ExtractionError(f"文件 {name} 不存在") from None
    except OSError as exc:
        raise ExtractionError(f"文件 {name} 无法读取：{exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ExtractionError(f"{name} 不是文件，无法读取")
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise ExtractionError(f"文件 {name} 的格式（{suffix or '无扩展名'}）不受支持，可以读取的格式：{SUPPORTED_TEXT}")
    if st.st_size == 0:
        raise ExtractionError(f"文件 {name} 是空文件，没有可读取的内容")
    if st.st_size > MAX_BYTES:  # checked before reading: never load a huge file
        raise ExtractionError(
            f"文件 {name} 大小为 {st.st_size / 1048576:.1f} MB，超过 20 MB 的上限，不像是一份年度报告"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ExtractionError(f"文件 {name} 无法读取：{exc.strerror or exc}") from None
    return decode_bytes(raw, name)


def decode_bytes(raw: bytes, name: str) -> str:
    """The document text of a file's bytes, by the suffix of its name."""
    suffix = Path(name).suffix.lower()
    if suffix not in READERS:
        raise ExtractionError(f"文件 {name} 的格式（{suffix or '无扩展名'}）不受支持，可以读取的格式：{SUPPORTED_TEXT}")
    module, function = READERS[suffix]
    return getattr(importlib.import_module(module), function)(raw, name)


def decode_text(raw: bytes, name: str) -> str:
    """Bytes of a .txt report → text; ExtractionError when they are not text."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Notepad's "Unicode"
        text = _decode_or_fail(raw, "utf-16", name)
    else:
        for magic, what in _MAGIC:
            if raw.startswith(magic):
                raise ExtractionError(f"文件 {name} 不是文本文件：它实际上是{what}，请提供 .txt 或 .docx 格式的报告")
        if b"\x00" in raw:
            raise ExtractionError(_binary(name))
        try:
            text = raw.decode("utf-8")  # then drop the BOM: faster than the "utf-8-sig" codec
            if text.startswith("\ufeff"):
                text = text[1:]
        except UnicodeDecodeError:
            # GB18030 decodes most byte strings: junk is told from text by its control bytes.
            if len(raw.translate(None, _TEXT_BYTES)) > _CONTROL_LIMIT:
                raise ExtractionError(_binary(name)) from None
            text = _decode_or_fail(raw, "gb18030", name)
    if not text or text.isspace():  # isspace: no copy of the text, unlike strip()
        raise ExtractionError(f"文件 {name} 只有空白，没有可读取的内容")
    return text


def _binary(name: str) -> str:
    return f"文件 {name} 不是文本文件（含有二进制内容），无法读取"


def _decode_or_fail(raw: bytes, encoding: str, name: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise ExtractionError(
            f"文件 {name} 的编码无法识别（既不是 UTF-8 也不是 GB18030），请另存为 UTF-8 文本后重试"
        ) from None
