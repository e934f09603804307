"""NUL characters in requests: one rule for the whole app.

A NUL character (U+0000) cannot be stored in a PostgreSQL text column, and no keyboard types
it: it comes from pasting binary data or from a crafted request. Sent on to the database it
made PostgreSQL fail the statement (a 500 that lost what the person typed) while SQLite stored
it. The rule, applied before any view runs (refuse_nul, a request hook):

- the address and every query parameter (the API, the dashboard, the maps, any page): a 400
  naming the parameter, as a JSON error under /api/ (or when JSON is asked for), else a page;
- every field of a posted form (staff forms: paper keying, import, builder, accounts): a 400
  naming the field; nothing is stored, and the browser's Back button returns to the form;
- the online answer form (public.answer, and public.answer_another, which shows it again with
  the answers a browser sent after answering) is left to its view, which knows its fields: a text
  answer holding NUL is a problem of that question, shown next to it with every answer kept
  (the NUL removed from the kept text), so sending again stores the person's words.

No endpoint takes a JSON body, so there is none to check.
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

from app.security import wants_json

NUL = "\x00"
# Views that check their own posted fields for NUL (and keep what was typed).
FORMS_CHECKED_BY_THEIR_VIEW = {"public.answer", "public.answer_another"}


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul)


def holds_nul(text: str | None) -> bool:
    return bool(text) and NUL in text


def shown(name: str) -> str:
    """Return a field or parameter name as it can be shown (its NUL made visible)."""
    return name.replace(NUL, "\\0")[:80]


def refuse_nul():
    """Refuse a request whose address, query parameters or posted fields hold NUL (see the
    module's docstring); return None to let it through."""
    if NUL in request.path:
        return _refusal(_("The address holds a character that cannot be stored (NUL). Check "
                          "the link and try again."))
    for name, value in request.args.items(multi=True):
        if NUL in name or NUL in value:
            return _refusal(_("The parameter \"%(name)s\" holds a character that cannot be "
                              "stored (NUL). Remove it and try again.", name=shown(name)))
    too_large = (request.content_length or 0) > (request.max_content_length or float("inf"))
    if (request.method in ("POST", "PUT", "PATCH", "DELETE") and not too_large
            and request.endpoint not in FORMS_CHECKED_BY_THEIR_VIEW):
        # A body over the limit is not read here: its view (or the 413 page) names the limit.
        for name, value in request.form.items(multi=True):
            if NUL in name or NUL in value:
                return _refusal(_("The field \"%(name)s\" holds a character that cannot be "
                                  "stored (NUL). Nothing was stored: go back, remove it (it "
                                  "often comes with text pasted from another program) and "
                                  "send the form again.", name=shown(name)))
    return None


def _refusal(message: str):
    if wants_json():
        return jsonify(error="Bad Request", message=message), 400
    return render_template("errors/error.html", error=BadRequest(), message=message), 400
