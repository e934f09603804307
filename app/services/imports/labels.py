"""Codes or labels: a theme or an option may be given by its code or its name in either language.

Labels are matched accent-, case- and space-insensitively ("Inseguridad", "INSEGURIDAD",
"inseguridád" and "insecurity" are the same theme). A folded label that names two different
codes is ambiguous: it is refused and the codes are named, so the person can type one of them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable


def fold(text: str) -> str:
    """Return text without accents, in one case, with single spaces (for matching only)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().split())


class Vocabulary:
    """The codes of one list (themes, a question's options) and the labels that name them."""

    def __init__(self, items: Iterable[tuple[str, dict | None]]):
        self.codes: set[str] = set()
        named: dict[str, set[str]] = {}
        for code, labels in items:
            self.codes.add(code)
            names = [code, *((labels or {}).values())]
            for name in names:
                if isinstance(name, str) and name.strip():
                    named.setdefault(fold(name), set()).add(code)
        self.folded = {key: next(iter(codes)) for key, codes in named.items() if len(codes) == 1}
        self.ambiguous = {key: sorted(codes) for key, codes in named.items() if len(codes) > 1}

    def resolve(self, raw: str) -> tuple[str | None, list[str]]:
        """Return (code, []) for a code or a label, (None, codes) if ambiguous, else (None, [])."""
        if raw in self.codes:  # the fast path: a code as printed in the template
            return raw, []
        key = fold(raw)
        if key in self.folded:
            return self.folded[key], []
        return None, self.ambiguous.get(key, [])
