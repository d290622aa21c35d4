"""What extraction produces: the report's metadata and its items, each with its exact span."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

KINDS = ("shortcoming", "cause", "rectification", "plan")


class ExtractionError(Exception):
    """A document that cannot be read; the message is for the user, in Chinese, and names the file."""


@dataclass
class ExtractedItem:
    kind: str  # one of KINDS
    seq: int  # 1.. within its kind
    title: str
    text: str  # == document text[start:end]
    start: int
    end: int
    causes: list[str] = field(default_factory=list)
    section: str = ""  # the top-level heading it sits under
    # The text as a task shows it: without page furniture and hard line breaks (None: the text itself).
    description: str | None = None

    def __post_init__(self) -> None:
        if self.description is None:
            self.description = self.text

    def to_dict(self) -> dict:
        out = {
            "kind": self.kind,
            "seq": self.seq,
            "title": self.title,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "causes": list(self.causes),
            "section": self.section,
        }
        if self.description != self.text:  # only text that came with furniture or hard line breaks
            out["description"] = self.description
        return out


@dataclass
class Extraction:
    unit: str | None
    county: str | None
    report_year: int | None
    plan_year: int | None
    issued_on: datetime.date | None
    doc_number: str | None
    warnings: list[str] = field(default_factory=list)
    items: list[ExtractedItem] = field(default_factory=list)
    text: str = ""  # the decoded document text the offsets point into
    source_name: str = ""

    def to_dict(self) -> dict:
        """The JSON shape of docs/extraction-contract.md (no document text)."""
        return {
            "unit": self.unit,
            "county": self.county,
            "report_year": self.report_year,
            "plan_year": self.plan_year,
            "issued_on": self.issued_on.isoformat() if self.issued_on else None,
            "doc_number": self.doc_number,
            "warnings": list(self.warnings),
            "items": [it.to_dict() for it in self.items],
        }
