"""The formula-injection neutralizer, checked by opening real files with openpyxl."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook

from app.services.anonymize import scrub
from app.services.spreadsheet import safe_cell

DANGEROUS = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "\0=1", "=HYPERLINK(\"x\")",
             "\x00", "-", "\t"]


@pytest.mark.parametrize("value", DANGEROUS)
def test_dangerous_values_start_with_a_quote(value):
    assert safe_cell(value).startswith("'")
    assert "\0" not in safe_cell(value)


@pytest.mark.parametrize("value", ["Salud", "14039", "security;health", "", "a=b", "'quoted",
                                   3, 2.5, None, date(2016, 10, 17)])
def test_harmless_values_unchanged(value):
    assert safe_cell(value) == value


def test_openpyxl_reads_neutralized_cells_as_text():
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("x")
    sheet.append([safe_cell(value) for value in DANGEROUS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    cells = next(load_workbook(io.BytesIO(buffer.getvalue()))["x"].iter_rows())
    for cell in cells:
        assert cell.data_type == "s"
        assert cell.value.startswith("'")


@pytest.mark.parametrize(("text", "gone", "kept"), [
    ("Escríbeme a juan.perez@example.com por favor", "juan.perez@", "por favor"),
    ("Mi tel es 33 1234 5678, llámenme", "1234", "llámenme"),
    ("Llamar al +52 (33) 3614-0000", "3614", "Llamar"),
    ("Me llamo María de la Luz Pérez y pido agua", "María", "pido agua"),
    ("soy maestra y falta agua", "", "soy maestra"),
    ("El Lic. Ramírez no contesta", "Ramírez", "no contesta"),
    ("ver https://example.org/x y @vecino_gdl", "example.org", "ver"),
    ("Hay 3 baches en 2 calles", "", "Hay 3 baches en 2 calles"),
])
def test_scrub_removes_contact_data_and_names(text, gone, kept):
    cleaned = scrub(text)
    if gone:
        assert gone not in cleaned
    assert kept in cleaned
