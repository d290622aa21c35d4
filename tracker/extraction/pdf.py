"""PDF reports with a text layer, read with pypdfium2 (PDFium): each page's text in page order,
line endings as "\\n", pages joined by "\\f".

Nothing else is removed: page numbers, running headers and the hard line breaks of the typeset page
stay in the text, so that every span points into exactly the string returned here; the text-level
layer steps over them when matching. Scans (no text layer), password-protected and damaged files
get a Chinese ExtractionError saying what to do.
"""

from __future__ import annotations

import threading

from tracker.extraction.decode import _MAGIC
from tracker.extraction.model import ExtractionError

MAX_PAGES = 200  # an annual report has 5–20; more is a compilation or the wrong file
# A typeset page holds ~600 characters; a scan has none, or a stamped page number at most.
MIN_CHARS_PER_PAGE = 30
# PDFium is not thread-safe, and the web app reads uploads in a thread pool.
_PDFIUM_LOCK = threading.Lock()


def decode_pdf(raw: bytes, name: str) -> str:
    """Bytes of a .pdf → the page texts joined by "\\f"; ExtractionError when there is no text to read."""
    if not raw:
        raise ExtractionError(f"文件 {name} 是空文件，没有可读取的内容")
    if b"%PDF" not in raw[:1024]:  # readers accept the header a little way into the file
        what = next((w for magic, w in _MAGIC if raw.startswith(magic)), None)
        reason = f"它实际上是{what}" if what else "内容不是 PDF 格式，可能只是改了扩展名"
        raise ExtractionError(f"文件 {name} 不是有效的 PDF 文件：{reason}，请提供原始的 PDF 或 .docx/.txt 版本")
    import pypdfium2 as pdfium  # only PDFs need it; keeps `rectify extract` on .txt quick to start

    with _PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(raw)
        except pdfium.PdfiumError as exc:
            raise ExtractionError(_open_error(name, getattr(exc, "err_code", None))) from None
        try:
            pages = _page_texts(pdf, name)
        finally:
            pdf.close()
    text = "\f".join(pages)
    if sum(len("".join(p.split())) for p in pages) < MIN_CHARS_PER_PAGE * len(pages):  # white space aside
        raise ExtractionError(
            f"文件 {name} 是扫描件（共 {len(pages)} 页，页面只是图片，几乎没有可选中的文字），无法提取内容："
            "请提供文字版（.docx、.txt 或可以选中文字的 PDF），或先用 OCR 软件识别成文字后再导入"
        )
    return text


def _page_texts(pdf, name: str) -> list[str]:
    n = len(pdf)
    if n == 0:
        raise ExtractionError(f"文件 {name} 已损坏：PDF 中没有任何页面，请重新下载或从原始文档重新导出 PDF")
    if n > MAX_PAGES:
        raise ExtractionError(f"文件 {name} 有 {n} 页，超过 {MAX_PAGES} 页的上限，不像是一份年度报告：请只提供报告正文")
    out = []
    for i in range(n):
        try:
            page = pdf[i]
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            textpage.close()
            page.close()
        except Exception as exc:  # PdfiumError, or a broken object stream inside the page
            raise ExtractionError(
                f"文件 {name} 已损坏：第 {i + 1} 页无法读取（{exc}），请重新下载或从原始文档重新导出 PDF"
            ) from None
        out.append(text.replace("\r\n", "\n").replace("\r", "\n"))  # PDFium ends lines with "\r\n"
    return out


def _open_error(name: str, code: int | None) -> str:
    import pypdfium2.raw as pdfium_c

    if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
        return (
            f"文件 {name} 已加密（需要密码才能打开），无法读取：请提供未加密的版本"
            "（在 PDF 软件中输入密码后取消加密另存），或提供 .docx/.txt 版本"
        )
    return (
        f"文件 {name} 已损坏或不完整，无法作为 PDF 打开：请重新下载，"
        "或从原始文档重新导出 PDF，也可以提供 .docx/.txt 版本"
    )
