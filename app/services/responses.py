"""Build response rows from validated codes; shared by online answers, imports and the demo."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from app.models import Answer, Consultation, Response, ResponseTheme
from app.models.response import theme_pattern
from app.util import local_today, utcnow

# No 0/O or 1/I/L: a receipt is read aloud and typed by people.
RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_receipt_code() -> str:
    """Return a random receipt code such as K7MQ-2XHD-9RTA."""
    raw = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


def new_response(
    consultation: Consultation,
    *,
    channel: str,
    source: str,
    municipality_code: str,
    theme_codes: list[str],
    answers: dict[str, Any],
    submitted_on: date | None = None,
    **fields: Any,
) -> Response:
    """Return an accepted Response (not yet added to the session) for already validated values.

    `answers` maps a question code to an option code (single), a list of option codes
    (multiple), a string (text) or a number; None or an empty value stores nothing.
    """
    themes = consultation.theme_by_code()
    questions = consultation.question_by_code()
    now = utcnow()
    response = Response(
        consultation_id=consultation.id,
        channel=channel,
        source=source,
        municipality_code=municipality_code,
        submitted_at=fields.pop("submitted_at", now),
        submitted_on=submitted_on or local_today(),
        state="accepted",
        **fields,
    )
    response.themes = [
        ResponseTheme(theme_id=themes[code].id, position=position)
        for position, code in enumerate(theme_codes, start=1)
    ]
    response.theme_pattern = theme_pattern(theme.theme_id for theme in response.themes)
    for code, value in answers.items():
        if value is None or value == "" or value == []:
            continue
        question = questions[code]
        if question.type == "single":
            option_ids = [question.option_by_code()[value].id]
        elif question.type == "multiple":
            by_code = question.option_by_code()
            option_ids = [by_code[option] for option in value]
            option_ids = [option.id for option in option_ids]
        elif question.type == "number":
            response.answers.append(Answer(question_id=question.id, number_value=float(value)))
            continue
        else:
            response.answers.append(Answer(question_id=question.id, text_value=str(value)))
            continue
        response.answers.extend(
            Answer(question_id=question.id, option_id=option_id) for option_id in option_ids
        )
    return response
