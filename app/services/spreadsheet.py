"""Make values safe to open in a spreadsheet: one neutralizer for every exported cell."""

from __future__ import annotations

from analysis.export import FORMULA_PREFIXES, neutralize

__all__ = ["FORMULA_PREFIXES", "safe_cell", "safe_row"]

# The rule lives in analysis/ (which cannot import the app) so the dashboard's tables and the
# app's open data and plan exports neutralize cells the same way.
safe_cell = neutralize


def safe_row(values) -> list:
    """Return a list of safe cells."""
    return [safe_cell(value) for value in values]
