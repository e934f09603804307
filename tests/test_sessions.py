"""Sessions: Flask's signed cookies, with the signing serializer kept per app and key."""

from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface


def test_the_serializer_is_kept_until_the_key_or_its_fallbacks_change(app):
    interface = app.session_interface
    first = interface.get_signing_serializer(app)
    assert interface.get_signing_serializer(app) is first
    old_key = app.secret_key
    app.secret_key = "a-new-key"
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    rotated = interface.get_signing_serializer(app)
    assert rotated is not first
    # A cookie signed with the old key still opens; a new one is signed with the new key.
    cookie = first.dumps({"lang": "en"})
    assert rotated.loads(cookie) == {"lang": "en"}
    flask_own = SecureCookieSessionInterface().get_signing_serializer(app)
    assert flask_own.loads(rotated.dumps({"lang": "es_MX"})) == {"lang": "es_MX"}


def test_no_serializer_without_a_key(app):
    app.secret_key = None
    assert app.session_interface.get_signing_serializer(app) is None
