"""Administrators manage accounts on the web: every change audited, none deleting anything."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale

from app.extensions import db
from app.models import AuditEvent, User
from app.services import accounts
from app.services.errors import DomainError
from tests.accounts.conftest import SECRET, sign_in
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def fresh(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


@pytest.mark.parametrize("role", ["supervisor", "staff", "analyst", "facilitator"])
def test_only_administrators_manage_accounts(app, client, make_user, role):
    user = make_user(role)
    sign_in(client, user.email)
    for url in ["/admin/accounts/", "/admin/accounts/new", f"/admin/accounts/{user.id}",
                f"/admin/accounts/{user.id}/password", "/admin/audit"]:
        assert client.get(url).status_code == 403, url
    assert client.post(f"/admin/accounts/{user.id}/deactivate").status_code == 403
    assert fresh(user.id).active


def test_list_shows_every_account_with_roles_and_scope(app, admin_client, make_user):
    make_user("staff", "supervisor", email="ana@example.org", municipalities=["14097"])
    page = admin_client.get("/admin/accounts/", headers=EN).get_data(as_text=True)
    assert "ana@example.org" in page
    assert "Municipal staff" in page
    assert "Supervisor" in page
    assert "14097" in page
    assert "admin@example.org" in page


def test_create_with_several_roles_and_a_municipality(app, admin_client):
    page = admin_client.get("/admin/accounts/new").get_data(as_text=True)
    assert '<optgroup label="12. Centro">' in page or "<optgroup" in page
    response = admin_client.post("/admin/accounts/new", data={
        "email": "Ana@Example.org", "password": "Tlajomulco-de-Zuniga-97",
        "roles": ["staff", "supervisor"], "municipalities": ["14097"]})
    assert response.status_code == 302
    user = db.session.scalar(db.select(User).where(User.email == "ana@example.org"))
    assert user.roles == {"staff", "supervisor"}
    assert user.municipality_codes() == {"14097"}
    assert user.check_password("Tlajomulco-de-Zuniga-97")
    event = events("account.create")[-1]
    assert event.actor_id == admin_client.admin.id
    assert event.details["after"]["municipalities"] == ["14097"]
    assert "password" not in str(event.details).lower()


def test_a_generated_password_is_shown_once(app, admin_client):
    response = admin_client.post("/admin/accounts/new", data={
        "email": "luis@example.org", "roles": ["analyst"]})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    password = re.search(r'id="generated-password">([^<]+)<', response.get_data(as_text=True))
    password = password.group(1)
    user = db.session.scalar(db.select(User).where(User.email == "luis@example.org"))
    assert user.check_password(password)
    # Nowhere else: not in the list, the account page, the audit log or the session.
    for url in ["/admin/accounts/", f"/admin/accounts/{user.id}", "/admin/audit"]:
        assert password not in admin_client.get(url).get_data(as_text=True)
    with admin_client.session_transaction() as session:
        assert password not in str(dict(session))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-email", "roles": ["staff"]}, "not an email address"),
        ({"email": "ana@example.org"}, "Choose at least one role."),
        ({"email": "ana@example.org", "roles": ["staff"], "password": "password1234"},
         "too common"),
        ({"email": "ana@example.org", "roles": ["staff"], "password": "short"},
         "at least 12 characters"),
        ({"email": "ana@example.org", "roles": ["root"]}, "is not a valid choice"),
        ({"email": "ana@example.org", "roles": ["staff"], "municipalities": ["99999"]},
         "is not a valid choice"),
        ({"email": "admin@example.org", "roles": ["staff"]}, "already exists"),
    ],
)
def test_bad_account_data_is_refused_and_nothing_stored(app, admin_client, data, message):
    response = admin_client.post("/admin/accounts/new", data=data, headers=EN)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1
    assert events("account.create")[-1].object_id == str(admin_client.admin.id)


def test_change_roles_and_scope_audited_with_before_and_after(app, admin_client, make_user):
    user = make_user("staff", email="ana@example.org", municipalities=["14097"])
    page = admin_client.get(f"/admin/accounts/{user.id}").get_data(as_text=True)
    assert 'value="14097" selected' in page or "selected value=\"14097\"" in page
    response = admin_client.post(f"/admin/accounts/{user.id}", data={
        "roles": ["supervisor", "analyst"], "regions": ["1"], "municipalities": ["14039"]})
    assert response.status_code == 302
    user = fresh(user.id)
    assert user.roles == {"supervisor", "analyst"}
    codes = user.municipality_codes()
    assert "14039" in codes
    assert "14097" not in codes
    assert len(codes) > 1
    event = events("account.update")[-1]
    assert event.details["before"]["roles"] == ["staff"]
    assert event.details["before"]["municipalities"] == ["14097"]
    assert event.details["after"]["roles"] == ["analyst", "supervisor"]
    assert event.details["after"]["regions"] == [1]
    admin_client.post(f"/admin/accounts/{user.id}", data={
        "roles": ["supervisor"], "all_municipalities": "y"})
    assert fresh(user.id).municipality_codes() is None


def test_deactivate_keeps_the_account_and_can_be_undone(app, admin_client, make_user):
    user = make_user("staff", email="ana@example.org")
    response = admin_client.post(f"/admin/accounts/{user.id}/deactivate")
    assert response.status_code == 303
    assert not fresh(user.id).active
    assert fresh(user.id).email == "ana@example.org"  # never deleted
    event = events("account.deactivate")[-1]
    assert event.details["before"]["active"] is True
    assert event.details["after"]["active"] is False
    assert sign_in(app.test_client(), user.email).status_code == 401
    admin_client.post(f"/admin/accounts/{user.id}/activate")
    assert fresh(user.id).active
    assert sign_in(app.test_client(), user.email).status_code == 302


def test_reset_password_by_an_administrator(app, admin_client, make_user):
    user = make_user("staff", email="ana@example.org")
    response = admin_client.post(f"/admin/accounts/{user.id}/password",
                                 data={"password": "weak"}, headers=EN)
    assert response.status_code == 400
    assert "at least 12 characters" in response.get_data(as_text=True)
    assert fresh(user.id).check_password(PASSWORD)
    response = admin_client.post(f"/admin/accounts/{user.id}/password", data={})
    password = re.search(r'id="generated-password">([^<]+)<',
                         response.get_data(as_text=True)).group(1)
    assert fresh(user.id).check_password(password)
    assert fresh(user.id).session_version == 2
    assert events("account.password_reset")[-1].actor_id == admin_client.admin.id


def test_the_last_administrator_cannot_be_removed(app, admin_client, make_user):
    admin = admin_client.admin
    response = admin_client.post(f"/admin/accounts/{admin.id}/deactivate", headers=EN)
    assert response.status_code == 303
    page = admin_client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "is the last active administrator" in page
    assert fresh(admin.id).active
    response = admin_client.post(f"/admin/accounts/{admin.id}", headers=EN,
                                 data={"roles": ["analyst"]})
    assert response.status_code == 400
    assert "is the last active administrator" in response.get_data(as_text=True)
    assert fresh(admin.id).roles == {"admin"}
    assert not events("account.update")
    assert not events("account.deactivate")
    # With a second active administrator, the first may step down.
    other = make_user("admin", email="second@example.org")
    other.totp_secret = SECRET
    db.session.commit()
    response = admin_client.post(f"/admin/accounts/{admin.id}", data={"roles": ["analyst"]})
    assert response.status_code == 302
    with pytest.raises(DomainError, match="last active administrator"), force_locale("en"):
        accounts.set_active(other.id, False, actor=None)


def test_a_deactivated_administrator_does_not_count(app, make_user):
    first = make_user("admin", email="first@example.org")
    second = make_user("admin", email="second@example.org")
    accounts.set_active(second.id, False, actor=None)
    with pytest.raises(DomainError):
        accounts.update_access(first.id, roles={"analyst"}, municipalities=set(), regions=set(),
                               all_municipalities=False, actor=None)


def test_unknown_account_is_404(app, admin_client):
    assert admin_client.get("/admin/accounts/999").status_code == 404
    assert admin_client.post("/admin/accounts/999/deactivate").status_code == 404


def test_an_administrator_resetting_their_own_password_stays_signed_in(app, admin_client):
    admin = admin_client.admin
    response = admin_client.post(f"/admin/accounts/{admin.id}/password",
                                 data={"password": "Sierra-de-Quila-2016"})
    assert response.status_code == 302
    assert admin_client.get("/admin/accounts/").status_code == 200
    assert fresh(admin.id).check_password("Sierra-de-Quila-2016")
