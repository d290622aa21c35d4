"""Year end: each township's 问题整改情况 section and the county summary.

`run_year_end` is imported on first use: ingest imports `tracker.yearend.analysis` and should not
pay for python-docx, openpyxl and matplotlib.
"""
from __future__ import annotations


def __getattr__(name: str):
    if name == "run_year_end":
        from tracker.yearend.run import run_year_end

        return run_year_end
    raise AttributeError(f"module 'tracker.yearend' has no attribute {name!r}")
