"""The demo samples extract exactly as annotated in samples/expected.json (units, years, every item)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tracker.extraction import extract_file

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
KINDS = {"shortcomings": "shortcoming", "plans": "plan", "causes": "cause", "rectifications": "rectification"}


def _flat(s: str) -> str:
    return re.sub(r"\s+|\*\*|\[bookmark:[^\]]*\]", "", s)


@pytest.mark.parametrize("gold", EXPECTED, ids=[g["file"] for g in EXPECTED])
def test_sample_extracts_as_annotated(gold):
    ex = extract_file(SAMPLES / gold["file"])
    assert (ex.unit, ex.report_year, ex.plan_year) == (gold["unit"], gold["report_year"], gold["plan_year"])
    assert (ex.issued_on.isoformat() if ex.issued_on else None) == gold["issued_on"]
    for plural, kind in KINDS.items():
        texts = [_flat(it.text) for it in ex.items if it.kind == kind]
        keys = [_flat(k) for k in gold[plural]]
        assert len(texts) == len(keys), (kind, [t[:20] for t in texts])
        for text, key in zip(texts, keys):
            assert key in text[: len(key) + 8], (kind, key, text[:40])
    shortcomings = [it for it in ex.items if it.kind == "shortcoming"]
    for index, cause in gold.get("inline_causes", []):
        assert any(_flat(cause) in _flat(c) for c in shortcomings[index].causes), (index, cause)
    for it in ex.items:
        assert ex.text[it.start : it.end] == it.text
