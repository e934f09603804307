"""What an import reports: its problems, its refusal and its result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from app.models import ImportBatch
from app.services.errors import DomainError

Progress = Callable[[str, int, int], None]


@dataclass
class Problem:
    """One problem of an import file: where it is, what was there, why it is refused."""

    row: int | None
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = _("row %(row)d", row=self.row) if self.row is not None else _("file")
        column = f", {self.column}" if self.column else ""
        value = f" \"{self.value}\"" if self.value else ""
        return f"{where}{column}{value}: {self.reason}"


class ImportRejected(DomainError):
    """The file was refused whole; `rows` holds every Problem."""

    def __init__(self, message: str, rows: list[Problem]):
        super().__init__(message, [str(problem) for problem in rows])
        self.rows = rows


@dataclass
class ImportResult:
    batch: ImportBatch
    row_count: int


def shown(value: Any, limit: int = 60) -> str:
    """Return a value short enough to show in a report."""
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[:limit] + "…"
