"""Remove contact data and names from citizens' free text before anyone else reads it."""

from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
# Seven or more digits, possibly split by spaces, dots, dashes or parentheses (+52 33 1234 5678).
PHONE = re.compile(r"(?:\+?\d[\s().-]*){7,}\d")
HANDLE = re.compile(r"(?<![\w@])@\w{2,}")
# "me llamo Ana López", "soy Juan", "my name is …", "atentamente María": the next capitalized words.
NAME_INTRO = re.compile(
    r"\b((?i:me llamo|mi nombre es|soy|atentamente|att\.?|firma|my name is|i am|i'm|sincerely))"
    r"(\s*:?\s+)((?:[A-ZÁÉÍÓÚÑÜ][\wáéíóúñü'-]+)(?:\s+(?:de(?:\s+la)?\s+|del\s+)?"
    r"[A-ZÁÉÍÓÚÑÜ][\wáéíóúñü'-]+){0,3})"
)
# Honorifics followed by a capitalized name: "Sr. Pérez", "Lic. Ana Gómez", "Mrs Smith".
TITLED = re.compile(
    r"\b(Sr|Sra|Srta|Don|Doña|Lic|Ing|Dr|Dra|Mtro|Mtra|Prof|Mr|Mrs|Ms)\.?\s+"
    r"[A-ZÁÉÍÓÚÑÜ][\wáéíóúñü'-]+(?:\s+[A-ZÁÉÍÓÚÑÜ][\wáéíóúñü'-]+){0,2}"
)
REDACTED = "[…]"


def scrub(text: str | None) -> str:
    """Return text without emails, URLs, phone numbers, @handles and name-like phrases."""
    if not text:
        return ""
    text = EMAIL.sub(REDACTED, text)
    text = URL.sub(REDACTED, text)
    text = PHONE.sub(REDACTED, text)
    text = HANDLE.sub(REDACTED, text)
    text = TITLED.sub(REDACTED, text)

    def _name(match: re.Match) -> str:
        # "soy" is also "I am" before an adjective ("soy maestra"): only capitalized words go.
        if not match.group(3)[0].isupper():
            return match.group(0)
        return match.group(1) + match.group(2) + REDACTED

    text = NAME_INTRO.sub(_name, text)
    return " ".join(text.split())
