"""The quality bar: the shared scorer gives F1=1.000, meta=12/12 and every item grounded on the
three real reports, also as .docx and GB18030 copies; offsets hold in-process too."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docx
import pytest

from tests.conftest import SHARED, needs_shared
from tracker.extraction import extract_file

ROOT = Path(__file__).resolve().parents[1]
SCORER = SHARED / "eval" / "score_extraction.py"
GOLDS = sorted((SHARED / "reports").glob("*.gold.json"))
RECTIFY = Path(sys.executable).parent / "rectify"
TOTAL_RE = re.compile(r"^extraction: F1=(?P<f1>[\d.]+) .*meta=(?P<meta>\d+/\d+) grounded=(?P<grounded>\d+/\d+)", re.M)

pytestmark = needs_shared("eval/score_extraction.py", "reports/*.gold.json")


def score(golds: list[Path], report: Path | None = None) -> re.Match:
    cmd = [sys.executable, str(SCORER), "--cmd", f"{RECTIFY} extract {{path}} --format json"]
    if report is not None:
        cmd += ["--report", str(report)]
    proc = subprocess.run(cmd + [str(g) for g in golds], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    total = TOTAL_RE.search(proc.stdout)
    assert total, proc.stdout
    return total


def report_text(gold: Path) -> str:
    return (gold.parent / json.loads(gold.read_text(encoding="utf-8"))["file"]).read_text(encoding="utf-8")


def as_docx(text: str, path: Path) -> Path:
    document = docx.Document()
    for line in text.split("\n"):
        document.add_paragraph(line)
    document.save(path)
    return path


def as_gb18030(text: str, path: Path) -> Path:
    path.write_bytes(text.encode("gb18030"))
    return path


def test_scorer_on_the_real_reports():
    total = score(GOLDS)
    n = int(total["grounded"].split("/")[1])
    meta = f"{4 * len(GOLDS)}/{4 * len(GOLDS)}"  # unit, report_year, plan_year, issued_on per report
    assert (total["f1"], total["meta"], total["grounded"]) == ("1.000", meta, f"{n}/{n}")
    assert n > 0


@pytest.mark.parametrize("convert, suffix", [(as_docx, ".docx"), (as_gb18030, ".txt")], ids=["docx", "gb18030"])
def test_scorer_on_converted_copies(tmp_path, convert, suffix):
    copies = [convert(report_text(g), tmp_path / f"{g.name.removesuffix('.gold.json')}{suffix}") for g in GOLDS]
    with ThreadPoolExecutor(max_workers=len(GOLDS)) as pool:  # each run waits on a subprocess
        totals = list(pool.map(lambda pair: score([pair[0]], pair[1]), zip(GOLDS, copies, strict=True)))
    for gold, total in zip(GOLDS, totals, strict=True):
        assert (total["f1"], total["meta"]) == ("1.000", "4/4"), gold.name
        if suffix == ".txt":  # the scorer checks offsets against .txt sources only
            done, items = total["grounded"].split("/")
            assert done == items != "0", gold.name


def test_offsets_in_process_and_the_same_result_for_every_format(tmp_path):
    for gold in GOLDS:
        text = report_text(gold)
        original = extract_file(gold.parent / json.loads(gold.read_text(encoding="utf-8"))["file"])
        assert original.items and original.text == text
        for it in original.items:
            assert text[it.start : it.end] == it.text and it.start < it.end
        stem = gold.name.removesuffix(".gold.json")
        for copy in (as_docx(text, tmp_path / f"{stem}.docx"), as_gb18030(text, tmp_path / f"{stem}.txt")):
            converted = extract_file(copy)
            assert converted.to_dict() == original.to_dict(), copy.name
            for it in converted.items:
                assert converted.text[it.start : it.end] == it.text
