"""Printable PDFs: the paper questionnaire (one per serial, or blank) and a batch's tally sheet.

Texts go through app.services.pdf_text.plain, so a definition can never break printing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from app.extensions import db
from app.i18n import localized
from app.models import Consultation, Municipality, PaperBatch
from app.services.pdf_text import plain

if TYPE_CHECKING:
    from fpdf import FPDF

    from app.services.pdf_sheet import Sheet as _Sheet

LOCALES = {"es": "es_MX", "en": "en"}


def _box(pdf: FPDF, x: float, y: float, size: float = 5) -> None:
    pdf.rect(x, y, size, size)


def _form(pdf: _Sheet, consultation: Consultation, lang: str, serial: str | None) -> None:
    pdf.serial = serial
    pdf.add_page()
    pdf.set_font("Helvetica", "", 10)
    if serial:
        code = serial.split("-")[0]
        municipality = db.session.get(Municipality, code)
        name = f"{code} {municipality.name}" if municipality else code
        pdf.multi_cell(0, 5, plain(_("Municipality: %(name)s", name=name)),
                       new_x="LMARGIN", new_y="NEXT")
    else:
        pdf.multi_cell(0, 5, plain(_("Municipality:")) + " ______________________________",
                       new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    number = 1
    pdf.set_font("Helvetica", "B", 10)
    pdf.multi_cell(0, 5, plain(f"{number}. {localized(consultation.theme_label, lang)}"),
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "I", 8)
    if consultation.theme_ranked:
        hint = _("Write 1 for the most important theme, then 2 and so on, up to %(max)d.",
                 max=consultation.theme_max)
    else:
        hint = _("Mark up to %(max)d themes.", max=consultation.theme_max)
    pdf.multi_cell(0, 4, plain(hint), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    half = (len(consultation.themes) + 1) // 2
    top = pdf.get_y() + 1
    for index, theme in enumerate(consultation.themes):
        column, row = divmod(index, half)
        x, y = 14 + column * 95, top + row * 7
        if y > pdf.h - 25:
            pdf.add_page()
            top, y = pdf.get_y() - row * 7, pdf.get_y()
        _box(pdf, x, y, 6)
        pdf.set_xy(x + 8, y)
        pdf.cell(85, 6, plain(localized(theme.name, lang)))
    pdf.set_y(top + half * 7 + 3)

    for question in consultation.questions:
        number += 1
        if pdf.get_y() > pdf.h - 45:
            pdf.add_page()
        pdf.set_font("Helvetica", "B", 10)
        label = f"{number}. {localized(question.label, lang)}"
        pdf.multi_cell(0, 5, plain(label), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "I", 8)
        if question.type == "multiple":
            pdf.multi_cell(0, 4, plain(_("Mark all that apply.")), new_x="LMARGIN",
                           new_y="NEXT")
        elif question.type == "single":
            pdf.multi_cell(0, 4, plain(_("Mark one.")), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9)
        if question.has_options:
            for option in question.options:
                y = pdf.get_y() + 1
                if y > pdf.h - 20:
                    pdf.add_page()
                    y = pdf.get_y()
                _box(pdf, 16, y, 4)
                pdf.set_xy(22, y - 0.5)
                pdf.cell(170, 5, plain(localized(option.label, lang)), new_x="LMARGIN",
                         new_y="NEXT")
        elif question.type == "number":
            y = pdf.get_y() + 1
            for i in range(3):
                _box(pdf, 16 + i * 7, y, 6)
            pdf.set_y(y + 8)
        else:
            for _line in range(4):
                y = pdf.get_y() + 7
                pdf.line(16, y, 200, y)
                pdf.set_y(y)
        pdf.ln(3)
    pdf.set_font("Helvetica", "I", 8)
    pdf.multi_cell(0, 4, plain(_("Thank you for taking part. Your answers are anonymous.")),
                   new_x="LMARGIN", new_y="NEXT")


def _new_pdf(title: str) -> _Sheet:
    from app.services.pdf_sheet import Sheet

    pdf = Sheet(format="letter")
    pdf.set_auto_page_break(True, margin=16)
    pdf.set_margins(12, 12, 12)
    pdf.title_text = title
    pdf.set_title(plain(title))
    pdf.set_creator("Consulta Abierta")
    return pdf


def questionnaire_pdf(consultation: Consultation, lang: str,
                      serials: list[str] | None = None) -> bytes:
    """Return the printable questionnaire: one copy per serial, or one blank copy."""
    lang = "en" if lang.startswith("en") else "es"
    with force_locale(LOCALES[lang]):
        pdf = _new_pdf(localized(consultation.title, lang))
        pdf.serial_label = _("Serial:")
        for serial in serials or [None]:
            _form(pdf, consultation, lang, serial)
        return bytes(pdf.output())


def tally_pdf(consultation: Consultation, batch: PaperBatch, lang: str) -> bytes:
    """Return the tally sheet of a batch: every serial issued, the date and who issued it."""
    lang = "en" if lang.startswith("en") else "es"
    with force_locale(LOCALES[lang]):
        pdf = _new_pdf(_("Tally sheet: %(title)s", title=localized(consultation.title, lang)))
        pdf.serial_label = ""
        pdf.serial = None
        pdf.add_page()
        pdf.set_font("Helvetica", "", 10)
        municipality = batch.municipality.name if batch.municipality else ""
        lines = [
            _("Batch %(id)d: %(count)d forms for %(code)s %(name)s", id=batch.id,
              count=batch.count, code=batch.municipality_code, name=municipality),
            _("Serials %(first)s to %(last)s", first=batch.serials()[0],
              last=batch.serials()[-1]),
            _("Issued on %(date)s by %(who)s", date=format_date(batch.created_at, "long"),
              who=batch.created_by.email if batch.created_by else "-"),
        ]
        for line in lines:
            pdf.multi_cell(0, 6, plain(line), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        headings = [_("Serial"), _("Handed out"), _("Returned"), _("Keyed"), _("Notes")]
        widths = [38, 30, 30, 30, 58]
        pdf.set_font("Helvetica", "B", 9)
        for heading, width in zip(headings, widths, strict=True):
            pdf.cell(width, 7, plain(heading), border=1)
        pdf.ln()
        pdf.set_font("Helvetica", "", 9)
        for serial in batch.serials():
            for index, width in enumerate(widths):
                pdf.cell(width, 6, plain(serial) if index == 0 else "", border=1)
            pdf.ln()
        return bytes(pdf.output())
