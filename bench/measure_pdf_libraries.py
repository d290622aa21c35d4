"""pypdfium2 against pdfminer.six on CJK PDFs: correct characters, reading order, pages/s.

    python bench/measure_pdf_libraries.py [--rounds 7]

The PDFs are the three shared reports typeset by tests/report_forms/pdf.py (28 characters a line,
hard wraps, page numbers), each in four variants: STSong-Light (a standard CJK font, not embedded)
with page furniture drawn after the body, a running header and 第N页 共M页, -N-, furniture drawn
before the body; and, when the machine has a CJK TrueType font, that font embedded as a subset (as
Word and WPS write their PDFs) in a fifth variant. The expected
text is the source report (conversion noise dropped); white space is ignored, and each page's own
header and page number are removed from the extracted page before comparing.

- chars: how many expected characters come out at all (multiset intersection), and extras;
- order: how many of them come out in the source order (longest in-order matching, difflib);
- lines: how many typeset lines come out as one line of their own (the extractor reads line starts);
- speed: pages/s, open + text of every page, median of --rounds, CPU time pinned to one core.
"""

from __future__ import annotations

import argparse
import difflib
import io
import os
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.report_forms.pdf import CONVERSION_NOISE, FONT, PAGE_DASH, PAGE_HYPHEN, PAGE_OF, layout, report_pdf  # noqa: E402

REPORTS = sorted((ROOT.parent / "shared" / "reports").glob("*.txt"))
VARIANTS = [
    {"page_number": PAGE_DASH},
    {"header": "法治政府建设年度报告", "page_number": PAGE_OF},
    {"page_number": PAGE_HYPHEN},
    {"page_number": PAGE_DASH, "furniture_first": True},
]
TRUETYPE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
WS = re.compile(r"\s+")


def pdfium_pages(data: bytes) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()


def pdfminer_pages(data: bytes) -> list[str]:
    from pdfminer.high_level import extract_text

    return extract_text(io.BytesIO(data)).split("\f")[:-1]  # a trailing "\f" ends every page


LIBRARIES = {"pypdfium2": pdfium_pages, "pdfminer.six": pdfminer_pages}


def corpus() -> list[dict]:
    variants = list(VARIANTS)
    if TRUETYPE.exists():
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        pdfmetrics.registerFont(TTFont("Embedded", str(TRUETYPE), subfontIndex=0))
        variants.append({"page_number": PAGE_DASH, "font": "Embedded"})
    docs = []
    for path in REPORTS:
        text = path.read_text(encoding="utf-8")
        for variant in variants:
            pages = len(layout(text, variant.get("font", FONT)))
            header = variant.get("header")
            furniture = [
                [WS.sub("", variant["page_number"].format(n=n, total=pages))] + ([header] if header else [])
                for n in range(1, pages + 1)
            ]
            lines = [WS.sub("", line.text) for page in layout(text, variant.get("font", FONT)) for line in page]
            docs.append(
                {
                    "name": path.stem,
                    "data": report_pdf(text, **variant),
                    "lines": [s for s in lines if s],
                    "pages": pages,
                    "expected": WS.sub("", CONVERSION_NOISE.sub("", text)),
                    "furniture": furniture,
                }
            )
    return docs


def body_text(pages: list[str], furniture: list[list[str]]) -> str:
    out = []
    for page, strings in zip(pages, furniture, strict=False):
        page = WS.sub("", page)
        for s in strings:  # at the page's start or end, else wherever the library put it
            if page.startswith(s):
                page = page[len(s) :]
            elif page.endswith(s):
                page = page[: -len(s)]
            else:
                page = page.replace(s, "", 1)
        out.append(page)
    return "".join(out)


def accuracy(read, docs: list[dict]) -> dict:
    expected = present = in_order = extra = lines = whole_lines = 0
    for doc in docs:
        pages = read(doc["data"])
        got, want = body_text(pages, doc["furniture"]), doc["expected"]
        out_lines = Counter(WS.sub("", line) for page in pages for line in page.splitlines())
        lines += len(doc["lines"])
        whole_lines += sum((Counter(doc["lines"]) & out_lines).values())
        common = sum((Counter(got) & Counter(want)).values())
        expected += len(want)
        present += common
        extra += len(got) - common
        in_order += sum(b.size for b in difflib.SequenceMatcher(None, want, got, autojunk=False).get_matching_blocks())
    return {
        "expected": expected,
        "present": present,
        "in_order": in_order,
        "extra": extra,
        "lines": lines,
        "whole_lines": whole_lines,
    }


def speed(read, docs: list[dict], rounds: int) -> float:
    pages = sum(d["pages"] for d in docs)
    times = []
    for _ in range(rounds):
        t0 = time.process_time()
        for doc in docs:
            read(doc["data"])
        times.append(time.process_time() - t0)
    return pages / statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    docs = corpus()
    print(
        f"{len(docs)} PDFs, {sum(d['pages'] for d in docs)} pages, "
        f"{sum(len(d['expected']) for d in docs)} characters (white space aside)"
    )
    for name, read in LIBRARIES.items():
        read(docs[0]["data"])  # imports and first-use set-up outside the timing
        acc = accuracy(read, docs)
        n = acc["expected"]
        print(
            f"{name:13s} chars {acc['present']}/{n} ({acc['present'] / n:.2%}) extra {acc['extra']}  "
            f"in order {acc['in_order']}/{n} ({acc['in_order'] / n:.2%})  "
            f"lines {acc['whole_lines']}/{acc['lines']}  "
            f"{speed(read, docs, args.rounds):.0f} pages/s (median of {args.rounds}, one core)"
        )


if __name__ == "__main__":
    main()
