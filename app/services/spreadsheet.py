"""Make values safe to open in a spreadsheet: one neutralizer for every exported cell."""

from __future__ import annotations

import re
from typing import Any

# A cell starting with one of these is run as a formula by Excel, LibreOffice or Sheets
# (tab, carriage return and NUL are used to smuggle a formula past naive checks).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")
# Control characters that are invalid in XLSX (openpyxl refuses them) and useless in CSV.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe_cell(value: Any) -> Any:
    """Return value with a leading formula character neutralized by a quote; others unchanged.

    Only strings are touched: numbers, dates and None go to the writer as they are.
    """
    if not isinstance(value, str):
        return value
    neutral = value.startswith(FORMULA_PREFIXES)
    value = _CONTROL.sub("", value)
    if neutral or value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_row(values) -> list:
    """Return a list of safe cells."""
    return [safe_cell(value) for value in values]
