"""Route guards: every view is either public on purpose or restricted to roles.

The route matrix test walks app.url_map and fails for a view that is neither, so a route
added without a decision about who may use it cannot land.
"""

from __future__ import annotations

import functools

from flask import abort
from flask_login import current_user

from app.extensions import login


def public(view):
    """Mark a view as open to everyone (it may still check finer rules inside)."""
    view.public = True
    return view


def role_required(*roles: str):
    """Allow signed-in accounts holding one of the roles (admin always); 403 for the others.

    With no roles, any signed-in account is allowed.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login.unauthorized()
            if roles and not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapper.required_roles = roles
        return wrapper

    return decorator
