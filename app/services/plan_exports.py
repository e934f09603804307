"""Exports of a workshop plan: XLSX (a sheet per workshop, summary, methodology), CSV, PDF.

Every export states the consultation, the filters, the weighting, the date and how the numbers
were computed, in the language asked for; every spreadsheet cell goes through safe_cell().
"""

from __future__ import annotations

import csv
import io

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from app.i18n import localized
from app.models import WorkshopPlan
from app.services import workshops
from app.services.spreadsheet import safe_cell, safe_row

LOCALES = {"es": "es_MX", "en": "en"}


def _filters_text(shortlist: dict, lang: str) -> str:
    filters = shortlist["filters"].as_dict()
    if not filters:
        return _("none (all accepted responses)")
    consultation = shortlist["consultation"]
    questions = consultation.question_by_code()
    parts = []
    for key, value in filters.items():
        if key in questions:
            option = questions[key].option_by_code().get(value)
            label = localized(option.label, lang) if option is not None else value
            parts.append(f"{localized(questions[key].label, lang)} = {label}")
        else:
            parts.append(f"{key} = {value}")
    return "; ".join(parts)


def _weighting_text(plan: WorkshopPlan) -> str:
    if plan.weighting == "population":
        return _("population: respondents post-stratified by region to the 2020 census")
    return _("none: every response counts once")


def method_lines(shortlist: dict, lang: str) -> list[tuple[str, str]]:
    """Return (label, text) pairs: what, filters, weighting, dates and how numbers were made."""
    plan = shortlist["plan"]
    consultation = shortlist["consultation"]
    change = shortlist["change"]
    min_cell = current_app.config.get("MIN_CELL_SIZE", 5)
    lines = [
        (_("Consultation"), f"{localized(consultation.title, lang)} ({consultation.slug}), "
         f"{consultation.opens_on.isoformat()} – {consultation.effective_closes_on.isoformat()}"),
        (_("Plan"), plan.name),
        (_("Filters"), _filters_text(shortlist, lang)),
        (_("Weighting"), _weighting_text(plan)),
        (_("Plan made on"), plan.snapshot_at.strftime("%Y-%m-%d %H:%M UTC")),
        (_("Numbers computed on"), shortlist["computed_at"].strftime("%Y-%m-%d %H:%M UTC")),
        (_("Respondents"), str(shortlist["respondents"])),
        (_("Votes"), str(shortlist["votes"])),
        (_("What a vote is"), _("A vote is one theme chosen by one respondent (each "
                                "respondent chooses 1 to %(max)d themes).",
                                max=consultation.theme_max)),
        (_("Vote share"), _("The theme's votes divided by all votes.")),
        (_("Respondent share"), _("The theme's votes divided by the respondents: the share "
                                  "of people who chose it.")),
        (_("Borda"), _("A choice in position p of at most %(max)d scores %(max)d − p + 1.",
                       max=consultation.theme_max)),
        (_("Rank"), _("Order by votes; themes with equal votes share a rank; 1 is the most "
                      "voted theme.")),
        (_("Regions and sectors"), _("The theme's rank among all themes within each region "
                                     "or sector; groups with fewer than %(n)d respondents are "
                                     "left out to protect people.", n=min_cell)),
        (_("Statements"), _("A fixed sample of what respondents who chose the workshop's "
                            "themes wrote, with e-mails, phone numbers and names removed.")),
        (_("Open data"), _("Anyone can recompute these numbers from the consultation's open "
                           "data (one row per response).")),
    ]
    if shortlist["workshops"] and any(theme["ci95"] is not None
                                      for w in shortlist["workshops"] for theme in w["themes"]):
        lines.append((_("Intervals"), _("95% intervals of the vote share by bootstrap on the "
                                        "counts (the same as the API's ranking).")))
    if change.changed:
        lines.append((_("Warning"), _(
            "The consultation changed after this plan was made (plan: %(plan)s; consultation: "
            "%(consultation)s; respondents then %(then)d, now %(now)d). The numbers are the "
            "current ones.",
            plan=change.plan_date.strftime("%Y-%m-%d %H:%M"),
            consultation=change.consultation_date.strftime("%Y-%m-%d %H:%M")
            if change.consultation_date else "—",
            then=change.respondents_then, now=change.respondents_now)))
    return lines


def theme_header() -> list[str]:
    return [_("Workshop"), _("Theme code"), _("Theme"), _("Votes"), _("Vote share"),
            _("Respondent share"), _("Borda"), _("Rank"), _("Interval (95%)")]


def theme_row(workshop: dict, theme: dict) -> list:
    interval = ""
    if theme["ci95"] is not None:
        low, high = theme["ci95"]
        interval = f"{low:.3f}–{high:.3f}"
    return [workshop["name"], theme["code"], theme["name"], theme["votes"],
            round(theme["vote_share"], 4), round(theme["respondent_share"], 4), theme["borda"],
            theme["rank"], interval]


def _sheet_title(position: int, name: str, used: set[str]) -> str:
    # Excel sheet names: at most 31 characters, none of []:*?/\ ; unique.
    clean = "".join(c for c in name if c not in "[]:*?/\\'").strip() or "-"
    title = f"{position}. {clean}"[:31]
    while title in used:
        title = title[:28] + f"~{len(used)}"
    used.add(title)
    return title


def xlsx_bytes(plan: WorkshopPlan, lang: str) -> bytes:
    """Return the plan as an XLSX workbook in the given language."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    with force_locale(LOCALES[lang]):
        data = workshops.shortlist(plan, current_app.config.get("MIN_CELL_SIZE", 5), lang)
        workbook = Workbook()
        summary = workbook.active
        summary.title = _("Summary")[:31]
        summary.append(safe_row([localized(data["consultation"].title, lang)]))
        summary.append(safe_row([plan.name]))
        summary.append([])
        summary.append(safe_row(theme_header()))
        for cell in summary[4]:
            cell.font = Font(bold=True)
        for workshop in data["workshops"]:
            for theme in workshop["themes"]:
                summary.append(safe_row(theme_row(workshop, theme)))
        used = {summary.title}
        for workshop in data["workshops"]:
            sheet = workbook.create_sheet(_sheet_title(workshop["position"], workshop["name"],
                                                       used))
            sheet.append(safe_row([workshop["name"]]))
            sheet.append(safe_row(theme_header()
                                  + [_("Rank in region %(number)d", number=r)
                                     for r in data["regions"]]
                                  + [_("Rank among %(sector)s", sector=localized(o.label, lang))
                                     for o in data["sectors"]]))
            for cell in sheet[2]:
                cell.font = Font(bold=True)
            for theme in workshop["themes"]:
                sheet.append(safe_row(
                    theme_row(workshop, theme)
                    + [theme["regions"].get(r, "") for r in data["regions"]]
                    + [theme["sectors"].get(o.code, "") for o in data["sectors"]]))
            sheet.append([])
            sheet.append(safe_row([_("Problem statements (sample, anonymized)")]))
            for statement in workshop["statements"]:
                sheet.append([safe_cell(statement["text"])])
        method = workbook.create_sheet(_("Methodology")[:31])
        for label, text in method_lines(data, lang):
            method.append(safe_row([label, text]))
        method.column_dimensions["A"].width = 24
        method.column_dimensions["B"].width = 100
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_text(plan: WorkshopPlan, lang: str) -> str:
    """Return the plan as CSV: one row per theme, with the context repeated on each row."""
    with force_locale(LOCALES[lang]):
        data = workshops.shortlist(plan, current_app.config.get("MIN_CELL_SIZE", 5), lang)
        context = dict(method_lines(data, lang))
        header = ["workshop_position", "workshop", "theme_code", "theme", "votes",
                  "vote_share", "respondent_share", "borda", "rank", "ci95",
                  "consultation", "filters", "weighting", "computed_on"]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        for workshop in data["workshops"]:
            for theme in workshop["themes"]:
                row = theme_row(workshop, theme)
                writer.writerow(safe_row([
                    workshop["position"], *row, data["consultation"].slug,
                    context[_("Filters")], plan.weighting,
                    data["computed_at"].date().isoformat()]))
    return buffer.getvalue()


_PDF_REPLACE = str.maketrans({"…": "...", "–": "-", "—": "-", "−": "-", "“": '"', "”": '"',
                              "‘": "'", "’": "'", "·": "-", "≥": ">="})


def _pdf_text(text: str) -> str:
    """Return text the PDF core fonts can draw (latin-1: every Spanish letter is in it)."""
    return str(text).translate(_PDF_REPLACE).encode("latin-1", "replace").decode("latin-1")


def pdf_bytes(plan: WorkshopPlan, position: int, lang: str) -> bytes:
    """Return a printable brief for one workshop of the plan."""
    from fpdf import FPDF

    with force_locale(LOCALES[lang]):
        data = workshops.shortlist(plan, current_app.config.get("MIN_CELL_SIZE", 5), lang)
        workshop = next(w for w in data["workshops"] if w["position"] == position)
        pdf = FPDF(format="A4")
        pdf.set_title(_pdf_text(workshop["name"]))
        pdf.set_auto_page_break(auto=True, margin=15)
        pdf.add_page()
        width = pdf.epw

        def paragraph(text: str, size: int = 10, style: str = "", height: float = 5) -> None:
            pdf.set_font("Helvetica", style, size)
            pdf.multi_cell(width, height, _pdf_text(text), new_x="LMARGIN", new_y="NEXT")

        paragraph(localized(data["consultation"].title, lang), 10)
        paragraph(_("Workshop %(number)d: %(name)s", number=position, name=workshop["name"]),
                  16, "B", 8)
        pdf.ln(2)
        columns = [(_("Theme"), 0.40), (_("Votes"), 0.12), (_("Vote share"), 0.16),
                   (_("Respondent share"), 0.18), (_("Rank"), 0.14)]
        pdf.set_font("Helvetica", "B", 9)
        for label, share in columns:
            pdf.cell(width * share, 6, _pdf_text(label), border="B")
        pdf.ln()
        pdf.set_font("Helvetica", "", 9)
        for theme in workshop["themes"]:
            values = [theme["name"], str(theme["votes"]), f"{theme['vote_share']:.1%}",
                      f"{theme['respondent_share']:.1%}", str(theme["rank"])]
            for (_label, share), value in zip(columns, values, strict=True):
                pdf.cell(width * share, 6, _pdf_text(value))
            pdf.ln()
        if data["regions"] or data["sectors"]:
            pdf.ln(2)
            paragraph(_("How regions and sectors ranked these themes"), 11, "B", 6)
            for theme in workshop["themes"]:
                regions = ", ".join(_("region %(number)d: %(rank)d", number=r, rank=rank)
                                    for r, rank in theme["regions"].items())
                sectors = ", ".join(f"{localized(o.label, lang)}: {theme['sectors'][o.code]}"
                                    for o in data["sectors"] if o.code in theme["sectors"])
                paragraph(f"{theme['name']}: {regions}" + (f"; {sectors}" if sectors else ""),
                          9)
        if workshop["statements"]:
            pdf.ln(2)
            paragraph(_("Problem statements (sample, anonymized)"), 11, "B", 6)
            for statement in workshop["statements"]:
                paragraph(f"- {statement['text']}", 9)
        pdf.ln(2)
        paragraph(_("How these numbers were computed"), 11, "B", 6)
        for label, text in method_lines(data, lang):
            paragraph(f"{label}: {text}", 8, height=4)
    return bytes(pdf.output())
