"""The letter-size PDF page of the printed forms (fpdf2), kept apart from app.services.printing.

fpdf2 takes about a second to import on a busy machine: this module is imported by
printing._new_pdf when a PDF is made, so web workers and the CLI start without it. It imports
nothing from printing (the text helper both need is app.services.pdf_text): no import circle.
"""

from __future__ import annotations

import io

import segno
from fpdf import FPDF

from app.services.pdf_text import plain


class Sheet(FPDF):
    """A letter-size page whose header carries the form's serial, as text and as QR code."""

    # The serial of the form being drawn; header() copies it to page_serial, which footer()
    # reads: fpdf2 draws a page's footer when the next page is added, by which time `serial`
    # already names the next form.
    serial: str | None = None
    page_serial: str | None = None
    title_text = ""
    serial_label = ""

    def header(self) -> None:
        self.page_serial = self.serial
        self.set_font("Helvetica", "B", 11)
        self.set_xy(12, 10)
        self.multi_cell(150, 5, plain(self.title_text), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "", 10)
        if self.serial:
            qr = io.BytesIO()
            segno.make(self.serial, error="m").save(qr, kind="png", scale=4, border=1)
            qr.seek(0)
            self.image(qr, x=178, y=8, w=24, h=24)
            self.set_xy(130, 33)
            self.set_font("Helvetica", "B", 12)
            self.cell(72, 6, plain(self.serial), align="R")
        else:
            self.set_xy(120, 14)
            self.cell(82, 6, plain(self.serial_label) + " ____________________", align="R")
        self.set_y(42)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 8)
        text = (f"{self.page_serial}  ·  {self.page_no()}" if self.page_serial
                else str(self.page_no()))
        self.cell(0, 5, plain(text), align="C")
