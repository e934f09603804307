"""Route guards: sign-in and roles, checked on the server for every request."""

from __future__ import annotations

import functools

from flask import abort
from flask_login import current_user

from app.extensions import login


def role_required(*roles: str):
    """Allow signed-in accounts holding one of the roles (admin always); 403 for the others."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login.unauthorized()
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapper.required_roles = roles
        return wrapper

    return decorator
