"""Cache-Control of results and open data: public once closed, never kept before."""

from __future__ import annotations

from flask import current_app

from app.models import Consultation
from app.util import local_today

# What only analysts and administrators may see (an open consultation's results) is never
# stored by a browser or a shared cache.
PRIVATE = "private, no-store"


def cache_control(consultation: Consultation | None = None) -> dict[str, str]:
    """Return the caching headers of a result or open data response about consultation.

    A closed consultation's results are public and change only when staff void or adjudicate
    responses: any cache may keep them PUBLIC_CACHE_SECONDS. Anything else is PRIVATE. The
    content depends on the language and on who is signed in (staff see unsuppressed numbers;
    app/security.py makes every signed-in response no-store): caches must keep them apart.
    """
    headers = {"Vary": "Accept-Language, Cookie"}
    if consultation is not None and consultation.status(local_today()) == "closed":
        seconds = int(current_app.config["PUBLIC_CACHE_SECONDS"])
        headers["Cache-Control"] = f"public, max-age={seconds}"
    else:
        headers["Cache-Control"] = PRIVATE
    return headers


def listing() -> dict[str, str]:
    """Return the caching headers of the list of consultations: public, for a minute (a
    consultation's status changes at midnight)."""
    return {"Vary": "Accept-Language, Cookie", "Cache-Control": "public, max-age=60"}
