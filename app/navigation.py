"""The navigation bar: each blueprint registers its entries with the roles that may see them."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_login import current_user


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy_gettext string, translated when rendered
    roles: tuple[str, ...]
    order: int = 50


_ITEMS: list[NavItem] = []


def register(endpoint: str, label, *roles: str, order: int = 50) -> None:
    """Show a link to endpoint to signed-in accounts holding one of roles (admin sees all)."""
    if all(item.endpoint != endpoint for item in _ITEMS):
        _ITEMS.append(NavItem(endpoint, label, roles, order))


def nav_items() -> list[dict]:
    """Return the links the current account may follow, in order."""
    if not current_user.is_authenticated:
        return []
    return [
        {"url": url_for(item.endpoint), "label": str(item.label)}
        for item in sorted(_ITEMS, key=lambda item: item.order)
        if current_user.has_role(*item.roles)
    ]
