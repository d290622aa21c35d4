"""Extraction speed per format, each beside its floor in the same run, on one core.

    python bench/bench_formats.py [--copies 20] [--rounds 5]

The three shared reports, made into each form by the test fixtures (tests/report_forms/): .txt,
.html (a county site's page, GBK), PDF (typeset, page numbers and a running header), .docx with
automatic numbering, and text copied from a PDF viewer. For each form, `extract` is what
`extract_file` does after reading the bytes (decode + extract); the floor is the least any reader
must do: decode the bytes and run one marker regex (.txt), parse the page and take its text
(.html, selectolax), take every page's text (PDF, pypdfium2), open the package and join the
paragraphs (.docx, python-docx). CPU time of this process; rounds alternate floor and extract.
Prints one JSON line per form and a summary; also the median time to read and extract a 10-page PDF.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.report_forms.pdf import report_pdf  # noqa: E402
from tests.report_forms.text import GOLDS, pdf_viewer_copy, report_text  # noqa: E402
from tests.report_forms.webpage import STEMS, page_bytes  # noqa: E402
from tests.report_forms.word import auto_numbered_docx  # noqa: E402
from tracker.extraction import extract_text  # noqa: E402
from tracker.extraction.decode import decode_bytes  # noqa: E402

MARKER_RE = re.compile(r"[（(][一二三四五六七八九十\d]+[)）]")


def floor_txt(raw: bytes) -> int:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")
    return len(MARKER_RE.findall(text))


def floor_html(raw: bytes) -> int:
    from selectolax.lexbor import LexborHTMLParser

    return len(LexborHTMLParser(raw.decode("gb18030")).body.text())


def floor_pdf(raw: bytes) -> int:
    import pypdfium2

    doc = pypdfium2.PdfDocument(raw)
    try:
        return sum(len(page.get_textpage().get_text_range()) for page in doc)
    finally:
        doc.close()


def floor_docx(raw: bytes) -> int:
    import io

    import docx

    return len("\n".join(p.text for p in docx.Document(io.BytesIO(raw)).paragraphs))


def forms() -> dict[str, tuple[str, list[tuple[str, bytes]], object]]:
    """form → (unit, [(file name, bytes)], floor)"""
    texts = [report_text(g) for g in GOLDS]
    return {
        "txt": ("reports", [(f"{g.stem}.txt", t.encode("utf-8")) for g, t in zip(GOLDS, texts)], floor_txt),
        "pdf-viewer-copy.txt": (
            "reports",
            [
                (f"{g.stem}.txt", pdf_viewer_copy(t, running_header="法治政府建设工作报告").encode("utf-8"))
                for g, t in zip(GOLDS, texts)
            ],
            floor_txt,
        ),
        "html": ("reports", [(f"{s}.html", page_bytes(s, encoding="gbk")) for s in STEMS], floor_html),
        "pdf": (
            "pages",
            [(f"{g.stem}.pdf", report_pdf(t, header="法治政府建设工作报告")) for g, t in zip(GOLDS, texts)],
            floor_pdf,
        ),
        "docx-auto-numbered": (
            "reports",
            [(f"{g.stem}.docx", auto_numbered_docx(t)[0]) for g, t in zip(GOLDS, texts)],
            floor_docx,
        ),
    }


def pages(raw: bytes) -> int:
    import pypdfium2

    doc = pypdfium2.PdfDocument(raw)
    try:
        return len(doc)
    finally:
        doc.close()


def measure(files: list[tuple[str, bytes]], floor, rounds: int, copies: int) -> tuple[float, float, float]:
    """Median seconds per file of extraction and floor, and the median per-round ratio."""
    work = files * copies
    ext, flo, ratio = [], [], []
    for _ in range(rounds):
        gc.collect()
        t0 = time.process_time()
        for _, raw in work:
            floor(raw)
        f = (time.process_time() - t0) / len(work)
        gc.collect()
        t0 = time.process_time()
        for name, raw in work:
            extract_text(decode_bytes(raw, name), source_name=name)
        e = (time.process_time() - t0) / len(work)
        ext.append(e)
        flo.append(f)
        ratio.append(e / f)
    return statistics.median(ext), statistics.median(flo), statistics.median(ratio)


def ten_page_pdf(rounds: int) -> float:
    """Median seconds to read and extract a report typeset on 10 pages."""
    text = report_text(GOLDS[0])
    while True:
        raw = report_pdf(text, header="法治政府建设工作报告")
        if pages(raw) >= 10:
            break
        text += "\n" + report_text(GOLDS[0]).split("\n", 3)[-1]
    times = []
    for _ in range(max(rounds, 5)):
        t0 = time.process_time()
        extract_text(decode_bytes(raw, "ten.pdf"))
        times.append(time.process_time() - t0)
    return statistics.median(times), pages(raw)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=20, help="times each report is read per round")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):  # one core, as the targets are stated
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    for form, (unit, files, floor) in forms().items():
        measure(files, floor, 1, 1)  # warm up: imports, fonts, compiled regexes
        ext, flo, ratio = measure(files, floor, args.rounds, args.copies)
        per = statistics.mean(pages(raw) for _, raw in files) if unit == "pages" else 1
        result = {
            "bench": "formats",
            "form": form,
            "unit": unit,
            f"{unit}_per_s": round(per / ext, 1),
            f"floor_{unit}_per_s": round(per / flo, 1),
            "ratio": round(ratio, 2),
            "ms_per_file": round(ext * 1000, 2),
        }
        print(json.dumps(result, ensure_ascii=False))
        print(
            f"   {form}: {per / ext:,.0f} {unit}/s ({ext * 1000:.2f} ms a file), floor {per / flo:,.0f} {unit}/s, "
            f"ratio {ratio:.2f}×",
            flush=True,
        )
    seconds, n = ten_page_pdf(args.rounds)
    print(json.dumps({"bench": "formats", "form": "pdf-10-pages", "pages": n, "seconds": round(seconds, 3)}))
    print(f"   a {n}-page PDF read and extracted in {seconds * 1000:.0f} ms (target: < 500 ms on one core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
