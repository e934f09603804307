"""Domain errors that views and commands turn into messages."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused an operation; the message is already translated."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []


class InvalidDefinition(DomainError):
    """A consultation definition has problems; every one is listed."""


class StructureLocked(DomainError):
    """A structural change was attempted on a consultation that already has responses."""


class OutOfScope(DomainError):
    """The account may not work on that municipality."""
