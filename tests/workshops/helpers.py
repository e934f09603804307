"""Responses where security+public spaces and health+education are chosen together."""

from __future__ import annotations

from datetime import date

from app.extensions import db
from app.services.responses import new_response

# (count, municipality, themes in order, sector, problem statement)
PATTERNS = [
    (6, "14039", ["security", "public_services"], "private", "Robos en mi colonia =1+1"),
    (4, "14120", ["public_services", "security"], "public", "Me llamo Ana Ruiz, tel 33 1234 5678"),
    (5, "14001", ["health", "education"], "academia", "No hay médico en la clínica"),
    (3, "14039", ["education", "health"], "private", "Faltan maestros"),
    (2, "14001", ["corruption"], "private", "Piden mordidas"),
]


def add_patterns(consultation, patterns=PATTERNS) -> None:
    for count, municipality, themes, sector, problem in patterns:
        for _ in range(count):
            db.session.add(new_response(
                consultation, channel="online", source="online",
                municipality_code=municipality, theme_codes=themes,
                answers={"sector": sector, "problem": problem},
                submitted_on=date(2016, 10, 18)))
    db.session.commit()
