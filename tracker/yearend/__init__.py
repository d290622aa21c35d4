"""Year end: each township's 问题整改情况 section and the county summary.

Reads the ledger and the import analysis of the domain (`tracker.themes`, `tracker.linking`,
`tracker.recurrence`) and writes with `tracker.textfmt`; nothing in the domain imports this package.
Entry point: `tracker.yearend.run.run_year_end`; pages in `tracker.yearend.web`.
"""
