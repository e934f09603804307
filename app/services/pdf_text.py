"""Text the core PDF fonts can draw, shared by app.services.printing and app.services.pdf_sheet.

fpdf2's built-in Helvetica covers Latin-1, which holds every Spanish letter; the few typographic
characters outside it are replaced by plain ones so a definition can never break printing.
"""

from __future__ import annotations

_PLAIN = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-",
                        "…": "...", "•": "-", "\u00a0": " "})


def plain(text: str) -> str:
    """Return text the core PDF fonts can draw."""
    return str(text).translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")
