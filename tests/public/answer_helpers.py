"""Helpers shared by the answer form tests."""

from __future__ import annotations

import re

TOKEN_RE = re.compile(r'name="submission_token" value="([^"]+)"')
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(html: str) -> str:
    return TOKEN_RE.search(html).group(1)


def valid_answer(token: str, **overrides) -> dict:
    """Return a complete, valid answer to the demo consultation; None drops a field."""
    data = {
        "submission_token": token,
        "municipality": "14039",
        "theme_1": "health",
        "theme_2": "security",
        "theme_3": "",
        "q_sector": "academia",
        "q_heard_via": ["social_media", "school"],
        "q_age": "34",
        "q_problem": "Faltan medicinas.",
        "consent": "y",
        "website": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
