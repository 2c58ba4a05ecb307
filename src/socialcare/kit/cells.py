"""Cells that leave socialcare in a spreadsheet (CSV, XLSX) never start a formula: a text starting
with = + - @ (or a tab or carriage return) gets a leading apostrophe, so a name like ``=HYPERLINK(...)``
typed into a form is shown as text when a partner opens the export (OWASP "CSV injection").
Numbers stay numbers, and a text that is a plain number ("-12.5") is left as it is."""

from __future__ import annotations

import re
from collections.abc import Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def safe_row(row: Iterable) -> list:
    return [safe_cell(v) for v in row]
