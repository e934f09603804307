"""Small helpers shared by models and services."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

CONSULTATION_TZ = ZoneInfo("America/Mexico_City")


def utcnow() -> datetime:
    """Return the current UTC time, naive (stored the same on SQLite and PostgreSQL)."""
    return datetime.now(UTC).replace(tzinfo=None)


def local_today() -> date:
    """Return today's date in America/Mexico_City, where consultation dates are inclusive."""
    return datetime.now(CONSULTATION_TZ).date()
