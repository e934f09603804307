"""In a real browser: an administrator signs in with two-factor, creates a staff account for
Tlajomulco (14097), and the staff member signs in and sees only their own navigation."""

from __future__ import annotations

import pyotp
import pytest

from app.extensions import db
from app.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
STAFF_PASSWORD = "Laguna-de-Cajititlan-2016"


@pytest.fixture
def app_config():
    # As in production: CSRF tokens checked, administrators need two-factor sign-in.
    return {"WTF_CSRF_ENABLED": True, "ADMIN_TOTP_REQUIRED": True}


def nav_links(page) -> set[str]:
    return set(page.locator(".site-nav a").evaluate_all("links => links.map(a => a.pathname)"))


def test_admin_creates_a_staff_account_that_sees_only_its_navigation(live_server, page,
                                                                     make_user):
    admin = make_user("admin", email="admin@example.org")
    admin.totp_secret = SECRET
    db.session.commit()
    csp_errors = []
    page.on("console", lambda message: csp_errors.append(message.text)
            if "Content Security Policy" in message.text else None)

    page.goto(live_server + "/auth/login")
    page.fill("#email", "admin@example.org")
    page.fill("#password", PASSWORD)
    page.click("main form [type=submit]")
    page.wait_for_url("**/auth/two-factor")
    page.fill("#code", pyotp.TOTP(SECRET).now())
    page.click("main form [type=submit]")
    page.wait_for_url(live_server + "/")
    assert {"/admin/accounts/", "/admin/audit", "/auth/account"} <= nav_links(page)

    page.click(".site-nav a[href='/admin/accounts/']")
    page.click("a[href='/admin/accounts/new']")
    page.fill("#email", "tlajomulco@example.org")
    page.fill("#password", STAFF_PASSWORD)
    page.check("input[name=roles][value=staff]")
    page.select_option("#municipalities", "14097")
    page.click("main form.form [type=submit]")
    page.wait_for_url("**/admin/accounts/")
    assert page.locator(".flash-success").count() == 1
    row = page.locator("tr", has_text="tlajomulco@example.org")
    assert "14097" in row.inner_text()

    page.click(".site-nav form[action='/auth/logout'] button")
    page.goto(live_server + "/auth/login")
    page.fill("#email", "tlajomulco@example.org")
    page.fill("#password", STAFF_PASSWORD)
    page.click("main form [type=submit]")
    page.wait_for_url(live_server + "/")
    links = nav_links(page)
    assert "/auth/account" in links
    assert "/admin/accounts/" not in links
    assert "/admin/audit" not in links
    response = page.goto(live_server + "/admin/accounts/")
    assert response.status == 403

    staff = db.session.scalar(db.select(User).where(User.email == "tlajomulco@example.org"))
    assert staff.roles == {"staff"}
    assert staff.municipality_codes() == {"14097"}
    assert csp_errors == []
