"""Cells of the .xlsx files the app writes: text anyone typed stays text.

A note like `=HYPERLINK("http://…"&D2,"详情")` would otherwise become a live formula (openpyxl makes
every string starting with "=" one), and spreadsheet programs treat text starting with + - @ or a
tab/CR as a formula when it is edited or re-imported. Such strings are written as text cells with
Excel's quote prefix (shown as typed, never evaluated). Every writer of an .xlsx passes the values
users can influence through `text_cell` (or `as_text` on a cell it made).
"""

from __future__ import annotations

from openpyxl.cell import WriteOnlyCell

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def as_text(cell):
    """Make `cell` (a WriteOnlyCell or a worksheet cell) a text cell when its value could run as a formula."""
    if looks_like_formula(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def text_cell(ws, value):
    """`value` as a write-only worksheet row takes it: a text cell when it could run as a formula, else as is."""
    return as_text(WriteOnlyCell(ws, value=value)) if looks_like_formula(value) else value
