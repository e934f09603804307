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
    response = client.post("/auth/two-factor/setup",
                           data={"code": "123456", "password": PASSWORD},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "The code of the new app is wrong or expired" in response.get_data(as_text=True)
    # The password is asked too: a session left open is not enough to enrol.
    response = client.post("/auth/two-factor/setup",
                           data={"code": pyotp.TOTP(secret).now(), "password": "not mine!!"},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "The password is wrong." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret is None
    response = client.post("/auth/two-factor/setup",
                           data={"code": pyotp.TOTP(secret).now(), "password": PASSWORD})
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
    client.post("/auth/two-factor/setup",
                data={"code": pyotp.TOTP(secret).now(), "password": PASSWORD})
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


def _now_and_next_code(secret: str) -> tuple[str, str]:
    """Two codes of different steps, both accepted now (the clock's window)."""
    totp = pyotp.TOTP(secret)
    return totp.now(), totp.at(time.time() + 30)


def test_replacing_the_app_needs_the_password_and_a_current_code(app, make_user):
    """A session alone (left open, or stolen) cannot move the second factor to another
    phone; replacing it ends the other sessions and is audited as a replacement."""
    user = make_user("staff", email="ana@example.org")
    user.totp_secret = SECRET
    db.session.commit()
    client, other = app.test_client(), app.test_client()
    for browser in (client, other):
        assert sign_in(browser, user.email, secret=SECRET).status_code == 302
    user_row = db.session.get(User, user.id)
    user_row.totp_last_counter = None
    db.session.commit()
    new_secret = enrol(client)
    new_code = pyotp.TOTP(new_secret).now()
    english = {"Accept-Language": "en"}
    for data, message in [
        ({"password": PASSWORD}, "The code of your current authenticator app is wrong"),
        ({"password": PASSWORD, "current_code": "000000"},
         "The code of your current authenticator app is wrong"),
        ({"password": "not mine!!", "current_code": pyotp.TOTP(SECRET).now()},
         "The password is wrong."),
    ]:
        response = client.post("/auth/two-factor/setup", data={**data, "code": new_code},
                               headers=english)
        assert response.status_code == 400, data
        assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret == SECRET
    current, _later = _now_and_next_code(SECRET)
    response = client.post("/auth/two-factor/setup", data={
        "password": PASSWORD, "current_code": current, "code": new_code})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret == new_secret
    assert client.get("/auth/account").status_code == 200  # this session carries on
    assert other.get("/auth/account").status_code == 302  # the other one ended
    event = db.session.scalar(db.select(AuditEvent).where(
        AuditEvent.action == "account.totp_replace"))
    assert event.object_id == str(user.id)
    assert event.details == {"other_sessions_ended": True}


def test_one_code_sent_by_two_sign_ins_at_once_works_once(app, make_user, monkeypatch):
    """Both sign-ins read the last used step before either writes: only one may succeed."""
    import threading

    from app.services import accounts

    user = make_user("staff", email="ana@example.org")
    user.totp_secret = SECRET
    db.session.commit()
    code = pyotp.TOTP(SECRET).now()
    barrier = threading.Barrier(2, timeout=3)
    real_counter = accounts.totp_counter

    def counter_then_wait(*args, **kwargs):
        found = real_counter(*args, **kwargs)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass  # the other one was held at the write lock (SQLite): it reads after
        return found

    monkeypatch.setattr(accounts, "totp_counter", counter_then_wait)
    results = []

    def verify():
        with app.app_context():
            results.append(accounts.verify_totp(user.id, code))
            db.session.remove()

    threads = [threading.Thread(target=verify) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
