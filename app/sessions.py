"""Flask's signed-cookie sessions, with the signing serializer built once per app and key."""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

KEPT = "consulta.session_serializer"


class SessionInterface(SecureCookieSessionInterface):
    """The same cookies as Flask's own sessions, signed and read by the same serializer.

    Flask builds the serializer twice per request (to open the session and to save it), and
    building one serializes an empty dict to learn its type: a twentieth of a citizen's
    visit to the answer form. It is kept per app until the secret key or its fallbacks change.
    """

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        kept = app.extensions.get(KEPT)
        if kept is None or kept[0] != keys:
            kept = app.extensions[KEPT] = (keys, super().get_signing_serializer(app))
        return kept[1]
