"""A first-time visitor's answer form and thank-you page, served before Flask's request handling.

Nearly every visit to the online form is someone's first: no cookie, no query string. The
form's page is then the same for everyone but for its two tokens, and the thank-you page the
same but for the receipt and its date; answer.py keeps both pages per consultation version and
language (_empty_page, _thanks_page). Yet Flask's handling around them (the request and app
contexts, URL matching, opening and saving the session, every extension's hooks, the
response object) cost half to two thirds of each page's time. FastPages, a WSGI middleware,
serves those two cases from the kept pages with the same body, tokens, cookie and headers,
and hands every other request to Flask untouched. It serves:

- GET /c/<slug>/answer with no query string and no cookie at all, for a consultation open for
  answers whose page in the browser's language is kept at its current version. The version
  is the one the database gave this process less than PUBLIC_FORM_RECHECK_SECONDS ago: an edit
  shows that much later here, and an answer sent from the older page is checked against the
  stored version when it is stored, as always (submissions.store).
- GET /c/<slug>/thanks/<receipt code> with no query string and no cookie but the session,
  whose session holds nothing but the CSRF token and the receipts of this browser's answers
  (nobody signed in, no message waiting, no language chosen), for a receipt of that
  consultation spelled as stored, whose page is kept.
  The receipt and the version are read from the database on every request.

Nothing here stores anything. What it shares with Flask's path is the same code, not a copy:
the kept pages (rendered by Flask, answer.py) and their dates (answer.long_date), the version
and receipt reads (public_form), the one-time token (submissions.issue_token), the language
choice (i18n.browser_locale), the security headers (security.add_security_headers) and the
session cookie (the app's session interface saves it). The CSRF token is made as Flask-WTF's
generate_csrf makes it for a session without one, and the response's other headers are the
ones Flask's path sends. tests/public/test_fast_pages.py checks that each page is the one
Flask serves (status, headers, body but for the tokens), that Flask accepts its tokens, and
that the app's request hooks are the ones this module was written against: a new hook must
be reviewed here.
"""

from __future__ import annotations

import hashlib
import os
import re

from flask import Flask
from itsdangerous import URLSafeTimedSerializer
from markupsafe import escape
from werkzeug.http import dump_cookie

from app.i18n import browser_locale
from app.public import answer
from app.security import add_security_headers
from app.services import public_form, submissions

FORM_PATH = re.compile(r"/c/([A-Za-z0-9_-]+)/answer")
THANKS_PATH = re.compile(r"/c/([A-Za-z0-9_-]+)/thanks/([A-Z0-9-]+)")
# Flask-WTF's salt for the form's signed CSRF token.
CSRF_SALT = "wtf-csrf-token"


class FastPages:
    """WSGI middleware around the Flask app's own wsgi_app (see the module's docstring)."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        response = None
        if environ.get("REQUEST_METHOD") == "GET" and not environ.get("QUERY_STRING"):
            path = environ.get("PATH_INFO", "")
            form = FORM_PATH.fullmatch(path) if path.endswith("/answer") else None
            thanks = THANKS_PATH.fullmatch(path) if form is None and "/thanks/" in path else None
            if ((form and not environ.get("HTTP_COOKIE")) or thanks) and self._any_host():
                try:
                    with self.app.app_context():
                        response = (self._form(environ, form.group(1)) if form
                                    else self._thanks(environ, *thanks.groups()))
                except Exception:
                    if self.app.testing:
                        raise
                    # Flask serves it instead, with its own error page if the fault is there too.
                    self.app.logger.exception("The fast page failed; Flask serves %s", path)
                    response = None
        if response is None:
            return self.wsgi_app(environ, start_response)
        return response(environ, start_response)

    def _any_host(self) -> bool:
        # With SERVER_NAME or TRUSTED_HOSTS set, Flask checks the Host header first.
        config = self.app.config
        return config["SERVER_NAME"] is None and config["TRUSTED_HOSTS"] is None

    def _form(self, environ, slug: str):
        app = self.app
        locale = _locale(app, environ)
        # Flask renders and keeps the page of a new version or language. It is looked for
        # before the version is read, so that such a visit does not read it twice.
        kept = app.extensions.get(answer.PAGE_CACHE, {}).get((slug, locale))
        if kept is None:
            return None
        consultation = (public_form.checked_copy(slug, app.config["PUBLIC_FORM_RECHECK_SECONDS"])
                        or public_form.get_published(slug))
        if (consultation is None or kept[0] != consultation.key
                or submissions.unavailable_reason(consultation)):
            return None
        page = kept[1]
        raw, csrf_token = _new_csrf_token(app)
        body = (page.replace(answer.CSRF_SLOT, csrf_token, 1)
                .replace(answer.TOKEN_SLOT, submissions.issue_token(consultation), 1))
        session = app.session_interface.session_class({_csrf_key(app): raw})
        session.modified = True
        return _page(app, body, session)

    def _thanks(self, environ, slug: str, receipt_code: str):
        app = self.app
        request = app.request_class(environ)
        if set(request.cookies) - {app.session_interface.get_cookie_name(app)}:
            return None
        session = app.session_interface.open_session(app, request)
        if (session is None or set(session) - {_csrf_key(app), "_fresh", answer.ANSWERED}
                or app.config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST")):
            # Flask's page would differ (someone signed in, a message or language chosen) or
            # Flask would write the session back. ("_fresh" is Flask-Login's mark of a
            # session whose user was looked up, False without an account: no difference;
            # answer.ANSWERED, the receipts of this browser's answers, only changes the form.)
            return None
        locale = _locale(app, environ)
        kept = app.extensions.get(answer.THANKS_CACHE, {}).get((slug, locale))
        if kept is None:
            return None
        consultation, receipt = public_form.get_published_receipt(slug, receipt_code)
        if (consultation is None or receipt is None or receipt.receipt_code != receipt_code
                or kept[0] != consultation.key):
            return None
        page = kept[1]
        received_on = answer.long_date(receipt.submitted_on, locale)
        body = (page.replace(answer.DATE_SLOT, escape(received_on), 1)
                .replace(answer.RECEIPT_SLOT, receipt_code))
        return _page(app, body, session)


def _locale(app: Flask, environ) -> str:
    # No ?lang= and no language in the session: the browser's, as i18n.select_locale says.
    return browser_locale(app, environ.get("HTTP_ACCEPT_LANGUAGE", ""))


def _csrf_key(app: Flask) -> str:
    """Return the session key of the raw CSRF token (Flask-WTF's)."""
    return app.config.get("WTF_CSRF_FIELD_NAME") or "csrf_token"


def _new_csrf_token(app: Flask) -> tuple[str, str]:
    """Return a new raw CSRF token for the session and its signed form for the page, as
    Flask-WTF's generate_csrf makes them for a session that holds none."""
    raw = hashlib.sha1(os.urandom(64)).hexdigest()
    secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    return raw, URLSafeTimedSerializer(secret, salt=CSRF_SALT).dumps(raw)


def _page(app: Flask, body: str, session) -> _Page:
    """Return the response Flask would send for this page: the headers of answer.py's and
    security.py's hooks, and the session cookie as Flask saves it."""
    page = _Page(app, body)
    session.accessed = True  # Flask's path reads it: "Vary: Cookie"
    app.session_interface.save_session(app, session, page)
    return page


class _Page:
    """A fast page's response, with what Flask's save_session uses of a response (vary,
    set_cookie): a Flask response object and its conversion to WSGI took a third of the
    page's time for a fixed set of headers."""

    def __init__(self, app: Flask, body: str):
        self.body = body.encode()
        self.app = app
        self.max_cookie_size = app.config["MAX_COOKIE_SIZE"]
        self.vary: set[str] = set()
        self.cookies: list[str] = []

    def set_cookie(self, key: str, value: str = "", **options) -> None:
        # As werkzeug's Response.set_cookie.
        self.cookies.append(dump_cookie(key, value, max_size=self.max_cookie_size, **options))

    def __call__(self, environ, start_response):
        headers = [("Content-Type", "text/html; charset=utf-8"),
                   ("Content-Length", str(len(self.body))), ("Cache-Control", "no-store")]
        add_security_headers(headers, self.app)
        if self.vary:
            headers.append(("Vary", ", ".join(sorted(self.vary))))
        headers.extend(("Set-Cookie", cookie) for cookie in self.cookies)
        start_response("200 OK", headers)
        return [self.body]
