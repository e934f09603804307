"""The keying journey through a real server process (gunicorn, CSRF on, production config).

Key once, void, key the same serial again; a second keying that differs; a supervisor settles
it by typing what the paper says (issue 18, 8), and a serial typo on the keying screen
(issue 18, 9).
"""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

from app.extensions import db
from app.models import AuditEvent, PaperKeying, PaperResolution, Response
from app.services import paper
from tests.conftest import PASSWORD

FORM = {"theme_security": "1", "theme_health": "2", "q_sector": "private",
        "q_heard_via": "radio_tv", "q_age": "34", "q_problem": ""}
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" '
                   r'value="([^"]+)"')


class Browser:
    """A cookie-keeping client that sends each form's CSRF token, as a browser would."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, data: dict, form_page: str | None = None) -> tuple[int, str]:
        """Post like the form on form_page (default: path): with the token that page carries."""
        _status, page = self.get(form_page or path)
        token = TOKEN.search(page)
        data = {"csrf_token": token.group(1) or token.group(2), **data}
        body = urllib.parse.urlencode(data).encode()
        return self._open(urllib.request.Request(self.base + path, data=body, method="POST"))

    def _open(self, request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def sign_in(self, email: str) -> None:
        status, page = self.post("/auth/login", {"email": email, "password": PASSWORD})
        assert status == 200, page
        assert "/auth/logout" in page or "Cerrar sesión" in page, page[:500]


def fresh(query):
    db.session.rollback()
    return db.session.execute(query).all()


def test_void_rekey_and_type_what_the_paper_says_through_gunicorn(
        gunicorn_server, make_consultation, make_user):
    consultation = make_consultation()
    make_user("staff", email="first@example.org", municipalities=["14039"])
    make_user("staff", email="second@example.org", municipalities=["14039"])
    boss = make_user("supervisor", email="boss@example.org", all_municipalities=True)
    paper.create_batch(consultation, "14039", 5, actor=boss)
    slug = consultation.slug
    key = f"/entry/{slug}/key"
    base = gunicorn_server()

    first = Browser(base)
    first.sign_in("first@example.org")
    # A serial typo (another municipality): a message next to the serial, the typing kept.
    status, page = first.post(key, dict(FORM, serial="14097-000001", q_problem="Baches"))
    assert status == 422
    assert 'id="serial-error">El folio 14097-000001 pertenece al municipio 14097' in page
    assert 'value="Baches"' in page
    status, page = first.post(key, dict(FORM, serial="14039-000001", q_age="43"))
    assert "Cuestionario 14039-000001 guardado (primera captura)" in page

    # The supervisor voids the form keyed once; the same serial is keyed again.
    supervisor = Browser(base)
    supervisor.sign_in("boss@example.org")
    status, page = supervisor.post(f"/entry/{slug}/void",
                                   {"serial": "14039-000001", "reason": "Otro municipio"},
                                   form_page=f"/entry/{slug}/")
    assert "Cuestionario 14039-000001 anulado." in page
    status, page = first.post(key, dict(FORM, serial="14039-000001", q_age="43"))
    assert "Cuestionario 14039-000001 guardado (primera captura)" in page

    second = Browser(base)
    second.sign_in("second@example.org")
    status, page = second.post(key, dict(FORM, serial="14039-000001", q_age="44"))
    assert "las dos capturas difieren" in page

    # Neither keying says what the paper says: the supervisor types it.
    resolve = f"/entry/{slug}/discrepancies/14039-000001"
    status, page = supervisor.get(resolve)
    assert f'href="{resolve}/type"' in page
    status, page = supervisor.get(resolve + "/type")
    assert status == 200
    assert 'value="43"' in page
    status, page = supervisor.post(resolve + "/type",
                                   dict(FORM, q_age="45", reason="El papel dice 45"))
    assert "resuelto con lo que dice el papel, y aceptado" in page

    responses = fresh(db.select(Response.state, Response.form_serial).order_by(Response.id))
    assert responses == [("accepted", "14039-000001")]
    keyings = fresh(db.select(PaperKeying.answers, PaperKeying.void_reason)
                    .order_by(PaperKeying.id))
    assert [(k.answers["age"], k.void_reason) for k in keyings] == [
        (43, "Otro municipio"), (43, None), (44, None)]
    resolution = fresh(db.select(PaperResolution.reason, PaperResolution.decisions))[0]
    assert resolution.reason == "El papel dice 45"
    assert resolution.decisions["age"] == {"choice": "typed", "value": 45, "first": 43,
                                           "second": 44}
    events = [action for (action,) in fresh(db.select(AuditEvent.action).where(
        AuditEvent.action.like("paper.%")).order_by(AuditEvent.id))]
    assert events == ["paper.batch_created", "paper.keyed", "paper.voided", "paper.keyed",
                      "paper.keyed", "paper.resolved"]
