"""Tables to CSV and XLSX bytes, safe to open in a spreadsheet."""

from __future__ import annotations

import io
import re

import pandas as pd

# A cell starting with one of these is run as a formula by Excel, LibreOffice or Sheets
# (tab, carriage return and NUL are used to smuggle a formula past naive checks).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")
# Control characters that are invalid in XLSX (openpyxl refuses them) and useless in CSV.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralize(value):
    """Return value safe in a spreadsheet: risky text gets a leading quote, controls go.

    The one neutralizer of the project: the app's exports use it too. Only strings are
    touched; numbers, dates and None go to the writer as they are.
    """
    if not isinstance(value, str):
        return value
    risky = value.startswith(FORMULA_PREFIXES)
    value = _CONTROL.sub("", value)
    if risky or value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of frame whose column names and text cells are neutralized."""
    out = frame.copy()
    out.columns = [neutralize(str(c)) for c in out.columns]
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].astype(object).map(neutralize)
    return out


def to_csv(frame: pd.DataFrame) -> bytes:
    """Return UTF-8 CSV with a BOM (so spreadsheets read the accents), text neutralized."""
    return safe_frame(frame).to_csv(index=False).encode("utf-8-sig")


def to_xlsx(frame: pd.DataFrame, sheet: str = "data") -> bytes:
    """Return an XLSX workbook of one sheet; numbers stay numbers, text is neutralized."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = neutralize(sheet)[:31].lstrip("'") or "data"
    safe = safe_frame(frame)
    worksheet.append(list(safe.columns))
    for row in safe.itertuples(index=False):
        values = []
        for value in row:
            if value is None or (isinstance(value, float) and pd.isna(value)):
                values.append(None)
            elif hasattr(value, "item"):
                values.append(value.item())
            else:
                values.append(value)
        worksheet.append(values)
    for cell in worksheet[1]:
        cell.font = Font(bold=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
