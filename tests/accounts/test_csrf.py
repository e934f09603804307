"""CSRF protection on every form, with a token lifetime as long as a transcription shift."""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous import TimestampSigner

from app.extensions import db
from app.models import AuditEvent, User
from tests.accounts.conftest import SECRET
from tests.conftest import PASSWORD

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                   r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def token_of(page: str) -> str:
    match = TOKEN.search(page)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


def login_form(client, age_seconds: int = 0, monkeypatch=None) -> str:
    """Fetch the sign-in page, as if it had been opened age_seconds ago; return its token."""
    if age_seconds:
        now = int(time.time())
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now - age_seconds)
    page = client.get("/auth/login").get_data(as_text=True)
    if age_seconds:
        monkeypatch.undo()
    return token_of(page)


@pytest.mark.parametrize("token", [None, "", "forged-token", "IjE2YjQi.ZZZ.abc"])
def test_sign_in_without_a_valid_token_is_refused(app, client, make_user, token):
    user = make_user("staff")
    login_form(client)
    data = {"email": user.email, "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/auth/login", data=data, headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "security token is missing, wrong or expired" in response.get_data(as_text=True)
    assert client.get("/auth/account").status_code == 302
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == 1  # only the creation


def test_a_valid_token_signs_in(app, client, make_user):
    user = make_user("staff")
    token = login_form(client)
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD,
                                                 "csrf_token": token})
    assert response.status_code == 302


def test_a_token_older_than_eight_hours_is_still_accepted(app, client, make_user, monkeypatch):
    """A staff member who opened a form at the start of a shift can still send it."""
    assert app.config["WTF_CSRF_TIME_LIMIT"] == 12 * 3600
    user = make_user("staff")
    token = login_form(client, age_seconds=9 * 3600, monkeypatch=monkeypatch)
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD,
                                                 "csrf_token": token})
    assert response.status_code == 302


def test_a_token_older_than_twelve_hours_is_refused(app, client, make_user, monkeypatch):
    user = make_user("staff")
    token = login_form(client, age_seconds=12 * 3600 + 60, monkeypatch=monkeypatch)
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD,
                                                 "csrf_token": token})
    assert response.status_code == 400


def test_admin_forms_and_sign_out_need_the_token(app, client, make_user):
    admin = make_user("admin")
    staff = make_user("staff", email="staff@example.org")
    client.post("/auth/login", data={"email": admin.email, "password": PASSWORD,
                                     "csrf_token": login_form(client)})
    assert client.post(f"/admin/accounts/{staff.id}/deactivate").status_code == 400
    assert client.post("/admin/accounts/new", data={
        "email": "x@example.org", "roles": "staff"}).status_code == 400
    assert client.post("/auth/logout").status_code == 400
    db.session.expire_all()
    assert db.session.get(User, staff.id).active
    assert db.session.scalar(db.select(db.func.count(User.id))) == 2
    page = client.get(f"/admin/accounts/{staff.id}").get_data(as_text=True)
    response = client.post(f"/admin/accounts/{staff.id}/deactivate",
                           data={"csrf_token": token_of(page)})
    assert response.status_code == 303
    db.session.expire_all()
    assert not db.session.get(User, staff.id).active


def test_every_post_form_of_the_pages_carries_a_token(app, client, make_user):
    """Walk the pages an administrator sees; every POST form must have a CSRF token."""
    admin = make_user("admin")
    admin.totp_secret = SECRET
    db.session.commit()
    client.post("/auth/login", data={"email": admin.email, "password": PASSWORD,
                                     "csrf_token": login_form(client)})
    page = client.get("/auth/two-factor").get_data(as_text=True)
    assert 'name="csrf_token"' in page
    staff = make_user("staff", email="staff@example.org")
    with client.session_transaction() as session:
        session["_user_id"] = admin.get_id()
        session["signed_in_at"] = session["last_seen_at"] = int(time.time())
    pages = ["/", "/auth/account", "/auth/two-factor/setup", "/admin/accounts/",
             "/admin/accounts/new", f"/admin/accounts/{staff.id}",
             f"/admin/accounts/{staff.id}/password"]
    for url in pages:
        html = client.get(url).get_data(as_text=True)
        forms = re.findall(r"<form[^>]*>.*?</form>", html, flags=re.S)
        posting = [form for form in forms if 'method="post"' in form]
        assert posting, url
        for form in posting:
            assert 'name="csrf_token"' in form, (url, form[:200])
