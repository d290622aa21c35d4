"""Year end: each township's 问题整改情况 section and the county summary.

Reads the ledger as of a chosen date — progress, evidence, and each task's status, owner and deadline
rebuilt from the journal (`tracker.yearend.data`) — and the import analysis of the domain
(`tracker.themes`, `tracker.linking`, `tracker.recurrence`); writes with `tracker.textfmt`; nothing
in the domain imports this package. Entry point: `tracker.yearend.run.run_year_end`; pages in
`tracker.yearend.web`; charts in `tracker.yearend.charts` (pictures) and `tracker.yearend.county`
(native .xlsx charts).
"""
