"""The public board /plans/<slug> and a commitment's page /plans/<slug>/<number>: lights
(word and icon), filters, as_of, period ended, accepted evidence only, history, assessment,
origin, both languages, and the page's lights equal to the API's for the same day."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from app.extensions import db
from app.models.plan import Assessment, Evidence, IndicatorReport, MilestoneEvent
from app.services.plans import approve_plan, load_plan
from tests.plans.conftest import small_plan

SLUG = "plan-luces"
DAY = "2017-06-15"


def _commitment(number, lead, themes, starts, ends, milestones, **extra):
    return {"number": number, "title": {"es": f"Compromiso {number}",
                                        "en": f"Commitment {number}"},
            "themes": themes, "starts_on": starts, "ends_on": ends, "lead_agency": lead,
            "milestones": milestones, **extra}


def lights_plan() -> dict:
    """One commitment per light as of 2017-06-15 (30 days of grace)."""
    return small_plan(slug=SLUG, title={"es": "Plan de luces", "en": "Lights plan"},
                      commitments=[
        # complete: its only milestone was done on 1 February.
        _commitment(1, "Agencia A", ["security"], "2017-01-01", "2017-12-31", [
            {"number": 1, "description": {"es": "Hecho", "en": "Done"},
             "starts_on": "2017-01", "ends_on": "2017-03", "completed_on": "2017-02-01"}],
            problem={"es": "El problema", "en": "The problem"},
            objective={"es": "El objetivo", "en": "The objective"},
            ogp_values=["accountability", "citizen_participation"],
            actors=[{"name": "ITESO", "sector": "academia"},
                    {"name": "Colectivo", "sector": "civil_society"}],
            responsible={"name": "Ana Pérez", "title": "Directora",
                         "email": "ana@example.org", "phone": "33 1234 5678"},
            indicator={"name": {"es": "Colonias", "en": "Neighbourhoods"},
                       "unit": {"es": "colonias", "en": "neighbourhoods"},
                       "baseline": 0, "target": 20}),
        # green: a milestone in progress until the end of June.
        _commitment(2, "Agencia B", ["health"], "2017-01-01", "2017-12-31", [
            {"number": 1, "description": {"es": "Sólo en español"},
             "starts_on": "2017-05", "ends_on": "2017-06"}]),
        # amber: a milestone overdue since 31 May (15 days, within the grace).
        _commitment(3, "Agencia A", ["health"], "2017-01-01", "2017-12-31", [
            {"number": 1, "description": {"es": "Tarde"}, "starts_on": "2017-04",
             "ends_on": "2017-05"}]),
        # red: a milestone overdue since 31 March (76 days).
        _commitment(4, "Agencia B", ["security"], "2017-01-01", "2017-12-31", [
            {"number": 1, "description": {"es": "Muy tarde"}, "starts_on": "2017-01",
             "ends_on": "2017-03"},
            {"number": 2, "description": {"es": "Después"}, "starts_on": "2017-04",
             "ends_on": "2017-11"}]),
        # not started: begins in September.
        _commitment(5, "Agencia C", ["education"], "2017-09-01", "2017-12-31", [
            {"number": 1, "description": {"es": "Luego"}, "starts_on": "2017-09",
             "ends_on": "2017-12"}]),
    ])


@pytest.fixture
def lights(demo_consultation):
    return load_plan(lights_plan()).plan


@pytest.fixture
def real_plan(plan_file):
    return load_plan(plan_file).plan


def page_lights(html: str) -> dict[int, str]:
    """Return {number: light} as the page shows it (the card's light-<code> span)."""
    found = {}
    for number, body in re.findall(r'id="commitment-(\d+)">(.*?)</li>', html, re.S):
        found[int(number)] = re.search(r'class="light light-(\w+)"', body).group(1)
    return found


def test_board_shows_every_light_with_word_and_icon(client, lights):
    html = client.get(f"/plans/{SLUG}?as_of={DAY}&lang=en").get_data(as_text=True)
    assert page_lights(html) == {1: "complete", 2: "green", 3: "amber", 4: "red",
                                 5: "not_started"}
    for word in ("Complete", "On track (green)", "Delayed (amber)", "Seriously delayed (red)",
                 "Not started yet"):
        assert word in html
    for icon in ("✔", "●", "▲", "✖", "○"):
        assert f'aria-hidden="true">{icon}</span>' in html
    # Progress as text beside the bar, next milestone due, agency, theme names.
    assert "Done: 0% of the milestones" in html
    assert "Expected by this date: 50%" in html  # commitment 4: 1 of 2 milestones due
    assert "Milestone 1, due March 31, 2017" in html
    assert "Agencia C" in html
    assert "Education" in html
    assert "Period ended" not in html


def test_board_in_spanish(client, lights):
    html = client.get(f"/plans/{SLUG}?as_of={DAY}&lang=es_MX").get_data(as_text=True)
    for word in ("Completo", "En tiempo (verde)", "Con retraso (ámbar)",
                 "Retraso grave (rojo)", "Sin iniciar", "Plan de luces", "Salud"):
        assert word in html


@pytest.mark.parametrize("as_of", ["2017-01-15", DAY, "2017-08-01", "2018-03-01"])
def test_page_lights_equal_the_api_board(client, lights, as_of):
    html = client.get(f"/plans/{SLUG}?as_of={as_of}").get_data(as_text=True)
    api = client.get(f"/api/v1/plans/{SLUG}/board?as_of={as_of}").get_json()
    assert page_lights(html) == {c["number"]: c["light"] for c in api["commitments"]}
    for code, count in api["summary"].items():
        assert re.search(rf"light-{code}\".*?</span>: <strong>{count}</strong>", html, re.S)


def test_real_plan_page_lights_equal_the_api_board(client, real_plan):
    for as_of in ("2017-05-15", "2026-12-02"):
        html = client.get(f"/plans/{real_plan.slug}?as_of={as_of}").get_data(as_text=True)
        api = client.get(f"/api/v1/plans/{real_plan.slug}/board?as_of={as_of}").get_json()
        assert page_lights(html) == {c["number"]: c["light"] for c in api["commitments"]}


@pytest.mark.parametrize(("query", "numbers"), [
    ("light=red", {4}),
    ("light=amber", {3}),
    ("agency=Agencia+A", {1, 3}),
    ("theme=health", {2, 3}),
    ("theme=security&agency=Agencia+B", {4}),
    ("theme=health&light=complete", set()),
    ("light=purple", {1, 2, 3, 4, 5}),  # not a light: ignored, every commitment shown
])
def test_filters(client, lights, query, numbers):
    html = client.get(f"/plans/{SLUG}?as_of={DAY}&{query}&lang=en").get_data(as_text=True)
    assert set(page_lights(html)) == numbers
    if not numbers:
        assert "No commitment matches these filters." in html
    # The summary counts every commitment whatever the filter.
    assert "5 commitments in all." in html


def test_filter_form_keeps_the_choice(client, lights):
    html = client.get(f"/plans/{SLUG}?as_of={DAY}&theme=health&light=amber").get_data(
        as_text=True)
    assert '<option value="health" selected>' in html
    assert '<option value="amber" selected>' in html
    assert f'name="as_of" value="{DAY}"' in html


@pytest.mark.parametrize("bad", ["2017-13-45", "ayer", "2017-6-1", "<b>x</b>"])
def test_bad_as_of_is_a_message_not_an_error(client, lights, bad):
    response = client.get(f"/plans/{SLUG}", query_string={"as_of": bad, "lang": "en"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "is not a date: write it as YYYY-MM-DD" in html
    assert "<b>x</b>" not in html
    assert 'aria-invalid="true"' in html
    response = client.get(f"/plans/{SLUG}/1", query_string={"as_of": bad, "lang": "es_MX"})
    assert response.status_code == 200
    assert "no es una fecha" in response.get_data(as_text=True)


def test_unknown_plan_or_commitment_is_404(client, lights):
    assert client.get("/plans/no-such-plan").status_code == 404
    assert client.get("/plans/no-such-plan/1").status_code == 404
    assert client.get(f"/plans/{SLUG}/99").status_code == 404
    assert client.get(f"/plans/{SLUG}/abc").status_code == 404


def test_period_ended_keeps_overdue_commitments(client, lights):
    html = client.get(f"/plans/{SLUG}?as_of=2018-02-01&lang=en").get_data(as_text=True)
    assert "Period ended" in html
    assert page_lights(html) == {1: "complete", 2: "red", 3: "red", 4: "red", 5: "red"}
    html = client.get(f"/plans/{SLUG}/4?as_of=2018-02-01&lang=en").get_data(as_text=True)
    assert "Period ended" in html
    html = client.get("/plans/?lang=en").get_data(as_text=True)
    assert "Period ended" in html  # the plan ended in 2017, today is later


def test_plans_list_and_home_page_link_to_the_board(client, lights):
    html = client.get("/plans/?lang=en").get_data(as_text=True)
    assert f'href="/plans/{SLUG}"' in html
    assert "Lights plan" in html
    home = client.get("/?lang=en").get_data(as_text=True)
    assert f'href="/plans/{SLUG}"' in home
    assert 'href="/plans/"' in home  # the header menu and the list
    assert "Action plans" in home


def _evidence(commitment, milestone, state, **extra):
    evidence = Evidence(commitment_id=commitment.id,
                        milestone_id=None if milestone is None else milestone.id,
                        kind=extra.pop("kind", "link"), done_on=date(2017, 2, 1),
                        state=state, **extra)
    db.session.add(evidence)
    db.session.flush()
    return evidence


@pytest.fixture
def followed(lights):
    """Commitment 1 of the lights plan with evidence in every state, history, an indicator
    value and an assessment."""
    commitment = lights.commitment_by_number()[1]
    milestone = commitment.milestones[0]
    accepted = _evidence(commitment, milestone, "accepted",
                         url="https://example.org/acta-aceptada.pdf",
                         description="Acta de la sesión")
    file_piece = _evidence(commitment, milestone, "accepted", kind="file",
                           file_name="informe.pdf", file_path="x/informe", sha256="0" * 64,
                           media_type="application/pdf", size=10)
    pending = _evidence(commitment, milestone, "pending",
                        url="https://example.org/pendiente-secreta.pdf")
    rejected = _evidence(commitment, milestone, "rejected",
                         url="https://example.org/rechazada-secreta.pdf")
    pending_report = _evidence(commitment, None, "pending",
                               url="https://example.org/indicador-pendiente.pdf")
    at = datetime(2017, 2, 10, 17)
    db.session.add_all([
        MilestoneEvent(milestone_id=milestone.id, kind="submitted", evidence_id=rejected.id,
                       at=at),
        MilestoneEvent(milestone_id=milestone.id, kind="rejected", evidence_id=rejected.id,
                       reason="Falta el informe final.", at=at),
        MilestoneEvent(milestone_id=milestone.id, kind="submitted", evidence_id=accepted.id,
                       at=at),
        MilestoneEvent(milestone_id=milestone.id, kind="accepted", evidence_id=accepted.id,
                       reason="El acta acredita el hito.", at=at),
        MilestoneEvent(milestone_id=milestone.id, kind="reopened",
                       reason="El acta no estaba firmada.", at=at),
        IndicatorReport(commitment_id=commitment.id, value=12, measured_on=date(2017, 5, 1)),
        IndicatorReport(commitment_id=commitment.id, value=15, measured_on=date(2017, 6, 1),
                        evidence_id=pending_report.id),
        Assessment(commitment_id=commitment.id, completion="substantial",
                   completion_justification="Se hizo casi todo.",
                   opened_government="marginal",
                   opened_government_justification="Poco cambio en la práctica."),
    ])
    db.session.commit()
    return {"accepted": accepted, "file": file_piece, "pending": pending,
            "rejected": rejected}


def test_commitment_page_shows_what_is_public(client, followed):
    html = client.get(f"/plans/{SLUG}/1?lang=en").get_data(as_text=True)
    for text in ("The problem", "The objective", "Accountability", "Citizen participation",
                 "Academia", "ITESO", "Civil society", "Colectivo", "Ana Pérez, Directora",
                 "Agencia A", "Insecurity", "Neighbourhoods"):
        assert text in html, text
    # Accepted evidence: the link, and the file through /plans/<slug>/evidence/<id>.
    assert 'href="https://example.org/acta-aceptada.pdf"' in html
    assert f'href="/plans/{SLUG}/evidence/{followed["file"].id}"' in html
    # Never what the committee has not accepted.
    assert "pendiente-secreta" not in html
    assert "rechazada-secreta" not in html
    assert "indicador-pendiente" not in html
    assert f'/evidence/{followed["pending"].id}"' not in html
    # The contact data of the official is not published here.
    assert "ana@example.org" not in html
    assert "1234 5678" not in html
    # Indicator: baseline, the latest value backed by accepted evidence (or none), target.
    assert re.search(r"Latest reported value</span>\s*12\b", html)
    assert "June 1, 2017" not in html
    # History with the reasons, without who.
    for text in ("Evidence submitted for milestone 1.",
                 "The Follow-up Committee rejected the evidence of milestone 1.",
                 "Falta el informe final.", "Milestone 1 was reopened.",
                 "El acta no estaba firmada.",
                 "Milestone 1: completion on February 1, 2017 recorded from the plan"):
        assert text in html, text
    # Assessment.
    assert "Substantial" in html
    assert "Se hizo casi todo." in html
    assert "Marginal" in html
    assert "Poco cambio en la práctica." in html


def test_commitment_page_origin_links_to_the_results(client, demo_consultation, make_user):
    plan = load_plan(small_plan()).plan
    approve_plan(plan)
    html = client.get("/plans/plan-prueba/1?lang=en").get_data(as_text=True)
    assert 'href="/c/consulta-ampliada-2016/results"' in html
    assert "Insecurity" in html
    origin = plan.commitments[0].origins[0]
    if origin.rank is None:
        assert "no ranking yet when the plan was approved" in html
    else:
        assert f"rank {origin.rank}," in html


def test_commitment_without_indicator_says_no_metric_yet(client, lights):
    html = client.get(f"/plans/{SLUG}/2?lang=en").get_data(as_text=True)
    assert "No metric yet" in html
    html = client.get(f"/plans/{SLUG}/2?lang=es_MX").get_data(as_text=True)
    assert "Aún sin métrica" in html


def test_text_in_one_language_is_marked(client, lights):
    html = client.get(f"/plans/{SLUG}/2?lang=en").get_data(as_text=True)
    assert '<p lang="es">Sólo en español</p> <span class="fallback">(only in Spanish)' in html
    html = client.get(f"/plans/{SLUG}/2?lang=es_MX").get_data(as_text=True)
    assert "<p>Sólo en español</p>" in html
    assert "(sólo en" not in html


def test_commitment_page_milestone_statuses_follow_as_of(client, lights):
    html = client.get(f"/plans/{SLUG}/4?as_of={DAY}&lang=en").get_data(as_text=True)
    assert re.search(r'id="milestone-1">.*?mstatus-overdue', html, re.S)
    assert re.search(r'id="milestone-2">.*?mstatus-in_progress', html, re.S)
    assert "Seriously delayed (red)" in html
    html = client.get(f"/plans/{SLUG}/1?as_of=2017-01-15&lang=en").get_data(as_text=True)
    assert re.search(r'id="milestone-1">.*?mstatus-in_progress', html, re.S)
    assert "done on" not in html  # completed later than that day
    assert "the whole record up to today" in html
    html = client.get(f"/plans/{SLUG}/1?lang=en").get_data(as_text=True)
    assert "the whole record up to today" not in html


@pytest.mark.parametrize("lang", ["es_MX", "en"])
def test_demo_plan_board_and_every_commitment_page(client, lang):
    from app.services.demo import load_demo

    load_demo(responses=80, open_responses=5)
    board = client.get(f"/plans/plan-accion-2016-2018?lang={lang}")
    assert board.status_code == 200
    api = client.get("/api/v1/plans/plan-accion-2016-2018/board").get_json()
    assert page_lights(board.get_data(as_text=True)) == {
        c["number"]: c["light"] for c in api["commitments"]}
    for number in range(1, 8):
        response = client.get(f"/plans/plan-accion-2016-2018/{number}?lang={lang}")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert 'href="/c/consulta-ampliada-2016/results"' in html
    # Commitment 1's rejected evidence: its reason is in the history, its link is not shown.
    html = client.get(f"/plans/plan-accion-2016-2018/1?lang={lang}").get_data(as_text=True)
    assert "El enlace no muestra el resultado comprometido" in html
    assert "compromiso-1/hito-4.pdf" not in html
    assert "compromiso-1/hito-1.pdf" in html
    # The piece waiting for review (commitment 5, milestone 3) is not shown.
    html = client.get(f"/plans/plan-accion-2016-2018/5?lang={lang}").get_data(as_text=True)
    assert "compromiso-5/hito-3.pdf" not in html


def test_board_and_commitment_through_a_real_server(gunicorn_server, followed):
    """As production serves them (gunicorn, no shared session): the page's lights are the
    API's, the commitment page loads its evidence and history, a bad date is no 500."""
    import json
    import urllib.request

    db.session.commit()
    base = gunicorn_server(workers=1)

    def get(path: str) -> tuple[int, str]:
        with urllib.request.urlopen(base + path) as response:
            return response.status, response.read().decode()

    status, html = get(f"/plans/{SLUG}?as_of={DAY}&lang=en")
    assert status == 200
    _, body = get(f"/api/v1/plans/{SLUG}/board?as_of={DAY}")
    api = json.loads(body)
    assert page_lights(html) == {c["number"]: c["light"] for c in api["commitments"]}
    status, html = get(f"/plans/{SLUG}/1?lang=es_MX")
    assert status == 200
    assert "Falta el informe final." in html
    assert 'href="https://example.org/acta-aceptada.pdf"' in html
    assert "pendiente-secreta" not in html
    status, html = get(f"/plans/{SLUG}?as_of=2017-02-31&lang=en")
    assert status == 200
    assert "is not a date" in html


def test_evidence_link_that_is_not_a_web_address_is_not_a_link(client, lights):
    commitment = lights.commitment_by_number()[1]
    _evidence(commitment, commitment.milestones[0], "accepted",
              url="javascript:alert(1)")
    db.session.commit()
    html = client.get(f"/plans/{SLUG}/1?lang=en").get_data(as_text=True)
    assert 'href="javascript:' not in html
    assert "Evidence (link): javascript:alert(1)" in html
