"""The account pages pass axe's WCAG 2.1 A/AA checks in a real browser."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from app.extensions import db
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def test_account_pages_have_no_accessibility_violations(live_server, page, make_user):
    admin = make_user("admin", email="admin@example.org")
    staff = make_user("staff", email="ana@example.org", municipalities=["14097"])
    db.session.commit()
    page.goto(live_server + "/auth/login")
    page.fill("#email", admin.email)
    page.fill("#password", PASSWORD)
    page.click("main form [type=submit]")
    page.wait_for_url(live_server + "/")
    axe = Axe()
    reports = []
    for path in ["/auth/login", "/admin/accounts/", "/admin/accounts/new",
                 f"/admin/accounts/{staff.id}", f"/admin/accounts/{staff.id}/password",
                 "/admin/audit", "/auth/account", "/auth/two-factor/setup"]:
        page.goto(live_server + path)
        results = axe.run(page, options=WCAG)
        if results.violations_count:
            reports.append(f"{path}:\n{results.generate_report()}")
    # A form sent with errors shows them next to the fields, accessibly too.
    page.goto(live_server + "/admin/accounts/new")
    page.click("main form.form [type=submit]")
    results = axe.run(page, options=WCAG)
    if results.violations_count:
        reports.append(f"invalid form:\n{results.generate_report()}")
    assert not reports, "\n".join(reports)
