"""Signing in and out: messages that reveal nothing, safe redirects, sessions that end."""

from __future__ import annotations

import time

import pytest

from app.extensions import db
from app.models import AuditEvent, User
from app.security import LAST_SEEN_AT, SIGNED_IN_AT
from app.services import accounts
from tests.conftest import PASSWORD

MESSAGE = "Wrong email or password, or the account is deactivated."


def en(client):
    client.get("/language/en")


@pytest.mark.parametrize("case", ["unknown email", "wrong password", "deactivated"])
def test_refused_sign_ins_say_the_same_thing(app, client, make_user, case):
    user = make_user("staff", email="ana@example.org")
    email, password = "ana@example.org", PASSWORD
    if case == "unknown email":
        email = "nobody@example.org"
    elif case == "wrong password":
        password = PASSWORD + "!"
    else:
        accounts.set_active(user.id, False, actor=None)
    en(client)
    response = client.post("/auth/login", data={"email": email, "password": password})
    assert response.status_code == 401
    assert MESSAGE in response.get_data(as_text=True)
    assert client.get("/auth/account").status_code == 302  # not signed in
    event = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).one()
    assert event.actor_label == email


def test_sign_in_and_out_are_audited(app, client, make_user):
    user = make_user("analyst")
    response = client.post("/auth/login", data={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/auth/account").status_code == 200
    client.post("/auth/logout")
    assert client.get("/auth/account").status_code == 302
    actions = list(db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-2:] == ["auth.login", "auth.logout"]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/c/some-consultation", "/c/some-consultation"),
        ("/admin/accounts/?x=1", "/admin/accounts/?x=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
        # A CR/LF broke the Location header (500); browsers drop tabs and newlines from a
        # URL, so "/\t/evil.example" would have become "//evil.example".
        ("/\r\nSet-Cookie: x=1", "/"),
        ("/admin\n", "/"),
        ("/\t/evil.example", "/"),
        ("/ /evil.example", "/"),
    ],
)
def test_next_only_redirects_inside_the_app(app, client, make_user, target, expected):
    user = make_user("analyst")
    response = client.post("/auth/login", query_string={"next": target},
                           data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_a_nul_in_next_is_refused_naming_it(app, client, make_user):
    # The app-wide rule (app/nul.py): a parameter holding NUL is a 400 that names it.
    user = make_user("analyst")
    response = client.post("/auth/login", query_string={"next": "/\x00"},
                           data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "next" in response.text


def test_a_protected_page_sends_to_sign_in_and_back(app, client, make_user):
    user = make_user("admin")
    response = client.get("/admin/accounts/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=/admin/accounts/")
    response = client.post("/auth/login?next=/admin/accounts/",
                           data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/admin/accounts/"


def test_session_is_rotated_at_sign_in(app, client, make_user):
    user = make_user("analyst")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["lang"] = "en"
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["lang"] == "en"  # the language choice survives
        assert session["_user_id"] == f"{user.id}:1"
        assert session.permanent


def test_session_cookie_flags(app, client, make_user):
    user = make_user("analyst")
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development and tests run over plain HTTP


def test_session_cookie_is_secure_in_production(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    from config import ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert ProductionConfig.SESSION_COOKIE_HTTPONLY is True
    assert ProductionConfig.SESSION_COOKIE_SAMESITE == "Lax"


def _age_session(client, *, signed_in: int = 0, seen: int = 0) -> None:
    with client.session_transaction() as session:
        session[SIGNED_IN_AT] -= signed_in
        session[LAST_SEEN_AT] -= seen


@pytest.mark.parametrize(
    ("signed_in", "seen", "expired"),
    [
        (0, 0, False),
        (2 * 3600 - 60, 2 * 3600 - 60, False),  # active for a while, within both limits
        (0, 2 * 3600 + 60, True),  # idle too long
        (12 * 3600 + 60, 60, True),  # active, but past the absolute limit
    ],
)
def test_idle_and_absolute_timeouts(app, client, make_user, signed_in, seen, expired):
    user = make_user("analyst")
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    en(client)
    _age_session(client, signed_in=signed_in, seen=seen)
    response = client.get("/auth/account")
    if not expired:
        assert response.status_code == 200
        return
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=/auth/account")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your session has expired; please sign in again." in page
    assert client.get("/auth/account").status_code == 302  # the session really ended
    with client.session_transaction() as session:
        assert "_user_id" not in session
        assert session.get("lang") == "en"


def test_activity_keeps_an_idle_session_alive(app, client, make_user):
    user = make_user("analyst")
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    _age_session(client, seen=2 * 3600 - 60)
    assert client.get("/auth/account").status_code == 200
    with client.session_transaction() as session:
        assert time.time() - session[LAST_SEEN_AT] < 5


def test_timeouts_are_settings(app_config):
    from config import Config

    assert Config.SESSION_IDLE_TIMEOUT == 2 * 3600
    assert Config.PERMANENT_SESSION_LIFETIME.total_seconds() == 12 * 3600


@pytest.mark.parametrize("change", ["deactivate", "reset password", "own password"])
def test_changes_end_the_other_sessions_at_once(app, make_user, change):
    user = make_user("staff")
    other = app.test_client()
    other.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert other.get("/auth/account").status_code == 200
    mine = app.test_client()
    mine.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    new_password = "Cerro-del-Cuatro-2016!"
    if change == "deactivate":
        accounts.set_active(user.id, False, actor=None)
    elif change == "reset password":
        accounts.set_password(user.id, new_password, actor=None)
    else:
        response = mine.post("/auth/account", data={
            "current": PASSWORD, "new": new_password, "confirm": new_password})
        assert response.status_code == 302
        assert mine.get("/auth/account").status_code == 200  # this session carries on
    assert other.get("/auth/account").status_code == 302
    if change != "deactivate":
        assert other.post("/auth/login", data={
            "email": user.email, "password": PASSWORD}).status_code == 401
        assert other.post("/auth/login", data={
            "email": user.email, "password": new_password}).status_code == 302


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"current": "wrong password!", "new": "Cerro-del-Cuatro-2016!",
          "confirm": "Cerro-del-Cuatro-2016!"}, "The current password is wrong."),
        ({"current": PASSWORD, "new": "password1234", "confirm": "password1234"},
         "too common"),
        ({"current": PASSWORD, "new": "Cerro-del-Cuatro-2016!", "confirm": "Cerro-del-Cuatro"},
         "The two passwords are not the same."),
    ],
)
def test_own_password_change_refusals(app, client, make_user, data, message):
    user = make_user("staff")
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    en(client)
    response = client.post("/auth/account", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password(PASSWORD)
    assert db.session.get(User, user.id).session_version == 1


@pytest.mark.parametrize("target", ["/\r\nSet-Cookie: x=1", "/\t/evil.example",
                                    "https://evil.example/"])
def test_the_language_switch_redirects_only_inside_the_app(client, target):
    response = client.get("/language/en", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
