"""Build import files for the tests."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook

HEADER = ["form_serial", "channel", "municipality", "themes", "sector", "heard_via", "age",
          "problem", "submitted_on"]


def row(serial: str = "14039-000001", **values) -> dict:
    base = {"form_serial": serial, "channel": "paper", "municipality": "14039",
            "themes": "security;health", "sector": "private", "heard_via": "radio_tv;school",
            "age": "34", "problem": "Baches", "submitted_on": ""}
    base.update(values)
    return base


def csv_bytes(rows: list[dict], header=HEADER, bom: bool = False,
              encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for item in rows:
        writer.writerow([item.get(column, "") for column in header])
    return (("\ufeff" if bom else "") + out.getvalue()).encode(encoding)


def xlsx_bytes(rows: list[dict], header=HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for item in rows:
        sheet.append([item.get(column, None) for column in header])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def serials(n: int, municipality: str = "14039", start: int = 1) -> list[dict]:
    return [row(f"{municipality}-{i:06d}", municipality=municipality)
            for i in range(start, start + n)]
