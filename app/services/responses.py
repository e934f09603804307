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
RECEIPT_LENGTH = 12


def new_receipt_code() -> str:
    """Return a random receipt code such as K7MQ-2XHD-9RTA."""
    # One draw of a number below 31^12, written in the 31 letters: as uniform as twelve
    # draws of a letter, in a twelfth of the calls.
    number = secrets.randbelow(len(RECEIPT_ALPHABET) ** RECEIPT_LENGTH)
    letters = []
    for _ in range(RECEIPT_LENGTH):
        number, digit = divmod(number, len(RECEIPT_ALPHABET))
        letters.append(RECEIPT_ALPHABET[digit])
    raw = "".join(letters)
    return "-".join(raw[i : i + 4] for i in range(0, RECEIPT_LENGTH, 4))


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
    theme_ids = chosen_theme_ids(consultation, theme_codes)
    response.themes = [ResponseTheme(theme_id=theme_id, position=position)
                       for position, theme_id in enumerate(theme_ids, start=1)]
    response.theme_pattern = theme_pattern(theme_ids)
    response.answers = [
        Answer(question_id=question_id, option_id=option_id, text_value=text_value,
               number_value=number_value)
        for question_id, option_id, text_value, number_value in answer_rows(consultation, answers)
    ]
    return response


def chosen_theme_ids(consultation: Consultation, theme_codes: list[str]) -> list[int]:
    """Return the ids of the chosen themes, in position order."""
    themes = consultation.theme_by_code()
    return [themes[code].id for code in theme_codes]


def answer_rows(consultation: Consultation,
                answers: dict[str, Any]) -> list[tuple[int, int | None, str | None, float | None]]:
    """Return the answer rows of validated answers as (question_id, option_id, text_value,
    number_value): one per single or number or text answer, one per option of a multiple
    answer, none for an empty answer (see new_response)."""
    questions = consultation.question_by_code()
    rows: list[tuple[int, int | None, str | None, float | None]] = []
    for code, value in answers.items():
        if value is None or value == "" or value == []:
            continue
        question = questions[code]
        if question.type == "single":
            rows.append((question.id, question.option_by_code()[value].id, None, None))
        elif question.type == "multiple":
            by_code = question.option_by_code()
            rows.extend((question.id, by_code[option].id, None, None) for option in value)
        elif question.type == "number":
            rows.append((question.id, None, None, float(value)))
        else:
            rows.append((question.id, None, str(value), None))
    return rows
