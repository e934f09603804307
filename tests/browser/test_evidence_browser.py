"""In Chromium: an implementer sends a file as evidence of a milestone, a committee member
accepts it, and the milestone shows complete on the plans API board; axe-core finds no
serious problem on the follow-up pages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

from app.extensions import db
from app.models import Evidence
from tests.conftest import PASSWORD
from tests.followup import conftest as followup

pytestmark = pytest.mark.browser
SERIOUS = {"serious", "critical"}

demo_consultation = followup.demo_consultation
plan = followup.plan
people = followup.people


@pytest.fixture
def app_config(tmp_path) -> dict:
    return {"EVIDENCE_FOLDER": str(tmp_path / "evidence")}


def axe_problems(page) -> list[str]:
    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
            for v in results.response["violations"] if v["impact"] in SERIOUS]


def sign_in(page, base: str, email: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/auth/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button").last.click()
    page.wait_for_url(re.compile(r"^(?!.*/auth/login)"))


def test_evidence_sent_reviewed_and_shown_complete(page, live_server, plan, people):
    target = followup.milestone(plan)
    slug = plan.slug
    problems = {}
    sign_in(page, live_server, "enlace@example.org")
    page.goto(f"{live_server}/followup/")
    problems["index"] = axe_problems(page)
    page.locator(f'a[href="/followup/milestones/{target.id}/evidence"]').click()
    problems["form"] = axe_problems(page)
    page.set_input_files("#file", files=[{"name": "acta.pdf", "mimeType": "application/pdf",
                                          "buffer": followup.PDF}])
    page.fill("#description", "Acta de instalación firmada")
    page.fill("#done_on", "2017-03-20")
    page.locator("#submit").click()
    page.wait_for_url(f"{live_server}/followup/")
    assert page.locator(".flash-success").count() == 1
    db.session.rollback()  # end the test thread's read snapshot: the server wrote since
    evidence = db.session.scalars(db.select(Evidence)).one()
    assert evidence.media_type == "application/pdf"

    sign_in(page, live_server, "monitor1@example.org")
    page.goto(f"{live_server}/followup/review")
    problems["queue"] = axe_problems(page)
    page.locator(f'a[href="/followup/evidence/{evidence.id}"]').click()
    problems["evidence"] = axe_problems(page)
    page.check("#decision-0")
    page.fill("#reason", "El acta acredita el hito")
    page.locator("#submit").click()
    page.wait_for_url(f"{live_server}/followup/review")
    assert page.locator(".flash-success").count() == 1

    page.goto(f"{live_server}/api/v1/plans/{slug}/board")
    board = json.loads(page.locator("body").inner_text())
    first = board["commitments"][0]["milestones"][0]
    assert (first["status"], first["completed_on"]) == ("complete", "2017-03-20")

    # The public commitment page, signed out: the accepted evidence, downloadable, and the
    # history of its submission and acceptance.
    page.context.clear_cookies()
    number = board["commitments"][0]["number"]
    page.goto(f"{live_server}/plans/{slug}/{number}")
    problems["public"] = axe_problems(page)
    link = page.locator(f"#evidence-{evidence.id} a")
    assert link.count() == 1
    assert "Acta de instalación firmada" in page.locator(f"#evidence-{evidence.id}").inner_text()
    with page.expect_download() as download:
        link.click()
    assert Path(download.value.path()).read_bytes() == followup.PDF
    assert problems == {name: [] for name in problems}
