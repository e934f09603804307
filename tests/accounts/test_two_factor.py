"""Two-factor sign-in with TOTP: enrolment with a QR code, codes used once, required for admins."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from app.extensions import db
from app.models import AuditEvent, User
from app.services.accounts import totp_counter
from tests.accounts.conftest import SECRET, sign_in
from tests.conftest import PASSWORD


@pytest.fixture
def app_config():
    return {"ADMIN_TOTP_REQUIRED": True}


def enrol(client) -> str:
    page = client.get("/auth/two-factor/setup").get_data(as_text=True)
    secret = re.search(r'<code class="totp-key">([A-Z2-7]+)</code>', page).group(1)
    return secret


def test_any_account_can_enrol_with_a_qr_code(app, client, make_user):
    user = make_user("staff")
    sign_in(client, user.email)
    secret = enrol(client)
    qr = client.get("/auth/two-factor/qr.svg")
    assert qr.status_code == 200
    assert qr.mimetype == "image/svg+xml"
    assert qr.data.lstrip().startswith(b"<svg")
    assert b"<script" not in qr.data
    response = client.post("/auth/two-factor/setup", data={"code": "123456"},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "This code is wrong or expired" in response.get_data(as_text=True)
    response = client.post("/auth/two-factor/setup", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret == secret
    assert client.get("/auth/two-factor/qr.svg").status_code == 404  # the secret left the session
    assert db.session.scalar(db.select(AuditEvent).where(
        AuditEvent.action == "account.totp_enable")).object_id == str(user.id)


def test_sign_in_asks_for_the_code_and_refuses_a_replay(app, make_user):
    user = make_user("staff", email="ana@example.org")
    user.totp_secret = SECRET
    db.session.commit()
    first = app.test_client()
    response = first.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/auth/two-factor"
    assert first.get("/auth/account").status_code == 302  # not signed in without the code
    code = pyotp.TOTP(SECRET).now()
    assert first.post("/auth/two-factor", data={"code": code}).status_code == 302
    assert first.get("/auth/account").status_code == 200
    # Someone who saw the code (and knows the password) cannot use it again.
    second = app.test_client()
    second.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    response = second.post("/auth/two-factor", data={"code": code},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 401
    assert "already used" in response.get_data(as_text=True)
    assert second.get("/auth/account").status_code == 302
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).where(
        AuditEvent.action == "auth.totp_failed")) == 1


def test_a_code_of_an_earlier_step_is_refused_after_a_later_one(app):
    totp = pyotp.TOTP(SECRET)
    now = time.time()
    later = totp_counter(SECRET, totp.at(now + 30), at=now)
    assert later is not None
    assert totp_counter(SECRET, totp.at(now), after=later, at=now) is None
    assert totp_counter(SECRET, totp.at(now - 90), at=now) is None  # too old
    assert totp_counter(SECRET, "abcdef", at=now) is None


def test_the_code_step_expires_and_needs_a_password_first(app, client, make_user):
    assert client.get("/auth/two-factor").headers["Location"] == "/auth/login"
    user = make_user("staff")
    user.totp_secret = SECRET
    db.session.commit()
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    with client.session_transaction() as session:
        session["pending_login"]["at"] -= 600
        session.modified = True
    response = client.post("/auth/two-factor", data={"code": pyotp.TOTP(SECRET).now()})
    assert response.headers["Location"] == "/auth/login"
    assert client.get("/auth/account").status_code == 302


def test_an_admin_without_two_factor_must_enrol_before_anything_else(app, client, make_user):
    admin = make_user("admin")
    response = sign_in(client, admin.email)
    assert response.status_code == 302
    for url in ["/admin/accounts/", "/auth/account", "/", "/admin/audit"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"] == "/auth/two-factor/setup"
    assert client.get("/auth/two-factor/setup").status_code == 200
    secret = enrol(client)
    client.post("/auth/two-factor/setup", data={"code": pyotp.TOTP(secret).now()})
    assert client.get("/admin/accounts/").status_code == 200


def test_an_admin_with_two_factor_signs_in_with_the_code(app, client, make_admin):
    admin = make_admin()
    response = sign_in(client, admin.email, secret=SECRET)
    assert response.status_code == 302
    assert client.get("/admin/accounts/").status_code == 200


def test_a_lost_phone_is_reset_by_an_administrator(app, admin_client, make_user):
    user = make_user("staff", email="ana@example.org")
    user.totp_secret = SECRET
    db.session.commit()
    page = admin_client.get(f"/admin/accounts/{user.id}").get_data(as_text=True)
    assert "two-factor/reset" in page
    response = admin_client.post(f"/admin/accounts/{user.id}/two-factor/reset")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret is None
    client = app.test_client()
    assert sign_in(client, user.email).headers["Location"] == "/"
