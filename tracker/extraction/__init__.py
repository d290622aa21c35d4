"""Report extraction: a township's annual law-based-government report → its shortcomings, causes,
rectification status points and next-year plans, each with its exact span in the decoded text."""

from tracker.extraction.decode import read_document
from tracker.extraction.extractor import extract_file, extract_text
from tracker.extraction.model import ExtractedItem, Extraction, ExtractionError

__all__ = ["extract_file", "extract_text", "read_document", "Extraction", "ExtractedItem", "ExtractionError"]
