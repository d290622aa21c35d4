"""Builders of the forms a report arrives in (PDF, web page, Word with automatic numbering, copied text),
made from the shared gold reports for the extraction tests and benchmarks."""
