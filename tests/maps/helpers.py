"""Hand-made responses for the map tests."""

from __future__ import annotations

from app.extensions import db
from app.services.responses import new_response


def add_responses(consultation, municipality: str, count: int, *, channel: str = "online",
                  themes=("security",), sector: str = "private") -> None:
    """Add count accepted responses from one municipality."""
    for _ in range(count):
        db.session.add(new_response(consultation, channel=channel, source="online",
                                    municipality_code=municipality, theme_codes=list(themes),
                                    answers={"sector": sector}))
    db.session.commit()
