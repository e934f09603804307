"""The CSV template of a consultation's import."""

from __future__ import annotations

import csv
import io

from app.models import Consultation


def template_csv(consultation: Consultation) -> str:
    """Return the CSV template of a consultation: the header and one example row."""
    columns = template_columns(consultation)
    example = {
        "form_serial": "14039-000001",
        "channel": "paper",
        "municipality": "14039",
        "themes": ";".join(t.code for t in consultation.themes[: consultation.theme_max]),
        "submitted_on": "",
    }
    for question in consultation.questions:
        if question.type == "single":
            example[question.code] = question.options[0].code
        elif question.type == "multiple":
            example[question.code] = ";".join(o.code for o in question.options[:2])
        elif question.type == "number":
            example[question.code] = str(int(question.min_value or 0))
        else:
            example[question.code] = ""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerow([example[c] for c in columns])
    return out.getvalue()


def template_columns(consultation: Consultation) -> list[str]:
    return ["form_serial", "channel", "municipality", "themes",
            *(q.code for q in consultation.questions), "submitted_on"]
