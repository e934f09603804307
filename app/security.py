"""The security baseline applied to every request: headers, session timeouts, two-factor
enrolment for administrators, and the answers to CSRF failures and out-of-scope attempts."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from flask import (
    Flask,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError

from app.extensions import db, limiter
from app.services.errors import OutOfScope

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

# Where an administrator who has not enrolled a second factor may still go.
ENROLMENT_ENDPOINTS = {"auth.two_factor_setup", "auth.two_factor_qr", "auth.logout",
                       "public.set_language", "static"}

# Session keys written at sign-in and read on every request.
SIGNED_IN_AT = "signed_in_at"
LAST_SEEN_AT = "last_seen_at"
# The idle clock moves at most once a minute, and never for a page's background poll: each move
# rewrites the session cookie, and a poll's cookie that arrives while a form is being posted
# replaces the one the post set (its flashed message was lost: the import's success message,
# seen in CI).
LAST_SEEN_STEP = 60
BACKGROUND_ENDPOINTS = {"entry.import_progress"}


HEADERS_KEY = "consulta.security_headers"


def init_app(app: Flask) -> None:
    """Install the security hooks and error handlers on the app."""
    headers = list(_SECURITY_HEADERS)
    if app.config.get("HSTS_MAX_AGE"):
        # Production serves HTTPS only: browsers are told to never try plain HTTP again.
        headers.append(("strict-transport-security", "Strict-Transport-Security",
                        f"max-age={int(app.config['HSTS_MAX_AGE'])}"))
    app.extensions[HEADERS_KEY] = headers
    try:
        networks(app.config.get("ANSWER_RATE_LIMIT_EXEMPT") or "")
    except ValueError as error:
        raise RuntimeError(f"ANSWER_RATE_LIMIT_EXEMPT: {error}") from None
    app.before_request(_enforce_session_timeouts)
    app.before_request(_require_admin_two_factor)
    app.after_request(_add_security_headers)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(OutOfScope, _out_of_scope)


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def signed_in() -> bool:
    """Return current_user.is_authenticated, without loading the user for a visitor whose
    session names no account and who has no remember cookie: Flask-Login would find nobody
    for them (it loads users from those two places only) and, for a public page, would only
    mark the session "not fresh", which means nothing without an account and cost a new
    session cookie on every answer sent."""
    if "_user_id" not in session and _config("REMEMBER_COOKIE_NAME",
                                             "remember_token") not in request.cookies:
        return False
    return current_user.is_authenticated


def start_session_clock() -> None:
    """Record when the session began; called right after a successful sign-in."""
    now = int(time.time())
    session[SIGNED_IN_AT] = now
    session[LAST_SEEN_AT] = now
    session.permanent = True


def _enforce_session_timeouts():
    if request.endpoint == "static" or not signed_in():
        return None
    now = int(time.time())
    idle_limit = int(_config("SESSION_IDLE_TIMEOUT"))
    absolute_limit = int(_config("PERMANENT_SESSION_LIFETIME").total_seconds())
    signed_in_at = session.get(SIGNED_IN_AT, 0)
    last_seen_at = session.get(LAST_SEEN_AT, 0)
    if now - signed_in_at > absolute_limit or now - last_seen_at > idle_limit:
        lang = session.get("lang")
        logout_user()
        session.clear()
        if lang:
            session["lang"] = lang
        message = _("Your session has expired; please sign in again.")
        if wants_json():
            return jsonify(error="Unauthorized", message=message), 401
        flash(message, "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")
                                if request.method == "GET" else None))
    if request.endpoint not in BACKGROUND_ENDPOINTS and now - last_seen_at >= LAST_SEEN_STEP:
        session[LAST_SEEN_AT] = now
    return None


def _require_admin_two_factor():
    if (
        request.endpoint in ENROLMENT_ENDPOINTS
        or not _config("ADMIN_TOTP_REQUIRED", True)
        or not signed_in()
        or "admin" not in current_user.roles
        or current_user.totp_secret
    ):
        return None
    message = _("Administrators must turn on two-factor sign-in before anything else.")
    if wants_json():
        return jsonify(error="Forbidden", message=message), 403
    flash(message, "info")
    return redirect(url_for("auth.two_factor_setup"))


# (lower-case name, name, value): a view may set its own value of any of them.
_SECURITY_HEADERS = [(name.lower(), name, value) for name, value in SECURITY_HEADERS.items()]


def add_security_headers(headers, app: Flask | None = None) -> None:
    """Add each of the app's security headers (SECURITY_HEADERS, and HSTS when HSTS_MAX_AGE
    is set) that the response does not set itself."""
    wanted = app.extensions.get(HEADERS_KEY, _SECURITY_HEADERS) if app else _SECURITY_HEADERS
    # One pass over the response's headers, not one setdefault per name: a third of the time.
    present = {name.lower() for name, _value in headers}
    headers.extend([(name, value) for lower, name, value in wanted if lower not in present])


def _add_security_headers(response):
    add_security_headers(response.headers, current_app)
    if signed_in():
        # Pages seen by staff are never kept by the browser or a shared cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def _csrf_error(error: CSRFError):
    message = _("This form could not be accepted because its security token is missing, wrong "
                "or expired. Reload the page and send it again.")
    if wants_json():
        return jsonify(error="Bad Request", message=message), 400
    return render_template("errors/error.html", error=error, message=message), 400


def _out_of_scope(error: OutOfScope):
    """Answer 403 and keep a trace of the attempt, although the request's work was undone."""
    from app.database import write_transaction
    from app.services import audit

    db.session.rollback()
    actor = current_user if current_user.is_authenticated else None
    with write_transaction():
        audit.record("access.out_of_scope", actor=actor, path=request.path,
                     method=request.method, detail=error.message)
    if wants_json():
        return jsonify(error="Forbidden", message=error.message), 403
    return render_template("errors/error.html", error=_Forbidden(), message=error.message), 403


class _Forbidden:
    code = 403


def _config(name: str, default=None):
    return current_app.config.get(name, default)


# --- Rate limits set by settings ----------------------------------------------------------


@lru_cache(maxsize=32)
def networks(value: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """Parse a comma-separated list of addresses or CIDR networks ("10.0.0.0/8, 2001:db8::/32")."""
    return tuple(ip_network(part.strip(), strict=False) for part in value.split(",")
                 if part.strip())


def exempt_addresses(setting: str) -> Callable[[], bool]:
    """Return a check for Flask-Limiter's exempt_when: is the request's address in the
    allowlist of networks named by the setting (a school, a town hall's kiosks)?"""

    def exempt() -> bool:
        allowed = networks(current_app.config.get(setting) or "")
        if not allowed:
            return False
        try:
            address = ip_address(request.remote_addr or "")
        except ValueError:
            return False
        return any(address in network for network in allowed)

    return exempt


# Public map and chart images: each is a matplotlib drawing, the dearest thing a visitor can
# ask for. One budget per address for all of them (IMAGE_RATE_LIMIT); staff are not counted.
image_rate_limit = limiter.shared_limit(lambda: current_app.config["IMAGE_RATE_LIMIT"],
                                        scope="public-images", exempt_when=signed_in)
