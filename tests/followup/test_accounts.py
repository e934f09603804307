"""Implementers' agencies: on the accounts page and `users create --agency`; an implementer
without an agency is refused with a message and nothing is stored."""

from __future__ import annotations

from app.extensions import db
from app.models import AuditEvent, User, UserAgency
from app.services import accounts
from tests.conftest import PASSWORD
from tests.followup.conftest import AGENCY, OTHER_AGENCY

EN = {"Accept-Language": "en"}


def agencies(email: str) -> set[str]:
    user = accounts.find_by_email(email)
    return set(db.session.scalars(
        db.select(UserAgency.lead_agency).where(UserAgency.user_id == user.id)))


def admin_client(app, make_user):
    make_user("admin", email="admin@example.org")
    client = app.test_client()
    assert client.post("/auth/login", data={"email": "admin@example.org",
                                            "password": PASSWORD}).status_code == 302
    return client


def test_the_accounts_page_sets_an_implementers_agencies(app, plan, make_user):
    client = admin_client(app, make_user)
    response = client.post("/admin/accounts/new", headers=EN, data={
        "email": "enlace@example.org", "password": PASSWORD, "roles": ["implementer"],
        "agencies": f"  secretaría de   prueba \n\n{OTHER_AGENCY}\n"})
    assert response.status_code == 302, response.get_data(as_text=True)
    # Spelled as the plan spells it, whatever the case and spaces typed.
    assert agencies("enlace@example.org") == {AGENCY, OTHER_AGENCY}
    user = accounts.find_by_email("enlace@example.org")
    page = client.get(f"/admin/accounts/{user.id}", headers=EN).get_data(as_text=True)
    assert AGENCY in page
    assert "Lead agencies" in page
    response = client.post(f"/admin/accounts/{user.id}", headers=EN, data={
        "roles": ["implementer"], "agencies": OTHER_AGENCY})
    assert response.status_code == 302
    assert agencies("enlace@example.org") == {OTHER_AGENCY}
    change = db.session.scalars(db.select(AuditEvent).where(
        AuditEvent.action == "account.update")).one()
    assert change.details["before"]["agencies"] == sorted([AGENCY, OTHER_AGENCY])
    assert change.details["after"]["agencies"] == [OTHER_AGENCY]


def test_an_implementer_without_an_agency_is_refused_on_the_page(app, plan, make_user):
    client = admin_client(app, make_user)
    response = client.post("/admin/accounts/new", headers=EN, data={
        "email": "enlace@example.org", "password": PASSWORD, "roles": ["implementer"],
        "agencies": "  \n"})
    assert response.status_code == 400
    assert "give at least one agency" in response.get_data(as_text=True)
    assert accounts.find_by_email("enlace@example.org") is None
    user = make_user("implementer", email="otro@example.org", agencies=[AGENCY])
    response = client.post(f"/admin/accounts/{user.id}", headers=EN, data={
        "roles": ["implementer"], "agencies": ""})
    assert response.status_code == 400
    assert "give at least one agency" in response.get_data(as_text=True)
    assert agencies("otro@example.org") == {AGENCY}


def test_coordinators_need_no_agency(app, make_user):
    assert make_user("coordinator", email="coord@example.org").roles == {"coordinator"}


def test_users_create_takes_agencies(runner, plan):
    result = runner.invoke(args=["users", "create", "enlace@example.org", "--role",
                                 "implementer", "--agency", AGENCY, "--agency", OTHER_AGENCY,
                                 "--generate-password"])
    assert result.exit_code == 0, result.output
    assert agencies("enlace@example.org") == {AGENCY, OTHER_AGENCY}


def test_users_create_refuses_an_implementer_without_an_agency(runner, app):
    result = runner.invoke(args=["users", "create", "enlace@example.org", "--role",
                                 "implementer", "--generate-password"], env={"LANG": "en"})
    assert result.exit_code != 0
    assert "give at least one agency" in result.output
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0
